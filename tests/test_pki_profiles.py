"""mtlslib.pki: what a certificate holds (profiles, names, validity), the requests the profile refuses,
and describe().

Profiles are checked field by field here; test_pki_verifiers.py has real verifiers check them too.
"""

from __future__ import annotations

import datetime as dt
import ipaddress

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mtlslib import handshake
from mtlslib.errors import MtlsLibError, ProfileError
from mtlslib.pki import VALIDITY_PRESETS, CertificateAuthority, describe, key_type_of


def extension(cert: x509.Certificate, ext_type) -> x509.Extension:
    return cert.extensions.get_extension_for_class(ext_type)


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
