"""Hardening: malformed input gives mtlslib's own errors only, and the servers hold up under load.

Load tests stay on 127.0.0.1, are bounded in count and time, and stop by themselves.
"""

from __future__ import annotations

import base64
import selectors
import socket
import ssl
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mtlslib.errors import HandshakeTimeout, MtlsLibError
from mtlslib.pki import (
    CertificateAuthority,
    IssuedCertificate,
    load_pem_certificates,
    load_pem_private_key,
    load_pkcs12,
)
from mtlslib.tls import HttpsService, LoopbackServer, client_context, connect, server_context

CLIENTS = 200
_FUZZ = settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


# --------------------------------------------------------------------------------------------
# Malformed input


def _damaged(data: bytes, draw) -> bytes:
    kind = draw(st.sampled_from(["truncate", "flip", "insert", "random"]))
    if kind == "random":
        return draw(st.binary(max_size=2000))
    position = draw(st.integers(0, max(len(data) - 1, 0)))
    if kind == "truncate":
        return data[:position]
    if kind == "flip":
        return data[:position] + bytes([data[position] ^ draw(st.integers(1, 255))]) + data[position + 1:]
    return data[:position] + draw(st.binary(min_size=1, max_size=16)) + data[position:]


@_FUZZ
@given(data=st.data())
def test_damaged_pem_certificates_give_certificate_load_errors_only(server_cert, data):
    original = data.draw(st.sampled_from([server_cert.chain_pem, server_cert.certificate.public_bytes(Encoding.DER)]))
    try:
        load_pem_certificates(_damaged(original, data.draw), "server.pem")
    except MtlsLibError as error:
        assert "server.pem" in str(error)


@_FUZZ
@given(data=st.data())
def test_damaged_private_keys_give_certificate_load_errors_only(server_cert, data):
    try:
        load_pem_private_key(_damaged(server_cert.key_pem, data.draw), "server.key")
    except MtlsLibError as error:
        assert "server.key" in str(error)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_damaged_pkcs12_files_give_certificate_load_errors_only(client_cert, tmp_path, data):
    path = tmp_path / "client.p12"
    path.write_bytes(_damaged(client_cert.to_pkcs12(b"secret"), data.draw))
    try:
        load_pkcs12(path, b"secret")
    except MtlsLibError as error:
        assert "client.p12" in str(error)


def test_loading_a_key_that_belongs_to_another_certificate_is_refused(server_cert, client_cert, tmp_path):
    cert_path, _ = server_cert.write(tmp_path, "server")
    _, other_key = client_cert.write(tmp_path, "client")
    with pytest.raises(MtlsLibError, match="does not belong"):
        IssuedCertificate.load(cert_path, other_key)


# --------------------------------------------------------------------------------------------
# Load


def _good_request(address, ctx) -> bytes:
    with connect(address, ctx, timeout=20) as connection:
        return connection.request(b"hello\n")


@pytest.mark.timeout(120)
def test_loopback_server_takes_200_concurrent_mutual_tls_clients_and_refuses_bad_ones(ca, server_cert, client_cert):
    stranger = CertificateAuthority.create("Stranger CA", seed="hardening").issue_client("mallory.example.test")
    good_ctx = client_context(ca, certificate=client_cert)
    bad_ctx = client_context(ca, certificate=stranger, check_purpose=False)
    with LoopbackServer(server_context(server_cert, trust=ca, mutual=True), timeout=20, backlog=512) as srv:
        def bad_request(_):
            try:
                with connect(srv.address, bad_ctx, timeout=20) as connection:
                    return connection.request(b"hello\n")
            except (ssl.SSLError, OSError):
                return b"refused"

        with ThreadPoolExecutor(max_workers=CLIENTS + 20) as pool:
            bad = [pool.submit(bad_request, i) for i in range(20)]
            good = [pool.submit(_good_request, srv.address, good_ctx) for _ in range(CLIENTS)]
            good_replies = [f.result(timeout=60) for f in good]
            bad_replies = [f.result(timeout=60) for f in bad]
    assert good_replies == [b"hello alice@example.test\n"] * CLIENTS
    assert all(reply in (b"refused", b"") for reply in bad_replies)
    refused = [v for v in srv.connections if v.error]
    assert len(refused) == 20 and all("unknown ca" in v.error or "certificate verify failed" in v.error
                                      for v in refused)
    assert sum(1 for v in srv.connections if v.peer_identity == "alice@example.test") == CLIENTS


@pytest.mark.timeout(120)
def test_a_stalled_peer_still_times_out_under_load(ca, server_cert, client_cert):
    good_ctx = client_context(ca, certificate=client_cert)
    with LoopbackServer(server_context(server_cert, trust=ca, mutual=True), timeout=1.0, backlog=512) as srv:
        with socket.create_connection(srv.address):  # TCP only: never sends a ClientHello
            started = time.monotonic()
            with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
                replies = list(pool.map(lambda _: _good_request(srv.address, good_ctx), range(CLIENTS)))
            deadline = started + 10
            while time.monotonic() < deadline and not any("timed out" in (v.error or "") for v in srv.connections):
                time.sleep(0.05)
    assert replies == [b"hello alice@example.test\n"] * CLIENTS
    assert any("timed out" in (v.error or "") for v in srv.connections)


@pytest.mark.timeout(60)
def test_a_client_that_stalls_gets_a_timeout_not_a_hang():
    with socket.create_server(("127.0.0.1", 0)) as silent:
        accepted = []
        waiter = threading.Thread(target=lambda: accepted.append(silent.accept()[0]), daemon=True)
        waiter.start()
        started = time.monotonic()
        with pytest.raises(HandshakeTimeout):
            connect(silent.getsockname(), ssl.create_default_context(), timeout=0.5)
        assert time.monotonic() - started < 5
        waiter.join(5)
        for conn in accepted:
            conn.close()


