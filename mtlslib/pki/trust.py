"""What "trust" means, once for the whole package.

Every function of mtlslib that takes a ``trust`` argument (the TLS contexts, ``handshake``,
``capture_handshake``, the HTTPS service, ``explain``, the scenarios) reads it with
:func:`trust_anchors`, so the same value means the same thing everywhere:

- a :class:`~mtlslib.pki.CertificateAuthority`, root or intermediate: that CA's own certificate is
  a trust anchor (an intermediate is trusted as itself, not through its root);
- an :class:`~mtlslib.pki.IssuedCertificate` or an ``x509.Certificate``: that certificate is an
  anchor (pinning one certificate);
- PEM ``bytes`` or ``str``: every certificate in it is an anchor;
- a list (or any iterable) of these: all of their anchors.

A trust anchor ends the path: verification succeeds once the chain reaches any anchor, whether or
not the anchor is self-signed (the contexts mtlslib makes set OpenSSL's ``X509_V_FLAG_PARTIAL_CHAIN``
so that OpenSSL agrees, as Python 3.13's default context does).
"""

from __future__ import annotations

from typing import Iterable, Union

from cryptography import x509

from mtlslib.errors import UsageError

from .authority import CertificateAuthority, IssuedCertificate
from .files import certificate_pem, load_pem_certificates

__all__ = ["Trust", "trust_anchors", "trust_pem"]

TrustItem = Union[CertificateAuthority, IssuedCertificate, x509.Certificate, bytes, str]
Trust = Union[TrustItem, Iterable[TrustItem]]


def trust_anchors(trust: Trust) -> tuple[x509.Certificate, ...]:
    """The certificates that ``trust`` makes trust anchors, in order, without duplicates."""
    anchors = tuple(dict.fromkeys(_anchors(trust, "trust")))
    if not anchors:
        raise UsageError("trust is empty: give a CertificateAuthority, a certificate or PEM with at least one "
                         "certificate")
    return anchors


def trust_pem(trust: Trust) -> bytes:
    """The trust anchors of ``trust`` as PEM, for OpenSSL (``load_verify_locations(cadata=...)``)."""
    return b"".join(certificate_pem(anchor) for anchor in trust_anchors(trust))


def _anchors(item, what: str) -> Iterable[x509.Certificate]:
    if isinstance(item, (CertificateAuthority, IssuedCertificate)):
        yield item.certificate
    elif isinstance(item, x509.Certificate):
        yield item
    elif isinstance(item, (bytes, str)):
        data = item.encode() if isinstance(item, str) else item
        yield from load_pem_certificates(data, f"the PEM given as {what}")
    elif isinstance(item, Iterable):
        for index, element in enumerate(item):
            if isinstance(element, Iterable) and not isinstance(element, (bytes, str)):
                raise UsageError(f"{what}[{index}] is a list inside a list; give one flat list of trust anchors")
            yield from _anchors(element, f"{what}[{index}]")
    else:
        raise UsageError(f"{what} must be a CertificateAuthority, an IssuedCertificate, an x509.Certificate, "
                         f"PEM bytes or a list of these, not {type(item).__name__}")
