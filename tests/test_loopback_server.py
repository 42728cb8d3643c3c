"""mtlslib.tls: LoopbackServer and connect() on real sockets: timeouts, loopback-only addresses,
many clients, CRLs and the accept loop underneath.

Every handshake here is real (OpenSSL through ``ssl``); nothing is mocked except, in the
refusal tests, ``socket`` itself, to prove that no socket is even opened.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from contextlib import contextmanager

import pytest
from polling import wait_until

from mtlslib.errors import HandshakeTimeout, MtlsLibError, NotLoopbackError, ServiceStateError, UsageError
from mtlslib.tls import (
    DEFAULT_TIMEOUT,
    AcceptLoop,
    LoopbackServer,
    PeerView,
    client_context,
    connect,
    load_crls,
    loopback_address,
    server_context,
)

TIMED_OUT = "timed out waiting for the peer"


@pytest.fixture(scope="module")
def server_ctx(ca, server_cert):
    return server_context(server_cert, trust=ca, mutual=True)


@pytest.fixture(scope="module")
def client_ctx(ca, client_cert):
    return client_context(ca, certificate=client_cert)


# --------------------------------------------------------------------------------------------
# Timeouts with a stalled peer


@contextmanager
def silent_tcp_server():
    """A TCP server on 127.0.0.1 that accepts connections and never says a word."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)
    release = threading.Event()
    accepted: list[socket.socket] = []

    def accept_and_stall():
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        accepted.append(conn)
        release.wait(10)

    thread = threading.Thread(target=accept_and_stall)
    thread.start()
    try:
        yield listener.getsockname()
    finally:
        release.set()
        thread.join()
        for conn in accepted:
            conn.close()
        listener.close()


@pytest.mark.timeout(10)
def test_connect_to_a_silent_server_times_out(client_ctx):
    with silent_tcp_server() as address:
        started = time.monotonic()
        with pytest.raises(HandshakeTimeout, match="did not complete the TLS handshake within 0.3 s") as caught:
            connect(address, client_ctx, timeout=0.3)
        elapsed = time.monotonic() - started

    assert isinstance(caught.value, MtlsLibError) and isinstance(caught.value, TimeoutError)
    assert 0.25 <= elapsed < 1.5


@pytest.mark.timeout(10)
def test_request_to_a_server_that_never_answers_times_out(ca, server_cert, client_ctx):
    release = threading.Event()

    def read_and_stall(tls, peer):
        tls.recv(4096)
        release.wait(5)

    server = LoopbackServer(server_context(server_cert, trust=ca, mutual=True), handler=read_and_stall)
    with server, connect(server.address, client_ctx, timeout=0.3) as connection:
        started = time.monotonic()
        with pytest.raises(HandshakeTimeout, match="no answer from the server within 0.3 s"):
            connection.request()
        elapsed = time.monotonic() - started
        release.set()
    assert 0.25 <= elapsed < 1.5


@pytest.mark.timeout(15)
def test_a_stalled_client_times_out_while_others_are_served(server_ctx, client_ctx):
    with LoopbackServer(server_ctx, timeout=1.0) as server:
        with socket.create_connection(server.address):  # TCP only: never sends a ClientHello
            replies = run_clients(server.address, client_ctx, count=8, concurrent=True)
            assert replies == [b"hello alice@example.test\n"] * 8
            # Served while the stalled connection was still waiting for its first byte:
            wait_until(lambda: len(server.connections) >= 8)
            assert [v.error for v in server.connections] == [None] * 8

            wait_until(lambda: len(server.connections) == 9)
            assert server.connections[-1].error == TIMED_OUT
            assert not server.connections[-1].handshake_done
            started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 1.0


@pytest.mark.timeout(10)
def test_stop_does_not_wait_for_a_stalled_handshake(server_ctx, client_ctx):
    server = LoopbackServer(server_ctx)  # the default timeout: seconds
    assert server.timeout == DEFAULT_TIMEOUT
    with server, socket.create_connection(server.address):
        # Connections are accepted in order: once this one is served, the stalled one is accepted.
        assert run_clients(server.address, client_ctx, count=1) == [b"hello alice@example.test\n"]
        started = time.monotonic()
        server.stop()
        stop_took = time.monotonic() - started

    assert stop_took < 1.0
    errors = sorted(v.error or "" for v in server.connections)
    assert errors == ["", "the server stopped before this connection finished"]


# --------------------------------------------------------------------------------------------
# Only loopback


NOT_LOOPBACK = ["0.0.0.0", "::", "", "192.0.2.1", "10.0.0.1", "2001:db8::1", "example.com"]


@pytest.fixture
def no_sockets(monkeypatch):
    """Any attempt to open a socket or resolve a name fails the test."""

    def forbidden(*args, **kwargs):
        raise AssertionError(f"a socket operation was attempted: {args}")

    with monkeypatch.context() as patch:
        for name in ("socket", "create_connection", "create_server", "getaddrinfo"):
            patch.setattr(socket, name, forbidden)
        yield


