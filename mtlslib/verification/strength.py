"""Key and signature strength, as OpenSSL's security levels and the web PKI rate them.

OpenSSL gives every key and hash a number of "security bits" and a security level a minimum
(level 2, Python's default: 112 bits, so RSA-2048 and SHA-256 pass and RSA-1024 and SHA-1 fail).
The web PKI names what it accepts instead: RSA of at least 2048 bits, the curves P-256, P-384 and
P-521, SHA-256/384/512, no DSA. An EC key that spells out its curve parameters is refused by both.
"""

from __future__ import annotations

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

from .certificate import Cert, Question, explicit_curve, signature_name
from .model import FAIL, PASS, UNDECIDED, Check

__all__ = ["HASH_BITS", "LEVEL_BITS", "key_description", "strength_checks"]

LEVEL_BITS = {0: 0, 1: 80, 2: 112, 3: 128, 4: 192, 5: 256}
HASH_BITS = {"md5": 39, "sha1": 63, "sha224": 112, "sha256": 128, "sha384": 192, "sha512": 256,
             "sha3-256": 128, "sha3-384": 192, "sha3-512": 256}  # OpenSSL 3's values (SHA-1: 63 since 3.0)
_WEBPKI_CURVES = ("secp256r1", "secp384r1", "secp521r1")
_WEBPKI_HASHES = ("sha256", "sha384", "sha512")


def _finite_field_bits(modulus_bits: int) -> int:
    # OpenSSL's BN_security_bits table for RSA/DSA moduli.
    for bits, strength in ((15360, 256), (7680, 192), (3072, 128), (2048, 112), (1024, 80)):
        if modulus_bits >= bits:
            return strength
    return 0


def _curve_bits(order_bits: int) -> int:
    # OpenSSL's ec_security_bits: steps by the size of the group order, half of it below 160 bits
    # (so P-192 rates 80, not 96, and P-521 rates 256).
    for bits, strength in ((512, 256), (384, 192), (256, 128), (224, 112), (160, 80)):
        if order_bits >= bits:
            return strength
    return order_bits // 2


def key_description(key) -> tuple[str, int]:
    """('RSA-2048', security bits) as OpenSSL rates keys."""
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA-{key.key_size}", _finite_field_bits(key.key_size)
    if isinstance(key, dsa.DSAPublicKey):
        return f"DSA-{key.key_size}", _finite_field_bits(key.key_size)
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"ECDSA {key.curve.name}", _curve_bits(key.curve.key_size)  # the NIST curves' orders are as long as p
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 128
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 224
    return type(key).__name__, 0


def _key_problems(question: Question, key, position: int) -> tuple[str, list[tuple[str, str | None]]]:
    """The key's description and what is wrong with its strength (reason, OpenSSL's reason)."""
    description, bits = key_description(key)
    required = LEVEL_BITS[question.settings.security_level]
    if not question.webpki:
        if bits < required:
            return description, [(f"{description} is {bits}-bit strength; security level "
                                   f"{question.settings.security_level} needs {required}",
                                   "EE certificate key too weak" if position == 0 else "CA certificate key too weak")]
        return description, []
    if isinstance(key, rsa.RSAPublicKey) and (key.key_size < 2048 or key.key_size % 8):
        return description, [(f"{description}: the web PKI wants RSA of at least 2048 bits, a multiple of 8", None)]
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name not in _WEBPKI_CURVES:
        return description, [(f"{description}: not one of the curves P-256, P-384, P-521", None)]
    if isinstance(key, dsa.DSAPublicKey):
        return description, [(f"{description}: DSA keys are forbidden in the web PKI", None)]
    return description, []


def _signature_problems(question: Question, cert: Cert) -> list[tuple[str, str | None]]:
    required = LEVEL_BITS[question.settings.security_level]
    try:
        algorithm = cert.cert.signature_hash_algorithm
    except UnsupportedAlgorithm:
        return [(f"unknown signature algorithm {signature_name(cert.cert)}", None)]
    if algorithm is None:  # Ed25519, Ed448: the hash is part of the algorithm
        return []
    hash_bits = HASH_BITS.get(algorithm.name, 0)
    if question.webpki and algorithm.name not in _WEBPKI_HASHES:
        return [(f"signed with {algorithm.name.upper()}; the web PKI accepts SHA-256, SHA-384, SHA-512", None)]
    if not question.webpki and hash_bits < required:
        return [(f"signed with {algorithm.name.upper()} ({hash_bits}-bit strength); security level "
                 f"{question.settings.security_level} needs {required}", "CA signature digest algorithm too weak")]
    return []


def _strength_check(question: Question, cert: Cert, position: int) -> Check:
    where = question.where(cert)
    key = cert.public_key()
    problems: list[tuple[str, str | None]] = []
    if key is None:
        if not question.webpki:
            return Check("strength", where, UNDECIDED, "the explainer cannot read this public key "
                         "(explicit curve parameters or an unknown type)")
        description = "unusable key"
        problems.append(("its public key cannot be used (explicit curve parameters or an unknown type)", None))
    elif explicit_curve(cert.cert):
        description = "ECDSA key with explicit curve parameters"
        problems.append(("the EC key spells out its curve parameters instead of naming a standard curve: "
                         "verifiers refuse that (explicit parameters can hide a weak curve)",
                         "Certificate public key has explicit ECC parameters"))
    else:
        description, found = _key_problems(question, key, position)
        problems += found
    signature_text = ""
    if not (cert.trusted and cert.self_signed):  # an anchor's own signature is never checked
        signature_text = f", signed with {signature_name(cert.cert)}"
        problems += _signature_problems(question, cert)
    if problems:
        reason, openssl = problems[0]
        return Check("strength", where, FAIL, reason, openssl)
    return Check("strength", where, PASS, f"{description}{signature_text}")


def strength_checks(question: Question, certs: list[Cert]) -> list[Check]:
    return [_strength_check(question, cert, position) for position, cert in enumerate(certs)]
