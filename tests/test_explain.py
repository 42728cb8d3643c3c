"""mtlslib.verification: the verification explainer, held against real verifiers.

* On the whole scenario catalogue, its verdict (openssl profile, with each verifying context's own
  settings) must match what OpenSSL decided in the real handshake, and the reason OpenSSL gave
  must be one of the failures it lists.
* On the x509-limbo corpus (tests/data, Apache-2.0, see x509-limbo-LICENSE): its agreement with
  the corpus's expected results, with cryptography's verifier and with OpenSSL (``openssl
  verify``) is measured, printed, recorded, and held above a floor. Undecided cases are counted
  apart, never as agreement.
"""

from __future__ import annotations

import datetime as dt
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509

from mtlslib.errors import CertificateLoadError, UsageError
from mtlslib.insecure import certificates as broken
from mtlslib.lessons.scenarios import CATALOGUE, SCENARIOS
from mtlslib.pki import CertificateAuthority
from mtlslib.tls import handshake
from mtlslib.verification import PROFILES, Settings, explain, load_crls
from mtlslib.verification.limbo import explain_case, load_cases, measure

DATA = Path(__file__).resolve().parent / "data"
LIMBO = DATA / "x509-limbo-core.json"
CLI = [sys.executable, "-m", "mtlslib", "explain"]

# Floors under the measured agreement (see the report printed by the limbo tests): a change that
# makes the explainer agree less with the real verifiers fails here.
LIMBO_FLOORS = {"expected": 0.90, "cryptography": 0.85, "openssl": 0.97}
LIMBO_MAX_UNDECIDED = {"webpki": 3, "openssl": 12}


# --------------------------------------------------------------------------------------------
# The catalogue


@pytest.fixture(scope="module")
def outcomes():
    return {scenario.name: scenario.run() for scenario in CATALOGUE}


EXPLAINED = [s.name for s in CATALOGUE if s.setup.presented is not None]


@pytest.mark.parametrize("name", EXPLAINED)
def test_explainer_agrees_with_the_real_handshake(name, outcomes):
    scenario, outcome = SCENARIOS[name], outcomes[name]
    explanation = scenario.explain()
    assert explanation.verdict != "undecided", explanation
    assert explanation.valid == outcome.certificate_accepted, (
        f"{name}: OpenSSL {'accepted' if outcome.certificate_accepted else 'refused'}, the explainer says:\n"
        f"{explanation}")
    if outcome.stage == "handshake" and outcome.reason and "certificate verify failed" in (outcome.error or ""):
        # OpenSSL stops at its first error; it must be one the explainer found.
        assert any(outcome.reason.startswith(reason) for reason in explanation.openssl_reasons), (
            f"{name}: OpenSSL said {outcome.reason!r}; the explainer's failures: {explanation.openssl_reasons}")


def test_catalogue_agreement_is_total_and_measured(outcomes, record_property):
    agreement = measure(CATALOGUE, lambda s: outcomes[s.name].certificate_accepted if s.setup.presented else None,
                        lambda s: s.explain(), "openssl profile vs the handshakes")
    strict = measure(CATALOGUE, lambda s: s.cryptography_verdict().accepted, lambda s: s.explain(profile="webpki"),
                     "webpki profile vs cryptography")
    print(f"\n{agreement}\n{strict}")
    record_property("catalogue_openssl_agree", len(agreement.agree))
    record_property("catalogue_webpki_cryptography_agree", len(strict.agree))
    assert not agreement.disagree and not agreement.undecided and len(agreement.agree) == len(EXPLAINED)
    # cryptography checks no revocation and no leaf RSA size: the only places the web profile differs.
    assert set(strict.disagree) == {"rsa-1024-seclevel-0", "revoked", "revocation-no-crl", "mtls-revoked"}
    assert not strict.undecided


def test_each_fix_shows_the_failures_it_ignores():
    cert_none = SCENARIOS["cert-none"].explain()
    assert cert_none.valid and cert_none.checks[0].step == "verification"
    assert [c.status for c in cert_none.checks if c.openssl == "self-signed certificate"] == ["ignored"]
    no_name = SCENARIOS["no-hostname-check"].explain()
    (name_check,) = [c for c in no_name.checks if c.step == "name"]
    assert no_name.valid and name_check.status == "ignored" and "check_hostname is False" in name_check.reason
    unchecked = SCENARIOS["revoked-unchecked"].explain()
    (revocation,) = [c for c in unchecked.checks if c.step == "revocation"]
    assert revocation.status == "ignored" and "CRL checking is off" in revocation.reason


