"""Diagrams are drawn from captured data, and the committed figures are what the code draws now."""

from __future__ import annotations

from pathlib import Path

import pytest

from mtlslib.course.images import figures
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


@pytest.fixture(scope="module")
def course_pki():
    root = CertificateAuthority.create("Diagram Root CA", seed="diagrams")
    issuing = root.create_intermediate("Diagram Issuing CA")
    return root, issuing.issue_server("localhost"), issuing.issue_client("alice@example.test")


def _edge_lines(source: str, name: str) -> list[str]:
    return [line for line in source.splitlines() if "->" in line and f">{name}<" in line]


def test_sequence_diagram_follows_the_capture_and_marks_encryption(course_pki):
    root, server, alice = course_pki
    source = sequence_diagram(capture_handshake(server, alice, trust=root)).source
    order = [name for name in ("ClientHello", "ServerHello", "EncryptedExtensions", "CertificateRequest",
                               "CertificateVerify", "Finished") if name in source]
    assert order == sorted(order, key=source.index)
    assert ENCRYPTED in _edge_lines(source, "CertificateRequest")[0]
    assert ENCRYPTED not in _edge_lines(source, "ClientHello")[0]
    assert "CN=alice@example.test" in source


def test_sequence_diagram_is_stable_across_runs(course_pki):
    root, server, alice = course_pki
    assert sequence_diagram(capture_handshake(server, alice, trust=root)).source == \
        sequence_diagram(capture_handshake(server, alice, trust=root)).source


def test_failed_certificate_is_highlighted(course_pki):
    root, _, alice = course_pki
    trace = capture_handshake(root.issue_server("localhost", validity="expired"), alice, trust=root)
    source = sequence_diagram(trace).source
    failed = [line for line in source.splitlines() if "\u2717 Certificate" in line]
    assert len(failed) == 1 and ALERT in failed[0]
    assert "certificate expired" in source


def test_tls_vs_mutual_side_by_side_shows_the_extra_messages(course_pki):
    root, server, alice = course_pki
    source = side_by_side([("TLS", capture_handshake(server, trust=root)),
                           ("mutual TLS", capture_handshake(server, alice, trust=root))]).source
    tls_part, mutual_part = source.split("subgraph cluster_1")
    assert "CertificateRequest" not in tls_part and "CertificateRequest" in mutual_part
    assert mutual_part.count(">CertificateVerify<") == 2 and tls_part.count(">CertificateVerify<") == 1


def test_chain_diagram_shows_the_verification_fields(course_pki):
    root, server, _ = course_pki
    source = chain_diagram(server, trust=root).source
    for field in ("CN=Diagram Root CA", "CN=Diagram Issuing CA", "CN=localhost", "path length 0", "serverAuth",
                  "DNS:localhost", "SKI", "AKI"):
        assert field in source
    stranger = CertificateAuthority.create("Stranger CA", seed="diagrams")
    assert "no trusted issuer" in chain_diagram(server, trust=stranger).source


def test_handshake_chain_diagram_says_who_presented_what(course_pki):
    root, server, alice = course_pki
    source = handshake_chain_diagram(capture_handshake(server, alice, trust=root)).source
    assert "sent by the server" in source and "sent by the client" in source
    assert source.count(": accepted") == 2


@pytest.mark.parametrize("file_name", ["tls-handshake.svg", "mTLS-diagram.png", "tls12-vs-tls13.svg",
                                       "pki-chain.svg"])
def test_committed_figures_exist(file_name):
    assert (IMAGES / file_name).stat().st_size > 1000, f"images/{file_name} is missing: run `make images`"


def test_committed_dot_sources_match_a_fresh_regeneration():
    for file_name, graph in figures().items():
        committed = (IMAGES / (Path(file_name).stem + ".dot")).read_text()
        assert graph.source == committed, f"images/{file_name} is out of date: run `make images` and commit"
