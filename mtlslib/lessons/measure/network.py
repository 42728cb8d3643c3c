"""Real round trips on loopback: a relay that delays every byte, and connections timed through it.

* :class:`DelayRelay` is a TCP relay on a loopback address that holds every chunk of data for a
  one-way delay in each direction before passing it on, in order: the round-trip time it adds is
  twice that delay. Each chunk is released at its arrival time plus the delay, so chunks in flight
  overlap, as on a real link, instead of each waiting behind the previous one's delay.
* :func:`network_latencies` times TLS 1.3, TLS 1.2, with and without a client certificate, and
  resumed sessions (Python's ``session=``) through relays with several round-trip times;
  :func:`summarize_network` takes the medians, :func:`round_trips_waited` reads how many round
  trips each kind of connection waits for, and :func:`network_table` prints them all;
  :func:`resumption_messages` shows what a resumed handshake leaves out.

The relay delays the bytes, not TCP's own handshake: the kernel completes that on loopback
before the relay accepts the connection. On a real network TCP's handshake adds one more round
trip before the ClientHello.
"""

from __future__ import annotations

import math
import selectors
import socket
import ssl
import statistics
import threading
import time
from collections import deque
from dataclasses import dataclass
from functools import partial
from typing import Callable, Iterable, Sequence

from mtlslib.display import Shown, Table
from mtlslib.errors import UsageError
from mtlslib.pki import CertificateAuthority
from mtlslib.tls import (
    DEFAULT_TIMEOUT,
    AcceptLoop,
    MessageTap,
    RunsOn,
    TrackedConnection,
    client_context,
    dial,
    loopback_address,
    no_delay,
    serve_tls,
    server_context,
)
from mtlslib.tls.observe import HANDSHAKE
from mtlslib.wire.constants import HANDSHAKE_TYPES

from .timing import ConnectionKind

__all__ = ["DelayRelay", "HandshakeMessages", "NETWORK_CONFIGS", "network_latencies", "network_table", "NetworkConfig",
           "NetworkSample", "NetworkSummary", "resumption_messages", "round_trips_waited", "RoundTrips",
           "summarize_network"]

_CHUNK = 65536
_MESSAGE = b"hello\n"