def test_common_name_fallback_is_a_note_then_a_failure_without_it():
    fallback = SCENARIOS["cn-only"].explain()
    assert fallback.valid and any(c.status == "note" and "common name" in c.reason for c in fallback.checks)
    strict = SCENARIOS["cn-only"].explain(cn_fallback=False)
    assert not strict.valid and strict.first_failure.step == "name"
    assert SCENARIOS["cn-only"].explain(profile="webpki").valid is False


def test_the_table_marks_the_first_failure_and_gives_openssls_words():
    explanation = SCENARIOS["path-length"].explain()
    marked = [line for line in str(explanation).splitlines() if line.startswith(">>")]
    assert len(marked) == 1 and "path length" in marked[0] and "[OpenSSL: path length constraint exceeded]" in marked[0]
    assert str(explanation).splitlines()[-1].startswith("verdict (openssl profile, server purpose): invalid")
    compact = str(explanation.problems)
    assert "other checks passed" in compact and len(compact.splitlines()) < len(str(explanation).splitlines())


def test_checks_come_in_the_documented_order():
    steps = [c.step for c in SCENARIOS["valid"].explain().checks]
    # The scenarios' seeded CAs carry name constraints (their keys are public), so that step shows too.
    order = ["chain", "signature", "validity", "CA", "extensions", "name constraints", "key usage", "purpose", "name",
             "revocation", "strength"]
    assert [s for s in dict.fromkeys(steps)] == order


def test_settings_are_read_from_a_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF | ssl.VERIFY_X509_PARTIAL_CHAIN
    ctx.hostname_checks_common_name = False
    settings = Settings.of_context(ctx)
    assert settings == Settings(crl_check="leaf", partial_chain=True, cn_fallback=False, security_level=2)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    assert not Settings.of_context(ctx).verify and not Settings.of_context(ctx).check_hostname


# --------------------------------------------------------------------------------------------
# Behaviours built from scratch


@pytest.fixture(scope="module")
def root():
    return CertificateAuthority.create("Explain Test Root", seed="explain")


def test_notafter_itself_is_expired_for_openssl_but_not_for_rfc5280(root):
    not_after = dt.datetime(2030, 6, 1, tzinfo=dt.timezone.utc)
    leaf = broken.issue_leaf(root, "localhost", validity=(dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc), not_after))
    openssl = explain([leaf.certificate], [root.certificate], name="localhost", at=not_after)
    webpki = explain([leaf.certificate], [root.certificate], name="localhost", at=not_after, profile="webpki")
    assert openssl.first_failure.openssl == "certificate has expired" and webpki.valid
    second_before = explain([leaf.certificate], [root.certificate], name="localhost",
                            at=not_after - dt.timedelta(seconds=1))
    assert second_before.valid


def test_undecided_rather_than_a_guess(root):
    odd_ca = broken.empty_name_constraints_ca(root, "Explain Odd CA")
    leaf = broken.issue_leaf(odd_ca, "localhost")
    explanation = explain(leaf.chain_pem, root.cert_pem, name="localhost")
    assert explanation.verdict == "undecided" and explanation.valid is None
    assert "cannot tell" in explanation.conclusion
    # Guessing "invalid" from cryptography's parse error would have been wrong: OpenSSL accepts it.
    assert handshake(leaf, trust=root).ok
    assert explain(leaf.chain_pem, root.cert_pem, name="localhost", profile="webpki").valid is False


def test_a_client_identity_is_compared_exactly_as_the_application_would(root):
    alice = root.issue_client("alice@example.test")
    assert explain(alice.chain_pem, root.cert_pem, purpose="client", name="alice@example.test").valid
    wrong = explain(alice.chain_pem, root.cert_pem, purpose="client", name="bob@example.test")
    assert not wrong.valid and wrong.first_failure.step == "name" and wrong.first_failure.openssl is None
    assert "application" in wrong.first_failure.reason


def test_a_crl_signed_by_another_key_is_not_believed(root):
    issuing = root.create_intermediate("Explain Issuing CA")
    leaf = issuing.issue_server("localhost")
    impostor = CertificateAuthority.create("Explain Issuing CA", seed="explain impostor")  # same name, other key
    explanation = explain(leaf.chain_pem, root.cert_pem, name="localhost", crls=[impostor.crl_pem])
    (revocation,) = [c for c in explanation.checks if c.step == "revocation"]
    assert revocation.status == "FAIL" and revocation.openssl == "CRL signature failure"
    good = explain(leaf.chain_pem, root.cert_pem, name="localhost", crls=[issuing.crl_pem])
    assert good.valid


