"""What mutual TLS costs, measured: time, messages, bytes, round trips, and running a fleet.

Every measuring function returns *tidy* results, a list of small frozen dataclasses (one row per
observation or per configuration), and every plotting function takes those rows and returns a
matplotlib ``Figure``, so that a notebook cell is one line and the numbers stay available for
checking.

* :func:`handshake_latencies` times many real connections on 127.0.0.1 for each
  :class:`HandshakeConfig` (TLS or mutual TLS, TLS 1.2 or 1.3, a key type), interleaved round by
  round so that whatever drifts during the run slows every configuration alike;
  :func:`summarize_latencies`, :func:`mtls_ratios` and :func:`plot_latencies` read them.
* :func:`handshake_traffic` counts, from a :func:`~mtlslib.tls.capture_handshake` trace, the
  messages and bytes each side sent before any application data, and the round trips the client
  waited for; :func:`plot_traffic` draws them.
* :func:`signature_costs` times the signature and the verification that a client certificate adds.
* :func:`time_issuance`, :func:`crl_sizes`, :func:`crl_checking_context`,
  :func:`issue_short_lived` and :func:`try_client` measure what a fleet of client certificates
  asks of its operators: issuing, revoking and expiring certificates, each seen in a real handshake.

Timings vary from machine to machine and run to run; compare them as ratios.
"""

from __future__ import annotations

import datetime as _dt
import gc
import socket
import ssl
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from mtlslib.errors import ProfileError
from mtlslib.pki import KEY_TYPES, CertificateAuthority, IssuedCertificate
from mtlslib.tls import (
    DEFAULT_TIMEOUT,
    HandshakeTrace,
    LoopbackServer,
    Trust,
    capture_handshake,
    client_context,
    connect,
    error_text,
    listen,
    no_delay,
    server_context,
    wake_accept,
)
from mtlslib.wire import read_records
from mtlslib.wire.conversation import ApplicationData, OpaqueRecord
from mtlslib.wire.messages import HandshakeMessage

__all__ = ["Attempt", "compare_traffic", "crl_checking_context", "crl_sizes", "CrlSize", "DEFAULT_CONFIGS",
           "handshake_latencies", "handshake_traffic", "HandshakeConfig", "IssuanceTiming", "issue_short_lived",
           "LatencySample", "LatencySummary", "mtls_ratios", "MtlsRatio", "network_estimates", "NetworkEstimate",
           "plot_latencies", "plot_traffic", "signature_costs", "SignatureCost", "summarize_latencies",
           "time_issuance", "Traffic", "try_client"]

_KEY_LABELS = {"ecdsa-p256": "ECDSA P-256", "ecdsa-p384": "ECDSA P-384", "rsa-2048": "RSA-2048",
               "rsa-3072": "RSA-3072", "ed25519": "Ed25519"}
_MESSAGE = b"hello\n"


# --------------------------------------------------------------------------------------------
# Handshake latency


@dataclass(frozen=True)
class HandshakeConfig:
    """One way of connecting: TLS or mutual TLS, a TLS version, the key type of every certificate."""

    mutual: bool
    tls_version: str = "1.3"
    key_type: str = "ecdsa-p256"

    def __post_init__(self) -> None:
        if self.tls_version not in ("1.2", "1.3"):
            raise ProfileError(f"tls_version must be '1.2' or '1.3', not {self.tls_version!r}")
        if self.key_type not in KEY_TYPES:
            raise ProfileError(f"unknown key type {self.key_type!r}; choose one of: {', '.join(KEY_TYPES)}")

    @property
    def label(self) -> str:
        return f"{'mTLS' if self.mutual else 'TLS'} {self.tls_version} {_KEY_LABELS[self.key_type]}"


# TLS and mutual TLS side by side: both versions with the course's default key, then the other
# common key types with TLS 1.3.
DEFAULT_CONFIGS: tuple[HandshakeConfig, ...] = tuple(
    HandshakeConfig(mutual, version, key_type)
    for version, key_type in (("1.3", "ecdsa-p256"), ("1.2", "ecdsa-p256"), ("1.3", "rsa-2048"), ("1.3", "ed25519"))
    for mutual in (False, True)
)


