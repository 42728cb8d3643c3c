"""mtlslib.lessons.diagrams: drawn from captured data, names from mtlslib.pki's OID table, trust read
as the package reads it; and the committed figures are what the code draws now."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID

from mtlslib.course.images import figures
from mtlslib.errors import UsageError
from mtlslib.lessons.diagrams import (
    ALERT,
    ENCRYPTED,
    chain_diagram,
    handshake_chain_diagram,
    sequence_diagram,
    side_by_side,
)
from mtlslib.pki import CertificateAuthority
from mtlslib.tls import capture_handshake

IMAGES = Path(__file__).resolve().parent.parent / "images"


def _edge_lines(source: str, name: str) -> list[str]:
    return [line for line in source.splitlines() if "->" in line and f">{name}<" in line]


def test_sequence_diagram_follows_the_capture_and_marks_encryption(ca, server_cert, client_cert):
    source = sequence_diagram(capture_handshake(server_cert, client_cert, trust=ca)).source
    order = [name for name in ("ClientHello", "ServerHello", "EncryptedExtensions", "CertificateRequest",
                               "CertificateVerify", "Finished") if name in source]
    assert order == sorted(order, key=source.index)
    assert ENCRYPTED in _edge_lines(source, "CertificateRequest")[0]
    assert ENCRYPTED not in _edge_lines(source, "ClientHello")[0]
    assert "CN=alice@example.test" in source


def test_sequence_diagram_is_stable_across_runs(ca, server_cert, client_cert):
    assert sequence_diagram(capture_handshake(server_cert, client_cert, trust=ca)).source == \
        sequence_diagram(capture_handshake(server_cert, client_cert, trust=ca)).source


def test_failed_certificate_is_highlighted():
    root = CertificateAuthority.create("Diagram Root CA")  # not the shared CAs: they issue nothing here
    trace = capture_handshake(root.issue_server("localhost", validity="expired"), trust=root)
    source = sequence_diagram(trace).source
    failed = [line for line in source.splitlines() if "\u2717 Certificate" in line]
    assert len(failed) == 1 and ALERT in failed[0]
    assert "certificate expired" in source


def test_tls_vs_mutual_side_by_side_shows_the_extra_messages(ca, server_cert, client_cert):
    source = side_by_side([("TLS", capture_handshake(server_cert, trust=ca)),
                           ("mutual TLS", capture_handshake(server_cert, client_cert, trust=ca))]).source
    tls_part, mutual_part = source.split("subgraph cluster_1")
    assert "CertificateRequest" not in tls_part and "CertificateRequest" in mutual_part
    assert mutual_part.count(">CertificateVerify<") == 2 and tls_part.count(">CertificateVerify<") == 1


def test_chain_diagram_shows_the_verification_fields(ca, server_cert):
    source = chain_diagram(server_cert, trust=ca).source
    for field in ("CN=Test Root CA", "CN=Test Issuing CA", "CN=localhost", "path length 0", "serverAuth",
                  "DNS:localhost", "SKI", "AKI"):
        assert field in source
    stranger = CertificateAuthority.create("Stranger CA", seed="diagrams")
    assert "no trusted issuer" in chain_diagram(server_cert, trust=stranger).source


def test_handshake_chain_diagram_says_who_presented_what(ca, server_cert, client_cert):
    source = handshake_chain_diagram(capture_handshake(server_cert, client_cert, trust=ca)).source
    assert "sent by the server" in source and "sent by the client" in source
    assert source.count(": accepted") == 2


def test_extended_key_usages_are_named_by_the_pki_oid_table(ca, server_cert, client_cert):
    assert "extKeyUsage</FONT></TD><TD ALIGN=\"LEFT\">serverAuth<" in chain_diagram(server_cert, trust=ca).source
    assert ">clientAuth<" in chain_diagram(client_cert, trust=ca).source


def test_an_unnamed_extended_key_usage_shows_its_dotted_form(ca, issuing_ca, server_cert):
    leaf = server_cert.certificate
    builder = x509.CertificateBuilder().subject_name(leaf.subject).issuer_name(
        issuing_ca.certificate.subject).public_key(leaf.public_key()).serial_number(7).not_valid_before(
        leaf.not_valid_before_utc).not_valid_after(leaf.not_valid_after_utc).add_extension(
        x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, x509.ObjectIdentifier("1.2.3.4.5")]), critical=False)
    certificate = builder.sign(issuing_ca.private_key, hashes.SHA256())
    assert "serverAuth, 1.2.3.4.5" in chain_diagram([certificate], trust=ca).source


def test_the_chain_a_ca_presents_is_itself_and_its_intermediates(ca, issuing_ca, server_cert):
    source = chain_diagram(issuing_ca, trust=ca).source
    assert "CN=Test Issuing CA" in source and "no trusted issuer" not in source
    assert chain_diagram(server_cert, trust=ca).source == chain_diagram(
        [server_cert.certificate, issuing_ca.certificate], trust=ca).source


@pytest.mark.parametrize("how", ["ca", "certificate", "pem", "text", "list"])
def test_trust_is_read_as_every_context_reads_it(ca, server_cert, how):
    trust = {"ca": ca, "certificate": ca.certificate, "pem": ca.cert_pem, "text": ca.cert_pem.decode(),
             "list": [ca]}[how]
    assert chain_diagram(server_cert, trust=trust).source == chain_diagram(server_cert, trust=ca).source


def test_an_intermediate_trusted_as_itself_ends_the_path(issuing_ca, server_cert):
    source = chain_diagram(server_cert, trust=issuing_ca).source
    assert "no trusted issuer" not in source and "same certificate" in source
    assert "no trusted issuer" in chain_diagram(server_cert, trust=CertificateAuthority.create("Elsewhere")).source


def test_no_trust_draws_no_anchor_and_empty_trust_is_a_usage_error(server_cert):
    assert "trust anchor" not in chain_diagram(server_cert).source
    with pytest.raises(UsageError, match="trust is empty"):
        chain_diagram(server_cert, trust=[])


def test_a_tls12_key_exchange_is_labelled_with_its_group(ca, server_cert):
    source = sequence_diagram(capture_handshake(server_cert, trust=ca, tls_version="1.2")).source
    (line,) = [line for line in source.splitlines() if ">ServerKeyExchange<" in line]
    assert ">x25519 key share, signed<" in line


@pytest.mark.parametrize("file_name", ["tls-handshake.svg", "mTLS-diagram.png", "tls12-vs-tls13.svg",
                                       "pki-chain.svg"])
def test_committed_figures_exist(file_name):
    assert (IMAGES / file_name).stat().st_size > 1000, f"images/{file_name} is missing: run `make images`"


def test_committed_dot_sources_match_a_fresh_regeneration():
    for file_name, graph in figures().items():
        committed = (IMAGES / (Path(file_name).stem + ".dot")).read_text()
        # The figures are made on OpenSSL 3.0; a 3.5+ client also offers the X25519MLKEM768 hybrid.
        assert graph.source.replace("key_share: X25519MLKEM768, x25519", "key_share: x25519") == committed, \
            f"images/{file_name} is out of date: run `make images` and commit"


def test_colour_is_never_the_only_cue(ca, server_cert):
    root = CertificateAuthority.create("Diagram Style Root CA")
    lines = sequence_diagram(capture_handshake(root.issue_server("localhost", validity="expired"),
                                               trust=root)).source.splitlines()

    def edge(name: str) -> str:
        (line,) = [line for line in lines if "->" in line and f">{name}<" in line]
        return line

    assert "style=dashed" in edge("ClientHello") and "<B>" not in edge("ClientHello")
    assert "style=dotted" in edge("\u2717 Certificate") and "style=dotted" in edge("Alert")
    legend = next(line for line in lines if line.lstrip().startswith("legend"))
    assert "clear text (dashed)" in legend and "encrypted (solid, bold)" in legend and "(dotted)" in legend
    encrypted = sequence_diagram(capture_handshake(server_cert, trust=ca)).source.splitlines()
    (finished,) = [line for line in encrypted if "->" in line and ">Finished<" in line and "dir=back" in line]
    assert "style=solid" in finished and "<B>Finished</B>" in finished