def test_the_web_profile_finds_a_valid_path_among_several(root):
    # Two intermediates with the same name: the first one the search meets has expired.
    stale = root.create_intermediate("Explain Twin CA", validity="expired")
    fresh = CertificateAuthority(stale.certificate, stale.private_key, parent=root)
    ca_extensions = [(x509.BasicConstraints(ca=True, path_length=0), True),
                     (x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                    data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                                    encipher_only=False, decipher_only=False), True)]
    renewed = broken.build_certificate(stale.certificate.subject, stale.private_key.public_key(), root.private_key,
                                       issuer=root.certificate.subject, extensions=ca_extensions, label="renewed twin")
    leaf = broken.issue_leaf(fresh, "localhost")
    chain = [leaf.certificate, stale.certificate, renewed]
    assert explain(chain, [root.certificate], name="localhost", profile="webpki").valid
    assert explain(chain, [root.certificate], name="localhost").valid  # OpenSSL prefers the issuer valid now


@pytest.mark.parametrize("call, error, words", [
    (lambda r: explain([], [r.certificate]), CertificateLoadError, "no certificate"),
    (lambda r: explain(b"garbage", [r.certificate]), CertificateLoadError, "no PEM certificate"),
    (lambda r: explain([r.certificate], [r.certificate], purpose="both"), UsageError, "'server' or 'client'"),
    (lambda r: explain([r.certificate], [r.certificate], profile="browser"), UsageError, "openssl, webpki"),
    (lambda r: explain([r.certificate], [r.certificate], name=1), UsageError, "DNS name or IP address"),
    (lambda r: explain([r.certificate], [r.certificate], crl_check="always"), UsageError, "crl_check"),
    (lambda r: load_crls(b"not a crl"), CertificateLoadError, "no PEM CRL"),
])
def test_unusable_input_is_refused_clearly(root, call, error, words):
    with pytest.raises(error, match=words):
        call(root)


def test_profiles_are_the_documented_two():
    assert PROFILES == ("openssl", "webpki")


# --------------------------------------------------------------------------------------------
# The x509-limbo corpus


@pytest.fixture(scope="module")
def limbo():
    cases = load_cases(LIMBO)
    return cases, {c.id: explain_case(c, "webpki") for c in cases}, {c.id: explain_case(c, "openssl") for c in cases}


def test_the_vendored_corpus_and_its_licence_are_there(limbo):
    from mtlslib.verification.limbo import CORPUS

    assert CORPUS == LIMBO  # what notebooks load by default is the vendored copy
    cases, _, _ = limbo
    assert len(cases) == 208 and len({c.id for c in cases}) == 208
    assert "Apache License" in (DATA / "x509-limbo-LICENSE").read_text()
    assert {c.kind for c in cases} == {"server", "client"}


def test_load_cases_names_a_missing_or_damaged_file(tmp_path):
    with pytest.raises(CertificateLoadError, match="no such file"):
        load_cases(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(CertificateLoadError, match="not a limbo JSON file"):
        load_cases(tmp_path / "bad.json")


def _report(agreement, record_property, key):
    print(f"\n{agreement}")
    for identifier in agreement.disagree:
        print(f"    disagree: {identifier}")
    for identifier in agreement.undecided:
        print(f"    undecided: {identifier}")
    record_property(f"{key}_agree", len(agreement.agree))
    record_property(f"{key}_disagree", len(agreement.disagree))
    record_property(f"{key}_undecided", len(agreement.undecided))
    record_property(f"{key}_rate", round(agreement.rate, 4))


def test_limbo_agreement_with_the_expected_results(limbo, record_property):
    cases, webpki, _ = limbo
    agreement = measure(cases, lambda c: c.expected_valid, lambda c: webpki[c.id], "webpki profile vs limbo expected")
    _report(agreement, record_property, "limbo_expected")
    assert agreement.rate >= LIMBO_FLOORS["expected"]
    assert len(agreement.undecided) <= LIMBO_MAX_UNDECIDED["webpki"]


def test_limbo_agreement_with_cryptography(limbo, record_property):
    cases, webpki, _ = limbo
    agreement = measure(cases, lambda c: c.cryptography_verdict(), lambda c: webpki[c.id],
                        "webpki profile vs cryptography")
    _report(agreement, record_property, "limbo_cryptography")
    assert agreement.rate >= LIMBO_FLOORS["cryptography"]


def test_limbo_agreement_with_openssl(limbo, record_property, openssl_bin):
    cases, _, openssl_profile = limbo
    agreement = measure(cases, lambda c: c.openssl_verdict(openssl_bin), lambda c: openssl_profile[c.id],
                        "openssl profile vs openssl verify")
    _report(agreement, record_property, "limbo_openssl")
    assert agreement.rate >= LIMBO_FLOORS["openssl"]
    assert len(agreement.undecided) <= LIMBO_MAX_UNDECIDED["openssl"]


def test_openssl_verdict_reports_openssls_reason(limbo, openssl_bin):
    cases, _, _ = limbo
    by_id = {c.id: c for c in cases}
    expired = by_id["rfc5280::validity::expired-leaf"].openssl_verdict(openssl_bin)
    assert (expired.accepted, expired.reason) == (False, "certificate has expired")
    assert str(expired) == "refuses: certificate has expired"
    assert by_id["webpki::san::exact-dns-san"].openssl_verdict(openssl_bin).accepted is True


def test_every_undecided_limbo_case_says_why(limbo):
    _, webpki, openssl_profile = limbo
    for explanation in [*webpki.values(), *openssl_profile.values()]:
        if explanation.verdict == "undecided":
            assert any(c.status == "undecided" and c.reason for c in explanation.checks)


# --------------------------------------------------------------------------------------------
# The command line


def run_explain(*args) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=30)


