"""The broken verifiers accept their attack certificates; the real verifiers (OpenSSL in a real
handshake, cryptography's path validator) and the corrected functions refuse them."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from mtlslib.display import Shown
from mtlslib.errors import ProfileError, UsageError
from mtlslib.insecure.verifiers import (
    GNUTLS_ERROR,
    SignatureCheck,
    check_signature,
    check_signature_goto_fail,
    dns_names,
    forged_signature,
    hostname_matches,
    hostname_matches_c_string,
    in_validity_period,
    is_ca,
    issuer_signed_gnutls,
    leaf_as_ca,
    nul_byte_name,
    unverifiable_signature,
    verify_chain,
    verify_chain_ignoring_basic_constraints,
)
from mtlslib.pki import CertificateAuthority

BANK = "www.bank.test"


@pytest.fixture(scope="module")
def public_ca():
    return CertificateAuthority.create("Public Web CA", seed="test-verifiers")


@pytest.fixture(scope="module")
def issuing_ca(public_ca):
    return public_ca.create_intermediate("Public Issuing CA")


@pytest.fixture(scope="module")
def attacker_leaf(public_ca):
    return public_ca.issue_server("attacker.test")


def chain_of(certificate):
    return x509.load_pem_x509_certificates(certificate.chain_pem)


# --------------------------------------------------------------------------------------------
# Each attack: the real verifiers refuse, the broken check accepts, the correct one refuses


def test_goto_fail(public_ca):
    attack = forged_signature(public_ca, BANK, seed="t")
    verdicts = attack.real_verdicts()
    assert verdicts.openssl.endswith("certificate verify failed: certificate signature failure")
    assert "signature does not match" in verdicts.cryptography and verdicts.both_refuse
    ca = public_ca.certificate
    assert check_signature_goto_fail(attack.leaf, ca) == SignatureCheck.OK
    assert check_signature(attack.leaf, ca) == SignatureCheck.BAD_SIGNATURE
    # The name and the key identifier point at the real CA: only the signature gives it away.
    assert attack.leaf.issuer == ca.subject
    assert (attack.leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
            == ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest)


def test_gnutls_error_read_as_success(public_ca):
    attack = unverifiable_signature(public_ca, BANK, seed="t")
    verdicts = attack.real_verdicts()
    assert verdicts.openssl.endswith("unable to get local issuer certificate")  # no CA of that key type
    assert verdicts.both_refuse
    result = issuer_signed_gnutls(attack.leaf, public_ca.certificate)
    assert result == GNUTLS_ERROR and bool(result) is True
    assert check_signature(attack.leaf, public_ca.certificate) == SignatureCheck.ALGORITHM_MISMATCH
    assert issuer_signed_gnutls(forged_signature(public_ca, BANK).leaf, public_ca.certificate) == 0


def test_unverifiable_signature_under_an_rsa_ca_uses_an_ecdsa_key():
    rsa_ca = CertificateAuthority.create("RSA CA", key_type="rsa-2048")  # unseeded: seeded RSA is slow
    attack = unverifiable_signature(rsa_ca, BANK)
    assert "ecdsa" in attack.leaf.signature_algorithm_oid._name.lower()
    assert issuer_signed_gnutls(attack.leaf, rsa_ca.certificate) == GNUTLS_ERROR
    assert attack.real_verdicts().both_refuse


@pytest.mark.parametrize("under_intermediate", [False, True])
def test_leaf_used_as_a_ca(public_ca, issuing_ca, attacker_leaf, under_intermediate):
    leaf = issuing_ca.issue_server("attacker.test") if under_intermediate else attacker_leaf
    attack = leaf_as_ca(leaf, BANK, seed="t")
    assert attack.chain[1] == leaf.certificate
    assert len(attack.chain) == (3 if under_intermediate else 2)
    assert attack.trust is public_ca
    verdicts = attack.real_verdicts()
    assert verdicts.openssl.endswith("certificate verify failed: invalid CA certificate")
    assert "basicConstraints.cA must be asserted" in verdicts.cryptography
    assert verify_chain_ignoring_basic_constraints(attack.chain, attack.roots)
    assert not verify_chain(attack.chain, attack.roots)
    assert all(check_signature(cert, issuer) == SignatureCheck.OK  # every signature is genuine
               for cert, issuer in zip(attack.chain, [*attack.chain[1:], public_ca.certificate]))


def test_nul_byte_in_a_name(public_ca):
    attack = nul_byte_name(public_ca, BANK, "attacker.test", seed="t")
    (name,) = dns_names(attack.leaf)
    assert name == f"{BANK}\x00.attacker.test"
    verdicts = attack.real_verdicts()
    assert verdicts.openssl.endswith(f"Hostname mismatch, certificate is not valid for '{BANK}'.")
    assert "no matching subjectAltName" in verdicts.cryptography
    assert hostname_matches_c_string(name, BANK)
    assert not hostname_matches(name, BANK)
    assert verify_chain(attack.chain, attack.roots)  # a genuine certificate: only its name is a trick


def test_attacks_under_an_intermediate_present_the_intermediate(public_ca, issuing_ca):
    forged = forged_signature(issuing_ca, BANK, seed="t")
    assert forged.chain[1:] == [issuing_ca.certificate] and forged.roots == [public_ca.certificate]
    assert forged.real_verdicts().openssl.endswith("certificate signature failure")
    nul = nul_byte_name(issuing_ca, BANK, "attacker.test", seed="t")
    assert nul.real_verdicts().openssl.endswith("Hostname mismatch, certificate is not valid for 'www.bank.test'.")


def test_real_verdicts_accept_a_genuine_certificate(public_ca, attacker_leaf):
    attack = nul_byte_name(public_ca, "attacker.test", "example.test", seed="t")
    genuine = type(attack)("none", attacker_leaf, public_ca, "attacker.test")
    verdicts = genuine.real_verdicts()
    assert (verdicts.openssl, verdicts.cryptography) == ("accepted", "accepted") and not verdicts.both_refuse
    assert "OpenSSL (ssl, a real handshake): accepted" in str(verdicts)
    assert isinstance(verdicts, Shown)


def test_seeded_attack_certificates_are_reproducible(public_ca, attacker_leaf):
    for make in (lambda seed: forged_signature(public_ca, BANK, seed=seed),
                 lambda seed: leaf_as_ca(attacker_leaf, BANK, seed=seed),
                 lambda seed: nul_byte_name(public_ca, BANK, "attacker.test", seed=seed)):
        assert make("same").leaf == make("same").leaf
        assert make("same").leaf != make("other").leaf
        assert make(None).leaf != make(None).leaf


def test_attack_builders_refuse_bad_input(public_ca, attacker_leaf):
    with pytest.raises(ProfileError, match="hostname must be a DNS name"):
        forged_signature(public_ca, "www.bank.test\x00")
    with pytest.raises(UsageError, match="is a CA"):
        leaf_as_ca(public_ca, BANK)
    with pytest.raises(UsageError, match="must be an IssuedCertificate"):
        leaf_as_ca(attacker_leaf.cert_pem, BANK)
    with pytest.raises(ProfileError, match="hostname must be a DNS name"):
        nul_byte_name(public_ca, BANK, "")


# --------------------------------------------------------------------------------------------
# The correct building blocks agree with cryptography's verifier


def crypto_accepts(chain, roots, at=None) -> bool:
    leaf = chain[0]
    verifier = (PolicyBuilder().store(Store(roots)).time(at or dt.datetime.now(dt.UTC))
                .build_server_verifier(x509.DNSName(dns_names(leaf)[0].split("\x00")[0])))
    try:
        verifier.verify(leaf, chain[1:])
        return True
    except VerificationError:
        return False


def test_verify_chain_agrees_with_cryptography(public_ca, issuing_ca, attacker_leaf):
    other_root = CertificateAuthority.create("Other Root", seed="test-verifiers")
    roots = [public_ca.certificate]
    chains = {
        "leaf under the root": chain_of(public_ca.issue_server(BANK)),
        "leaf under an intermediate": chain_of(issuing_ca.issue_server(BANK)),
        "leaf as CA": leaf_as_ca(attacker_leaf, BANK, seed="t").chain,
        "forged": forged_signature(public_ca, BANK, seed="t").chain,
        "forged under intermediate": forged_signature(issuing_ca, BANK, seed="t").chain,
        "unverifiable": unverifiable_signature(public_ca, BANK).chain,
        "other root": chain_of(other_root.issue_server(BANK)),
        "intermediate missing": chain_of(issuing_ca.issue_server(BANK))[:1],
        "expired": chain_of(public_ca.issue_server(BANK, validity="expired")),
        "not yet valid": chain_of(public_ca.issue_server(BANK, validity="not-yet-valid")),
    }
    verdicts = {name: (verify_chain(chain, roots), crypto_accepts(chain, roots)) for name, chain in chains.items()}
    assert all(ours == theirs for ours, theirs in verdicts.values()), verdicts
    assert [name for name, (ours, _) in verdicts.items() if ours] == ["leaf under the root",
                                                                     "leaf under an intermediate"]


def test_verify_chain_checks_dates_at_the_given_time(public_ca):
    chain = chain_of(public_ca.issue_server(BANK))
    assert verify_chain(chain, [public_ca.certificate], dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    assert not verify_chain(chain, [public_ca.certificate], dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
    assert not verify_chain(chain, [public_ca.certificate], dt.datetime(2080, 1, 1, tzinfo=dt.UTC))
    assert in_validity_period(chain[0]) and not in_validity_period(chain[0], dt.datetime(2080, 1, 1, tzinfo=dt.UTC))


def test_check_signature_reports_the_first_failing_step(public_ca):
    other = CertificateAuthority.create("Other Root", seed="test-verifiers")
    genuine = public_ca.issue_server(BANK).certificate
    assert check_signature(genuine, public_ca.certificate) == SignatureCheck.OK
    assert check_signature(genuine, other.certificate) == SignatureCheck.WRONG_ISSUER_NAME
    assert check_signature_goto_fail(genuine, other.certificate) == SignatureCheck.WRONG_ISSUER_NAME
    assert issuer_signed_gnutls(genuine, public_ca.certificate) == 1


def test_is_ca_reads_basic_constraints(public_ca, attacker_leaf):
    assert is_ca(public_ca.certificate) and not is_ca(attacker_leaf.certificate)


def test_hostname_matching():
    assert hostname_matches("WWW.Bank.Test", BANK) and hostname_matches_c_string("WWW.Bank.Test", BANK)
    for name in ("bank.test", "www.bank.test.attacker.test", f"{BANK}\x00"):
        assert not hostname_matches(name, BANK)
    assert hostname_matches_c_string(f"{BANK}\x00anything", BANK)


def test_dns_names_of_a_certificate_without_san():
    cert = x509.load_pem_x509_certificate(CertificateAuthority.create("No SAN", seed="t").cert_pem)
    assert dns_names(cert) == []
