"""mtlslib.lessons.measure.network: the delay relay (the delay it adds, byte order, closes both ways,
stop() and the idle timeout) and the connections timed through it.

Timings on a loaded 2-core machine run late, never early: every lower bound is tight (a chunk is
never released before its time), every upper bound generous."""

from __future__ import annotations

import hashlib
import random
import socket
import time

import pytest

from mtlslib.errors import FigureError, NotLoopbackError, UsageError
from mtlslib.lessons import measure
from mtlslib.lessons.measure import DelayRelay, NetworkConfig, NetworkSummary
from mtlslib.tls import AcceptLoop

SLACK = 0.0005  # the clock's and the selector's rounding, in seconds


def _echo(conn, _address, tracked):
    tracked.track(conn)
    conn.settimeout(5)
    with conn:
        while data := conn.recv(65536):
            conn.sendall(data)


def _digest_of_everything(conn, _address, tracked):
    """Read until the client's end of stream, answer with the SHA-256 of it all, close."""
    tracked.track(conn)
    conn.settimeout(5)
    digest = hashlib.sha256()
    with conn:
        while data := conn.recv(65536):
            digest.update(data)
        conn.sendall(digest.digest())


def _greet_and_close(conn, _address, tracked):
    tracked.track(conn)
    with conn:
        conn.sendall(b"bye")


def _connect(relay) -> socket.socket:
    sock = socket.create_connection(relay.address, timeout=5)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        assert chunk, "the relay closed early"
        data += chunk
    return data


# -- the delay ---------------------------------------------------------------------------------


@pytest.mark.parametrize("delay_ms", [0, 15])
def test_the_relay_adds_twice_its_delay_to_every_round_trip(delay_ms):
    with AcceptLoop(_echo) as server, DelayRelay(server.address, delay_ms=delay_ms) as relay:
        assert relay.rtt_ms == 2 * delay_ms
        with _connect(relay) as sock:
            rtts = []
            for i in range(5):
                started = time.monotonic()
                sock.sendall(bytes([i]))
                assert _recv_exactly(sock, 1) == bytes([i])
                rtts.append(time.monotonic() - started)
    assert min(rtts) >= 2 * delay_ms / 1000 - SLACK
    assert sorted(rtts)[2] < 2 * delay_ms / 1000 + 0.03


def test_chunks_in_flight_overlap_instead_of_queueing_behind_each_other():
    delay = 0.04
    with AcceptLoop(_echo) as server, DelayRelay(server.address, delay_ms=delay * 1000) as relay:
        with _connect(relay) as sock:
            started = time.monotonic()
            for i in range(10):  # ten separate chunks, sent 3 ms apart
                sock.sendall(bytes([i]))
                time.sleep(0.003)
            echoed = _recv_exactly(sock, 10)
            elapsed = time.monotonic() - started
    assert echoed == bytes(range(10))
    # Each chunk back one round trip after it left: about 30 ms of sending + 80 ms. A relay that
    # slept its delay for each chunk in turn would need 10 x 40 ms before the last one even left.
    assert 2 * delay - SLACK <= elapsed < 0.25


def test_two_megabytes_in_uneven_chunks_arrive_whole_and_in_order_then_both_sides_close():
    rng = random.Random(6)
    payload = rng.randbytes(2_000_000)
    with AcceptLoop(_digest_of_everything) as server, DelayRelay(server.address, delay_ms=5) as relay:
        with _connect(relay) as sock:
            offset = 0
            while offset < len(payload):
                size = rng.choice((1, 7, 1500, 16384, 100_000))
                sock.sendall(payload[offset:offset + size])
                offset += size
            sock.shutdown(socket.SHUT_WR)  # the server answers only once it reads the end of the stream
            assert _recv_exactly(sock, 32) == hashlib.sha256(payload).digest()
            assert sock.recv(1) == b""  # and its close comes through after the answer


