"""Key strength as OpenSSL rates it: the security bits its security levels compare."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from mtlslib.verification.strength import key_description


@pytest.mark.parametrize("curve, bits", [
    (ec.SECP192R1(), 80),  # below level 2's 112: why OpenSSL refuses to load a P-192 certificate
    (ec.SECP224R1(), 112),
    (ec.SECP256R1(), 128),
    (ec.SECP384R1(), 192),
    (ec.SECP521R1(), 256),
])
def test_curves_rate_as_openssl_s_ec_security_bits(curve, bits):
    assert key_description(ec.generate_private_key(curve).public_key()) == (f"ECDSA {curve.name}", bits)


def test_rsa_and_ed25519_rate_as_openssl_does():
    assert key_description(rsa.generate_private_key(65537, 1024).public_key()) == ("RSA-1024", 80)
    assert key_description(rsa.generate_private_key(65537, 2048).public_key()) == ("RSA-2048", 112)
    assert key_description(ed25519.Ed25519PrivateKey.generate().public_key()) == ("Ed25519", 128)
