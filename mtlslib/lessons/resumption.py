"""Chapter 11's stories: connections that come back with a ticket, 0-RTT on RFC 8448's trace,
a HelloRetryRequest and a certificate asked for after the handshake.

:func:`connect_in_memory` runs a real OpenSSL connection between two contexts over memory
buffers: no socket and no thread, each flight moved by hand, so the order of the bytes is the
same on every run and a test can stop between two steps. Resumption needs exactly that: the same
two contexts again (the server's context holds the key that encrypts its tickets; Python refuses a
session on another client context) and the session the client kept.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from mtlslib.pki import SslFiles
from mtlslib.tls import error_text
from mtlslib.wire import Conversation, decode_conversation, parse_handshake, read_records
from mtlslib.wire.keyschedule import TLS13_SUITES
from mtlslib.wire.resumption import KeySchedule, key_schedule

from .measure.timing import median_us
from .rfc8448 import RECORDS, value

__all__ = ["Exchange", "MemoryPair", "connect_in_memory", "median_handshake_ms", "rfc8448_resumed"]


@dataclass
class Exchange:
    """One connection: the bytes both ways in wire order, the key log, and what each side reported."""

    chunks: list[tuple[str, bytes]]
    keylog: str
    session: ssl.SSLSession | None  # the client's session after the connection: what it resumes with
    resumed: bool  # the server accepted the ticket: no certificate was sent or checked
    peer_before: dict | None  # the server's getpeercert() at the end of the handshake
    peer_after: dict | None  # ... and at the end of the connection (after post-handshake auth, if asked)
    error: str | None = None  # the OpenSSL error that ended the handshake, if one did

    @cached_property
    def conversation(self) -> Conversation:
        return decode_conversation(self.chunks, self.keylog)


class MemoryPair:
    """A client and a server SSLObject joined by memory buffers; every byte moved is recorded in
    ``chunks`` as (sender, bytes), in wire order."""

    def __init__(self, server_ctx, client_ctx, session, server_hostname):
        self.chunks: list[tuple[str, bytes]] = []
        self._to_server, self._from_client = ssl.MemoryBIO(), ssl.MemoryBIO()
        self._to_client, self._from_server = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.client = client_ctx.wrap_bio(self._to_client, self._from_client, server_hostname=server_hostname,
                                          session=session)
        self.server = server_ctx.wrap_bio(self._to_server, self._from_server, server_side=True)

    def move(self) -> None:
        for sender, source, target in (("client", self._from_client, self._to_server),
                                       ("server", self._from_server, self._to_client)):
            data = source.read()
            if data:
                self.chunks.append((sender, data))
                target.write(data)

    def run(self, operation) -> bool:
        """``operation``, then move what it wrote; False when it waits for bytes not yet arrived."""
        try:
            operation()
            return True
        except ssl.SSLWantReadError:
            return False
        finally:
            self.move()

    def handshake(self) -> None:
        client_done = server_done = False
        for _ in range(6):  # a handshake with a HelloRetryRequest takes three turns each
            client_done = client_done or self.run(self.client.do_handshake)
            server_done = server_done or self.run(self.server.do_handshake)
            if client_done and server_done:
                return
        raise ssl.SSLError("the in-memory handshake did not finish")  # pragma: no cover


def connect_in_memory(server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext, *,
                      session: ssl.SSLSession | None = None, ask_certificate_after: bool = False,
                      server_hostname: str = "localhost") -> Exchange:
    """One connection between two contexts over memory buffers: the handshake, one request and one
    reply, each side's OpenSSL doing all the work. ``session``: resume the client's earlier session.
    ``ask_certificate_after``: the server asks for the client's certificate after the handshake
    (TLS 1.3 post-handshake authentication; both contexts need ``post_handshake_auth = True``)."""
    error, peer_before = None, None
    with SslFiles(keylog=b"") as paths:
        client_ctx.keylog_filename = paths["keylog"]
        try:
            pair = MemoryPair(server_ctx, client_ctx, session, server_hostname)
            pair.handshake()
            peer_before = pair.server.getpeercert()
            pair.run(lambda: pair.client.write(b"GET /\n"))
            pair.run(lambda: pair.server.read(100))
            if ask_certificate_after:
                pair.server.verify_client_post_handshake()  # sent with the server's next record
            pair.run(lambda: pair.server.write(b"200 OK\n"))
            pair.run(lambda: pair.client.read(100))  # the client answers a CertificateRequest here
            pair.run(lambda: pair.server.read(100))  # and the server checks that answer here
        except ssl.SSLError as failure:
            error = error_text(failure)
        finally:
            client_ctx.keylog_filename = None
            keylog = Path(paths["keylog"]).read_text()
    done = error is None
    return Exchange(pair.chunks, keylog, pair.client.session if done else None, pair.server.session_reused,
                    peer_before or None, (pair.server.getpeercert() if done else None) or None, error)


def median_handshake_ms(server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext, *, resume: bool,
                        rounds: int = 60) -> float:
    """The median time, in milliseconds, of one handshake between the two contexts over memory
    buffers (both sides' work, no network), full or resumed from one session kept from the start."""
    session = connect_in_memory(server_ctx, client_ctx).session if resume else None

    def handshake() -> None:
        pair = MemoryPair(server_ctx, client_ctx, session, "localhost")
        pair.handshake()
        if resume and not pair.server.session_reused:
            raise ssl.SSLError("the server did not resume the session")  # pragma: no cover

    return median_us(handshake, rounds) / 1000


@dataclass(frozen=True)
class PublishedTrace:
    """RFC 8448's resumed 0-RTT handshake, decoded with the secrets recomputed from its inputs."""

    chunks: list[tuple[str, bytes]]
    schedule: KeySchedule
    conversation: Conversation


def rfc8448_resumed() -> PublishedTrace:
    """Section 4 of RFC 8448, decrypted: the key schedule is recomputed from the PSK and the X25519
    exchange (the RFC's private keys), then every record is opened with it."""
    suite = TLS13_SUITES[0x1301]  # TLS_AES_128_GCM_SHA256, the suite of the RFC's ticket
    chunks = [(sender, bytes.fromhex(record)) for sender, record in RECORDS]
    client_hello, server_hello = (parse_handshake(read_records(chunks[i][1])[0].fragment, tls13=True) for i in (0, 2))
    shared = X25519PrivateKey.from_private_bytes(value("client_private_key")).exchange(
        X25519PublicKey.from_public_bytes(server_hello.key_share[1]))
    # Two passes: the handshake secrets open the encrypted handshake, whose messages the later secrets cover.
    first = key_schedule(value("psk"), shared, [client_hello.raw, server_hello.raw], suite)
    messages = [m.raw for m in decode_conversation(chunks, first.keylog(client_hello.random)).handshake_messages()]
    schedule = key_schedule(value("psk"), shared, messages, suite)
    return PublishedTrace(chunks, schedule, decode_conversation(chunks, schedule.keylog(client_hello.random)))
