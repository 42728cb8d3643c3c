"""Certificate path verification explained check by check, and reference verdicts.

- :func:`explain` (:mod:`.explain`): every check a verifier runs on a chain, as a table, with a
  verdict that is valid, invalid or undecided (:class:`Explanation`, its :attr:`~Explanation.valid`
  True, False or None; :class:`Check`, :class:`Settings`). The checks live in :mod:`.paths`,
  :mod:`.checks`, :mod:`.names`, :mod:`.strength` and :mod:`.form`;
- :mod:`.reference`: what real verifiers decide, as a :class:`Verdict`: cryptography's
  (:func:`cryptography_verdict`), OpenSSL's through ``openssl verify`` (:func:`openssl_verdict`)
  or through a real handshake (:func:`handshake_verdict`);
- :mod:`.limbo`: the x509-limbo corpus and how often the explainer agrees with the real verifiers.
"""

from .explain import explain, load_crls, presented_chain
from .model import PROFILES, PURPOSES, Check, Explanation, Problems, Settings
from .reference import Verdict, cryptography_verdict, handshake_verdict, openssl_verdict, readable_cryptography_error

__all__ = ["PROFILES", "PURPOSES", "Check", "Explanation", "Problems", "Settings", "Verdict", "cryptography_verdict",
           "explain", "handshake_verdict", "load_crls", "openssl_verdict", "presented_chain",
           "readable_cryptography_error"]
