"""mtlslib.lessons.scenarios: how results print, the contexts built with the public ssl API, and errors."""

from __future__ import annotations

import dataclasses
import ssl

import pytest
from IPython.lib.pretty import pretty

from mtlslib.display import Table
from mtlslib.errors import UsageError
from mtlslib.lessons.scenarios import (
    CATALOGUE,
    SCENARIOS,
    Disagreements,
    Expected,
    ScenarioReport,
    catalogue,
    client_ctx,
    contexts,
    disagreement_table,
    examine,
    model,
    report,
    server_ctx,
    setups,
    summary_table,
    unverified_client_ctx,
)
from mtlslib.lessons.scenarios.report import limbo_comparison, overview
from mtlslib.pki import CertificateAuthority
from mtlslib.verification import Verdict

SOME = [SCENARIOS[name] for name in ("valid", "expired", "cn-only", "rsa-1024", "mtls-wrong-identity",
                                     "mtls-no-certificate", "revoked")]


@pytest.fixture(scope="module")
def outcomes():
    return {scenario.name: scenario.run() for scenario in SOME}


# -- the unverified context, built with the public API --------------------------------------------


def test_the_unverified_context_is_what_ssl_create_unverified_context_makes():
    ours = unverified_client_ctx()
    theirs = ssl._create_unverified_context(protocol=ssl.PROTOCOL_TLS_CLIENT)
    assert (ours.protocol, ours.verify_mode, ours.check_hostname) == (ssl.PROTOCOL_TLS_CLIENT, ssl.CERT_NONE, False)
    for setting in ("protocol", "verify_mode", "check_hostname", "options", "verify_flags", "minimum_version",
                    "maximum_version", "hostname_checks_common_name", "post_handshake_auth"):
        assert getattr(ours, setting) == getattr(theirs, setting), setting
    assert ours.get_ca_certs() == theirs.get_ca_certs() == []
    assert [c["name"] for c in ours.get_ciphers()] == [c["name"] for c in theirs.get_ciphers()]


def test_the_unverified_context_scenario_still_accepts_an_attackers_certificate():
    scenario = SCENARIOS["unverified-context"]
    assert scenario.setup.client is unverified_client_ctx
    outcome = scenario.run()
    assert outcome.accepted and outcome.stage == "done"
    assert outcome.result.client_saw.peer_subject == "CN=localhost"
    assert outcome.reply == "hello anonymous (no client certificate)"
    assert scenario.explain().conclusion == "valid only because 1 failing check is not enforced"


def test_contexts_take_any_trust_the_package_understands():
    root = CertificateAuthority.create("Contexts Root", seed="lessons contexts")
    for trust in (root, [root], root.certificate, [root.certificate], root.cert_pem, root.cert_pem.decode()):
        assert len(client_ctx(trust).get_ca_certs()) == 1
    assert client_ctx(()).get_ca_certs() == []
    server = server_ctx(root.issue_server("localhost"), client_trust=root, verify_mode=ssl.CERT_REQUIRED)
    assert len(server.get_ca_certs()) == 1 and server.verify_mode == ssl.CERT_REQUIRED


def test_crls_are_loaded_through_temporary_files():
    root = CertificateAuthority.create("CRL Root", seed="lessons crls")
    ctx = client_ctx(root, crls=[root.crl], verify_flags=ssl.VERIFY_CRL_CHECK_LEAF)
    assert ctx.cert_store_stats()["crl"] == 1
    assert ctx.verify_flags & ssl.VERIFY_CRL_CHECK_LEAF


# -- how results print -----------------------------------------------------------------------------


def test_an_outcome_prints_one_way_and_says_it_in_a_few_words(outcomes):
    valid, expired = outcomes["valid"], outcomes["expired"]
    assert str(valid).splitlines()[0] == "ACCEPTED (TLS 1.3)"
    assert str(valid).splitlines()[1:] == ["  client saw: server certificate CN=localhost",
                                           "  server saw: no client certificate",
                                           "  application answered: hello anonymous (no client certificate)"]
    assert str(expired).startswith("REFUSED by the client: certificate has expired\n  client: ")
    assert "(received alert: certificate expired)" in str(expired)
    assert pretty(expired) == str(expired)
    for outcome in (valid, expired):
        assert not hasattr(outcome, "lines") and not hasattr(outcome, "short")
    assert (valid.verdict, expired.verdict) == ("accepted", "client refuses")
    assert outcomes["rsa-1024"].verdict == "server refuses at load"
    assert str(outcomes["rsa-1024"]).startswith("REFUSED before any connection: the server cannot load")
    assert outcomes["mtls-wrong-identity"].verdict == "refused by the application"
    assert str(outcomes["mtls-wrong-identity"]).startswith("TLS OK, then REFUSED by the server application: 403")


