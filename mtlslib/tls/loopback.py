"""Real TLS handshakes on 127.0.0.1 with Python's ``ssl`` module (that is, with OpenSSL).

* :func:`server_context` and :func:`client_context` build ``ssl.SSLContext`` objects whose names
  say which side they are for (``ssl.Purpose.CLIENT_AUTH`` famously means "for a server").
* :func:`handshake` runs one handshake *and one application round trip* between a server thread
  and a client, and returns a :class:`HandshakeResult` telling what each side saw.
* :class:`LoopbackServer` accepts many connections until stopped; :func:`connect` is its client.

Every blocking step has a timeout, and only loopback addresses are ever bound or dialled.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import ssl
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable, Iterable, Union

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from mtlslib.errors import (
    HandshakeTimeout,
    NotLoopbackError,
    ProfileError,
    PurposeError,
)
from mtlslib.pki import CertificateAuthority, IssuedCertificate, extension, san_entries
from mtlslib.wire.constants import ALERT_DESCRIPTIONS, GROUPS

__all__ = ["client_context", "close_connection", "connect", "DEFAULT_TIMEOUT", "error_text", "handshake",
           "HandshakeResult", "listen", "loopback_address", "LoopbackServer", "no_delay", "peer_certificate",
           "PeerView", "reply_with_identity", "run_between", "serve_once", "server_context", "Trust", "trust_pem",
           "wake_accept"]

DEFAULT_TIMEOUT = 5.0
Trust = Union[CertificateAuthority, bytes, str, Iterable[Union[CertificateAuthority, bytes, str]]]

_TLS_VERSIONS = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}


# --------------------------------------------------------------------------------------------
# Addresses


def loopback_address(host: str) -> str:
    """``host`` as a loopback IP address string; :class:`NotLoopbackError` for anything else."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise NotLoopbackError(
            f"{host!r}: only loopback addresses are allowed (127.0.0.0/8, ::1 or 'localhost'); "
            "the course never uses a real network"
        ) from None
    if not address.is_loopback:
        raise NotLoopbackError(
            f"{host}: not a loopback address; the course only binds and connects to 127.0.0.0/8 or ::1"
        )
    return str(address)


def listen(host: str, port: int, backlog: int = 128) -> socket.socket:
    host = loopback_address(host)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        listener.bind((host, port))
        listener.listen(backlog)
    except BaseException:
        listener.close()
        raise
    return listener


# --------------------------------------------------------------------------------------------
# Contexts


def trust_pem(trust: Trust) -> str:
    if isinstance(trust, CertificateAuthority):
        return trust.root.cert_pem.decode()
    if isinstance(trust, bytes):
        return trust.decode()
    if isinstance(trust, str):
        return trust
    if isinstance(trust, Iterable):
        return "".join(trust_pem(item) for item in trust)
    raise ProfileError(f"trust must be a CertificateAuthority or PEM roots, not {type(trust).__name__}")


def _apply_tls_version(ctx: ssl.SSLContext, tls_version: str | None) -> None:
    if tls_version is None:
        return
    try:
        version = _TLS_VERSIONS[tls_version]
    except KeyError:
        raise ProfileError(f"tls_version must be '1.2' or '1.3' (or None for both), not {tls_version!r}") from None
    ctx.minimum_version = ctx.maximum_version = version


def _check_purpose(cert: IssuedCertificate, usage, role: str, other: str) -> None:
    eku = extension(cert.certificate, x509.ExtendedKeyUsage)
    if eku is not None and usage not in eku:
        raise PurposeError(
            f"{cert.certificate.subject.rfc4514_string()} is not a {role} certificate (its extended key "
            f"usage lacks {'serverAuth' if role == 'server' else 'clientAuth'}); issue one with "
            f"ca.issue_{role}(...), or pass check_purpose=False to present it anyway and watch the {other} refuse it"
        )


