"""mtlslib.lessons.scenarios and mtlslib.insecure.certificates: every scenario of the catalogue, run for real.

Each scenario's predicted outcome is held against a real loopback handshake (OpenSSL through
``ssl``), and against cryptography's ``PolicyBuilder`` verifier where it applies. Where the two
verifiers decide differently, the scenario must say so (and only then).
"""

from __future__ import annotations

import json
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from mtlslib.errors import ProfileError, UsageError
from mtlslib.insecure import certificates as broken
from mtlslib.lessons.scenarios import (
    CATALOGUE,
    SCENARIOS,
    Expected,
    client_ctx,
    disagreement_table,
    exchange,
    server_ctx,
    show,
    summary_table,
)
from mtlslib.pki import CertificateAuthority
from mtlslib.tls import handshake


@pytest.fixture(scope="module")
def outcomes():
    """Every scenario run once (a third of a second in all); tests below read the results."""
    return {scenario.name: scenario.run() for scenario in CATALOGUE}


# --------------------------------------------------------------------------------------------
# The catalogue as a whole


def test_the_catalogue_is_big_enough_and_its_names_are_unique():
    server_side = [s for s in CATALOGUE if s.side == "server"]
    client_side = [s for s in CATALOGUE if s.side == "client"]
    assert len(server_side) >= 18 and len(client_side) >= 11
    assert len(SCENARIOS) == len(CATALOGUE)
    for scenario in CATALOGUE:
        assert scenario.title and len(scenario.story) > 30, f"{scenario.name} does not explain itself"
        assert scenario.side in ("server", "client")


# Every row of the measured facts on verification (the table the catalogue was built from), and
# the scenario that reproduces it.
FACT_ROWS = json.loads((Path(__file__).parent / "data" / "verification_fact_rows.json").read_text())


def test_every_measured_fact_has_its_scenario():
    missing = {fact: name for fact, name in FACT_ROWS.items() if name not in SCENARIOS}
    assert not missing


# --------------------------------------------------------------------------------------------
# Each scenario against OpenSSL


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_outcome_is_what_openssl_really_does(name, outcomes):
    scenario, outcome = SCENARIOS[name], outcomes[name]
    if name == "sha1" and outcome.stage != "load":  # OpenSSL 3.5 loads it; its client refuses it instead
        assert outcome.refused_by == "client" and outcome.reason == "CA signature digest algorithm too weak"
        return
    assert scenario.expected.matches(outcome), (
        f"{name}: expected {scenario.expected} (alert {scenario.expected.alert!r}), "
        f"but the real handshake gave:\n{outcome}")


@pytest.mark.parametrize("name", [s.name for s in CATALOGUE if not s.expected.accepted])
def test_a_refusal_names_its_reason_and_the_refusing_side(name, outcomes):
    outcome = outcomes[name]
    assert outcome.refused_by in ("client", "server", "server application")
    assert outcome.reason, f"{name}: refused without a reason"
    assert not outcome.accepted
    if outcome.stage == "handshake":
        # The other side learned of it through an alert, and reports the alert by name.
        assert outcome.alert, f"{name}: the other side received no alert:\n{outcome}"


def test_no_application_greets_as_anonymous_a_client_whose_certificate_the_server_saw(outcomes):
    for name, outcome in outcomes.items():
        if outcome.result is not None and outcome.result.server_saw.peer_subject is not None:
            assert "anonymous" not in (outcome.reply or ""), f"{name}: {outcome}"


def test_a_client_certificate_without_a_subject_alt_name_identifies_nobody(outcomes):
    outcome = outcomes["mtls-cn-only"]
    assert outcome.result.server_saw.peer_subject == "CN=alice@example.test"  # OpenSSL accepted it
    assert outcome.stage == "application" and outcome.certificate_accepted
    assert outcome.reply == ("403 forbidden: CN=alice@example.test has no identity in a subjectAltName "
                             "(the common name does not count)")


