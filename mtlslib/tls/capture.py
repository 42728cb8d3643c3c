"""Watch a real handshake: every byte both ways, OpenSSL's own view of each message, the key log.

:func:`capture_handshake` runs one TLS handshake on 127.0.0.1 (server in a thread, client in the
calling thread) and one application round trip, and records

* the raw bytes of both directions, chunk by chunk, in the order they crossed the wire (the client
  drives its TLS engine through memory buffers and moves every byte over the TCP socket itself);
* each side's handshake messages, alerts and ChangeCipherSpecs as OpenSSL reported them (through
  CPython's message callback: plaintext, even for TLS 1.3's encrypted messages);
* the key log (the NSS format that Wireshark reads), so that :mod:`mtlslib.wire` can decrypt.

Nothing is left on disk: the key log goes through a private temporary file that is read back and
deleted before the function returns.
"""

from __future__ import annotations

import ssl
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from mtlslib.display import Shown
from mtlslib.errors import HandshakeTimeout
from mtlslib.pki import IssuedCertificate, SslFiles, Trust, write_private_file
from mtlslib.wire import Conversation, decode_conversation, negotiated_group
from mtlslib.wire.constants import ALERT_DESCRIPTIONS, HANDSHAKE_TYPES, name_of
from mtlslib.wire.pcapng import TcpEndpoints, pcapng_bytes

from .contexts import TlsVersion
from .handshake import ConnectionSpec, ContextCache, negotiated_version, serve_once
from .net import DEFAULT_TIMEOUT, dial, listen
from .observe import ALERT, CHANGE_CIPHER_SPEC, HANDSHAKE, RECORD_HEADER, MessageTap, fatal_alert
from .results import HandshakeResult, PeerView, peer_certificate, peer_view

__all__ = ["capture_handshake", "HandshakeTrace", "OpenSSLEvent"]


@dataclass(frozen=True)
class OpenSSLEvent(Shown):
    """One message as OpenSSL reported it to one side: sent or received, decrypted."""

    side: str  # "client" or "server": whose OpenSSL reported it
    direction: str  # "sent" or "received"
    content_type: int
    data: bytes  # the whole handshake message (header included), the 2 alert bytes, or b"\x01"

    @property
    def name(self) -> str:
        if self.content_type == HANDSHAKE:
            return name_of(HANDSHAKE_TYPES, self.data[0], 2)
        if self.content_type == ALERT:
            return "Alert"
        return "ChangeCipherSpec"

    def __str__(self) -> str:
        detail = f" ({ALERT_DESCRIPTIONS.get(self.data[1], self.data[1])})" if self.content_type == ALERT else ""
        return f"{self.side} {self.direction:<8} {self.name}{detail}"


class _Recorder:
    """Collects OpenSSL's message callbacks for the one connection made on a context."""

    def __init__(self, ctx: ssl.SSLContext, side: str):
        self.side = side
        self.events: list[OpenSSLEvent] = []
        self._tap = MessageTap(ctx, self._callback)

    def detach(self) -> None:
        self._tap.detach()

    def _callback(self, conn, direction, version, content_type, msg_type, data) -> None:
        sent = "sent" if direction == "write" else "received"
        if content_type == RECORD_HEADER and data[:1] == bytes([CHANGE_CIPHER_SPEC]) and direction == "read":
            # OpenSSL reports a received ChangeCipherSpec only through its record header.
            self.events.append(OpenSSLEvent(self.side, sent, CHANGE_CIPHER_SPEC, b"\x01"))
        elif content_type in (HANDSHAKE, ALERT, CHANGE_CIPHER_SPEC) and content_type != RECORD_HEADER:
            if content_type == CHANGE_CIPHER_SPEC and direction == "read":
                return
            self.events.append(OpenSSLEvent(self.side, sent, int(content_type), bytes(data)))


