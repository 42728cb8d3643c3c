"""Checkers for chapter 08, breaking verification: predictions, and certificates built to fail.

Every checker runs real handshakes on 127.0.0.1 (and, where the exercise says so, cryptography's
verifier), so what it reports is what OpenSSL really decided, with OpenSSL's own words.
"""

from __future__ import annotations

import ssl
from datetime import datetime, timezone
from functools import lru_cache
from typing import Callable

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import ExtendedKeyUsageOID

from mtlslib.exercises import attempt, expect, well_done
from mtlslib.lessons.scenarios import SCENARIOS
from mtlslib.pki import CertificateAuthority, IssuedCertificate, extension
from mtlslib.tls import error_text, handshake, run_between, server_context
from mtlslib.verification import cryptography_verdict

__all__ = ["PREDICTION_SCENARIOS", "check_accepted_by_openssl_only", "check_client_purpose_refusal",
           "check_path_length_violation", "check_predictions"]

# Scenarios whose outcome surprises most readers; the reader predicts who refuses each one. A
# wrong prediction gets the question to ask oneself, never the answer.
_QUESTIONS = {
    "wildcard-too-deep": "how many labels does the star of *.example.test stand for?",
    "intermediate-anchor": "must a path end at a self-signed root for OpenSSL, as Python 3.11 configures it, "
                           "or may it end at any certificate in the trust store?",
    "cn-only": "where does OpenSSL, as Python 3.11 configures it, look for the name when a certificate has no "
               "subjectAltName?",
    "revoked-unchecked": "the CRL is loaded, but which flag makes OpenSSL consult it, and is it set by default?",
    "mtls-no-eku": "what does RFC 5280 say a certificate without an extended key usage extension may be used "
                   "for?",
    "mtls-optional-expired": "CERT_OPTIONAL makes sending a certificate optional; does it make checking one "
                             "optional?",
    "mtls-wrong-identity": "does the TLS handshake know which identities the application admits? A refusal by "
                           "the application after the handshake counts as nobody",
}
PREDICTION_SCENARIOS = tuple(_QUESTIONS)
_ANSWERS = ("client", "server", "nobody")


@lru_cache(maxsize=1)
def _authorities() -> tuple[CertificateAuthority, CertificateAuthority]:
    root = CertificateAuthority.create("Exercise Root CA", seed="exercises-08")
    return root, root.create_intermediate("Exercise Issuing CA")


def _who_refuses(name: str) -> str:
    """Who refuses at the TLS level ('nobody' if the handshake succeeds)."""
    outcome = SCENARIOS[name].outcome
    return outcome.refused_by if outcome.refused_by in ("client", "server") else "nobody"


def _normal(answer) -> str:
    return str(answer).strip().lower().strip("'\"")


# --------------------------------------------------------------------------------------------
# 1. Predict, then run


def check_predictions(predict: Callable[[], dict]) -> None:
    """``predict()`` returns ``{scenario name: "client" | "server" | "nobody"}``: who refuses the
    connection in the TLS handshake (an application's later refusal does not count)."""
    predictions = attempt(predict)
    name = getattr(predict, "__name__", "predict")
    expect(isinstance(predictions, dict),
           f"{name}() returned {type(predictions).__name__}; return a dict such as {{'cn-only': 'client', ...}}")
    missing = [s for s in PREDICTION_SCENARIOS if s not in predictions]
    expect(not missing, f"no prediction for {', '.join(missing)}: give one for each of "
                        f"{', '.join(PREDICTION_SCENARIOS)}")
    for scenario in PREDICTION_SCENARIOS:
        expect(_normal(predictions[scenario]) in _ANSWERS,
               f"{scenario}: {predictions[scenario]!r} is not one of {', '.join(_ANSWERS)}")
    live = {scenario: _who_refuses(scenario) for scenario in PREDICTION_SCENARIOS}
    wrong = [s for s in PREDICTION_SCENARIOS if _normal(predictions[s]) != live[s]]
    expect(not wrong, f"{len(PREDICTION_SCENARIOS) - len(wrong)} of {len(PREDICTION_SCENARIOS)} predictions match "
                      "the real handshakes. Not these:\n"
                      + "\n".join(f"  {s}: not {_normal(predictions[s])}. Ask yourself: {_QUESTIONS[s]}"
                                  for s in wrong)
                      + "\nChange those predictions and run the check again; the sections below run each "
                        "scenario in full.")
    well_done("every prediction matches the real handshakes: "
              + ", ".join(f"{s} {live[s]}" for s in PREDICTION_SCENARIOS))


