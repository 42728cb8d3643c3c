"""Checkers for chapter 03, certificates and trust: check a certificate's signature yourself.

The checker builds certificate authorities of every key type the course uses (ECDSA P-256 and
P-384, RSA signing with PKCS#1 v1.5, Ed25519; seeded, except the RSA one), asks the reader's
function about genuine certificates and about certificates that the given issuer did not sign, and
explains each wrong answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding

from mtlslib.exercises import ExerciseIncorrect, attempt, expect, well_done
from mtlslib.insecure.certificates import self_signed_leaf, signed_by_wrong_key
from mtlslib.pki import CertificateAuthority, key_type_of, oid_name

__all__ = ["check_signed_by"]

_SIGNED_CONTENT = ("verify certificate.signature over certificate.tbs_certificate_bytes (the signed content, "
                   "not the whole certificate) with issuer_certificate.public_key()")


@dataclass(frozen=True)
class _Case:
    what: str
    certificate: x509.Certificate
    issuer: x509.Certificate
    signed: bool  # the right answer
    wrong: str  # what a wrong answer means, and a hint


def _tampered(certificate: x509.Certificate) -> x509.Certificate:
    """``certificate`` with one name changed after signing (same length, so the DER stays valid)."""
    der = certificate.public_bytes(Encoding.DER)
    return x509.load_der_x509_certificate(der.replace(b"localhost", b"evil-host"))


@lru_cache(maxsize=1)
def _cases() -> tuple[_Case, ...]:
    def authority(key_type: str) -> CertificateAuthority:
        # A seeded RSA key is derived in pure Python (about a quarter of a second); OpenSSL makes a fresh one
        # ten times faster, and nothing the check prints depends on the key.
        seed = None if key_type.startswith("rsa") else "exercises-03"
        return CertificateAuthority.create(f"Exercise {key_type} CA", seed=seed, key_type=key_type)

    p256, p384, rsa_ca, ed_ca = (authority(k) for k in ("ecdsa-p256", "ecdsa-p384", "rsa-2048", "ed25519"))
    issuing = p256.create_intermediate("Exercise Issuing CA")
    # An ECDSA leaf under the RSA CA: the signature is the CA's (RSA), and only one RSA key is generated.
    leaves = {ca: ca.issue_server("localhost", key_type="ecdsa-p256").certificate for ca in (p256, p384, rsa_ca, ed_ca)}
    own_key = "Use issuer_certificate.public_key(): the issuer's private key made the signature, so only the " \
              "issuer's public key can check it (never certificate.public_key())"
    return (
        _Case("a leaf that names the P-256 CA as issuer but was signed by another key",
              signed_by_wrong_key(p256, "localhost").certificate, p256.certificate, False,
              "its issuer name is right but another key made the signature. verify() raises InvalidSignature "
              "when the signature does not check: that must give False, never True"),
        _Case("a self-signed certificate, asked whether the P-256 CA signed it",
              self_signed_leaf("localhost").certificate, p256.certificate, False,
              "the certificate signed itself, so its own key verifies it, but the question is whether the CA "
              f"signed it. {own_key}"),
        _Case("a leaf the ECDSA P-256 CA signed", leaves[p256], p256.certificate, True,
              f"the CA really signed it. Hint: {_SIGNED_CONTENT}; for ECDSA pass "
              "ec.ECDSA(certificate.signature_hash_algorithm)"),
        _Case("a leaf the ECDSA P-384 CA signed with SHA-384", leaves[p384], p384.certificate, True,
              "the CA really signed it, with SHA-384. The certificate says which hash was used: pass "
              "certificate.signature_hash_algorithm instead of a fixed SHA-256"),
        _Case("a leaf the RSA CA signed (PKCS#1 v1.5)", leaves[rsa_ca], rsa_ca.certificate, True,
              "the RSA CA really signed it. An RSA key needs the padding too: this CA signs with PKCS#1 v1.5 "
              "(sha256WithRSAEncryption), so pass padding.PKCS1v15() and certificate.signature_hash_algorithm "
              "(certificate.signature_algorithm_parameters names the padding a certificate was signed with)"),
        _Case("a leaf the Ed25519 CA signed", leaves[ed_ca], ed_ca.certificate, True,
              "the Ed25519 CA really signed it. Ed25519 hashes inside the algorithm (signature_hash_algorithm "
              "is None): its verify takes only the signature and the signed content"),
        _Case("a leaf the P-256 CA signed, with one name changed afterwards", _tampered(leaves[p256]),
              p256.certificate, False,
              "the signed content was changed after signing, so the signature no longer matches it. "
              f"Hint: {_SIGNED_CONTENT}"),
        _Case("a leaf of the intermediate CA, asked about the root above it",
              issuing.issue_server("localhost").certificate, p256.certificate, False,
              "the root signed the intermediate, not this leaf: a signature is checked only with the key of "
              f"the certificate directly above it. {own_key}"),
        _Case("an ECDSA leaf, asked about the RSA CA", leaves[p256], rsa_ca.certificate, False,
              "a key of another type cannot have made this signature: answer False (catch what verify raises "
              "for a bad signature, or look at the key's type before you call it)"),
    )


def _answer(signed_by: Callable, case: _Case) -> bool:
    name = getattr(signed_by, "__name__", "signed_by")
    try:
        answer = attempt(signed_by, case.certificate, case.issuer)
    except ExerciseIncorrect as error:
        if isinstance(error.__cause__, InvalidSignature):
            raise ExerciseIncorrect(f"{name}() let InvalidSignature out for {case.what}: that exception is "
                                    "verify()'s way of saying no; catch it and return False") from None
        if isinstance(error.__cause__, ValueError) and case.certificate.issuer != case.issuer.subject:
            # verify_directly_issued_by, which the chapter uses, compares the names before the signature.
            raise ExerciseIncorrect(f"{error} (on {case.what}): verify_directly_issued_by raises ValueError when "
                                    "the issuer's subject is not the certificate's issuer name, and a different "
                                    "issuer name also means no: return False") from None
        raise ExerciseIncorrect(f"{error} (on {case.what}); {case.wrong}") from None
    expect(isinstance(answer, bool),
           f"{name}() returned {type(answer).__name__} {answer!r} for {case.what}: return True or False "
           "(verify() itself returns None when the signature is good and raises when it is not)")
    return answer


def check_signed_by(signed_by: Callable[[x509.Certificate, x509.Certificate], bool]) -> None:
    """``signed_by(certificate, issuer_certificate)`` must say whether the issuer's public key
    verifies the certificate's signature, for every key type the course uses."""
    name = getattr(signed_by, "__name__", "signed_by")
    for case in _cases():
        answer = _answer(signed_by, case)
        expect(answer == case.signed, f"{name}() answered {answer} for {case.what}: {case.wrong}")
    genuine = [c for c in _cases() if c.signed]
    kinds = ", ".join(f"{key_type_of(c.issuer.public_key())} ({oid_name(c.certificate.signature_algorithm_oid)})"
                      for c in genuine)
    well_done(f"your {name} recognises the signatures of {len(genuine)} CAs: {kinds}; and refuses all "
              f"{len(_cases()) - len(genuine)} certificates that the given issuer did not sign")
