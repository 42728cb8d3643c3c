"""Names: subjectAltName entries from the strings people write, subjects, and reading them back.

Identities live in the subjectAltName (RFC 5280, RFC 6125): a DNS name, an IP address, an email
address or a URI such as a SPIFFE ID. The subject's common name is only a label for people.
"""

from __future__ import annotations

import ipaddress
import re
import urllib.parse
from functools import cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID
from publicsuffixlist import PublicSuffixList

from mtlslib.display import shorten
from mtlslib.errors import ProfileError

__all__ = ["KEY_USAGE_NAMES", "authority_key_identifier_for", "LOOPBACK_NETWORKS", "RESERVED_DOMAINS", "ca_subject",
           "dns_name", "is_ip_address", "is_reserved", "reserved_names_constraints", "extension", "fingerprint",
           "format_general_name", "general_name", "leaf_subject", "san_entries"]

_DNS_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
# RFC 5322 dot-atom: the local part of an address as certificates carry it (no quoted strings).
_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
# Printable ASCII without space: anything else (a NUL, a newline, a non-ASCII letter) in a SAN is
# either an encoding mistake or the classic name-confusion attack.
_SAN_TEXT = re.compile(r"[\x21-\x7e]+")


@cache
def _public_suffixes() -> PublicSuffixList:
    """The public suffix list, read on first use: loading it costs more than importing the rest of pki."""
    return PublicSuffixList()


def _is_public_suffix(domain: str) -> bool:
    """Whether ``domain`` is a public suffix. The reserved top-level domains (RFC 2606, 6761) are never
    delegated, so the list has no rule under them and only the bare label is a suffix (the list's
    implicit ``*`` rule): the course's own names are answered without loading the list."""
    labels = domain.split(".")
    if labels[-1] in RESERVED_DOMAINS:  # its top-level entries: test, example, invalid, localhost
        return len(labels) == 1
    return _public_suffixes().is_public(domain)


def _refuse(identity: str, problem: str) -> ProfileError:
    return ProfileError(f"{shorten(repr(identity), 60)} {problem}")