# --------------------------------------------------------------------------------------------
# 2. Build the certificate that triggers a given failure


_HINTS = {
    "unable to get local issuer certificate": "the chain does not reach the root: make every CA from `root` "
                                              "(create_intermediate, sub_ca) and issue the leaf with issue_leaf, "
                                              "which sends the intermediates along",
    "Hostname mismatch": "the certificate must be for localhost, the name the checker connects to",
    "invalid CA certificate": "one of your issuers is not a CA at all; every issuer must say CA:TRUE, only one "
                              "of them must allow too short a path",
}


def _hint(reason: str, hints: dict[str, str] = _HINTS) -> str:
    return next((hint for marker, hint in hints.items() if marker in reason), "read OpenSSL's reason above")


def _server_reason(leaf, root: CertificateAuthority) -> tuple[bool, str]:
    """What a client made the way most Python code makes one, ``ssl.create_default_context()`` trusting
    ``root``, decides about ``leaf`` in a real handshake (Python's defaults: the common-name fallback is on,
    unlike in mtlslib's own contexts)."""
    client = ssl.create_default_context(cadata=root.cert_pem.decode())
    result, _ = run_between(server_context(leaf, check_purpose=False), client)
    return result.ok, result.client_saw.error or ""


def _expect_certificate(value, function_name: str, what: str) -> None:
    expect(not isinstance(value, CertificateAuthority),
           f"{function_name}() returned a CertificateAuthority, a CA and not the {what}: return a certificate "
           "that a CA issues")
    expect(isinstance(value, IssuedCertificate),
           f"{function_name}() returned {type(value).__name__}; return the {what} as an IssuedCertificate "
           "(what issue_leaf and the issue_ methods of a CA return)")


def check_path_length_violation(build: Callable[[CertificateAuthority], IssuedCertificate]) -> None:
    """``build(root)`` returns a server certificate for localhost, chaining up to ``root``, that
    OpenSSL refuses with "path length constraint exceeded"."""
    root, _ = _authorities()
    leaf = attempt(build, root)
    name = getattr(build, "__name__", "build")
    _expect_certificate(leaf, name, "server certificate")
    ok, reason = _server_reason(leaf, root)
    expect(not ok, "OpenSSL accepted your chain: every CA on it respects its path length. What does path "
                   "length 0 forbid below a CA, and which builder makes a CA whatever its parent allows?")
    expect("path length constraint exceeded" in reason,
           f"OpenSSL refused, but for another reason: {reason!r}. Hint: {_hint(reason)}")
    well_done(f"OpenSSL refuses your chain: {reason.split(': ')[-1]}, "
              f"{len(leaf.chain_pem.split(b'-----BEGIN')) - 1} certificates sent")


def check_accepted_by_openssl_only(build: Callable[[CertificateAuthority], IssuedCertificate]) -> None:
    """``build(issuing_ca)`` returns a server certificate for localhost that Python's ssl accepts and
    cryptography's verifier refuses (both trusting the root above ``issuing_ca``)."""
    root, issuing = _authorities()
    leaf = attempt(build, issuing)
    name = getattr(build, "__name__", "build")
    _expect_certificate(leaf, name, "server certificate")
    ok, reason = _server_reason(leaf, root)
    expect(ok, f"Python's ssl refused it ({reason}); it must accept the certificate. Hint: {_hint(reason)}")
    verdict = cryptography_verdict(leaf, root, name="localhost")
    refusal = None if verdict.accepted else verdict.reason
    expect(refusal is not None, "cryptography accepted it too. Look for a rule the web PKI enforces and OpenSSL, "
                                "as Python configures it, does not: find one in section 10, where OpenSSL accepts and "
                                "cryptography refuses")
    well_done(f"Python's ssl accepts it, cryptography refuses it ({refusal})")


