"""mtlslib.pki: certificate profiles, determinism, revocation, export and error messages.

Profiles are checked field by field and then by real verifiers: OpenSSL through ``ssl`` (with
VERIFY_X509_STRICT, in a real loopback handshake) and cryptography's own path validator. The
command-line OpenSSL checks live in test_openssl_interop.py.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
import os
import ssl
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError
from pki_hierarchy import Hierarchy, build_hierarchy

from mtlslib import handshake
from mtlslib.errors import CertificateLoadError, MtlsLibError, ProfileError
from mtlslib.pki import (
    KEY_TYPES,
    VALIDITY_PRESETS,
    CertificateAuthority,
    IssuedCertificate,
    SslFiles,
    describe,
    key_type_of,
    load_pkcs12,
)
from mtlslib.tls import LoopbackServer, client_context, connect, server_context

# Inside the "valid" preset, so results do not depend on the day the tests run.
VERIFICATION_TIME = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
RSA_BITS = {"rsa-2048": 2048, "rsa-3072": 3072}


@pytest.fixture(scope="module", params=KEY_TYPES)
def hierarchy(request) -> Hierarchy:
    """Root, intermediate, server and client of one key type, all made with the defaults (no seed).
    Nothing may revoke through these CAs: other tests share them."""
    return build_hierarchy(request.param, request.param, "alice@example.test")


@pytest.fixture(scope="module")
def scratch_ca() -> CertificateAuthority:
    """An unseeded root for tests that issue what they need; the shared seeded CAs in conftest stay
    untouched, so what they issue does not depend on which tests ran first."""
    return CertificateAuthority.create("Scratch Root CA")


@pytest.fixture(scope="module")
def scratch_issuing(scratch_ca) -> CertificateAuthority:
    return scratch_ca.create_intermediate("Scratch Issuing CA")


def extension(cert: x509.Certificate, ext_type) -> x509.Extension:
    return cert.extensions.get_extension_for_class(ext_type)


def strict(ctx: ssl.SSLContext) -> ssl.SSLContext:
    ctx.verify_flags |= ssl.VERIFY_X509_STRICT
    return ctx


def round_trip(server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext):
    """One connection to a LoopbackServer: the client's reply (or the exception it got) and what
    the server saw."""
    with LoopbackServer(server_ctx) as server:
        try:
            with connect(server.address, client_ctx) as connection:
                outcome = connection.request()
        except (ssl.SSLError, ConnectionError) as error:
            outcome = error
    assert len(server.connections) == 1
    return outcome, server.connections[0]


def describe_fields(text: str) -> dict[str, str]:
    return {label.strip(): value.strip() for label, value in (line.split("  ", 1) for line in text.splitlines())}


# --------------------------------------------------------------------------------------------
# Profiles


def test_server_profile(hierarchy):
    cert = hierarchy.server.certificate
    assert cert.version is x509.Version.v3
    assert list(extension(cert, x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.SERVER_AUTH]
    key_usage = extension(cert, x509.KeyUsage)
    assert key_usage.critical
    assert key_usage.value.digital_signature
    # Only RSA can do key transport (TLS 1.2 RSA key exchange); EC and Ed25519 keys cannot encipher.
    assert key_usage.value.key_encipherment is hierarchy.key_type.startswith("rsa")
    for unused in ("content_commitment", "data_encipherment", "key_agreement", "key_cert_sign", "crl_sign"):
        assert not getattr(key_usage.value, unused), unused
    constraints = extension(cert, x509.BasicConstraints)
    assert constraints.critical and not constraints.value.ca
    san = extension(cert, x509.SubjectAlternativeName)
    assert not san.critical  # the subject is not empty
    assert san.value.get_values_for_type(x509.DNSName) == ["localhost"]
    assert san.value.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert hierarchy.server.identities == ("DNS:localhost", "IP:127.0.0.1")
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "localhost"


def test_client_profile(hierarchy):
    cert = hierarchy.client.certificate
    assert list(extension(cert, x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    key_usage = extension(cert, x509.KeyUsage).value
    assert key_usage.digital_signature
    # A client only ever signs (CertificateVerify), RSA included.
    assert not key_usage.key_encipherment
    assert not key_usage.key_cert_sign
    assert not extension(cert, x509.BasicConstraints).value.ca
    assert hierarchy.client.identities == ("email:alice@example.test",)


def test_ca_profile(hierarchy):
    root, issuing = hierarchy.root.certificate, hierarchy.issuing.certificate
    for cert, path_length in ((root, None), (issuing, 0)):
        constraints = extension(cert, x509.BasicConstraints)
        assert constraints.critical
        assert constraints.value.ca and constraints.value.path_length == path_length
        key_usage = extension(cert, x509.KeyUsage)
        assert key_usage.critical
        assert key_usage.value.key_cert_sign and key_usage.value.crl_sign
        assert not key_usage.value.key_encipherment
    assert root.issuer == root.subject
    root.verify_directly_issued_by(root)
    issuing.verify_directly_issued_by(root)
    hierarchy.server.certificate.verify_directly_issued_by(issuing)
    hierarchy.client.certificate.verify_directly_issued_by(issuing)
    assert key_type_of(root.public_key()) == key_type_of(hierarchy.server.private_key) == hierarchy.key_type


def test_every_certificate_has_key_identifiers_that_link_to_its_issuer(hierarchy):
    links = [(hierarchy.root, hierarchy.root), (hierarchy.issuing, hierarchy.root),
             (hierarchy.server, hierarchy.issuing), (hierarchy.client, hierarchy.issuing)]
    for subject, issuer in links:
        ski = extension(subject.certificate, x509.SubjectKeyIdentifier).value
        assert ski.digest == x509.SubjectKeyIdentifier.from_public_key(subject.certificate.public_key()).digest
        aki = extension(subject.certificate, x509.AuthorityKeyIdentifier).value
        assert aki.key_identifier == extension(issuer.certificate, x509.SubjectKeyIdentifier).value.digest


def test_signature_hash_follows_the_issuer_key(hierarchy):
    expected = {"ecdsa-p384": hashes.SHA384, "ed25519": type(None)}.get(hierarchy.key_type, hashes.SHA256)
    for item in (hierarchy.root, hierarchy.issuing, hierarchy.server, hierarchy.client):
        assert isinstance(item.certificate.signature_hash_algorithm, expected)


def test_leaf_key_type_can_differ_from_the_ca():
    ca = CertificateAuthority.create("Mixed Root CA")
    rsa_server = ca.issue_server("localhost", key_type="rsa-2048")
    ed_client = ca.issue_client("alice@example.test", key_type="ed25519")
    assert isinstance(rsa_server.private_key, rsa.RSAPrivateKey) and rsa_server.key_type == "rsa-2048"
    assert isinstance(ed_client.private_key, ed25519.Ed25519PrivateKey) and ed_client.key_type == "ed25519"
    # The CA's key decides the signature; the leaf's key decides keyUsage.
    assert isinstance(rsa_server.certificate.signature_hash_algorithm, hashes.SHA256)
    assert extension(rsa_server.certificate, x509.KeyUsage).value.key_encipherment
    assert rsa_server.issuer is ca


def test_dual_use_certificates_carry_both_purposes(scratch_ca):
    server = scratch_ca.issue_server("localhost", client_auth=True)
    client = scratch_ca.issue_client("alice@example.test", server_auth=True)
    both = {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    assert set(extension(server.certificate, x509.ExtendedKeyUsage).value) == both
    assert set(extension(client.certificate, x509.ExtendedKeyUsage).value) == both


def test_identities_become_typed_subject_alternative_names(scratch_ca):
    client = scratch_ca.issue_client("alice@example.test", "spiffe://example.test/ns/course/sa/alice",
                                     "https://alice.example.test/", "10.0.0.7", "::1", "Alice.Example.Test.")
    san = extension(client.certificate, x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.RFC822Name) == ["alice@example.test"]
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == [
        "spiffe://example.test/ns/course/sa/alice", "https://alice.example.test/"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("10.0.0.7"), ipaddress.ip_address("::1")]
    # DNS names are case-insensitive and the root dot is implied: stored in canonical form.
    assert san.get_values_for_type(x509.DNSName) == ["alice.example.test"]
    assert client.identities[0] == "email:alice@example.test"


def test_wildcard_server_name(scratch_ca):
    server = scratch_ca.issue_server("*.example.test")
    assert extension(server.certificate, x509.SubjectAlternativeName).value.get_values_for_type(
        x509.DNSName) == ["*.example.test"]


def test_identity_too_long_for_a_common_name_leaves_the_subject_empty_and_the_san_critical(scratch_ca):
    spiffe_id = "spiffe://example.test/ns/production/sa/" + "payments-worker-" * 3
    assert len(spiffe_id) > 64
    client = scratch_ca.issue_client(spiffe_id)
    assert len(client.certificate.subject) == 0
    san = extension(client.certificate, x509.SubjectAlternativeName)
    assert san.critical  # RFC 5280 4.2.1.6: the SAN is then the only name
    assert san.value.get_values_for_type(x509.UniformResourceIdentifier) == [spiffe_id]


def test_organization_is_inherited_and_keeps_the_subject_non_empty():
    root = CertificateAuthority.create("Org Root CA", organization="Course Org")
    issuing = root.create_intermediate("Org Issuing CA")
    client = issuing.issue_client("spiffe://example.test/" + "x" * 64)
    for cert in (root.certificate, issuing.certificate, client.certificate):
        assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "Course Org"
    assert not client.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    assert not extension(client.certificate, x509.SubjectAlternativeName).critical


def test_explicit_common_name(scratch_ca):
    client = scratch_ca.issue_client("spiffe://example.test/sa/alice", common_name="Alice")
    assert client.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Alice"
    assert client.identities == ("URI:spiffe://example.test/sa/alice",)


def test_chain_pem_is_leaf_then_intermediates_never_the_root():
    root = CertificateAuthority.create("Chain Root CA")
    upper = root.create_intermediate("Chain Upper CA", path_length=1)
    lower = upper.create_intermediate("Chain Lower CA")
    from_root = root.issue_server("localhost")
    from_lower = lower.issue_client("alice@example.test")
    assert x509.load_pem_x509_certificates(root.chain_pem) == [root.certificate]
    assert x509.load_pem_x509_certificates(upper.chain_pem) == [upper.certificate]
    assert x509.load_pem_x509_certificates(lower.chain_pem) == [lower.certificate, upper.certificate]
    assert x509.load_pem_x509_certificates(from_root.chain_pem) == [from_root.certificate]
    assert x509.load_pem_x509_certificates(from_lower.chain_pem) == [
        from_lower.certificate, lower.certificate, upper.certificate]
    assert x509.load_pem_x509_certificates(from_lower.cert_pem) == [from_lower.certificate]
    assert from_lower.certificate == x509.load_pem_x509_certificate(from_lower.cert_pem)


def test_key_pem_holds_the_certificate_key(hierarchy):
    for item in (hierarchy.root, hierarchy.issuing, hierarchy.server, hierarchy.client):
        assert b"-----BEGIN PRIVATE KEY-----" in item.key_pem  # PKCS#8, unencrypted
        key = serialization.load_pem_private_key(item.key_pem, None)
        assert key.public_key() == item.certificate.public_key()


def test_path_length():
    root = CertificateAuthority.create("Path Root CA", path_length=2)
    assert extension(root.certificate, x509.BasicConstraints).value.path_length == 2
    unlimited = root.create_intermediate("Unlimited CA", path_length=None)
    assert extension(unlimited.certificate, x509.BasicConstraints).value.path_length is None


# --------------------------------------------------------------------------------------------
# Validity


@pytest.mark.parametrize("preset", sorted(VALIDITY_PRESETS))
def test_validity_presets_on_cas_and_leaves(preset):
    root = CertificateAuthority.create("Dated Root CA", validity=preset)
    leaf = root.issue_server("localhost", validity=preset)
    for cert in (root.certificate, leaf.certificate):
        assert (cert.not_valid_before_utc, cert.not_valid_after_utc) == VALIDITY_PRESETS[preset]
    now = dt.datetime.now(dt.UTC)
    window = VALIDITY_PRESETS[preset]
    assert (window[0] <= now < window[1]) is (preset == "valid")


def test_explicit_validity_on_cas_and_leaves():
    ca_window = (dt.datetime(2024, 3, 1, tzinfo=dt.UTC), dt.datetime(2034, 3, 1, tzinfo=dt.UTC))
    leaf_window = (dt.datetime(2025, 5, 6, 7, 8, 9, tzinfo=dt.UTC), dt.datetime(2025, 5, 7, tzinfo=dt.UTC))
    root = CertificateAuthority.create("Window Root CA", validity=ca_window)
    issuing = root.create_intermediate("Window Issuing CA", validity=ca_window)
    client = issuing.issue_client("alice@example.test", validity=leaf_window)
    assert (root.certificate.not_valid_before_utc, root.certificate.not_valid_after_utc) == ca_window
    assert (issuing.certificate.not_valid_before_utc, issuing.certificate.not_valid_after_utc) == ca_window
    assert (client.certificate.not_valid_before_utc, client.certificate.not_valid_after_utc) == leaf_window


@pytest.mark.parametrize(("where", "preset", "reason"), [
    ("leaf", "expired", "certificate has expired"),
    ("leaf", "not-yet-valid", "certificate is not yet valid"),
    ("intermediate", "expired", "certificate has expired"),
    ("root", "not-yet-valid", "certificate is not yet valid"),
])
def test_out_of_date_certificates_fail_a_real_handshake(where, preset, reason):
    root = CertificateAuthority.create("Clock Root CA", validity=preset if where == "root" else "valid")
    issuing = root.create_intermediate("Clock Issuing CA", validity=preset if where == "intermediate" else "valid")
    server = issuing.issue_server("localhost", validity=preset if where == "leaf" else "valid")
    result = handshake(server, trust=root)
    assert not result.ok
    assert reason in result.client_saw.error


# --------------------------------------------------------------------------------------------
# Requests the profile refuses


BAD_REQUESTS = [
    (lambda ca: ca.issue_server(), "at least one hostname"),
    (lambda ca: ca.issue_server("bad host"), "space or a control character"),
    (lambda ca: ca.issue_server("under_score.example.test"), "letters, digits and hyphens"),
    (lambda ca: ca.issue_server("localhost\n"), "space or a control character"),
    (lambda ca: ca.issue_server("-leading.example.test"), "not a DNS name"),
    (lambda ca: ca.issue_server("*"), "wildcard"),
    (lambda ca: ca.issue_server("a." * 127 + "test"), "at most 253"),
    (lambda ca: ca.issue_server(""), "non-empty string"),
    (lambda ca: ca.issue_server(443), "non-empty string"),
    (lambda ca: ca.issue_client("@example.test"), "name@domain"),
    (lambda ca: ca.issue_client("alice\x00@example.test"), "email"),
    (lambda ca: ca.issue_client("jürgen@example.test"), "printable ASCII"),
    (lambda ca: ca.issue_client("spiffe://example.test/sa/jürgen"), "percent-encode"),
    (lambda ca: ca.issue_client("spiffe://example.test/sa/a b"), "URI"),
    (lambda ca: ca.issue_client("1nvalid-scheme://x"), "URI"),
    (lambda ca: ca.issue_client("alice@example.test", common_name="x" * 65), "1 to 64"),
    (lambda ca: ca.issue_server("localhost", key_type="rsa-1024"),
     "ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, ed25519"),
    (lambda ca: ca.issue_client("alice@example.test", key_type="ECDSA-P256"), "unknown key type"),
    (lambda ca: ca.create_intermediate("Sub CA", key_type="dsa"), "unknown key type"),
    (lambda ca: ca.create_intermediate(""), "CA name"),
    (lambda ca: ca.create_intermediate("Sub CA", path_length=-1), "path_length"),
    (lambda ca: ca.create_intermediate("Sub CA", organization="o" * 65), "organization"),
    (lambda ca: CertificateAuthority.create("Root", key_type="ecdsa-p521"), "choose one of"),
    (lambda ca: CertificateAuthority.create(""), "CA name"),
    # An empty CA subject would be the issuer name of everything it signs: strict verifiers refuse.
    (lambda ca: CertificateAuthority.create("A very long name for a certificate authority, longer than X.509 allows"),
     "1 to 64"),
    (lambda ca: CertificateAuthority.create("Zertifizierungsstelle für Übungen, Prüfungen und Überprüfungen"),
     "UTF-8 bytes"),
    (lambda ca: CertificateAuthority.create("Root", path_length=True), "path_length"),
    (lambda ca: CertificateAuthority.create("Root", path_length="1"), "path_length"),
    (lambda ca: CertificateAuthority.create("Root", seed=1.5), "seed must be"),
]


@pytest.mark.parametrize(("request_", "message"), BAD_REQUESTS,
                         ids=[f"{i}-{message}" for i, (_, message) in enumerate(BAD_REQUESTS)])
def test_bad_requests_raise_profile_error_with_a_helpful_message(scratch_ca, request_, message):
    with pytest.raises(ProfileError, match=message) as caught:
        request_(scratch_ca)
    assert isinstance(caught.value, MtlsLibError) and isinstance(caught.value, ValueError)


@pytest.mark.parametrize(("validity", "message"), [
    ("soon", "valid, expired, not-yet-valid"),
    ((dt.datetime(2024, 1, 1), dt.datetime(2030, 1, 1)), "timezone-aware"),
    ((dt.datetime(2030, 1, 1, tzinfo=dt.UTC), dt.datetime(2024, 1, 1, tzinfo=dt.UTC)), "before it starts"),
    ((dt.datetime(2030, 1, 1, tzinfo=dt.UTC),) * 2, "before it starts"),
    (("2024-01-01", "2030-01-01"), "datetime objects"),
    (365, "pair"),
    ((dt.datetime(2024, 1, 1, tzinfo=dt.UTC),) * 3, "pair"),
])
def test_bad_validity_raises_profile_error(scratch_ca, validity, message):
    for make in (lambda: CertificateAuthority.create("Root", validity=validity),
                 lambda: scratch_ca.create_intermediate("Sub CA", validity=validity),
                 lambda: scratch_ca.issue_server("localhost", validity=validity),
                 lambda: scratch_ca.issue_client("alice@example.test", validity=validity)):
        with pytest.raises(ProfileError, match=message):
            make()


def test_a_refused_request_does_not_shift_what_a_seeded_ca_issues_next():
    with_errors = CertificateAuthority.create("Counter Root CA", seed="counter")
    without = CertificateAuthority.create("Counter Root CA", seed="counter")
    for refused in (lambda: with_errors.issue_server("localhost", validity="soon"),
                    lambda: with_errors.issue_server("localhost", key_type="rsa-1024"),
                    lambda: with_errors.issue_client("alice@example.test", common_name="x" * 65),
                    lambda: with_errors.issue_client("bad name"),
                    lambda: with_errors.create_intermediate("Sub CA", path_length=-1)):
        with pytest.raises(ProfileError):
            refused()
    assert with_errors.issue_server("localhost").certificate == without.issue_server("localhost").certificate


# --------------------------------------------------------------------------------------------
# Real verifiers


def strict_mutual_round_trip(root: CertificateAuthority, server: IssuedCertificate, client: IssuedCertificate):
    server_ctx = strict(server_context(server, trust=root, mutual=True))
    client_ctx = strict(client_context(root, certificate=client))
    assert server_ctx.verify_flags & client_ctx.verify_flags & ssl.VERIFY_X509_STRICT
    return round_trip(server_ctx, client_ctx)


def test_defaults_pass_openssl_strict_checks_in_a_real_mutual_handshake(hierarchy):
    reply, server_saw = strict_mutual_round_trip(hierarchy.root, hierarchy.server, hierarchy.client)
    assert server_saw.error is None, str(server_saw)
    assert reply == b"hello alice@example.test\n"
    assert server_saw.peer_names == ("email:alice@example.test",)


def leaf_without_authority_key_identifier(issuer: CertificateAuthority) -> IssuedCertificate:
    """A server certificate like issue_server's but missing the AKI, which X.509 strict mode requires."""
    key = ec.generate_private_key(ec.SECP256R1())
    reference = issuer.issue_server("localhost").certificate
    builder = (x509.CertificateBuilder().subject_name(reference.subject).issuer_name(reference.issuer)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(reference.not_valid_before_utc).not_valid_after(reference.not_valid_after_utc))
    for ext in reference.extensions:
        if not isinstance(ext.value, x509.AuthorityKeyIdentifier):
            builder = builder.add_extension(ext.value, ext.critical)
    return IssuedCertificate(builder.sign(issuer.private_key, hashes.SHA256()), key)