def server_context(certificate: IssuedCertificate, *, trust: Trust | None = None, mutual: bool = False,
                   tls_version: str | None = None, check_purpose: bool = True) -> ssl.SSLContext:
    """A context for the *server* side: presents ``certificate``; with ``mutual=True`` it requires a
    client certificate that chains to ``trust``."""
    if check_purpose:
        _check_purpose(certificate, ExtendedKeyUsageOID.SERVER_AUTH, "server", "client")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    _apply_tls_version(ctx, tls_version)
    certificate.configure_cert(ctx)
    if mutual:
        if trust is None:
            raise ProfileError("a mutual-TLS server needs trust=: the CA whose client certificates it accepts")
        ctx.load_verify_locations(cadata=trust_pem(trust))
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def client_context(trust: Trust, *, certificate: IssuedCertificate | None = None, tls_version: str | None = None,
                   check_purpose: bool = True) -> ssl.SSLContext:
    """A context for the *client* side: verifies the server against ``trust`` (certificate chain and
    host name); presents ``certificate`` when the server asks for one."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED and check_hostname by default
    _apply_tls_version(ctx, tls_version)
    ctx.load_verify_locations(cadata=trust_pem(trust))
    if certificate is not None:
        if check_purpose:
            _check_purpose(certificate, ExtendedKeyUsageOID.CLIENT_AUTH, "client", "server")
        certificate.configure_cert(ctx)
    return ctx


# --------------------------------------------------------------------------------------------
# What each side saw


@dataclass(frozen=True)
class PeerView:
    """What one side of a connection saw of the other."""

    role: str
    handshake_done: bool = False
    peer_subject: str | None = None
    peer_names: tuple[str, ...] = ()
    error: str | None = None
    alert_sent: str | None = None
    alert_received: str | None = None

    @property
    def peer_identity(self) -> str | None:
        """The first subjectAltName value of the verified peer certificate (``None`` if none)."""
        return self.peer_names[0].split(":", 1)[1] if self.peer_names else None

    def __str__(self) -> str:
        peer = "server" if self.role == "client" else "client"
        if self.peer_subject is not None:
            seen = f"verified {peer} certificate {self.peer_subject or '(empty subject)'} [{', '.join(self.peer_names)}]"
        elif self.handshake_done:
            seen = f"no {peer} certificate"
        else:
            seen = "handshake not completed"
        parts = [seen]
        if self.error:
            parts.append(f"error: {self.error}")
        if self.alert_sent:
            parts.append(f"sent alert: {self.alert_sent}")
        if self.alert_received:
            parts.append(f"received alert: {self.alert_received}")
        return "; ".join(parts)


@dataclass(frozen=True)
class HandshakeResult:
    """The outcome of :func:`handshake`: negotiated parameters and what each side saw."""

    ok: bool
    version: str | None
    cipher: str | None
    group: str | None
    client_saw: PeerView
    server_saw: PeerView
    duration: float
    mutual: bool = False

    def __str__(self) -> str:
        kind = "mutual TLS" if self.mutual else "TLS"
        if self.ok:
            head = (f"{kind} handshake OK: {self.version}, {self.cipher}, key exchange {self.group or 'unknown'}, "
                    f"{self.duration * 1000:.1f} ms")
        else:
            head = f"{kind} handshake FAILED"
        return f"{head}\n  client saw: {self.client_saw}\n  server saw: {self.server_saw}"

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(str(self))


@dataclass
class _Observed:
    alert_sent: str | None = None
    alert_received: str | None = None
    group: str | None = None


_ALERT, _HANDSHAKE = 21, 22  # TLS content types
_SERVER_HELLO, _SERVER_KEY_EXCHANGE = 2, 12  # handshake message types
# The C-level slot behind ssl.SSLContext._msg_callback. ssl's own wrapper turns three arguments
# into enums on every call (record headers included, some 40 calls per side per handshake), which
# costs more than the work being watched; the slot itself passes plain ints.
_MSG_CALLBACK_SLOT = vars(getattr(ssl, "_SSLContext", object)).get("_msg_callback")


class _Observer:
    """Reads alerts and the key-exchange group from OpenSSL's message callback, per connection."""

    def __init__(self, ctx: ssl.SSLContext):
        self._by_connection: dict[int, _Observed] = {}
        self._lock = threading.Lock()
        self._ctx = ctx
        self._previous = None
        self._callback = self._make_callback()
        if hasattr(_MSG_CALLBACK_SLOT, "__set__"):
            self._previous = _MSG_CALLBACK_SLOT.__get__(ctx)
            self._callback.user_function = self._callback  # what ssl.SSLContext._msg_callback reads back
            _MSG_CALLBACK_SLOT.__set__(ctx, self._callback)
        elif hasattr(ctx, "_msg_callback"):  # CPython's (private, test-suite) hook; optional extra detail
            self._previous = ctx._msg_callback
            ctx._msg_callback = self._callback

    def _make_callback(self):
        get = self._get

        def callback(conn, direction, version, content_type, msg_type, data) -> None:
            if content_type == _ALERT:
                if len(data) == 2 and data[0] == 2:  # fatal: warnings (close_notify) explain nothing
                    observed = get(conn)
                    description = ALERT_DESCRIPTIONS.get(data[1], f"alert {data[1]}")
                    if direction == "write":
                        observed.alert_sent = observed.alert_sent or description
                    else:
                        observed.alert_received = observed.alert_received or description
            elif content_type == _HANDSHAKE and direction == "read" and data[0] in (_SERVER_HELLO, _SERVER_KEY_EXCHANGE):
                group = _key_exchange_group(data)
                if group:
                    get(conn).group = group

        return callback

    def detach(self) -> None:
        """Give the context back its previous message callback (a user's context outlives us)."""
        if hasattr(_MSG_CALLBACK_SLOT, "__set__"):
            if getattr(_MSG_CALLBACK_SLOT.__get__(self._ctx), "user_function", None) is self._callback:
                _MSG_CALLBACK_SLOT.__set__(self._ctx, self._previous)
        elif getattr(self._ctx, "_msg_callback", None) is self._callback:
            self._ctx._msg_callback = self._previous

    def _get(self, conn) -> _Observed:
        with self._lock:
            return self._by_connection.setdefault(id(conn), _Observed())

    def pop(self, conn) -> _Observed:
        with self._lock:
            return self._by_connection.pop(id(conn), _Observed())