# Why a server refuses a client certificate for something else than its purpose: OpenSSL builds the
# chain and checks every certificate's extensions (the purpose among them) before dates and signatures.
_NEVER_REACHED = "so OpenSSL never reaches the purpose: issue it with issuing_ca, whose root the server trusts"
_BAD_ISSUER = "issue it with issuing_ca itself"
_BAD_DATES = "its dates are wrong, not its purpose: keep it valid, and look at what it says it is for"
_NOT_THE_PURPOSE = {
    "unable to get": f"the server cannot chain it to the root it trusts, {_NEVER_REACHED}",
    "self-signed certificate": f"nobody the server trusts vouches for it, {_NEVER_REACHED}",
    "invalid CA certificate": f"an issuer on its chain is not a CA: {_BAD_ISSUER}",
    "path length": f"an issuer on its chain is not allowed that deep: {_BAD_ISSUER}",
    "unhandled critical extension": "it carries a critical extension OpenSSL does not know, refused before the "
                                    "purpose: leave that one out, and look at the extension every verifier knows "
                                    "that says what a certificate is for",
    "expired": _BAD_DATES,
    "not yet valid": _BAD_DATES,
    "signature": "its signature does not verify: let issuing_ca sign it, with its own methods",
}
_UNLOADABLE = {
    "too small": "its key is too weak for OpenSSL's security level",
    "too weak": "its key or signature is too weak for OpenSSL's security level",
    "key values mismatch": "its private key is not the one its certificate names",
}


def _accepted_why(certificate: IssuedCertificate) -> str:
    """Why a server took ``certificate`` from a client, read from its extended key usage."""
    purposes = extension(certificate.certificate, x509.ExtendedKeyUsage)
    if purposes is None:
        return ("it has no extended key usage, and RFC 5280 (section 4.2.1.12) binds a certificate to the purposes "
                "that extension lists only when it is there; its key usage does not rule a client's signature out "
                "either, so OpenSSL takes it: a certificate is refused for a purpose only when its extended key "
                "usage, or its key usage, rules that purpose out")
    if ExtendedKeyUsageOID.CLIENT_AUTH in purposes and len(purposes) > 1:
        return ("its extended key usage lists clientAuth among other purposes, and one purpose that fits is all "
                "OpenSSL asks: a dual-use certificate passes as a client's")
    if ExtendedKeyUsageOID.CLIENT_AUTH in purposes:
        return ("its extended key usage is clientAuth, the very purpose a mutual-TLS server asks of a client's "
                "certificate: the refusal needs a certificate meant for something else")
    return "OpenSSL found its purposes suitable for a client; read its extended key usage and its key usage"


def _expect_only_the_purpose_wrong(leaf: x509.Certificate, issuing: x509.Certificate) -> None:
    """OpenSSL stops at the first error it finds and checks the purpose before dates and signatures,
    so a refusal for the purpose says nothing of those: check them here."""
    refused = ("the server refuses it for its purpose, but OpenSSL stops at its first error, and it checks the "
               "purpose before dates and signatures: only the purpose should be wrong, and")
    expect(leaf.issuer == issuing.subject, f"{refused} {leaf.issuer.rfc4514_string() or 'an empty name'} issued "
                                           "this one, not issuing_ca: let issuing_ca issue it")
    try:
        leaf.verify_directly_issued_by(issuing)
        signed = True
    except (ValueError, TypeError, InvalidSignature):
        signed = False
    expect(signed, f"{refused} issuing_ca's key did not sign this one: let issuing_ca sign it, with its own methods")
    now = datetime.now(timezone.utc)
    expect(leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc,
           f"{refused} this one is outside its validity dates: keep it valid")


def check_client_purpose_refusal(build: Callable[[CertificateAuthority], IssuedCertificate]) -> None:
    """``build(issuing_ca)`` returns a certificate, issued by ``issuing_ca``, that a mutual-TLS
    server trusting that CA's root refuses as a client certificate with "unsuitable certificate
    purpose"."""
    root, issuing = _authorities()
    certificate = attempt(build, issuing)
    name = getattr(build, "__name__", "build")
    _expect_certificate(certificate, name, "client certificate")
    server_root = CertificateAuthority.create("Exercise Server Root CA", seed="exercises-08")
    server = server_root.issue_server("localhost")
    try:
        result = handshake(server, certificate, server_trust=root, client_trust=server_root, check_purpose=False)
    except ssl.SSLError as error:
        reason = error_text(error)
        expect(False, f"the client cannot even load it ({reason!r}), so no server ever judges its purpose: "
                      f"{_hint(reason, _UNLOADABLE)}. Let issuing_ca issue it, with its own methods")
    reason = result.server_saw.error or ""
    expect(not result.ok, f"the server accepted it as a client certificate: {_accepted_why(certificate)}")
    expect("unsuitable certificate purpose" in reason,
           f"the server refused it, but for another reason: {reason!r}. Hint: {_hint(reason, _NOT_THE_PURPOSE)}")
    _expect_only_the_purpose_wrong(certificate.certificate, issuing.certificate)
    well_done(f"the server refuses it: {reason.split('] ')[-1]}; the client saw "
              f"{result.client_saw.alert_received or result.client_saw.error}")