@pytest.mark.parametrize("host", NOT_LOOPBACK)
def test_loopback_server_refuses_other_addresses(server_ctx, host, no_sockets):
    with pytest.raises(NotLoopbackError, match="loopback"):
        LoopbackServer(server_ctx, host=host)


@pytest.mark.parametrize("host", NOT_LOOPBACK)
def test_connect_refuses_other_addresses(client_ctx, host, no_sockets):
    with pytest.raises(NotLoopbackError, match="loopback"):
        connect((host, 443), client_ctx)


def test_not_loopback_error_is_a_value_error():
    with pytest.raises(ValueError):
        loopback_address("192.0.2.1")
    assert issubclass(NotLoopbackError, MtlsLibError)


@pytest.mark.parametrize("host, expected", [("localhost", "127.0.0.1"), ("127.0.0.1", "127.0.0.1"),
                                            ("127.0.0.2", "127.0.0.2"), ("127.255.0.9", "127.255.0.9"),
                                            ("::1", "::1"), ("0:0:0:0:0:0:0:1", "::1")])
def test_loopback_addresses_are_accepted(host, expected):
    assert loopback_address(host) == expected


def serve_and_call(server_ctx, client_ctx, host: str) -> tuple[tuple, bytes]:
    server = LoopbackServer(server_ctx, host=host)
    try:
        server.start()
    except OSError as e:  # no such address on this machine (127.0.0.2 outside Linux, IPv6 disabled)
        pytest.skip(f"cannot listen on {host}: {e}")
    try:
        with connect(server.address, client_ctx) as connection:
            return server.address, connection.request()
    finally:
        server.stop()


def test_serves_on_another_loopback_address(server_ctx, client_ctx):
    address, reply = serve_and_call(server_ctx, client_ctx, "127.0.0.2")
    assert address[0] == "127.0.0.2"
    assert reply == b"hello alice@example.test\n"


@pytest.mark.skipif(not socket.has_ipv6, reason="this Python has no IPv6")
def test_serves_on_ipv6_loopback(server_ctx, client_ctx):
    address, reply = serve_and_call(server_ctx, client_ctx, "::1")
    assert address[0] == "::1"
    assert reply == b"hello alice@example.test\n"


# --------------------------------------------------------------------------------------------
# LoopbackServer


def run_clients(address, client_ctx, count: int, concurrent: bool = False) -> list[bytes]:
    """``count`` clients, each connecting and making one request; their replies, in order."""
    replies: list[bytes | BaseException] = [b""] * count
    start = threading.Barrier(count) if concurrent else None

    def one(i: int) -> None:
        try:
            if start is not None:
                start.wait(10)
            with connect(address, client_ctx) as connection:
                replies[i] = connection.request()
        except BaseException as e:  # reported by the caller's assertion
            replies[i] = e

    if not concurrent:
        for i in range(count):
            one(i)
        return replies
    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return replies


def test_server_is_a_context_manager_with_an_address(server_ctx, client_ctx):
    server = LoopbackServer(server_ctx)
    with pytest.raises(ServiceStateError, match="not running"):
        server.address
    with server:
        host, port = server.address
        assert host == "127.0.0.1" and port == server.port > 0
        with connect(server.address, client_ctx) as connection:
            assert connection.view.peer_identity == "localhost"
            assert connection.duration > 0
            assert connection.request() == b"hello alice@example.test\n"
    with pytest.raises(ServiceStateError, match="not running"):
        server.address


@pytest.mark.timeout(30)
def test_many_sequential_connections(server_ctx, client_ctx):
    with LoopbackServer(server_ctx) as server:
        replies = run_clients(server.address, client_ctx, count=30)
    assert replies == [b"hello alice@example.test\n"] * 30
    assert len(server.connections) == 30
    assert all(v.peer_identity == "alice@example.test" and v.error is None for v in server.connections)


@pytest.mark.timeout(30)
def test_fifty_concurrent_connections(server_ctx, client_ctx):
    with LoopbackServer(server_ctx) as server:
        replies = run_clients(server.address, client_ctx, count=50, concurrent=True)
    assert replies == [b"hello alice@example.test\n"] * 50
    assert len(server.connections) == 50
    assert {v.peer_names for v in server.connections} == {("email:alice@example.test",)}
    assert not [t for t in threading.enumerate() if t.name.startswith("mtlslib-")]


def test_connections_record_what_the_server_saw(ca, server_cert, client_cert):
    server_only = LoopbackServer(server_context(server_cert))
    anonymous = client_context(ca)
    with server_only, connect(server_only.address, anonymous) as connection:
        assert connection.request() == b"hello anonymous (no client certificate)\n"
    [view] = server_only.connections
    assert view.handshake_done and view.peer_subject is None and view.error is None


def test_custom_handler(server_ctx, client_ctx):
    seen: list[PeerView] = []

    def shout(tls: ssl.SSLSocket, peer: PeerView) -> None:
        seen.append(peer)
        tls.sendall(tls.recv(4096).upper())

    with LoopbackServer(server_ctx, handler=shout) as server, connect(server.address, client_ctx) as connection:
        assert connection.request(b"quiet please") == b"QUIET PLEASE"
    assert [p.peer_identity for p in seen] == ["alice@example.test"]


def test_a_failing_handler_fails_its_connection_not_the_server(server_ctx, client_ctx):
    def broken(tls, peer):
        raise ValueError("boom")

    with LoopbackServer(server_ctx, handler=broken) as server:
        for _ in range(2):
            with connect(server.address, client_ctx) as connection:
                assert connection.request() == b""  # the server hung up (a reset on some builds: also b"")
    assert [v.error for v in server.connections] == ["the handler raised ValueError: boom"] * 2


@pytest.mark.parametrize("tls_version", ["1.3", "1.2"])
def test_server_refusing_a_client_without_certificate(server_cert, ca, tls_version):
    server = LoopbackServer(server_context(server_cert, trust=ca, mutual=True, tls_version=tls_version))
    no_certificate = client_context(ca, tls_version=tls_version)
    with server:
        if tls_version == "1.3":
            with connect(server.address, no_certificate) as connection:  # the client's side completes
                with pytest.raises(ssl.SSLError, match="tlsv13 alert certificate required"):
                    connection.request()
        else:
            with pytest.raises(ssl.SSLError, match="SSLV3_ALERT_HANDSHAKE_FAILURE"):
                connect(server.address, no_certificate)
    [view] = server.connections
    assert view.reason == "PEER_DID_NOT_RETURN_A_CERTIFICATE"
    assert view.alert_sent == ("certificate required" if tls_version == "1.3" else "handshake failure")


def test_start_twice_raises_and_stop_twice_is_harmless(server_ctx, client_ctx):
    server = LoopbackServer(server_ctx).start()
    try:
        with pytest.raises(ServiceStateError, match="already running"):
            server.start()
    finally:
        server.stop()
    server.stop()


def test_server_can_be_restarted(server_ctx, client_ctx):
    server = LoopbackServer(server_ctx)
    for _ in range(2):
        with server:
            assert run_clients(server.address, client_ctx, count=1) == [b"hello alice@example.test\n"]
    assert len(server.connections) == 2


@pytest.mark.skipif(not hasattr(ssl.SSLContext, "_msg_callback"), reason="no ssl message callback")
def test_stop_leaves_the_context_as_it_found_it(ca, server_cert):
    ctx = server_context(server_cert, trust=ca, mutual=True)
    with LoopbackServer(ctx):
        assert ctx._msg_callback is not None  # how the server learns which alerts went by
    assert ctx._msg_callback is None


# --------------------------------------------------------------------------------------------
# CRLs, loaded one way


def test_a_crl_loaded_into_a_context_refuses_the_revoked_client(ca, server_cert):
    revoking = ca.create_intermediate("Test Revoking CA")
    kept, revoked = revoking.issue_client("kept@example.test"), revoking.issue_client("revoked@example.test")
    revoking.revoke(revoked)
    ctx = server_context(server_cert, trust=[ca, revoking], mutual=True)
    ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    load_crls(ctx, [revoking.crl_pem, ca.crl])
    with LoopbackServer(ctx) as server:
        with connect(server.address, client_context(ca, certificate=kept)) as good:
            assert good.request() == b"hello kept@example.test\n"
        with pytest.raises(ssl.SSLError, match="revoked"):
            with connect(server.address, client_context(ca, certificate=revoked)) as bad:
                bad.request()
    with pytest.raises(UsageError, match="PEM"):
        load_crls(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER), b"not a crl")


# --------------------------------------------------------------------------------------------
# The one accept loop


def test_the_accept_loop_serves_each_connection_in_its_own_thread_and_cuts_them_at_stop():
    started, finished = threading.Event(), []

    def serve(conn, client_address, tracked):
        with conn:
            tracked.track(conn)
            tracked.busy = True
            started.set()
            finished.append(conn.recv(1) == b"" and tracked.aborted)  # blocked until stop() cuts it

    loop = AcceptLoop(serve, name="mtlslib-test")
    with pytest.raises(ServiceStateError, match="not running"):
        loop.address
    loop.start()
    try:
        with pytest.raises(ServiceStateError, match="already running"):
            loop.start()
        with socket.create_connection(loop.address):
            assert started.wait(5)
            began = time.monotonic()
            loop.stop(handshake_grace=0, handler_grace=0.1)
            assert time.monotonic() - began < 2
    finally:
        loop.stop()
    assert finished == [True] and not loop.running
