"""mtlslib.pki with a seed: the same certificates, keys and CRL in every process, seeded RSA keys that
are valid and stay the same, and what makes two seeded (or unseeded) CAs differ."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from loopback_round_trip import round_trip, strict

from mtlslib.pki import KEY_TYPES, CertificateAuthority, IssuedCertificate
from mtlslib.tls import client_context, server_context

RSA_BITS = {"rsa-2048": 2048, "rsa-3072": 3072}


# Runs in fresh interpreters: nothing cached in this process (keys, lru_cache, hash seeds) can
# make two runs agree. A root and one leaf per key type: each seeded RSA key costs about a second
# to derive in pure Python, and intermediates take the same code path as leaves.
SEEDED_RUN = r"""
import json, sys
from mtlslib.pki import KEY_TYPES, CertificateAuthority

out = {}
for key_type in KEY_TYPES:
    root = CertificateAuthority.create("Seeded Root CA", seed="course", key_type=key_type)
    server = root.issue_server("localhost", "127.0.0.1")
    root.revoke(server)
    out[key_type] = {name: {"cert": item.cert_pem.decode(), "key": item.key_pem.decode(),
                            "fingerprint": item.fingerprint} for name, item in (("root", root), ("server", server))}
    out[key_type]["crl"] = root.crl_pem.decode()
json.dump(out, sys.stdout)
"""


@pytest.fixture(scope="module")
def seeded_runs() -> tuple[dict, dict]:
    """The same seeded certificates of every key type, made by two separate Python processes."""
    processes = []
    try:
        for hash_seed in ("1", "2"):
            processes.append(subprocess.Popen(
                [sys.executable, "-c", SEEDED_RUN], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                env={**os.environ, "PYTHONHASHSEED": hash_seed}))
        runs = []
        for process in processes:
            out, err = process.communicate(timeout=120)
            assert process.returncode == 0, err.decode()
            runs.append(json.loads(out))
        return runs[0], runs[1]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.communicate()


def seeded_item(run: dict, key_type: str, name: str) -> IssuedCertificate:
    entry = run[key_type][name]
    return IssuedCertificate(x509.load_pem_x509_certificate(entry["cert"].encode()),
                             serialization.load_pem_private_key(entry["key"].encode(), None))


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_seeded_certificates_are_byte_identical_across_processes(seeded_runs, key_type):
    first, second = seeded_runs
    assert first[key_type] == second[key_type]  # certificates (DER inside the PEM), keys and CRL
    for name in ("root", "server"):
        cert = x509.load_pem_x509_certificate(first[key_type][name]["cert"].encode())
        assert first[key_type][name]["fingerprint"] == cert.fingerprint(hashes.SHA256()).hex(":").upper()
    # The CRL's dates are fixed too, or it could not be identical.
    crl = x509.load_pem_x509_crl(first[key_type]["crl"].encode())
    server = seeded_item(first, key_type, "server").certificate
    assert [entry.serial_number for entry in crl] == [server.serial_number]


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_seeded_certificates_pass_strict_checks_in_a_real_handshake(seeded_runs, key_type):
    root = seeded_item(seeded_runs[0], key_type, "root")
    server = seeded_item(seeded_runs[0], key_type, "server")
    trust = CertificateAuthority(root.certificate, root.private_key)
    reply, server_saw = round_trip(server_context(server), strict(client_context(trust)))
    assert reply == b"hello anonymous (no client certificate)\n", str(server_saw)


@pytest.mark.parametrize("key_type", RSA_BITS)
def test_seeded_rsa_keys_are_valid(seeded_runs, key_type):
    bits = RSA_BITS[key_type]
    for name in ("root", "server"):
        key = seeded_item(seeded_runs[0], key_type, name).private_key
        numbers = key.private_numbers()
        p, q, n = numbers.p, numbers.q, numbers.public_numbers.n
        assert p * q == n
        assert n.bit_length() == key.key_size == bits
        assert p.bit_length() == q.bit_length() == bits // 2 and p != q
        assert numbers.public_numbers.e == 65537
        assert numbers.d * 65537 % ((p - 1) * (q - 1)) == 1
        for prime in (p, q):  # Fermat tests: a composite would almost surely fail one
            assert all(pow(base, prime - 1, prime) == 1 for base in (2, 3, 5, 7, 11))
        assert (numbers.dmp1, numbers.dmq1, numbers.iqmp) == (numbers.d % (p - 1), numbers.d % (q - 1),
                                                              pow(q, -1, p))
    root, server = (seeded_item(seeded_runs[0], key_type, name).certificate for name in ("root", "server"))
    server.verify_directly_issued_by(root)


@pytest.mark.parametrize("key_type", ["ecdsa-p256", "ecdsa-p384", "ed25519"])
def test_seeded_ca_issuing_the_same_name_twice_gives_two_certificates(key_type):
    issuing = CertificateAuthority.create("Twice Root CA", seed="twice", key_type=key_type).create_intermediate(
        "Twice Issuing CA")
    first, again = issuing.issue_server("localhost"), issuing.issue_server("localhost")
    assert first.key_pem != again.key_pem
    assert first.certificate.serial_number != again.certificate.serial_number
    assert first.fingerprint != again.fingerprint


@pytest.mark.parametrize("key_type", ["ecdsa-p256", "ecdsa-p384", "rsa-2048", "ed25519"])
def test_seed_and_name_both_matter(key_type):
    base = CertificateAuthority.create("Seed Root CA", seed="one", key_type=key_type)
    same = CertificateAuthority.create("Seed Root CA", seed="one", key_type=key_type)
    other_seed = CertificateAuthority.create("Seed Root CA", seed="two", key_type=key_type)
    other_name = CertificateAuthority.create("Other Root CA", seed="one", key_type=key_type)
    assert base.certificate == same.certificate and base.key_pem == same.key_pem
    for different in (other_seed, other_name):
        assert different.key_pem != base.key_pem
        assert different.certificate.serial_number != base.certificate.serial_number
        assert different.fingerprint != base.fingerprint


def test_seeds_may_be_str_bytes_or_int():
    for seed in ("course", b"\x00binary", 2025):
        first = CertificateAuthority.create("Seed Types CA", seed=seed)
        assert first.certificate == CertificateAuthority.create("Seed Types CA", seed=seed).certificate


@pytest.mark.parametrize("key_type", ["ecdsa-p256", "rsa-2048", "ed25519"])
def test_without_a_seed_every_run_differs(key_type):
    first = CertificateAuthority.create("Unseeded Root CA", key_type=key_type)
    second = CertificateAuthority.create("Unseeded Root CA", key_type=key_type)
    assert first.key_pem != second.key_pem
    assert first.certificate.serial_number != second.certificate.serial_number
    assert first.issue_server("localhost").fingerprint != second.issue_server("localhost").fingerprint
    for cert in (first.certificate, second.certificate):  # RFC 5280: positive, at most 20 octets
        assert 0 < cert.serial_number < 2 ** 159


def test_a_seeded_rsa_key_is_the_same_in_every_version_of_the_derivation():
    # Chapters store outputs made from seeded RSA keys: a faster prime search must find the same primes.
    root = CertificateAuthority.create("Course Root CA", seed="pinned", key_type="rsa-2048")
    modulus = root.private_key.public_key().public_numbers().n.to_bytes(256, "big")
    assert hashlib.sha256(modulus).hexdigest()[:32] == "43b64238caaf075a4c387bcb280e606c"
