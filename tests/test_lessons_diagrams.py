"""mtlslib.lessons.diagrams: names from mtlslib.pki's OID table, trust read as the package reads it."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID

from mtlslib.errors import UsageError
from mtlslib.insecure import certificates as broken
from mtlslib.lessons.diagrams import chain_diagram, sequence_diagram
from mtlslib.pki import CertificateAuthority
from mtlslib.tls import capture_handshake


@pytest.fixture(scope="module")
def pki():
    root = CertificateAuthority.create("Lessons Diagram Root", seed="lessons diagrams")
    issuing = root.create_intermediate("Lessons Diagram Issuing")
    return root, issuing, issuing.issue_server("localhost")


def test_extended_key_usages_are_named_by_the_pki_oid_table(pki):
    root, issuing, server = pki
    assert "extKeyUsage</FONT></TD><TD ALIGN=\"LEFT\">serverAuth<" in chain_diagram(server, trust=root).source
    alice = issuing.issue_client("alice@example.test")
    assert ">clientAuth<" in chain_diagram(alice, trust=root).source


def test_an_unnamed_extended_key_usage_shows_its_dotted_form(pki):
    root, issuing, _server = pki
    odd = broken.issue_leaf(issuing, "localhost")
    builder = x509.CertificateBuilder().subject_name(odd.certificate.subject).issuer_name(
        issuing.certificate.subject).public_key(odd.certificate.public_key()).serial_number(7).not_valid_before(
        odd.certificate.not_valid_before_utc).not_valid_after(odd.certificate.not_valid_after_utc).add_extension(
        x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, x509.ObjectIdentifier("1.2.3.4.5")]), critical=False)
    certificate = builder.sign(issuing.private_key, hashes.SHA256())
    assert "serverAuth, 1.2.3.4.5" in chain_diagram([certificate], trust=root).source


def test_the_chain_a_ca_presents_is_itself_and_its_intermediates(pki):
    root, issuing, server = pki
    source = chain_diagram(issuing, trust=root).source
    assert "CN=Lessons Diagram Issuing" in source and "no trusted issuer" not in source
    assert chain_diagram(server, trust=root).source == chain_diagram(
        [server.certificate, issuing.certificate], trust=root).source


@pytest.mark.parametrize("how", ["ca", "certificate", "pem", "text", "list"])
def test_trust_is_read_as_every_context_reads_it(pki, how):
    root, _issuing, server = pki
    trust = {"ca": root, "certificate": root.certificate, "pem": root.cert_pem, "text": root.cert_pem.decode(),
             "list": [root]}[how]
    assert chain_diagram(server, trust=trust).source == chain_diagram(server, trust=root).source


def test_an_intermediate_trusted_as_itself_ends_the_path(pki):
    _root, issuing, server = pki
    source = chain_diagram(server, trust=issuing).source
    assert "no trusted issuer" not in source and "same certificate" in source
    assert "no trusted issuer" in chain_diagram(server, trust=CertificateAuthority.create("Elsewhere")).source


def test_no_trust_draws_no_anchor_and_empty_trust_is_a_usage_error(pki):
    _root, _issuing, server = pki
    assert "trust anchor" not in chain_diagram(server).source
    with pytest.raises(UsageError, match="trust is empty"):
        chain_diagram(server, trust=[])


def test_a_tls12_key_exchange_is_labelled_with_its_group(pki):
    root, _issuing, server = pki
    source = sequence_diagram(capture_handshake(server, trust=root, tls_version="1.2")).source
    (line,) = [line for line in source.splitlines() if ">ServerKeyExchange<" in line]
    assert ">x25519 key share, signed<" in line
