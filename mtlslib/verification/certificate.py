"""A certificate as verification reads it, parsed once, and the question being asked of a chain.

:class:`Cert` keeps the fields the checks read (extensions, key identifiers, the signature family)
and survives damage: an extension cryptography cannot parse is recorded in ``broken`` and the
others stay usable. :class:`Question` is what every check needs to know: the leaf, the purpose,
the expected name, the time, the CRLs and the verifier's settings.

The few fields cryptography does not expose (the signature algorithm inside the signed part,
explicit EC curve parameters) are read with :func:`mtlslib.pki.read_tlvs`.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtensionOID, NameOID, SignatureAlgorithmOID

from mtlslib.errors import CertificateLoadError, DecodeError
from mtlslib.pki import extensions_one_by_one, oid_name, read_tlvs

from .model import Settings

__all__ = ["KEY_CLASSES", "Cert", "Question", "explicit_curve", "inner_signature_algorithm", "issuer_label",
           "outer_signature_algorithm", "signature_family", "signature_name"]

KEY_CLASSES = {"rsa": rsa.RSAPublicKey, "ecdsa": ec.EllipticCurvePublicKey, "ed25519": ed25519.Ed25519PublicKey,
               "ed448": ed448.Ed448PublicKey, "dsa": dsa.DSAPublicKey}

_SIGNATURE_FAMILIES = {
    SignatureAlgorithmOID.RSA_WITH_MD5: "rsa", SignatureAlgorithmOID.RSA_WITH_SHA1: "rsa",
    SignatureAlgorithmOID.RSA_WITH_SHA224: "rsa", SignatureAlgorithmOID.RSA_WITH_SHA256: "rsa",
    SignatureAlgorithmOID.RSA_WITH_SHA384: "rsa", SignatureAlgorithmOID.RSA_WITH_SHA512: "rsa",
    SignatureAlgorithmOID.RSASSA_PSS: "rsa",
    SignatureAlgorithmOID.ECDSA_WITH_SHA1: "ecdsa", SignatureAlgorithmOID.ECDSA_WITH_SHA224: "ecdsa",
    SignatureAlgorithmOID.ECDSA_WITH_SHA256: "ecdsa", SignatureAlgorithmOID.ECDSA_WITH_SHA384: "ecdsa",
    SignatureAlgorithmOID.ECDSA_WITH_SHA512: "ecdsa",
    SignatureAlgorithmOID.ED25519: "ed25519", SignatureAlgorithmOID.ED448: "ed448",
    SignatureAlgorithmOID.DSA_WITH_SHA1: "dsa", SignatureAlgorithmOID.DSA_WITH_SHA224: "dsa",
    SignatureAlgorithmOID.DSA_WITH_SHA256: "dsa",
}
_EC_PUBLIC_KEY = bytes.fromhex("2a8648ce3d0201")  # 1.2.840.10045.2.1, id-ecPublicKey
_SEQUENCE = 0x30


def signature_family(cert: x509.Certificate) -> str | None:
    """``"rsa"``, ``"ecdsa"``, ``"ed25519"``, ``"ed448"``, ``"dsa"``, or None for an algorithm not known here."""
    return _SIGNATURE_FAMILIES.get(cert.signature_algorithm_oid)


def signature_name(cert: x509.Certificate) -> str:
    return oid_name(cert.signature_algorithm_oid)


def _label(name: x509.Name, empty: str) -> str:
    for attribute in name:
        if attribute.oid == NameOID.COMMON_NAME:
            return str(attribute.value)
    return name.rfc4514_string() or empty


# --------------------------------------------------------------------------------------------
# Fields cryptography does not expose


def _tbs_fields(cert: x509.Certificate) -> list:
    (tbs,) = read_tlvs(cert.tbs_certificate_bytes)
    return read_tlvs(tbs.content)


def inner_signature_algorithm(cert: x509.Certificate) -> bytes | None:
    """The signature AlgorithmIdentifier inside the signed part (DER), or None if unreadable."""
    try:
        fields = _tbs_fields(cert)
        return fields[2].encoding if fields[0].tag == 0xA0 else fields[1].encoding
    except (DecodeError, IndexError, ValueError):
        return None


def outer_signature_algorithm(cert: x509.Certificate) -> bytes | None:
    """The signature AlgorithmIdentifier outside the signed part (DER), or None if unreadable."""
    try:
        (whole,) = read_tlvs(cert.public_bytes(Encoding.DER))
        return read_tlvs(whole.content)[1].encoding
    except (DecodeError, IndexError, ValueError):
        return None


def explicit_curve(cert: x509.Certificate) -> bool:
    """Whether an EC key carries explicit curve parameters (a SEQUENCE) rather than a curve OID."""
    try:
        fields = _tbs_fields(cert)
        spki = fields[6 if fields[0].tag == 0xA0 else 5].content
        algorithm = read_tlvs(read_tlvs(spki)[0].content)
        return algorithm[0].content == _EC_PUBLIC_KEY and len(algorithm) > 1 and algorithm[1].tag == _SEQUENCE
    except (DecodeError, IndexError, ValueError):
        return False


# --------------------------------------------------------------------------------------------
# The certificate, parsed once


_UNREAD = object()


class Cert:
    """A certificate with the fields verification reads, parsed once (damaged extensions included)."""

    def __init__(self, cert: x509.Certificate, trusted: bool):
        self.cert = cert
        self.der = cert.tbs_certificate_bytes + cert.signature
        self.trusted = trusted
        self.subject = cert.subject
        self.issuer = cert.issuer
        self.label = _label(cert.subject, "(empty subject)")
        # Extensions cryptography cannot parse: (OID, critical, why). The others stay usable.
        self.broken: list[tuple[x509.ObjectIdentifier, bool, str]] = []
        try:
            self.extensions = list(cert.extensions)
        except Exception:  # ValueError or DuplicateExtension: find out which extension, keep the rest
            try:
                self.extensions, self.broken = extensions_one_by_one(cert)
            except DecodeError as error:
                raise CertificateLoadError(f"'{self.label}': its extensions cannot be read ({error})") from None
        self._by_oid = {e.oid: e for e in self.extensions}
        self.self_issued = self.subject == self.issuer
        # The extensions the checks read, as cryptography's values (None when absent).
        self.aki = self.extension(ExtensionOID.AUTHORITY_KEY_IDENTIFIER)
        self.basic_constraints = self.extension(ExtensionOID.BASIC_CONSTRAINTS)
        self.key_usage = self.extension(ExtensionOID.KEY_USAGE)
        self.eku = self.extension(ExtensionOID.EXTENDED_KEY_USAGE)
        self.san = self.extension(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
        self._public_key = _UNREAD

    def extension(self, oid):
        found = self._by_oid.get(oid)
        return found.value if found is not None else None

    def critical(self, oid) -> bool:
        found = self._by_oid.get(oid)
        return bool(found and found.critical)

    @property
    def ski(self) -> bytes | None:
        value = self.extension(ExtensionOID.SUBJECT_KEY_IDENTIFIER)
        return value.digest if value is not None else None

    @property
    def is_ca(self) -> bool:
        constraints = self.basic_constraints
        return bool(constraints and constraints.ca)

    def public_key(self):
        """The public key, or None when it cannot be used (explicit curve parameters, unknown type).
        Read once: path building asks every candidate issuer for it, again and again."""
        if self._public_key is _UNREAD:
            try:
                self._public_key = self.cert.public_key()
            except (ValueError, UnsupportedAlgorithm):
                self._public_key = None
        return self._public_key

    def akid_matches(self, issuer: "Cert") -> bool:
        """OpenSSL's X509_check_akid: the authority key identifier does not rule ``issuer`` out."""
        akid = self.aki
        if akid is None:
            return True
        if akid.key_identifier is not None and issuer.ski is not None and akid.key_identifier != issuer.ski:
            return False
        serial = akid.authority_cert_serial_number
        if serial is not None and serial != issuer.cert.serial_number:
            return False
        if akid.authority_cert_issuer:
            names = [n.value for n in akid.authority_cert_issuer if isinstance(n, x509.DirectoryName)]
            if names and issuer.issuer not in names:
                return False
        return True

    def key_matches_signature(self, issuer: "Cert") -> bool:
        """Whether ``issuer``'s key type can have made this certificate's signature at all."""
        key = issuer.public_key()
        family = signature_family(self.cert)
        if key is None or family is None:
            return True  # unknown: let the signature check say so
        return isinstance(key, KEY_CLASSES[family])

    @property
    def self_signed(self) -> bool:
        """OpenSSL's notion: self-issued, its key identifiers agree and its key fits its signature."""
        return self.self_issued and self.akid_matches(self) and self.key_matches_signature(self)


def issuer_label(cert: Cert) -> str:
    """The issuer's common name, or its whole name when it has none."""
    return _label(cert.issuer, "(empty)")


# --------------------------------------------------------------------------------------------
# The question


@dataclass(frozen=True)
class Question:
    """What is being verified: the leaf, for which purpose and name, at what time, with which CRLs and settings."""

    leaf: Cert
    purpose: str
    name: str | None
    at: _dt.datetime
    crls: tuple[x509.CertificateRevocationList, ...]
    settings: Settings

    @property
    def webpki(self) -> bool:
        return self.settings.profile == "webpki"

    def where(self, cert: Cert) -> str:
        """The certificate column of the table: ``leaf X``, ``CA X`` or ``anchor X``."""
        if cert is self.leaf:
            return f"leaf {cert.label}"
        return f"{'anchor' if cert.trusted else 'CA'} {cert.label}"

    def time_ok(self, cert: Cert) -> bool:
        not_before, not_after = cert.cert.not_valid_before_utc, cert.cert.not_valid_after_utc
        if self.webpki:
            return not_before <= self.at <= not_after
        return not_before <= self.at < not_after  # OpenSSL: at notAfter itself the certificate has expired