def is_ip_address(text: str) -> bool:
    """Whether ``text`` is an IPv4 or IPv6 address (what a verifier then matches against IP SANs)."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def dns_name(name: str, *, wildcard: bool = True, identity: str | None = None) -> str:
    """``name`` as a DNS name for a certificate (lower case, no trailing dot), or :class:`ProfileError`.

    RFC 1035/1123 host names: letters, digits and hyphens, labels of 1 to 63 characters, at most 253
    in all, and a top-level label that is not all digits (``999.1.1.1`` is a mistyped address, not a
    name). Internationalised names are given in their A-label form (RFC 5890: ``xn--...``). A wildcard
    is only a whole leftmost label (``*.example.test``), and never over a public suffix (``*.com``,
    ``*.co.uk``): CAs must not issue those.
    """
    identity = name if identity is None else identity
    if not name.isascii():
        try:
            hint = f"; its A-label form is {name.encode('idna').decode()!r}"
        except UnicodeError:
            hint = ""
        raise _refuse(identity, f"is not ASCII: give an internationalised name in its A-label (xn--) form{hint}")
    name = name.lower().removesuffix(".")
    if len(name) > 253:
        raise _refuse(identity, f"is {len(name)} characters long; a DNS name has at most 253")
    labels = name.split(".")
    if labels[0] == "*" and len(labels) > 1 and wildcard:
        base = ".".join(labels[1:])
        if _is_public_suffix(base):
            raise _refuse(identity, f"is a wildcard over the public suffix {base!r}: it would cover every site "
                                    "registered under it; put the wildcard below a domain (*.example.test)")
        labels = labels[1:]
    if any("*" in label for label in labels):
        problem = "has a wildcard that is not a whole leftmost label ('*.example.test' is; 'w*.example.test' is not)"
        raise _refuse(identity, problem if wildcard else "may not contain a wildcard here")
    if not all(_DNS_LABEL.fullmatch(label) for label in labels):
        raise _refuse(identity, "is not a DNS name, IP address, email address or URI; DNS names use letters, digits "
                                "and hyphens in labels of 1 to 63 characters (a leading '*.' makes a wildcard)")
    if labels[-1].isdigit():
        raise _refuse(identity, "is neither an IP address nor a DNS name (a top-level label is never all digits)")
    for label in labels:
        if label.startswith("xn--"):
            try:
                label[4:].encode("ascii").decode("punycode").encode("idna")
            except UnicodeError:
                raise _refuse(identity, f"has {label!r}, which is not a valid A-label (RFC 5890)") from None
    return name


def general_name(identity: str) -> x509.GeneralName:
    """Turn ``"localhost"``, ``"127.0.0.1"``, ``"a@b.example"`` or ``"spiffe://..."`` into a SAN entry.

    Each kind is validated: an IP address (v4 or v6), a URI with a scheme and an authority
    (``spiffe://trust-domain/path``), an email address with one ``@``, a dot-atom local part and a
    valid domain, or a DNS name (:func:`dns_name`). Anything else raises :class:`ProfileError`.
    """
    if not isinstance(identity, str) or not identity:
        raise ProfileError(f"an identity must be a non-empty string, not {shorten(repr(identity), 60)}")
    try:
        return x509.IPAddress(ipaddress.ip_address(identity))
    except ValueError:
        pass
    if not _SAN_TEXT.fullmatch(identity) and identity.isascii():
        raise _refuse(identity, "has a space or a control character: an identity (DNS name, email address or "
                                "URI) is printable ASCII (percent-encode anything else in a URI)")
    if "://" in identity:
        return _uri(identity)
    if "@" in identity:
        return _email(identity)
    return x509.DNSName(dns_name(identity))


def _uri(identity: str) -> x509.UniformResourceIdentifier:
    scheme = identity.split("://", 1)[0]
    if not _SCHEME.fullmatch(scheme) or not identity.isascii():
        raise _refuse(identity, "is not a valid URI identity (expected e.g. spiffe://org.test/service; printable "
                                "ASCII only, percent-encode anything else)")
    try:
        parts = urllib.parse.urlsplit(identity)
        host = parts.hostname
    except ValueError as error:
        raise _refuse(identity, f"is not a valid URI ({error})") from None
    if not parts.netloc or not host:
        raise _refuse(identity, "has no authority (host) after '://'; e.g. spiffe://example.test/service")
    if not is_ip_address(host):
        dns_name(host, wildcard=False, identity=identity)
    return x509.UniformResourceIdentifier(identity)


def _email(identity: str) -> x509.RFC822Name:
    local, _, domain = identity.partition("@")
    if "@" in domain:
        raise _refuse(identity, "has more than one '@'; an email identity is local-part@domain")
    if not identity.isascii():
        raise _refuse(identity, "is not printable ASCII: an email identity (name@domain) in a certificate is ASCII")
    if not _LOCAL_PART.fullmatch(local) or len(local) > 64:
        raise _refuse(identity, "is not a valid email identity (name@domain): the name before '@' is letters, "
                                "digits and !#$%&'*+/=?^_`{|}~- in dot-separated words, at most 64 characters")
    dns_name(domain, wildcard=False, identity=identity)
    return x509.RFC822Name(identity)


# Names that can never belong to anyone on the internet (RFC 2606, RFC 6761), and loopback addresses.
RESERVED_DOMAINS = ("test", "example", "invalid", "localhost", "example.com", "example.net", "example.org")
LOOPBACK_NETWORKS = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


def reserved_names_constraints() -> x509.NameConstraints:
    """Name constraints that confine a CA to reserved names: DNS names and email addresses under
    :data:`RESERVED_DOMAINS`, and loopback addresses.

    URIs are not constrained: cryptography's verifier refuses every chain whose CA carries a URI
    constraint ("unsupported name constraint"), and no TLS client takes a URI as a server's name.
    """
    dns = [x509.DNSName(domain) for domain in RESERVED_DOMAINS]
    email = [x509.RFC822Name(form) for domain in RESERVED_DOMAINS for form in (domain, "." + domain)]
    ips = [x509.IPAddress(network) for network in LOOPBACK_NETWORKS]
    return x509.NameConstraints(permitted_subtrees=dns + ips + email, excluded_subtrees=None)


def is_reserved(name: x509.GeneralName) -> bool:
    """Whether ``name`` lies inside :func:`reserved_names_constraints` (URIs: their host must)."""
    value = name.value
    if isinstance(name, x509.IPAddress):
        return any(value in network for network in LOOPBACK_NETWORKS)
    if isinstance(name, x509.RFC822Name):
        value = value.rpartition("@")[2]
    elif isinstance(name, x509.UniformResourceIdentifier):
        host = urllib.parse.urlsplit(value).hostname or ""
        try:
            return any(ipaddress.ip_address(host) in network for network in LOOPBACK_NETWORKS)
        except ValueError:
            value = host
    elif not isinstance(name, x509.DNSName):
        return False
    value = value.lower().removeprefix("*.")
    return any(value == domain or value.endswith("." + domain) for domain in RESERVED_DOMAINS)


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
    # The common name only labels the certificate for people; identities live in the SAN. Some stay
    # out of it: one too long for the field (a long URI), and an IP address, which OpenSSL would take
    # for a DNS name when it applies a CA's DNS name constraints to a certificate without a DNS SAN.
    label = first_identity if _fits_name_limit(first_identity) and not is_ip_address(first_identity) else None
    return _subject(label, organization)


def extension(cert: x509.Certificate, ext_type):
    try:
        return cert.extensions.get_extension_for_class(ext_type).value
    except x509.ExtensionNotFound:
        return None


def authority_key_identifier_for(issuer: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    """The authorityKeyIdentifier for a certificate that ``issuer`` signs.

    Verifiers match a child's AKI against its issuer's subjectKeyIdentifier, so it is copied from the
    issuer's SKI rather than recomputed (another tool may derive an SKI differently).
    """
    ski = extension(issuer, x509.SubjectKeyIdentifier)
    if ski is not None:
        return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
    return x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.public_key())


def san_entries(cert: x509.Certificate) -> tuple[str, ...]:
    san = extension(cert, x509.SubjectAlternativeName)
    return tuple(format_general_name(n) for n in san) if san is not None else ()


def fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


# The names RFC 5280 gives the bits (what OpenSSL and other tools' documentation use).
KEY_USAGE_NAMES = {"digital_signature": "digitalSignature", "key_encipherment": "keyEncipherment",
                    "key_agreement": "keyAgreement", "key_cert_sign": "keyCertSign", "crl_sign": "cRLSign"}
