"""What a newer Python or OpenSSL changes, and how the course copes: certificate compression
(RFC 8879, OpenSSL 3.2+) decoded by :mod:`mtlslib.wire`, the post-quantum hybrid group
(OpenSSL 3.5+) named, and the course's contexts pinned so that every build shows the same handshake.

The synthetic messages run everywhere; the live ones run on whatever build the suite runs on and
check what that build really does (``make test-newer`` runs them on a newer one).
"""

from __future__ import annotations

import ssl
import sys
import zlib

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from mtlslib.errors import DecodeError
from mtlslib.lessons.diagrams import handshake_chain_diagram, sequence_diagram
from mtlslib.pki import CertificateAuthority
from mtlslib.tls import capture_handshake, client_context, handshake, run_between, server_context
from mtlslib.wire import parse_handshake
from mtlslib.wire.compression import decompress_certificate
from mtlslib.wire.constants import GROUPS
from mtlslib.wire.messages import Certificate, CompressedCertificate


@pytest.fixture(scope="module")
def pki():
    root = CertificateAuthority.create("Newer Builds Root", seed="newer-builds")
    issuing = root.create_intermediate("Newer Builds Issuing CA")
    return root, issuing.issue_server("localhost", "127.0.0.1"), issuing.issue_client("spiffe://example.test/alice")


def _certificate_body(*ders: bytes) -> bytes:
    """A TLS 1.3 Certificate message body: empty context, then each DER with no extensions."""
    entries = b"".join(len(der).to_bytes(3, "big") + der + b"\x00\x00" for der in ders)
    return b"\x00" + len(entries).to_bytes(3, "big") + entries


def _compressed_message(algorithm: int, data: bytes, announced: int) -> bytes:
    body = algorithm.to_bytes(2, "big") + announced.to_bytes(3, "big") + len(data).to_bytes(3, "big") + data
    return bytes([25]) + len(body).to_bytes(3, "big") + body


def _chain_ders(issued) -> list[bytes]:
    return [c.public_bytes(Encoding.DER) for c in (issued.certificate, *issued.chain)]


# --- the decoder -----------------------------------------------------------------------------


def test_a_zlib_compressed_certificate_decodes_to_the_certificates_inside(pki):
    _, _, client = pki
    body = _certificate_body(*_chain_ders(client))
    message = parse_handshake(_compressed_message(1, zlib.compress(body), len(body)), tls13=True)
    assert isinstance(message, CompressedCertificate) and isinstance(message, Certificate)
    assert message.name == "CompressedCertificate"
    assert message.subjects == ("CN=spiffe://example.test/alice", "CN=Newer Builds Issuing CA")
    assert str(message).startswith(f"zlib, {len(zlib.compress(body))} B for {len(body)} B of Certificate: "
                                   "2 certificates")


@pytest.mark.parametrize("algorithm, module", [(2, "brotli"), (3, "zstd")])
def test_an_algorithm_this_python_cannot_decompress_is_named_not_an_error(pki, monkeypatch, algorithm, module):
    for name in ("brotli", "brotlicffi", "compression.zstd", "zstandard"):
        monkeypatch.setitem(sys.modules, name, None)  # as on a Python without them: import fails
    message = parse_handshake(_compressed_message(algorithm, b"\x01\x02\x03", 900), tls13=True)
    assert message.certificates == ()
    assert str(message) == f"3 B compressed with {module}, not decodable here (no {module} module in this Python)"


def test_an_unknown_algorithm_is_named_by_its_number():
    message = parse_handshake(_compressed_message(0x4A4A, b"\x00", 10), tls13=True)
    assert "unknown algorithm 0x4a4a" in str(message)


@pytest.mark.parametrize("announced, why", [(50, "gives"), (5000, "gives")])
def test_a_length_that_lies_is_refused(pki, announced, why):
    body = _certificate_body(*_chain_ders(pki[2]))
    with pytest.raises(DecodeError, match=f"zlib data gives .* announced {announced}"):
        decompress_certificate(_compressed_message(1, zlib.compress(body), announced)[4:])


def test_data_that_does_not_decompress_is_refused():
    with pytest.raises(DecodeError, match="zlib data does not decompress"):
        parse_handshake(_compressed_message(1, b"not zlib at all", 100), tls13=True)


