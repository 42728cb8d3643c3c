"""Real X.509 certificates for the course, made with ``cryptography``.

Three nouns, in the spirit of trustme:

* :class:`CertificateAuthority` -- a root or intermediate CA that issues certificates and CRLs;
* :class:`IssuedCertificate` -- a leaf certificate with its private key and chain;
* :func:`describe` -- a short human-readable summary of any certificate.

Everything lives in memory as PEM bytes; files are written only when asked (``write``).

Profiles are right by default: server certificates carry the serverAuth extended key usage only,
client certificates clientAuth only, key usage follows the key type, every certificate has a
subjectAltName, subject and authority key identifiers, and CAs a critical basicConstraints. Every
certificate made with the defaults passes OpenSSL's ``VERIFY_X509_STRICT`` checks.

With a ``seed``, keys, serial numbers, dates and signatures are derived from it, so the same code
makes byte-identical certificates on every run (fingerprints in notebooks stay stable). Without a
seed, keys and serials are fresh and random, as in real life.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import ipaddress
import math
import os
import re
import ssl
import tempfile
import warnings
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Iterable, Sequence, Union

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .errors import CertificateLoadError, ProfileError

# What cryptography raises for bytes that are not a well-formed certificate (InvalidVersion is
# not a ValueError).
PARSE_ERRORS = (ValueError, x509.InvalidVersion)

__all__ = [
    "KEY_TYPES",
    "VALIDITY_PRESETS",
    "CertificateAuthority",
    "IssuedCertificate",
    "describe",
    "key_type_of",
    "load_pkcs12",
]

KEY_TYPES = ("ecdsa-p256", "ecdsa-p384", "rsa-2048", "rsa-3072", "ed25519")

_UTC = _dt.timezone.utc
# Valid certificates span decades so that a class never meets an expired course certificate;
# the broken-on-purpose presets sit far in the past and far in the future for the same reason.
VALIDITY_PRESETS: dict[str, tuple[_dt.datetime, _dt.datetime]] = {
    "valid": (_dt.datetime(2025, 1, 1, tzinfo=_UTC), _dt.datetime(2075, 1, 1, tzinfo=_UTC)),
    "expired": (_dt.datetime(2000, 1, 1, tzinfo=_UTC), _dt.datetime(2001, 1, 1, tzinfo=_UTC)),
    "not-yet-valid": (_dt.datetime(2090, 1, 1, tzinfo=_UTC), _dt.datetime(2095, 1, 1, tzinfo=_UTC)),
}
# Seeded revocations and CRLs carry this date, so a seeded CRL is byte-identical on every run.
_SEEDED_REVOCATION_DATE = _dt.datetime(2025, 6, 1, tzinfo=_UTC)
_SEEDED_CRL_NEXT_UPDATE = VALIDITY_PRESETS["valid"][1]

Validity = Union[str, tuple[_dt.datetime, _dt.datetime]]
Seed = Union[str, bytes, int]
CertificateLike = Union["IssuedCertificate", "CertificateAuthority", x509.Certificate, bytes, str]


# --------------------------------------------------------------------------------------------
# Deterministic randomness


class _SeedStream:
    """Bytes derived from a seed and a label path; each child label gives an independent stream."""

    def __init__(self, key: bytes):
        self._key = key

    @classmethod
    def from_user_seed(cls, seed: Seed) -> "_SeedStream":
        if isinstance(seed, bool) or not isinstance(seed, (str, bytes, int)):
            raise ProfileError(f"seed must be a str, bytes or int, not {type(seed).__name__}")
        raw = seed.encode() if isinstance(seed, str) else str(seed).encode() if isinstance(seed, int) else seed
        return cls(hashlib.sha256(b"mtlslib seed v1\x00" + raw).digest())

    def child(self, label: str) -> "_SeedStream":
        return _SeedStream(hmac.new(self._key, label.encode(), hashlib.sha256).digest())

    def read(self, n: int) -> bytes:
        return hashlib.shake_256(self._key).digest(n)

    def integer(self, bits: int) -> int:
        return int.from_bytes(self.read((bits + 7) // 8), "big") >> (-bits % 8)


_SMALL_PRIMES = [p for p in range(3, 2000) if all(p % d for d in range(2, int(p**0.5) + 1))]
_SMALL_PRIMES_PRODUCT = 1
for _p in _SMALL_PRIMES:
    _SMALL_PRIMES_PRODUCT *= _p


def _is_probable_prime(n: int) -> bool:
    # Fixed witnesses are fine here: candidates come from a hash, not from an adversary.
    if math.gcd(n, _SMALL_PRIMES_PRODUCT) != 1:
        return n in _SMALL_PRIMES
    d, r = n - 1, 0
    while d % 2 == 0:
        d, r = d // 2, r + 1
    for a in _SMALL_PRIMES[:8]:  # error probability far below 2**-100 for random 1024-bit inputs
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _derived_prime(stream: _SeedStream, bits: int, e: int) -> int:
    for counter in range(1_000_000):
        candidate = stream.child(f"candidate {counter}").integer(bits)
        candidate |= (3 << (bits - 2)) | 1  # top two bits set: p*q has exactly 2*bits bits
        if (candidate - 1) % e and _is_probable_prime(candidate):
            return candidate
    raise AssertionError("no prime found")  # pragma: no cover - probability ~0


@lru_cache(maxsize=64)
def _derived_rsa_key(key: bytes, bits: int) -> rsa.RSAPrivateKey:
    """An RSA key whose primes come from the seed (cryptography cannot seed RSA generation)."""
    stream, e = _SeedStream(key), 65537
    p = _derived_prime(stream.child("p"), bits // 2, e)
    q = _derived_prime(stream.child("q"), bits // 2, e)
    if p < q:
        p, q = q, p
    d = pow(e, -1, (p - 1) * (q - 1))
    numbers = rsa.RSAPrivateNumbers(
        p, q, d, rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q), rsa.rsa_crt_iqmp(p, q),
        rsa.RSAPublicNumbers(e, p * q),
    )
    return numbers.private_key()


_CURVES = {"ecdsa-p256": ec.SECP256R1(), "ecdsa-p384": ec.SECP384R1()}
_CURVE_ORDERS = {
    "ecdsa-p256": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    "ecdsa-p384": int("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF"
                      "581A0DB248B0A77AECEC196ACCC52973", 16),
}
_RSA_BITS = {"rsa-2048": 2048, "rsa-3072": 3072}


def _check_key_type(key_type: str) -> str:
    if key_type not in KEY_TYPES:
        raise ProfileError(f"unknown key type {key_type!r}; choose one of: {', '.join(KEY_TYPES)}")
    return key_type


def _new_private_key(key_type: str, stream: _SeedStream | None):
    key_type = _check_key_type(key_type)
    if key_type in _CURVES:
        curve = _CURVES[key_type]
        if stream is None:
            return ec.generate_private_key(curve)
        # 64 extra bits make the reduction modulo the group order unbiased in practice.
        scalar = stream.integer(curve.key_size + 64) % (_CURVE_ORDERS[key_type] - 1) + 1
        return ec.derive_private_key(scalar, curve)
    if key_type == "ed25519":
        if stream is None:
            return ed25519.Ed25519PrivateKey.generate()
        return ed25519.Ed25519PrivateKey.from_private_bytes(stream.read(32))
    bits = _RSA_BITS[key_type]
    if stream is None:
        return rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return _derived_rsa_key(stream._key, bits)


def key_type_of(key) -> str:
    """The mtlslib key-type name (``"ecdsa-p256"``...) of a public or private key."""
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        return {"secp256r1": "ecdsa-p256", "secp384r1": "ecdsa-p384"}.get(key.curve.name, f"ecdsa-{key.curve.name}")
    if isinstance(key, (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey)):
        return "ed25519"
    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        return f"rsa-{key.key_size}"
    return type(key).__name__


def _signature_hash(issuer_key):
    if isinstance(issuer_key, ed25519.Ed25519PrivateKey):
        return None
    if isinstance(issuer_key, ec.EllipticCurvePrivateKey) and issuer_key.curve.key_size >= 384:
        return hashes.SHA384()
    return hashes.SHA256()


def _sign(builder, issuer_key, deterministic: bool):
    algorithm = _signature_hash(issuer_key)
    if isinstance(issuer_key, ec.EllipticCurvePrivateKey):
        # RFC 6979 signatures depend only on key and message: a seeded run is byte-identical.
        return builder.sign(issuer_key, algorithm, ecdsa_deterministic=deterministic)
    return builder.sign(issuer_key, algorithm)


def _serial(stream: _SeedStream | None) -> int:
    if stream is None:
        return x509.random_serial_number()
    return (stream.child("serial").integer(159) | (1 << 152))  # positive, 20 bytes at most


# --------------------------------------------------------------------------------------------
# Names and profiles

_DNS_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
# Printable ASCII without space: anything else (a NUL, a newline, a non-ASCII letter) in a SAN is
# either an encoding mistake or the classic name-confusion attack.
_SAN_TEXT = re.compile(r"[\x21-\x7e]+")


def _general_name(identity: str) -> x509.GeneralName:
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


def _format_general_name(name: x509.GeneralName) -> str:
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


def _ca_subject(name: str, organization: str | None) -> x509.Name:
    # A CA's subject is the issuer name of everything it signs: RFC 5280 (and VERIFY_X509_STRICT)
    # forbid it to be empty, so the name cannot be dropped the way a long leaf identity is.
    _check_name_attribute("a CA name", name)
    if organization is not None:
        _check_name_attribute("organization", organization)
    return _subject(name, organization)


def _leaf_subject(common_name: str | None, first_identity: str, organization: str | None) -> x509.Name:
    if common_name is not None:
        _check_name_attribute("common_name", common_name)
        return _subject(common_name, organization)
    # Identities too long for a common name (long URIs) live in the SAN only.
    return _subject(first_identity if _fits_name_limit(first_identity) else None, organization)


def _check_path_length(path_length) -> None:
    if path_length is not None and (isinstance(path_length, bool) or not isinstance(path_length, int)
                                    or path_length < 0):
        raise ProfileError(
            f"path_length must be None (no limit) or a whole number >= 0 of intermediates allowed "
            f"below this CA, not {path_length!r}"
        )


def _validity_window(validity: Validity) -> tuple[_dt.datetime, _dt.datetime]:
    if isinstance(validity, str):
        try:
            return VALIDITY_PRESETS[validity]
        except KeyError:
            raise ProfileError(
                f"unknown validity {validity!r}; use one of {', '.join(VALIDITY_PRESETS)} "
                "or a (not_before, not_after) pair of datetimes"
            ) from None
    try:
        not_before, not_after = validity
    except (TypeError, ValueError):
        raise ProfileError(f"validity must be a preset name or a (not_before, not_after) pair, not {validity!r}") from None
    if not (isinstance(not_before, _dt.datetime) and isinstance(not_after, _dt.datetime)):
        raise ProfileError("validity dates must be datetime objects")
    if not_before.tzinfo is None or not_after.tzinfo is None:
        raise ProfileError("validity dates must be timezone-aware (e.g. datetime(..., tzinfo=timezone.utc))")
    if not_after <= not_before:
        raise ProfileError(f"validity ends ({not_after}) before it starts ({not_before})")
    return not_before, not_after


def _leaf_key_usage(key, server: bool) -> x509.KeyUsage:
    # keyEncipherment only makes sense for RSA key transport (TLS 1.2 RSA key exchange, server side).
    encipher = server and isinstance(key, rsa.RSAPrivateKey)
    return x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=encipher,
        data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
        encipher_only=False, decipher_only=False,
    )


_CA_KEY_USAGE = x509.KeyUsage(
    digital_signature=True, content_commitment=False, key_encipherment=False,
    data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
    encipher_only=False, decipher_only=False,
)


# --------------------------------------------------------------------------------------------
# PEM helpers and files


def _private_key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def write_private_file(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` readable by its owner only (mode 0600), even if it existed."""
    path = Path(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        os.fchmod(f.fileno(), 0o600)
        f.write(data)
    return path


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.").lower() or "certificate"


def _read_file(path) -> bytes:
    path = Path(path)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise CertificateLoadError(f"{path}: no such file; check the path (make one with `python -m mtlslib pki DIR`)") from None
    except IsADirectoryError:
        raise CertificateLoadError(f"{path}: is a directory, expected a PEM file") from None
    except OSError as e:
        raise CertificateLoadError(f"{path}: cannot read it ({e.strerror})") from None


def _looks_like_der(data: bytes) -> bool:
    """Whether ``data`` is exactly one DER SEQUENCE (what a DER certificate or key is); text that
    merely starts with "0" (0x30) is not."""
    if len(data) < 2 or data[0] != 0x30:
        return False
    first = data[1]
    if first < 0x80:
        return 2 + first == len(data)
    count = first & 0x7F
    if not 1 <= count <= 4 or len(data) < 2 + count:
        return False
    return 2 + count + int.from_bytes(data[2:2 + count], "big") == len(data)


def load_pem_certificates(data: bytes, source: str = "<bytes>") -> list[x509.Certificate]:
    """All certificates in PEM ``data``; a clear :class:`CertificateLoadError` otherwise."""
    if _looks_like_der(data):
        raise CertificateLoadError(
            f"{source}: this is DER (binary), not PEM; convert it with "
            f"`openssl x509 -inform DER -in {source} -out cert.pem`"
        )
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise CertificateLoadError(f"{source}: no PEM certificate in it (expected a '-----BEGIN CERTIFICATE-----' block)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. a non-positive serial: loadable, and not this loader's verdict
            return x509.load_pem_x509_certificates(data)
    except PARSE_ERRORS as e:
        raise CertificateLoadError(f"{source}: a certificate block is damaged and cannot be parsed ({e})") from None


def load_pem_private_key(data: bytes, source: str = "<bytes>", password: bytes | None = None):
    """The private key in PEM ``data``; a clear :class:`CertificateLoadError` otherwise."""
    if _looks_like_der(data):
        raise CertificateLoadError(
            f"{source}: this is DER (binary), not PEM; convert it with "
            f"`openssl pkey -inform DER -in {source} -out key.pem`"
        )
    if b"PRIVATE KEY-----" not in data:
        raise CertificateLoadError(f"{source}: no PEM private key in it (expected a '-----BEGIN PRIVATE KEY-----' block)")
    try:
        return serialization.load_pem_private_key(data, password)
    except TypeError:
        if password is None:
            raise CertificateLoadError(f"{source}: the key is encrypted; give its password") from None
        raise CertificateLoadError(f"{source}: the key is not encrypted; give no password") from None
    except ValueError as e:
        if password is not None and ("password" in str(e).lower() or "decrypt" in str(e).lower()):
            raise CertificateLoadError(f"{source}: wrong password for this key") from None
        # PEM encryption has no integrity check: about one wrong password in 200 decrypts to
        # garbage with valid padding, which then fails to parse rather than to decrypt.
        if password is not None and b"ENCRYPTED" in data:
            raise CertificateLoadError(f"{source}: wrong password for this key (or the key is damaged)") from None
        raise CertificateLoadError(f"{source}: the private key is damaged and cannot be parsed") from None
    except UnsupportedAlgorithm as e:
        raise CertificateLoadError(f"{source}: unsupported key algorithm ({e})") from None


def _public_bytes(key) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _check_key_matches(cert: x509.Certificate, key, cert_source: str, key_source: str) -> None:
    if _public_bytes(cert.public_key()) != _public_bytes(key.public_key()):
        raise CertificateLoadError(
            f"{key_source}: this private key does not belong to the certificate in {cert_source} "
            "(their public keys differ); pick the key file issued together with that certificate"
        )


class _TemporaryPemFiles:
    """PEM bytes on disk just long enough for ``ssl`` (which only loads files) to read them."""

    def __init__(self, **contents: bytes):
        self._contents = contents

    def __enter__(self) -> dict[str, str]:
        self._dir = tempfile.TemporaryDirectory(prefix="mtlslib-")
        paths = {}
        for name, data in self._contents.items():
            paths[name] = str(write_private_file(Path(self._dir.name) / name, data))
        return paths

    def __exit__(self, *exc) -> None:
        self._dir.cleanup()


# --------------------------------------------------------------------------------------------
# The nouns


class _HasCertificateAndKey:
    certificate: x509.Certificate
    private_key: object
    _chain: tuple[x509.Certificate, ...]

    @property
    def cert_pem(self) -> bytes:
        """This certificate alone, PEM."""
        return _cert_pem(self.certificate)

    @property
    def key_pem(self) -> bytes:
        """The private key, unencrypted PKCS#8 PEM. Treat it as a secret."""
        return _private_key_pem(self.private_key)

    @property
    def chain_pem(self) -> bytes:
        """This certificate followed by its intermediates (never the root), PEM."""
        return b"".join(_cert_pem(c) for c in (self.certificate, *self._chain))

    @property
    def key_type(self) -> str:
        return key_type_of(self.private_key)

    @property
    def fingerprint(self) -> str:
        """SHA-256 fingerprint, colon-separated hex (as browsers and ``openssl x509 -fingerprint`` show)."""
        return _fingerprint(self.certificate)

    @property
    def identities(self) -> tuple[str, ...]:
        """The subjectAltName entries, e.g. ``("DNS:localhost", "IP:127.0.0.1")``."""
        return _san_entries(self.certificate)

    def describe(self) -> str:
        return describe(self.certificate)

    def write(self, directory, stem: str | None = None) -> tuple[Path, Path]:
        """Write ``STEM.pem`` (the chain) and ``STEM.key`` (mode 0600) into ``directory``.

        Returns the two paths. The directory is created if needed.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        stem = stem or _slug(self._default_stem())
        cert_path = directory / f"{stem}.pem"
        cert_path.write_bytes(self.chain_pem)
        return cert_path, write_private_file(directory / f"{stem}.key", self.key_pem)

    def configure_cert(self, ctx: ssl.SSLContext) -> None:
        """Make ``ctx`` present this certificate, its chain and key."""
        with _TemporaryPemFiles(cert=self.chain_pem, key=self.key_pem) as files:
            ctx.load_cert_chain(files["cert"], files["key"])

    def _default_stem(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.certificate.subject.rfc4514_string()} ({self.key_type})>"


class CertificateAuthority(_HasCertificateAndKey):
    """A certificate authority: a root (``create``) or an intermediate (``create_intermediate``).

    >>> ca = CertificateAuthority.create("Course Root CA", seed="demo")
    >>> server = ca.issue_server("localhost", "127.0.0.1")
    >>> client = ca.issue_client("alice@example.test")
    """

    def __init__(self, certificate: x509.Certificate, private_key, *, parent: "CertificateAuthority | None" = None,
                 seed_stream: _SeedStream | None = None, chain: Iterable[x509.Certificate] = ()):
        self.certificate = certificate
        self.private_key = private_key
        self.parent = parent
        self._stream = seed_stream
        self._is_root = parent is None and certificate.issuer == certificate.subject
        # The intermediates between this CA and the root, nearest first; a loaded intermediate has
        # no parent object, so it keeps the ones that followed it in its file.
        self._chain = parent._chain_for_children if parent is not None else tuple(chain)
        self._issued = 0
        self._revoked: list[x509.RevokedCertificate] = []

    # -- creation -------------------------------------------------------------------------

    @classmethod
    def create(cls, name: str, *, seed: Seed | None = None, key_type: str = "ecdsa-p256",
               validity: Validity = "valid", path_length: int | None = None,
               organization: str | None = None) -> "CertificateAuthority":
        """A new self-signed root CA called ``name``.

        ``seed`` makes everything it issues reproducible; ``path_length`` limits how many
        intermediates may follow (``None``: no limit).
        """
        subject = _ca_subject(name, organization)
        window = _validity_window(validity)
        _check_path_length(path_length)
        stream = _SeedStream.from_user_seed(seed).child(f"root {name}") if seed is not None else None
        key = _new_private_key(key_type, stream and stream.child("key"))
        public_key = key.public_key()
        key_identifier = x509.SubjectKeyIdentifier.from_public_key(public_key)
        cert = cls._ca_certificate(subject, public_key, key_identifier, subject, key,
                                   x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(key_identifier),
                                   window, path_length, stream)
        return cls._with_key_identifier(cls(cert, key, seed_stream=stream), key_identifier)

    def create_intermediate(self, name: str, *, key_type: str | None = None, validity: Validity = "valid",
                            path_length: int | None = 0, organization: str | None = None) -> "CertificateAuthority":
        """A CA certified by this one (default path length 0: it may only issue leaves)."""
        # Every check comes before _next_stream: a refused request must not shift what a seeded
        # CA issues next.
        subject = _ca_subject(name, organization if organization is not None else self._organization)
        window = _validity_window(validity)
        _check_path_length(path_length)
        key_type = _check_key_type(key_type or self.key_type)
        stream = self._next_stream(f"intermediate {name}")
        key = _new_private_key(key_type, stream and stream.child("key"))
        public_key = key.public_key()
        key_identifier = x509.SubjectKeyIdentifier.from_public_key(public_key)
        cert = self._ca_certificate(subject, public_key, key_identifier, self.certificate.subject,
                                    self.private_key, self._authority_key_identifier, window, path_length, stream)
        return self._with_key_identifier(CertificateAuthority(cert, key, parent=self, seed_stream=stream),
                                         key_identifier)

    @staticmethod
    def _with_key_identifier(ca: "CertificateAuthority", key_identifier) -> "CertificateAuthority":
        # Known already: spares parsing the new certificate's extensions back to find it.
        ca._authority_key_identifier = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(key_identifier)
        return ca

    @staticmethod
    def _ca_certificate(subject, public_key, key_identifier, issuer_name, issuer_key, authority_key_identifier,
                        window, path_length, stream) -> x509.Certificate:
        not_before, not_after = window
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject).issuer_name(issuer_name).public_key(public_key)
            .serial_number(_serial(stream))
            .not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
            .add_extension(_CA_KEY_USAGE, critical=True)
            .add_extension(key_identifier, critical=False)
            .add_extension(authority_key_identifier, critical=False)
        )
        return _sign(builder, issuer_key, deterministic=stream is not None)

    # -- issuing ---------------------------------------------------------------------------

    def issue_server(self, *hostnames_or_ips: str, key_type: str | None = None, validity: Validity = "valid",
                     client_auth: bool = False, common_name: str | None = None) -> "IssuedCertificate":
        """A server certificate for the given DNS names and/or IP addresses (extended key usage
        serverAuth; ``client_auth=True`` makes it dual-use)."""
        if not hostnames_or_ips:
            raise ProfileError("issue_server needs at least one hostname or IP address, e.g. issue_server('localhost')")
        usages = [ExtendedKeyUsageOID.SERVER_AUTH] + ([ExtendedKeyUsageOID.CLIENT_AUTH] if client_auth else [])
        return self._issue_leaf(hostnames_or_ips, usages, key_type, validity, common_name, server=True)

    def issue_client(self, identity: str, *more_identities: str, key_type: str | None = None,
                     validity: Validity = "valid", server_auth: bool = False,
                     common_name: str | None = None) -> "IssuedCertificate":
        """A client certificate for ``identity`` (a DNS name, email address, URI such as a SPIFFE ID,
        or IP address), extended key usage clientAuth (``server_auth=True`` makes it dual-use)."""
        usages = [ExtendedKeyUsageOID.CLIENT_AUTH] + ([ExtendedKeyUsageOID.SERVER_AUTH] if server_auth else [])
        return self._issue_leaf((identity, *more_identities), usages, key_type, validity, common_name, server=False)

    def _issue_leaf(self, identities: Sequence[str], usages, key_type, validity, common_name, server: bool):
        # Every check comes before _next_stream: a refused request must not shift what a seeded
        # CA issues next.
        names = [_general_name(i) for i in identities]
        key_type = _check_key_type(key_type or self.key_type)
        not_before, not_after = _validity_window(validity)
        subject = _leaf_subject(common_name or None, identities[0], self._organization)
        stream = self._next_stream(("server " if server else "client ") + " ".join(identities))
        key = _new_private_key(key_type, stream and stream.child("key"))
        public_key = key.public_key()
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject).issuer_name(self.certificate.subject).public_key(public_key)
            .serial_number(_serial(stream))
            .not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_leaf_key_usage(key, server), critical=True)
            .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
            # An empty subject makes the SAN the only name, and RFC 5280 then wants it critical.
            .add_extension(x509.SubjectAlternativeName(names), critical=len(subject) == 0)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(self._authority_key_identifier, critical=False)
        )
        cert = _sign(builder, self.private_key, deterministic=stream is not None)
        return IssuedCertificate(cert, key, chain=self._chain_for_children, issuer=self)

    @property
    def _chain_for_children(self) -> tuple[x509.Certificate, ...]:
        """What a certificate issued by this CA must send after itself: this CA and the
        intermediates above it, never the root (the verifier already has it)."""
        return () if self._is_root else (self.certificate, *self._chain)

    @cached_property
    def _authority_key_identifier(self) -> x509.AuthorityKeyIdentifier:
        # Verifiers match a child's AKI against this CA's SKI, so copy it rather than recompute it
        # (a CA loaded from another tool may derive its SKI differently).
        ski = _extension(self.certificate, x509.SubjectKeyIdentifier)
        if ski is not None:
            return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(self.private_key.public_key())

    def _next_stream(self, label: str) -> _SeedStream | None:
        # Numbered so that issuing the same name twice gives two different certificates.
        self._issued += 1
        return self._stream.child(f"{self._issued} {label}") if self._stream is not None else None

    @cached_property
    def _organization(self) -> str | None:
        values = self.certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
        return values[0].value if values else None

    # -- trust and revocation --------------------------------------------------------------

    @property
    def root(self) -> "CertificateAuthority":
        """The self-signed root at the top of this CA's hierarchy."""
        return self if self.parent is None else self.parent.root

    @property
    def name(self) -> str:
        return self.certificate.subject.rfc4514_string()

    def configure_trust(self, ctx: ssl.SSLContext) -> None:
        """Make ``ctx`` trust this hierarchy's root (what a verifier needs as its anchor)."""
        ctx.load_verify_locations(cadata=self.root.cert_pem.decode())

    def revoke(self, certificate: "IssuedCertificate | x509.Certificate",
               reason: x509.ReasonFlags | None = None) -> None:
        """Put ``certificate`` (one this CA issued) on this CA's CRL; revoking it again changes nothing."""
        cert = certificate.certificate if isinstance(certificate, IssuedCertificate) else certificate
        # The signature, not just the issuer name: two CAs may well share a name.
        try:
            cert.verify_directly_issued_by(self.certificate)
        except (ValueError, TypeError, InvalidSignature):
            raise ProfileError(
                f"{cert.subject.rfc4514_string() or '(empty subject)'} (issuer {cert.issuer.rfc4514_string()}) "
                f"was not signed by this CA ({self.name}); revoke it with the CA that issued it"
            ) from None
        if cert.serial_number in self.revoked_serials:
            return
        date = _SEEDED_REVOCATION_DATE if self._stream is not None else _dt.datetime.now(_UTC).replace(microsecond=0)
        entry = x509.RevokedCertificateBuilder().serial_number(cert.serial_number).revocation_date(date)
        if reason is not None:
            entry = entry.add_extension(x509.CRLReason(reason), critical=False)
        self._revoked.append(entry.build())

    @property
    def revoked_serials(self) -> tuple[int, ...]:
        return tuple(r.serial_number for r in self._revoked)

    @property
    def crl(self) -> x509.CertificateRevocationList:
        """A CRL listing every certificate revoked so far (empty if none), signed by this CA."""
        if self._stream is not None:
            last_update, next_update = _SEEDED_REVOCATION_DATE, _SEEDED_CRL_NEXT_UPDATE
        else:
            last_update = _dt.datetime.now(_UTC).replace(microsecond=0) - _dt.timedelta(minutes=1)
            next_update = last_update + _dt.timedelta(days=7)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.certificate.subject)
            .last_update(last_update).next_update(next_update)
            .add_extension(x509.CRLNumber(len(self._revoked) + 1), critical=False)
            .add_extension(self._authority_key_identifier, critical=False)
        )
        for entry in self._revoked:
            builder = builder.add_revoked_certificate(entry)
        return _sign(builder, self.private_key, deterministic=self._stream is not None)

    @property
    def crl_pem(self) -> bytes:
        return self.crl.public_bytes(serialization.Encoding.PEM)

    def _default_stem(self) -> str:
        return "root-ca" if self._is_root else "issuing-ca"

    @classmethod
    def load(cls, cert_file, key_file, *, password: bytes | None = None) -> "CertificateAuthority":
        """A CA from its PEM certificate and key files, e.g. to issue more certificates from a CA
        written earlier.

        An intermediate keeps the certificates that follow it in ``cert_file`` (as :meth:`write`
        leaves them) and hands them on to what it issues; its root is not known, so trust the
        root separately rather than through :meth:`configure_trust`.
        """
        cert, key, chain = _load_pair(cert_file, key_file, password)
        constraints = _extension(cert, x509.BasicConstraints)
        if constraints is None or not constraints.ca:
            raise CertificateLoadError(f"{cert_file}: this certificate is not a CA (basicConstraints CA:TRUE missing)")
        return cls(cert, key, chain=chain)