@dataclass
class HandshakeTrace:
    """Everything recorded from one connection. ``decode()`` turns the bytes into messages."""

    result: HandshakeResult
    chunks: list[tuple[str, bytes]]  # (sender, bytes) in wire order
    keylog: str
    client_events: list[OpenSSLEvent]
    server_events: list[OpenSSLEvent]
    tls_version_requested: str | None = None
    certificates: dict[str, IssuedCertificate | None] = field(default_factory=dict)
    trust: dict[str, Trust | None] = field(default_factory=dict)  # each side's trust store
    chunk_times: list[float] = field(default_factory=list)  # when each chunk crossed (time.time()), if recorded
    ports: tuple[int, int] | None = None  # (client, server) on 127.0.0.1, if recorded

    def stream(self, sender: str) -> bytes:
        """All bytes one side sent, concatenated."""
        return b"".join(chunk for who, chunk in self.chunks if who == sender)

    @cached_property
    def conversation(self) -> Conversation:
        """The capture decoded (and, for TLS 1.3, decrypted and checked) by :mod:`mtlslib.wire`."""
        return decode_conversation(self.chunks, self.keylog)

    def decode(self, *, decrypt: bool = True) -> Conversation:
        return self.conversation if decrypt else decode_conversation(self.chunks, None)

    def pcapng(self) -> bytes:
        """The connection as a pcapng file (bytes) that Wireshark opens and decrypts on its own: IPv4/TCP
        packets around the captured bytes, with the real ports and timing when they were recorded, and
        the key log embedded (see :mod:`mtlslib.wire.pcapng`)."""
        endpoints = TcpEndpoints(*self.ports) if self.ports else TcpEndpoints()
        times = self.chunk_times if len(self.chunk_times) == len(self.chunks) else None
        return pcapng_bytes(self.chunks, keylog=self.keylog, times=times, start=time.time(), endpoints=endpoints)

    def write_pcapng(self, path: str | Path) -> Path:
        """Write :meth:`pcapng` to ``path`` (atomically; readable by its owner only: it holds the session keys)."""
        return write_private_file(Path(path), self.pcapng())

    def openssl_view(self, side: str) -> list[OpenSSLEvent]:
        return self.client_events if side == "client" else self.server_events

    @property
    def failed_at(self) -> str | None:
        """The first fatal alert, as "<side> sent <description>", or None if none was sent."""
        for event in sorted(self.client_events + self.server_events, key=lambda e: e.direction != "sent"):
            if event.content_type == ALERT and event.direction == "sent" and event.data[0] == 2:
                return f"{event.side} sent {ALERT_DESCRIPTIONS.get(event.data[1], event.data[1])}"
        return None


def capture_handshake(server: IssuedCertificate | ConnectionSpec, client: IssuedCertificate | None = None, *,
                      trust: Trust | None = None, server_trust: Trust | None = None,
                      client_trust: Trust | None = None, mutual: bool | None = None,
                      tls_version: TlsVersion | None = "1.3", server_hostname: str = "localhost",
                      timeout: float = DEFAULT_TIMEOUT, check_purpose: bool = True,
                      openssl_defaults: bool = False, tickets: bool = True) -> HandshakeTrace:
    """Run one real handshake on 127.0.0.1 and record it (the same connection as
    :func:`~mtlslib.tls.handshake` makes: the fields of :class:`~mtlslib.tls.ConnectionSpec`, or one spec).

    ``tickets=False`` stops the TLS 1.3 server from sending session tickets after the handshake,
    which shortens the trace when they are not the subject.
    """
    spec = server if isinstance(server, ConnectionSpec) else ConnectionSpec(
        server, client, trust, server_trust, client_trust, mutual, tls_version, server_hostname, timeout,
        check_purpose, openssl_defaults)
    spec = spec.resolved()
    server_ctx, server_lock = _CONTEXTS.get(spec, "server", variant=tickets, adjust=None if tickets else _no_tickets)
    client_ctx, client_lock = _CONTEXTS.get(spec, "client")
    # One capture at a time on a context: while it runs, the message callbacks and the key log are its own.
    with server_lock, client_lock, ExitStack() as attached:
        server_recorder = _Recorder(server_ctx, "server")
        attached.callback(server_recorder.detach)
        client_recorder = _Recorder(client_ctx, "client")
        attached.callback(client_recorder.detach)
        try:
            client_view, version, cipher, duration, ports, server_side, chunks, chunk_times, keylog = _connect(
                spec, server_ctx, client_ctx)
        except HandshakeTimeout:  # a server thread may still run on this context: it must serve no other capture
            _CONTEXTS.discard(server_ctx)
            raise

    server_view = _with_alerts(server_side["view"], server_recorder.events)
    client_view = _with_alerts(client_view, client_recorder.events)
    ok = client_view.error is None and server_view.error is None and server_view.handshake_done
    # The key-exchange group: from the ServerHello (TLS 1.3) or ServerKeyExchange (TLS 1.2) the client received.
    group = negotiated_group(*(e.data for e in client_recorder.events
                               if e.content_type == HANDSHAKE and e.direction == "received"))
    result = HandshakeResult(ok, version, cipher, group, client_view, server_view, duration, spec.mutual)
    return HandshakeTrace(result, chunks, keylog, client_recorder.events, server_recorder.events,
                          spec.tls_version,
                          {"server": spec.server, "client": spec.client},
                          {"client": spec.client_trust, "server": spec.server_trust},
                          chunk_times, ports)