def test_fixes_that_remove_security_say_what_they_let_in(outcomes):
    fixes = [s for s in CATALOGUE if s.lets_in]
    assert {"cert-none", "no-hostname-check", "unverified-context", "mtls-optional-anonymous",
            "mtls-overbroad-store"} <= {s.name for s in fixes}
    for scenario in fixes:
        assert outcomes[scenario.name].accepted, f"{scenario.name} claims to let something in, but refused it"


def test_cert_none_really_accepts_an_attackers_certificate(outcomes):
    outcome = outcomes["cert-none"]
    assert outcome.accepted
    assert outcome.result.client_saw.peer_subject == "CN=localhost"
    presented = SCENARIOS["cert-none"].setup.presented[0]
    assert presented.issuer == presented.subject  # self-signed: nobody vouched for it


def test_cert_optional_lets_an_anonymous_client_in(outcomes):
    outcome = outcomes["mtls-optional-anonymous"]
    assert outcome.accepted and outcome.result.server_saw.peer_subject is None
    assert "anonymous" in outcome.reply


def test_the_overbroad_store_admits_a_stranger_by_name(outcomes):
    outcome = outcomes["mtls-overbroad-store"]
    assert outcome.accepted and outcome.reply == "hello anyone@web.example"


def test_only_the_application_stops_the_wrong_identity(outcomes):
    outcome = outcomes["mtls-wrong-identity"]
    assert outcome.result.ok, "TLS itself must succeed: the certificate is genuine"
    assert outcome.refused_by == "server application" and outcome.certificate_accepted
    assert outcome.reply.startswith("403") and "mallory@example.test" in outcome.reply


def test_tls13_and_tls12_report_a_missing_client_certificate_differently(outcomes):
    tls13, tls12 = outcomes["mtls-no-certificate"], outcomes["mtls-no-certificate-tls12"]
    assert tls13.result.client_saw.handshake_done and "certificate required" in tls13.result.client_saw.error
    assert not tls12.result.client_saw.handshake_done and "handshake failure" in tls12.result.client_saw.error


def test_a_load_refusal_happens_before_any_connection(outcomes):
    for name, side in (("rsa-1024", "server"), ("sha1", "server"), ("mtls-key-mismatch", "client")):
        outcome = outcomes[name]
        if name == "sha1" and outcome.result is not None:
            continue  # OpenSSL 3.5 loads a SHA-1-signed certificate (see the test above)
        assert outcome.stage == "load" and outcome.refused_by == side and outcome.result is None


# --------------------------------------------------------------------------------------------
# Each scenario against cryptography


@pytest.mark.parametrize("name", SCENARIOS)
def test_cryptography_decides_as_the_scenario_says(name, outcomes):
    scenario = SCENARIOS[name]
    verdict = scenario.cryptography_verdict()
    if scenario.cryptography is None:
        assert verdict.accepted is None and verdict.reason
        return
    assert verdict.accepted == scenario.cryptography, f"{name}: cryptography says {verdict}"
    openssl_accepts = outcomes[name].certificate_accepted
    if verdict.accepted != openssl_accepts:
        assert scenario.disagreement, (f"{name}: OpenSSL {'accepts' if openssl_accepts else 'refuses'} and "
                                       f"cryptography {verdict}, but the scenario does not say why they differ")
    else:
        assert scenario.disagreement is None, f"{name} claims a disagreement, but both verifiers agree"


def test_the_disagreements_are_the_known_ones():
    assert {s.name for s in CATALOGUE if s.disagreement} == {
        "intermediate-anchor", "cn-only", "rsa-1024-seclevel-0", "revoked", "revocation-no-crl", "mtls-revoked",
        "mtls-cn-only"}


def test_summary_and_disagreement_tables_cover_every_scenario(outcomes):
    table = str(summary_table(outcomes=outcomes))
    for scenario in CATALOGUE:
        assert scenario.name in table
    assert "DISAGREES" not in table and "undecided" not in table
    disagreements = str(disagreement_table(outcomes=outcomes))
    assert "cn-only: OpenSSL accepts, cryptography refuses" in disagreements