class IssuedCertificate(_HasCertificateAndKey):
    """A leaf certificate with its private key and the intermediates needed to verify it."""

    def __init__(self, certificate: x509.Certificate, private_key, *, chain: Iterable[x509.Certificate] = (),
                 issuer: CertificateAuthority | None = None):
        self.certificate = certificate
        self.private_key = private_key
        self._chain = tuple(chain)
        self.issuer = issuer

    def _default_stem(self) -> str:
        return _slug(_san_entries(self.certificate)[0].split(":", 1)[1]) if _san_entries(self.certificate) else "leaf"

    def to_pkcs12(self, password: bytes | str | None = None, friendly_name: str | None = None) -> bytes:
        """The key, certificate and intermediates as PKCS#12 (``.p12``) for curl and browsers."""
        if isinstance(password, str):
            password = password.encode()
        encryption = (serialization.BestAvailableEncryption(password) if password
                      else serialization.NoEncryption())
        name = (friendly_name or self._default_stem()).encode()
        return pkcs12.serialize_key_and_certificates(name, self.private_key, self.certificate,
                                                     list(self._chain) or None, encryption)

    def write_pkcs12(self, path, password: bytes | str | None = None) -> Path:
        """Write :meth:`to_pkcs12` to ``path`` (mode 0600: it holds the private key)."""
        return write_private_file(Path(path), self.to_pkcs12(password))

    @classmethod
    def load(cls, cert_file, key_file, *, password: bytes | None = None) -> "IssuedCertificate":
        """A certificate (with any intermediates after it) and its key from PEM files.

        Refuses a key that does not belong to the certificate.
        """
        cert, key, chain = _load_pair(cert_file, key_file, password)
        return cls(cert, key, chain=chain)


