"""The verification explainer: why a certificate chain is accepted or refused, check by check.

A TLS library answers "certificate verify failed: <one reason>". :func:`explain` answers the
longer question: given the chain a peer presented, a trust store, a purpose (``"server"`` or
``"client"``), the expected name, a time and CRLs, it builds the path and runs every check in
order --

1. chain building (leaf to a trust anchor),
2. each signature on the path,
3. validity dates of every certificate,
4. basicConstraints of every issuer, and path lengths,
5. critical extensions every verifier must understand,
6. name constraints, when a CA carries them,
7. key usage,
8. extended key usage for the purpose,
9. the name (subjectAltName; the common-name fallback is noted),
10. revocation (CRLs),
11. key and signature strength,

and returns an :class:`Explanation`: a table with pass or fail and a one-line reason per check,
the first failure highlighted, and the error OpenSSL reports for each failure.

Two profiles, because real verifiers disagree:

* ``"openssl"`` (default): what OpenSSL 3 decides when Python's ``ssl`` drives it, with the
  settings of an ``ssl.SSLContext`` (see :meth:`Settings.of_context`): common-name fallback,
  partial chains, CRL flags, security level;
* ``"webpki"``: the stricter web-PKI rules (RFC 5280 plus the CA/Browser Forum profile) that
  browsers, ``cryptography``'s ``PolicyBuilder`` and the x509-limbo test suite apply.

Where the explainer cannot decide (a signature algorithm or name-constraint form it does not
implement, a wildcard that needs the public suffix list, a path search that explodes) its verdict
is ``"undecided"`` and the table says why: never a guess.
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import re
import ssl
import warnings
from dataclasses import dataclass, replace

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import (
    dsa,
    ec,
    ed448,
    ed25519,
    padding,
    rsa,
)
from cryptography.x509.oid import (
    ExtendedKeyUsageOID,
    ExtensionOID,
    NameOID,
    SignatureAlgorithmOID,
)

from mtlslib.errors import CertificateLoadError, ProfileError
from mtlslib.pki import PARSE_ERRORS

__all__ = ["Check", "explain", "Explanation", "load_crls", "PROFILES", "Settings"]

PROFILES = ("openssl", "webpki")
PURPOSES = ("server", "client")

PASS, FAIL, IGNORED, NOTE, UNDECIDED, NOT_APPLICABLE = "pass", "FAIL", "ignored", "note", "undecided", "n/a"
_UTC = _dt.timezone.utc


# --------------------------------------------------------------------------------------------
# Settings: what kind of verifier is being explained


@dataclass(frozen=True)
class Settings:
    """How the verifier being explained is configured.

    ``verify=False`` is ``CERT_NONE``; ``check_hostname=False`` skips the name; ``cn_fallback`` is
    ``hostname_checks_common_name``; ``partial_chain`` is ``VERIFY_X509_PARTIAL_CHAIN`` (any
    certificate in the trust store may end the path); ``crl_check`` is ``None``, ``"leaf"``
    (``VERIFY_CRL_CHECK_LEAF``) or ``"chain"`` (``VERIFY_CRL_CHECK_CHAIN``), or ``"auto"``: leaf
    checking when CRLs are given; ``security_level`` is OpenSSL's (2: keys of at least 112-bit
    strength, no SHA-1); ``max_depth`` caps the number of intermediates.
    """

    profile: str = "openssl"
    verify: bool = True
    check_hostname: bool = True
    cn_fallback: bool = True
    partial_chain: bool = False
    crl_check: str | None = "auto"
    security_level: int = 2
    max_depth: int | None = None

    def __post_init__(self):
        if self.profile not in PROFILES:
            raise ProfileError(f"unknown profile {self.profile!r}; choose one of: {', '.join(PROFILES)}")
        if self.crl_check not in (None, "auto", "leaf", "chain"):
            raise ProfileError(f"crl_check must be None, 'auto', 'leaf' or 'chain', not {self.crl_check!r}")
        if not isinstance(self.security_level, int) or not 0 <= self.security_level <= 5:
            raise ProfileError(f"security_level must be 0 to 5 (OpenSSL's levels), not {self.security_level!r}")

    @classmethod
    def of_context(cls, ctx: ssl.SSLContext, **overrides) -> "Settings":
        """The settings an ``ssl.SSLContext`` verifies its peer with."""
        flags = ctx.verify_flags
        crl_check = ("chain" if flags & ssl.VERIFY_CRL_CHECK_CHAIN == ssl.VERIFY_CRL_CHECK_CHAIN
                     else "leaf" if flags & ssl.VERIFY_CRL_CHECK_LEAF else None)
        values = dict(
            profile="openssl", verify=ctx.verify_mode != ssl.CERT_NONE, check_hostname=ctx.check_hostname,
            cn_fallback=ctx.hostname_checks_common_name, partial_chain=bool(flags & ssl.VERIFY_X509_PARTIAL_CHAIN),
            crl_check=crl_check, security_level=ctx.security_level,
        )
        values.update(overrides)
        return cls(**values)


# --------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class Check:
    """One line of the table: which check, on which certificate, its status and why.

    ``status`` is ``"pass"``, ``"FAIL"``, ``"ignored"`` (a failure this configuration does not
    enforce), ``"note"`` (passes here, fails under the other profile), ``"undecided"`` or
    ``"n/a"``. ``openssl`` is the reason OpenSSL gives for this failure, when it has one.
    """

    step: str
    certificate: str
    status: str
    reason: str
    openssl: str | None = None

    @property
    def failed(self) -> bool:
        return self.status == FAIL


@dataclass(frozen=True)
class Explanation:
    """The checks in order, the verdict (``"valid"``, ``"invalid"`` or ``"undecided"``) and the
    path they were run on (leaf first)."""

    checks: tuple[Check, ...]
    verdict: str
    path: tuple[x509.Certificate, ...]
    purpose: str
    name: str | None
    settings: Settings

    @property
    def valid(self) -> bool | None:
        """True, False, or None when undecided."""
        return {"valid": True, "invalid": False}.get(self.verdict)

    @property
    def first_failure(self) -> Check | None:
        return next((c for c in self.checks if c.failed), None)

    @property
    def failures(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.failed)

    @property
    def openssl_reasons(self) -> tuple[str, ...]:
        """The OpenSSL reasons of every failure, in table order (OpenSSL reports one of them)."""
        return tuple(dict.fromkeys(c.openssl for c in self.failures if c.openssl))

    def summary(self) -> str:
        """One line: the verdict and, if any, the first failure or what could not be decided."""
        if self.verdict == "invalid":
            first = self.first_failure
            return f"invalid: {first.step} ({first.certificate}): {first.reason}"
        if self.verdict == "undecided":
            first = next(c for c in self.checks if c.status == UNDECIDED)
            return f"undecided: {first.step} ({first.certificate}): {first.reason}"
        ignored = [c for c in self.checks if c.status == IGNORED]
        if ignored:
            return (f"valid only because {len(ignored)} failing check{'s are' if len(ignored) > 1 else ' is'} "
                    "not enforced")
        notes = [c for c in self.checks if c.status == NOTE]
        if notes:
            return f"valid, with {len(notes)} note{'s' if len(notes) > 1 else ''}: {notes[0].step}: {notes[0].reason}"
        return "valid: every check passed"

    def table(self, *, problems_only: bool = False) -> str:
        """The checks as a text table; ``>>`` marks the first failure. ``problems_only`` keeps the
        rows that did not simply pass (and says how many did)."""
        first = self.first_failure
        rows = [("", "#", "check", "certificate", "result", "why")]
        for number, check in enumerate(self.checks, 1):
            if problems_only and check.status in (PASS, NOT_APPLICABLE):
                continue
            why = check.reason + (f"  [OpenSSL: {check.openssl}]" if check.openssl and check.status in (FAIL, IGNORED)
                                  else "")
            rows.append((">>" if check is first else "", str(number), check.step, check.certificate, check.status, why))
        widths = [max(len(row[i]) for row in rows) for i in range(5)]
        lines = ["  ".join(cell.ljust(width) for cell, width in zip(row[:5], widths)) + "  " + row[5] for row in rows]
        lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * 3)
        if problems_only:
            passed = sum(1 for c in self.checks if c.status in (PASS, NOT_APPLICABLE))
            if len(rows) == 1:
                lines = []
            lines.append(f"({passed} other checks passed or did not apply)")
        lines.append(f"verdict ({self.settings.profile} profile, {self.purpose} purpose): {self.summary()}")
        return "\n".join(line.rstrip() for line in lines)

    def __str__(self) -> str:
        return self.table()

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(self.table())


# --------------------------------------------------------------------------------------------
# Input


def _load_certificates(items, what: str) -> list[x509.Certificate]:
    if isinstance(items, (bytes, str)):
        data = items.encode() if isinstance(items, str) else items
        if b"-----BEGIN CERTIFICATE-----" not in data:
            raise CertificateLoadError(f"{what}: no PEM certificate in it (expected '-----BEGIN CERTIFICATE-----')")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a non-positive serial is a finding here, not a warning
                return x509.load_pem_x509_certificates(data)
        except PARSE_ERRORS as error:
            raise CertificateLoadError(f"{what}: a certificate block cannot be parsed ({error})") from None
    certificates = []
    for item in items:
        if isinstance(item, x509.Certificate):
            certificates.append(item)
        elif hasattr(item, "certificate") and isinstance(item.certificate, x509.Certificate):
            certificates.append(item.certificate)  # an mtlslib CertificateAuthority or IssuedCertificate
        elif isinstance(item, (bytes, str)):
            certificates.extend(_load_certificates(item, what))
        else:
            raise CertificateLoadError(f"{what}: expected certificates or PEM, not {type(item).__name__}")
    return certificates


def load_crls(items, what: str = "CRLs") -> list[x509.CertificateRevocationList]:
    """CRLs from PEM bytes (one or more blocks), CRL objects, or a list of either."""
    if isinstance(items, x509.CertificateRevocationList):
        return [items]
    if isinstance(items, (bytes, str)):
        data = items.encode() if isinstance(items, str) else items
        blocks = re.findall(rb"-----BEGIN X509 CRL-----.+?-----END X509 CRL-----", data, re.S)
        if not blocks:
            raise CertificateLoadError(f"{what}: no PEM CRL in it (expected '-----BEGIN X509 CRL-----')")
        try:
            return [x509.load_pem_x509_crl(block) for block in blocks]
        except ValueError as error:
            raise CertificateLoadError(f"{what}: a CRL block cannot be parsed ({error})") from None
    crls = []
    for item in items:
        crls.extend(load_crls(item, what))
    return crls


# --------------------------------------------------------------------------------------------
# Certificates, parsed once


def _label(cert: x509.Certificate) -> str:
    for attribute in cert.subject:
        if attribute.oid == NameOID.COMMON_NAME:
            return str(attribute.value)
    text = cert.subject.rfc4514_string()
    return text if text else "(empty subject)"


class _Cert:
    """A certificate with the fields verification reads, parsed once (damaged extensions included)."""

    def __init__(self, cert: x509.Certificate, trusted: bool):
        self.cert = cert
        self.der = cert.tbs_certificate_bytes + cert.signature
        self.trusted = trusted
        self.subject = cert.subject
        self.issuer = cert.issuer
        self.label = _label(cert)
        # Extensions cryptography cannot parse: (OID, critical, why). The others stay usable.
        self.broken: list[tuple[x509.ObjectIdentifier, bool, str]] = []
        try:
            self.extensions = list(cert.extensions)
        except Exception:  # ValueError or DuplicateExtension: find out which extension, keep the rest
            self.extensions, self.broken = _parse_extensions_one_by_one(cert)
        self._by_oid = {e.oid: e for e in self.extensions}
        self.self_issued = self.subject == self.issuer

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
    def aki(self):
        return self.extension(ExtensionOID.AUTHORITY_KEY_IDENTIFIER)

    @property
    def basic_constraints(self):
        return self.extension(ExtensionOID.BASIC_CONSTRAINTS)

    @property
    def key_usage(self):
        return self.extension(ExtensionOID.KEY_USAGE)

    @property
    def eku(self):
        return self.extension(ExtensionOID.EXTENDED_KEY_USAGE)

    @property
    def san(self):
        return self.extension(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)

    def public_key(self):
        """The public key, or None when it cannot be used (explicit curve parameters, unknown type)."""
        try:
            return self.cert.public_key()
        except (ValueError, UnsupportedAlgorithm):
            return None

    def akid_matches(self, issuer: "_Cert") -> bool:
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

    def key_matches_signature(self, issuer: "_Cert") -> bool:
        """Whether ``issuer``'s key type can have made this certificate's signature at all."""
        key = issuer.public_key()
        family = _signature_family(self.cert)
        if key is None or family is None:
            return True  # unknown: let the signature check say so
        return isinstance(key, _KEY_CLASSES[family])

    @property
    def self_signed(self) -> bool:
        """OpenSSL's notion: self-issued, its key identifiers agree and its key fits its signature."""
        return self.self_issued and self.akid_matches(self) and self.key_matches_signature(self)