def test_the_hybrid_groups_have_their_names():
    assert GROUPS[0x11EC] == "X25519MLKEM768"
    assert GROUPS[0x11EB] == "SecP256r1MLKEM768" and GROUPS[0x11ED] == "SecP384r1MLKEM1024"


# --- the course's contexts, on this build ------------------------------------------------------


@pytest.mark.parametrize("tls_version", ["1.2", "1.3"])
def test_the_course_contexts_negotiate_x25519_and_send_plain_certificates_on_every_build(pki, tls_version):
    root, server, client = pki
    trace = capture_handshake(server, client, trust=root, tls_version=tls_version)
    # TLS 1.2 is not pinned, but X25519 is every OpenSSL's first TLS 1.2 (ECDHE) choice.
    assert trace.result.ok and trace.result.group == "x25519"
    assert handshake(server, client, trust=root, tls_version=tls_version).group == "x25519"
    names = [m.name for m in trace.conversation.messages]
    assert "CompressedCertificate" not in names and names.count("Certificate") == 2
    hello = trace.conversation.handshake_messages("client")[0]
    assert 27 not in [e.type for e in hello.extensions]  # compress_certificate: not offered


@pytest.mark.parametrize("key_type", ["ecdsa-p256", "ecdsa-p384", "rsa-2048", "ed25519"])
def test_a_pinned_tls13_server_accepts_every_key_type_and_a_1_2_server_is_not_pinned(key_type):
    root = CertificateAuthority.create("Pinned Root", seed="pinned", key_type=key_type)
    server, client = root.issue_server("localhost"), root.issue_client("bob.example.test")
    tls13 = server_context(server, trust=root, mutual=True, tls_version="1.3")
    result, _ = run_between(tls13, client_context(root, certificate=client, tls_version="1.3"))
    assert result.ok and result.group == "x25519"
    # A TLS 1.2 server with X25519 alone would refuse a P-256 client certificate ("wrong curve").
    tls12 = server_context(server, trust=root, mutual=True, tls_version="1.2")
    result, _ = run_between(tls12, client_context(root, certificate=client, tls_version="1.2"))
    assert result.ok


COMPRESSES = ssl.OPENSSL_VERSION_INFO >= (3, 2)


def test_openssl_defaults_show_what_this_build_does(pki):
    root, server, client = pki
    trace = capture_handshake(server, client, trust=root, openssl_defaults=True)
    assert trace.result.ok
    hello = trace.conversation.handshake_messages("client")[0]
    offered = [group for group, _ in hello.key_shares]
    assert trace.result.group == offered[0]  # a default server takes the client's first share
    if ssl.OPENSSL_VERSION_INFO >= (3, 5):
        assert offered == ["X25519MLKEM768", "x25519"]
        assert [len(key) for _, key in hello.key_shares] == [1184 + 32, 32]  # ML-KEM-768 key || X25519 key
    sent = trace.conversation.certificate("client")
    assert sent.subjects[0] == "CN=spiffe://example.test/alice"
    if isinstance(sent, CompressedCertificate):
        assert COMPRESSES and sent.compression.algorithm_name in ("zlib", "brotli", "zstd")
    # Compressed or not, every proof in the transcript checks out.
    assert [c.what for c in trace.conversation.checks] == [
        "server CertificateVerify", "server Finished", "client CertificateVerify", "client Finished"]
    assert all(c.ok for c in trace.conversation.checks)


@pytest.mark.skipif(not COMPRESSES, reason="OpenSSL before 3.2 has no certificate compression")
def test_a_compressed_client_certificate_shows_in_the_diagrams(pki):
    root, server, client = pki
    trace = capture_handshake(server, client, trust=root, openssl_defaults=True)
    sent = trace.conversation.certificate("client")
    if not isinstance(sent, CompressedCertificate):
        pytest.skip("this OpenSSL was built without a compression library")
    source = sequence_diagram(trace).source
    assert ("CompressedCertificate" in source
            and f"{sent.compression.algorithm_name}: CN=spiffe://example.test/alice" in source)
    assert "the client's chain, checked by the server's trust store: accepted" in handshake_chain_diagram(trace).source
