"""What mutual TLS costs on the wire: handshake messages, bytes and round trips, and CRL sizes.

* :func:`handshake_traffic` counts, from a :func:`~mtlslib.tls.capture_handshake` trace, the
  messages and bytes each side sent before any application data, the flights up to the client's
  request and the round trips the client waited for; :func:`compare_traffic` does it for TLS and
  mutual TLS in each version.
* :func:`crl_sizes` measures the CRL every revocation-checking server must download.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from cryptography.hazmat.primitives.serialization import Encoding

from mtlslib.display import Shown
from mtlslib.errors import UsageError
from mtlslib.pki import CertificateAuthority, IssuedCertificate, Trust
from mtlslib.tls import HandshakeTrace, capture_handshake
from mtlslib.wire import read_records
from mtlslib.wire.conversation import ApplicationData, OpaqueRecord
from mtlslib.wire.messages import HandshakeMessage

__all__ = ["compare_traffic", "crl_sizes", "CrlSize", "handshake_traffic", "Traffic", "TrafficChange"]


@dataclass(frozen=True)
class Traffic(Shown):
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
    flights: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """(sender, names of what it sent in a row, ChangeCipherSpec included) for each flight up to the
    client's first application data: a flight ends when the other side speaks."""

    @property
    def label(self) -> str:
        return f"{'mTLS' if self.mutual else 'TLS'} {self.tls_version}"

    def messages(self, sender: str) -> tuple[str, ...]:
        """The names of the handshake messages ``sender`` ("client" or "server") sent."""
        return tuple(name for name, _ in (self.client_messages if sender == "client" else self.server_messages))

    def changes_from(self, other: "Traffic") -> list[TrafficChange]:
        """What this handshake sends that ``other`` does not: new messages, and messages that grew
        or shrank, each printing as one line (``sender message +bytes``)."""
        changes = []
        for sender in ("client", "server"):
            theirs = dict(other.client_messages if sender == "client" else other.server_messages)
            for name, size in (self.client_messages if sender == "client" else self.server_messages):
                if name not in theirs:
                    changes.append(TrafficChange(sender, name, size, None))
                elif theirs[name] != size:
                    changes.append(TrafficChange(sender, name, size, theirs[name]))
        return changes

    def __str__(self) -> str:
        return (f"{self.label:<9} client {len(self.client_messages)} messages {self.client_bytes:>5} bytes | "
                f"server {len(self.server_messages)} messages {self.server_bytes:>5} bytes | "
                f"{self.round_trips} round trip{'s' if self.round_trips != 1 else ''}")


@dataclass(frozen=True)
class TrafficChange(Shown):
    """A handshake message that one handshake sends and another does not, or sends at another size."""

    sender: str
    message: str
    size: int
    """Its size in bytes in this handshake."""
    was: int | None
    """Its size in the other handshake; None if the other did not send it."""

    @property
    def added_bytes(self) -> int:
        return self.size - (self.was or 0)

    def __str__(self) -> str:
        note = "(a new message)" if self.was is None else f"(was {self.was} B)"
        return f"{self.sender:<6} {self.message:<18} {self.added_bytes:>+5} B  {note}"


def handshake_traffic(trace: HandshakeTrace) -> Traffic:
    """Count a captured handshake: each side's handshake messages, the bytes each side put on the
    wire before its first application data (record headers, encryption overhead and
    ChangeCipherSpec included), and the round trips the client waited for before its request.

    Capture with ``tickets=False``: TLS 1.3 session tickets come after the handshake and would be
    counted as server messages.
    """
    conversation = trace.conversation
    if not trace.result.ok:
        raise UsageError(f"this handshake failed ({trace.failed_at or 'see trace.result'}); "
                         "count the traffic of a successful one")
    first_data: dict[str, int] = {}
    messages: dict[str, list[tuple[str, int]]] = {"client": [], "server": []}
    flights: list[tuple[str, list[str]]] = []
    round_trips, previous = 0, "client"
    for message in conversation.messages:
        sender = message.sender
        is_data = isinstance(message.payload, ApplicationData) or (
            isinstance(message.payload, OpaqueRecord) and message.payload.content_type == 23)
        if is_data:
            first_data.setdefault(sender, message.record_offset)
        elif "client" not in first_data:
            if flights and flights[-1][0] == sender:
                flights[-1][1].append(message.name)
            else:
                flights.append((sender, [message.name]))
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
    version = trace.result.tls_version
    return Traffic(trace.result.mutual, version, tuple(messages["client"]), tuple(messages["server"]),
                   sizes["client"], sizes["server"], round_trips,
                   tuple((sender, tuple(names)) for sender, names in flights))


def compare_traffic(server: IssuedCertificate, client: IssuedCertificate, *, trust: Trust,
                    versions: Sequence[str] = ("1.3", "1.2")) -> list[Traffic]:
    """Capture the same connection as TLS and as mutual TLS in each version and count each one.

    For byte counts that are the same on every run, use Ed25519 certificates: ECDSA signatures
    vary in length by a byte or two from one handshake to the next.
    """
    return [handshake_traffic(capture_handshake(server, client if mutual else None, trust=trust, mutual=mutual,
                                                tls_version=version, tickets=False))
            for version in versions for mutual in (False, True)]


@dataclass(frozen=True)
class CrlSize(Shown):
    """A CRL's size when it lists ``revoked`` certificates."""

    revoked: int
    der_bytes: int
    pem_bytes: int

    def __str__(self) -> str:
        return f"{self.revoked:>5} revoked: {self.der_bytes:>7,} bytes (DER), {self.pem_bytes:>7,} bytes as PEM"


def crl_sizes(revoked_counts: Sequence[int] = (0, 1, 10, 100, 1000), *, seed: str | None = "crl sizes",
              key_type: str = "ecdsa-p256") -> list[CrlSize]:
    """Revoke more and more certificates of one CA and measure its CRL each time.

    Every server that checks revocation must download this file, and again whenever it changes.
    With a ``seed`` the sizes are the same on every run.
    """
    counts = sorted(revoked_counts)
    if not counts or counts[0] < 0:
        raise UsageError(f"revoked_counts must be numbers of certificates >= 0, not {revoked_counts!r}")
    ca = CertificateAuthority.create("Fleet CA", seed=seed, key_type=key_type)
    rows = []
    for target in counts:
        while len(ca.revoked_serials) < target:
            ca.revoke(ca.issue_client(f"device-{len(ca.revoked_serials):06d}@fleet.example.test"))
        crl = ca.crl
        rows.append(CrlSize(target, len(crl.public_bytes(Encoding.DER)), len(crl.public_bytes(Encoding.PEM))))
    return rows