def test_strict_mode_has_teeth(scratch_ca):
    # Control for the test above: the same handshake with a certificate that breaks one strict rule.
    lax_server = leaf_without_authority_key_identifier(scratch_ca)
    reply, server_saw = round_trip(server_context(lax_server), client_context(scratch_ca))
    assert reply == b"hello anonymous (no client certificate)\n", server_saw
    reply, _ = round_trip(server_context(lax_server), strict(client_context(scratch_ca)))
    assert isinstance(reply, ssl.SSLCertVerificationError)
    assert "Missing Authority Key Identifier" in reply.verify_message


def verifier_result(root: CertificateAuthority, leaf: IssuedCertificate, intermediates, kind: str,
                    hostname: str = "localhost", when: dt.datetime = VERIFICATION_TIME):
    builder = PolicyBuilder().store(Store([root.certificate])).time(when)
    verifier = (builder.build_server_verifier(x509.DNSName(hostname)) if kind == "server"
                else builder.build_client_verifier())
    return verifier.verify(leaf.certificate, [c.certificate for c in intermediates])


def test_cryptography_verifier_accepts_the_defaults(hierarchy):
    chain = [hierarchy.issuing]
    if hierarchy.key_type == "ed25519":
        # cryptography's verifier follows the Web PKI profile, which has no Ed25519 (OpenSSL does).
        for kind, leaf in (("server", hierarchy.server), ("client", hierarchy.client)):
            with pytest.raises(VerificationError, match="Forbidden public key algorithm"):
                verifier_result(hierarchy.root, leaf, chain, kind)
        return
    server_chain = verifier_result(hierarchy.root, hierarchy.server, chain, "server")
    assert server_chain == [hierarchy.server.certificate, hierarchy.issuing.certificate, hierarchy.root.certificate]
    verified = verifier_result(hierarchy.root, hierarchy.client, chain, "client")
    assert verified.subjects == [x509.RFC822Name("alice@example.test")]
    assert verified.chain[-1] == hierarchy.root.certificate