class DelayRelay(RunsOn):
    """A TCP relay on 127.0.0.1 to ``upstream`` that delays each direction by ``delay_ms``.

    >>> with DelayRelay(server.address, delay_ms=25) as relay:   # a 50 ms round trip
    ...     connect(relay.address, client_ctx)

    Every connection accepted gets its own connection to ``upstream``; what either side sends
    reaches the other ``delay_ms`` milliseconds later, in order, and so does a close (a FIN: the
    other side reads the end of the stream). A reset, ``timeout`` seconds with nothing sent
    either way, or :meth:`stop` cuts both sides at once.
    """

    def __init__(self, upstream: tuple[str, int], *, delay_ms: float, host: str = "127.0.0.1", port: int = 0,
                 timeout: float = DEFAULT_TIMEOUT):
        if isinstance(delay_ms, bool) or not isinstance(delay_ms, (int, float)) or not 0 <= delay_ms <= 10_000:
            raise UsageError(f"delay_ms must be a number of milliseconds from 0 to 10000, not {delay_ms!r}")
        if not timeout > 0:
            raise UsageError(f"timeout must be a positive number of seconds, not {timeout!r}")
        self.upstream = (loopback_address(upstream[0]), upstream[1])
        self.delay_ms = delay_ms
        self.timeout = timeout
        # The package's one accept loop: a thread per connection, and stop() cuts what is open.
        self.inner = AcceptLoop(self._relay, host=host, port=port, name="mtlslib-delay")
        self._lock = threading.Lock()
        self._links: set[_Link] = set()
        self._stopping = False

    @property
    def rtt_ms(self) -> float:
        """The round-trip time the relay adds: the delay once each way."""
        return 2 * self.delay_ms

    def stop(self) -> None:
        """Stop accepting, cut every connection still open, join every thread."""
        if not self.inner.running:
            return
        # Cut before stopping the loop: a pump whose own side has already closed waits only on
        # the other side, and the loop's stop() reaches one socket per connection.
        with self._lock:
            self._stopping = True
            for link in self._links:
                link.cut()
        try:
            # No grace: a relayed connection has no handshake of its own to let finish.
            self.inner.stop(handshake_grace=0, handler_grace=self.timeout)
        finally:
            self._stopping = False

    def __repr__(self) -> str:
        where = f"{self.address[0]}:{self.address[1]}" if self.inner.running else "stopped"
        return f"<DelayRelay {where} -> {self.upstream[0]}:{self.upstream[1]}, {self.delay_ms:g} ms each way>"

    def _relay(self, conn: socket.socket, _client_address, tracked: TrackedConnection) -> None:
        tracked.track(conn)  # stop() cuts a connection not yet linked to its upstream through this
        upstream = None
        try:
            conn.settimeout(self.timeout)
            no_delay(conn)
            upstream = dial(self.upstream[0], self.timeout)
            upstream.connect(self.upstream)
        except OSError:  # upstream down, or the client already gone: the client reads the end of the stream
            for sock in (conn, upstream):
                if sock is not None:
                    sock.close()
            return
        link = _Link(conn, upstream, self.delay_ms / 1000, self.timeout)
        with self._lock:
            self._links.add(link)
            if self._stopping:  # stop() began while this connection was being linked
                link.cut()
        answers = threading.Thread(target=link.pump, args=(upstream, conn), name="mtlslib-delay-pump", daemon=True)
        try:
            answers.start()
            link.pump(conn, upstream)
        finally:
            answers.join()
            with self._lock:
                self._links.discard(link)
            conn.close()
            upstream.close()


class _Link:
    """One relayed connection: two pumps, one per direction, and what they share."""

    def __init__(self, client: socket.socket, server: socket.socket, delay: float, timeout: float):
        self.sockets = (client, server)
        self.delay, self.timeout = delay, timeout
        self.last_activity = time.monotonic()
        self.cut_event = threading.Event()

    def cut(self) -> None:
        """End both sides now: whichever pump is blocked on either socket wakes up and leaves."""
        self.cut_event.set()
        for sock in self.sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:  # already closed or reset
                pass

    def pump(self, source: socket.socket, sink: socket.socket) -> None:
        """Pass what ``source`` sends to ``sink``, each chunk ``delay`` seconds after it arrived;
        end with a half-close once ``source`` has closed, or cut the link on an error."""
        pending: deque[tuple[float, bytes]] = deque()  # (release time, data); b"" is the end of the stream
        reading = True
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(source, selectors.EVENT_READ)
                while not self.cut_event.is_set():
                    now = time.monotonic()
                    while pending and pending[0][0] <= now:
                        _, data = pending.popleft()
                        if not data:
                            sink.shutdown(socket.SHUT_WR)
                            return
                        sink.sendall(data)
                    idle = self.last_activity + self.timeout - now
                    wait = min(pending[0][0] - now, idle) if pending else idle
                    if wait <= 0 and not pending:
                        self.cut()  # nothing sent either way for `timeout` seconds
                        return
                    if not reading:
                        self.cut_event.wait(max(wait, 0))
                        continue
                    if not selector.select(max(wait, 0)):
                        continue
                    data = source.recv(_CHUNK)  # ready: returns at once
                    arrived = time.monotonic()
                    self.last_activity = arrived
                    pending.append((arrived + self.delay, data))
                    reading = bool(data)
        except OSError:  # a reset, a send that timed out, or the other pump's cut
            self.cut()


# --------------------------------------------------------------------------------------------
# Connections timed across round trips


@dataclass(frozen=True)
class NetworkConfig(ConnectionKind):
    """One kind of connection: TLS or mutual TLS, a TLS version, a full or a resumed handshake."""

    resumed: bool = False

    @property
    def label(self) -> str:
        return f"{'mTLS' if self.mutual else 'TLS'} {self.tls_version}{', resumed' if self.resumed else ''}"