_KEY_CLASSES = {"rsa": rsa.RSAPublicKey, "ecdsa": ec.EllipticCurvePublicKey, "ed25519": ed25519.Ed25519PublicKey,
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


def _signature_family(cert: x509.Certificate) -> str | None:
    return _SIGNATURE_FAMILIES.get(cert.signature_algorithm_oid)


def _signature_name(cert: x509.Certificate) -> str:
    oid = cert.signature_algorithm_oid
    return getattr(oid, "_name", None) or oid.dotted_string


# --------------------------------------------------------------------------------------------
# Small DER reader: the TBS signature algorithm, which cryptography does not expose


def _der_items(data: bytes) -> list[tuple[int, bytes, bytes]]:
    """(tag, content, full encoding) of each TLV in ``data``."""
    items, pos = [], 0
    while pos < len(data):
        tag, length, header = data[pos], data[pos + 1], 2
        if length & 0x80:
            count = length & 0x7F
            length, header = int.from_bytes(data[pos + 2:pos + 2 + count], "big"), 2 + count
        items.append((tag, data[pos + header:pos + header + length], data[pos:pos + header + length]))
        pos += header + length
    return items


def _inner_signature_algorithm(cert: x509.Certificate) -> bytes | None:
    try:
        (_, tbs, _), = _der_items(cert.tbs_certificate_bytes)
        fields = _der_items(tbs)
        return fields[2][2] if fields[0][0] == 0xA0 else fields[1][2]
    except (IndexError, ValueError):
        return None


def _explicit_curve(cert: x509.Certificate) -> bool:
    """Whether an EC key carries explicit curve parameters (a SEQUENCE) rather than a curve OID."""
    try:
        (_, tbs, _), = _der_items(cert.tbs_certificate_bytes)
        fields = _der_items(tbs)
        spki = fields[6 if fields[0][0] == 0xA0 else 5][1]
        algorithm = _der_items(_der_items(spki)[0][1])
        return algorithm[0][1] == bytes.fromhex("2a8648ce3d0201") and len(algorithm) > 1 and algorithm[1][0] == 0x30
    except (IndexError, ValueError):
        return False


def _outer_signature_algorithm(cert: x509.Certificate) -> bytes | None:
    try:
        from cryptography.hazmat.primitives.serialization import Encoding
        (_, body, _), = _der_items(cert.public_bytes(Encoding.DER))
        return _der_items(body)[1][2]
    except (IndexError, ValueError):
        return None


def _der(tag: int, content: bytes) -> bytes:
    length = len(content)
    if length < 0x80:
        return bytes([tag, length]) + content
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(body)]) + body + content