@dataclass(frozen=True)
class LatencySample:
    """One connection: TCP connect, handshake, one request and its answer, as the client timed it.

    The answer is part of it on purpose: in TLS 1.3 the client finishes its side of the handshake
    before the server has checked the client's certificate, so a client-side handshake time alone
    would leave out the very work mutual TLS adds.
    """

    config: HandshakeConfig
    round: int
    seconds: float

    @property
    def label(self) -> str:
        return self.config.label


def handshake_latencies(configs: Sequence[HandshakeConfig] = DEFAULT_CONFIGS, *, count: int = 200,
                        warmup: int = 3, timeout: float = DEFAULT_TIMEOUT) -> list[LatencySample]:
    """Time ``count`` new connections per configuration against servers started once.

    One CA per key type (fresh random keys), one server per configuration; the configurations
    take turns within every round, in an order that rotates from round to round, so that a burst of
    background load or a change of CPU frequency hits them all. Returns one row per connection.
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ProfileError(f"count must be a whole number of connections >= 1, not {count!r}")
    if not configs:
        raise ProfileError("configs is empty: give at least one HandshakeConfig")
    pki = {key_type: _timing_pki(key_type) for key_type in dict.fromkeys(c.key_type for c in configs)}
    servers: list[_TimingServer] = []
    samples: list[LatencySample] = []
    try:
        targets = []
        for config in configs:
            ca, server_cert, client_cert = pki[config.key_type]
            server_ctx = server_context(server_cert, trust=ca, mutual=config.mutual, tls_version=config.tls_version)
            servers.append(_TimingServer(server_ctx, timeout))
            targets.append((config, servers[-1].address,
                            client_context(ca, certificate=client_cert if config.mutual else None,
                                           tls_version=config.tls_version)))
        for _ in range(warmup):
            for _config, address, client_ctx in targets:
                _one_connection(address, client_ctx, timeout)
        gc.collect()
        for round_ in range(count):
            shift = round_ % len(targets)
            for config, address, client_ctx in targets[shift:] + targets[:shift]:
                samples.append(LatencySample(config, round_, _one_connection(address, client_ctx, timeout)))
    finally:
        for server in servers:
            server.stop()
    order = {config: i for i, config in enumerate(configs)}
    return sorted(samples, key=lambda s: (order[s.config], s.round))


def _timing_pki(key_type: str) -> tuple[CertificateAuthority, IssuedCertificate, IssuedCertificate]:
    ca = CertificateAuthority.create(f"Timing CA {_KEY_LABELS[key_type]}", key_type=key_type)
    return ca, ca.issue_server("localhost"), ca.issue_client("alice@example.test")


class _TimingServer:
    """The least a TLS server can do, so that the timings are about TLS: accept, handshake, read
    one message, answer, close; one connection at a time, in one thread, until :meth:`stop`."""

    def __init__(self, context: ssl.SSLContext, timeout: float):
        self._context, self._timeout = context, timeout
        self._listener = listen("127.0.0.1", 0)
        self.address = self._listener.getsockname()[:2]
        self._thread = threading.Thread(target=self._serve, name="mtlslib-timing-server", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:  # stop() shut the listener down
                return
            conn.settimeout(self._timeout)
            no_delay(conn)
            try:
                with self._context.wrap_socket(conn, server_side=True) as tls:
                    if tls.recv(4096):
                        tls.sendall(b"hello\n")
            except OSError:  # the client, which times the connection, reports the failure
                conn.close()

    def stop(self) -> None:
        wake_accept(self._listener)
        self._thread.join(self._timeout * 2 + 1)
        self._listener.close()


def _one_connection(address, client_ctx: ssl.SSLContext, timeout: float) -> float:
    started = time.perf_counter()
    sock = socket.create_connection(address, timeout=timeout)
    try:
        no_delay(sock)
        with client_ctx.wrap_socket(sock, server_hostname="localhost") as tls:
            tls.sendall(_MESSAGE)
            if not tls.recv(4096):
                raise ConnectionResetError("the timing server closed the connection without answering")
    finally:
        sock.close()
    return time.perf_counter() - started


@dataclass(frozen=True)
class LatencySummary:
    """The distribution of one configuration's latencies, in milliseconds."""

    config: HandshakeConfig
    count: int
    median_ms: float
    p10_ms: float
    p90_ms: float

    @property
    def label(self) -> str:
        return self.config.label

    def line(self) -> str:
        return (f"{self.label:<24} median {self.median_ms:.3f} ms  "
                f"(10% under {self.p10_ms:.3f} ms, 90% under {self.p90_ms:.3f} ms; {self.count} connections)")