def test_a_close_from_the_server_arrives_one_delay_later_after_its_data():
    with AcceptLoop(_greet_and_close) as server, DelayRelay(server.address, delay_ms=20) as relay:
        started = time.monotonic()
        with _connect(relay) as sock:
            assert _recv_exactly(sock, 3) == b"bye"
            assert sock.recv(1) == b""
            assert time.monotonic() - started >= 0.02 - SLACK


def test_a_close_from_the_client_reaches_the_server_one_delay_later():
    closed = []

    def note_the_end(conn, _address, tracked):
        tracked.track(conn)
        conn.settimeout(5)
        with conn:
            while conn.recv(65536):
                pass
            closed.append(time.monotonic())

    with AcceptLoop(note_the_end) as server, DelayRelay(server.address, delay_ms=30) as relay:
        sock = _connect(relay)
        sock.sendall(b"x")
        sock.close()
        closed_at = time.monotonic()
        deadline = time.monotonic() + 5
        while not closed and time.monotonic() < deadline:
            time.sleep(0.005)
    assert closed and closed[0] - closed_at >= 0.03 - SLACK


# -- stopping, timeouts, where it may listen -----------------------------------------------------


@pytest.mark.parametrize("half_closed", [False, True], ids=["open", "client-half-closed"])
def test_stop_cuts_what_is_open_at_once(half_closed):
    with AcceptLoop(_echo) as server:
        relay = DelayRelay(server.address, delay_ms=10).start()
        with _connect(relay) as sock:
            sock.sendall(b"ping")
            assert _recv_exactly(sock, 4) == b"ping"
            if half_closed:  # one direction finished: its pump is gone, the other waits on the server
                sock.shutdown(socket.SHUT_WR)
                time.sleep(0.05)
            started = time.monotonic()
            relay.stop()
            assert time.monotonic() - started < 1
            try:
                assert sock.recv(1) == b""
            except ConnectionResetError:
                pass
        relay.stop()  # harmless when stopped


def test_a_connection_silent_both_ways_is_cut_after_the_timeout():
    with AcceptLoop(_echo) as server, DelayRelay(server.address, delay_ms=0, timeout=0.3) as relay:
        with _connect(relay) as sock:
            started = time.monotonic()
            assert sock.recv(1) == b""
            assert 0.3 - SLACK <= time.monotonic() - started < 3


def test_a_client_of_a_relay_whose_upstream_is_gone_reads_the_end_of_the_stream():
    server = AcceptLoop(_echo).start()
    upstream = server.address
    server.stop()
    with DelayRelay(upstream, delay_ms=5) as relay, _connect(relay) as sock:
        assert sock.recv(1) == b""


def test_the_relay_listens_and_connects_on_loopback_only_and_refuses_a_silly_delay():
    with pytest.raises(NotLoopbackError):
        DelayRelay(("192.0.2.1", 443), delay_ms=5)
    with pytest.raises(NotLoopbackError):
        DelayRelay(("127.0.0.1", 443), delay_ms=5, host="0.0.0.0")
    for delay in (-1, True, "10", 20_000):
        with pytest.raises(UsageError, match="delay_ms"):
            DelayRelay(("127.0.0.1", 443), delay_ms=delay)
    relay = DelayRelay(("127.0.0.1", 443), delay_ms=12.5)
    assert repr(relay) == "<DelayRelay stopped -> 127.0.0.1:443, 12.5 ms each way>"


# -- TLS across the relay ------------------------------------------------------------------------


def test_tls_connections_wait_for_the_round_trips_of_their_version_and_resumption_saves_one_in_tls12():
    configs = (NetworkConfig(False, "1.3"), NetworkConfig(False, "1.2"), NetworkConfig(True, "1.2", resumed=True))
    samples = measure.network_latencies((0, 60), configs, repeats=1)
    assert [(s.config, s.rtt_ms) for s in samples] == [(c, rtt) for c in configs for rtt in (0, 60)]
    for sample in samples:
        if sample.rtt_ms:
            assert sample.seconds >= 2 * 0.06 - SLACK
    counts = measure.round_trips_waited(measure.summarize_network(samples))
    # The TLS round trips and the request's: TCP's own handshake is not delayed by the relay.
    assert [(c.config, c.count) for c in counts] == list(zip(configs, (2, 3, 2)))


