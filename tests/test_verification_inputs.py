"""mtlslib.verification.explain: what ``chain``, ``trust`` and the other arguments may be.

``trust`` means what it means everywhere in mtlslib (``mtlslib.pki.trust_anchors``): a CA (root or
intermediate, the CA itself is the anchor), an issued certificate, an ``x509.Certificate``, PEM, or a
list of these. ``chain`` is what the peer presents, leaf first. A value that cannot be used raises
UsageError (or CertificateLoadError for unreadable certificates), never a bare TypeError.
"""

from __future__ import annotations

import datetime as dt

import pytest

from mtlslib.errors import CertificateLoadError, UsageError
from mtlslib.pki import CertificateAuthority
from mtlslib.verification import Explanation, Settings, explain, presented_chain


def path_labels(explanation: Explanation) -> list[str]:
    return [c.subject.rfc4514_string() for c in explanation.path]


# --------------------------------------------------------------------------------------------
# trust


@pytest.mark.parametrize("kind", ["ca", "certificate", "pem-bytes", "pem-str", "list", "mixed-list"])
def test_every_kind_of_trust_is_accepted(ca, server_cert, kind):
    trust = {"ca": ca, "certificate": ca.certificate, "pem-bytes": ca.cert_pem,
             "pem-str": ca.cert_pem.decode(), "list": [ca], "mixed-list": [ca.cert_pem, ca.certificate]}[kind]
    explanation = explain(server_cert, trust, name="localhost")
    assert explanation.valid is True, explanation
    assert path_labels(explanation)[-1] == "CN=Test Root CA"


def test_a_certificate_authority_as_trust_no_longer_raises_type_error(ca, server_cert):
    # explain(chain, ca) used to fail with "'CertificateAuthority' object is not iterable".
    assert explain(server_cert.chain_pem, ca, name="localhost").valid


def test_an_intermediate_ca_is_itself_the_anchor(issuing_ca, server_cert):
    webpki = explain(server_cert, issuing_ca, name="localhost", profile="webpki")
    assert webpki.valid and path_labels(webpki)[-1] == "CN=Test Issuing CA"
    # Python's default verifier wants a self-signed anchor unless partial chains are allowed;
    # mtlslib's own contexts, and so the explainer's defaults, allow them.
    strict = explain(server_cert, issuing_ca, name="localhost", partial_chain=False)
    assert strict.valid is False and "partial chains are not allowed" in strict.first_failure.reason
    partial = explain(server_cert, issuing_ca, name="localhost")
    assert partial.valid and "partial chain" in partial.checks[0].reason


def test_an_issued_certificate_as_trust_pins_it(server_cert):
    pinned = explain(server_cert, server_cert, name="localhost", partial_chain=True)
    assert pinned.valid and len(pinned.path) == 1 and pinned.checks[0].status == "pass"


def test_no_trust_at_all_is_an_invalid_chain_not_an_error(server_cert):
    for nothing in (None, []):
        explanation = explain(server_cert, nothing, name="localhost")
        assert explanation.valid is False and explanation.first_failure.step == "chain"


@pytest.mark.parametrize("trust, error, words", [
    (42, UsageError, "trust must be a CertificateAuthority"),
    ([[b""]], UsageError, "list inside a list"),
    (b"garbage", CertificateLoadError, "PEM"),
])
def test_unusable_trust_is_refused_clearly(server_cert, trust, error, words):
    with pytest.raises(error, match=words):
        explain(server_cert, trust)


# --------------------------------------------------------------------------------------------
# chain


@pytest.mark.parametrize("kind", ["issued", "certificates", "pem-bytes", "pem-str", "pem-list", "issued-list"])
def test_every_kind_of_chain_is_accepted(ca, issuing_ca, server_cert, kind):
    chain = {"issued": server_cert, "certificates": [server_cert.certificate, *server_cert.chain],
             "pem-bytes": server_cert.chain_pem, "pem-str": server_cert.chain_pem.decode(),
             "pem-list": [server_cert.cert_pem, issuing_ca.cert_pem], "issued-list": [server_cert, issuing_ca]}[kind]
    explanation = explain(chain, ca, name="localhost")
    assert explanation.valid is True, explanation
    assert path_labels(explanation) == ["CN=localhost", "CN=Test Issuing CA", "CN=Test Root CA"]


def test_an_issued_certificate_is_presented_with_its_intermediates(issuing_ca, server_cert):
    assert presented_chain(server_cert) == [server_cert.certificate, issuing_ca.certificate]
    assert presented_chain(server_cert.certificate) == [server_cert.certificate]
    assert presented_chain(issuing_ca) == [issuing_ca.certificate]  # an intermediate's chain stops below the root


def test_a_leaf_alone_is_refused_for_the_missing_intermediate(ca, server_cert):
    explanation = explain([server_cert.certificate], ca, name="localhost")
    assert explanation.valid is False
    assert explanation.first_failure.openssl == "unable to get local issuer certificate"


@pytest.mark.parametrize("call, error, words", [
    (lambda root, server: explain(42, root), UsageError, "chain must be an IssuedCertificate"),
    (lambda root, server: explain([server.certificate, 42], root), UsageError, r"chain\[1\] is a int"),
    (lambda root, server: explain([], root), CertificateLoadError, "no certificate to explain"),
    (lambda root, server: explain(server, root, at="2030-01-01"), UsageError, "at must be a datetime"),
    (lambda root, server: explain(server, root, crls=42), UsageError, "CRLs must be PEM"),
    (lambda root, server: explain(server, root, colour="blue"), UsageError, "no setting 'colour'"),
    (lambda root, server: explain(server, root, settings="strict"), UsageError, "settings must be a Settings"),
    (lambda root, server: explain(server, root, security_level=9), UsageError, "security_level"),
    (lambda root, server: explain(server, root, max_depth=-1), UsageError, "max_depth"),
    (lambda root, server: Settings.of_context("ctx"), UsageError, "ssl.SSLContext"),
])
def test_unusable_arguments_are_refused_clearly(ca, server_cert, call, error, words):
    with pytest.raises(error, match=words):
        call(ca, server_cert)


# --------------------------------------------------------------------------------------------
# the verdict


def test_valid_is_true_false_or_none(ca, server_cert):
    from mtlslib.insecure import certificates as broken

    good = explain(server_cert, ca, name="localhost")
    bad = explain(server_cert, ca, name="other.example.test")
    odd_root = CertificateAuthority.create("Inputs Odd Root")  # the shared CAs issue nothing here
    odd = broken.issue_leaf(broken.empty_name_constraints_ca(odd_root, "Inputs Odd CA"), "localhost")
    undecided = explain(odd, odd_root, name="localhost")
    assert (good.verdict, good.valid) == ("valid", True)
    assert (bad.verdict, bad.valid) == ("invalid", False)
    assert (undecided.verdict, undecided.valid) == ("undecided", None)


def test_a_naive_time_is_utc_and_the_profile_keyword_is_a_setting(ca, server_cert):
    naive = explain(server_cert, ca, name="localhost", at=dt.datetime(2080, 1, 1))
    aware = explain(server_cert, ca, name="localhost", at=dt.datetime(2080, 1, 1, tzinfo=dt.UTC))
    assert str(naive) == str(aware) and naive.valid is False
    assert explain(server_cert, ca, profile="webpki").settings.profile == "webpki"
    assert explain(server_cert, ca, settings=Settings(profile="webpki")).settings.profile == "webpki"