@pytest.mark.timeout(120)
def test_https_service_takes_200_concurrent_mutual_tls_clients_and_refuses_bad_ones(ca, server_cert, client_cert,
                                                                                    tmp_path):
    cert_path, key_path = client_cert.write(tmp_path, "alice")
    good_ctx = ssl.create_default_context(cadata=ca.cert_pem.decode())
    good_ctx.load_cert_chain(cert_path, key_path)
    anonymous_ctx = ssl.create_default_context(cadata=ca.cert_pem.decode())  # no client certificate
    with HttpsService(server_cert, trust=ca, mutual=True, timeout=20) as service:
        def get(ctx):
            try:
                with urllib.request.urlopen(service.url, context=ctx, timeout=30) as response:
                    return response.read().decode()
            except (OSError, ssl.SSLError) as error:  # urllib wraps TLS refusals in URLError (an OSError)
                return f"refused: {error}"

        with ThreadPoolExecutor(max_workers=CLIENTS + 20) as pool:
            bad = [pool.submit(get, anonymous_ctx) for _ in range(20)]
            good = [pool.submit(get, good_ctx) for _ in range(CLIENTS)]
            good_bodies = [f.result(timeout=60) for f in good]
            bad_bodies = [f.result(timeout=60) for f in bad]
    assert all(body.startswith("hello alice@example.test") for body in good_bodies)
    assert all(body.startswith("refused") for body in bad_bodies)


def test_a_certificate_with_an_impossible_version_is_a_load_error(server_cert):
    # Found by the fuzzing above: cryptography raises InvalidVersion, which is not a ValueError.
    der = server_cert.certificate.public_bytes(Encoding.DER)
    assert der.count(b"\xa0\x03\x02\x01\x02") == 1  # [0] EXPLICIT INTEGER 2, i.e. X.509 v3
    bad = der.replace(b"\xa0\x03\x02\x01\x02", b"\xa0\x03\x02\x01\x0a")
    pem = b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(bad) + b"-----END CERTIFICATE-----\n"
    with pytest.raises(MtlsLibError, match="server.pem: a certificate block is damaged"):
        load_pem_certificates(pem, "server.pem")


# --------------------------------------------------------------------------------------------
# The HTTPS service's limits: concurrent connections and the listen queue


def _slow_loris(address, ctx, interval=0.2) -> bytes:
    """Handshake, then a header line every ``interval`` seconds until the server answers."""
    with ctx.wrap_socket(socket.create_connection(address, timeout=20), server_hostname="localhost") as tls:
        tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n")
        tls.settimeout(interval)
        answer = b""
        while True:
            try:
                data = tls.recv(4096)
            except TimeoutError:
                tls.sendall(b"X-Slow: 1\r\n")
                continue
            if not data:
                return answer
            answer += data


def _connection_threads() -> int:
    return sum(1 for thread in threading.enumerate() if thread.name == "mtlslib-https-connection")


@pytest.mark.timeout(60)
def test_https_service_serves_at_most_max_connections_and_queues_the_rest(ca, server_cert):
    bound, extra, deadline = 3, 4, 0.5
    ctx = client_context(ca)
    with HttpsService(server_cert, timeout=deadline, max_connections=bound) as service:
        assert service.active_connections == 0
        with ThreadPoolExecutor(max_workers=bound + extra + 1) as pool:
            slow = [pool.submit(_slow_loris, service.address, ctx) for _ in range(bound + extra)]
            while service.active_connections < bound:
                time.sleep(0.01)
            started = time.monotonic()
            good = pool.submit(urllib.request.urlopen, service.url, context=ctx, timeout=20)
            most_threads = most_active = 0
            while not all(future.done() for future in [*slow, good]):
                most_threads = max(most_threads, _connection_threads())
                most_active = max(most_active, service.active_connections)
                time.sleep(0.005)
            waited = time.monotonic() - started
            with good.result() as response:
                assert response.status == 200
            answers = [future.result() for future in slow]
    assert most_active == bound and most_threads <= bound
    # Every slow client, the queued ones too once they got in, was cut at its deadline with a 408 ...
    assert all(answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n") for answer in answers)
    # ... and the good client, queued behind them, was served once slots freed up.
    assert waited >= deadline * 0.9


def test_https_service_listen_queue_holds_200_connections_nobody_accepts(server_cert):
    # The backlog asked of listen() (256), capped by the kernel (net.core.somaxconn on Linux): with
    # the one connection slot taken, 200 further clients must all get their TCP connection at
    # once. With a backlog of 128 the kernel would drop the SYNs of the last ~70.
    with HttpsService(server_cert, timeout=10, max_connections=1) as service:
        with socket.create_connection(service.address):  # takes the only slot: connects, never says hello
            while service.active_connections < 1:
                time.sleep(0.01)
            queued = [socket.socket() for _ in range(200)]
            try:
                with selectors.DefaultSelector() as selector:
                    for sock in queued:
                        sock.setblocking(False)
                        sock.connect_ex(service.address)
                        selector.register(sock, selectors.EVENT_WRITE)
                    connected, deadline = 0, time.monotonic() + 0.9  # a dropped SYN is retried after 1 s
                    while connected < len(queued) and (remaining := deadline - time.monotonic()) > 0:
                        for key, _ in selector.select(remaining):
                            selector.unregister(key.fileobj)
                            connected += key.fileobj.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
                assert connected == 200
                assert service.active_connections == 1  # queued, not served: the bound holds
            finally:
                for sock in queued:
                    sock.close()