def summarize_latencies(samples: Iterable[LatencySample]) -> list[LatencySummary]:
    """One row per configuration, in the order the samples first name them."""
    groups = _by_config(samples)
    rows = []
    for config, seconds in groups.items():
        ms = sorted(s * 1000 for s in seconds)
        deciles = statistics.quantiles(ms, n=10) if len(ms) > 1 else [ms[0]] * 9
        rows.append(LatencySummary(config, len(ms), statistics.median(ms), deciles[0], deciles[-1]))
    return rows


def _by_config(samples: Iterable[LatencySample]) -> dict[HandshakeConfig, list[float]]:
    groups: dict[HandshakeConfig, list[float]] = {}
    for sample in samples:
        groups.setdefault(sample.config, []).append(sample.seconds)
    if not groups:
        raise ProfileError("no latency samples: run handshake_latencies() first")
    return groups


@dataclass(frozen=True)
class MtlsRatio:
    """Mutual TLS against TLS for one TLS version and key type: medians and their ratio."""

    tls_version: str
    key_type: str
    tls_median_ms: float
    mtls_median_ms: float

    @property
    def ratio(self) -> float:
        return self.mtls_median_ms / self.tls_median_ms

    @property
    def extra_ms(self) -> float:
        return self.mtls_median_ms - self.tls_median_ms

    def line(self) -> str:
        return (f"TLS {self.tls_version} {_KEY_LABELS[self.key_type]:<12} mTLS/TLS = {self.ratio:.2f}x  "
                f"({self.mtls_median_ms:.3f} ms against {self.tls_median_ms:.3f} ms: "
                f"{self.extra_ms * 1000:+.0f} microseconds)")


def mtls_ratios(samples: Iterable[LatencySample]) -> list[MtlsRatio]:
    """For every (version, key type) measured both ways, mutual TLS's median over TLS's."""
    medians = {s.config: s.median_ms for s in summarize_latencies(samples)}
    rows = []
    for config, median in medians.items():
        if config.mutual:
            plain = HandshakeConfig(False, config.tls_version, config.key_type)
            if plain in medians:
                rows.append(MtlsRatio(config.tls_version, config.key_type, medians[plain], median))
    return rows


@dataclass(frozen=True)
class NetworkEstimate:
    """A measured loopback latency carried over to a network with a given round-trip time."""

    config: HandshakeConfig
    rtt_ms: float
    round_trips: int
    loopback_ms: float

    @property
    def total_ms(self) -> float:
        return self.round_trips * self.rtt_ms + self.loopback_ms

    def line(self) -> str:
        return (f"{self.config.label:<24} {self.round_trips} x {self.rtt_ms:g} ms + {self.loopback_ms:.1f} ms "
                f"of computing = {self.total_ms:.1f} ms")


def network_estimates(summaries: Iterable[LatencySummary], traffic: Iterable["Traffic"],
                      rtt_ms: float) -> list[NetworkEstimate]:
    """What each configuration would take across a network whose round trips take ``rtt_ms``.

    On loopback a round trip costs microseconds, so the measured latency is nearly all computing.
    Across a network every round trip the client waits for adds ``rtt_ms``: TCP's own handshake,
    the TLS round trips counted in ``traffic`` (see :func:`compare_traffic`), and the request.
    """
    if isinstance(rtt_ms, bool) or not isinstance(rtt_ms, (int, float)) or not rtt_ms > 0:
        raise ProfileError(f"rtt_ms must be a positive number of milliseconds, not {rtt_ms!r}")
    tls_round_trips = {(t.mutual, t.tls_version): t.round_trips for t in traffic}
    rows = []
    for summary in summaries:
        key = (summary.config.mutual, summary.config.tls_version)
        if key not in tls_round_trips:
            raise ProfileError(f"no traffic counted for {summary.label}; count it with compare_traffic()")
        rows.append(NetworkEstimate(summary.config, rtt_ms, 1 + tls_round_trips[key] + 1, summary.median_ms))
    return rows


