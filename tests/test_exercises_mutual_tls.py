"""Chapter 05's checkers: each classic mistake is refused with a message that teaches, the right
answer passes, and an unwritten exercise says so."""

from __future__ import annotations

import os
import ssl
from pathlib import Path

import pytest

from mtlslib.exercises import ExerciseIncorrect, ExerciseNotDone
from mtlslib.exercises.mutual_tls import check_predictions, check_server_refuses_anonymous, check_spiffe_rule
from mtlslib.pki import CertificateAuthority
from mtlslib.tls import AccessPolicy

WEB = "spiffe://example.test/ns/shop/sa/web"


# -- exercise 1: an authorization rule --------------------------------------------------------

def uri_sans(identity):
    return [name[4:] for name in identity.names if name.startswith("URI:")]


@pytest.mark.parametrize("admit, complaint", [
    (lambda identity: identity is not None and any(u.startswith(WEB) for u in uri_sans(identity)), "startswith"),
    (lambda identity: identity is not None and identity.subject == f"CN={WEB}", "common name"),
    (lambda identity: identity is not None and WEB in uri_sans(identity), "exactly one URI SAN"),
    (lambda identity: identity is not None and uri_sans(identity)[:1] == [WEB.replace("example", "evil")],
     "was refused"),
    (lambda identity: identity is None or uri_sans(identity) == [WEB], "without a client certificate"),
    (lambda identity: None, "returned None"),
    (lambda identity: identity.names == (f"URI:{WEB}",), "raised AttributeError"),
])
def test_the_spiffe_rule_checker_names_the_mistake(admit, complaint):
    with pytest.raises(ExerciseIncorrect, match=complaint):
        check_spiffe_rule(admit)


def test_the_spiffe_rule_checker_accepts_the_policy_and_says_so(capsys):
    policy = AccessPolicy().allow_spiffe_id(WEB)

    def admit(identity):
        return policy.decide(identity).allowed

    check_spiffe_rule(admit)
    assert capsys.readouterr().out.startswith(f"\u2714 admit admits {WEB} and nothing else")


def test_the_spiffe_rule_checker_reports_an_unwritten_exercise():
    def admit(identity):
        raise NotImplementedError()

    with pytest.raises(ExerciseNotDone, match="not written yet"):
        check_spiffe_rule(admit)


# -- exercise 2: a server context that refuses anonymous clients -------------------------------


def server_context_with(verify_mode, trust_client_ca=True, side=ssl.PROTOCOL_TLS_SERVER, extra_trust=None,
                        defaults=None):
    def make(server_certificate, client_ca):
        context = ssl.SSLContext(side)
        if side == ssl.PROTOCOL_TLS_SERVER:
            server_certificate.configure_cert(context)
        if trust_client_ca:
            client_ca.configure_trust(context)
        if extra_trust is not None:
            extra_trust.configure_trust(context)
        if defaults is not None:
            getattr(context, defaults)()
        context.verify_mode = verify_mode
        return context
    return make


def test_the_server_context_checker_passes_a_correct_context(capsys):
    check_server_refuses_anonymous(server_context_with(ssl.CERT_REQUIRED))
    assert "the server refuses a client without a certificate" in capsys.readouterr().out


@pytest.mark.parametrize("make, complaint", [
    (server_context_with(ssl.CERT_OPTIONAL), "CERT_OPTIONAL"),
    (server_context_with(ssl.CERT_NONE), "CERT_NONE"),
    (server_context_with(ssl.CERT_REQUIRED, trust_client_ca=False), "was refused"),
    (server_context_with(ssl.CERT_REQUIRED, side=ssl.PROTOCOL_TLS_CLIENT), "client context"),
    (server_context_with(ssl.CERT_REQUIRED,
                         extra_trust=CertificateAuthority.create("Stranger CA", seed="exercises-05")),
     "unrelated CA was accepted"),
    (lambda server_certificate, client_ca: "context", "returned str"),
    # The chapter's own trap: the system's public roots trusted for client certificates.
    (server_context_with(ssl.CERT_REQUIRED, defaults="load_default_certs"), "public CA .* was accepted"),
    (server_context_with(ssl.CERT_REQUIRED, defaults="set_default_verify_paths"), "public CA .* was accepted"),
])
def test_the_server_context_checker_names_the_mistake(make, complaint):
    with pytest.raises(ExerciseIncorrect, match=complaint):
        check_server_refuses_anonymous(make)