def _connect(spec: ConnectionSpec, server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext):
    """One connection between the contexts, recorded: the client's view and what it negotiated, the
    ports, the server's view, the chunks and their times, and the key log."""
    server_side: dict[str, PeerView] = {}
    chunks: list[tuple[str, bytes]] = []
    chunk_times: list[float] = []
    timeout = spec.timeout
    with SslFiles(keylog=b"") as paths:
        keylog_path = Path(paths["keylog"])
        client_ctx.keylog_filename = str(keylog_path)  # one side only, or every line appears twice
        try:
            with listen("127.0.0.1", 0, backlog=1) as listener:
                listener.settimeout(timeout)
                thread = threading.Thread(target=serve_once,
                                          args=(listener, server_ctx, None, timeout, server_side),
                                          name="mtlslib-capture-server", daemon=True)
                thread.start()
                try:
                    server_port = listener.getsockname()[1]
                    client_view, version, cipher, duration, client_port = _client(
                        listener.getsockname(), client_ctx, spec.server_hostname, timeout, chunks, chunk_times)
                finally:
                    thread.join(timeout * 2 + 1)
            if thread.is_alive():  # pragma: no cover - every server step has its own timeout
                raise HandshakeTimeout(f"the capture server thread did not finish within {timeout * 2 + 1:.0f} s")
            keylog = keylog_path.read_text()
        finally:
            client_ctx.keylog_filename = None  # closes ssl's handle on the file
    ports = (client_port, server_port) if client_port else None
    return client_view, version, cipher, duration, ports, server_side, chunks, chunk_times, keylog


def _no_tickets(ctx: ssl.SSLContext) -> None:
    ctx.num_tickets = 0


# capture_handshake()'s contexts, each with the lock that gives it to one capture at a time.
_CONTEXTS: ContextCache[threading.Lock] = ContextCache(lambda _ctx: threading.Lock())


def _with_alerts(view: PeerView, events: list[OpenSSLEvent]) -> PeerView:
    def first(direction):
        return next((fatal_alert(e.data) for e in events
                     if e.content_type == ALERT and e.direction == direction and fatal_alert(e.data)), None)

    return PeerView(view.role, view.handshake_done, view.peer_subject, view.peer_names, view.error,
                    first("sent"), first("received"))


def _goodbye(drive, tls: ssl.SSLObject) -> None:
    """close_notify both ways, as TLS asks: wait for the server's, then answer with ours, so that
    their order in the capture is the same on every run."""
    try:
        while drive(lambda: tls.read(4096)):  # b"" (or SSLZeroReturnError): the server's close_notify
            pass
    except ssl.SSLZeroReturnError:
        pass
    except (OSError, ssl.SSLError):
        return  # the server hung up without one: nothing left to say
    try:
        drive(tls.unwrap)
    except (OSError, ssl.SSLError):
        pass


def _client(address, ctx, server_hostname, timeout, chunks, chunk_times):
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing, server_hostname=server_hostname)
    peer, error, version, cipher, duration, port = None, None, None, None, 0.0, None
    # No Nagle delay: the client writes its Finished and then its request as separate small writes, and
    # the second would wait for the server's delayed ACK (some 40 ms on Linux).
    sock = dial(address[0], timeout)

    def flush():
        data = outgoing.read()
        if data:
            chunks.append(("client", data))
            chunk_times.append(time.time())
            sock.sendall(data)

    def drive(operation):
        while True:
            try:
                value = operation()
                flush()
                return value
            except ssl.SSLWantReadError:
                flush()
                data = sock.recv(65536)
                if not data:
                    raise ConnectionResetError("the server closed the connection")
                chunks.append(("server", data))
                chunk_times.append(time.time())
                incoming.write(data)
            except ssl.SSLError:
                flush()  # the alert OpenSSL queued before failing is part of the capture
                raise

    try:
        started = time.perf_counter()
        sock.connect(address)
        port = sock.getsockname()[1]
        drive(tls.do_handshake)
        duration = time.perf_counter() - started
        peer = peer_certificate(tls)
        version, cipher = negotiated_version(tls), tls.cipher()[0]
        drive(lambda: tls.write(b"hello\n"))
        if not drive(lambda: tls.read(4096)):
            raise ConnectionResetError("the server closed the connection without answering")
        _goodbye(drive, tls)
    except (OSError, ssl.SSLError) as e:
        error = e
    finally:
        sock.close()
    view = peer_view("client", peer, error)
    return view, version, cipher, duration, port

