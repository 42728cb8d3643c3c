"""What mutual TLS costs in time: handshake latencies, signatures, and issuing certificates.

* :func:`handshake_latencies` times many real connections on 127.0.0.1 for each
  :class:`HandshakeConfig` (a :class:`ConnectionKind`, TLS or mutual TLS with TLS 1.2 or 1.3,
  and a key type), interleaved round by round so that whatever drifts during the run slows every
  configuration alike; :func:`summarize_latencies` and :func:`mtls_ratios` read them (across
  real round trips: :mod:`.network`).
* :func:`signature_costs` times the signature and the verification that a client certificate adds.
* :func:`time_issuance` times a CA issuing a fleet's certificates.

Every result is a small frozen dataclass whose ``str()`` is one readable line. Timings vary from
machine to machine and run to run; compare them as ratios.
"""

from __future__ import annotations

import gc
import socket
import ssl
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Callable, Iterable, Sequence

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding

from mtlslib.display import Shown
from mtlslib.errors import UsageError
from mtlslib.pki import KEY_TYPES, CertificateAuthority, IssuedCertificate, new_private_key
from mtlslib.tls import (
    DEFAULT_TIMEOUT,
    AcceptLoop,
    TrackedConnection,
    client_context,
    no_delay,
    server_context,
    tls_version_name,
)

__all__ = ["ConnectionKind", "DEFAULT_CONFIGS", "group_by_config", "handshake_latencies", "HandshakeConfig",
           "IssuanceTiming", "LatencySample", "LatencySummary", "mtls_ratios", "MtlsRatio", "median_us",
           "signature_costs", "SignatureCost", "summarize_latencies", "time_issuance"]

_KEY_LABELS = {"ecdsa-p256": "ECDSA P-256", "ecdsa-p384": "ECDSA P-384", "rsa-2048": "RSA-2048",
               "rsa-3072": "RSA-3072", "ed25519": "Ed25519"}
_MESSAGE = b"hello\n"


# --------------------------------------------------------------------------------------------
# Handshake latency


@dataclass(frozen=True)
class ConnectionKind:
    """What every measured configuration states: TLS or mutual TLS, and a TLS version.

    ``tls_version`` takes any spelling :func:`~mtlslib.tls.tls_version_name` accepts and keeps
    its short name, so that ``"TLSv1.2"`` and ``"1.2"`` make equal configurations (they are
    dictionary keys) and labels.
    """

    mutual: bool
    tls_version: str = "1.3"

    def __post_init__(self) -> None:
        object.__setattr__(self, "tls_version", tls_version_name(self.tls_version))  # frozen: set once, here


@dataclass(frozen=True)
class HandshakeConfig(ConnectionKind):
    """One way of connecting: TLS or mutual TLS, a TLS version, the key type of every certificate."""

    key_type: str = "ecdsa-p256"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.key_type not in KEY_TYPES:
            raise UsageError(f"unknown key type {self.key_type!r}; choose one of: {', '.join(KEY_TYPES)}")

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


def handshake_latencies(configs: Sequence[HandshakeConfig] = DEFAULT_CONFIGS, *, count: int = 200,
                        warmup: int = 3, timeout: float = DEFAULT_TIMEOUT) -> list[LatencySample]:
    """Time ``count`` new connections per configuration against servers started once.

    One CA per key type (fresh random keys), one server per configuration; the configurations
    take turns within every round, in an order that rotates from round to round, so that a burst of
    background load or a change of CPU frequency hits them all. Returns one row per connection.
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise UsageError(f"count must be a whole number of connections >= 1, not {count!r}")
    if not configs:
        raise UsageError("configs is empty: give at least one HandshakeConfig")
    key_types = list(dict.fromkeys(c.key_type for c in configs))
    # Made side by side: finding RSA primes, the slow part, runs outside the GIL.
    with ThreadPoolExecutor(max_workers=len(key_types), thread_name_prefix="mtlslib-timing-pki") as pool:
        pki = dict(zip(key_types, pool.map(_timing_pki, key_types)))
    servers: list[AcceptLoop] = []
    samples: list[LatencySample] = []
    try:
        targets = []
        for config in configs:
            ca, server_cert, client_cert = pki[config.key_type]
            server_ctx = server_context(server_cert, trust=ca, mutual=config.mutual, tls_version=config.tls_version)
            servers.append(AcceptLoop(partial(_answer_once, server_ctx, timeout), name="mtlslib-timing").start())
            targets.append((config, servers[-1].address,
                            client_context(ca, certificate=client_cert if config.mutual else None,
                                           tls_version=config.tls_version)))
        for _ in range(warmup):
            for _config, address, client_ctx in targets:
                _one_connection(address, client_ctx, timeout)
        # Freeze what is alive now: a collection that runs while timing then skips it instead of walking
        # the notebook's whole heap, which takes long enough to spoil a sample (and collecting it all
        # first would cost more than freezing, which costs nothing).
        thaw = gc.get_freeze_count() == 0
        gc.freeze()
        try:
            for round_ in range(count):
                shift = round_ % len(targets)
                for config, address, client_ctx in targets[shift:] + targets[:shift]:
                    samples.append(LatencySample(config, round_, _one_connection(address, client_ctx, timeout)))
        finally:
            if thaw:
                gc.unfreeze()
    finally:
        for server in servers:
            server.stop()
    order = {config: i for i, config in enumerate(configs)}
    return sorted(samples, key=lambda s: (order[s.config], s.round))


def _timing_pki(key_type: str) -> tuple[CertificateAuthority, IssuedCertificate, IssuedCertificate]:
    ca = CertificateAuthority.create(f"Timing CA {_KEY_LABELS[key_type]}", key_type=key_type)
    return ca, ca.issue_server("localhost"), ca.issue_client("alice@example.test")


def _answer_once(context: ssl.SSLContext, timeout: float, conn: socket.socket, _client_address,
                 tracked: TrackedConnection) -> None:
    """The least a TLS server can do, so that the timings are about TLS: handshake, read one
    message, answer, close (no certificate parsing, no close_notify exchange)."""
    conn.settimeout(timeout)
    no_delay(conn)
    try:
        with context.wrap_socket(conn, server_side=True, do_handshake_on_connect=False) as tls:
            tracked.track(tls)
            tls.do_handshake()
            if tls.recv(4096):
                tls.sendall(_MESSAGE)
    except OSError:  # the client, which times the connection, reports the failure
        conn.close()


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
class LatencySummary(Shown):
    """The distribution of one configuration's latencies, in milliseconds."""

    config: HandshakeConfig
    count: int
    median_ms: float
    p10_ms: float
    p90_ms: float

    def __str__(self) -> str:
        return (f"{self.config.label:<24} median {self.median_ms:.3f} ms  "
                f"(10% under {self.p10_ms:.3f} ms, 90% under {self.p90_ms:.3f} ms; {self.count} connections)")


