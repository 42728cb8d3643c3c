"""Names: subjectAltName entries from the strings people write, subjects, and reading them back.

Identities live in the subjectAltName (RFC 5280, RFC 6125): a DNS name, an IP address, an email
address or a URI such as a SPIFFE ID. The subject's common name is only a label for people.
"""

from __future__ import annotations

import ipaddress
import re

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from mtlslib.errors import ProfileError

__all__ = ["KEY_USAGE_NAMES", "ca_subject", "extension", "fingerprint", "format_general_name", "general_name",
           "leaf_subject", "san_entries"]

_DNS_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")

# Printable ASCII without space: anything else (a NUL, a newline, a non-ASCII letter) in a SAN is
# either an encoding mistake or the classic name-confusion attack.
_SAN_TEXT = re.compile(r"[\x21-\x7e]+")


def general_name(identity: str) -> x509.GeneralName:
    """Turn ``"localhost"``, ``"127.0.0.1"``, ``"a@b.example"`` or ``"spiffe://..."`` into a SAN entry."""
    if not isinstance(identity, str) or not identity:
        raise ProfileError(f"an identity must be a non-empty string, not {identity!r}")
    try:
        return x509.IPAddress(ipaddress.ip_address(identity))
    except ValueError:
        pass
    if "://" in identity:
        scheme = identity.split("://", 1)[0]
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme) or not _SAN_TEXT.fullmatch(identity):
            raise ProfileError(
                f"{identity!r} is not a valid URI identity (expected e.g. spiffe://org.test/service; "
                "printable ASCII only, percent-encode anything else)"
            )
        return x509.UniformResourceIdentifier(identity)
    if "@" in identity:
        local, _, domain = identity.rpartition("@")
        if not local or not domain or not _SAN_TEXT.fullmatch(identity):
            raise ProfileError(
                f"{identity!r} is not a valid email identity (expected name@domain in printable ASCII)"
            )
        return x509.RFC822Name(identity)
    name = identity.lower().rstrip(".")
    labels = name.split(".")
    if labels[0] == "*" and len(labels) > 1:
        labels = labels[1:]
    if not all(_DNS_LABEL.fullmatch(label) for label in labels):
        raise ProfileError(
            f"{identity!r} is not a DNS name, IP address, email or URI; "
            "DNS names use letters, digits and hyphens (a leading '*.' makes a wildcard)"
        )
    if len(name) > 253:
        raise ProfileError(f"{identity[:40]!r}... is {len(name)} characters long; a DNS name has at most 253")
    return x509.DNSName(name)


def format_general_name(name: x509.GeneralName) -> str:
    prefix = {x509.DNSName: "DNS", x509.IPAddress: "IP", x509.RFC822Name: "email",
              x509.UniformResourceIdentifier: "URI"}.get(type(name), type(name).__name__)
    return f"{prefix}:{name.value}"


# RFC 5280 upper bounds (ub-common-name, ub-organization-name); cryptography counts UTF-8 bytes.
_NAME_LIMIT = 64


def _fits_name_limit(text: str) -> bool:
    return 1 <= len(text.encode()) <= _NAME_LIMIT


def _check_name_attribute(what: str, value) -> None:
    if not isinstance(value, str) or not _fits_name_limit(value):
        raise ProfileError(
            f"{what} {value!r} must be a string of 1 to {_NAME_LIMIT} characters (UTF-8 bytes): "
            "X.509 limits that field"
        )


def _subject(common_name: str | None, organization: str | None) -> x509.Name:
    attributes = []
    if organization:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    if common_name:
        attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


def ca_subject(name: str, organization: str | None) -> x509.Name:
    # A CA's subject is the issuer name of everything it signs: RFC 5280 (and VERIFY_X509_STRICT)
    # forbid it to be empty, so the name cannot be dropped the way a long leaf identity is.
    _check_name_attribute("a CA name", name)
    if organization is not None:
        _check_name_attribute("organization", organization)
    return _subject(name, organization)


def leaf_subject(common_name: str | None, first_identity: str, organization: str | None) -> x509.Name:
    if common_name is not None:
        _check_name_attribute("common_name", common_name)
        return _subject(common_name, organization)
    # Identities too long for a common name (long URIs) live in the SAN only.
    return _subject(first_identity if _fits_name_limit(first_identity) else None, organization)


def extension(cert: x509.Certificate, ext_type):
    try:
        return cert.extensions.get_extension_for_class(ext_type).value
    except x509.ExtensionNotFound:
        return None


def san_entries(cert: x509.Certificate) -> tuple[str, ...]:
    san = extension(cert, x509.SubjectAlternativeName)
    return tuple(format_general_name(n) for n in san) if san is not None else ()


def fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


# The names RFC 5280 gives the bits (what OpenSSL and other tools' documentation use).
KEY_USAGE_NAMES = {"digital_signature": "digitalSignature", "key_encipherment": "keyEncipherment",
                    "key_agreement": "keyAgreement", "key_cert_sign": "keyCertSign", "crl_sign": "cRLSign"}