def _decode_oid(content: bytes) -> x509.ObjectIdentifier:
    arcs, value = [], 0
    for byte in content:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    first = min(arcs[0] // 40, 2)
    return x509.ObjectIdentifier(".".join(map(str, [first, arcs[0] - 40 * first, *arcs[1:]])))


def _parse_extensions_one_by_one(cert: x509.Certificate):
    """Parse each extension on its own (cryptography parses all or nothing), so that one damaged
    or duplicated extension does not hide the others. Returns (parsed, broken)."""
    from cryptography.hazmat.primitives.serialization import Encoding

    (_, body, _), = _der_items(cert.public_bytes(Encoding.DER))
    (_, tbs, _), algorithm, signature = _der_items(body)
    fields = _der_items(tbs)
    index = next(i for i, (tag, _, _) in enumerate(fields) if tag == 0xA3)
    (_, raw_list, _), = _der_items(fields[index][1])
    parsed, broken, seen = [], [], set()
    for _, content, encoding in _der_items(raw_list):
        parts = _der_items(content)
        oid = _decode_oid(parts[0][1])
        critical = len(parts) == 3 and parts[1][1] == b"\xff"
        if oid in seen:
            broken.append((oid, critical, "the extension appears twice"))
            continue
        seen.add(oid)
        single = [*fields[:index], (0, b"", _der(0xA3, _der(0x30, encoding))), *fields[index + 1:]]
        der = _der(0x30, _der(0x30, b"".join(f[2] for f in single)) + algorithm[2] + signature[2])
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                parsed.extend(x509.load_der_x509_certificate(der).extensions)
        except Exception as error:
            broken.append((oid, critical, str(error) or type(error).__name__))
    return parsed, broken


# --------------------------------------------------------------------------------------------
# Signatures


class _Unsupported(Exception):
    """The explainer does not implement this signature algorithm."""


def _verify_signature(child: x509.Certificate, issuer_key) -> None:
    """Raise InvalidSignature if ``issuer_key`` did not sign ``child``; _Unsupported if unknown."""
    family = _signature_family(child)
    data, signature = child.tbs_certificate_bytes, child.signature
    if family is None:
        raise _Unsupported(f"signature algorithm {_signature_name(child)}")
    if not isinstance(issuer_key, _KEY_CLASSES[family]):
        raise InvalidSignature(f"a {family} signature cannot come from a {type(issuer_key).__name__}")
    try:
        algorithm = child.signature_hash_algorithm
    except UnsupportedAlgorithm as error:
        raise _Unsupported(str(error)) from None
    if family == "rsa":
        parameters = child.signature_algorithm_parameters
        pad = parameters if isinstance(parameters, padding.PSS) else padding.PKCS1v15()
        issuer_key.verify(signature, data, pad, algorithm)
    elif family == "ecdsa":
        issuer_key.verify(signature, data, ec.ECDSA(algorithm))
    elif family == "dsa":
        issuer_key.verify(signature, data, algorithm)
    else:
        issuer_key.verify(signature, data)


# --------------------------------------------------------------------------------------------
# Strength


_LEVEL_BITS = {0: 0, 1: 80, 2: 112, 3: 128, 4: 192, 5: 256}
_HASH_BITS = {"md5": 39, "sha1": 63, "sha224": 112, "sha256": 128, "sha384": 192, "sha512": 256,
              "sha3-256": 128, "sha3-384": 192, "sha3-512": 256}  # OpenSSL 3's values (SHA-1: 63 since 3.0)


def _finite_field_bits(modulus_bits: int) -> int:
    # OpenSSL's BN_security_bits table for RSA/DSA moduli.
    for bits, strength in ((15360, 256), (7680, 192), (3072, 128), (2048, 112), (1024, 80)):
        if modulus_bits >= bits:
            return strength
    return 0


def _key_description(key) -> tuple[str, int]:
    """('RSA-2048', security bits) as OpenSSL rates keys."""
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA-{key.key_size}", _finite_field_bits(key.key_size)
    if isinstance(key, dsa.DSAPublicKey):
        return f"DSA-{key.key_size}", _finite_field_bits(key.key_size)
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"ECDSA {key.curve.name}", key.curve.key_size // 2
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 128
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 224
    return type(key).__name__, 0


_WEBPKI_CURVES = ("secp256r1", "secp384r1", "secp521r1")
_WEBPKI_HASHES = ("sha256", "sha384", "sha512")


# --------------------------------------------------------------------------------------------
# Names


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


_DNS_NAME = re.compile(r"(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*")
# Names reserved for examples and tests (RFC 2606, RFC 6761): never a public suffix.
_RESERVED_SUFFIXES = ("example", "test", "invalid", "localhost", "example.com", "example.net", "example.org")


def _wildcard_matches(pattern: str, host: str) -> bool:
    """RFC 6125 wildcard: ``*`` is the whole leftmost label and stands for exactly one label."""
    if not pattern.startswith("*.") or "*" in pattern[1:]:
        return False
    rest = pattern[2:]
    if rest.count(".") < 1:  # "*.com": a wildcard over a whole top-level domain matches nothing
        return False
    host_first, _, host_rest = host.partition(".")
    return bool(host_first) and host_rest == rest


def _dns_match(pattern: str, host: str) -> bool:
    pattern, host = pattern.lower().rstrip("."), host.lower().rstrip(".")
    if "*" in pattern:
        return not host.startswith("xn--") and _wildcard_matches(pattern, host)
    return pattern == host


def _common_names(cert: x509.Certificate) -> list[str]:
    return [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]


# --------------------------------------------------------------------------------------------
# Name constraints


def _dns_in_subtree(name: str, base: str) -> bool:
    name, base = name.lower().rstrip("."), base.lower()
    if not base:
        return True
    if base.startswith("."):
        return name.endswith(base)
    return name == base or name.endswith("." + base)


def _wildcard_may_enter(name: str, base: str) -> bool:
    """Whether some host a wildcard ``name`` matches lies in ``base`` (CVE-2025-61727)."""
    if not name.startswith("*."):
        return _dns_in_subtree(name, base)
    rest = name[2:].lower()
    base = base.lower().lstrip(".")
    return _dns_in_subtree(rest, base) or (base.count(".") == rest.count(".") + 1 and base.endswith("." + rest))


def _email_in_subtree(address: str, base: str) -> bool:
    local, _, domain = address.rpartition("@")
    if "@" in base:  # one mailbox: the local part is case-sensitive, the domain is not
        base_local, _, base_domain = base.rpartition("@")
        return local == base_local and domain.lower() == base_domain.lower()
    if base.startswith("."):
        return domain.lower().endswith(base.lower())
    return domain.lower() == base.lower()


def _uri_host(uri: str) -> str | None:
    match = re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/?#]*@)?(\[[^\]]*\]|[^:/?#]*)", uri)
    return match.group(1) if match else None


def _dn_in_subtree(name: x509.Name, base: x509.Name) -> bool:
    rdns, prefix = list(name.rdns), list(base.rdns)
    return len(rdns) >= len(prefix) and rdns[:len(prefix)] == prefix


_NC_TYPES = {x509.DNSName: "DNS", x509.IPAddress: "IP", x509.RFC822Name: "email",
             x509.UniformResourceIdentifier: "URI", x509.DirectoryName: "DN"}


def _name_in_subtree(kind: str, value, base) -> bool:
    if kind == "DNS":
        return _dns_in_subtree(value, base)
    if kind == "IP":
        return value.version == base.version and value in base
    if kind == "email":
        return _email_in_subtree(value, base)
    if kind == "URI":
        host = _uri_host(value)
        return host is not None and _dns_in_subtree(host, base)
    if kind == "DN":
        return _dn_in_subtree(value, base)
    return False


# --------------------------------------------------------------------------------------------
# The explainer


_KNOWN_CRITICAL = {  # what OpenSSL 3 understands when critical (X509_supported_extension)
    ExtensionOID.KEY_USAGE, ExtensionOID.SUBJECT_ALTERNATIVE_NAME, ExtensionOID.BASIC_CONSTRAINTS,
    ExtensionOID.CERTIFICATE_POLICIES, ExtensionOID.EXTENDED_KEY_USAGE, ExtensionOID.POLICY_CONSTRAINTS,
    ExtensionOID.NAME_CONSTRAINTS, ExtensionOID.POLICY_MAPPINGS, ExtensionOID.INHIBIT_ANY_POLICY,
    ExtensionOID.CRL_DISTRIBUTION_POINTS,
    x509.ObjectIdentifier("2.16.840.1.113730.1.1"),  # Netscape certificate type
    x509.ObjectIdentifier("1.3.6.1.5.5.7.1.14"),  # proxyCertInfo
    x509.ObjectIdentifier("1.3.6.1.5.5.7.1.7"), x509.ObjectIdentifier("1.3.6.1.5.5.7.1.8"),  # RFC 3779
}
_WEBPKI_KNOWN_CRITICAL = {
    ExtensionOID.KEY_USAGE, ExtensionOID.SUBJECT_ALTERNATIVE_NAME, ExtensionOID.BASIC_CONSTRAINTS,
    ExtensionOID.CERTIFICATE_POLICIES, ExtensionOID.EXTENDED_KEY_USAGE, ExtensionOID.POLICY_CONSTRAINTS,
    ExtensionOID.NAME_CONSTRAINTS, ExtensionOID.POLICY_MAPPINGS, ExtensionOID.INHIBIT_ANY_POLICY,
}
# Extensions OpenSSL itself decodes during verification: if one is damaged, its verdict depends on
# its own parser, which may accept what cryptography's refuses.
_OPENSSL_USES = {
    ExtensionOID.KEY_USAGE, ExtensionOID.SUBJECT_ALTERNATIVE_NAME, ExtensionOID.BASIC_CONSTRAINTS,
    ExtensionOID.EXTENDED_KEY_USAGE, ExtensionOID.NAME_CONSTRAINTS, ExtensionOID.AUTHORITY_KEY_IDENTIFIER,
    ExtensionOID.SUBJECT_KEY_IDENTIFIER, ExtensionOID.POLICY_CONSTRAINTS, ExtensionOID.CERTIFICATE_POLICIES,
    ExtensionOID.CRL_DISTRIBUTION_POINTS,
}
_SERVER_GATED_CRYPTO = (x509.ObjectIdentifier("2.16.840.1.113730.4.1"), x509.ObjectIdentifier("1.3.6.1.4.1.311.10.3.3"))

_EKU_NAMES = {ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth", ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth",
              ExtendedKeyUsageOID.CODE_SIGNING: "codeSigning", ExtendedKeyUsageOID.EMAIL_PROTECTION: "emailProtection",
              ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE: "anyExtendedKeyUsage",
              ExtendedKeyUsageOID.OCSP_SIGNING: "OCSPSigning", ExtendedKeyUsageOID.TIME_STAMPING: "timeStamping"}

# Enough for any real chain. Path builders and name-constraint checkers all stop somewhere, so that
# a crafted certificate graph (x509-limbo has several) cannot keep them busy forever.
_MAX_PATH_LENGTH = 16
_MAX_PATHS = 64
_MAX_CANDIDATES = 1000  # issuer candidates examined
_MAX_NAME_CHECKS = 1 << 20  # names times constraints


def _now() -> _dt.datetime:
    return _dt.datetime.now(_UTC)


def _fmt_time(moment: _dt.datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC" if moment.second else f"{moment:%Y-%m-%d %H:%M} UTC"


def explain(chain, trust, *, purpose: str = "server", name: str | None = None, at: _dt.datetime | None = None,
            crls=(), settings: Settings | None = None, **setting_overrides) -> Explanation:
    """Explain whether ``chain`` (the presented certificates, leaf first) is accepted.

    ``trust``: the trust store (certificates, PEM, or mtlslib CAs). ``purpose``: ``"server"`` (a
    client checks a server) or ``"client"`` (a server checks a client). ``name``: the expected
    DNS name or IP address (``None``: not checked). ``at``: the time (default: now). ``crls``:
    CRLs (PEM or objects). ``settings`` or keyword overrides (``profile="webpki"``,
    ``cn_fallback=False``...): see :class:`Settings`.
    """
    if purpose not in PURPOSES:
        raise ProfileError(f"purpose must be 'server' or 'client', not {purpose!r}")
    settings = replace(settings or Settings(), **setting_overrides)
    presented = _load_certificates(chain, "chain")
    if not presented:
        raise CertificateLoadError("chain: no certificate to explain; the first certificate is the leaf")
    anchors = _load_certificates(trust, "trust store") if trust is not None else []
    crl_list = load_crls(crls) if crls else []
    if at is None:
        at = _now()
    elif at.tzinfo is None:
        at = at.replace(tzinfo=_UTC)
    # Certificates state times to the second; so do the comparisons (RFC 5280 4.1.2.5).
    at = at.replace(microsecond=0)
    if name is not None and not isinstance(name, str):
        raise ProfileError(f"name must be a DNS name or IP address string, not {name!r}")
    return _Explainer(presented, anchors, purpose, name, at, crl_list, settings).run()


@dataclass
class _Path:
    certs: list[_Cert]
    complete: bool
    problem: str = ""  # why chain building stopped, when incomplete
    openssl: str | None = None


class _Explainer:
    def __init__(self, presented, anchors, purpose, name, at, crls, settings: Settings):
        self.leaf = _Cert(presented[0], trusted=False)
        self.untrusted = [_Cert(c, trusted=False) for c in presented[1:]]
        self.anchors = [_Cert(c, trusted=True) for c in anchors]
        self.anchor_ders = {a.der for a in self.anchors}
        self.purpose, self.name, self.at, self.crls, self.settings = purpose, name, at, crls, settings
        self.webpki = settings.profile == "webpki"
        if self.leaf.der in self.anchor_ders:
            self.leaf.trusted = True

    # -- chain building ----------------------------------------------------------------------

    def _is_anchor_end(self, cert: _Cert) -> bool:
        """Whether the path may stop at ``cert``."""
        if not cert.trusted:
            return False
        return self.webpki or self.settings.partial_chain or cert.self_signed

    def _candidates(self, cert: _Cert, path: list[_Cert]) -> list[_Cert]:
        used = {c.der for c in path}
        pool = self.anchors if cert.trusted and not self.webpki else [*self.anchors, *self.untrusted]
        found = [c for c in pool if c.der not in used and c.subject == cert.issuer
                 and cert.akid_matches(c) and cert.key_matches_signature(c)]
        if not self.webpki:
            # OpenSSL prefers an issuer valid at the verification time.
            found.sort(key=lambda c: not self._time_ok(c))
        return found

    def _build_openssl(self) -> _Path:
        """OpenSSL's greedy construction: trusted issuers first, then presented ones, no backtracking."""
        path = [self.leaf]
        while True:
            current = path[-1]
            if self._is_anchor_end(current):
                return _Path(path, True)
            if current.self_signed and not current.trusted:
                if len(path) == 1:
                    return _Path(path, False, "the leaf signed itself and is not in the trust store",
                                  "self-signed certificate")
                return _Path(path, False, f"'{current.label}' signed itself and is not in the trust store",
                              "self-signed certificate in certificate chain")
            candidates = self._candidates(current, path)
            if self.settings.max_depth is not None and len(path) > self.settings.max_depth + 1 and candidates:
                return _Path(path, False, f"more than {self.settings.max_depth} intermediate(s) needed",
                              "certificate chain too long")
            if not candidates or len(path) >= _MAX_PATH_LENGTH:
                if current.trusted:
                    return _Path(path, False, f"'{current.label}' is in the trust store but is not self-signed, and "
                                               f"its issuer '{_issuer_label(current)}' is nowhere to be found "
                                               "(partial chains are not allowed)", "unable to get issuer certificate")
                return _Path(path, False, f"no certificate named '{_issuer_label(current)}' (the issuer of "
                                           f"'{current.label}') in the presented chain or the trust store",
                              "unable to get local issuer certificate")
            path = [*path, candidates[0]]

    def _build_all(self) -> tuple[list[_Path], _Path | None]:
        """Every path to an anchor (depth-first, bounded), and the longest dead end if none."""
        complete: list[_Path] = []
        dead_end: list[_Path] = []
        exhausted = False
        examined = 0

        def walk(path: list[_Cert]) -> None:
            nonlocal exhausted, examined
            examined += 1
            if len(complete) >= _MAX_PATHS or examined > _MAX_CANDIDATES:
                exhausted = True
                return
            current = path[-1]
            if self._is_anchor_end(current):
                complete.append(_Path(list(path), True))
                return
            if self.settings.max_depth is not None and len(path) > self.settings.max_depth + 1:
                dead_end.append(_Path(list(path), False, f"more than {self.settings.max_depth} intermediate(s) needed",
                                      "certificate chain too long"))
                return
            if len(path) >= _MAX_PATH_LENGTH:
                exhausted = True
                return
            candidates = self._candidates(current, path)
            if not candidates:
                if current.self_signed:
                    problem = ("the leaf signed itself and is not in the trust store" if len(path) == 1 else
                               f"'{current.label}' signed itself and is not in the trust store")
                    dead_end.append(_Path(list(path), False, problem,
                                          "self-signed certificate" if len(path) == 1
                                          else "self-signed certificate in certificate chain"))
                else:
                    dead_end.append(_Path(list(path), False,
                                          f"no certificate named '{_issuer_label(current)}' (the issuer of "
                                          f"'{current.label}') in the presented chain or the trust store",
                                          "unable to get local issuer certificate"))
                return
            for candidate in candidates:
                walk([*path, candidate])

        walk([self.leaf])
        if exhausted and not complete:
            # Real verifiers give up too, and giving up means refusing: a path this hard to find is
            # a denial-of-service attempt more often than a real deployment.
            return [], _Path([self.leaf], False, f"gave up after examining {_MAX_CANDIDATES} candidate issuers "
                                                 "without reaching a trust anchor, as path builders do")
        dead_end.sort(key=lambda p: -len(p.certs))
        return complete, dead_end[0] if dead_end else None

    # -- running ----------------------------------------------------------------------------

    def run(self) -> Explanation:
        if self.webpki:
            complete, dead_end = self._build_all()
            if complete:
                evaluated = [self._evaluate(path) for path in complete]
                chosen = next((e for e in evaluated if e.verdict == "valid"), None)
                if chosen is None:
                    chosen = next((e for e in evaluated if e.verdict == "undecided"), evaluated[0])
                return chosen
            return self._evaluate(dead_end)
        return self._evaluate(self._build_openssl())

    def _evaluate(self, path: _Path) -> Explanation:
        checks: list[Check] = []
        certs = path.certs
        if not self.settings.verify:
            checks.append(Check("verification", "all", NOTE,
                                "switched off (CERT_NONE): every check below is reported, none is enforced"))
        checks.append(self._chain_check(path))
        checks += self._signature_checks(certs)
        checks += [self._validity_check(c) for c in certs]
        checks += self._ca_checks(certs)
        checks += self._critical_checks(certs)
        checks += self._name_constraint_checks(certs)
        checks += self._key_usage_checks(certs)
        checks += self._eku_checks(certs)
        checks += self._name_checks()
        checks += self._revocation_checks(certs)
        checks += self._strength_checks(certs)
        if self.webpki:
            checks += self._profile_checks(certs)
        if not self.settings.verify:
            checks = [replace(c, status=IGNORED) if c.status == FAIL else c for c in checks]
        if any(c.status == FAIL for c in checks):
            verdict = "invalid"
        elif any(c.status == UNDECIDED for c in checks):
            verdict = "undecided"
        else:
            verdict = "valid"
        return Explanation(tuple(checks), verdict, tuple(c.cert for c in certs), self.purpose, self.name, self.settings)

    def _where(self, cert: _Cert) -> str:
        if cert is self.leaf:
            return f"leaf {cert.label}"
        return f"{'anchor' if cert.trusted else 'CA'} {cert.label}"

    # -- 1. chain -------------------------------------------------------------------------------

    def _chain_check(self, path: _Path) -> Check:
        labels = " <- ".join(c.label for c in path.certs)
        if path.complete:
            anchor = path.certs[-1]
            how = "a trusted self-signed root" if anchor.self_signed else "a trusted certificate (partial chain)"
            return Check("chain", "path", PASS, f"{labels}: ends at {how}")
        return Check("chain", "path", FAIL, f"{labels}: {path.problem}", path.openssl)

    # -- 2. signatures --------------------------------------------------------------------------

    def _signature_checks(self, certs: list[_Cert]) -> list[Check]:
        checks = []
        for child, issuer in zip(certs, certs[1:]):
            where = self._where(child)
            inner, outer = _inner_signature_algorithm(child.cert), _outer_signature_algorithm(child.cert)
            if inner is not None and outer is not None and inner != outer:
                checks.append(Check("signature", where, FAIL, "the signature algorithm inside the signed part differs "
                                    "from the one outside it", "certificate signature failure"))
                continue
            key = issuer.public_key()
            if key is None:
                checks.append(Check("signature", where, FAIL if self.webpki else UNDECIDED,
                                    f"the key of '{issuer.label}' cannot be used (explicit curve parameters or an "
                                    "unknown key type)", "unable to decode issuer public key"))
                continue
            try:
                _verify_signature(child.cert, key)
            except InvalidSignature:
                checks.append(Check("signature", where, FAIL, f"not signed by the key of '{issuer.label}', although "
                                    "it names it as issuer", "certificate signature failure"))
            except _Unsupported as error:
                checks.append(Check("signature", where, UNDECIDED,
                                    f"the explainer cannot check this signature ({error})"))
            else:
                checks.append(Check("signature", where, PASS,
                                    f"{_signature_name(child.cert)} signature by '{issuer.label}' verifies"))
        anchor = certs[-1]
        if anchor.trusted:
            checks.append(Check("signature", self._where(anchor), PASS,
                                "trusted because it is in the trust store, not because of its own signature"))
        return checks

    # -- 3. validity ------------------------------------------------------------------------------

    def _time_ok(self, cert: _Cert) -> bool:
        not_before, not_after = cert.cert.not_valid_before_utc, cert.cert.not_valid_after_utc
        if self.webpki:
            return not_before <= self.at <= not_after
        return not_before <= self.at < not_after  # OpenSSL: at notAfter itself the certificate has expired

    def _validity_check(self, cert: _Cert) -> Check:
        not_before, not_after = cert.cert.not_valid_before_utc, cert.cert.not_valid_after_utc
        where = self._where(cert)
        span = f"{_fmt_time(not_before)} to {_fmt_time(not_after)}"
        if self.at < not_before:
            return Check("validity", where, FAIL, f"not valid before {_fmt_time(not_before)}",
                         "certificate is not yet valid")
        if not self._time_ok(cert):
            return Check("validity", where, FAIL, f"expired {_fmt_time(not_after)}", "certificate has expired")
        return Check("validity", where, PASS, span)

    # -- 4. CA and path length ---------------------------------------------------------------

    def _ca_checks(self, certs: list[_Cert]) -> list[Check]:
        checks = []
        for position, cert in enumerate(certs[1:], 1):
            where = self._where(cert)
            constraints = cert.basic_constraints
            usage = cert.key_usage
            if constraints is None:
                if not self.webpki and cert.self_signed and cert.cert.version == x509.Version.v1:
                    checks.append(Check("CA", where, PASS, "a version 1 self-signed root: accepted as a CA"))
                elif not self.webpki and usage is not None and usage.key_cert_sign:
                    checks.append(Check("CA", where, PASS, "no basicConstraints, but keyUsage allows keyCertSign "
                                        "(OpenSSL accepts that as a CA)"))
                else:
                    checks.append(Check("CA", where, FAIL, "no basicConstraints: nothing says this certificate "
                                        "may act as a CA", "invalid CA certificate"))
                continue
            if not constraints.ca:
                checks.append(Check("CA", where, FAIL, "basicConstraints CA:FALSE: an end-entity certificate "
                                    "used to sign another certificate", "invalid CA certificate"))
                continue
            if self.webpki and not cert.critical(ExtensionOID.BASIC_CONSTRAINTS):
                checks.append(Check("CA", where, FAIL, "basicConstraints must be critical in a CA certificate",
                                    "invalid CA certificate"))
                continue
            intermediates_below = sum(1 for c in certs[1:position] if not c.self_issued)
            limit = constraints.path_length
            if limit is not None and intermediates_below > limit:
                checks.append(Check("CA", where, FAIL, f"CA:TRUE, path length {limit}: it allows {limit} CA(s) "
                                    f"between itself and the leaf, this path has {intermediates_below}",
                                    "path length constraint exceeded"))
            else:
                limit_text = "no path length limit" if limit is None else \
                    f"path length {limit}, {intermediates_below} CA(s) between it and the leaf"
                checks.append(Check("CA", where, PASS, f"CA:TRUE, {limit_text}"))
        leaf_constraints = self.leaf.basic_constraints
        if self.webpki and leaf_constraints is not None and leaf_constraints.ca and len(certs) > 1:
            checks.append(Check("CA", self._where(self.leaf), FAIL, "the leaf is a CA certificate (CA:TRUE); "
                                "the web PKI forbids using one as an end entity"))
        return checks

    # -- 5. critical extensions -----------------------------------------------------------------

    def _critical_checks(self, certs: list[_Cert]) -> list[Check]:
        known = _WEBPKI_KNOWN_CRITICAL if self.webpki else _KNOWN_CRITICAL
        checks = []
        for cert in certs:
            for oid, critical, why in cert.broken:
                checks.append(self._broken_extension_check(cert, oid, critical, why))
            unknown = [e.oid for e in cert.extensions if e.critical and e.oid not in known]
            if unknown:
                names = ", ".join(_oid_name(o) for o in unknown)
                checks.append(Check("extensions", self._where(cert), FAIL,
                                    f"critical extension the verifier does not understand: {names}",
                                    "unhandled critical extension"))
        if not checks:
            count = sum(1 for c in certs for e in c.extensions if e.critical)
            checks.append(Check("extensions", "all", PASS, f"every critical extension ({count}) is one a verifier "
                                "must understand, and does"))
        return checks

    def _broken_extension_check(self, cert: _Cert, oid, critical: bool, why: str) -> Check:
        name = _oid_name(oid)
        where = self._where(cert)
        if why == "the extension appears twice":
            return Check("extensions", where, FAIL, f"{name} appears twice: a certificate may carry each extension "
                         "once", "unable to get local issuer certificate" if cert is self.leaf or not cert.trusted
                         else None)
        if self.webpki:
            return Check("extensions", where, FAIL, f"{name} cannot be parsed ({why})")
        if oid in _OPENSSL_USES:
            return Check("extensions", where, UNDECIDED, f"{name} cannot be parsed by cryptography ({why}); whether "
                         "OpenSSL's own parser accepts it, the explainer cannot tell")
        if critical:
            return Check("extensions", where, FAIL, f"{name} is critical and cannot be parsed ({why})",
                         "unhandled critical extension")
        return Check("extensions", where, NOTE, f"{name} cannot be parsed ({why}); it is not critical and OpenSSL "
                     "does not use it, so OpenSSL ignores it (the web PKI refuses it)")

    # -- 6. name constraints -----------------------------------------------------------------

    def _subject_names(self, cert: _Cert) -> list[tuple[str, object]]:
        names: list[tuple[str, object]] = []
        san = cert.san
        if san is not None:
            for general in san:
                kind = _NC_TYPES.get(type(general))
                names.append((kind or type(general).__name__, general.value))
        if len(cert.subject):
            names.append(("DN", cert.subject))
        for attribute in cert.subject.get_attributes_for_oid(NameOID.EMAIL_ADDRESS):
            names.append(("email", str(attribute.value)))
        has_dns = san is not None and any(isinstance(g, x509.DNSName) for g in san)
        if not has_dns and not self.webpki:
            # OpenSSL also holds a host-name-looking common name to DNS constraints when no DNS SAN exists.
            names += [("DNS", cn) for cn in _common_names(cert.cert) if _DNS_NAME.fullmatch(cn.lower())]
        return names

    def _name_constraint_checks(self, certs: list[_Cert]) -> list[Check]:
        checks = []
        leaf_constraints = self.leaf.extension(ExtensionOID.NAME_CONSTRAINTS)
        if self.webpki and leaf_constraints is not None and not (self.leaf.basic_constraints
                                                                 and self.leaf.basic_constraints.ca):
            checks.append(Check("name constraints", self._where(self.leaf), FAIL,
                                "nameConstraints in an end-entity certificate: only CAs may carry them"))
        for position, ca in enumerate(certs[1:], 1):
            constraints = ca.extension(ExtensionOID.NAME_CONSTRAINTS)
            if constraints is None:
                continue
            where = self._where(ca)
            permitted = list(constraints.permitted_subtrees or [])
            excluded = list(constraints.excluded_subtrees or [])
            if self.webpki:
                malformed = self._malformed_subtree(permitted + excluded)
                if malformed:
                    checks.append(Check("name constraints", where, FAIL, malformed))
                    continue
            # RFC 5280 6.1.3: constraints apply to the leaf and to every CA below that is not self-issued.
            subjects = [c for i, c in enumerate(certs[:position]) if i == 0 or not c.self_issued]
            problem = self._constraint_problem(subjects, permitted, excluded)
            if problem is None:
                summary = ", ".join([f"permits {_subtree_text(g)}" for g in permitted] +
                                    [f"excludes {_subtree_text(g)}" for g in excluded]) or "constrains nothing"
                checks.append(Check("name constraints", where, PASS, f"{summary}: every name below complies"))
            else:
                checks.append(Check("name constraints", where, *problem))
        return checks

    @staticmethod
    def _malformed_subtree(subtrees) -> str | None:
        for general in subtrees:
            if isinstance(general, x509.DNSName):
                base = general.value
                if base.startswith(".") or "*" in base or (base and not _DNS_NAME.fullmatch(base.lower())):
                    return f"name constraint DNS:{base} is not a valid DNS name"
            if isinstance(general, x509.RFC822Name) and ("*" in general.value.split("@")[-1]):
                return f"name constraint email:{general.value} is not a valid address or domain"
        return None

    def _constraint_problem(self, subjects, permitted, excluded):
        """None if every name of ``subjects`` is allowed, else (status, reason, OpenSSL's reason)."""
        names_per_subject = [(s, self._subject_names(s)) for s in subjects]
        work = sum(len(names) for _, names in names_per_subject) * (len(permitted) + len(excluded))
        if work > _MAX_NAME_CHECKS:
            return (FAIL, f"{work} name-constraint comparisons: more than verifiers agree to do (a denial-of-service "
                          "pattern)", None)
        unsupported = {type(g).__name__ for g in permitted + excluded if type(g) not in _NC_TYPES}
        for subject, names in names_per_subject:
            for kind, value in names:
                if kind in unsupported:
                    return (FAIL, f"the CA constrains {kind} names, a form verifiers cannot process, and "
                                  f"'{subject.label}' has one: RFC 5280 says to reject it",
                            "unsupported name constraint type")
                if kind not in _NC_TYPES.values():
                    continue
                for general in excluded:
                    if _NC_TYPES.get(type(general)) == kind and self._within(kind, value, general.value, excluded=True):
                        return (FAIL, f"{_show(kind, value)} of '{subject.label}' is inside the excluded subtree "
                                      f"{_subtree_text(general)}", "excluded subtree violation")
                same_kind = [g for g in permitted if _NC_TYPES.get(type(g)) == kind]
                if same_kind and not any(self._within(kind, value, g.value, excluded=False) for g in same_kind):
                    return (FAIL, f"{_show(kind, value)} of '{subject.label}' is outside the permitted subtree(s) "
                                  f"{', '.join(_subtree_text(g) for g in same_kind)}", "permitted subtree violation")
        return None

    def _within(self, kind: str, value, base, *, excluded: bool) -> bool:
        if kind == "DNS" and self.webpki and value.startswith("*."):
            # A wildcard stands for many names: excluded if any of them could be excluded
            # (CVE-2025-61727), permitted only if all of them are.
            return _wildcard_may_enter(value, base) if excluded else _dns_in_subtree(value[2:], base)
        return _name_in_subtree(kind, value, base)

    # -- 7. key usage --------------------------------------------------------------------------

    def _key_usage_checks(self, certs: list[_Cert]) -> list[Check]:
        checks = []
        for position, cert in enumerate(certs):
            usage = cert.key_usage
            where = self._where(cert)
            if usage is None:
                continue
            if position == 0:
                allowed = ["digital_signature", "key_agreement"] + (["key_encipherment"] if self.purpose == "server"
                                                                     else [])
                if not any(getattr(usage, a) for a in allowed):
                    checks.append(Check("key usage", where, FAIL, "keyUsage allows none of "
                                        f"{', '.join(_camel(a) for a in allowed)}: the key may not be used for TLS",
                                        "unsuitable certificate purpose"))
                elif self.webpki and usage.key_cert_sign and not (cert.basic_constraints and cert.basic_constraints.ca):
                    checks.append(Check("key usage", where, FAIL, "keyCertSign in a certificate that is not a CA"))
                else:
                    checks.append(Check("key usage", where, PASS, _usage_text(usage)))
            elif not usage.key_cert_sign:
                checks.append(Check("key usage", where, FAIL, "keyUsage lacks keyCertSign: this key may not sign "
                                    "certificates", "invalid CA certificate"))
            else:
                checks.append(Check("key usage", where, PASS, _usage_text(usage)))
        return checks

    # -- 8. extended key usage ------------------------------------------------------------------

    def _eku_checks(self, certs: list[_Cert]) -> list[Check]:
        wanted = ExtendedKeyUsageOID.SERVER_AUTH if self.purpose == "server" else ExtendedKeyUsageOID.CLIENT_AUTH
        wanted_name = _EKU_NAMES[wanted]
        accepted = (wanted, *_SERVER_GATED_CRYPTO) if self.purpose == "server" and not self.webpki else (wanted,)
        checks = []
        for position, cert in enumerate(certs):
            eku = cert.eku
            where = self._where(cert)
            if eku is None:
                if position == 0:
                    if self.webpki and self.purpose == "server":
                        checks.append(Check("purpose", where, FAIL, f"no extended key usage; the web PKI requires "
                                            f"{wanted_name}"))
                    else:
                        checks.append(Check("purpose", where, NOTE if not self.webpki else PASS,
                                            "no extended key usage: any purpose (RFC 5280); the CA/Browser Forum "
                                            "rules want one"))
                continue
            usages = list(eku)
            names = ", ".join(_EKU_NAMES.get(o, o.dotted_string) for o in usages)
            if self.webpki and position == len(certs) - 1 and cert.trusted and position > 0:
                checks.append(Check("purpose", where, FAIL, f"a root carries extended key usage ({names}); the web "
                                    "PKI forbids it"))
                continue
            if self.webpki and position == 0 and ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in usages:
                checks.append(Check("purpose", where, FAIL, "anyExtendedKeyUsage in a leaf; the web PKI forbids it"))
                continue
            if self.webpki and position == 0 and cert.critical(ExtensionOID.EXTENDED_KEY_USAGE):
                checks.append(Check("purpose", where, FAIL, "extended key usage marked critical; the web PKI "
                                    "forbids it"))
                continue
            if any(o in usages for o in accepted):
                checks.append(Check("purpose", where, PASS, f"extended key usage {names} includes {wanted_name}"))
            else:
                kind = "certificate" if position == 0 else "CA, which restricts what it signs"
                checks.append(Check("purpose", where, FAIL, f"extended key usage {names} ({kind}) lacks "
                                    f"{wanted_name}", "unsuitable certificate purpose"))
        return checks

    # -- 9. name -----------------------------------------------------------------------------

    def _name_checks(self) -> list[Check]:
        where = self._where(self.leaf)
        san = self.leaf.san
        if self.webpki and self.purpose == "client" and san is None:
            return [Check("name", where, FAIL, "no subjectAltName: a client certificate must name its holder there")]
        if self.name is None:
            return [Check("name", where, NOT_APPLICABLE, "no expected name given")]
        if self.purpose == "client":
            return [self._match_client_identity(where, san)]
        if self.purpose == "server" and not self.settings.check_hostname and self.settings.verify:
            check = self._match_name(where, san)
            if check.status == FAIL:
                return [replace(check, status=IGNORED, reason=check.reason + " (check_hostname is False)")]
            return [check]
        return [self._match_name(where, san)]

    def _match_client_identity(self, where: str, san) -> Check:
        """A client's identity: any subjectAltName entry, compared exactly. This is the
        application's authorization check; OpenSSL compares no names for clients."""
        values = [str(g.value) for g in san] if san is not None else []
        if self.name in values:
            return Check("name", where, PASS, f"{self.name} is in the subjectAltName (checked by the application)")
        return Check("name", where, FAIL, f"{self.name} is not in the subjectAltName ({', '.join(values) or 'none'}); "
                     "this is the application's check, OpenSSL compares no client names")

    def _match_name(self, where: str, san) -> Check:
        name = self.name
        if _is_ip(name):
            address = ipaddress.ip_address(name)
            ips = [g.value for g in san if isinstance(g, x509.IPAddress)] if san is not None else []
            if address in ips:
                return Check("name", where, PASS, f"IP address {name} is in the subjectAltName")
            return Check("name", where, FAIL, f"IP address {name} is not among the subjectAltName IP addresses "
                         f"({', '.join(map(str, ips)) or 'none'})", "IP address mismatch")
        if self.webpki and not _DNS_NAME.fullmatch(name.lower().rstrip(".")):
            return Check("name", where, FAIL, f"{name!r} is not a valid DNS name")
        dns = [g.value for g in san if isinstance(g, x509.DNSName)] if san is not None else []
        for pattern in dns:
            if _dns_match(pattern, name):
                if "*" in pattern and self.webpki:
                    suffix = pattern[2:].lower()
                    if not any(suffix == s or suffix.endswith("." + s) for s in _RESERVED_SUFFIXES):
                        return Check("name", where, NOTE, f"{name} matches the wildcard {pattern}; like cryptography, "
                                     "the explainer does not consult the public suffix list (browsers refuse a "
                                     "wildcard over a public suffix such as *.co.uk)")
                return Check("name", where, PASS, f"{name} matches subjectAltName DNS:{pattern}")
        if dns:
            return Check("name", where, FAIL, f"{name} is not among the subjectAltName DNS names "
                         f"({', '.join(dns)})", "Hostname mismatch")
        common_names = _common_names(self.leaf.cert)
        if self.webpki or not self.settings.cn_fallback:
            why = "no DNS name in a subjectAltName" + (f"; the common name {common_names[0]!r} does not count"
                                                      if common_names else "")
            return Check("name", where, FAIL, why, "Hostname mismatch" if not self.webpki else None)
        for cn in common_names:
            if _dns_match(cn, name):
                return Check("name", where, NOTE, f"no DNS subjectAltName: matched the common name {cn!r} instead "
                             "(OpenSSL's fallback; browsers and cryptography refuse)")
        return Check("name", where, FAIL, f"no DNS subjectAltName, and the common name "
                     f"({', '.join(common_names) or 'none'}) is not {name}", "Hostname mismatch")

    # -- 10. revocation ----------------------------------------------------------------------

    def _revocation_checks(self, certs: list[_Cert]) -> list[Check]:
        mode = self.settings.crl_check
        if mode == "auto":
            mode = "leaf" if self.crls else None
        if mode is None:
            revoked_here = [c for c in certs[:1] if self._crl_entry(c, certs)]
            if revoked_here:
                return [Check("revocation", self._where(revoked_here[0]), IGNORED,
                              f"serial {revoked_here[0].cert.serial_number:x} is on a CRL, but CRL checking is off "
                              "(no VERIFY_CRL_CHECK_LEAF)", "certificate revoked")]
            return [Check("revocation", "leaf", NOT_APPLICABLE,
                          "not checked: no CRL checking configured" + (" (a CRL is loaded but unused)" if self.crls
                                                                      else ""))]
        scope = certs[:1] if mode == "leaf" else [c for c in certs if not (c.trusted and c.self_signed)]
        return [self._revocation_check(cert, certs) for cert in scope]

    def _issuer_in_path(self, cert: _Cert, certs: list[_Cert]) -> _Cert | None:
        index = certs.index(cert)
        return certs[index + 1] if index + 1 < len(certs) else None

    def _crl_entry(self, cert: _Cert, certs: list[_Cert]):
        issuer = self._issuer_in_path(cert, certs)
        for crl in self.crls:
            if crl.issuer == cert.issuer and (issuer is None or _crl_signed_by(crl, issuer)):
                entry = crl.get_revoked_certificate_by_serial_number(cert.cert.serial_number)
                if entry is not None:
                    return entry
        return None

    def _revocation_check(self, cert: _Cert, certs: list[_Cert]) -> Check:
        where = self._where(cert)
        issuer = self._issuer_in_path(cert, certs)
        if issuer is None:
            return Check("revocation", where, FAIL, "its issuer is unknown, so no CRL can be checked",
                         "unable to get certificate CRL")
        candidates = [crl for crl in self.crls if crl.issuer == cert.issuer]
        signed = [crl for crl in candidates if _crl_signed_by(crl, issuer)]
        if not signed:
            if candidates:
                return Check("revocation", where, FAIL, f"the CRL naming '{issuer.label}' is not signed by its key",
                             "CRL signature failure")
            return Check("revocation", where, FAIL, f"no CRL from '{issuer.label}' was given; revocation cannot be "
                         "checked, and the flag demands it", "unable to get certificate CRL")
        crl = signed[0]
        for extension in crl.extensions:
            if extension.oid in (ExtensionOID.ISSUING_DISTRIBUTION_POINT, ExtensionOID.DELTA_CRL_INDICATOR):
                return Check("revocation", where, UNDECIDED, f"the CRL has a {extension.oid._name} extension: "
                             "partitioned and delta CRLs are not implemented")
            if extension.critical and extension.oid != ExtensionOID.AUTHORITY_KEY_IDENTIFIER:
                return Check("revocation", where, FAIL,
                             f"the CRL has an unknown critical extension {extension.oid.dotted_string}",
                             "unhandled critical CRL extension")
        usage = issuer.key_usage
        if usage is not None and not usage.crl_sign:
            return Check("revocation", where, FAIL, f"'{issuer.label}' signed the CRL, but its keyUsage lacks cRLSign",
                         "key usage does not include CRL signing")
        if self.webpki:
            number = [e for e in crl.extensions if e.oid == ExtensionOID.CRL_NUMBER]
            if not number:
                return Check("revocation", where, FAIL, "the CRL has no CRL number (RFC 5280 requires one)")
            if number[0].critical:
                return Check("revocation", where, FAIL, "the CRL number extension must not be critical")
        last, following = crl.last_update_utc, crl.next_update_utc
        if self.at < last:
            return Check("revocation", where, FAIL, f"the CRL is not valid before {_fmt_time(last)}",
                         "CRL is not yet valid")
        if following is not None and self.at > following:
            return Check("revocation", where, FAIL, f"the CRL expired {_fmt_time(following)}", "CRL has expired")
        entry = crl.get_revoked_certificate_by_serial_number(cert.cert.serial_number)
        if entry is not None:
            return Check("revocation", where, FAIL, f"serial {cert.cert.serial_number:x} is on the CRL of "
                         f"'{issuer.label}', revoked {_fmt_time(entry.revocation_date_utc)}", "certificate revoked")
        return Check("revocation", where, PASS, f"not on the CRL of '{issuer.label}' ({len(crl)} revoked)")

    # -- 11. strength ------------------------------------------------------------------------

    def _strength_checks(self, certs: list[_Cert]) -> list[Check]:
        checks = []
        required = _LEVEL_BITS[self.settings.security_level]
        for position, cert in enumerate(certs):
            where = self._where(cert)
            key = cert.public_key()
            problems: list[tuple[str, str | None]] = []
            if key is None:
                if self.webpki:
                    problems.append(("its public key cannot be used (explicit curve parameters or an unknown type)",
                                     None))
                else:
                    checks.append(Check("strength", where, UNDECIDED, "the explainer cannot read this public key "
                                        "(explicit curve parameters or an unknown type)"))
                    continue
                description = "unusable key"
            elif _explicit_curve(cert.cert):
                description = "ECDSA key with explicit curve parameters"
                problems.append(("the EC key spells out its curve parameters instead of naming a standard curve: "
                                 "verifiers refuse that (explicit parameters can hide a weak curve)",
                                 "Certificate public key has explicit ECC parameters"))
            else:
                description, bits = _key_description(key)
                if self.webpki:
                    if isinstance(key, rsa.RSAPublicKey) and (key.key_size < 2048 or key.key_size % 8):
                        problems.append((f"{description}: the web PKI wants RSA of at least 2048 bits, a multiple of 8",
                                         None))
                    elif isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name not in _WEBPKI_CURVES:
                        problems.append((f"{description}: not one of the curves P-256, P-384, P-521", None))
                    elif isinstance(key, dsa.DSAPublicKey):
                        problems.append((f"{description}: DSA keys are forbidden in the web PKI", None))
                elif bits < required:
                    problems.append((f"{description} is {bits}-bit strength; security level "
                                     f"{self.settings.security_level} needs {required}",
                                     "EE certificate key too weak" if position == 0 else "CA certificate key too weak"))
            signature_text = ""
            self_signed_anchor = cert.trusted and cert.self_signed
            if not self_signed_anchor:
                try:
                    algorithm = cert.cert.signature_hash_algorithm
                except UnsupportedAlgorithm:
                    algorithm = "unknown"
                signature_text = f", signed with {_signature_name(cert.cert)}"
                if algorithm == "unknown":
                    problems.append((f"unknown signature algorithm {_signature_name(cert.cert)}", None))
                elif algorithm is not None:
                    hash_bits = _HASH_BITS.get(algorithm.name, 0)
                    if self.webpki and algorithm.name not in _WEBPKI_HASHES:
                        problems.append((f"signed with {algorithm.name.upper()}; the web PKI accepts SHA-256, "
                                         "SHA-384, SHA-512", None))
                    elif not self.webpki and hash_bits < required:
                        problems.append((f"signed with {algorithm.name.upper()} ({hash_bits}-bit strength); security "
                                         f"level {self.settings.security_level} needs {required}",
                                         "CA signature digest algorithm too weak"))
            if problems:
                reason, openssl = problems[0]
                checks.append(Check("strength", where, FAIL, reason, openssl))
            else:
                checks.append(Check("strength", where, PASS, f"{description}{signature_text}"))
        return checks

    # -- web PKI form ------------------------------------------------------------------------

    def _profile_checks(self, certs: list[_Cert]) -> list[Check]:
        checks = []
        for position, cert in enumerate(certs):
            problem = self._form_problem(cert, position, certs)
            if problem:
                checks.append(Check("form", self._where(cert), FAIL, problem))
        if not checks:
            checks.append(Check("form", "all", PASS, "serial numbers, key identifiers and extensions are as "
                                "RFC 5280 and the CA/Browser Forum require"))
        return checks

    def _form_problem(self, cert: _Cert, position: int, certs: list[_Cert]) -> str | None:
        """The first way ``cert`` breaks the RFC 5280 / CA/Browser Forum profile, if any. A trust
        anchor is checked only for what verifiers read from it (its key identifiers)."""
        c = cert.cert
        is_anchor = cert.trusted and position == len(certs) - 1
        aki = cert.aki
        if cert.critical(ExtensionOID.AUTHORITY_KEY_IDENTIFIER):
            return "authorityKeyIdentifier must not be critical"
        if cert.critical(ExtensionOID.SUBJECT_KEY_IDENTIFIER):
            return "subjectKeyIdentifier must not be critical"
        if not is_anchor and not cert.self_issued and (aki is None or aki.key_identifier is None):
            return "no authorityKeyIdentifier: every certificate but a root needs one"
        if is_anchor and cert.self_issued and aki is not None:
            if aki.key_identifier is None or aki.authority_cert_issuer or aki.authority_cert_serial_number is not None:
                return "a root's authorityKeyIdentifier must hold only a key identifier"
            if cert.ski is not None and aki.key_identifier != cert.ski:
                return "the root's authorityKeyIdentifier differs from its subjectKeyIdentifier"
        if position > 0 and cert.ski is None:
            return "a CA without subjectKeyIdentifier"
        if is_anchor:
            return None
        if c.version != x509.Version.v3:
            return "a version 1 certificate: no extensions, so nothing says what it may do"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # cryptography warns about non-positive serials: a finding here
            serial = c.serial_number
        if serial <= 0:
            return f"serial number {serial}: must be positive"
        if serial.bit_length() > 159:
            return "serial number longer than 20 bytes"
        if c.issuer == x509.Name([]) or (position > 0 and not len(c.subject)):
            return "an empty issuer or CA subject"
        policy_constraints = cert.extension(ExtensionOID.POLICY_CONSTRAINTS)
        if policy_constraints is not None and not cert.critical(ExtensionOID.POLICY_CONSTRAINTS):
            return "policyConstraints must be critical"
        aia = [e for e in cert.extensions if e.oid == ExtensionOID.AUTHORITY_INFORMATION_ACCESS]
        if aia and aia[0].critical:
            return "authorityInformationAccess must not be critical"
        if position == 0:
            return self._leaf_form_problem(cert)
        return None

    def _leaf_form_problem(self, cert: _Cert) -> str | None:
        c, san = cert.cert, cert.san
        if san is None:
            return "no subjectAltName: the web PKI finds names only there" if self.purpose == "server" else None
        critical = cert.critical(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
        if len(c.subject) and critical:
            return "subjectAltName is critical although the subject is not empty"
        if not len(c.subject) and not critical:
            return "the subject is empty, so subjectAltName must be critical"
        for general in san:
            if isinstance(general, x509.DNSName):
                bare = general.value[2:] if general.value.startswith("*.") else general.value
                if not _DNS_NAME.fullmatch(bare.lower()):
                    return f"subjectAltName DNS:{general.value} is not a valid DNS name"
            if isinstance(general, x509.RFC822Name) and not re.fullmatch(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)*",
                                                                         general.value):
                return f"subjectAltName email:{general.value} is not a valid address"
        return None


def _issuer_label(cert: _Cert) -> str:
    for attribute in cert.issuer:
        if attribute.oid == NameOID.COMMON_NAME:
            return str(attribute.value)
    return cert.issuer.rfc4514_string() or "(empty)"


def _crl_signed_by(crl: x509.CertificateRevocationList, issuer: _Cert) -> bool:
    key = issuer.public_key()
    if key is None:
        return False
    try:
        return crl.is_signature_valid(key)
    except (TypeError, ValueError, UnsupportedAlgorithm):
        return False


def _oid_name(oid: x509.ObjectIdentifier) -> str:
    name = getattr(oid, "_name", "Unknown OID")
    return oid.dotted_string if name == "Unknown OID" else name


def _camel(attribute: str) -> str:
    first, *rest = attribute.split("_")
    return first + "".join(word.capitalize() for word in rest)


def _usage_text(usage: x509.KeyUsage) -> str:
    bits = []
    for attribute in ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
                      "key_agreement", "key_cert_sign", "crl_sign"):
        if getattr(usage, attribute):
            bits.append({"key_cert_sign": "keyCertSign", "crl_sign": "cRLSign"}.get(attribute, _camel(attribute)))
    return "keyUsage " + (", ".join(bits) or "(empty)")


def _subtree_text(general: x509.GeneralName) -> str:
    kind = _NC_TYPES.get(type(general), type(general).__name__)
    value = general.value.rfc4514_string() if isinstance(general, x509.DirectoryName) else general.value
    return f"{kind}:{value}"


def _show(kind: str, value) -> str:
    if isinstance(value, x509.Name):
        return f"DN:{value.rfc4514_string() or '(empty)'}"
    return f"{kind}:{value}"