def _key_exchange_group(message: bytes) -> str | None:
    """The named group in a ServerHello key_share (TLS 1.3) or ServerKeyExchange (TLS 1.2)."""
    try:
        if message[0] == _SERVER_KEY_EXCHANGE:  # curve_type 3 (named_curve), then the group
            return GROUPS.get(int.from_bytes(message[5:7], "big")) if message[4] == 3 else None
        pos = 4 + 2 + 32
        pos += 1 + message[pos]  # legacy session id
        pos += 2 + 1  # cipher suite, compression
        end = pos + 2 + int.from_bytes(message[pos:pos + 2], "big")
        pos += 2
        while pos + 4 <= end:
            ext_type = int.from_bytes(message[pos:pos + 2], "big")
            ext_len = int.from_bytes(message[pos + 2:pos + 4], "big")
            if ext_type == 0x0033:
                group = int.from_bytes(message[pos + 4:pos + 6], "big")
                return GROUPS.get(group, f"group 0x{group:04x}")
            pos += 4 + ext_len
    except IndexError:
        return None
    return None


_STOPPED = "the server stopped before this connection finished"


def error_text(error: BaseException) -> str:
    if isinstance(error, (socket.timeout, TimeoutError)):
        return "timed out waiting for the peer"
    if isinstance(error, ssl.SSLError):
        # Drop CPython's source location: it is noise, and it changes between Python builds.
        return re.sub(r"\s*\(_ssl\.c:\d+\)$", "", str(error))
    if isinstance(error, (ConnectionResetError, BrokenPipeError)):
        return "connection reset by the peer"
    return f"{type(error).__name__}: {error}"