def test_show_prints_a_report_and_refuses_unknown_names(capsys):
    show("expired")
    printed = capsys.readouterr().out
    assert "REFUSED by the client: certificate has expired" in printed
    assert ">>" in printed and "cryptography: refuses" in printed
    with pytest.raises(UsageError, match="no scenario called 'expird'"):
        show("expird")


def test_scenarios_are_reproducible():
    first = SCENARIOS["path-length"].build()
    second = SCENARIOS["path-length"].build()
    assert first.presented == second.presented


# --------------------------------------------------------------------------------------------
# The handshake runner with hand-made contexts


def test_exchange_with_any_contexts_reports_both_sides():
    root = CertificateAuthority.create("Exchange Root", seed="exchange")
    server = root.issue_server("localhost")
    result, reply = exchange(server_ctx(server), client_ctx(root))
    assert result.ok and reply == "hello anonymous (no client certificate)"
    result, reply = exchange(server_ctx(server), client_ctx([root.certificate]), server_hostname="other.test")
    assert not result.ok and reply is None
    assert "Hostname mismatch" in result.client_saw.error and result.server_saw.alert_received == "bad certificate"


def test_expected_matching_is_strict():
    outcome = SCENARIOS["expired"].run()
    assert Expected("client", "certificate has expired").matches(outcome)
    assert not Expected("server", "certificate has expired").matches(outcome)
    assert not Expected("client", "self-signed").matches(outcome)
    assert not Expected().matches(outcome)


# --------------------------------------------------------------------------------------------
# insecure_certificates


@pytest.fixture(scope="module")
def issuing():
    return CertificateAuthority.create("Insecure Test Root", seed="insecure").create_intermediate("Insecure Issuing")


def test_broken_certificates_are_deterministic(issuing):
    for make in (lambda: broken.self_signed_leaf("localhost"), lambda: broken.common_name_only(issuing, "localhost"),
                 lambda: broken.signed_by_wrong_key(issuing, "localhost"),
                 lambda: broken.sha1_signed(issuing, "localhost")):
        assert make().cert_pem == make().cert_pem


def test_sha1_signed_really_uses_sha1_and_the_issuers_key(issuing):
    leaf = broken.sha1_signed(issuing, "localhost").certificate
    assert isinstance(leaf.signature_hash_algorithm, hashes.SHA1)
    issuing.certificate.public_key().verify(leaf.signature, leaf.tbs_certificate_bytes, ec.ECDSA(hashes.SHA1()))


def test_signed_by_wrong_key_names_the_issuer_but_does_not_verify(issuing):
    leaf = broken.signed_by_wrong_key(issuing, "localhost").certificate
    assert leaf.issuer == issuing.certificate.subject
    aki = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = issuing.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    with pytest.raises(InvalidSignature):
        leaf.verify_directly_issued_by(issuing.certificate)


def test_common_name_only_has_no_san_and_unknown_critical_extension_is_critical(issuing):
    cn_only = broken.common_name_only(issuing, "localhost").certificate
    with pytest.raises(x509.ExtensionNotFound):
        cn_only.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    critical = broken.with_unknown_critical_extension(issuing, "localhost").certificate
    extension = critical.extensions.get_extension_for_oid(broken.PRIVATE_CRITICAL_EXTENSION)
    assert extension.critical


def test_paired_with_wrong_key_is_refused_by_load_cert_chain(issuing):
    pair = broken.paired_with_wrong_key(issuing.issue_client("alice@example.test"))
    with pytest.raises(ssl.SSLError, match="KEY_VALUES_MISMATCH"):
        pair.configure_cert(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT))


def test_a_sound_leaf_from_issue_leaf_passes_a_real_handshake(issuing):
    leaf = broken.issue_leaf(issuing, "localhost")
    assert handshake(leaf, trust=issuing.root).ok


def test_issue_leaf_needs_a_name(issuing):
    with pytest.raises(ProfileError, match="at least one name"):
        broken.issue_leaf(issuing)


def test_sha1_signed_needs_an_ecdsa_issuer():
    rsa_ca = CertificateAuthority.create("RSA Root", key_type="rsa-2048")
    with pytest.raises(ProfileError, match="ECDSA"):
        broken.sha1_signed(rsa_ca, "localhost")