NETWORK_CONFIGS: tuple[NetworkConfig, ...] = tuple(
    NetworkConfig(mutual, version, resumed)
    for version in ("1.3", "1.2") for mutual, resumed in ((False, False), (True, False), (True, True))
)


@dataclass(frozen=True)
class NetworkSample:
    """One connection through a relay: TCP connect, handshake, one request and its answer."""

    config: NetworkConfig
    rtt_ms: float
    seconds: float


def network_latencies(rtts_ms: Sequence[float] = (0, 10, 50), configs: Sequence[NetworkConfig] = NETWORK_CONFIGS,
                      *, repeats: int = 3, timeout: float = DEFAULT_TIMEOUT) -> list[NetworkSample]:
    """Time ``repeats`` new connections per configuration through a :class:`DelayRelay` with each
    round-trip time in ``rtts_ms``, against servers started once (ECDSA P-256 certificates).

    A resumed configuration first makes one full handshake, untimed, to get a session ticket, then
    offers that session (``session=``) on every timed connection, and fails with
    :class:`UsageError` if the server did not resume it. The configurations take turns in an order
    that rotates from round to round; over a round trip long enough to give each connection a 4 ms
    slice of half of it, each round's connections run side by side instead, each started a slice
    after the one before, so that they wait together but compute apart.
    """
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise UsageError(f"repeats must be a whole number of connections >= 1, not {repeats!r}")
    if not configs or not rtts_ms:
        raise UsageError("give at least one configuration and one round-trip time")
    if any(isinstance(r, bool) or not isinstance(r, (int, float)) or r < 0 for r in rtts_ms):
        raise UsageError(f"round-trip times must be milliseconds >= 0, not {rtts_ms!r}")
    ca = CertificateAuthority.create("Network CA")
    server_cert, client_cert = ca.issue_server("localhost"), ca.issue_client("alice@example.test")
    servers: dict[tuple[bool, str], AcceptLoop] = {}
    samples = []
    try:
        for mutual, version in dict.fromkeys((c.mutual, c.tls_version) for c in configs):
            context = server_context(server_cert, trust=ca, mutual=mutual, tls_version=version)
            servers[mutual, version] = AcceptLoop(partial(_answer, context, timeout), name="mtlslib-network").start()
        clients = {config: client_context(ca, certificate=client_cert if config.mutual else None,
                                          tls_version=config.tls_version) for config in configs}
        sessions = {config: _timed(servers[config.mutual, config.tls_version].address, clients[config], None,
                                   timeout)[1] if config.resumed else None for config in configs}
        for rtt in rtts_ms:
            relays = {key: DelayRelay(server.address, delay_ms=rtt / 2, timeout=timeout)
                      for key, server in servers.items()}
            try:
                for relay in relays.values():
                    relay.start()
                # Every round's configurations, in an order that rotates from round to round.
                order = [config for round_ in range(repeats)
                         for config in [*configs[round_ % len(configs):], *configs[:round_ % len(configs)]]]
                for wave in _waves(order, len(configs), rtt):
                    timings = [partial(_timed, relays[config.mutual, config.tls_version].address, clients[config],
                                       sessions[config], timeout) for config in wave]
                    if len(wave) > 1:
                        seconds = _side_by_side(timings, _slice_ms(rtt, len(wave)) / 1000)
                    else:
                        seconds = [timings[0]()[0]]
                    samples += [NetworkSample(config, rtt, s) for config, s in zip(wave, seconds)]
            finally:
                for relay in relays.values():
                    relay.stop()
    finally:
        for server in servers.values():
            server.stop()
    order = {config: i for i, config in enumerate(configs)}
    return sorted(samples, key=lambda s: (order[s.config], s.rtt_ms))