def _load_pair(cert_file, key_file, password):
    certs = load_pem_certificates(_read_file(cert_file), str(cert_file))
    key = load_pem_private_key(_read_file(key_file), str(key_file), password)
    _check_key_matches(certs[0], key, str(cert_file), str(key_file))
    return certs[0], key, certs[1:]


def load_pkcs12(path, password: bytes | str | None = None) -> IssuedCertificate:
    """An :class:`IssuedCertificate` from a PKCS#12 file; clear errors for a wrong password."""
    data = _read_file(path)
    if isinstance(password, str):
        password = password.encode()
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
    _check_key_matches(cert, bundle.key, str(path), str(path))
    return IssuedCertificate(cert, bundle.key, chain=[c.certificate for c in bundle.additional_certs])


# --------------------------------------------------------------------------------------------
# Describing certificates


def _extension(cert: x509.Certificate, ext_type):
    try:
        return cert.extensions.get_extension_for_class(ext_type).value
    except x509.ExtensionNotFound:
        return None


def _san_entries(cert: x509.Certificate) -> tuple[str, ...]:
    san = _extension(cert, x509.SubjectAlternativeName)
    return tuple(_format_general_name(n) for n in san) if san is not None else ()


def _fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


_EKU_NAMES = {
    ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth", ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth",
    ExtendedKeyUsageOID.CODE_SIGNING: "codeSigning", ExtendedKeyUsageOID.EMAIL_PROTECTION: "emailProtection",
}