def plot_latencies(samples: Iterable[LatencySample]):
    """Left: the latency distributions of TLS and mutual TLS 1.3 (the first key type measured)
    overlaid; right: every configuration as a box plot. Returns the ``Figure``."""
    groups = _by_config(samples)
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [1, 1.3]})
    first_key = next(iter(groups)).key_type
    pair = [c for c in groups if c.tls_version == "1.3" and c.key_type == first_key]
    pair_ms = [s * 1000 for config in pair for s in groups[config]]
    # The slowest few (a thread that had to wait for the processor) would stretch the axis and
    # squash the shapes; they are piled into the last bin instead.
    low = min(pair_ms) * 0.9
    high = statistics.quantiles(pair_ms, n=20)[-1] if len(pair_ms) > 1 else max(pair_ms) * 1.1
    bins = [low + (high - low) * i / 50 for i in range(51)]
    for config in pair:
        left.hist([min(s * 1000, high) for s in groups[config]], bins=bins, alpha=0.6, label=config.label,
                  color=_colour(config))
    left.set_xlabel("milliseconds (connect, handshake, first answer;\nthe slowest 5% piled on the right)")
    left.set_ylabel("connections")
    left.set_title("TLS 1.3 against mutual TLS 1.3")
    left.legend()
    configs = list(groups)
    box = right.boxplot([[s * 1000 for s in groups[c]] for c in configs], orientation="horizontal", whis=(5, 95),
                        showfliers=False, patch_artist=True, medianprops={"color": "black"})
    for patch, config in zip(box["boxes"], configs):
        patch.set_facecolor(_colour(config))
        patch.set_alpha(0.6)
    right.set_yticks(range(1, len(configs) + 1), [c.label for c in configs])
    right.invert_yaxis()
    right.set_xlabel("milliseconds (line: median; box: middle half;\nwhiskers: from the fastest 5% to the slowest 5%)")
    right.set_title("Every configuration")
    fig.tight_layout()
    plt.close(fig)  # shown once, as the cell's value, not a second time by the inline backend
    return fig


def _colour(config: HandshakeConfig) -> str:
    return "#d97706" if config.mutual else "#2563eb"


def _pyplot():
    import matplotlib.pyplot as plt  # only the plotting helpers need matplotlib

    return plt


# --------------------------------------------------------------------------------------------
# Messages, bytes and round trips


@dataclass(frozen=True)
class Traffic:
    """What one handshake cost on the wire, counted from a capture, up to the first application data."""

    mutual: bool
    tls_version: str
    client_messages: tuple[tuple[str, int], ...]
    """(name, size in bytes) of every handshake message the client sent, in order."""
    server_messages: tuple[tuple[str, int], ...]
    client_bytes: int
    server_bytes: int
    round_trips: int
    """Times the client had to wait for the server before it could send its request."""

    @property
    def label(self) -> str:
        return f"{'mTLS' if self.mutual else 'TLS'} {self.tls_version}"

    def messages(self, sender: str) -> tuple[str, ...]:
        """The names of the handshake messages ``sender`` ("client" or "server") sent."""
        return tuple(name for name, _ in (self.client_messages if sender == "client" else self.server_messages))

    def changes_from(self, other: "Traffic") -> list[str]:
        """What this handshake sends that ``other`` does not: new messages, and messages that grew
        or shrank, one line each (``sender message +bytes``)."""
        lines = []
        for sender in ("client", "server"):
            theirs = dict(other.client_messages if sender == "client" else other.server_messages)
            for name, size in (self.client_messages if sender == "client" else self.server_messages):
                if name not in theirs:
                    lines.append(f"{sender:<6} {name:<18} {size:>+5} B  (a new message)")
                elif theirs[name] != size:
                    lines.append(f"{sender:<6} {name:<18} {size - theirs[name]:>+5} B  (was {theirs[name]} B)")
        return lines

    def line(self) -> str:
        return (f"{self.label:<9} client {len(self.client_messages)} messages {self.client_bytes:>5} bytes | "
                f"server {len(self.server_messages)} messages {self.server_bytes:>5} bytes | "
                f"{self.round_trips} round trip{'s' if self.round_trips != 1 else ''}")


