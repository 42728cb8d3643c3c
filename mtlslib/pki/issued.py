"""A certificate with its private key: what a CA issues, loads back from files, or bundles as PKCS#12."""

from __future__ import annotations

import ssl
import warnings
from pathlib import Path
from typing import Iterable

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from mtlslib.errors import CertificateLoadError

from .describe import describe
from .files import (
    PARSE_ERRORS,
    Password,
    SslFiles,
    certificate_pem,
    check_key_matches,
    load_pem_pair,
    password_bytes,
    private_key_pem,
    read_file,
    slug,
    write_file,
    write_private_file,
)
from .keys import key_type_of
from .names import fingerprint, san_entries

__all__ = ["CertificateAndKey", "IssuedCertificate", "load_pkcs12"]


class CertificateAndKey:
    """What a CA and an issued certificate share: a certificate, its private key and the intermediates above it."""

    certificate: x509.Certificate
    private_key: object
    chain: tuple[x509.Certificate, ...]  # the intermediates above this certificate, nearest first; never the root

    @property
    def cert_pem(self) -> bytes:
        """This certificate alone, PEM."""
        return certificate_pem(self.certificate)

    @property
    def key_pem(self) -> bytes:
        """The private key, unencrypted PKCS#8 PEM. Treat it as a secret."""
        return private_key_pem(self.private_key)

    @property
    def chain_pem(self) -> bytes:
        """This certificate followed by its intermediates (never the root), PEM."""
        return b"".join(certificate_pem(c) for c in (self.certificate, *self.chain))

    @property
    def key_type(self) -> str:
        return key_type_of(self.private_key)

    @property
    def fingerprint(self) -> str:
        """SHA-256 fingerprint, colon-separated hex (as browsers and ``openssl x509 -fingerprint`` show)."""
        return fingerprint(self.certificate)

    @property
    def identities(self) -> tuple[str, ...]:
        """The subjectAltName entries, e.g. ``("DNS:localhost", "IP:127.0.0.1")``."""
        return san_entries(self.certificate)

    def describe(self) -> str:
        return describe(self.certificate)

    def write(self, directory, stem: str | None = None) -> tuple[Path, Path]:
        """Write ``STEM.pem`` (the chain) and ``STEM.key`` (mode 0600) into ``directory``.

        Returns the two paths. The directory is created if needed.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        stem = stem or slug(self._default_stem())
        cert_path = directory / f"{stem}.pem"
        write_file(cert_path, self.chain_pem)
        return cert_path, write_private_file(directory / f"{stem}.key", self.key_pem)

    def configure_cert(self, ctx: ssl.SSLContext) -> None:
        """Make ``ctx`` present this certificate, its chain and key."""
        with SslFiles(cert=self.chain_pem, key=self.key_pem) as files:
            ctx.load_cert_chain(files["cert"], files["key"])

    def _default_stem(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.certificate.subject.rfc4514_string()} ({self.key_type})>"

class IssuedCertificate(CertificateAndKey):
    """A leaf certificate with its private key and the intermediates needed to verify it."""

    def __init__(self, certificate: x509.Certificate, private_key, *, chain: Iterable[x509.Certificate] = (),
                 issuer: "CertificateAndKey | None" = None):
        self.certificate = certificate
        self.private_key = private_key
        self.chain = tuple(chain)
        self.issuer = issuer

    def _default_stem(self) -> str:
        return slug(san_entries(self.certificate)[0].split(":", 1)[1]) if san_entries(self.certificate) else "leaf"

    def to_pkcs12(self, password: Password = None, friendly_name: str | None = None) -> bytes:
        """The key, certificate and intermediates as PKCS#12 (``.p12``) for curl and browsers."""
        password = password_bytes(password)
        encryption = (serialization.BestAvailableEncryption(password) if password
                      else serialization.NoEncryption())
        name = (friendly_name or self._default_stem()).encode()
        return pkcs12.serialize_key_and_certificates(name, self.private_key, self.certificate,
                                                     list(self.chain) or None, encryption)

    def write_pkcs12(self, path, password: Password = None) -> Path:
        """Write :meth:`to_pkcs12` to ``path`` (mode 0600: it holds the private key)."""
        return write_private_file(Path(path), self.to_pkcs12(password))

    @classmethod
    def load(cls, cert_file, key_file, *, password: Password = None) -> "IssuedCertificate":
        """A certificate (with any intermediates after it) and its key from PEM files.

        Refuses a key that does not belong to the certificate.
        """
        cert, key, chain = load_pem_pair(cert_file, key_file, password)
        return cls(cert, key, chain=chain)

def load_pkcs12(path, password: Password = None) -> IssuedCertificate:
    """An :class:`IssuedCertificate` from a PKCS#12 file; clear errors for a wrong password."""
    data = read_file(path)
    password = password_bytes(password)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            bundle = pkcs12.load_pkcs12(data, password)
    except PARSE_ERRORS:
        raise CertificateLoadError(
            f"{path}: cannot open this PKCS#12 file: wrong password, or not a PKCS#12 file"
        ) from None
    if bundle.key is None or bundle.cert is None:
        raise CertificateLoadError(f"{path}: this PKCS#12 file holds no key and certificate pair")
    cert = bundle.cert.certificate
    check_key_matches(cert, bundle.key, str(path), str(path))
    return IssuedCertificate(cert, bundle.key, chain=[c.certificate for c in bundle.additional_certs])