def test_expected_and_cryptography_verdicts_print_as_text():
    assert str(Expected()) == "accepted"
    assert str(Expected("client", "certificate has expired")) == "refused by the client: certificate has expired"
    assert str(Expected("server")) == "refused by the server"
    assert str(Verdict(None, "nothing sent")) == "not applicable: nothing sent"
    assert str(Verdict(False, "expired")) == "refuses: expired"
    assert str(Verdict(True, "")) == "accepts"
    assert pretty(Expected()) == "accepted"


def test_a_scenario_report_says_everything_in_order():
    shown = examine("expired")
    assert isinstance(shown, ScenarioReport)
    lines = str(shown).splitlines()
    assert lines[0] == "expired: The server's certificate has expired"
    assert lines[1] == "OpenSSL:      REFUSED by the client: certificate has expired"
    assert lines[2].startswith("              client: [SSL: CERTIFICATE_VERIFY_FAILED]")
    assert lines[4] == "cryptography: refuses: cert is not valid at validation time"
    assert lines[5] == "explainer:"
    assert any(line.startswith("  >>") for line in lines)
    why = next(i for i, line in enumerate(lines) if line.startswith("why:"))
    assert lines[why].startswith("why:          Valid in 2000")
    # The story is wrapped under its label, to the report's width.
    assert all(line.startswith(" " * 14) and len(line) <= report.WIDTH for line in lines[why + 1:])
    assert " ".join(line.strip() for line in lines[why:])[len("why: "):].strip() == SCENARIOS["expired"].story
    assert len(str(examine(SCENARIOS["expired"], full_table=True)).splitlines()) > len(lines)
    assert pretty(shown) == str(shown)


def test_a_report_says_what_a_fix_lets_in_and_when_nothing_reached_a_verifier():
    text = str(examine("mtls-optional-anonymous"))
    assert "explainer:    nothing to explain: no certificate reached a verifier" in text
    assert "lets in:      anonymous clients" in text
    assert "disagreement: cryptography's verifier has no revocation support at all" in str(examine("revoked"))


@pytest.mark.parametrize("bad", ["expird", 42, ["valid"]])
def test_examine_refuses_what_is_not_a_scenario(bad):
    with pytest.raises(UsageError):
        examine(bad)


def _old_alignment(table: Table) -> str:
    """How the summary used to be printed: every column left-aligned, separator under the headers."""
    rows = [table.headers, *table.rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(table.headers))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def test_the_summary_is_a_display_table_aligned_as_before(outcomes):
    table = summary_table(SOME, outcomes)
    assert isinstance(table, Table)
    assert table.headers == ("scenario", "checks", "OpenSSL (the handshake)", "reason", "cryptography", "explainer")
    assert [row[0] for row in table.rows] == [s.name for s in SOME]
    assert table.rows[0][1:] == ("server's cert", "accepted", "-", "accepts", "agrees")
    assert table.rows[4][1:4] == ("client's cert", "refused by the application", "403 forbidden: mallory@example.test "
                                  "is not alice@example.test")
    assert str(table) == _old_alignment(table)
    assert "<table>" in table._repr_html_()


def test_the_disagreements_print_as_before_and_as_a_table(outcomes):
    found = disagreement_table(SOME, outcomes)
    assert isinstance(found, Disagreements)
    assert [d.scenario for d in found] == ["cn-only", "revoked"] and len(found) == 2
    lines = str(found).splitlines()
    assert lines[0] == "cn-only: OpenSSL accepts, cryptography refuses"
    revoked = lines.index("revoked: OpenSSL refuses, cryptography accepts")
    assert " ".join(line.strip() for line in lines[1:revoked]) == SCENARIOS["cn-only"].disagreement
    assert all(line.startswith("    ") and len(line) <= report.WIDTH for line in lines[1:revoked] + lines[revoked + 1:])
    assert found.table.rows[0][:3] == ("cn-only", "accepts", "refuses")
    assert pretty(found) == str(found)


# -- layout ----------------------------------------------------------------------------------------