@pytest.mark.parametrize(("make_leaf", "kind", "hostname", "when", "reason"), [
    (lambda ca: ca.issue_client("localhost"), "server", "localhost", VERIFICATION_TIME, "required EKU not found"),
    (lambda ca: ca.issue_server("alice@example.test"), "client", None, VERIFICATION_TIME, "required EKU not found"),
    (lambda ca: ca.issue_server("localhost"), "server", "other.example.test", VERIFICATION_TIME,
     "no matching subjectAltName"),
    (lambda ca: ca.issue_server("localhost"), "server", "localhost", dt.datetime(2080, 1, 1, tzinfo=dt.UTC),
     "not valid at validation time"),
])
def test_cryptography_verifier_refuses_misuse(scratch_ca, scratch_issuing, make_leaf, kind, hostname, when, reason):
    with pytest.raises(VerificationError, match=reason):
        verifier_result(scratch_ca, make_leaf(scratch_issuing), [scratch_issuing], kind, hostname, when)


# --------------------------------------------------------------------------------------------
# Determinism

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


# --------------------------------------------------------------------------------------------
# Revocation


@pytest.fixture
def revoking_hierarchy():
    """A fresh hierarchy per test, because revoking changes the CA."""
    root = CertificateAuthority.create("Revoking Root CA")
    issuing = root.create_intermediate("Revoking Issuing CA")
    return root, issuing