def test_the_public_roots_stand_in_only_while_the_reader_s_function_runs():
    before = {name: os.environ.get(name) for name in ("SSL_CERT_FILE", "SSL_CERT_DIR")}
    seen = {}

    def make(server_certificate, client_ca):
        seen.update({name: os.environ.get(name) for name in before})
        seen["roots"] = Path(os.environ["SSL_CERT_FILE"]).read_bytes()
        return server_context_with(ssl.CERT_REQUIRED)(server_certificate, client_ca)

    check_server_refuses_anonymous(make)
    assert seen["SSL_CERT_FILE"] != before["SSL_CERT_FILE"]
    assert seen["roots"].count(b"-----BEGIN CERTIFICATE-----") == 1  # the stand-in public CA, alone
    assert {name: os.environ.get(name) for name in before} == before


def test_the_server_context_checker_reports_an_unwritten_exercise():
    def make(server_certificate, client_ca):
        raise NotImplementedError()

    with pytest.raises(ExerciseNotDone, match="not written yet"):
        check_server_refuses_anonymous(make)


# -- exercise 3: predict, then run -------------------------------------------------------------


RIGHT = {"A": "200", "B": "refused", "C": "403", "D": "200", "E": "403", "F": "200"}


def test_the_prediction_checker_runs_every_scenario(capsys):
    check_predictions(lambda: {**RIGHT, "C": 403, "B": " Refused"})
    assert capsys.readouterr().out.endswith("A 200, B refused, C 403, D 200, E 403, F 200\n")


@pytest.mark.parametrize("predictions, complaint", [
    ({**RIGHT, "D": "refused"}, "1 of 6 predictions differ .*\n  D: mutual='optional' is CERT_OPTIONAL"),
    ({**RIGHT, "F": "refused"}, "1 of 6 predictions differ .*\n  F: which CA issued"),
    ({**RIGHT, "C": "200"}, "1 of 6 predictions differ .*\n  C: "),
    ({k: v for k, v in RIGHT.items() if k != "E"}, "no prediction for scenario E"),
    ({**RIGHT, "A": "ok"}, "'ok' is not one of 200, 403, refused"),
    (["200"], "returned list"),
])
def test_the_prediction_checker_explains_wrong_predictions(predictions, complaint):
    with pytest.raises(ExerciseIncorrect, match=complaint):
        check_predictions(lambda: predictions)


def test_a_wrong_prediction_reveals_no_outcome():
    everything_wrong = {"A": "refused", "B": "200", "C": "refused", "D": "403", "E": "200", "F": "403"}
    with pytest.raises(ExerciseIncorrect) as refused:
        check_predictions(lambda: everything_wrong)
    message = str(refused.value)
    assert message.startswith("6 of 6 predictions differ from what really happened, all of them.")
    assert [line.split(":")[0].strip() for line in message.splitlines()[1:]] == list("ABCDEF")
    # Neither the outcomes nor the words that would give one away.
    for giveaway in ("200", "403", "refused", "it was", "succeeds", "admitted"):
        assert giveaway not in message, giveaway
    with pytest.raises(ExerciseIncorrect) as one_wrong:
        check_predictions(lambda: {**RIGHT, "B": "200"})
    assert "\n  B: " in str(one_wrong.value) and "\n  A: " not in str(one_wrong.value)


def test_the_prediction_checker_reports_an_unwritten_exercise():
    def predict():
        raise NotImplementedError()

    with pytest.raises(ExerciseNotDone, match="not written yet"):
        check_predictions(predict)