def test_the_catalogue_is_built_from_public_setups():
    assert catalogue.CATALOGUE is CATALOGUE
    for scenario in CATALOGUE:
        module = getattr(scenario.build, "__module__", "")
        assert module == setups.__name__, scenario.name
    assert all(not name.startswith("_") for name in setups.__all__)
    for module in (model, contexts, report):
        assert module.__all__


def test_scenario_names_are_unique():
    assert len({s.name for s in CATALOGUE}) == len(CATALOGUE) == len(SCENARIOS)


def test_the_overview_groups_the_catalogue_by_what_breaks_in_narrow_tables():
    shown = overview()
    assert [table.title for table in shown.groups] == [f"{heading}:" for heading in report.GROUPS.values()]
    names = [row[0] for table in shown.groups for row in table.rows]
    assert sorted(names) == sorted(SCENARIOS)
    text = str(shown)
    assert max(len(line) for line in text.splitlines()) <= 110
    rows = {row[0]: row[1:] for table in shown.groups for row in table.rows}
    assert rows["valid"] == ("accepted", "accepts", "agrees")
    assert rows["expired"] == ("client refuses: certificate has expired", "refuses", "agrees")
    assert rows["rsa-1024"][0] == "server refuses to load: ee key too small"
    assert rows["wrong-host"][0] == "client refuses: Hostname mismatch"
    assert rows["mtls-wrong-identity"][0] == rows["mtls-cn-only"][0] == "application refuses: 403 forbidden"
    assert shown.tally.startswith(f"{len(CATALOGUE)} scenarios: ")
    assert "on 48 of the 48 where a certificate reached a verifier (0 disagree, 0 undecided)" in shown.tally
    assert pretty(shown) == text


def test_the_limbo_comparison_lists_every_disagreement_it_counts():
    compared = limbo_comparison()
    listed = [row[0] for row in compared.table.rows]
    assert listed == sorted(set(compared.with_expected.disagree) | set(compared.with_cryptography.disagree))
    rows = {row[0]: row[1:] for row in compared.table.rows}
    for case in compared.with_expected.disagree:
        assert rows[case][0] != rows[case][2]  # the suite and the explainer
    for case in compared.with_cryptography.disagree:
        assert rows[case][1] != rows[case][2]  # cryptography and the explainer
    sides = sum(rows[case][0] == rows[case][2] for case in compared.with_cryptography.disagree)
    assert compared.suite_sides_with_explainer == sides
    text = str(compared)
    assert f"sides with the explainer in {sides} and with cryptography in " in " ".join(text.split())
    assert max(len(line) for line in text.splitlines()) <= 110


def test_each_run_is_a_new_handshake_between_contexts_built_once():
    original = SCENARIOS["mtls-valid"]
    built = {"server": 0, "client": 0}

    def counted(role, make):
        def build():
            built[role] += 1
            return make()
        return build

    setup = dataclasses.replace(original.setup, server=counted("server", original.setup.server),
                                client=counted("client", original.setup.client))
    scenario = dataclasses.replace(original, build=lambda: setup)
    first, second = scenario.run(), scenario.run()
    assert scenario.explain().valid and first.accepted and second.accepted
    assert built == {"server": 1, "client": 1}  # two handshakes and an explanation, one context per side


def test_the_reports_share_one_kept_outcome_per_scenario_and_run_still_runs(monkeypatch):
    scenario = dataclasses.replace(SCENARIOS["expired"])  # a fresh copy: nothing kept yet
    runs = []
    real_run = type(scenario).run
    monkeypatch.setattr(type(scenario), "run", lambda self, *a, **k: runs.append(self.name) or real_run(self, *a, **k))
    kept = scenario.outcome
    assert scenario.outcome is kept and catalogue.run_all([scenario]) == {"expired": kept} and len(runs) == 1
    assert (kept.accepted, kept.refused_by) == (False, "client")
    assert scenario.run() is not kept and len(runs) == 2  # asked directly, it runs a new handshake


@pytest.mark.parametrize("name, role", [("rsa-1024", "server"), ("mtls-key-mismatch", "client")])
def test_a_context_openssl_refuses_to_build_is_refused_again_on_every_run(name, role):
    scenario = SCENARIOS[name]
    for _ in range(2):  # refused to load each time, with OpenSSL's reason
        outcome = scenario.run()
        assert (outcome.accepted, outcome.stage, outcome.refused_by) == (False, "load", role)
    with pytest.raises(ssl.SSLError):  # tried again each time, never kept
        scenario.context(role)