def handshake_traffic(trace: HandshakeTrace) -> Traffic:
    """Count a captured handshake: each side's handshake messages, the bytes each side put on the
    wire before its first application data (record headers, encryption overhead and
    ChangeCipherSpec included), and the round trips the client waited for before its request.

    Capture with ``tickets=False``: TLS 1.3 session tickets come after the handshake and would be
    counted as server messages.
    """
    conversation = trace.conversation
    if not trace.result.ok:
        raise ProfileError(f"this handshake failed ({trace.failed_at or 'see trace.result'}); "
                           "count the traffic of a successful one")
    first_data: dict[str, int] = {}
    messages: dict[str, list[tuple[str, int]]] = {"client": [], "server": []}
    round_trips, previous = 0, "client"
    for message in conversation.messages:
        sender = message.sender
        is_data = isinstance(message.payload, ApplicationData) or (
            isinstance(message.payload, OpaqueRecord) and message.payload.content_type == 23)
        if is_data:
            first_data.setdefault(sender, message.record_offset)
        if sender in first_data:
            continue
        if "client" not in first_data and sender == "server" and previous == "client":
            round_trips += 1
        previous = sender
        if isinstance(message.payload, HandshakeMessage) or (
                isinstance(message.payload, OpaqueRecord) and message.payload.known_as == "Finished"):
            messages[sender].append((message.name, message.size))
    sizes = {sender: sum(record.size for record in read_records(trace.stream(sender), sender)
                         if record.offset < first_data.get(sender, float("inf")))
             for sender in ("client", "server")}
    version = trace.result.version.replace("TLSv", "")
    return Traffic(trace.result.mutual, version, tuple(messages["client"]), tuple(messages["server"]), sizes["client"], sizes["server"],
                   round_trips)


def compare_traffic(server: IssuedCertificate, client: IssuedCertificate, *, trust: Trust,
                    versions: Sequence[str] = ("1.3", "1.2")) -> list[Traffic]:
    """Capture the same connection as TLS and as mutual TLS in each version and count each one.

    For byte counts that are the same on every run, use Ed25519 certificates: ECDSA signatures
    vary in length by a byte or two from one handshake to the next.
    """
    return [handshake_traffic(capture_handshake(server, client if mutual else None, trust=trust, mutual=mutual,
                                                tls_version=version, tickets=False))
            for version in versions for mutual in (False, True)]


def plot_traffic(rows: Sequence[Traffic]):
    """Bytes each side sent during the handshake, one group of bars per row. Returns the ``Figure``."""
    if not rows:
        raise ProfileError("no traffic rows to plot: give the result of handshake_traffic() for each capture")
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.2))
    positions = range(len(rows))
    width = 0.38
    client = ax.barh([p - width / 2 for p in positions], [r.client_bytes for r in rows], width,
                     label="client sent", color="#d97706")
    server = ax.barh([p + width / 2 for p in positions], [r.server_bytes for r in rows], width,
                     label="server sent", color="#2563eb")
    for bars in (client, server):
        ax.bar_label(bars, padding=3, fontsize=8)
    ax.set_yticks(list(positions), [f"{r.label} ({r.round_trips} RTT)" for r in rows])
    ax.invert_yaxis()
    ax.set_xlabel("bytes on the wire before application data")
    ax.margins(x=0.15)
    ax.legend(loc="upper right")
    fig.tight_layout()
    plt.close(fig)
    return fig


# --------------------------------------------------------------------------------------------
# The cryptography a client certificate adds


@dataclass(frozen=True)
class SignatureCost:
    """Median time of one signature and one verification with a key type, in microseconds."""

    key_type: str
    sign_us: float
    verify_us: float

    def line(self) -> str:
        return (f"{_KEY_LABELS[self.key_type]:<12} sign {self.sign_us:7.1f} us   verify {self.verify_us:7.1f} us")