def summarize_latencies(samples: Iterable[LatencySample]) -> list[LatencySummary]:
    """One row per configuration, in the order the samples first name them."""
    groups = group_by_config(samples)
    rows = []
    for config, seconds in groups.items():
        ms = sorted(s * 1000 for s in seconds)
        deciles = statistics.quantiles(ms, n=10) if len(ms) > 1 else [ms[0]] * 9
        rows.append(LatencySummary(config, len(ms), statistics.median(ms), deciles[0], deciles[-1]))
    return rows


def group_by_config(samples: Iterable[LatencySample]) -> dict[HandshakeConfig, list[float]]:
    """The samples' seconds, by configuration, in the order the samples first name them."""
    groups: dict[HandshakeConfig, list[float]] = {}
    for sample in samples:
        groups.setdefault(sample.config, []).append(sample.seconds)
    if not groups:
        raise UsageError("no latency samples: run handshake_latencies() first")
    return groups


@dataclass(frozen=True)
class MtlsRatio(Shown):
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

    def __str__(self) -> str:
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


# --------------------------------------------------------------------------------------------
# The cryptography a client certificate adds


@dataclass(frozen=True)
class SignatureCost(Shown):
    """Median time of one signature and one verification with a key type, in microseconds, over
    ``repeats`` runs of each."""

    key_type: str
    sign_us: float
    verify_us: float
    repeats: int

    def __str__(self) -> str:
        return (f"{_KEY_LABELS[self.key_type]:<12} sign {self.sign_us:7.1f} us   verify {self.verify_us:7.1f} us"
                f"   (medians of {self.repeats} runs)")


def signature_costs(key_types: Sequence[str] = ("ecdsa-p256", "rsa-2048", "ed25519"), *,
                    repeats: int = 200) -> list[SignatureCost]:
    """Time the two operations a client certificate adds to a handshake, with the signature
    schemes TLS 1.3 uses: the client signs the transcript hash (CertificateVerify) and the server
    verifies it; the server also verifies the CA's signature on the client certificate."""
    rows = []
    message = bytes(range(48))  # the size of a SHA-384 transcript hash, near enough to any
    for key_type in key_types:
        if key_type not in KEY_TYPES:
            raise UsageError(f"unknown key type {key_type!r}; choose one of: {', '.join(KEY_TYPES)}")
        sign, verify = _signer(key_type)
        signature = sign(message)
        rows.append(SignatureCost(key_type, median_us(lambda: sign(message), repeats),
                                  median_us(lambda: verify(signature, message), repeats), repeats))
    return rows


def _signer(key_type: str):
    key = new_private_key(key_type, None)
    if key_type.startswith("ecdsa"):
        algorithm = ec.ECDSA(hashes.SHA256() if key_type == "ecdsa-p256" else hashes.SHA384())
        return (lambda m: key.sign(m, algorithm)), (lambda s, m: key.public_key().verify(s, m, algorithm))
    if key_type == "ed25519":
        return key.sign, key.public_key().verify
    pss = padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.DIGEST_LENGTH)  # TLS 1.3 allows RSA-PSS only
    return ((lambda m: key.sign(m, pss, hashes.SHA256())),
            (lambda s, m: key.public_key().verify(s, m, pss, hashes.SHA256())))


def median_us(operation: Callable[[], object], repeats: int) -> float:
    """The median time of ``operation()`` over ``repeats`` runs, in microseconds."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        operation()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e6


# --------------------------------------------------------------------------------------------
# A fleet of client certificates


@dataclass(frozen=True)
class IssuanceTiming(Shown):
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

    def __str__(self) -> str:
        return (f"{_KEY_LABELS[self.key_type]:<12} {self.count:>5} certificates in {self.seconds:.2f} s: "
                f"{self.per_certificate_ms:.2f} ms each, {self.per_second:,.0f} per second")


def time_issuance(count: int, key_type: str = "ecdsa-p256") -> IssuanceTiming:
    """Issue ``count`` client certificates, each with a new random key pair, from a new CA,
    as a fleet's CA would: one key pair generated and one certificate signed per device."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise UsageError(f"count must be a whole number of certificates >= 1, not {count!r}")
    ca = CertificateAuthority.create("Fleet CA", key_type=key_type)
    started = time.perf_counter()
    for device in range(count):
        ca.issue_client(f"device-{device:06d}@fleet.example.test")
    return IssuanceTiming(key_type, count, time.perf_counter() - started)