# The names RFC 5280 gives the bits (what OpenSSL and other tools' documentation use).
_KEY_USAGE_NAMES = {"digital_signature": "digitalSignature", "key_encipherment": "keyEncipherment",
                    "key_agreement": "keyAgreement", "key_cert_sign": "keyCertSign", "crl_sign": "cRLSign"}


def _as_certificate(item: CertificateLike) -> x509.Certificate:
    if isinstance(item, x509.Certificate):
        return item
    if isinstance(item, _HasCertificateAndKey):
        return item.certificate
    if isinstance(item, str):
        item = item.encode()
    if isinstance(item, bytes):
        return load_pem_certificates(item)[0]
    raise TypeError(f"expected a certificate, an mtlslib object or PEM bytes, not {type(item).__name__}")


def describe(item: CertificateLike) -> str:
    """A short, human-readable summary of a certificate: the fields verification looks at."""
    cert = _as_certificate(item)
    constraints = _extension(cert, x509.BasicConstraints)
    eku = _extension(cert, x509.ExtendedKeyUsage)
    key_usage = _extension(cert, x509.KeyUsage)
    if constraints is None:
        ca = "no basicConstraints (not usable as a CA)"
    elif constraints.ca:
        ca = "yes, " + ("no path length limit" if constraints.path_length is None
                        else f"path length {constraints.path_length}")
    else:
        ca = "no"
    usages = [name for field, name in _KEY_USAGE_NAMES.items() if key_usage is not None and getattr(key_usage, field)]
    rows = [
        ("subject", cert.subject.rfc4514_string() or "(empty)"),
        ("issuer", cert.issuer.rfc4514_string() or "(empty)"),
        ("valid", f"{cert.not_valid_before_utc:%Y-%m-%d %H:%M} to {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC"),
        ("SAN", ", ".join(_san_entries(cert)) or "(none)"),
        ("key usage", ", ".join(usages) or "(none)"),
        ("ext. key usage", ", ".join(_EKU_NAMES.get(o, o.dotted_string) for o in eku) if eku else "(none: any)"),
        ("CA", ca),
        ("key", key_type_of(cert.public_key())),
        ("signature", cert.signature_algorithm_oid._name),
        ("serial", f"{cert.serial_number:x}"),
        ("SHA-256", _fingerprint(cert)),
    ]
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label:<{width}}  {value}" for label, value in rows)
