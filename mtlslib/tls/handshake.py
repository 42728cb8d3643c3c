"""One real TLS handshake on 127.0.0.1, and one application round trip, in a single call.

* :class:`ConnectionSpec` describes the connection: who presents what, who trusts what, which
  version; :func:`handshake` and :func:`~mtlslib.tls.capture_handshake` both take it (or its
  fields as keyword arguments) and resolve its defaults the same way.
* :func:`handshake` builds correct contexts from it; :func:`run_between` runs the same exchange
  between two contexts built any way at all (the verification scenarios break them on purpose).
"""

from __future__ import annotations

import ssl
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Callable, Generic, Hashable, TypeVar

from mtlslib.errors import HandshakeTimeout, UsageError
from mtlslib.pki import IssuedCertificate, Trust, trust_anchors

from .contexts import TlsVersion, client_context, server_context, tls_version_name
from .net import DEFAULT_TIMEOUT, LINGER, close_connection, dial, listen, wake_accept
from .observe import Observer
from .results import HandshakeResult, PeerView, error_text, peer_certificate, peer_view
from .server import Handler, reply_with_identity, serve_tls

__all__ = ["ConnectionSpec", "ContextCache", "handshake", "negotiated_version", "run_between", "serve_once"]


@dataclass(frozen=True)
class ConnectionSpec:
    """One connection between a server and a client, as :func:`handshake` and
    :func:`~mtlslib.tls.capture_handshake` make it.

    ``server`` (and ``client``, for mutual TLS) are issued certificates. ``trust`` is what both
    sides trust unless ``client_trust`` (what the client checks the server against) or
    ``server_trust`` (the client certificates the server accepts) say otherwise; each is anything
    :func:`mtlslib.pki.trust_anchors` reads. ``mutual`` defaults to "a client certificate was
    given". The client checks the server certificate against ``server_hostname``.
    ``openssl_defaults=True`` keeps this OpenSSL's own key-exchange groups and certificate
    compression (see :func:`~mtlslib.tls.contexts.pin_build_differences`).
    """

    server: IssuedCertificate
    client: IssuedCertificate | None = None
    trust: Trust | None = None
    server_trust: Trust | None = None
    client_trust: Trust | None = None
    mutual: bool | None = None
    tls_version: TlsVersion | None = "1.3"
    server_hostname: str = "localhost"
    timeout: float = DEFAULT_TIMEOUT
    check_purpose: bool = True
    openssl_defaults: bool = False

    def resolved(self) -> "ConnectionSpec":
        """The same connection with every default decided: ``mutual`` a bool, both trusts filled
        in from ``trust``, ``tls_version`` ``"1.2"``, ``"1.3"`` or ``None`` (both allowed).

        :class:`~mtlslib.errors.UsageError` when the client has nothing to trust, or a mutual-TLS
        server nothing to accept client certificates from.
        """
        if not isinstance(self.server, IssuedCertificate):
            raise UsageError(f"server must be an IssuedCertificate (ca.issue_server(...)), "
                             f"not {type(self.server).__name__}")
        if self.client is not None and not isinstance(self.client, IssuedCertificate):
            raise UsageError(f"client must be an IssuedCertificate (ca.issue_client(...)) or None, "
                             f"not {type(self.client).__name__}")
        mutual = self.client is not None if self.mutual is None else bool(self.mutual)
        client_trust = self.trust if self.client_trust is None else self.client_trust
        server_trust = self.trust if self.server_trust is None else self.server_trust
        if client_trust is None:
            raise UsageError("the client needs something to trust: pass trust=ca (or client_trust=...)")
        if mutual and server_trust is None:
            raise UsageError("a mutual-TLS server needs something to trust: pass trust=ca (or server_trust=...)")
        version = tls_version_name(self.tls_version) if self.tls_version is not None else None
        return replace(self, mutual=mutual, client_trust=client_trust, server_trust=server_trust if mutual else None,
                       tls_version=version)

    def server_context(self) -> ssl.SSLContext:
        """The server's context (call on a :meth:`resolved` spec)."""
        return server_context(self.server, trust=self.server_trust, mutual=self.mutual,
                              tls_version=self.tls_version, check_purpose=self.check_purpose,
                              openssl_defaults=self.openssl_defaults)

    def client_context(self) -> ssl.SSLContext:
        """The client's context (call on a :meth:`resolved` spec)."""
        return client_context(self.client_trust, certificate=self.client, tls_version=self.tls_version,
                              check_purpose=self.check_purpose, openssl_defaults=self.openssl_defaults)


def negotiated_version(tls: ssl.SSLSocket | ssl.SSLObject) -> str | None:
    """The version a connection negotiated, as ``"1.2"`` or ``"1.3"`` (``None`` before the
    handshake; OpenSSL's own name for a version the course does not use)."""
    version = tls.version()
    try:
        return tls_version_name(version) if version is not None else None
    except UsageError:
        return version


# --------------------------------------------------------------------------------------------
# Contexts, reused

Companion = TypeVar("Companion")


