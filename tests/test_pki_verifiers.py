"""mtlslib.pki's certificates before real verifiers, and revocation.

OpenSSL checks them through ``ssl`` (with VERIFY_X509_STRICT, in a real loopback handshake) and so does
cryptography's own path validator; CRLs are checked by both ends of a real handshake. The command-line
OpenSSL checks live in test_openssl_interop.py.
"""

from __future__ import annotations

import datetime as dt
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError
from loopback_round_trip import round_trip, strict

from mtlslib.errors import ProfileError
from mtlslib.pki import CertificateAuthority, IssuedCertificate
from mtlslib.tls import client_context, server_context

# Inside the "valid" preset, so results do not depend on the day the tests run.
VERIFICATION_TIME = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def scratch_issuing(scratch_ca) -> CertificateAuthority:
    return scratch_ca.create_intermediate("Scratch Issuing CA")


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
    ski = issuing.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest
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