def test_crl_is_signed_by_the_ca_and_lists_the_revoked_serial(hierarchy):
    # A throw-away intermediate of each key type: the shared hierarchy itself must stay unrevoked.
    issuing = hierarchy.root.create_intermediate("CRL Issuing CA")
    revoked, kept = issuing.issue_client("mallory@example.test"), issuing.issue_client("alice@example.test")
    empty = x509.load_pem_x509_crl(issuing.crl_pem)
    assert len(empty) == 0
    issuing.revoke(revoked)
    crl = x509.load_pem_x509_crl(issuing.crl_pem)
    assert crl.issuer == issuing.certificate.subject
    assert crl.is_signature_valid(issuing.certificate.public_key())
    assert not crl.is_signature_valid(hierarchy.root.certificate.public_key())
    assert crl.get_revoked_certificate_by_serial_number(revoked.certificate.serial_number) is not None
    assert crl.get_revoked_certificate_by_serial_number(kept.certificate.serial_number) is None
    assert issuing.revoked_serials == (revoked.certificate.serial_number,)
    aki = crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == extension(issuing.certificate, x509.SubjectKeyIdentifier).value.digest
    assert crl.last_update_utc <= dt.datetime.now(dt.UTC) < crl.next_update_utc


def test_revoking_twice_lists_the_certificate_once_and_reasons_are_recorded(revoking_hierarchy):
    _, issuing = revoking_hierarchy
    leaf = issuing.issue_server("localhost")
    issuing.revoke(leaf, reason=x509.ReasonFlags.key_compromise)
    issuing.revoke(leaf.certificate)
    crl = x509.load_pem_x509_crl(issuing.crl_pem)
    assert len(crl) == 1
    entry = crl.get_revoked_certificate_by_serial_number(leaf.certificate.serial_number)
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason is x509.ReasonFlags.key_compromise


