"""INSECURE on purpose: an active man in the middle on loopback, and the clients it meets.

:class:`ManInTheMiddle` (:mod:`.relay`) listens on 127.0.0.1 and waits for a victim. It answers the
victim's TLS handshake with the *attacker's* certificate, opens its own TLS connection to the real
server, then passes the decrypted bytes along in both directions, keeping a copy of everything
(:attr:`ManInTheMiddle.connections`). Whether it learns anything depends on one thing only: does
the victim accept the attacker's certificate?

:func:`send_request` (:mod:`.client`) is the client side of the story, the victim or the impostor:
it connects with a given ``ssl.SSLContext``, sends one HTTP request and reports what came back, or
OpenSSL's reason for refusing. :func:`http_request` writes the request bytes. :func:`intercept`
(:mod:`.interception`) runs one victim through one relay. :func:`replay_client_proof` (:mod:`.replay`)
shows why a relay cannot log in as its victim at a mutual-TLS server: it replays the victim's
CertificateVerify, which was signed over another handshake.

Nothing here is reachable from the safe modules, and nothing leaves the loopback interface: the
relay binds and dials loopback addresses only (:class:`~mtlslib.errors.NotLoopbackError`
otherwise), every network step has a timeout, and :meth:`ManInTheMiddle.stop` (the end of the
``with`` block) closes every socket and joins every thread.
"""

from .client import Exchange, http_request, send_request
from .interception import Interception, intercept
from .relay import ManInTheMiddle, RelayedConnection
from .replay import ProofReplay, replay_client_proof

__all__ = ["Exchange", "Interception", "ManInTheMiddle", "ProofReplay", "RelayedConnection", "http_request",
           "intercept", "replay_client_proof", "send_request"]
