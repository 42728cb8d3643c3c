"""The course's figures, regenerated from real handshakes: ``make images`` (``python -m mtlslib.course.images``).

Each figure is written twice: the picture (SVG or PNG) for readers, and its DOT source beside it
(``NAME.dot``), which the tests regenerate and compare so that a committed figure never drifts
from what the code draws.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mtlslib.lessons.diagrams import Diagram, chain_diagram, sequence_diagram, side_by_side
from mtlslib.pki import CertificateAuthority
from mtlslib.tls import capture_handshake

__all__ = ["figures", "write_figures"]


def figures() -> dict[str, Diagram]:
    """Every figure, keyed by its file name, drawn from handshakes run now on 127.0.0.1."""
    root = CertificateAuthority.create("Course Root CA", seed="course-figures")
    issuing = root.create_intermediate("Course Issuing CA")
    server = issuing.issue_server("localhost", "127.0.0.1")
    alice = issuing.issue_client("alice@example.test")
    tls13 = capture_handshake(server, trust=root)
    mutual13 = capture_handshake(server, alice, trust=root)
    mutual12 = capture_handshake(server, alice, trust=root, tls_version="1.2")
    return {
        "tls-handshake.svg": sequence_diagram(tls13, title="A TLS 1.3 handshake, captured on 127.0.0.1"),
        "mTLS-diagram.png": sequence_diagram(mutual13, title="A mutual TLS 1.3 handshake, captured on 127.0.0.1"),
        "tls12-vs-tls13.svg": side_by_side([("TLS 1.2, mutual", mutual12), ("TLS 1.3, mutual", mutual13)],
                                           title="The same mutual handshake in TLS 1.2 and TLS 1.3"),
        "pki-chain.svg": chain_diagram(server, trust=root, title="Root CA -> issuing CA -> server certificate"),
    }


def write_figures(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for file_name, graph in figures().items():
        target = directory / file_name
        stem, fmt = target.stem, target.suffix.lstrip(".")
        (directory / f"{stem}.dot").write_text(graph.source)
        target.write_bytes(graph.pipe(fmt))
        written += [target, directory / f"{stem}.dot"]
    return written


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    directory = Path(argv[0] if argv else "images")
    for path in write_figures(directory):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