@pytest.mark.parametrize("issued_by", ["root", "another CA", "another CA with the same name"])
def test_revoking_a_certificate_from_another_ca_raises(revoking_hierarchy, issued_by):
    root, issuing = revoking_hierarchy
    issuer = {"root": root,
              "another CA": CertificateAuthority.create("Stranger CA"),
              "another CA with the same name": CertificateAuthority.create("Revoking Root CA").create_intermediate(
                  "Revoking Issuing CA")}[issued_by]
    foreign = issuer.issue_client("mallory@example.test")
    with pytest.raises(ProfileError, match="revoke it with the CA that issued it"):
        issuing.revoke(foreign)
    assert issuing.revoked_serials == ()


def crl_file(tmp_path: Path, ca: CertificateAuthority) -> str:
    path = tmp_path / "crl.pem"
    path.write_bytes(ca.crl_pem)
    return str(path)


def test_server_checking_the_crl_refuses_a_revoked_client(revoking_hierarchy, tmp_path):
    root, issuing = revoking_hierarchy
    server = issuing.issue_server("localhost")
    revoked, kept = issuing.issue_client("mallory@example.test"), issuing.issue_client("alice@example.test")
    issuing.revoke(revoked)

    def server_ctx():
        ctx = server_context(server, trust=root, mutual=True)
        ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
        ctx.load_verify_locations(cafile=crl_file(tmp_path, issuing))  # cadata= takes no CRLs
        return ctx

    reply, server_saw = round_trip(server_ctx(), client_context(root, certificate=revoked))
    assert "certificate revoked" in server_saw.error
    # TLS 1.3: the client finished its handshake before the verdict; whether it then reads the
    # alert or only the closed connection is a race, but it never gets an answer.
    assert not isinstance(reply, bytes) or reply == b"", reply
    reply, server_saw = round_trip(server_ctx(), client_context(root, certificate=kept))
    assert reply == b"hello alice@example.test\n", str(server_saw)


