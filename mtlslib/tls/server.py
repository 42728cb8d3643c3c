"""Serving many connections on 127.0.0.1, and the client's side of one.

* :class:`AcceptLoop` is the one accept loop of the package: it listens on a loopback address and
  serves every connection in its own thread until :meth:`~AcceptLoop.stop`, which cuts what is
  still open (or the end of a ``with`` block). :class:`LoopbackServer` and
  :class:`~mtlslib.tls.HttpsService` are built on it, and so is the timing server of
  :mod:`mtlslib.lessons.measure`.
* :func:`serve_tls` is one server-side TLS connection: handshake, application, close.
* :class:`LoopbackServer` runs :func:`serve_tls` for every connection; :func:`connect` is its client.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from mtlslib.errors import HandshakeTimeout, ServiceStateError, UsageError

from .lifecycle import Service
from .net import DEFAULT_TIMEOUT, LINGER, close_connection, dial, listen, loopback_address, no_delay, wake_accept
from .observe import Observer
from .results import PeerView, peer_certificate, peer_view

__all__ = ["AcceptLoop", "Connection", "Handler", "LoopbackServer", "TrackedConnection", "connect",
           "reply_with_identity", "serve_tls"]

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
HANDSHAKE_GRACE = 0.2
STOPPED = "the server stopped before this connection finished"


class TrackedConnection:
    """An :class:`AcceptLoop`'s record of one connection in progress, so that ``stop()`` can end it.

    The serving function calls :meth:`track` with the socket to cut (the TLS socket once it is
    wrapped) and sets :attr:`busy` while the application runs; :attr:`aborted` says whether
    ``stop()`` cut the connection.
    """

    __slots__ = ("_loop", "sock", "busy", "aborted")

    def __init__(self, loop: "AcceptLoop"):
        self._loop, self.sock, self.busy, self.aborted = loop, None, False, False

    def track(self, sock: socket.socket) -> None:
        self._loop.register(self, sock)

    def abort(self) -> None:
        """Make the connection's blocked reads and writes fail at once. A plain-socket shutdown:
        it wakes a thread blocked in a handshake or a read without touching the TLS state that
        thread is using."""
        self.aborted = True
        if self.sock is not None:
            try:
                socket.socket.shutdown(self.sock, socket.SHUT_RDWR)
            except OSError:  # already closed or reset
                pass


Serve = Callable[[socket.socket, tuple, TrackedConnection], None]


class AcceptLoop(Service):
    """Accept connections on a loopback address and serve each in its own thread, until :meth:`stop`.

    ``serve(conn, client_address, tracked)`` owns the accepted socket (it must close it) and runs
    in the worker thread that accepted it: no hand-over between threads on the way from accept()
    to the handshake. Every worker takes its turn in accept(), and a spare one is started whenever
    the last idle worker takes a connection, so a stalled client delays no other.

    ``max_connections`` (default: no bound) bounds the connections served at once, and so the
    threads: once that many are in progress no worker waits in accept(), and further clients are
    queued by the kernel in the listen queue (``backlog`` deep) until one ends; none is refused.

    >>> loop = AcceptLoop(serve, port=0).start()
    >>> loop.address
    ('127.0.0.1', 40123)
    >>> loop.stop()
    """

    def __init__(self, serve: Serve, *, host: str = "127.0.0.1", port: int = 0, backlog: int = 256,
                 name: str = "mtlslib-server", max_connections: int | None = None):
        if max_connections is not None and max_connections < 1:
            raise UsageError(f"max_connections must be at least 1, not {max_connections}")
        self._serve = serve
        self._host, self._port, self._backlog, self._name = loopback_address(host), port, backlog, name
        self._max_connections = max_connections
        self._listener: socket.socket | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._workers: set[threading.Thread] = set()
        self._idle = 0  # workers waiting in accept()
        self._active = 0  # workers serving a connection
        self._in_progress: set[TrackedConnection] = set()

    @property
    def running(self) -> bool:
        return self._listener is not None

    @property
    def stopping(self) -> bool:
        """True from the moment :meth:`stop` begins: connections failing now fail on purpose."""
        return self._stopping.is_set()

    @property
    def address(self) -> tuple[str, int]:
        if self._listener is None:
            raise ServiceStateError("the server is not running; use it in a `with` block or call start()")
        return self._listener.getsockname()[:2]

    @property
    def port(self) -> int:
        return self.address[1]

    @property
    def active_connections(self) -> int:
        """Connections accepted and not yet finished (at most ``max_connections``)."""
        return self._active

    def start(self) -> "AcceptLoop":
        """Bind and listen; ``OSError`` if the port is taken, :class:`ServiceStateError` if running."""
        if self._listener is not None:
            raise ServiceStateError("the server is already running")
        listener = listen(self._host, self._port, self._backlog)
        listener.settimeout(_ACCEPT_POLL)
        self._listener = listener
        self._stopping.clear()
        with self._lock:
            self._idle = self._active = 0  # a previous run's workers left without saying so
            for _ in range(min(_SPARE_WORKERS, self._max_connections or _SPARE_WORKERS)):
                self._spawn_worker()
        return self

    def stop(self, *, handshake_grace: float = HANDSHAKE_GRACE, handler_grace: float = DEFAULT_TIMEOUT) -> None:
        """Stop accepting and close everything: wait up to ``handshake_grace`` seconds for
        connections not yet in their application (then cut them), up to ``handler_grace`` for
        the busy ones (then cut those too), and join every thread. Harmless when not running."""
        if self._listener is None:
            return
        self._stopping.set()
        wake_accept(self._listener)
        self._join_workers(handshake_grace)
        self._abort(busy_too=False)
        self._join_workers(handler_grace)
        self._abort(busy_too=True)
        self._join_workers(_ACCEPT_POLL + 1)
        self._listener.close()
        self._listener = None

    def register(self, tracked: TrackedConnection, sock: socket.socket) -> None:
        """Called through :meth:`TrackedConnection.track`: ``sock`` is what stop() will cut."""
        with self._lock:
            tracked.sock = sock
            self._in_progress.add(tracked)
            if self._stopping.is_set():
                tracked.abort()

    def _spawn_worker(self) -> None:
        # Caller holds the lock, so stop() never sees a worker registered but not yet started.
        # Workers stay listed until they are dead, not merely done: stop() joins every one.
        self._workers = {w for w in self._workers if w.is_alive()}
        worker = threading.Thread(target=self._work, args=(self._listener,), name=f"{self._name}-connection",
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
        while not self._stopping.is_set():
            try:
                conn, client_address = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                if self._stopping.is_set():  # stop() shut the listener down
                    return
                time.sleep(_ACCEPT_POLL)  # out of file descriptors, say: retry rather than leave nobody in accept()
                continue
            with self._lock:
                self._idle -= 1
                self._active += 1
                # So that the next client finds someone in accept(), unless the bound is reached:
                # then it waits in the listen queue until a worker is done.
                if self._idle == 0 and not self._stopping.is_set() and (
                        self._max_connections is None or self._active < self._max_connections):
                    self._spawn_worker()
            tracked = TrackedConnection(self)
            rejoin = False
            try:
                self._serve(conn, client_address, tracked)
                rejoin = True
            finally:
                # From serving to idle under one lock, so that active + idle never exceeds the bound.
                with self._lock:
                    self._in_progress.discard(tracked)
                    self._active -= 1
                    rejoin = rejoin and self._idle < _MAX_IDLE_WORKERS
                    if rejoin:
                        self._idle += 1
                    elif self._idle == 0 and not self._stopping.is_set():
                        self._spawn_worker()  # serve() raised: someone must still be in accept()
            if not rejoin:
                return


# --------------------------------------------------------------------------------------------
# One TLS connection, server side


def reply_with_identity(tls: ssl.SSLSocket, peer: PeerView) -> None:
    """The default application: read one message, answer with who the client is."""
    if tls.recv(4096):
        who = peer.peer_identity or "anonymous (no client certificate)"
        tls.sendall(f"hello {who}\n".encode())


def serve_tls(conn: socket.socket, context: ssl.SSLContext, observer: Observer | None, timeout: float,
              handler: Handler = reply_with_identity, tracked: TrackedConnection | None = None) -> PeerView:
    """Handshake on an accepted socket, run ``handler`` and close; returns what the server saw.

    ``tracked`` (from an :class:`AcceptLoop`) lets ``stop()`` cut the connection short. A handler
    that raises fails its connection (the error is in the returned view), never the server.
    """
    conn.settimeout(timeout)
    no_delay(conn)
    try:
        tls = context.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)  # no I/O yet
    except OSError as error:
        conn.close()
        return peer_view("server", None, error)
    if tracked is not None:
        tracked.track(tls)
    peer, error = None, None
    try:
        tls.do_handshake()
        peer = peer_certificate(tls)
        if tracked is not None:
            tracked.busy = True
        try:
            handler(tls, peer_view("server", peer, None))
        except OSError:
            raise
        except Exception as e:  # a bug in the handler fails its connection, not the server
            error = f"the handler raised {type(e).__name__}: {e}"
    except OSError as e:  # ssl.SSLError included
        error = e
    finally:
        observed = observer.pop(tls) if observer is not None else None
        if tracked is not None:
            tracked.busy = False
            if tracked.aborted:
                error = STOPPED
        close_connection(tls, error, min(timeout, LINGER))
    return peer_view("server", peer, error, observed)


# --------------------------------------------------------------------------------------------
# Many connections


class LoopbackServer(AcceptLoop):
    """A TLS server on 127.0.0.1 that handles connections in threads until stopped.

    >>> with LoopbackServer(server_context(cert, trust=ca, mutual=True)) as srv:
    ...     connect(srv.address, client_context(ca, certificate=alice))

    ``handler(tls_socket, peer_view)`` is called after each successful handshake (default: read
    one message and answer with the client's identity). What each connection saw is appended to
    :attr:`connections`. Every connection has its own thread (it is an :class:`AcceptLoop` whose
    connections go through :func:`serve_tls`), so a stalled peer delays no other client; each
    network step has ``timeout`` seconds.
    """

    def __init__(self, context: ssl.SSLContext, *, handler: Handler = reply_with_identity, host: str = "127.0.0.1",
                 port: int = 0, timeout: float = DEFAULT_TIMEOUT, backlog: int = 256):
        super().__init__(self._serve_connection, host=host, port=port, backlog=backlog)
        self.context = context
        self.handler = handler
        self.timeout = timeout
        self.connections: list[PeerView] = []
        self._observer: Observer | None = None
        self._connections_lock = threading.Lock()

    def start(self) -> "LoopbackServer":
        if self.running:
            raise ServiceStateError("the server is already running")
        self._observer = Observer(self.context)
        try:
            super().start()
        except BaseException:
            self._observer.detach()
            raise
        return self

    def stop(self, *, handshake_grace: float = HANDSHAKE_GRACE, handler_grace: float | None = None) -> None:
        """Stop accepting and close everything; wait for connections in progress, up to ``timeout``
        (or ``handler_grace``) for one in its handler, briefly for one still in its handshake (a
        stalled peer)."""
        if not self.running:
            return
        super().stop(handshake_grace=handshake_grace,
                     handler_grace=self.timeout if handler_grace is None else handler_grace)
        self._observer.detach()

    def _serve_connection(self, conn: socket.socket, client_address, tracked: TrackedConnection) -> None:
        view = serve_tls(conn, self.context, self._observer, self.timeout, self.handler, tracked)
        with self._connections_lock:
            self.connections.append(view)


# --------------------------------------------------------------------------------------------
# The client side


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
            try:
                self.tls.sendall(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server has closed already; its alert, if it sent one, is still there to read
            try:
                return self.tls.recv(65536)
            except (BrokenPipeError, ConnectionResetError):
                return b""  # closed without an alert (a reset, on some builds, instead of an end of file)
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
    sock = dial(host, timeout)
    try:
        started = time.perf_counter()
        sock.connect((host, port))
        tls = context.wrap_socket(sock, server_hostname=server_hostname, do_handshake_on_connect=False)
        sock = tls
        tls.do_handshake()
        duration = time.perf_counter() - started
        view = peer_view("client", peer_certificate(tls), None)
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