@lru_cache(maxsize=256)
def _describe_der(der: bytes) -> tuple[str, tuple[str, ...]]:
    # A server meets the same few client certificates over and over: parse each one once.
    cert = x509.load_der_x509_certificate(der)
    return cert.subject.rfc4514_string(), san_entries(cert)


def peer_certificate(tls: ssl.SSLSocket) -> tuple[str | None, tuple[str, ...]]:
    """Subject and SAN entries of the verified peer certificate; read right after the handshake,
    because a later alert puts the connection in a state where OpenSSL no longer reports them."""
    peer_der = tls.getpeercert(binary_form=True)
    if not peer_der:
        return None, ()
    return _describe_der(peer_der)


def _peer_view(role: str, peer: tuple[str | None, tuple[str, ...]] | None, error: BaseException | str | None,
               observed: _Observed) -> PeerView:
    subject, names = peer or (None, ())
    if isinstance(error, BaseException):
        error = error_text(error)
    return PeerView(role, peer is not None, subject, names, error, observed.alert_sent, observed.alert_received)


def no_delay(sock: socket.socket) -> None:
    # TLS writes small records back to back (a reply, then close_notify); with Nagle's algorithm
    # the second waits for the peer's delayed ACK, about 40 ms on Linux.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def drain_before_close(sock: socket.socket, linger: float) -> None:
    """After a failed handshake, let the peer read the alert that explains it before we close.

    Closing a socket that still holds unread input (the peer's next flight or its first request,
    sent before it learned of the failure) makes the kernel send a reset, and a reset can reach
    the peer before it has read the alert: it would report "EOF occurred" or "connection reset"
    instead of OpenSSL's reason. So: half-close, and read until the peer closes (or ``linger``
    seconds pass). The caller closes the socket afterwards.
    """
    deadline = time.monotonic() + linger
    try:
        # Plain-socket calls: the TLS session is dead, only the TCP connection is left to end.
        socket.socket.shutdown(sock, socket.SHUT_WR)
        while (remaining := deadline - time.monotonic()) > 0:
            sock.settimeout(remaining)
            if not socket.socket.recv(sock, 65536):
                return
    except OSError:
        pass


def close_connection(tls: socket.socket, error: BaseException | None, linger: float) -> None:
    """Close ``tls``: after success with a close_notify alert, as TLS requires (without one,
    OpenSSL 3 peers report "unexpected eof while reading"); after a TLS failure, first let the
    peer read the alert (see above)."""
    if error is None and isinstance(tls, ssl.SSLSocket):
        try:
            tls.settimeout(linger)
            tls.unwrap()  # sends close_notify, then waits (briefly) for the peer's close_notify or EOF
        except (OSError, ValueError):
            pass
    elif isinstance(error, ssl.SSLError) and not isinstance(error, ssl.SSLEOFError) and linger > 0:
        drain_before_close(tls, linger)
    tls.close()


# --------------------------------------------------------------------------------------------
# One handshake


