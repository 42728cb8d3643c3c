"""mtlslib.tls: real handshakes on loopback, what each side saw, timeouts, and refusals.

Every handshake here is real (OpenSSL through ``ssl``); nothing is mocked except, in the
refusal tests, ``socket`` itself, to prove that no socket is even opened.
"""

from __future__ import annotations

import socket
import ssl
import sys
import threading
import time
from contextlib import contextmanager

import pytest
from polling import wait_until

from mtlslib.display import Shown
from mtlslib.errors import HandshakeTimeout, MtlsLibError, NotLoopbackError, PurposeError, ServiceStateError, UsageError
from mtlslib.pki import KEY_TYPES, CertificateAuthority, IssuedCertificate
from mtlslib.tls import (
    DEFAULT_TIMEOUT,
    AcceptLoop,
    ConnectionSpec,
    HandshakeResult,
    LoopbackServer,
    PeerView,
    capture_handshake,
    client_context,
    connect,
    handshake,
    load_crls,
    loopback_address,
    run_between,
    server_context,
    tls_version_name,
)

TIMED_OUT = "timed out waiting for the peer"


# --------------------------------------------------------------------------------------------
# Certificates


@pytest.fixture(scope="module")
def leaf_ca():
    # Unseeded: seeded RSA keys are derived in pure Python and take seconds each.
    return CertificateAuthority.create("Loopback Test Root CA")


@pytest.fixture(scope="module")
def leaves(leaf_ca):
    """A server and a client certificate of every key type, from one CA."""
    return {
        key_type: (leaf_ca.issue_server("localhost", "127.0.0.1", key_type=key_type),
                   leaf_ca.issue_client(f"{key_type}@example.test", key_type=key_type))
        for key_type in KEY_TYPES
    }


@pytest.fixture(scope="module")
def other_ca():
    return CertificateAuthority.create("Some Other Root CA", seed="tests other")


@pytest.fixture(scope="module")
def server_ctx(ca, server_cert):
    return server_context(server_cert, trust=ca, mutual=True)


@pytest.fixture(scope="module")
def client_ctx(ca, client_cert):
    return client_context(ca, certificate=client_cert)


# --------------------------------------------------------------------------------------------
# Successful handshakes


@pytest.mark.parametrize("mutual", [True, False], ids=["mutual", "server-auth"])
@pytest.mark.parametrize("key_type", KEY_TYPES)
@pytest.mark.parametrize("tls_version", ["1.3", "1.2"])
def test_handshake_succeeds_for_every_key_type_and_version(leaf_ca, leaves, key_type, tls_version, mutual):
    server, client = leaves[key_type]
    assert server.key_type == client.key_type == key_type

    result = handshake(server, client if mutual else None, trust=leaf_ca, tls_version=tls_version)

    assert isinstance(result, HandshakeResult)
    assert result.ok, str(result)
    assert result.mutual is mutual
    assert result.tls_version == tls_version
    if tls_version == "1.3":
        assert result.cipher.startswith("TLS_")
    else:
        assert result.cipher.startswith("ECDHE-" + ("RSA" if key_type.startswith("rsa") else "ECDSA"))
    assert result.group == "x25519"  # OpenSSL 3's first choice of key-exchange group
    assert result.duration > 0

    client_saw, server_saw = result.client_saw, result.server_saw
    assert (client_saw.role, server_saw.role) == ("client", "server")
    assert client_saw.handshake_done and server_saw.handshake_done
    assert client_saw.peer_subject == "CN=localhost"
    assert client_saw.peer_names == ("DNS:localhost", "IP:127.0.0.1")
    assert client_saw.peer_identity == "localhost"
    if mutual:
        assert server_saw.peer_subject == f"CN={key_type}@example.test"
        assert server_saw.peer_names == (f"email:{key_type}@example.test",)
        assert server_saw.peer_identity == f"{key_type}@example.test"
    else:
        assert (server_saw.peer_subject, server_saw.peer_names, server_saw.peer_identity) == (None, (), None)
    for view in (client_saw, server_saw):
        assert (view.error, view.alert_sent, view.alert_received) == (None, None, None)


