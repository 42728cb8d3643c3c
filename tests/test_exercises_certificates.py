"""Chapter 03's exercise: the checker passes a right signature check and explains each wrong one."""

from __future__ import annotations

import contextlib

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from mtlslib.exercises import ExerciseIncorrect, ExerciseNotDone
from mtlslib.exercises.certificates import check_signed_by


def verify_with(key, signature, content, algorithm):
    """The right call for each key type the course uses."""
    if isinstance(key, ec.EllipticCurvePublicKey):
        key.verify(signature, content, ec.ECDSA(algorithm))
    elif isinstance(key, rsa.RSAPublicKey):
        key.verify(signature, content, padding.PKCS1v15(), algorithm)
    elif isinstance(key, ed25519.Ed25519PublicKey):
        key.verify(signature, content)
    else:
        raise InvalidSignature


def returning_bool(verify):
    """A signature check that answers False where ``verify`` raises InvalidSignature: the right
    answer and most wrong ones differ only in how they call verify()."""
    def check(certificate, issuer_certificate):
        try:
            verify(certificate, issuer_certificate)
        except InvalidSignature:
            return False
        return True
    return check


def verify_tbs(certificate, issuer_certificate, algorithm=None):
    verify_with(issuer_certificate.public_key(), certificate.signature, certificate.tbs_certificate_bytes,
                algorithm or certificate.signature_hash_algorithm)


signed_by = returning_bool(verify_tbs)


def test_the_right_answer_passes(capsys):
    check_signed_by(signed_by)
    out = capsys.readouterr().out
    assert "4 CAs" in out and "rsa-2048 (sha256WithRSAEncryption)" in out and "ed25519 (ed25519)" in out
    assert "refuses all 5 certificates" in out


def with_own_key(certificate, issuer_certificate):
    return signed_by(certificate, certificate)


fixed_sha256 = returning_bool(lambda certificate, issuer: verify_tbs(certificate, issuer, hashes.SHA256()))


def true_on_exceptions(certificate, issuer_certificate):
    with contextlib.suppress(Exception):
        verify_tbs(certificate, issuer_certificate)
    return True


def returns_what_verify_returns(certificate, issuer_certificate):
    return issuer_certificate.public_key().verify(certificate.signature, certificate.tbs_certificate_bytes,
                                                  ec.ECDSA(certificate.signature_hash_algorithm))


over_the_whole_certificate = returning_bool(
    lambda certificate, issuer: verify_with(issuer.public_key(), certificate.signature,
                                            certificate.public_bytes(Encoding.DER),
                                            certificate.signature_hash_algorithm))


def rsa_with_pss(certificate, issuer_certificate):
    key = issuer_certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        return signed_by(certificate, issuer_certificate)
    algorithm = certificate.signature_hash_algorithm
    return returning_bool(lambda c, i: key.verify(c.signature, c.tbs_certificate_bytes,
                                                  padding.PSS(padding.MGF1(algorithm), padding.PSS.MAX_LENGTH),
                                                  algorithm))(certificate, issuer_certificate)


ecdsa_only = returning_bool(
    lambda certificate, issuer: issuer.public_key().verify(certificate.signature, certificate.tbs_certificate_bytes,
                                                           ec.ECDSA(certificate.signature_hash_algorithm)))


@returning_bool
def by_signature_algorithm(certificate, issuer_certificate):
    """Chooses the call from the certificate's algorithm, so a key of another type breaks it."""
    key, algorithm = issuer_certificate.public_key(), certificate.signature_hash_algorithm
    if algorithm is None:
        key.verify(certificate.signature, certificate.tbs_certificate_bytes)
    elif certificate.signature_algorithm_oid.dotted_string.startswith("1.2.840.10045"):
        key.verify(certificate.signature, certificate.tbs_certificate_bytes, ec.ECDSA(algorithm))
    else:
        key.verify(certificate.signature, certificate.tbs_certificate_bytes, padding.PKCS1v15(), algorithm)


# The chapter's own check of section 4, which catches only the bad signature.
directly_issued_by = returning_bool(lambda certificate, issuer: certificate.verify_directly_issued_by(issuer))


def directly_issued_by_catching_everything_it_raises(certificate, issuer_certificate):
    try:
        certificate.verify_directly_issued_by(issuer_certificate)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def test_verify_directly_issued_by_catching_what_it_raises_passes(capsys):
    check_signed_by(directly_issued_by_catching_everything_it_raises)
    assert "refuses all 5 certificates" in capsys.readouterr().out


def test_a_different_issuer_name_is_diagnosed_as_such():
    with pytest.raises(ExerciseIncorrect) as caught:
        check_signed_by(directly_issued_by)
    message = str(caught.value)
    assert "raised ValueError: Issuer certificate subject does not match" in message
    assert "self-signed certificate" in message and "a different issuer name also means no: return False" in message
    assert "public_key" not in message  # not the diagnosis of a function that used its own key


def test_the_rsa_hint_names_this_ca_s_padding_not_every_rsa_certificate_s():
    with pytest.raises(ExerciseIncorrect) as caught:
        check_signed_by(rsa_with_pss)
    message = str(caught.value)
    assert "this CA signs with PKCS#1 v1.5 (sha256WithRSAEncryption)" in message
    assert "signature_algorithm_parameters" in message


@pytest.mark.parametrize("wrong, complaint", [
    (with_own_key, "self-signed certificate.*never certificate.public_key"),
    (lambda certificate, issuer: True, "answered True for a leaf that names the P-256 CA"),
    (lambda certificate, issuer: False, "answered False for a leaf the ECDSA P-256 CA signed"),
    (fixed_sha256, "P-384 CA signed with SHA-384.*certificate.signature_hash_algorithm"),
    (rsa_with_pss, "RSA CA signed.*PKCS1v15"),
    (ecdsa_only, "raised TypeError.*RSA CA signed.*PKCS1v15"),
    (over_the_whole_certificate, "False for a leaf the ECDSA P-256 CA signed.*tbs_certificate_bytes"),
    (true_on_exceptions, "True for a leaf that names the P-256 CA.*never True"),
    (returns_what_verify_returns, "let InvalidSignature out .* catch it and return False"),
    (lambda certificate, issuer: None, "returned NoneType None.*return True or False"),
    (by_signature_algorithm, "raised .* an ECDSA leaf, asked about the RSA CA.*another type"),
    (lambda certificate, issuer: "yes", "returned str 'yes'"),
])
def test_each_wrong_answer_is_explained(wrong, complaint):
    with pytest.raises(ExerciseIncorrect, match=complaint):
        check_signed_by(wrong)


def test_explanations_do_not_give_the_answer_away():
    with pytest.raises(ExerciseIncorrect) as caught:
        check_signed_by(lambda certificate, issuer: False)
    assert "def " not in str(caught.value) and "return True" not in str(caught.value)


def test_a_blank_exercise_says_what_to_write():
    def signed_by(certificate, issuer_certificate):
        raise NotImplementedError()

    with pytest.raises(ExerciseNotDone, match="signed_by\\(\\) is not written yet"):
        check_signed_by(signed_by)