def handshake(server: IssuedCertificate, client: IssuedCertificate | None = None, *, trust: Trust | None = None,
              server_trust: Trust | None = None, client_trust: Trust | None = None, mutual: bool | None = None,
              tls_version: str | None = "1.3", server_hostname: str = "localhost",
              timeout: float = DEFAULT_TIMEOUT, check_purpose: bool = True) -> HandshakeResult:
    """Run one real TLS handshake on 127.0.0.1 and one application round trip.

    ``server`` (and ``client``, for mutual TLS) are issued certificates; ``trust`` is what both
    sides trust (a CA or PEM roots) unless ``client_trust`` / ``server_trust`` say otherwise.
    ``mutual`` defaults to "a client certificate was given". The client checks the server
    certificate against ``server_hostname``.

    The round trip matters: in TLS 1.3 a client that the server rejects has already finished its
    side of the handshake, and learns of the rejection only when it next reads.
    """
    mutual = client is not None if mutual is None else mutual
    client_trust = trust if client_trust is None else client_trust
    server_trust = trust if server_trust is None else server_trust
    if client_trust is None:
        raise ProfileError("the client needs something to trust: pass trust=ca (or client_trust=...)")
    server_ctx, server_observer = _reusable_context(
        "server", server, server_trust if mutual else None, mutual, tls_version, check_purpose)
    client_ctx, client_observer = _reusable_context(
        "client", client, client_trust, mutual, tls_version, check_purpose)
    return run_between(server_ctx, client_ctx, server_hostname=server_hostname, timeout=timeout, mutual=mutual,
                       observers=(server_observer, client_observer))[0]


def run_between(server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext, *, server_hostname: str = "localhost",
                timeout: float = DEFAULT_TIMEOUT, mutual: bool | None = None,
                handler: "Handler | None" = None, observers: "tuple[_Observer, _Observer] | None" = None,
                ) -> tuple[HandshakeResult, str | None]:
    """One handshake and one request on 127.0.0.1 between two contexts built any way at all
    (misconfigured ones included); returns what each side saw and the application's answer.

    :func:`handshake` builds correct contexts and calls this; the verification scenarios pass
    deliberately broken ones. ``mutual`` defaults to "the server asks for a certificate".
    """
    mutual = server_ctx.verify_mode != ssl.CERT_NONE if mutual is None else mutual
    own_observers = observers is None
    server_observer, client_observer = observers or (_Observer(server_ctx), _Observer(client_ctx))
    server_report: dict[str, PeerView] = {}
    try:
        with listen("127.0.0.1", 0, backlog=1) as listener:
            listener.settimeout(timeout)
            thread = threading.Thread(target=serve_once, name="mtlslib-handshake-server", daemon=True,
                                      args=(listener, server_ctx, server_observer, timeout, server_report,
                                            handler or reply_with_identity))
            thread.start()
            try:
                client_view, version, cipher, group, duration, reply = _client_round_trip(
                    listener.getsockname(), client_ctx, client_observer, server_hostname, timeout)
            except BaseException:
                wake_accept(listener)  # the client may never have connected: don't let the server wait it out
                raise
            finally:
                thread.join(timeout * 2 + 1)
    finally:
        if own_observers:  # a caller's context outlives this call: give back its message callback
            server_observer.detach()
            client_observer.detach()
    if thread.is_alive():  # pragma: no cover - every server step has its own timeout
        raise HandshakeTimeout(f"the loopback server thread did not finish within {timeout * 2 + 1:.0f} s")
    server_view = server_report["view"]
    ok = client_view.error is None and server_view.error is None and server_view.handshake_done
    return HandshakeResult(ok, version, cipher, group, client_view, server_view, duration, mutual), reply


def wake_accept(listener: socket.socket) -> None:
    try:  # on Linux this ends a blocked accept() at once; elsewhere the accept timeout does
        listener.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


_CONTEXT_CACHE: "OrderedDict[tuple, tuple[ssl.SSLContext, _Observer]]" = OrderedDict()
_CONTEXT_CACHE_SIZE = 64
_CONTEXT_CACHE_LOCK = threading.Lock()