class ContextCache(Generic[Companion]):
    """Contexts built once per distinct configuration and then reused, as any real TLS program does:
    loading keys and trust stores costs more than a handshake. Each context is kept with a
    ``companion`` made for it once (what its user attaches to it, or a lock that shares it out).

    The key is the configuration's content: the certificates themselves (equal when their DER is)
    and the private key object, so a certificate made again with the same key hits the cache and a
    changed certificate or key never does. ``variant`` names a change ``adjust`` makes to a new
    context. The contexts never leave the module that owns the cache.
    """

    def __init__(self, companion: Callable[[ssl.SSLContext], Companion], size: int = 64):
        self._companion = companion
        self._size = size
        self._entries: OrderedDict[tuple, tuple[ssl.SSLContext, Companion]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, spec: ConnectionSpec, role: str, *, variant: Hashable = None,
            adjust: Callable[[ssl.SSLContext], None] | None = None) -> tuple[ssl.SSLContext, Companion]:
        """The context for ``role`` ("server" or "client") of a :meth:`~ConnectionSpec.resolved` spec."""
        certificate = spec.server if role == "server" else spec.client
        trust = spec.server_trust if role == "server" else spec.client_trust
        # cryptography's certificates compare (and hash) by their DER; a private key object by
        # identity, which the key itself keeps alive, so a key loaded again makes a context anew.
        material = ((certificate.certificate, certificate.chain, certificate.private_key)
                    if certificate is not None else None)
        key = (role, material, tuple(trust_anchors(trust)) if trust is not None else None, spec.mutual,
               spec.tls_version, spec.check_purpose, spec.openssl_defaults, variant)
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        ctx = spec.server_context() if role == "server" else spec.client_context()
        if adjust is not None:
            adjust(ctx)
        entry = (ctx, self._companion(ctx))
        with self._lock:
            self._entries[key] = entry
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return entry

    def discard(self, ctx: ssl.SSLContext) -> None:
        """Forget ``ctx``: the next :meth:`get` for its configuration builds a new one."""
        with self._lock:
            for key in [key for key, (cached, _) in self._entries.items() if cached is ctx]:
                del self._entries[key]


# handshake()'s contexts, each with the Observer that stays attached to it.
_CONTEXTS: ContextCache[Observer] = ContextCache(Observer)


# --------------------------------------------------------------------------------------------
# One handshake


def handshake(server: IssuedCertificate | ConnectionSpec, client: IssuedCertificate | None = None, *,
              trust: Trust | None = None, server_trust: Trust | None = None, client_trust: Trust | None = None,
              mutual: bool | None = None, tls_version: TlsVersion | None = "1.3", server_hostname: str = "localhost",
              timeout: float = DEFAULT_TIMEOUT, check_purpose: bool = True,
              openssl_defaults: bool = False) -> HandshakeResult:
    """Run one real TLS handshake on 127.0.0.1 and one application round trip.

    The arguments are the fields of :class:`ConnectionSpec` (or pass one spec). The round trip
    matters: in TLS 1.3 a client that the server rejects has already finished its side of the
    handshake, and learns of the rejection only when it next reads.
    """
    spec = server if isinstance(server, ConnectionSpec) else ConnectionSpec(
        server, client, trust, server_trust, client_trust, mutual, tls_version, server_hostname, timeout,
        check_purpose, openssl_defaults)
    spec = spec.resolved()
    server_ctx, server_observer = _CONTEXTS.get(spec, "server")
    client_ctx, client_observer = _CONTEXTS.get(spec, "client")
    return run_between(server_ctx, client_ctx, server_hostname=spec.server_hostname, timeout=spec.timeout,
                       mutual=spec.mutual, observers=(server_observer, client_observer))[0]


def serve_once(listener, server_ctx: ssl.SSLContext, observer: Observer | None, timeout: float,
               report: dict, handler: Handler | None = None) -> None:
    """Accept one connection on ``listener`` and serve it; ``report["view"]`` is what the server saw."""
    try:
        conn, _ = listener.accept()
    except OSError as error:
        report["view"] = PeerView("server", error=error_text(error))
        return
    report["view"] = serve_tls(conn, server_ctx, observer, timeout, handler or reply_with_identity)


def run_between(server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext, *, server_hostname: str = "localhost",
                timeout: float = DEFAULT_TIMEOUT, mutual: bool | None = None,
                handler: Handler | None = None, observers: tuple[Observer, Observer] | None = None,
                ) -> tuple[HandshakeResult, str | None]:
    """One handshake and one request on 127.0.0.1 between two contexts built any way at all
    (misconfigured ones included); returns what each side saw and the application's answer.

    :func:`handshake` builds correct contexts and calls this; the verification scenarios pass
    deliberately broken ones. ``mutual`` defaults to "the server asks for a certificate".
    """
    mutual = server_ctx.verify_mode != ssl.CERT_NONE if mutual is None else mutual
    own_observers = observers is None
    server_observer, client_observer = observers or (Observer(server_ctx), Observer(client_ctx))
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


def _client_round_trip(address, client_ctx, observer, server_hostname, timeout):
    tls, peer, error, reply, observed = None, None, None, None, None
    version = cipher = None
    duration = 0.0
    sock = dial(address[0], timeout)
    try:
        started = time.perf_counter()
        sock.connect(address)
        tls = client_ctx.wrap_socket(sock, server_hostname=server_hostname, do_handshake_on_connect=False)
        tls.do_handshake()
        duration = time.perf_counter() - started
        peer = peer_certificate(tls)
        version, cipher = negotiated_version(tls), tls.cipher()[0]
        tls.sendall(b"hello\n")
        data = tls.recv(4096)  # in TLS 1.3 a refused client certificate shows up here
        if not data:
            raise ConnectionResetError("the server closed the connection without answering")
        reply = data.decode(errors="replace").strip()
    except OSError as e:  # ssl.SSLError included
        error = e
    finally:
        observed = observer.pop(tls) if tls is not None else None
        view = peer_view("client", peer, error, observed)
        close_connection(tls or sock, error, min(timeout, LINGER))
    return view, version, cipher, observed.group if observed is not None else None, duration, reply
