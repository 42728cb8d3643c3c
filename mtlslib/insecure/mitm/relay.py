"""The relay: :class:`ManInTheMiddle`, a TLS relay on 127.0.0.1 that impersonates a server with the
attacker's certificate and records the plaintext it passes on (:class:`RelayedConnection`). INSECURE
on purpose; it binds and dials loopback addresses only, and every network step has a timeout.
"""

from __future__ import annotations

import selectors
import socket
import ssl
import threading
import time
from dataclasses import dataclass

from mtlslib.display import Shown
from mtlslib.errors import UsageError
from mtlslib.pki import IssuedCertificate
from mtlslib.tls import DEFAULT_TIMEOUT, AcceptLoop, RunsOn, TrackedConnection, error_text, loopback_address, no_delay

__all__ = ["ManInTheMiddle", "RelayedConnection"]

# How often a relaying session looks up from select() to see whether stop() was called.
_POLL = 0.05
_READ_SIZE = 65536


# --------------------------------------------------------------------------------------------
# What was relayed


def _http_lines(data: bytes, *, headers: bool) -> list[str]:
    """HTTP bytes as display lines: everything, or (``headers=False``) the start line and body
    (response headers carry a Date that changes every second)."""
    text = data.decode("latin-1")
    head, separator, body = text.partition("\r\n\r\n")
    lines = head.split("\r\n") if headers else head.split("\r\n")[:1]
    if separator and headers:
        lines.append("")
    elif separator and body:
        lines.append("...")
    lines.extend(body.splitlines())
    return lines


@dataclass(frozen=True)
class RelayedConnection(Shown):
    """One victim connection as the relay saw it, and the plaintext it recorded."""

    victim_accepted: bool
    """Whether the victim completed the TLS handshake, accepting the attacker's certificate."""
    victim_error: str | None
    """Why the handshake with the victim failed (usually the victim's alert), else ``None``."""
    upstream_error: str | None
    """What went wrong on the relay's own connection to the real server, if anything."""
    from_victim: bytes
    """Everything the victim sent, decrypted: what the attacker learned."""
    from_server: bytes
    """Everything the real server answered, decrypted."""

    @property
    def leaked(self) -> bool:
        """Whether the attacker read anything the victim meant for the server."""
        return bool(self.from_victim)

    def __str__(self) -> str:
        if not self.victim_accepted:
            if "alert" in (self.victim_error or ""):
                return f"the victim refused the relay's certificate ({self.victim_error})\nnothing was relayed"
            return f"the handshake with the victim did not finish ({self.victim_error})\nnothing was relayed"
        lines = [f"the victim accepted the relay's certificate; the relay read {len(self.from_victim)} bytes "
                 "from the victim:"]
        lines += [f"    {line}".rstrip() for line in _http_lines(self.from_victim, headers=True)]
        if self.upstream_error and "alert" in self.upstream_error:
            lines.append(f"the real server refused the relay: {self.upstream_error}")
        elif self.upstream_error:
            lines.append(f"the relay's connection to the real server failed: {self.upstream_error}")
        if self.from_server:
            lines.append(f"and {len(self.from_server)} bytes from the real server:")
            lines += [f"    {line}".rstrip() for line in _http_lines(self.from_server, headers=False)]
        return "\n".join(lines)


