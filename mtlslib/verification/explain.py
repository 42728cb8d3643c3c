"""The verification explainer: why a certificate chain is accepted or refused, check by check.

A TLS library answers "certificate verify failed: <one reason>". :func:`explain` answers the
longer question: given the chain a peer presented, a trust store, a purpose (``"server"`` or
``"client"``), the expected name, a time and CRLs, it builds the path and runs every check in
order --

1. chain building (leaf to a trust anchor), :mod:`.paths`;
2. each signature on the path,
3. validity dates of every certificate,
4. basicConstraints of every issuer, and path lengths,
5. critical extensions every verifier must understand, :mod:`.checks`;
6. name constraints, when a CA carries them, :mod:`.names`;
7. key usage,
8. extended key usage for the purpose, :mod:`.checks`;
9. the name (subjectAltName; the common-name fallback is noted), :mod:`.names`;
10. revocation (CRLs), :mod:`.checks`;
11. key and signature strength, :mod:`.strength`;
12. with the web PKI profile, the form of each certificate, :mod:`.form`;

and returns an :class:`~.model.Explanation`: a table with pass or fail and a one-line reason per
check, the first failure highlighted, and the error OpenSSL reports for each failure. Its
``valid`` is True, False, or None when the explainer cannot decide.

Two profiles, because real verifiers disagree:

* ``"openssl"`` (default): what OpenSSL 3 decides when Python's ``ssl`` drives it, with the
  settings of an ``ssl.SSLContext`` (see :meth:`Settings.of_context`): common-name fallback,
  partial chains, CRL flags, security level;
* ``"webpki"``: the stricter web-PKI rules (RFC 5280 plus the CA/Browser Forum profile) that
  browsers, ``cryptography``'s ``PolicyBuilder`` and the x509-limbo test suite apply.

Where the explainer cannot decide (a signature algorithm or name-constraint form it does not
implement, a wildcard that needs the public suffix list, a path search stopped by one of its bounds
before it saw every path) its verdict is ``"undecided"`` and the table says why: never a guess.

Certificates and CRLs are read whole before any check runs (:mod:`mtlslib.pki.files`): one whose
names, times or extension list cannot be decoded raises :class:`~mtlslib.errors.CertificateLoadError`,
while an extension whose value cannot be parsed is a check's finding.
"""

from __future__ import annotations

import datetime as _dt
import re
import warnings
from dataclasses import fields, replace
from typing import Iterable

from cryptography import x509
from cryptography.utils import CryptographyDeprecationWarning

from mtlslib.errors import CertificateLoadError, UsageError
from mtlslib.pki import (
    PARSE_ERRORS,
    CertificateAuthority,
    IssuedCertificate,
    Trust,
    load_pem_certificates,
    readable_certificate,
    readable_certificates,
    readable_crl,
    trust_anchors,
)

from .certificate import Cert, Question
from .checks import (
    ca_checks,
    chain_check,
    critical_checks,
    eku_checks,
    key_usage_checks,
    revocation_checks,
    signature_checks,
    validity_check,
)
from .form import form_checks
from .model import FAIL, IGNORED, NOTE, PURPOSES, UNDECIDED, VALID, Check, Explanation, Settings, verdict_of
from .names import name_checks, name_constraint_checks
from .paths import Path, Store, build_all, build_openssl
from .strength import strength_checks

__all__ = ["explain", "load_crls", "presented_chain"]

_UTC = _dt.timezone.utc
_SETTING_NAMES = tuple(f.name for f in fields(Settings))


def explain(chain, trust: Trust | None, *, purpose: str = "server", name: str | None = None,
            at: _dt.datetime | None = None, crls=(), profile: str | None = None, settings: Settings | None = None,
            **setting_overrides) -> Explanation:
    """Explain whether ``chain`` is accepted by a verifier that trusts ``trust``.

    ``chain``: what the peer presents, leaf first: an ``IssuedCertificate`` (its certificate, then
    its ``chain``), an ``x509.Certificate``, PEM, or a list of certificates (``x509.Certificate``,
    ``IssuedCertificate``, ``CertificateAuthority``: each stands for its own certificate) and PEM.
    ``trust``: the trust anchors, read by :func:`mtlslib.pki.trust_anchors` (a
    ``CertificateAuthority``, root or intermediate, is itself the anchor; a certificate, PEM or a
    list of these); ``None`` or an empty list trusts nothing. ``purpose``: ``"server"`` (a client
    checks a server) or ``"client"`` (a server checks a client). ``name``: the expected DNS name or
    IP address (``None``: not checked). ``at``: the time (default: now; a naive time is UTC).
    ``crls``: CRLs (PEM or objects). ``profile``: ``"openssl"`` (default) or ``"webpki"``.
    ``settings`` or keyword overrides (``cn_fallback=False``, ``crl_check="leaf"``...): see
    :class:`Settings`.

    The result's ``valid`` is True, False or None (undecided). A value that cannot be used raises
    :class:`~mtlslib.errors.UsageError`; certificates or CRLs that cannot be read raise
    :class:`~mtlslib.errors.CertificateLoadError`.
    """
    if purpose not in PURPOSES:
        raise UsageError(f"purpose must be 'server' or 'client', not {purpose!r}")
    if name is not None and not isinstance(name, str):
        raise UsageError(f"name must be a DNS name or IP address string, not {name!r}")
    settings = _settings(settings, profile, setting_overrides)
    presented = presented_chain(chain)
    anchors = _anchors(trust)
    crl_list = tuple(load_crls(crls)) if crls else ()
    with warnings.catch_warnings():
        # cryptography warns each time it decodes a non-positive serial number or a name attribute of
        # the wrong length; both are findings here (the web PKI's form checks), not warnings.
        warnings.filterwarnings("ignore", category=CryptographyDeprecationWarning)
        warnings.filterwarnings("ignore", message="Attribute's length must be", category=UserWarning)
        question = Question(Cert(presented[0], trusted=False), purpose, name, _moment(at), crl_list, settings)
        store = Store([Cert(c, trusted=True) for c in anchors], [Cert(c, trusted=False) for c in presented[1:]])
        if question.leaf.der in {a.der for a in store.anchors}:
            question.leaf.trusted = True
        return _run(question, store)


# --------------------------------------------------------------------------------------------
# Arguments


def _settings(settings: Settings | None, profile: str | None, overrides: dict) -> Settings:
    if settings is not None and not isinstance(settings, Settings):
        raise UsageError(f"settings must be a Settings (e.g. Settings.of_context(ctx)), not {type(settings).__name__}")
    unknown = sorted(set(overrides) - set(_SETTING_NAMES))
    if unknown:
        raise UsageError(f"explain() has no setting {', '.join(map(repr, unknown))}; the settings are: "
                         f"{', '.join(_SETTING_NAMES)}")
    if profile is not None:
        overrides = {**overrides, "profile": profile}
    return replace(settings or Settings(), **overrides)


def _moment(at) -> _dt.datetime:
    if at is None:
        at = _dt.datetime.now(_UTC)
    elif not isinstance(at, _dt.datetime):
        raise UsageError(f"at must be a datetime (e.g. datetime(2030, 1, 1, tzinfo=timezone.utc)), not {at!r}")
    elif at.tzinfo is None:
        at = at.replace(tzinfo=_UTC)
    # Certificates state times to the second; so do the comparisons (RFC 5280 4.1.2.5).
    return at.replace(microsecond=0)


def _pem_certificates(data, what: str) -> list[x509.Certificate]:
    return load_pem_certificates(data.encode() if isinstance(data, str) else data, what)


def presented_chain(chain) -> list[x509.Certificate]:
    """The certificates a ``chain`` argument stands for, leaf first (see :func:`explain`)."""
    if isinstance(chain, (IssuedCertificate, CertificateAuthority)):
        certificates = readable_certificates([chain.certificate, *chain.chain], "chain")
    elif isinstance(chain, x509.Certificate):
        certificates = [readable_certificate(chain, "chain")]
    elif isinstance(chain, (bytes, str)):
        certificates = _pem_certificates(chain, "chain")
    elif isinstance(chain, Iterable):
        certificates = []
        for index, item in enumerate(chain):
            if isinstance(item, x509.Certificate):
                certificates.append(readable_certificate(item, f"chain[{index}]"))
            elif isinstance(item, (IssuedCertificate, CertificateAuthority)):
                certificates.append(readable_certificate(item.certificate, f"chain[{index}]"))
            elif isinstance(item, (bytes, str)):
                certificates += _pem_certificates(item, f"chain[{index}]")
            else:
                raise UsageError(f"chain[{index}] is a {type(item).__name__}; a chain holds x509.Certificate, "
                                 "IssuedCertificate or CertificateAuthority objects, or PEM")
    else:
        raise UsageError(f"chain must be an IssuedCertificate, an x509.Certificate, PEM or a list of certificates, "
                         f"not {type(chain).__name__}")
    if not certificates:
        raise CertificateLoadError("chain: no certificate to explain; the first certificate is the leaf")
    return certificates


def _anchors(trust) -> tuple[x509.Certificate, ...]:
    if trust is None or (isinstance(trust, (list, tuple)) and not trust):
        return ()
    return tuple(readable_certificates(list(trust_anchors(trust)), "trust"))


def load_crls(items, what: str = "CRLs") -> list[x509.CertificateRevocationList]:
    """CRLs from PEM bytes (one or more blocks), CRL objects, or a list of either; each with every
    field readable (:func:`mtlslib.pki.files.readable_crl`)."""
    if isinstance(items, x509.CertificateRevocationList):
        return [readable_crl(items, what)]
    if isinstance(items, (bytes, str)):
        data = items.encode() if isinstance(items, str) else items
        blocks = re.findall(rb"-----BEGIN X509 CRL-----.+?-----END X509 CRL-----", data, re.S)
        if not blocks:
            raise CertificateLoadError(f"{what}: no PEM CRL in it (expected '-----BEGIN X509 CRL-----')")
        try:
            crls = [x509.load_pem_x509_crl(block) for block in blocks]
        except PARSE_ERRORS as error:
            raise CertificateLoadError(f"{what}: a CRL block cannot be parsed ({error})") from None
        return [readable_crl(crl, what) for crl in crls]
    if not isinstance(items, Iterable):
        raise UsageError(f"{what} must be PEM, a CertificateRevocationList or a list of these, "
                         f"not {type(items).__name__}")
    return [crl for item in items for crl in load_crls(item, what)]


# --------------------------------------------------------------------------------------------
# Running the checks


def _run(question: Question, store: Store) -> Explanation:
    if not question.webpki:
        return _evaluate(question, build_openssl(question, store))
    complete, fallback = build_all(question, store)
    evaluated = [_evaluate(question, path) for path in complete]
    chosen = next((e for e in evaluated if e.verdict == VALID), None)
    if chosen is not None:
        return chosen
    if not evaluated or (fallback is not None and fallback.undecided):  # none, or the search stopped early
        return _evaluate(question, fallback)
    return next((e for e in evaluated if e.verdict == UNDECIDED), evaluated[0])


def _evaluate(question: Question, path: Path) -> Explanation:
    certs = path.certs
    checks: list[Check] = []
    if not question.settings.verify:
        checks.append(Check("verification", "all", NOTE,
                            "switched off (CERT_NONE): every check below is reported, none is enforced"))
    checks.append(chain_check(path))
    checks += signature_checks(question, certs)
    checks += [validity_check(question, c) for c in certs]
    checks += ca_checks(question, certs)
    checks += critical_checks(question, certs)
    checks += name_constraint_checks(question, certs)
    checks += key_usage_checks(question, certs)
    checks += eku_checks(question, certs)
    checks += name_checks(question)
    checks += revocation_checks(question, certs)
    checks += strength_checks(question, certs)
    if question.webpki:
        checks += form_checks(question, certs)
    if path.undecided:
        checks = _undecided_above_the_leaf(question, checks)
    if not question.settings.verify:
        checks = [replace(c, status=IGNORED) if c.status == FAIL else c for c in checks]
    return Explanation(tuple(checks), verdict_of(checks), tuple(c.cert for c in certs), question.purpose,
                       question.name, question.settings)


_ISSUER_DEPENDENT = ("signature", "revocation")  # a leaf's rows that depend on the issuer the path chose


def _undecided_above_the_leaf(question: Question, checks: list[Check]) -> list[Check]:
    """On a path where the search stopped at a bound, only the leaf's own failures decide: any other
    failure is on the part of one path followed so far, and a path not followed may avoid it."""
    leaf = question.where(question.leaf)
    return [replace(c, status=UNDECIDED, reason=f"{c.reason} (on the path followed so far; another path may "
                                                "avoid it)")
            if c.failed and (c.certificate != leaf or c.step in _ISSUER_DEPENDENT) else c for c in checks]