def _reusable_context(role, certificate, trust, mutual, tls_version, check_purpose):
    """A context for :func:`handshake`, built once per distinct configuration and then reused,
    as any real TLS program does: loading keys and trust stores costs more than a handshake.

    The key is the configuration's content (PEM bytes), so an equal certificate made again hits
    the cache and a changed one never does. These contexts never leave this module.
    """
    material = (certificate.chain_pem, certificate.key_pem) if certificate is not None else None
    key = (role, material, trust_pem(trust) if trust is not None else None, mutual, tls_version, check_purpose)
    with _CONTEXT_CACHE_LOCK:
        if key in _CONTEXT_CACHE:
            _CONTEXT_CACHE.move_to_end(key)
            return _CONTEXT_CACHE[key]
    if role == "server":
        ctx = server_context(certificate, trust=trust, mutual=mutual, tls_version=tls_version,
                             check_purpose=check_purpose)
    else:
        ctx = client_context(trust, certificate=certificate, tls_version=tls_version, check_purpose=check_purpose)
    entry = (ctx, _Observer(ctx))
    with _CONTEXT_CACHE_LOCK:
        _CONTEXT_CACHE[key] = entry
        while len(_CONTEXT_CACHE) > _CONTEXT_CACHE_SIZE:
            _CONTEXT_CACHE.popitem(last=False)
    return entry


def serve_once(listener, server_ctx, observer, timeout, report, handler=None) -> None:
    try:
        conn, _ = listener.accept()
    except OSError as error:
        report["view"] = PeerView("server", error=error_text(error))
        return
    report["view"] = _serve_connection(conn, server_ctx, observer, timeout, handler or reply_with_identity)


# After a failed handshake, how long a side waits for its peer to read the alert and hang up.
_LINGER = 1.0


def _serve_connection(conn: socket.socket, server_ctx, observer, timeout, handler, tracked=None) -> PeerView:
    """Handshake, run ``handler`` and close; what the server saw. ``tracked`` (a LoopbackServer's
    bookkeeping) lets ``stop()`` cut the connection short."""
    conn.settimeout(timeout)
    no_delay(conn)
    try:
        tls = server_ctx.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)  # no I/O yet
    except OSError as error:
        conn.close()
        return _peer_view("server", None, error, _Observed())
    if tracked is not None:
        tracked.start(tls)
    peer, error = None, None
    try:
        tls.do_handshake()
        peer = peer_certificate(tls)
        if tracked is not None:
            tracked.busy = True
        try:
            handler(tls, _peer_view("server", peer, None, _Observed()))
        except OSError:
            raise
        except Exception as e:  # a bug in the handler fails its connection, not the server
            error = f"the handler raised {type(e).__name__}: {e}"
    except OSError as e:  # ssl.SSLError included
        error = e
    finally:
        observed = observer.pop(tls) if observer is not None else _Observed()
        if tracked is not None:
            tracked.busy = False
            if tracked.aborted:
                error = _STOPPED
        close_connection(tls, error, min(timeout, _LINGER))
        if tracked is not None:
            tracked.finish()
    return _peer_view("server", peer, error, observed)


def reply_with_identity(tls: ssl.SSLSocket, peer: PeerView) -> None:
    """The default application: read one message, answer with who the client is."""
    if tls.recv(4096):
        who = peer.peer_identity or "anonymous (no client certificate)"
        tls.sendall(f"hello {who}\n".encode())


