"""The benchmarks: mtlslib against what a reader would otherwise write by hand.

Each setup yields ``(contestant, reference)``: two zero-argument callables doing the same work,
the first through mtlslib, the second through trustme or bare ``ssl``. Add a benchmark by writing
one more setup and decorating it with :func:`harness.benchmark`.
"""

from __future__ import annotations

import socket
import ssl
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

import trustme

from harness import benchmark
from mtlslib.capture import capture_handshake
from mtlslib.loopback import LoopbackServer, client_context, connect, handshake, server_context
from mtlslib.pki import CertificateAuthority

MESSAGE = b"hello\n"


@benchmark("certificate generation", contestant="mtlslib", reference="trustme", target=1.2, repeats=2000,
           description="a new root CA and one server certificate for localhost, ECDSA P-256, random keys")
@contextmanager
def certificate_generation():
    def with_mtlslib():
        CertificateAuthority.create("Benchmark CA", key_type="ecdsa-p256").issue_server("localhost")

    def with_trustme():
        trustme.CA().issue_cert("localhost")

    yield with_mtlslib, with_trustme


@contextmanager
def _course_certificates():
    """A root CA, a server and a client certificate, and the same written as PEM files."""
    ca = CertificateAuthority.create("Benchmark Root CA")
    server, client = ca.issue_server("localhost"), ca.issue_client("alice@example.test")
    with tempfile.TemporaryDirectory(prefix="mtls-benchmark-") as directory:
        files = {"ca": Path(directory) / "ca.pem", "server": server.write(directory, "server"),
                 "client": client.write(directory, "client")}
        files["ca"].write_bytes(ca.cert_pem)
        yield ca, server, client, files


def _plain_contexts(files) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """Mutual TLS 1.3 contexts, built the way the ``ssl`` documentation teaches."""
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    server_ctx.load_cert_chain(*files["server"])
    server_ctx.load_verify_locations(files["ca"])
    server_ctx.verify_mode = ssl.CERT_REQUIRED
    client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    client_ctx.load_cert_chain(*files["client"])
    client_ctx.load_verify_locations(files["ca"])
    return server_ctx, client_ctx


def _plain_request(address, client_ctx: ssl.SSLContext) -> bytes:
    with socket.create_connection(address) as sock:
        with client_ctx.wrap_socket(sock, server_hostname="localhost") as tls:
            tls.sendall(MESSAGE)
            return tls.recv(4096)


def _plain_serve_one(listener: socket.socket, server_ctx: ssl.SSLContext) -> None:
    conn, _ = listener.accept()
    with server_ctx.wrap_socket(conn, server_side=True) as tls:
        tls.sendall(b"hello " + tls.recv(4096))


@benchmark("handshake()", contestant="handshake()", reference="bare ssl", target=1.5, repeats=1500,
           description="one mutual TLS 1.3 handshake and one round trip on a fresh listener and server thread; "
                       "the bare-ssl side loads its contexts from files once")
@contextmanager
def one_handshake():
    with _course_certificates() as (ca, server, client, files):
        server_ctx, client_ctx = _plain_contexts(files)

        def with_mtlslib():
            result = handshake(server, client, trust=ca, tls_version="1.3")
            assert result.ok, result

        def with_plain_ssl():
            with socket.create_server(("127.0.0.1", 0)) as listener:
                thread = threading.Thread(target=_plain_serve_one, args=(listener, server_ctx), daemon=True)
                thread.start()
                try:
                    assert _plain_request(listener.getsockname(), client_ctx)
                finally:
                    thread.join(10)  # bounded: after a failed request the server may still be in accept()

        yield with_mtlslib, with_plain_ssl


@contextmanager
def _plain_server(server_ctx: ssl.SSLContext):
    """A bare ``ssl`` server loop that answers one message per connection until stopped."""
    listener = socket.create_server(("127.0.0.1", 0))
    stopping = threading.Event()

    def loop():
        while True:
            try:
                _plain_serve_one(listener, server_ctx)
            except (OSError, ssl.SSLError):
                if stopping.is_set():
                    return

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()
    finally:
        stopping.set()
        with socket.create_connection(listener.getsockname()):  # wakes the blocked accept()
            pass
        thread.join(10)
        listener.close()


@benchmark("LoopbackServer + connect()", contestant="mtlslib", reference="bare ssl", target=1.1, repeats=1500,
           description="a new mutual TLS 1.3 connection and one round trip to a server started once: "
                       "LoopbackServer and connect() against a plain accept loop and a plain client")
@contextmanager
def server_connections():
    with _course_certificates() as (ca, server, client, files):
        plain_server_ctx, plain_client_ctx = _plain_contexts(files)
        mtls_server_ctx = server_context(server, trust=ca, mutual=True, tls_version="1.3")
        mtls_client_ctx = client_context(ca, certificate=client, tls_version="1.3")
        with LoopbackServer(mtls_server_ctx) as mtls_server, _plain_server(plain_server_ctx) as plain_address:
            def with_mtlslib():
                with connect(mtls_server.address, mtls_client_ctx) as connection:
                    assert connection.request(MESSAGE)

            def with_plain_ssl():
                assert _plain_request(plain_address, plain_client_ctx)

            yield with_mtlslib, with_plain_ssl


@benchmark("capture + decode + decrypt + verify", contestant="capture_handshake()", reference="handshake()",
           target=5.0, repeats=300,
           description="one mutual TLS 1.3 handshake recorded, every record decoded and decrypted, both Finished "
                       "MACs and both CertificateVerify signatures re-checked, against a plain handshake()")
@contextmanager
def capture_and_decode():
    with _course_certificates() as (ca, server, client, _files):
        def with_capture():
            conversation = capture_handshake(server, client, trust=ca, tls_version="1.3").conversation
            assert len(conversation.checks) == 4 and all(check.ok for check in conversation.checks)

        def with_plain_handshake():
            assert handshake(server, client, trust=ca, tls_version="1.3").ok

        yield with_capture, with_plain_handshake