class _TlsEnd:
    """One side of the relay: a plain socket and the TLS state machine that sits on it.

    The TLS work happens in memory (``ssl.MemoryBIO``), in the session's one thread: no two
    threads ever touch the same TLS connection.
    """

    def __init__(self, sock: socket.socket, context: ssl.SSLContext, *, server_side: bool,
                 server_hostname: str | None = None):
        self.sock = sock
        self._incoming, self._outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = context.wrap_bio(self._incoming, self._outgoing, server_side=server_side,
                                    server_hostname=server_hostname)

    def flush(self) -> None:
        data = self._outgoing.read()
        if data:
            self.sock.sendall(data)

    def receive(self) -> None:
        """Move what the peer sent into the TLS state machine (blocks up to the socket timeout)."""
        data = self.sock.recv(_READ_SIZE)
        if data:
            self._incoming.write(data)
        else:
            self._incoming.write_eof()

    def handshake(self) -> None:
        try:
            while True:
                try:
                    self.tls.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    self.flush()
                    self.receive()
        except ssl.SSLError:
            self._flush_quietly()  # our alert, if OpenSSL wrote one, explains the failure to the peer
            raise
        self.flush()  # the last flight, and TLS 1.3 session tickets

    def read_available(self) -> tuple[bytes, bool]:
        """The plaintext decryptable now, and whether the peer has finished (close_notify or EOF)."""
        chunks = []
        try:
            while True:
                chunk = self.tls.read(_READ_SIZE)
                if not chunk:
                    return b"".join(chunks), True
                chunks.append(chunk)
        except ssl.SSLWantReadError:
            return b"".join(chunks), False
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
            return b"".join(chunks), True

    def write(self, data: bytes) -> None:
        self.tls.write(data)
        self.flush()

    def close(self) -> None:
        try:
            self.tls.unwrap()  # writes close_notify; it then wants the peer's, which we do not wait for
        except (ssl.SSLError, ValueError):
            pass
        self._flush_quietly()
        self.sock.close()

    def _flush_quietly(self) -> None:
        try:
            self.flush()
        except OSError:
            pass