def test_str_of_a_successful_result_reads_as_a_report(ca, server_cert, client_cert):
    result = handshake(server_cert, client_cert, trust=ca)

    head, client_line, server_line = str(result).splitlines()
    assert head.startswith("mutual TLS handshake OK: TLS 1.3, TLS_")
    assert "key exchange x25519" in head and head.endswith(" ms")
    assert client_line == "  client saw: verified server certificate CN=localhost [DNS:localhost, IP:127.0.0.1]"
    assert server_line == ("  server saw: verified client certificate CN=alice@example.test "
                           "[email:alice@example.test]")


def test_server_auth_only_result_says_no_client_certificate(ca, server_cert):
    result = handshake(server_cert, trust=ca, tls_version="1.2")

    assert result.ok and not result.mutual
    assert str(result).startswith("TLS handshake OK: TLS 1.2")
    assert str(result.server_saw) == "no client certificate"


def test_trust_may_be_given_as_pem(ca, server_cert, client_cert, other_ca):
    as_bytes = handshake(server_cert, client_cert, trust=ca.cert_pem)
    as_text = handshake(server_cert, client_cert, trust=ca.cert_pem.decode())
    as_list = handshake(server_cert, client_cert, trust=[other_ca, ca])

    assert as_bytes.ok and as_text.ok and as_list.ok