@dataclass(frozen=True)
class HandshakeMessages(Shown):
    """The handshake messages each side sent in one connection, as the client's OpenSSL saw them."""

    config: NetworkConfig
    client: tuple[str, ...]
    server: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.config.label}\n  client: {', '.join(self.client)}\n  server: {', '.join(self.server)}"


def resumption_messages(tls_version: str = "1.3", *, timeout: float = DEFAULT_TIMEOUT) -> list[HandshakeMessages]:
    """Two mutual TLS connections, without a relay: a full handshake, then one that resumes its
    session (``session=``). Returns the handshake messages of each, client and server."""
    ca = CertificateAuthority.create("Network CA")
    context = server_context(ca.issue_server("localhost"), trust=ca, mutual=True, tls_version=tls_version)
    client_ctx = client_context(ca, certificate=ca.issue_client("alice@example.test"), tls_version=tls_version)
    seen: list[tuple[str, str]] = []

    def record(_conn, direction, _version, content_type, _msg_type, data) -> None:
        if content_type == HANDSHAKE:  # data[0]: the message type (the callback's own can be misread)
            seen.append(("client" if direction == "write" else "server", HANDSHAKE_TYPES.get(data[0], str(data[0]))))

    tap = MessageTap(client_ctx, record)
    rows, session = [], None
    try:
        with AcceptLoop(partial(_answer, context, timeout), name="mtlslib-network") as server:
            for resumed in (False, True):
                seen.clear()
                session = _timed(server.address, client_ctx, session, timeout)[1]
                rows.append(HandshakeMessages(NetworkConfig(True, tls_version, resumed),
                                              *(tuple(name for who, name in seen if who == side)
                                                for side in ("client", "server"))))
    finally:
        tap.detach()
    return rows


# Over a short round trip a connection's own computing is a large part of its time, and two connections
# at once would slow each other down: they take turns. Over a long one a connection spends nearly all
# its time waiting, so connections run side by side. One side or the other computes once every half
# round trip (the client at 0, 1, 2 round trips, the server in between), so the connections are started
# a slice of half a round trip apart, which puts their bursts of computing (a millisecond or two each)
# in different slices. A slice shorter than this would not hold a burst. Were two bursts to meet anyway,
# the overlap could only add time, never remove it, and round_trips_waited() reads the fastest connection.
_SIDE_BY_SIDE_SPACING_MS = 4


def _waves(order: list[NetworkConfig], per_round: int, rtt_ms: float) -> list[list[NetworkConfig]]:
    """``order`` cut into groups that run side by side: one round at a time when the round trip gives
    each of its connections a slice of half of it, else one connection at a time."""
    size = per_round if per_round > 1 and _slice_ms(rtt_ms, per_round) >= _SIDE_BY_SIDE_SPACING_MS else 1
    return [order[i:i + size] for i in range(0, len(order), size)]


def _slice_ms(rtt_ms: float, connections: int) -> float:
    return rtt_ms / 2 / connections


def _side_by_side(timings: Sequence[Callable[[], tuple[float, ssl.SSLSession]]], spacing: float) -> list[float]:
    """Each timing started ``spacing`` seconds after the one before, in threads; their seconds, in order."""
    results: list[float | BaseException | None] = [None] * len(timings)

    def run(index: int) -> None:
        time.sleep(index * spacing)
        try:
            results[index] = timings[index]()[0]
        except BaseException as error:  # re-raised in the caller's thread below
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,), name="mtlslib-network-client", daemon=True)
               for i in range(len(timings))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results  # type: ignore[return-value]


def _answer(context: ssl.SSLContext, timeout: float, conn: socket.socket, _client_address,
            tracked: TrackedConnection) -> None:
    serve_tls(conn, context, None, timeout, tracked=tracked)