def test_client_checking_the_crl_refuses_a_revoked_server(revoking_hierarchy, tmp_path):
    root, issuing = revoking_hierarchy
    revoked, kept = issuing.issue_server("localhost"), issuing.issue_server("localhost")
    issuing.revoke(revoked)

    def client_ctx(with_crl: bool = True):
        ctx = client_context(root)
        ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
        if with_crl:
            ctx.load_verify_locations(cafile=crl_file(tmp_path, issuing))
        return ctx

    reply, _ = round_trip(server_context(revoked), client_ctx())
    assert isinstance(reply, ssl.SSLCertVerificationError) and reply.verify_message == "certificate revoked"
    reply, _ = round_trip(server_context(kept), client_ctx())
    assert reply == b"hello anonymous (no client certificate)\n"
    # The flag without a CRL fails closed rather than silently accepting.
    reply, _ = round_trip(server_context(kept), client_ctx(with_crl=False))
    assert isinstance(reply, ssl.SSLCertVerificationError) and reply.verify_message == "unable to get certificate CRL"


# --------------------------------------------------------------------------------------------
# Files: write, load, PKCS#12


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_write_puts_the_chain_and_a_private_key_on_disk(issuing_ca, server_cert, tmp_path):
    cert_path, key_path = server_cert.write(tmp_path / "new" / "dir")
    assert (cert_path.name, key_path.name) == ("localhost.pem", "localhost.key")
    assert cert_path.read_bytes() == server_cert.chain_pem
    assert key_path.read_bytes() == server_cert.key_pem
    assert mode(key_path) == 0o600
    ca_cert_path, ca_key_path = issuing_ca.write(tmp_path, stem="my-ca")
    assert (ca_cert_path.name, ca_key_path.name) == ("my-ca.pem", "my-ca.key")
    assert mode(ca_key_path) == 0o600


def test_default_file_names(ca, issuing_ca, client_cert, tmp_path):
    assert ca.write(tmp_path)[0].name == "root-ca.pem"
    assert issuing_ca.write(tmp_path)[0].name == "issuing-ca.pem"
    assert client_cert.write(tmp_path)[1].name == "alice-example.test.key"


def test_write_tightens_an_existing_world_readable_key_file(server_cert, tmp_path):
    key_path = tmp_path / "localhost.key"
    key_path.write_bytes(b"old contents, longer than nothing")
    key_path.chmod(0o644)
    _, written = server_cert.write(tmp_path)
    assert written == key_path
    assert mode(key_path) == 0o600
    assert key_path.read_bytes() == server_cert.key_pem
    p12 = tmp_path / "server.p12"
    p12.write_bytes(b"")
    p12.chmod(0o644)
    server_cert.write_pkcs12(p12, "secret")
    assert mode(p12) == 0o600


def test_load_gives_back_what_write_wrote(issuing_ca, client_cert, tmp_path):
    cert_path, key_path = client_cert.write(tmp_path)
    loaded = IssuedCertificate.load(cert_path, key_path)
    assert loaded.certificate == client_cert.certificate
    assert loaded.chain_pem == client_cert.chain_pem
    assert loaded.key_pem == client_cert.key_pem