def _client_round_trip(address, client_ctx, observer, server_hostname, timeout):
    tls, peer, error, reply = None, None, None, None
    version = cipher = None
    duration = 0.0
    sock = socket.socket(socket.AF_INET6 if ":" in address[0] else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        no_delay(sock)
        started = time.perf_counter()
        sock.connect(address)
        tls = client_ctx.wrap_socket(sock, server_hostname=server_hostname, do_handshake_on_connect=False)
        tls.do_handshake()
        duration = time.perf_counter() - started
        peer = peer_certificate(tls)
        version, cipher = tls.version(), tls.cipher()[0]
        tls.sendall(b"hello\n")
        data = tls.recv(4096)  # in TLS 1.3 a refused client certificate shows up here
        if not data:
            raise ConnectionResetError("the server closed the connection without answering")
        reply = data.decode(errors="replace").strip()
    except OSError as e:  # ssl.SSLError included
        error = e
    finally:
        observed = observer.pop(tls) if tls is not None else _Observed()
        view = _peer_view("client", peer, error, observed)
        close_connection(tls or sock, error, min(timeout, _LINGER))
    return view, version, cipher, observed.group, duration, reply


# --------------------------------------------------------------------------------------------
# Many connections


Handler = Callable[[ssl.SSLSocket, PeerView], None]

# Idle workers waiting in accept(): enough that a connection never waits for a thread to start,
# few enough that a burst of clients does not leave a crowd of threads behind.
_SPARE_WORKERS = 2
_MAX_IDLE_WORKERS = 8
# Where shutting down a listening socket does not wake accept() (it does on Linux), idle workers
# notice stop() within this many seconds.
_ACCEPT_POLL = 0.25
# A handshake on loopback takes milliseconds; one still unfinished after this long at stop() has
# a stalled or silent peer, and is cut short rather than waited for.
_HANDSHAKE_GRACE = 0.2


class _Tracked:
    """A LoopbackServer's record of one connection in progress, so that stop() can end it."""

    __slots__ = ("server", "sock", "busy", "aborted")

    def __init__(self, server: "LoopbackServer"):
        self.server, self.sock, self.busy, self.aborted = server, None, False, False

    def start(self, tls: ssl.SSLSocket) -> None:
        with self.server._lock:
            self.sock = tls
            self.server._in_progress.add(self)
            if self.server._stopping.is_set():
                self.abort()

    def abort(self) -> None:
        """Make the connection's blocked reads and writes fail at once (caller holds the lock)."""
        self.aborted = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:  # already closed or reset
            pass

    def finish(self) -> None:
        with self.server._lock:
            self.server._in_progress.discard(self)


class LoopbackServer:
    """A TLS server on 127.0.0.1 that handles connections in threads until stopped.

    >>> with LoopbackServer(server_context(cert, trust=ca, mutual=True)) as srv:
    ...     connect(srv.address, client_context(ca, certificate=alice))

    ``handler(tls_socket, peer_view)`` is called after each successful handshake (default: read
    one message and answer with the client's identity). What each connection saw is appended to
    :attr:`connections`. Every connection has its own thread, so a stalled peer delays no other
    client; each network step has ``timeout`` seconds.
    """

    def __init__(self, context: ssl.SSLContext, *, handler: Handler = reply_with_identity, host: str = "127.0.0.1",
                 port: int = 0, timeout: float = DEFAULT_TIMEOUT, backlog: int = 256):
        self.context = context
        self.handler = handler
        self.timeout = timeout
        self.connections: list[PeerView] = []
        self._host, self._port, self._backlog = loopback_address(host), port, backlog
        self._observer: _Observer | None = None
        self._listener: socket.socket | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._workers: set[threading.Thread] = set()
        self._idle = 0  # workers waiting in accept()
        self._in_progress: set[_Tracked] = set()

    @property
    def address(self) -> tuple[str, int]:
        if self._listener is None:
            raise RuntimeError("the server is not running; use it in a `with` block or call start()")
        return self._listener.getsockname()[:2]

    @property
    def port(self) -> int:
        return self.address[1]

    def start(self) -> "LoopbackServer":
        if self._listener is not None:
            raise RuntimeError("the server is already running")
        listener = listen(self._host, self._port, self._backlog)
        listener.settimeout(_ACCEPT_POLL)
        self._observer = _Observer(self.context)
        self._listener = listener
        self._stopping.clear()
        with self._lock:
            self._idle = 0  # a previous run's workers left without saying so
            for _ in range(_SPARE_WORKERS):
                self._spawn_worker()
        return self

    def stop(self) -> None:
        """Stop accepting and close everything; wait for connections in progress, up to ``timeout``
        for one in its handler, briefly for one still in its handshake (a stalled peer)."""
        if self._listener is None:
            return
        self._stopping.set()
        wake_accept(self._listener)
        self._join_workers(_HANDSHAKE_GRACE)
        self._abort(busy_too=False)
        self._join_workers(self.timeout)
        self._abort(busy_too=True)
        self._join_workers(_ACCEPT_POLL + 1)
        self._listener.close()
        self._listener = None
        self._observer.detach()

    def __enter__(self) -> "LoopbackServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _spawn_worker(self) -> None:
        # Caller holds the lock, so stop() never sees a worker registered but not yet started.
        # Workers stay listed until they are dead, not merely done: stop() joins every one.
        self._workers = {w for w in self._workers if w.is_alive()}
        worker = threading.Thread(target=self._work, args=(self._listener,), name="mtlslib-server-connection",
                                  daemon=True)
        self._workers.add(worker)
        self._idle += 1
        worker.start()

    def _join_workers(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        with self._lock:
            workers = list(self._workers)
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()))

    def _abort(self, busy_too: bool) -> None:
        with self._lock:
            for tracked in self._in_progress:
                if busy_too or not tracked.busy:
                    tracked.abort()

    def _work(self, listener: socket.socket) -> None:
        # Every worker takes its turn in accept() and then serves what it accepted itself: no
        # hand-over between threads on the way from accept() to the handshake.
        while not self._stopping.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                if self._stopping.is_set():  # stop() shut the listener down
                    return
                time.sleep(_ACCEPT_POLL)  # out of file descriptors, say: retry rather than leave nobody in accept()
                continue
            with self._lock:
                self._idle -= 1
                if self._idle == 0 and not self._stopping.is_set():
                    self._spawn_worker()  # so that the next client finds someone in accept()
            view = _serve_connection(conn, self.context, self._observer, self.timeout, self.handler, _Tracked(self))
            with self._lock:
                self.connections.append(view)
                if self._idle >= _MAX_IDLE_WORKERS:
                    return
                self._idle += 1