@pytest.fixture(scope="module")
def files(tmp_path_factory, root):
    directory = tmp_path_factory.mktemp("explain")
    issuing = root.create_intermediate("Explain CLI Issuing CA")
    server = issuing.issue_server("localhost")
    revoked = issuing.issue_server("revoked.example.test")
    issuing.revoke(revoked)
    odd = broken.issue_leaf(broken.empty_name_constraints_ca(root, "Explain CLI Odd CA"), "localhost")
    paths = {"root": root.cert_pem, "server": server.chain_pem, "revoked": revoked.chain_pem, "crl": issuing.crl_pem,
             "odd": odd.chain_pem, "key": server.key_pem}
    for stem, data in paths.items():
        (directory / f"{stem}.pem").write_bytes(data)
    return directory


def test_cli_valid_chain_exits_0_with_the_table(files):
    result = run_explain(files / "server.pem", "--trust", files / "root.pem", "--name", "localhost")
    assert result.returncode == 0, result.stderr
    assert "localhost <- Explain CLI Issuing CA <- Explain Test Root" in result.stdout
    assert result.stdout.rstrip().endswith("valid: every check passed")


@pytest.mark.parametrize("extra, words", [
    (["--name", "www.example.test"], "Hostname mismatch"),
    (["--name", "localhost", "--at", "2080-01-01"], "certificate has expired"),
    (["--name", "localhost", "--purpose", "client"], "unsuitable certificate purpose"),
])
def test_cli_invalid_chain_exits_1_and_marks_the_failure(files, extra, words):
    result = run_explain(files / "server.pem", "--trust", files / "root.pem", *extra)
    assert result.returncode == 1, result.stderr
    assert any(line.startswith(">>") for line in result.stdout.splitlines()) and words in result.stdout


def test_cli_checks_the_crl_it_is_given(files):
    result = run_explain(files / "revoked.pem", "--trust", files / "root.pem", "--crl", files / "crl.pem")
    assert result.returncode == 1 and "[OpenSSL: certificate revoked]" in result.stdout
    without = run_explain(files / "revoked.pem", "--trust", files / "root.pem")
    assert without.returncode == 0


def test_cli_undecided_exits_3_and_says_why(files):
    result = run_explain(files / "odd.pem", "--trust", files / "root.pem", "--name", "localhost")
    assert result.returncode == 3 and "undecided" in result.stdout.splitlines()[-1]


@pytest.mark.parametrize("args, words", [
    (["key.pem", "--trust", "root.pem"], "key.pem: no PEM certificate"),
    (["server.pem", "--trust", "missing.pem"], "missing.pem: no such file"),
    (["server.pem", "--trust", "root.pem", "--crl", "root.pem"], "root.pem: no PEM CRL"),
])
def test_cli_unusable_input_exits_2_with_one_line(files, args, words):
    result = run_explain(*[files / a if a.endswith(".pem") else a for a in args])
    assert result.returncode == 2 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and words in result.stderr


def test_cli_refuses_a_date_that_is_not_iso(files):
    result = run_explain(files / "server.pem", "--trust", files / "root.pem", "--at", "tomorrow")
    assert result.returncode == 2 and "'tomorrow' is not an ISO 8601 date" in result.stderr