def _timed(address, context: ssl.SSLContext, session: ssl.SSLSession | None,
           timeout: float) -> tuple[float, ssl.SSLSession]:
    """Seconds from the TCP connect to the server's answer, and the session to resume later."""
    started = time.perf_counter()
    sock = dial(address[0], timeout)
    try:
        sock.connect(address)
        with context.wrap_socket(sock, server_hostname="localhost", session=session) as tls:
            tls.sendall(_MESSAGE)
            if not tls.recv(4096):
                raise ConnectionResetError("the server closed the connection without answering")
            seconds = time.perf_counter() - started
            if session is not None and not tls.session_reused:
                raise UsageError("the server did not resume the session offered: its ticket was refused")
            # In TLS 1.3 the tickets arrive after the handshake: the session is resumable only now.
            return seconds, tls.session
    finally:
        sock.close()


@dataclass(frozen=True)
class NetworkSummary(Shown):
    """The median time of one configuration's connections at one round-trip time, and the fastest."""

    config: NetworkConfig
    rtt_ms: float
    median_ms: float
    count: int
    fastest_ms: float | None = None  # None: the median stands in for it

    def __str__(self) -> str:
        return (f"{self.config.label:<17} RTT {self.rtt_ms:>3g} ms: median {self.median_ms:.1f} ms "
                f"({self.count} connections)")


def summarize_network(samples: Iterable[NetworkSample]) -> list[NetworkSummary]:
    """One row per configuration and round-trip time, in the order the samples first name them."""
    groups: dict[tuple[NetworkConfig, float], list[float]] = {}
    for sample in samples:
        groups.setdefault((sample.config, sample.rtt_ms), []).append(sample.seconds * 1000)
    if not groups:
        raise UsageError("no samples: run network_latencies() first")
    return [NetworkSummary(config, rtt, statistics.median(ms), len(ms), min(ms))
            for (config, rtt), ms in groups.items()]


@dataclass(frozen=True)
class RoundTrips(Shown):
    """How many round trips one kind of connection waited for, read from its timings: the time the
    longest round trip added, over that round-trip time."""

    config: NetworkConfig
    count: int

    def __str__(self) -> str:
        return f"{self.config.label:<17} waits for {self.count} round trip{'s' if self.count != 1 else ''}"


# A busy machine only ever adds time (the relay never releases a byte early), so the count takes
# the fastest connection of each kind, the one the machine disturbed least, and allows a quarter of
# a round trip of noise (with rounded medians, a loaded machine once counted TLS 1.2's 3 round trips as 4).
_NOISE_ALLOWANCE = 0.25


def round_trips_waited(summaries: Iterable[NetworkSummary]) -> list[RoundTrips]:
    """For each configuration measured at 0 ms and at a longer round-trip time: (fastest at the
    longest - fastest at 0 ms) / the longest RTT, rounded down after a quarter-RTT allowance for
    noise. Subtracting the 0 ms time takes the computing out; what is left is waiting."""
    by_config: dict[NetworkConfig, dict[float, float]] = {}
    for row in summaries:
        by_config.setdefault(row.config, {})[row.rtt_ms] = row.median_ms if row.fastest_ms is None else row.fastest_ms
    rows = []
    for config, fastest in by_config.items():
        longest = max(fastest)
        if 0 not in fastest or longest == 0:
            raise UsageError(f"{config.label}: measure it at 0 ms and at a longer round-trip time")
        rows.append(RoundTrips(config, math.floor((fastest[longest] - fastest[0]) / longest + _NOISE_ALLOWANCE)))
    return rows


def network_table(summaries: Iterable[NetworkSummary]) -> Table:
    """The medians as a table, one row per configuration and one column per round-trip time."""
    by_config: dict[NetworkConfig, dict[float, float]] = {}
    for row in summaries:
        by_config.setdefault(row.config, {})[row.rtt_ms] = row.median_ms
    rtts = sorted({rtt for medians in by_config.values() for rtt in medians})
    return Table(["connection"] + [f"RTT {rtt:g} ms" for rtt in rtts],
                 [[config.label] + [f"{medians[rtt]:.1f}" if rtt in medians else "-" for rtt in rtts]
                  for config, medians in by_config.items()],
                 title="median milliseconds from connect to the first answer")
