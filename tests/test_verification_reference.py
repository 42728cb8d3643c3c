"""mtlslib.verification.reference: the one wrapper of each real verifier, and how results print.

* ``cryptography_verdict``: cryptography's ``PolicyBuilder`` verifier, errors in words (no Rust
  debug structures, no repeated certificate);
* ``openssl_verdict``: ``openssl verify`` run as Python's ``ssl`` verifies;
* ``handshake_verdict``: a real handshake's client;
* ``Verdict``, ``Explanation``, ``Agreement``: each prints itself (``str``), as ``mtlslib.display.Shown``.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from mtlslib.display import Shown, Table
from mtlslib.errors import UsageError
from mtlslib.lessons.scenarios import SCENARIOS
from mtlslib.pki import CertificateAuthority
from mtlslib.verification import (
    Problems,
    Verdict,
    cryptography_verdict,
    explain,
    handshake_verdict,
    openssl_verdict,
    readable_cryptography_error,
)
from mtlslib.verification.limbo import Agreement, measure

IN_2080 = dt.datetime(2080, 1, 1, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def pki():
    root = CertificateAuthority.create("Reference Root CA", seed="verification reference")
    issuing = root.create_intermediate("Reference Issuing CA")
    server = issuing.issue_server("localhost")
    revoked = issuing.issue_server("revoked.example.test")
    issuing.revoke(revoked)
    return root, issuing, server, revoked


# --------------------------------------------------------------------------------------------
# Verdict


def test_a_verdict_prints_in_words():
    assert str(Verdict(True)) == "accepts"
    assert str(Verdict(False, "required EKU not found")) == "refuses: required EKU not found"
    assert str(Verdict(None, "nothing is presented")) == "not applicable: nothing is presented"
    assert isinstance(Verdict(True), Shown)


# --------------------------------------------------------------------------------------------
# cryptography


def test_cryptography_accepts_a_good_chain_and_says_why_it_refuses_a_bad_one(pki):
    root, _, server, _ = pki
    assert cryptography_verdict(server, root, name="localhost") == Verdict(True)
    wrong = cryptography_verdict(server, root, name="www.example.test")
    assert wrong == Verdict(False, "leaf certificate has no matching subjectAltName")
    expired = cryptography_verdict(server.chain_pem, root.cert_pem, name="localhost", at=IN_2080)
    assert expired.accepted is False and "not valid at validation time" in expired.reason
    assert cryptography_verdict(server, root, purpose="client").accepted is False  # a serverAuth-only leaf


def test_cryptography_does_not_apply_to_inputs_it_cannot_take(pki):
    root, _, server, _ = pki
    assert cryptography_verdict(server, root).accepted is None  # a server needs a name
    bad_name = cryptography_verdict(server, root, name="not a name!")
    assert bad_name.accepted is None and "cannot take these inputs" in bad_name.reason
    assert cryptography_verdict(server, [], name="localhost").accepted is None


def test_cryptography_errors_name_the_algorithm_instead_of_a_rust_structure():
    setup = SCENARIOS["sha1"].setup
    verdict = cryptography_verdict(list(setup.presented), list(setup.trust), name=setup.server_hostname)
    assert verdict.accepted is False
    assert "AlgorithmIdentifier" not in verdict.reason and "ObjectIdentifier" not in verdict.reason
    assert "ecdsa-with-SHA1" in verdict.reason, verdict.reason


@pytest.mark.parametrize("raw, readable", [
    ("validation failed: candidates exhausted: Forbidden signature algorithm: AlgorithmIdentifier { oid: "
     "DefinedByMarker(PhantomData<asn1::object_identifier::ObjectIdentifier>), params: Other(ObjectIdentifier "
     "{ oid: 1.2.840.10045.4.1 }, None) }",
     "candidates exhausted: Forbidden signature algorithm: ecdsa-with-SHA1"),
    ("validation failed: candidates exhausted: Forbidden public key algorithm: AlgorithmIdentifier { oid: "
     "DefinedByMarker(PhantomData<asn1::object_identifier::ObjectIdentifier>), params: Ec(NamedCurve("
     "ObjectIdentifier { oid: 1.2.840.10045.3.1.1 })) }",
     "candidates exhausted: Forbidden public key algorithm: an EC key on curve secp192r1"),
    ("Forbidden public key algorithm: AlgorithmIdentifier { oid: X, params: Ec(SpecifiedCurve(SpecifiedECDomain "
     "{ version: 1, field_id: FieldID { field_type: Y } })) }",
     "Forbidden public key algorithm: an EC key with explicit curve parameters"),
    ("Forbidden public key algorithm: AlgorithmIdentifier { oid: X, params: Dsa(DssParams { p: BigUint { data: "
     "[0, 214] } }) }", "Forbidden public key algorithm: a DSA key"),
    ("Forbidden signature algorithm: AlgorithmIdentifier { oid: X, params: RsaWithSha1(Some(())) }",
     "Forbidden signature algorithm: RSA with SHA1"),
    ("validation failed: required EKU not found (encountered processing <Certificate(subject=<Name(CN=a (b))>, "
     "...)>)", "required EKU not found"),
    ("candidates exhausted: malformed IP name constraints: [127, 0, 0, 1]",
     "candidates exhausted: malformed IP name constraints: 127.0.0.1"),
    ("unsatisfiable IP name constraint: malformed SAN [192, 0, 2, 0, 255, 255, 255, 0]",
     "unsatisfiable IP name constraint: malformed SAN 192.0.2.0/24"),
])
def test_cryptography_messages_are_made_readable(raw, readable):
    assert readable_cryptography_error(raw) == readable


# --------------------------------------------------------------------------------------------
# OpenSSL


def test_openssl_verify_gives_openssls_verdict_and_reason(pki, openssl_bin):
    root, issuing, server, revoked = pki
    assert openssl_verdict(server, root, name="localhost", openssl=openssl_bin) == Verdict(True)
    assert openssl_verdict(server, root, name="localhost", at=IN_2080, openssl=openssl_bin) == \
        Verdict(False, "certificate has expired")
    assert openssl_verdict(server, root, name="www.example.test", openssl=openssl_bin) == \
        Verdict(False, "hostname mismatch")
    assert openssl_verdict(revoked, root, name="revoked.example.test", crls=issuing.crl_pem,
                           openssl=openssl_bin) == Verdict(False, "certificate revoked")
    assert openssl_verdict(revoked, root, name="revoked.example.test", openssl=openssl_bin).accepted is True


def test_openssl_verify_ends_at_an_intermediate_only_with_partial_chains(pki, openssl_bin):
    _, issuing, server, _ = pki
    assert openssl_verdict(server, issuing, name="localhost", openssl=openssl_bin).accepted is False
    assert openssl_verdict(server, issuing, name="localhost", partial_chain=True, openssl=openssl_bin).accepted
    # the explainer agrees both ways
    assert explain(server, issuing, name="localhost", partial_chain=False).valid is False
    assert explain(server, issuing, name="localhost").valid is True  # mtlslib's contexts allow partial chains


def test_a_real_handshake_gives_the_clients_verdict(pki):
    root, _, server, _ = pki
    assert handshake_verdict(server, root) == Verdict(True)
    wrong = handshake_verdict(server, root, name="www.example.test")
    assert wrong.accepted is False and "Hostname mismatch" in wrong.reason
    with pytest.raises(UsageError, match="IssuedCertificate"):
        handshake_verdict(server.certificate, root)


@pytest.mark.parametrize("call, words", [
    (lambda root, server: cryptography_verdict(server, root, purpose="peer"), "'server' or 'client'"),
    (lambda root, server: openssl_verdict(server, root, name=3), "DNS name or IP address"),
    (lambda root, server: cryptography_verdict(server, root, name="localhost", max_depth="2"), "max_depth"),
    (lambda root, server: cryptography_verdict(42, root, name="localhost"), "chain must be"),
])
def test_reference_arguments_are_checked(pki, call, words):
    root, _, server, _ = pki
    with pytest.raises(UsageError, match=words):
        call(root, server)


# --------------------------------------------------------------------------------------------
# How results print


def test_an_explanation_prints_itself_and_its_problems(pki):
    root, _, server, _ = pki
    explanation = explain(server, root, name="www.example.test")
    text = str(explanation)
    assert isinstance(explanation, Shown) and text.splitlines()[-1] == explanation.verdict_line
    assert explanation.conclusion.startswith("invalid: name (leaf localhost)")
    problems = explanation.problems
    assert isinstance(problems, Problems) and isinstance(problems, Shown)
    assert str(problems.checks[0]) == ("name (leaf localhost): FAIL: www.example.test is not among the subjectAltName "
                                       "DNS names (localhost)  [OpenSSL: Hostname mismatch]")
    assert [c.step for c in problems.checks] == ["name"]
    assert str(problems).splitlines()[2].startswith(">>") and "other checks passed" in str(problems)
    table = explanation.as_table
    assert isinstance(table, Table) and table.title == explanation.verdict_line
    assert len(table.rows) == len(explanation.checks) and len(problems.as_table.rows) == 1
    assert "<table>" in explanation._repr_html_() and "Hostname mismatch" in problems._repr_html_()


def test_an_agreement_prints_as_one_line_and_takes_verdicts(pki):
    root, _, server, _ = pki
    cases = [SimpleNamespace(id=name) for name in ("localhost", "www.example.test", "not a name!")]
    agreement = measure(cases, lambda case: cryptography_verdict(server, root, name=case.id),
                        lambda case: explain(server, root, name=case.id, profile="webpki"), "webpki vs cryptography")
    assert isinstance(agreement, Agreement) and isinstance(agreement, Shown)
    assert agreement.agree == ["localhost", "www.example.test"] and agreement.no_reference == ["not a name!"]
    assert str(agreement) == ("webpki vs cryptography             agree   2  disagree   0  undecided   0  of   2  "
                              "(100.0% of decided)")
