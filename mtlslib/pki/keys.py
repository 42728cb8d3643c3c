"""Keys: the five key types, fresh or derived from a seed, and how certificates are signed.

With a seed, keys and serial numbers are derived from it (HMAC-SHA-256 label paths, SHAKE-256
output), so the same code makes byte-identical certificates on every run. Such keys are public:
anyone who knows the seed rebuilds them.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from functools import lru_cache
from typing import Union

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from mtlslib.errors import ProfileError

__all__ = ["KEY_TYPES", "Seed", "SeedStream", "check_key_type", "is_probable_prime", "key_type_of", "new_private_key",
           "serial_number", "sign"]

KEY_TYPES = ("ecdsa-p256", "ecdsa-p384", "rsa-2048", "rsa-3072", "ed25519")

Seed = Union[str, bytes, int]


class SeedStream:
    """Bytes derived from a seed and a label path; each child label gives an independent stream."""

    def __init__(self, key: bytes):
        self._key = key

    @classmethod
    def from_user_seed(cls, seed: Seed) -> "SeedStream":
        if isinstance(seed, bool) or not isinstance(seed, (str, bytes, int)):
            raise ProfileError(f"seed must be a str, bytes or int, not {type(seed).__name__}")
        raw = seed.encode() if isinstance(seed, str) else str(seed).encode() if isinstance(seed, int) else seed
        return cls(hashlib.sha256(b"mtlslib seed v1\x00" + raw).digest())

    def child(self, label: str) -> "SeedStream":
        return SeedStream(hmac.new(self._key, label.encode(), hashlib.sha256).digest())

    def read(self, n: int) -> bytes:
        return hashlib.shake_256(self._key).digest(n)

    def integer(self, bits: int) -> int:
        return int.from_bytes(self.read((bits + 7) // 8), "big") >> (-bits % 8)


# Trial division by these first: cheap, and it settles every small input.
_SMALL_PRIMES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97)
# Miller-Rabin with the first 13 primes as bases is exact below this bound (Sorenson and Webster).
# Above it, fixed bases can be fooled by a composite built on purpose, but not by a candidate drawn
# from a hash (a prime always passes). From 1024 bits on, 4 rounds: the count FIPS 186-5 (Table B.1)
# gives for random 1024-bit RSA primes, for an error below 2^-100 with random bases; smaller numbers
# get 8.
_DETERMINISTIC_BELOW = 3_317_044_064_679_887_385_961_981
_EXACT_BASES, _SMALL_NUMBER_ROUNDS, _LARGE_NUMBER_ROUNDS, _LARGE_NUMBER_BITS = 13, 8, 4, 1024


@lru_cache(maxsize=1)
def _sieves() -> tuple[int, int]:
    """The products of the odd primes below 2000 and of the primes from 2000 to 65536. A seeded RSA
    candidate (odd, 1024 bits or more) that shares a factor with either is composite. The first gcd
    rejects 85% of candidates, the second about 31% of those left, each far faster than the
    Miller-Rabin round that would otherwise reject them."""
    sieve = bytearray([1]) * 65536
    sieve[:2] = b"\0\0"
    for n in range(2, 256):
        if sieve[n]:
            sieve[n * n::n] = bytes(len(range(n * n, 65536, n)))
    return (math.prod(n for n in range(3, 2000, 2) if sieve[n]),
            math.prod(n for n in range(2001, 65536, 2) if sieve[n]))


def _miller_rabin_rounds(n: int) -> int:
    if n < _DETERMINISTIC_BELOW:
        return _EXACT_BASES
    return _SMALL_NUMBER_ROUNDS if n.bit_length() < _LARGE_NUMBER_BITS else _LARGE_NUMBER_ROUNDS


def is_probable_prime(n: int) -> bool:
    """Whether ``n`` is prime (Miller-Rabin: exact below 3.3e24, a strong test above)."""
    if n < 2:
        return False
    for small in _SMALL_PRIMES:
        if n % small == 0:
            return n == small
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for base in _SMALL_PRIMES[:_miller_rabin_rounds(n)]:
        x = pow(base, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def _derived_prime(stream: SeedStream, bits: int, e: int) -> int:
    small, larger = _sieves()
    for counter in range(1_000_000):
        candidate = stream.child(f"candidate {counter}").integer(bits)
        candidate |= (3 << (bits - 2)) | 1  # top two bits set: p*q has exactly 2*bits bits
        if ((candidate - 1) % e and math.gcd(candidate, small) == 1 and math.gcd(candidate, larger) == 1
                and is_probable_prime(candidate)):
            return candidate
    raise AssertionError("no prime found")  # pragma: no cover - probability ~0


@lru_cache(maxsize=64)
def _derived_rsa_key(key: bytes, bits: int) -> rsa.RSAPrivateKey:
    """An RSA key whose primes come from the seed (cryptography cannot seed RSA generation)."""
    stream, e = SeedStream(key), 65537
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


def check_key_type(key_type: str) -> str:
    if key_type not in KEY_TYPES:
        raise ProfileError(f"unknown key type {key_type!r}; choose one of: {', '.join(KEY_TYPES)}")
    return key_type


def new_private_key(key_type: str, stream: SeedStream | None):
    key_type = check_key_type(key_type)
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


def sign(builder, issuer_key, deterministic: bool):
    algorithm = _signature_hash(issuer_key)
    if isinstance(issuer_key, ec.EllipticCurvePrivateKey):
        # RFC 6979 signatures depend only on key and message: a seeded run is byte-identical.
        return builder.sign(issuer_key, algorithm, ecdsa_deterministic=deterministic)
    return builder.sign(issuer_key, algorithm)


def serial_number(stream: SeedStream | None) -> int:
    if stream is None:
        return x509.random_serial_number()
    return (stream.child("serial").integer(159) | (1 << 152))  # positive, 20 bytes at most
