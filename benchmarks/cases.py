"""The benchmarks: mtlslib against what a reader would otherwise write by hand.

Each setup yields ``(contestant, reference)``: two zero-argument callables doing the same work,
the first through mtlslib, the second through trustme or bare ``ssl``. Add a benchmark by writing
one more setup and decorating it with :func:`harness.benchmark`.
"""

from __future__ import annotations

import http.server
import os
import socket
import ssl
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

import trustme
from cryptography import x509
from harness import benchmark

from mtlslib.pki import CertificateAuthority
from mtlslib.tls import (
    HttpsService,
    LoopbackServer,
    capture_handshake,
    client_context,
    connect,
    handshake,
    server_context,
)

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


@benchmark("handshake()", contestant="handshake()", reference="bare ssl", target=1.2, repeats=1500,
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
           target=2.0, repeats=300,
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


@benchmark("mTLS / TLS handshake", contestant="mutual TLS", reference="TLS", target=None, repeats=1000,
           description="what a client certificate costs: a new TLS 1.3 connection and one round trip, ECDSA "
                       "P-256, with and without a client certificate, to servers started once; reported, not "
                       "targeted (notebook 06 explains where the difference goes)")
@contextmanager
def mtls_against_tls():
    ca = CertificateAuthority.create("Benchmark Root CA")
    server, client = ca.issue_server("localhost"), ca.issue_client("alice@example.test")
    mtls_server_ctx = server_context(server, trust=ca, mutual=True, tls_version="1.3")
    tls_server_ctx = server_context(server, tls_version="1.3")
    mtls_client_ctx = client_context(ca, certificate=client, tls_version="1.3")
    tls_client_ctx = client_context(ca, tls_version="1.3")
    with LoopbackServer(mtls_server_ctx) as mtls_server, LoopbackServer(tls_server_ctx) as tls_server:
        def with_client_certificate():
            with connect(mtls_server.address, mtls_client_ctx) as connection:
                assert connection.request(MESSAGE).startswith(b"hello alice@example.test")

        def without():
            with connect(tls_server.address, tls_client_ctx) as connection:
                assert connection.request(MESSAGE).startswith(b"hello anonymous")

        yield with_client_certificate, without


_KEEP_ALIVE_REQUEST = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"


class _KeepAliveClient:
    """One HTTPS connection kept open, written with bare ``ssl``: each call sends the same GET and
    reads one whole response (headers, then Content-Length bytes)."""

    def __init__(self, address, context: ssl.SSLContext):
        sock = socket.create_connection(address, timeout=5)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.tls = context.wrap_socket(sock, server_hostname="localhost")
        self.responses = self.tls.makefile("rb")

    def __call__(self) -> bytes:
        self.tls.sendall(_KEEP_ALIVE_REQUEST)
        status = self.responses.readline()
        length = 0
        while (line := self.responses.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        body = self.responses.read(length)
        assert status.startswith(b"HTTP/1.1 200") and body.startswith(b"hello alice@example.test"), (status, body)
        return body

    def close(self) -> None:
        self.responses.close()
        self.tls.close()


class _TextbookHandler(http.server.BaseHTTPRequestHandler):
    """An mTLS endpoint as the standard library's documentation leads one to write it."""

    protocol_version = "HTTP/1.1"  # persistent connections
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        # The verified client certificate, read once per connection (it cannot change on it).
        certificate = x509.load_der_x509_certificate(self.connection.getpeercert(binary_form=True))
        self.client_name = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value[0].value

    def do_GET(self) -> None:
        body = f"hello {self.client_name}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args) -> None:
        pass


@contextmanager
def _textbook_https_server(server_ctx: ssl.SSLContext):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _TextbookHandler)
    httpd.socket = server_ctx.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield httpd.server_address[:2]
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)


@contextmanager
def _one_processor():
    """Run this thread, and every thread it starts meanwhile, on one processor (where the system
    allows it). A request that takes tens of microseconds is otherwise timed by the scheduler:
    whether a server thread is woken on the client's processor or on an idle one costs about as
    much as the request itself, and which server gets which processor is luck that lasts a run."""
    if not hasattr(os, "sched_setaffinity"):
        yield
        return
    saved = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(saved)})
    try:
        yield
    finally:
        os.sched_setaffinity(0, saved)


@benchmark("HTTPS keep-alive request", contestant="HttpsService", reference="bare ssl", target=1.2, repeats=3000,
           description="one GET over an mTLS 1.3 connection kept alive (the handshake is done once, before "
                       "timing), answered with the client's verified name: HttpsService against the textbook "
                       "http.server + ssl server; both asked by the same bare-ssl keep-alive client, all threads "
                       "on one processor")
@contextmanager
def keep_alive_request():
    with _one_processor(), _course_certificates() as (ca, server, client, files):
        plain_server_ctx, plain_client_ctx = _plain_contexts(files)
        service = HttpsService(server, trust=ca, mutual=True, tls_version="1.3", keep_alive=True)
        with service, _textbook_https_server(plain_server_ctx) as plain_address:
            to_service = _KeepAliveClient(service.address, plain_client_ctx)
            to_plain = _KeepAliveClient(plain_address, plain_client_ctx)
            try:
                yield to_service, to_plain
            finally:
                to_service.close()
                to_plain.close()