def test_load_an_encrypted_key(server_cert, tmp_path):
    cert_path, _ = server_cert.write(tmp_path)
    key_path = tmp_path / "encrypted.key"
    key_path.write_bytes(server_cert.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret")))
    assert IssuedCertificate.load(cert_path, key_path, password=b"secret").key_pem == server_cert.key_pem


def test_a_loaded_root_ca_issues_certificates_its_original_trust_accepts(tmp_path):
    original = CertificateAuthority.create("Reloaded Root CA")
    loaded = CertificateAuthority.load(*original.write(tmp_path))
    server = loaded.issue_server("localhost")
    assert server.chain_pem == server.cert_pem
    assert handshake(server, trust=original).ok


def test_a_loaded_intermediate_hands_its_chain_on(tmp_path):
    root = CertificateAuthority.create("Reloaded Root CA")
    upper = root.create_intermediate("Upper CA", path_length=1)
    lower = upper.create_intermediate("Lower CA")
    loaded = CertificateAuthority.load(*lower.write(tmp_path))
    assert loaded.chain_pem == lower.chain_pem
    server = loaded.issue_server("localhost")
    assert x509.load_pem_x509_certificates(server.chain_pem) == [
        server.certificate, lower.certificate, upper.certificate]
    result = handshake(server, trust=root)
    assert result.ok, str(result)


def test_a_leaf_is_not_loaded_as_a_ca(server_cert, tmp_path):
    cert_path, key_path = server_cert.write(tmp_path)
    with pytest.raises(CertificateLoadError, match="not a CA") as caught:
        CertificateAuthority.load(cert_path, key_path)
    assert str(cert_path) in str(caught.value)


@pytest.mark.parametrize("password", ["secret", b"secret"])
def test_pkcs12_round_trip(hierarchy, tmp_path, password):
    path = hierarchy.server.write_pkcs12(tmp_path / "server.p12", password)
    assert mode(path) == 0o600
    loaded = load_pkcs12(path, password)
    assert loaded.certificate == hierarchy.server.certificate
    assert loaded.chain_pem == hierarchy.server.chain_pem
    assert loaded.key_pem == hierarchy.server.key_pem
    bundle = pkcs12.load_pkcs12(hierarchy.server.to_pkcs12(password), b"secret")
    assert bundle.cert.friendly_name == b"localhost"
    assert [c.certificate for c in bundle.additional_certs] == [hierarchy.issuing.certificate]


def test_pkcs12_without_a_password(client_cert, tmp_path):
    path = client_cert.write_pkcs12(tmp_path / "client.p12")
    assert load_pkcs12(path).certificate == client_cert.certificate


@pytest.mark.parametrize("password", ["wrong", None])
def test_pkcs12_wrong_password(server_cert, tmp_path, password):
    path = server_cert.write_pkcs12(tmp_path / "server.p12", "secret")
    with pytest.raises(CertificateLoadError, match="wrong password") as caught:
        load_pkcs12(path, password)
    assert str(path) in str(caught.value)


# --------------------------------------------------------------------------------------------
# Bad input: every failure names the file and the problem


def der_certificate(cert: IssuedCertificate) -> bytes:
    return cert.certificate.public_bytes(serialization.Encoding.DER)


def damaged_pem(pem: bytes) -> bytes:
    lines = pem.splitlines(keepends=True)
    lines[2] = b"!!!!" + lines[2][4:]
    return b"".join(lines)


def encrypted_key(cert: IssuedCertificate) -> bytes:
    return cert.private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.BestAvailableEncryption(b"secret"))


# (what is wrong, which file is named, cert file contents, key file contents, password, expected message)
BAD_INPUTS = [
    ("missing certificate", "cert", None, "key", None, "no such file"),
    ("missing key", "key", "cert", None, None, "no such file"),
    ("certificate path is a directory", "cert", "dir", "key", None, "is a directory"),
    ("garbage certificate", "cert", b"this is not a certificate\n", "key", None, "no PEM certificate"),
    ("empty certificate", "cert", b"", "key", None, "no PEM certificate"),
    # Text that happens to start with "0" (0x30, the DER SEQUENCE tag) is not DER.
    ("text starting with 0", "cert", b"0 certificates here\n", "key", None, "no PEM certificate"),
    ("damaged certificate", "cert", lambda c: damaged_pem(c.cert_pem), "key", None, "damaged"),
    ("DER certificate", "cert", der_certificate, "key", None, "DER"),
    ("garbage key", "key", "cert", b"not a key\n", None, "no PEM private key"),
    ("damaged key", "key", "cert", lambda c: damaged_pem(c.key_pem), None, "damaged"),
    ("DER key", "key", "cert", lambda c: c.private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()), None, "DER"),
    ("encrypted key, no password", "key", "cert", encrypted_key, None, "encrypted; give its password"),
    ("encrypted key, wrong password", "key", "cert", encrypted_key, b"wrong", "wrong password"),
    ("plain key, password given", "key", "cert", "key", b"secret", "not encrypted"),
    ("key of another certificate", "key", "cert", "other key", None, "does not belong"),
]


@pytest.mark.parametrize(("problem", "named", "cert_contents", "key_contents", "password", "message"), BAD_INPUTS,
                         ids=[case[0] for case in BAD_INPUTS])
def test_bad_input_raises_certificate_load_error_naming_the_file(
        scratch_ca, server_cert, tmp_path, problem, named, cert_contents, key_contents, password, message):
    other = scratch_ca.issue_server("localhost")

    def materialize(name: str, contents) -> Path:
        path = tmp_path / name
        if contents == "dir":
            path.mkdir()
        elif contents is not None:
            path.write_bytes({"cert": server_cert.chain_pem, "key": server_cert.key_pem,
                              "other key": other.key_pem}.get(contents, b"") if isinstance(contents, str)
                             else contents(server_cert) if callable(contents) else contents)
        return path

    paths = {"cert": materialize("server.pem", cert_contents), "key": materialize("server.key", key_contents)}
    for load in (IssuedCertificate.load, CertificateAuthority.load):
        with pytest.raises(CertificateLoadError, match=message) as caught:
            load(paths["cert"], paths["key"], password=password)
        assert isinstance(caught.value, MtlsLibError)
        assert str(caught.value).startswith(f"{paths[named]}: ")
    if problem == "key of another certificate":
        assert str(paths["cert"]) in str(caught.value)


# Encrypted with "secret". With "wrong" it decrypts to bytes whose padding happens to be valid, so
# cryptography reports a parse error instead of a bad password: the rare case a wrong password
# must not be called a damaged key.
UNLUCKY_ENCRYPTED_KEY = b"""-----BEGIN ENCRYPTED PRIVATE KEY-----
MIH0MF8GCSqGSIb3DQEFDTBSMDEGCSqGSIb3DQEFDDAkBBDV1lzh4rL6C0DWRfS5
WrDVAgIIADAMBggqhkiG9w0CCQUAMB0GCWCGSAFlAwQBKgQQS9lvr+CV7fu33DEO
JrNlwASBkGSNGG3qUoej8JJgeQ7KAb8KenDaYlVQBNkb+QL7rYmFEfJqzM07WZPu
ioJ4kDIMEYiGi31PHXVjzVJIeTX2j2TN2mXOMz+oaoP4hFpcaj50/zwbwsW8iLqB
5DUr/4vz++blEg2Y6DoqBYrRHPvxbIgf+rQ6CRZrf9BOmGVmW/+kib3rqFNtYXi7
Sn162udlRw==
-----END ENCRYPTED PRIVATE KEY-----
"""