class ManInTheMiddle(RunsOn):
    """A TLS relay on 127.0.0.1 that impersonates the server at ``upstream``.

    >>> with ManInTheMiddle(bank.address, attacker_certificate, upstream_hostname="www.bank.test") as mitm:
    ...     send_request(mitm.address, victim_context, request, server_hostname="www.bank.test")
    >>> print(mitm.connections[0])

    Each victim that connects gets ``certificate`` (the attacker's, with its chain). If the victim
    completes the handshake, the relay connects to ``upstream`` with ``upstream_context`` (default:
    no verification at all, since the attacker does not care whom it talks to) and relays the
    plaintext both ways until one side closes. Every connection is recorded in
    :attr:`connections` when it ends: read it after the ``with`` block, when all have ended.
    """

    def __init__(self, upstream: tuple[str, int], certificate: IssuedCertificate, *,
                 upstream_hostname: str = "localhost", upstream_context: ssl.SSLContext | None = None,
                 host: str = "127.0.0.1", port: int = 0, timeout: float = DEFAULT_TIMEOUT):
        if not isinstance(certificate, IssuedCertificate):
            raise UsageError(f"certificate must be an mtlslib IssuedCertificate (the attacker's), "
                               f"not {type(certificate).__name__}")
        self.upstream = (loopback_address(upstream[0]), upstream[1])
        self.upstream_hostname = upstream_hostname
        self.timeout = timeout
        self.connections: list[RelayedConnection] = []
        self._victim_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        certificate.configure_cert(self._victim_context)
        self._upstream_context = upstream_context or _unverified_client_context()
        # The package's one accept loop: a thread per victim, and stop() cuts what is still open.
        self.inner = AcceptLoop(self._session, host=host, port=port, name="mtlslib-mitm")
        self._lock = threading.Lock()

    def stop(self) -> None:
        """Stop accepting, cut the connections still open, join every thread, close every socket."""
        # A relaying session notices stop() within _POLL; one still in a handshake is cut.
        self.inner.stop(handler_grace=self.timeout + 1)

    def __repr__(self) -> str:
        where = f"{self.address[0]}:{self.address[1]}" if self.inner.running else "stopped"
        return f"<ManInTheMiddle {where} -> {self.upstream[0]}:{self.upstream[1]}>"

    # -- inside ----------------------------------------------------------------------------

    def _session(self, conn: socket.socket, client_address, tracked: TrackedConnection) -> None:
        tracked.track(conn)
        victim = upstream = None
        upstream_sock = None
        accepted, victim_error, upstream_error = False, None, None
        recorded = {"victim": bytearray(), "server": bytearray()}
        try:
            conn.settimeout(self.timeout)
            no_delay(conn)
            victim = _TlsEnd(conn, self._victim_context, server_side=True)
            try:
                victim.handshake()
                accepted = tracked.busy = True  # from here on, stop() lets the relaying session end itself
            except OSError as error:
                victim_error = error_text(error)
                return
            try:
                upstream_sock = socket.create_connection(self.upstream, timeout=self.timeout)
                no_delay(upstream_sock)
                upstream = _TlsEnd(upstream_sock, self._upstream_context, server_side=False,
                                   server_hostname=self.upstream_hostname)
                upstream.handshake()
            except OSError as error:
                upstream_error = error_text(error)
                self._drain(victim, recorded["victim"])  # the victim talks anyway: its first words are ours
                return
            upstream_error = self._relay(victim, upstream, recorded)
        finally:
            for end, sock in ((victim, conn), (upstream, upstream_sock)):
                if end is not None:
                    end.close()
                elif sock is not None:
                    sock.close()
            with self._lock:
                self.connections.append(RelayedConnection(accepted, victim_error, upstream_error,
                                                          bytes(recorded["victim"]), bytes(recorded["server"])))

    def _relay(self, victim: _TlsEnd, upstream: _TlsEnd, recorded: dict[str, bytearray]) -> str | None:
        """Pass plaintext both ways until one side closes; the upstream error, if any."""
        failure = self._relay_until_closed({victim.sock: (victim, upstream, recorded["victim"]),
                                            upstream.sock: (upstream, victim, recorded["server"])})
        if failure is None or failure[0] is not upstream:
            return None
        if not recorded["victim"]:  # the server hung up first; the victim's request may be on its way
            self._drain(victim, recorded["victim"])
        return failure[1]

    def _relay_until_closed(self, routes: dict[socket.socket, tuple[_TlsEnd, _TlsEnd, bytearray]]
                            ) -> tuple[_TlsEnd, str] | None:
        """Relay until a side finishes (``None``) or fails: then that side and its error."""
        # The victim's first request may have arrived with its last handshake message, and
        # so already sit in the TLS buffer, where select() cannot see it.
        for source, sink, record in routes.values():
            finished, failure = _pass_on(source, sink, record)
            if finished:
                return failure
        with selectors.DefaultSelector() as selector:
            for sock in routes:
                selector.register(sock, selectors.EVENT_READ)
            idle_since = time.monotonic()
            while not self.inner.stopping:
                ready = selector.select(_POLL)
                if not ready:
                    if time.monotonic() - idle_since > self.timeout:
                        return None  # both sides silent: give up, as a real relay would
                    continue
                idle_since = time.monotonic()
                for key, _ in ready:
                    source, sink, record = routes[key.fileobj]
                    try:
                        source.receive()
                    except OSError as error:
                        return source, error_text(error)
                    finished, failure = _pass_on(source, sink, record)
                    if finished:
                        return failure
        return None

    def _drain(self, victim: _TlsEnd, record: bytearray) -> None:
        """Read, for a moment, what the victim sends right after its handshake (its request)."""
        victim.sock.settimeout(min(self.timeout, 0.5))
        try:
            while True:
                data, finished = victim.read_available()
                record += data
                if data or finished:
                    return
                victim.receive()
        except OSError:
            return


def _pass_on(source: _TlsEnd, sink: _TlsEnd, record: bytearray) -> tuple[bool, tuple[_TlsEnd, str] | None]:
    """Decrypt what ``source`` has, record it, re-encrypt it for ``sink``. Whether ``source`` has
    finished, and if a side failed, that side and its error (which one decides whether it is worth
    reporting)."""
    try:
        data, finished = source.read_available()
        source.flush()  # anything the TLS layer owes its peer (a key update, say)
    except OSError as error:
        return True, (source, error_text(error))
    record += data
    if data:
        try:
            sink.write(data)
        except OSError as error:
            return True, (sink, error_text(error))
    return finished, None


def _unverified_client_context() -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx
