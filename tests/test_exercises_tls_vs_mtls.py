"""Chapter 06's checker: a prediction of the client's Certificate message is compared with real
captures; each wrong formula is refused with a pointer to what it misses, never the formula."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from mtlslib.exercises import ExerciseIncorrect, ExerciseNotDone
from mtlslib.exercises.tls_vs_mtls import check_certificate_message_size, measured_client_certificate
from mtlslib.pki import CertificateAuthority


def der(certificate) -> int:
    return len(certificate.public_bytes(Encoding.DER))


def right(chain):
    # handshake header 4, certificate_request_context 1 + 0, certificate_list length 3; per entry:
    # cert_data length 3, the DER, extensions length 2 (RFC 8446, 4.4.2)
    return 4 + 1 + 3 + sum(3 + der(c) + 2 for c in chain)


def test_the_right_prediction_passes_and_reports_every_size(capsys):
    check_certificate_message_size(right)
    assert capsys.readouterr().out.startswith(
        "\u2714 right predicts the client's Certificate message to the byte: a leaf alone ")


@pytest.mark.parametrize("predict, complaint", [
    (lambda chain: sum(der(c) for c in chain), "short by an amount that changes by the same step with each"),
    (lambda chain: 8 + sum(3 + der(c) for c in chain), "short by an amount that changes .* CertificateEntry"),
    (lambda chain: right(chain) - 4, "short by the same amount whatever the number .* handshake header"),
    (lambda chain: right(chain) + 22, "long by the same amount .* record header and the AEAD tag"),
    (lambda chain: right(chain[:1]), "is every certificate given counted, each once\\?"),
    (lambda chain: float(right(chain)), "returned float .* whole number of bytes"),
    (lambda chain: chain[0].not_a_field, "raised AttributeError"),
])
def test_wrong_predictions_are_refused_with_a_pointer(predict, complaint):
    with pytest.raises(ExerciseIncorrect, match=complaint):
        check_certificate_message_size(predict)


def test_no_message_gives_the_formula_away():
    for predict in (lambda chain: sum(der(c) for c in chain), lambda chain: right(chain) - 4):
        with pytest.raises(ExerciseIncorrect) as refused:
            check_certificate_message_size(predict)
        assert not any(character.isdigit() for character in str(refused.value).replace("8446", "").replace(
            "4.4.2", "")), str(refused.value)


def test_an_unwritten_exercise_says_so():
    def predict(chain):
        raise NotImplementedError()

    with pytest.raises(ExerciseNotDone, match="not written yet"):
        check_certificate_message_size(predict)


def test_the_measurement_is_the_decrypted_message_of_a_real_handshake():
    server_ca = CertificateAuthority.create("Measure Server CA", seed="measure-06")
    client_ca = CertificateAuthority.create("Measure Client CA", seed="measure-06")
    issuing = client_ca.create_intermediate("Measure Issuing CA")
    alice = issuing.issue_client("alice@example.test")
    sent, size = measured_client_certificate(server_ca.issue_server("localhost"), alice,
                                             client_trust=server_ca, server_trust=client_ca)
    assert sent == (alice.certificate, issuing.certificate)
    assert size == right(sent)
