"""A trust store means the same thing to the handshake and to the explainer.

For the same chain and the same ``trust``, ``handshake()`` (OpenSSL through Python's ssl) and
``explain()`` give the same verdict: an intermediate CA given as trust is an anchor itself for both.
"""

from __future__ import annotations

import pytest

from mtlslib.pki import CertificateAuthority
from mtlslib.tls import handshake
from mtlslib.verification import explain


@pytest.fixture(scope="module")
def trust_setup():
    root = CertificateAuthority.create("Trust Root", seed="one meaning of trust")
    issuing = root.create_intermediate("Trust Issuing CA")
    other = CertificateAuthority.create("Unrelated Root", seed="one meaning of trust")
    server = issuing.issue_server("localhost")
    return root, issuing, other, server


@pytest.mark.parametrize("which, expected", [
    ("root", True),
    ("intermediate", True),
    ("unrelated", False),
    ("root as certificate", True),
    ("intermediate as PEM", True),
    ("list with the unrelated root first", True),
])
def test_handshake_and_explain_agree_on_every_kind_of_trust(trust_setup, which, expected):
    root, issuing, other, server = trust_setup
    trust = {"root": root, "intermediate": issuing, "unrelated": other, "root as certificate": root.certificate,
             "intermediate as PEM": issuing.cert_pem, "list with the unrelated root first": [other, root]}[which]
    result = handshake(server, trust=trust)
    explanation = explain(server, trust, purpose="server", name="localhost")
    assert result.ok is expected, result
    assert explanation.valid is expected, str(explanation)


def test_an_intermediate_anchor_ends_the_path_for_both(trust_setup):
    _, issuing, _, server = trust_setup
    explanation = explain(server, issuing, name="localhost")
    path = explanation.checks[0]
    assert path.step == "chain" and "Trust Issuing CA" in path.reason and "Trust Root" not in path.reason
    assert handshake(server, trust=issuing).ok


def test_mutual_tls_reads_client_trust_the_same_way(trust_setup):
    root, issuing, other, _ = trust_setup
    server = issuing.issue_server("localhost")
    client = issuing.issue_client("alice@example.test")
    for trust, expected in ((root, True), (issuing, True), (other, False)):
        result = handshake(server, client, client_trust=root, server_trust=trust)
        assert result.ok is expected
        assert explain(client, trust, purpose="client").valid is expected