def test_a_wrong_password_is_reported_as_such_even_when_decryption_seems_to_succeed(server_cert, tmp_path):
    with pytest.raises(ValueError, match="Could not deserialize"):
        serialization.load_pem_private_key(UNLUCKY_ENCRYPTED_KEY, b"wrong")
    assert serialization.load_pem_private_key(UNLUCKY_ENCRYPTED_KEY, b"secret")
    cert_path, _ = server_cert.write(tmp_path)
    key_path = tmp_path / "unlucky.key"
    key_path.write_bytes(UNLUCKY_ENCRYPTED_KEY)
    with pytest.raises(CertificateLoadError, match="wrong password") as caught:
        IssuedCertificate.load(cert_path, key_path, password=b"wrong")
    assert str(caught.value).startswith(f"{key_path}: ")


def test_load_pkcs12_of_a_non_pkcs12_file(server_cert, tmp_path):
    path = tmp_path / "server.p12"
    path.write_bytes(server_cert.chain_pem)
    with pytest.raises(CertificateLoadError, match="not a PKCS#12 file") as caught:
        load_pkcs12(path, "secret")
    assert str(caught.value).startswith(f"{path}: ")


# --------------------------------------------------------------------------------------------
# describe()


def test_describe_a_server_certificate(issuing_ca, server_cert):
    fields = describe_fields(describe(server_cert))
    assert fields["subject"] == "CN=localhost"
    assert fields["issuer"] == "CN=Test Issuing CA"
    assert fields["valid"] == "2025-01-01 00:00 to 2075-01-01 00:00 UTC"
    assert fields["SAN"] == "DNS:localhost, IP:127.0.0.1"
    assert fields["key usage"] == "digitalSignature"
    assert fields["ext. key usage"] == "serverAuth"
    assert fields["CA"] == "no"
    assert fields["key"] == "ecdsa-p256"
    assert fields["signature"] == "ecdsa-with-SHA256"
    assert int(fields["serial"], 16) == server_cert.certificate.serial_number
    assert fields["SHA-256"] == server_cert.certificate.fingerprint(hashes.SHA256()).hex(":").upper()
    assert fields["SHA-256"] == server_cert.fingerprint
    # Every accepted form describes the same certificate.
    for form in (server_cert.certificate, server_cert.cert_pem, server_cert.cert_pem.decode()):
        assert describe(form) == server_cert.describe()


def test_describe_a_client_certificate(client_cert):
    fields = describe_fields(client_cert.describe())
    assert fields["subject"] == "CN=alice@example.test"
    assert fields["SAN"] == "email:alice@example.test"
    assert fields["ext. key usage"] == "clientAuth"


def test_describe_cas_and_rsa_keys():
    root = CertificateAuthority.create("Describe Root CA", key_type="rsa-2048", validity="expired")
    issuing = root.create_intermediate("Describe Issuing CA", key_type="ecdsa-p384")
    fields = describe_fields(describe(root))
    assert fields["CA"] == "yes, no path length limit"
    assert fields["key usage"] == "digitalSignature, keyCertSign, cRLSign"
    assert fields["key"] == "rsa-2048"
    assert fields["valid"] == "2000-01-01 00:00 to 2001-01-01 00:00 UTC"
    assert describe_fields(describe(issuing))["CA"] == "yes, path length 0"
    server = issuing.issue_server("localhost", key_type="rsa-2048")
    fields = describe_fields(server.describe())
    assert fields["key usage"] == "digitalSignature, keyEncipherment"
    assert fields["signature"] == "ecdsa-with-SHA384"
    long_uri = issuing.issue_client("spiffe://example.test/" + "s" * 64)
    assert describe_fields(long_uri.describe())["subject"] == "(empty)"


def test_ssl_files_hold_their_bytes_for_ssl_and_leave_nothing_behind(tmp_path):
    with SslFiles(cert=b"certificate", key=b"private key", keylog=b"") as paths:
        assert Path(paths["cert"]).read_bytes() == b"certificate"
        assert Path(paths["key"]).read_bytes() == b"private key"
        if sys.platform == "linux":  # anonymous memory: the private key never reaches a disk
            assert all(path.startswith("/proc/self/fd/") for path in paths.values())
        else:
            assert stat.S_IMODE(os.stat(paths["key"]).st_mode) == 0o600
        with open(paths["keylog"], "a") as keylog:  # as ssl appends its key log
            keylog.write("CLIENT_RANDOM 00 11\n")
        assert Path(paths["keylog"]).read_text() == "CLIENT_RANDOM 00 11\n"
    assert not any(Path(path).exists() and Path(path).read_bytes() == b"private key" for path in paths.values())


def test_a_seeded_rsa_key_is_the_same_in_every_version_of_the_derivation():
    # Chapters store outputs made from seeded RSA keys: a faster prime search must find the same primes.
    root = CertificateAuthority.create("Course Root CA", seed="pinned", key_type="rsa-2048")
    modulus = root.private_key.public_key().public_numbers().n.to_bytes(256, "big")
    assert hashlib.sha256(modulus).hexdigest()[:32] == "43b64238caaf075a4c387bcb280e606c"