def signature_costs(key_types: Sequence[str] = ("ecdsa-p256", "rsa-2048", "ed25519"), *,
                    repeats: int = 200) -> list[SignatureCost]:
    """Time the two operations a client certificate adds to a handshake, with the signature
    schemes TLS 1.3 uses: the client signs the transcript hash (CertificateVerify) and the server
    verifies it; the server also verifies the CA's signature on the client certificate."""
    rows = []
    message = bytes(range(48))  # the size of a SHA-384 transcript hash, near enough to any
    for key_type in key_types:
        if key_type not in KEY_TYPES:
            raise ProfileError(f"unknown key type {key_type!r}; choose one of: {', '.join(KEY_TYPES)}")
        sign, verify = _signer(key_type)
        signature = sign(message)
        rows.append(SignatureCost(key_type, _median_us(lambda: sign(message), repeats),
                                  _median_us(lambda: verify(signature, message), repeats)))
    return rows


def _signer(key_type: str):
    if key_type.startswith("ecdsa"):
        key = ec.generate_private_key({"ecdsa-p256": ec.SECP256R1(), "ecdsa-p384": ec.SECP384R1()}[key_type])
        algorithm = ec.ECDSA(hashes.SHA256() if key_type == "ecdsa-p256" else hashes.SHA384())
        return (lambda m: key.sign(m, algorithm)), (lambda s, m: key.public_key().verify(s, m, algorithm))
    if key_type == "ed25519":
        key = ed25519.Ed25519PrivateKey.generate()
        return key.sign, key.public_key().verify
    key = rsa.generate_private_key(public_exponent=65537, key_size=int(key_type.split("-")[1]))
    pss = padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.DIGEST_LENGTH)  # TLS 1.3 allows RSA-PSS only
    return ((lambda m: key.sign(m, pss, hashes.SHA256())),
            (lambda s, m: key.public_key().verify(s, m, pss, hashes.SHA256())))