def test_the_network_results_print_one_way():
    tls13, resumed = NetworkConfig(False, "1.3"), NetworkConfig(True, "1.2", resumed=True)
    rows = [NetworkSummary(tls13, 0, 2.345, 3), NetworkSummary(tls13, 50, 104.56, 2),
            NetworkSummary(resumed, 0, 2.0, 3), NetworkSummary(resumed, 50, 106.0, 2)]
    assert str(rows[1]) == "TLS 1.3           RTT  50 ms: median 104.6 ms (2 connections)"
    assert [str(r) for r in measure.round_trips_waited(rows)] == [
        "TLS 1.3           waits for 2 round trips", "mTLS 1.2, resumed waits for 2 round trips"]
    assert str(measure.network_table(rows)) == (
        "median milliseconds from connect to the first answer\n"
        "connection         RTT 0 ms  RTT 50 ms\n"
        "-----------------  --------  ---------\n"
        "TLS 1.3                 2.3      104.6\n"
        "mTLS 1.2, resumed       2.0      106.0")
    (panel,) = measure.plot_network(rows).panels
    assert [mark.label for mark in panel.legend()] == ["TLS 1.3", "mTLS 1.2, resumed"]
    resumed = panel.legend()[1]
    assert (resumed.xs, resumed.ys, resumed.dash, resumed.marker) == ((0, 50), (2.0, 106.0), ":", "s")


def test_the_network_helpers_refuse_what_they_cannot_read():
    tls13 = NetworkConfig(False, "1.3")
    with pytest.raises(UsageError, match="measure it at 0 ms"):
        measure.round_trips_waited([NetworkSummary(tls13, 50, 104.0, 2)])
    with pytest.raises(UsageError, match="no samples"):
        measure.summarize_network([])
    with pytest.raises(FigureError, match="nothing to plot"):
        measure.plot_network([])
    with pytest.raises(UsageError, match="repeats"):
        measure.network_latencies(repeats=0)
    with pytest.raises(UsageError, match="round-trip times"):
        measure.network_latencies((0, -10))
    with pytest.raises(UsageError, match="tls_version"):
        NetworkConfig(False, "1.1")


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_a_resumed_handshake_sends_no_certificate_either_way(version):
    full, resumed = measure.resumption_messages(version)
    assert (full.config.resumed, resumed.config.resumed) == (False, True)
    assert "Certificate" in full.client and "CertificateRequest" in full.server
    assert resumed.client == ("ClientHello", "Finished")
    assert resumed.server[0] == "ServerHello" and "Finished" in resumed.server
    assert not {"Certificate", "CertificateRequest", "CertificateVerify"} & set(resumed.client + resumed.server)
    assert str(resumed).startswith(f"mTLS {version}, resumed\n  client: ClientHello, Finished\n  server: ServerHello")


def test_the_round_trip_count_reads_the_fastest_connection_so_a_busy_machine_does_not_add_one():
    tls12 = NetworkConfig(False, "1.2")
    # The medians say (185 - 5) / 50 = 3.6, which rounds to 4; the fastest connections say 3.12.
    rows = [NetworkSummary(tls12, 0, 5.0, 2, 4.0), NetworkSummary(tls12, 50, 185.0, 2, 160.0)]
    assert [c.count for c in measure.round_trips_waited(rows)] == [3]
    # Computing noise that makes the 50 ms connection look a little faster still counts the 3.
    rows = [NetworkSummary(tls12, 0, 6.0, 2, 6.0), NetworkSummary(tls12, 50, 150.0, 2, 146.0)]
    assert [c.count for c in measure.round_trips_waited(rows)] == [3]