@dataclass
class Connection:
    """A client connection made by :func:`connect`: the TLS socket and what the client saw."""

    tls: ssl.SSLSocket
    view: PeerView
    duration: float = field(default=0.0)

    def request(self, data: bytes = b"hello\n") -> bytes:
        """Send ``data`` and return the first answer (empty if the server closed).

        In TLS 1.3 this is where a client certificate refused by the server shows up: as an
        ``ssl.SSLError`` carrying the server's alert.
        """
        try:
            self.tls.sendall(data)
            return self.tls.recv(65536)
        except (socket.timeout, TimeoutError):
            raise HandshakeTimeout(
                f"no answer from the server within {self.tls.gettimeout():g} s"
            ) from None

    def close(self) -> None:
        self.tls.close()

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def connect(address: tuple[str, int], context: ssl.SSLContext, *, server_hostname: str = "localhost",
            timeout: float = DEFAULT_TIMEOUT) -> Connection:
    """Open a TLS connection to a loopback server and finish the handshake.

    Raises :class:`HandshakeTimeout` when the server stops answering, and ``ssl.SSLError`` (with
    OpenSSL's reason) when the handshake is refused. Refuses (:class:`NotLoopbackError`) any
    address outside the loopback range before opening a socket.
    """
    host, port = loopback_address(address[0]), address[1]
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        no_delay(sock)
        started = time.perf_counter()
        sock.connect((host, port))
        tls = context.wrap_socket(sock, server_hostname=server_hostname, do_handshake_on_connect=False)
        sock = tls
        tls.do_handshake()
        duration = time.perf_counter() - started
        view = _peer_view("client", peer_certificate(tls), None, _Observed())
    except (socket.timeout, TimeoutError):
        sock.close()
        raise HandshakeTimeout(
            f"{host}:{port} did not complete the TLS handshake within {timeout:g} s; "
            "the server may be stalled or not speaking TLS"
        ) from None
    except BaseException:
        sock.close()
        raise
    return Connection(tls, view, duration)