def _median_us(operation, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        operation()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e6


# --------------------------------------------------------------------------------------------
# A fleet of client certificates


@dataclass(frozen=True)
class IssuanceTiming:
    """How long a CA took to make ``count`` client certificates (fresh keys included)."""

    key_type: str
    count: int
    seconds: float

    @property
    def per_certificate_ms(self) -> float:
        return self.seconds / self.count * 1000

    @property
    def per_second(self) -> float:
        return self.count / self.seconds

    def line(self) -> str:
        return (f"{_KEY_LABELS[self.key_type]:<12} {self.count:>5} certificates in {self.seconds:.2f} s: "
                f"{self.per_certificate_ms:.2f} ms each, {self.per_second:,.0f} per second")


def time_issuance(count: int, key_type: str = "ecdsa-p256") -> IssuanceTiming:
    """Issue ``count`` client certificates, each with a new random key pair, from a new CA,
    as a fleet's CA would: one key pair generated and one certificate signed per device."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ProfileError(f"count must be a whole number of certificates >= 1, not {count!r}")
    ca = CertificateAuthority.create("Fleet CA", key_type=key_type)
    started = time.perf_counter()
    for device in range(count):
        ca.issue_client(f"device-{device:06d}@fleet.example.test")
    return IssuanceTiming(key_type, count, time.perf_counter() - started)


@dataclass(frozen=True)
class CrlSize:
    """A CRL's size when it lists ``revoked`` certificates."""

    revoked: int
    der_bytes: int
    pem_bytes: int

    def line(self) -> str:
        return f"{self.revoked:>5} revoked: {self.der_bytes:>7,} bytes (DER), {self.pem_bytes:>7,} bytes as PEM"


def crl_sizes(revoked_counts: Sequence[int] = (0, 1, 10, 100, 1000), *, seed: str | None = "crl sizes",
              key_type: str = "ecdsa-p256") -> list[CrlSize]:
    """Revoke more and more certificates of one CA and measure its CRL each time.

    Every server that checks revocation must download this file, and again whenever it changes.
    With a ``seed`` the sizes are the same on every run.
    """
    counts = sorted(revoked_counts)
    if not counts or counts[0] < 0:
        raise ProfileError(f"revoked_counts must be numbers of certificates >= 0, not {revoked_counts!r}")
    ca = CertificateAuthority.create("Fleet CA", seed=seed, key_type=key_type)
    rows = []
    for target in counts:
        while len(ca.revoked_serials) < target:
            ca.revoke(ca.issue_client(f"device-{len(ca.revoked_serials):06d}@fleet.example.test"))
        crl = ca.crl
        rows.append(CrlSize(target, len(crl.public_bytes(Encoding.DER)), len(crl.public_bytes(Encoding.PEM))))
    return rows


def crl_checking_context(server_certificate: IssuedCertificate, trust: CertificateAuthority, *,
                         crl: bytes | None, tls_version: str | None = "1.3") -> ssl.SSLContext:
    """A mutual-TLS server context that refuses revoked client certificates.

    ``crl`` is the CRL (PEM) the server holds: a snapshot, taken when the caller fetched it, e.g.
    ``ca.crl_pem``. With ``crl=None`` the server checks revocation but holds no CRL, and OpenSSL
    then refuses *every* client ("unable to get certificate CRL"): checking fails closed.

    ``VERIFY_CRL_CHECK_LEAF`` checks the client's own certificate, the one a fleet revokes; the
    CAs above it would need their issuers' CRLs too (``VERIFY_CRL_CHECK_CHAIN``).
    """
    ctx = server_context(server_certificate, trust=trust, mutual=True, tls_version=tls_version)
    ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    if crl is not None:
        if b"-----BEGIN X509 CRL-----" not in crl:
            raise ProfileError("crl must be a PEM CRL (ca.crl_pem), starting with -----BEGIN X509 CRL-----")
        # ssl reads CRLs only from files (cadata takes certificates only).
        with tempfile.TemporaryDirectory(prefix="mtlslib-") as directory:
            path = Path(directory) / "crl.pem"
            path.write_bytes(crl)
            ctx.load_verify_locations(cafile=str(path))
    return ctx


def issue_short_lived(ca: CertificateAuthority, identity: str, *, minutes: float = 5, age_minutes: float = 0,
                      key_type: str | None = None) -> IssuedCertificate:
    """A client certificate valid for ``minutes`` from the moment it was issued, ``age_minutes``
    ago (0: now). An ``age_minutes`` larger than ``minutes`` gives the certificate as it will be
    once expired, which lets a notebook show the expiry without waiting for it."""
    if not minutes > 0 or age_minutes < 0:
        raise ProfileError(f"minutes must be > 0 and age_minutes >= 0, not {minutes!r} and {age_minutes!r}")
    # One minute of grace before the start, for a verifier whose clock is a little behind the CA's.
    issued = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0) - _dt.timedelta(minutes=age_minutes)
    return ca.issue_client(identity, key_type=key_type,
                           validity=(issued - _dt.timedelta(minutes=1), issued + _dt.timedelta(minutes=minutes)))


@dataclass(frozen=True)
class Attempt:
    """One client's try at a server: accepted or not, and what each side reported."""

    client: str
    accepted: bool
    client_saw: str
    server_saw: str

    def line(self) -> str:
        verdict = "ACCEPTED" if self.accepted else "REFUSED "
        return f"{verdict} {self.client}\n    client saw: {self.client_saw}\n    server saw: {self.server_saw}"

    def __str__(self) -> str:
        return self.line()


def try_client(server_ctx: ssl.SSLContext, client: IssuedCertificate | None, trust: Trust, *,
               tls_version: str | None = "1.3", timeout: float = DEFAULT_TIMEOUT) -> Attempt:
    """Connect once to a server running ``server_ctx`` (on 127.0.0.1) with ``client``'s
    certificate, send one message, and report what each side saw."""
    client_ctx = client_context(trust, certificate=client, tls_version=tls_version)
    who = client.identities[0].split(":", 1)[1] if client is not None and client.identities else "no certificate"
    with LoopbackServer(server_ctx, timeout=timeout) as server:
        try:
            with connect(server.address, client_ctx, timeout=timeout) as connection:
                answer = connection.request(_MESSAGE)
            client_saw = answer.decode(errors="replace").strip() or "the server closed the connection"
            accepted = bool(answer)
        except (ssl.SSLError, OSError) as error:
            client_saw, accepted = error_text(error), False
    view = server.connections[0] if server.connections else None
    server_saw = (view.error or f"verified {view.peer_subject}") if view is not None else "no connection"
    return Attempt(who, accepted and view is not None and view.error is None, client_saw, server_saw)
