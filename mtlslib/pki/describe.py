"""A short, human-readable summary of any certificate: the fields verification looks at."""

from __future__ import annotations

from typing import Union

from cryptography import x509

from mtlslib.errors import UsageError

from .files import load_pem_certificates
from .keys import key_type_of
from .names import KEY_USAGE_NAMES, extension, fingerprint, san_entries
from .oids import oid_name

__all__ = ["CertificateLike", "as_certificate", "describe"]

# An IssuedCertificate or CertificateAuthority (anything with a ``certificate``), a certificate, or PEM.
CertificateLike = Union[object, x509.Certificate, bytes, str]


def as_certificate(item: CertificateLike) -> x509.Certificate:
    if isinstance(item, x509.Certificate):
        return item
    if isinstance(getattr(item, "certificate", None), x509.Certificate):
        return item.certificate
    if isinstance(item, str):
        item = item.encode()
    if isinstance(item, bytes):
        return load_pem_certificates(item)[0]
    raise UsageError(f"expected a certificate, an mtlslib object or PEM bytes, not {type(item).__name__}")


def describe(item: CertificateLike) -> str:
    """A short, human-readable summary of a certificate: the fields verification looks at."""
    cert = as_certificate(item)
    constraints = extension(cert, x509.BasicConstraints)
    eku = extension(cert, x509.ExtendedKeyUsage)
    key_usage = extension(cert, x509.KeyUsage)
    if constraints is None:
        ca = "no basicConstraints (not usable as a CA)"
    elif constraints.ca:
        ca = "yes, " + ("no path length limit" if constraints.path_length is None
                        else f"path length {constraints.path_length}")
    else:
        ca = "no"
    usages = [name for field, name in KEY_USAGE_NAMES.items() if key_usage is not None and getattr(key_usage, field)]
    rows = [
        ("subject", cert.subject.rfc4514_string() or "(empty)"),
        ("issuer", cert.issuer.rfc4514_string() or "(empty)"),
        ("valid", f"{cert.not_valid_before_utc:%Y-%m-%d %H:%M} to {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC"),
        ("SAN", ", ".join(san_entries(cert)) or "(none)"),
        ("key usage", ", ".join(usages) or "(none)"),
        ("ext. key usage", ", ".join(oid_name(o) for o in eku) if eku else "(none: any)"),
        ("CA", ca),
        ("key", key_type_of(cert.public_key())),
        ("signature", oid_name(cert.signature_algorithm_oid)),
        ("serial", f"{cert.serial_number:x}"),
        ("SHA-256", fingerprint(cert)),
    ]
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label:<{width}}  {value}" for label, value in rows)
