"""The checkers of chapter 08 (mtlslib.exercises.breaking_verification): each passes the right
answer and refuses each wrong one with a message that helps without giving the answer away."""

from __future__ import annotations

import pytest

from mtlslib.exercises import ExerciseIncorrect, ExerciseNotDone
from mtlslib.exercises.breaking_verification import (
    PREDICTION_SCENARIOS,
    check_accepted_by_openssl_only,
    check_client_purpose_refusal,
    check_path_length_violation,
    check_predictions,
)
from mtlslib.insecure.certificates import common_name_only, issue_leaf, not_a_ca, sub_ca
from mtlslib.pki import CertificateAuthority

RIGHT = {"wildcard-too-deep": "client", "intermediate-anchor": "client", "cn-only": "nobody",
         "revoked-unchecked": "nobody", "mtls-no-eku": "nobody", "mtls-optional-expired": "server",
         "mtls-wrong-identity": "nobody"}


# --------------------------------------------------------------------------------------------
# Predict, then run


def test_right_predictions_pass_whatever_their_case_and_quotes(capsys):
    check_predictions(lambda: {name: f" '{answer.upper()}' " for name, answer in RIGHT.items()})
    assert "every prediction matches the real handshakes" in capsys.readouterr().out
    assert set(RIGHT) == set(PREDICTION_SCENARIOS)


def test_wrong_predictions_are_named_without_their_answers():
    wrong = {**RIGHT, "cn-only": "client", "mtls-optional-expired": "nobody"}
    with pytest.raises(ExerciseIncorrect) as refused:
        check_predictions(lambda: wrong)
    message = str(refused.value)
    assert message.startswith("5 of 7 predictions match the real handshakes. Not these:\n")
    assert "  cn-only: not client. Ask yourself: where does OpenSSL" in message
    assert "  mtls-optional-expired: not nobody. Ask yourself: CERT_OPTIONAL" in message
    # Neither the right answers of the wrong ones nor anything about the right ones.
    for answer in ("nobody refuses", "server refuses", "cn-only: nobody", "mtls-optional-expired: server"):
        assert answer not in message
    for name in set(RIGHT) - {"cn-only", "mtls-optional-expired"}:
        assert name not in message


@pytest.mark.parametrize("predict, explanation", [
    (lambda: ["client"] * 7, "return a dict"),
    (lambda: {**RIGHT, "cn-only": "maybe"}, "'maybe' is not one of client, server, nobody"),
    (lambda: {k: v for k, v in RIGHT.items() if k != "revoked-unchecked"}, "no prediction for revoked-unchecked"),
])
def test_malformed_predictions_are_explained(predict, explanation):
    with pytest.raises(ExerciseIncorrect, match=explanation):
        check_predictions(predict)


def test_a_blank_prediction_function_is_not_done_yet():
    def predict():
        raise NotImplementedError()

    with pytest.raises(ExerciseNotDone, match="not written yet"):
        check_predictions(predict)


# --------------------------------------------------------------------------------------------
# Certificates built to fail


def too_deep(root):
    issuing = root.create_intermediate("Test Issuing CA", path_length=0)
    return issue_leaf(sub_ca(issuing, "Test CA Below Path Length 0"), "localhost")


def test_path_length_checker_passes_a_chain_that_breaks_one(capsys):
    check_path_length_violation(too_deep)
    assert "path length constraint exceeded, 3 certificates sent" in capsys.readouterr().out


@pytest.mark.parametrize("build, explanation", [
    (lambda root: root.create_intermediate("Fine CA", path_length=1).issue_server("localhost"),
     "OpenSSL accepted your chain"),
    (lambda root: issue_leaf(not_a_ca(root, "Not A CA"), "localhost"), "invalid CA certificate"),
    (lambda root: too_deep(CertificateAuthority.create("Another Root CA", seed="test-exercises-08")),
     "the chain does not reach the root"),
    (lambda root: root, "return the server certificate as an IssuedCertificate"),
])
def test_path_length_checker_explains_each_mistake(build, explanation):
    with pytest.raises(ExerciseIncorrect, match=explanation):
        check_path_length_violation(build)


def test_openssl_only_checker_passes_a_common_name_only_certificate(capsys):
    check_accepted_by_openssl_only(lambda issuing: common_name_only(issuing, "localhost"))
    assert "cryptography refuses it" in capsys.readouterr().out


@pytest.mark.parametrize("build, explanation", [
    (lambda issuing: issuing.issue_server("localhost"), "cryptography accepted it too"),
    (lambda issuing: issuing.issue_server("localhost", validity="expired"), "Python's ssl refused it"),
    (lambda issuing: "localhost", "returned str"),
])
def test_openssl_only_checker_explains_each_mistake(build, explanation):
    with pytest.raises(ExerciseIncorrect, match=explanation):
        check_accepted_by_openssl_only(build)


def test_client_purpose_checker_passes_a_server_certificate(capsys):
    check_client_purpose_refusal(lambda issuing: issuing.issue_server("alice.example.test"))
    assert "unsuitable certificate purpose" in capsys.readouterr().out


@pytest.mark.parametrize("build, explanation", [
    (lambda issuing: issuing.issue_client("alice@example.test"), "the server accepted it as a client certificate"),
    (lambda issuing: issuing.issue_client("alice@example.test", validity="expired"), "for another reason"),
])
def test_client_purpose_checker_explains_each_mistake(build, explanation):
    with pytest.raises(ExerciseIncorrect, match=explanation):
        check_client_purpose_refusal(build)