def test_each_side_can_trust_a_different_ca(leaf_ca, other_ca):
    server = leaf_ca.issue_server("localhost")
    client = other_ca.issue_client("bob@example.test")

    result = handshake(server, client, client_trust=leaf_ca, server_trust=other_ca)
    assert result.ok, str(result)
    assert result.server_saw.peer_identity == "bob@example.test"

    swapped = handshake(server, client, client_trust=other_ca, server_trust=leaf_ca)
    assert not swapped.ok
    assert swapped.client_saw.error.startswith("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
    assert swapped.client_saw.alert_sent == swapped.server_saw.alert_received == "unknown ca"


def test_a_changed_certificate_is_not_served_from_the_context_cache(ca):
    good = handshake(ca.issue_server("localhost"), trust=ca)
    expired = handshake(ca.issue_server("localhost", validity="expired"), trust=ca)

    assert good.ok
    assert not expired.ok and "certificate has expired" in expired.client_saw.error


def test_a_certificate_paired_with_another_key_is_not_served_from_the_context_cache(ca):
    server, stranger = ca.issue_server("localhost"), ca.issue_server("localhost")
    assert handshake(server, trust=ca).ok
    mismatched = IssuedCertificate(server.certificate, stranger.private_key, chain=server.chain)
    with pytest.raises(ssl.SSLError, match="KEY_VALUES_MISMATCH"):
        handshake(mismatched, trust=ca)
    again = IssuedCertificate(server.certificate, server.private_key, chain=server.chain)  # equal content
    assert handshake(again, trust=ca).ok


# --------------------------------------------------------------------------------------------
# Failures: what each side saw, with OpenSSL's reason


@pytest.mark.parametrize("tls_version", ["1.3", "1.2"])
def test_expired_server_certificate(ca, client_cert, tls_version):
    expired = ca.issue_server("localhost", validity="expired")

    result = handshake(expired, client_cert, trust=ca, tls_version=tls_version)

    assert not result.ok
    assert (result.tls_version, result.cipher) == (None, None)
    assert not result.client_saw.handshake_done and not result.server_saw.handshake_done
    assert result.client_saw.error == (
        "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate has expired")
    assert result.client_saw.alert_sent == "certificate expired"
    assert result.server_saw.alert_received == "certificate expired"
    assert "alert certificate expired" in result.server_saw.error
    text = str(result)
    assert text.startswith("mutual TLS handshake FAILED")
    assert "client saw: handshake not completed; error: [SSL: CERTIFICATE_VERIFY_FAILED]" in text
    assert "_ssl.c" not in text  # CPython's source location is noise for a reader


@pytest.mark.parametrize("tls_version", ["1.3", "1.2"])
@pytest.mark.parametrize("stranger", ["server", "client"])
def test_a_certificate_from_an_unknown_ca_is_refused_by_the_side_that_checks_it(ca, other_ca, server_cert,
                                                                                client_cert, stranger, tls_version):
    if stranger == "server":
        result = handshake(other_ca.issue_server("localhost"), client_cert, trust=ca, tls_version=tls_version)
        checker, refused = result.client_saw, result.server_saw
    else:
        result = handshake(server_cert, other_ca.issue_client("mallory@example.test"), trust=ca,
                           tls_version=tls_version)
        checker, refused = result.server_saw, result.client_saw

    assert not result.ok
    assert checker.error == (
        "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate")
    assert checker.alert_sent == "unknown ca" and not checker.handshake_done
    assert "TLSV1_ALERT_UNKNOWN_CA" in refused.error  # the reason code: the wording differs between OpenSSL builds
    assert refused.alert_received == "unknown ca"
    if stranger == "client":
        # TLS 1.3: the client finished its side (and verified the server) before the server refused it.
        assert refused.handshake_done is (tls_version == "1.3")


def test_mutual_without_client_certificate_tls13_fails_on_the_round_trip(ca, server_cert):
    result = handshake(server_cert, None, trust=ca, mutual=True, tls_version="1.3")

    assert not result.ok and result.mutual
    client_saw, server_saw = result.client_saw, result.server_saw
    assert client_saw.handshake_done  # its handshake "succeeded"...
    assert client_saw.peer_identity == "localhost"
    assert result.tls_version == "1.3"
    # ...and the refusal arrives with its first read
    assert client_saw.reason == "TLSV13_ALERT_CERTIFICATE_REQUIRED"
    assert client_saw.alert_received == "certificate required"
    assert server_saw.reason == "PEER_DID_NOT_RETURN_A_CERTIFICATE"
    assert server_saw.alert_sent == "certificate required"
    assert not server_saw.handshake_done


def test_mutual_without_client_certificate_tls12_fails_in_the_handshake(ca, server_cert):
    result = handshake(server_cert, None, trust=ca, mutual=True, tls_version="1.2")

    assert not result.ok
    assert not result.client_saw.handshake_done
    assert result.tls_version is None
    # The reason code, not its wording: OpenSSL 3.5 says "ssl/tls alert" where 3.0 says "sslv3 alert".
    assert result.client_saw.error.startswith("[SSL: SSLV3_ALERT_HANDSHAKE_FAILURE] ")
    assert result.client_saw.alert_received == "handshake failure"
    assert result.server_saw.reason == "PEER_DID_NOT_RETURN_A_CERTIFICATE"
    assert result.server_saw.alert_sent == "handshake failure"


def test_refusals_are_reported_the_same_way_every_time(ca, server_cert):
    # A server that closes right after its alert, with the client's request still unread, makes
    # the kernel send a reset; the client then used to report "EOF occurred" now and then.
    errors = {handshake(server_cert, None, trust=ca, mutual=True).client_saw.reason for _ in range(40)}
    assert errors == {"TLSV13_ALERT_CERTIFICATE_REQUIRED"}


@pytest.mark.parametrize("tls_version", ["1.3", "1.2"])
def test_wrong_server_hostname(ca, server_cert, client_cert, tls_version):
    result = handshake(server_cert, client_cert, trust=ca, server_hostname="example.com", tls_version=tls_version)

    assert not result.ok
    assert result.client_saw.error == ("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
                                       "Hostname mismatch, certificate is not valid for 'example.com'.")
    assert result.client_saw.alert_sent == "bad certificate"
    assert result.server_saw.alert_received == "bad certificate"


def test_client_contexts_never_match_the_common_name(ca):
    assert client_context(ca).hostname_checks_common_name is False


@pytest.mark.parametrize("tls_version", ["1.2", "1.3"])
def test_a_server_named_only_in_its_common_name_is_refused(ca, tls_version):
    from mtlslib.insecure.certificates import common_name_only

    cn_only = common_name_only(ca, "localhost")
    result = handshake(cn_only, trust=ca, server_hostname="localhost", tls_version=tls_version)
    assert not result.ok
    assert result.client_saw.error == ("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
                                       "Hostname mismatch, certificate is not valid for 'localhost'.")
    # The same certificate with OpenSSL's default, the common-name fallback, is accepted: the
    # refusal above is client_context's setting, not a broken certificate.
    lenient = client_context(ca, tls_version=tls_version)
    lenient.hostname_checks_common_name = True
    assert run_between(server_context(cn_only), lenient)[0].ok


def test_right_ip_address_as_server_hostname(ca, server_cert):
    assert handshake(server_cert, trust=ca, server_hostname="127.0.0.1").ok
    assert not handshake(server_cert, trust=ca, server_hostname="127.0.0.2").ok


def test_client_only_certificate_as_server_raises_purpose_error(ca, client_cert):
    not_a_server = ca.issue_client("svc.example.test")

    with pytest.raises(PurposeError, match="not a server certificate.*check_purpose=False"):
        handshake(not_a_server, client_cert, trust=ca)
    with pytest.raises(PurposeError):
        server_context(not_a_server)


def test_server_only_certificate_as_client_raises_purpose_error(ca, server_cert):
    with pytest.raises(PurposeError, match="not a client certificate"):
        client_context(ca, certificate=server_cert)


@pytest.mark.parametrize("tls_version", ["1.3", "1.2"])
def test_without_the_purpose_check_the_client_refuses_it(ca, client_cert, tls_version):
    not_a_server = ca.issue_client("localhost")

    result = handshake(not_a_server, client_cert, trust=ca, check_purpose=False, tls_version=tls_version)

    assert not result.ok
    assert result.client_saw.error == (
        "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unsuitable certificate purpose")
    assert result.client_saw.alert_sent == "unsupported certificate"
    assert result.server_saw.alert_received == "unsupported certificate"


def test_configuration_mistakes_raise_usage_errors(ca, server_cert):
    with pytest.raises(UsageError, match="trust=ca"):
        handshake(server_cert)
    with pytest.raises(UsageError, match="'1.1'.*'1.2' or '1.3'"):
        handshake(server_cert, trust=ca, tls_version="1.1")
    with pytest.raises(UsageError, match="needs trust="):
        server_context(server_cert, mutual=True)
    with pytest.raises(UsageError, match="not int"):
        client_context(42)


def test_peer_view_str_when_nothing_was_seen():
    view = PeerView("server", error="timed out waiting for the peer")
    assert str(view) == "handshake not completed; error: timed out waiting for the peer"
    assert view.peer_identity is None


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
# Trust means one thing: the anchors of mtlslib.pki.trust_anchors, each of which ends a path


def test_trust_is_the_anchor_itself_root_or_intermediate(ca, issuing_ca, other_ca, server_cert, client_cert):
    by_root = handshake(server_cert, client_cert, trust=ca)
    by_intermediate = handshake(server_cert, client_cert, trust=issuing_ca)
    by_stranger = handshake(server_cert, client_cert, trust=other_ca)

    assert by_root.ok and by_intermediate.ok, (str(by_root), str(by_intermediate))
    assert not by_stranger.ok
    assert "unable to get local issuer certificate" in by_stranger.client_saw.error


def test_an_intermediate_anchor_does_not_trust_its_root_or_siblings(ca, issuing_ca):
    sibling = ca.create_intermediate("Test Sibling CA")
    result = handshake(sibling.issue_server("localhost"), trust=issuing_ca)
    assert not result.ok, "trusting an intermediate must not mean trusting its root"
    assert result.client_saw.alert_sent == "unknown ca"


def test_trust_may_mix_kinds_in_one_list(ca, issuing_ca, other_ca, server_cert, client_cert):
    mixed = [other_ca.cert_pem, other_ca.certificate, issuing_ca]
    assert handshake(server_cert, client_cert, trust=mixed).ok
    assert handshake(server_cert, client_cert, trust=[other_ca, ca.cert_pem.decode()]).ok
    assert not handshake(server_cert, client_cert, trust=[other_ca.certificate, other_ca.cert_pem]).ok


def test_trust_may_be_an_x509_certificate_or_an_issued_certificate(ca, issuing_ca, server_cert, client_cert):
    assert handshake(server_cert, client_cert, trust=ca.certificate).ok
    assert handshake(server_cert, client_cert, trust=issuing_ca.certificate).ok
    pinned = handshake(server_cert, trust=server_cert)  # pinning the server's own certificate
    assert pinned.ok, str(pinned)


def test_every_trust_store_mtlslib_builds_ends_paths_at_any_anchor(ca, server_cert):
    for ctx in (client_context(ca), server_context(server_cert, trust=ca, mutual=True)):
        assert ctx.verify_flags & ssl.VERIFY_X509_PARTIAL_CHAIN
    assert not server_context(server_cert).verify_flags & ssl.VERIFY_X509_PARTIAL_CHAIN  # no trust store


@pytest.mark.parametrize("bad", [42, [["nested"]], b"not pem at all"])
def test_trust_that_is_not_trust_is_refused_clearly(server_cert, bad):
    with pytest.raises(MtlsLibError, match="trust"):
        handshake(server_cert, trust=bad)


# --------------------------------------------------------------------------------------------
# One vocabulary for TLS versions


@pytest.mark.parametrize("given", ["1.2", "TLSv1.2", "TLS 1.2", ssl.TLSVersion.TLSv1_2])
def test_every_way_of_saying_a_version_is_accepted(ca, server_cert, given):
    assert tls_version_name(given) == "1.2"
    result = handshake(server_cert, trust=ca, tls_version=given)
    assert result.ok and result.tls_version == "1.2"
    assert str(result).startswith("TLS handshake OK: TLS 1.2, ")
    ctx = client_context(ca, tls_version=given)
    assert ctx.minimum_version == ctx.maximum_version == ssl.TLSVersion.TLSv1_2


@pytest.mark.parametrize("bad", ["1.1", "TLSv1.0", "SSLv3", "", 13, ssl.TLSVersion.TLSv1_1])
def test_an_unknown_version_is_a_usage_error_naming_it(ca, server_cert, bad):
    with pytest.raises(UsageError, match=r"tls_version .* give '1.2' or '1.3'") as caught:
        server_context(server_cert, tls_version=bad)
    assert repr(bad) in str(caught.value)
    with pytest.raises(UsageError):
        handshake(server_cert, trust=ca, tls_version=bad)


def test_both_versions_are_allowed_without_a_version(ca, server_cert):
    assert handshake(server_cert, trust=ca, tls_version=None).tls_version == "1.3"


# --------------------------------------------------------------------------------------------
# One description of a connection


def test_a_connection_spec_resolves_its_defaults_once(ca, other_ca, server_cert, client_cert):
    spec = ConnectionSpec(server_cert, client_cert, trust=ca, tls_version="TLSv1.2").resolved()
    assert (spec.mutual, spec.client_trust, spec.server_trust, spec.tls_version) == (True, ca, ca, "1.2")

    one_way = ConnectionSpec(server_cert, trust=ca).resolved()
    assert (one_way.mutual, one_way.client_trust, one_way.server_trust) == (False, ca, None)

    split = ConnectionSpec(server_cert, client_cert, trust=ca, server_trust=other_ca).resolved()
    assert (split.client_trust, split.server_trust) == (ca, other_ca)
    # An empty list is a (wrong) trust store, not "no trust given": it is not replaced by trust=.
    with pytest.raises(UsageError, match="empty"):
        ConnectionSpec(server_cert, trust=ca, client_trust=[]).resolved().client_context()


@pytest.mark.parametrize("spec, message", [
    (dict(), "the client needs something to trust"),
    (dict(client_trust="CA"), None),
    (dict(client_trust="CA", mutual=True), "mutual-TLS server needs something to trust"),
])
def test_a_connection_spec_names_what_is_missing(server_cert, spec, message):
    if message is None:
        assert ConnectionSpec(server_cert, **spec).resolved().mutual is False
    else:
        with pytest.raises(UsageError, match=message):
            ConnectionSpec(server_cert, **spec).resolved()


def test_handshake_and_capture_take_the_same_spec(ca, server_cert, client_cert):
    spec = ConnectionSpec(server_cert, client_cert, trust=ca, tls_version="1.2")
    by_spec, by_keywords = handshake(spec), handshake(server_cert, client_cert, trust=ca, tls_version="1.2")
    trace = capture_handshake(spec)
    for result in (by_spec, by_keywords, trace.result):
        assert (result.ok, result.mutual, result.tls_version, result.group) == (True, True, "1.2", "x25519")
        assert result.server_saw.peer_identity == "alice@example.test"
    assert trace.tls_version_requested == "1.2" and trace.trust == {"client": ca, "server": ca}
    with pytest.raises(UsageError, match="server must be an IssuedCertificate"):
        handshake(ca.cert_pem, trust=ca)


def test_captures_that_reuse_contexts_each_record_only_their_own_connection(ca, server_cert, client_cert):
    # The same spec twice in a row, then four at once from threads: capture_handshake() reuses
    # one pair of contexts for all of them, and each trace must still hold exactly one connection.
    def one() -> tuple:
        trace = capture_handshake(server_cert, client_cert, trust=ca, tls_version="1.3", tickets=False)
        randoms = {line.split()[1] for line in trace.keylog.splitlines() if line and not line.startswith("#")}
        names = [e.name for e in trace.client_events if e.direction == "sent"]
        return trace.result.ok, len(randoms), names.count("ClientHello"), len(trace.conversation.checks)

    first, second = one(), one()
    results: list[tuple] = []
    threads = [threading.Thread(target=lambda: results.append(one())) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert [first, second, *results] == [(True, 1, 1, 4)] * 6
    # A trace with tickets gets a context of its own: its server sends them.
    with_tickets = capture_handshake(server_cert, client_cert, trust=ca, tls_version="1.3")
    assert "NewSessionTicket" in [e.name for e in with_tickets.server_events]


def test_a_capture_that_fails_gives_its_contexts_back(ca, server_cert, client_cert, monkeypatch):
    # The client cannot even make its socket: the error reaches the caller, and the contexts it had
    # borrowed are free again, without its message callbacks or its key log.
    capture_module = sys.modules["mtlslib.tls.capture"]
    real_dial = capture_module.dial

    def no_socket(host, timeout):
        monkeypatch.setattr(capture_module, "dial", real_dial)  # only the first one fails
        raise OSError("no socket today")

    monkeypatch.setattr(capture_module, "dial", no_socket)
    with pytest.raises(OSError, match="no socket today"):
        capture_handshake(server_cert, client_cert, trust=ca, tickets=False)
    done: list = []
    thread = threading.Thread(target=lambda: done.append(capture_handshake(server_cert, client_cert, trust=ca,
                                                                           tickets=False)))
    thread.start()
    thread.join(30)
    assert done, "the second capture waited for contexts the failed one never gave back"
    (trace,) = done
    keylog_randoms = {line.split()[1] for line in trace.keylog.splitlines() if line and not line.startswith("#")}
    assert trace.result.ok and len(keylog_randoms) == 1
    assert [e.name for e in trace.client_events if e.direction == "sent"].count("ClientHello") == 1


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


def test_a_result_shows_in_a_notebook_as_its_text(ca, server_cert):
    from IPython.lib.pretty import pretty

    result = handshake(server_cert, trust=ca)
    assert isinstance(result, Shown) and pretty(result) == str(result)
