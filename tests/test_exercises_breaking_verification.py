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
from mtlslib.insecure.certificates import (
    common_name_only,
    derived_key,
    issue_leaf,
    not_a_ca,
    paired_with_wrong_key,
    self_signed_leaf,
    signed_by_wrong_key,
    sub_ca,
    weak_rsa,
    with_unknown_critical_extension,
    without_extended_key_usage,
)
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
    (lambda root: root, "returned a CertificateAuthority, a CA and not the server certificate"),
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


def forged_client(issuing):
    """A client certificate that names issuing as its issuer, key identifier included, but was signed by
    another key."""
    forger = CertificateAuthority(issuing.certificate, derived_key("forger of the issuing CA"), parent=issuing.parent)
    return issue_leaf(forger, "alice.example.test", purposes=CLIENT,
                      extra_extensions=[(issuing.authority_key_identifier, False)])


CLIENT = ("client",)
WRONG_PURPOSE_CERTIFICATES = {
    "a client certificate": (lambda issuing: issuing.issue_client("alice@example.test"),
                             "accepted it as a client certificate: its extended key usage is clientAuth, the very "
                             "purpose"),
    "a dual-use certificate": (lambda issuing: issuing.issue_server("alice.example.test", client_auth=True),
                               "accepted it.*lists clientAuth among other purposes.*a dual-use certificate passes"),
    "no extended key usage": (lambda issuing: without_extended_key_usage(issuing, "alice.example.test"),
                              "accepted it.*no extended key usage.*RFC 5280 \\(section 4.2.1.12\\).*or its key usage"),
    "expired": (lambda issuing: issuing.issue_client("alice@example.test", validity="expired"),
                "another reason: .*certificate has expired.*dates are wrong, not its purpose"),
    "not yet valid": (lambda issuing: issuing.issue_client("alice@example.test", validity="not-yet-valid"),
                      "another reason: .*certificate is not yet valid.*dates are wrong, not its purpose"),
    "another CA": (lambda issuing: CertificateAuthority.create("Another Root CA", seed="test-exercises-08")
                   .issue_client("alice@example.test"),
                   "unable to get local issuer certificate.*cannot chain it to the root it trusts"),
    "self-signed": (lambda issuing: self_signed_leaf("alice.example.test", purposes=CLIENT),
                    "self-signed certificate.*nobody the server trusts vouches for it"),
    "issued by a non-CA": (lambda issuing: issue_leaf(not_a_ca(issuing, "Not A CA"), "alice.example.test",
                                                      purposes=CLIENT),
                           "invalid CA certificate.*an issuer on its chain is not a CA"),
    "issued below path length 0": (lambda issuing: issue_leaf(sub_ca(issuing, "Too Deep CA"), "alice.example.test",
                                                              purposes=CLIENT),
                                   "path length constraint exceeded.*not allowed that deep"),
    "an unknown critical extension": (lambda issuing: with_unknown_critical_extension(issuing, "alice.example.test"),
                                      "unhandled critical extension.*refused before the purpose"),
    "a forged signature": (forged_client, "certificate signature failure.*its signature does not verify"),
    "a weak key": (lambda issuing: weak_rsa(issuing, "alice.example.test"),
                   "cannot even load it.*ee key too small.*too weak for OpenSSL's security level"),
    "another key": (lambda issuing: paired_with_wrong_key(issuing.issue_client("alice@example.test")),
                    "cannot even load it.*key values mismatch.*private key is not the one"),
    "issued by the root": (lambda issuing: issuing.root.issue_server("alice.example.test"),
                           "refuses it for its purpose, but .*CN=.* issued this one, not issuing_ca"),
    "forged, and for a server": (lambda issuing: signed_by_wrong_key(issuing, "alice.example.test"),
                                 "refuses it for its purpose, but .*issuing_ca's key did not sign this one"),
    "expired, and for a server": (lambda issuing: issuing.issue_server("alice.example.test", validity="expired"),
                                  "refuses it for its purpose, but .*outside its validity dates"),
    "the CA itself": (lambda issuing: issuing, "returned a CertificateAuthority, a CA and not the client certificate"),
    "a name": (lambda issuing: "alice@example.test", "returned str"),
}


@pytest.mark.parametrize("mistake", WRONG_PURPOSE_CERTIFICATES)
def test_client_purpose_checker_explains_each_mistake(mistake):
    build, explanation = WRONG_PURPOSE_CERTIFICATES[mistake]
    with pytest.raises(ExerciseIncorrect, match=explanation) as refused:
        check_client_purpose_refusal(build)
    # Which purpose to give the certificate is the exercise: no message names it.
    assert not [answer for answer in ("issue_server", "serverAuth", "server certificate")
                if answer in str(refused.value)]
