"""A small HTTPS service on 127.0.0.1 that knows who its client is.

>>> with HttpsService(server_cert, trust=ca, mutual=True) as service:
...     urllib.request.urlopen(service.url, context=client_context(ca, certificate=alice)).read()
b'hello alice@example.test (client certificate CN=alice@example.test, SAN email:alice@example.test)\\n'

The application is one function, ``handler(request) -> Response``. A :class:`Request` carries the
method, path, headers and body, and ``request.client``: the :class:`ClientIdentity` read from the
*verified* client certificate, or ``None`` when the client presented none. The default handler,
:func:`whoami`, answers every GET with who the client is; an authorization decision or a login
form is another handler (or a handler wrapping this one).

Each connection gets its own thread, and the TLS handshake happens there. Every phase of a
connection has a deadline, so that no client, however slow, holds a thread for long (see
:class:`HttpsService` for the figures): the handshake, each request (request line, headers and
body, counted from its start, not per read), and the idle wait between kept-alive requests. At most
``max_connections`` connections are served at once; more wait in the listen queue.
:meth:`HttpsService.stop` cuts the connections still open, joins every thread and closes every
socket.
"""

from __future__ import annotations

import email.message
import http.server
import io
import socket
import ssl
import sys
import time
import traceback
from dataclasses import dataclass
from typing import Callable, Literal, Union

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from mtlslib.display import Shown
from mtlslib.errors import UsageError
from mtlslib.pki import IssuedCertificate, Trust, san_entries

from .contexts import TlsVersion, server_context
from .handshake import negotiated_version
from .lifecycle import RunsOn
from .net import DEFAULT_TIMEOUT, LINGER, close_connection, loopback_address
from .results import error_text
from .server import AcceptLoop, TrackedConnection

__all__ = ["DEFAULT_MAX_CONNECTIONS", "ClientIdentity", "Handler", "HttpsService", "Request", "Response",
           "escape_for_log", "whoami"]

# Large enough for any form or JSON document in the course, small enough that a mistaken upload
# cannot fill the notebook's memory.
MAX_BODY_BYTES = 1 << 20
# Connections served at once (one thread each). A browser opens about six per site, and a whole
# class on one machine stays far below this; a flood of stalled clients cannot use up the threads.
DEFAULT_MAX_CONNECTIONS = 64


def escape_for_log(text: str) -> str:
    """``text`` safe to print on a terminal, as Python writes it in a string literal: control
    characters (ESC, BEL, CR, DEL, C1 ...) become ``\\x1b``, ``\\r``, ..., and a backslash doubles, so
    that what a client sent can neither drive the terminal nor pass for an escape it did not send."""
    if text.isprintable() and "\\" not in text:
        return text  # the usual case, decided in C
    return "".join(c if c.isprintable() and c != "\\" else repr(c)[1:-1] for c in text)


@dataclass(frozen=True)
class ClientIdentity(Shown):
    """Who the client proved to be: fields of its verified certificate."""

    subject: str
    """The subject as an RFC 4514 string, e.g. ``"CN=alice@example.test"`` (``""`` if empty)."""
    names: tuple[str, ...]
    """The subjectAltName entries, e.g. ``("URI:spiffe://example.test/web", "email:web@example.test")``."""
    issuer: str
    """The issuing CA's name, RFC 4514."""
    fingerprint: str
    """SHA-256 of the certificate, colon-separated hex."""

    @classmethod
    def from_certificate(cls, certificate: x509.Certificate) -> "ClientIdentity":
        return cls(certificate.subject.rfc4514_string(), san_entries(certificate),
                   certificate.issuer.rfc4514_string(), certificate.fingerprint(hashes.SHA256()).hex(":").upper())

    def san_values(self, kind: str) -> tuple[str, ...]:
        """The values of one kind of subjectAltName entry, in certificate order: ``"URI"``,
        ``"email"``, ``"DNS"`` or ``"IP"`` (``identity.san_values("email")``)."""
        return tuple(value for entry_kind, _, value in (name.partition(":") for name in self.names)
                     if entry_kind == kind)

    @property
    def uris(self) -> tuple[str, ...]:
        """The URI SANs (a SPIFFE ID is the only one of a workload's certificate)."""
        return self.san_values("URI")

    @property
    def emails(self) -> tuple[str, ...]:
        """The email (rfc822Name) SANs."""
        return self.san_values("email")

    @property
    def dns_names(self) -> tuple[str, ...]:
        """The DNS SANs."""
        return self.san_values("DNS")

    @property
    def name(self) -> str | None:
        """The first subjectAltName value, to greet the client or write a log line; ``None`` for a
        certificate without subjectAltName, which names nobody (the common name is never read).

        Not for authorization: a decision matches entries of the right type (:attr:`uris`,
        :attr:`emails`, :attr:`dns_names`, or an :class:`~mtlslib.tls.AccessPolicy`), never "the
        first SAN, whatever its type"."""
        return self.names[0].split(":", 1)[1] if self.names else None

    def __str__(self) -> str:
        return (f"client certificate {self.subject or '(empty subject)'}, "
                f"SAN {', '.join(self.names) or '(none)'}")


@dataclass(frozen=True)
class Request:
    """One HTTP request, as the handler sees it."""

    method: str
    path: str
    """The request target as sent, query string included (``"/login?next=/"``)."""
    headers: email.message.Message
    """Case-insensitive: ``request.headers.get("content-type")``; ``get_all`` for repeated ones."""
    body: bytes
    client: ClientIdentity | None
    """The verified client certificate's identity; ``None`` when the client presented none."""
    tls_version: str
    """``"1.3"`` or ``"1.2"``."""


@dataclass(frozen=True)
class Response:
    """What the handler answers. ``headers`` is a sequence of pairs so that a header (Set-Cookie)
    may repeat."""

    status: int = 200
    body: Union[str, bytes] = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()


Handler = Callable[[Request], Response]


def whoami(request: Request) -> Response:
    """The default application: every GET says who the client is."""
    if request.method not in ("GET", "HEAD"):
        return Response(405, f"{request.method} is not supported here; use GET\n", headers=(("Allow", "GET, HEAD"),))
    if request.client is None:
        return Response(200, "hello anonymous: no client certificate\n")
    if request.client.name is None:
        return Response(200, f"hello nobody: your certificate names no one, it has no subjectAltName "
                             f"({request.client})\n")
    return Response(200, f"hello {request.client.name} ({request.client})\n")


class HttpsService(RunsOn):
    """HTTPS on a loopback address, one thread per connection, until :meth:`stop`.

    ``certificate`` is the server's :class:`~mtlslib.pki.IssuedCertificate`. ``mutual=True``
    requires a client certificate that chains to ``trust``; ``mutual="optional"`` asks for one but
    also serves clients without (``request.client`` is then ``None``), which is what a page with
    a password login as fallback needs. ``log``, if given, receives one line per request and per
    failed handshake, with the client's control characters escaped (:func:`escape_for_log`).
    ``keep_alive=True`` serves several requests per connection (HTTP/1.1 persistent connections);
    by default every response closes its connection.

    Limits, so that slow or hostile clients cannot hold the service (``timeout`` defaults to
    :data:`~mtlslib.tls.net.DEFAULT_TIMEOUT`, 5 s):

    * the TLS handshake must finish within ``timeout`` of its start (a deadline for the whole
      handshake, however slowly the client sends it);
    * each request, request line, headers and body together, must arrive within ``timeout`` of
      its start: the end of the handshake for the first request, its first byte for a later one on
      a kept-alive connection. Past the deadline the service answers ``408 Request Timeout``,
      logs one line and closes the connection (a client that has sent nothing of its request is
      closed without an answer, as browsers expect of a connection they opened in advance);
    * between kept-alive requests a connection may stay idle for ``timeout``, then it is closed;
    * at most ``max_connections`` connections are served at once. The excess is queued, not
      refused: further clients wait in the listen queue (256 connections deep) until a connection
      ends, which the deadlines above make happen within seconds. Beyond the queue, the kernel
      drops new connection attempts and clients retry.

    :attr:`context` is built at once, so it can be adjusted (a key-log file, CRL checking) before
    :meth:`start`.
    """

    def __init__(self, certificate: IssuedCertificate, *, trust: Trust | None = None,
                 mutual: Union[bool, Literal["optional"]] = False, handler: Handler = whoami,
                 host: str = "127.0.0.1", port: int = 0, tls_version: TlsVersion | None = None,
                 timeout: float = DEFAULT_TIMEOUT, log: Callable[[str], None] | None = None,
                 keep_alive: bool = False, max_connections: int = DEFAULT_MAX_CONNECTIONS):
        if mutual not in (True, False, "optional"):
            raise UsageError(f"mutual must be True, False or 'optional', not {mutual!r}")
        self.host = loopback_address(host)
        self.certificate = certificate
        self.mutual = mutual
        self.handler = handler
        self.timeout = timeout
        self.log = log
        self.keep_alive = keep_alive
        self.context = server_context(certificate, trust=trust, mutual=bool(mutual), tls_version=tls_version)
        if mutual == "optional":
            self.context.verify_mode = ssl.CERT_OPTIONAL
        self.inner = AcceptLoop(self._serve_connection, host=self.host, port=port, name="mtlslib-https",
                                max_connections=max_connections)

    # -- life cycle ------------------------------------------------------------------------

    # start() binds, listens and serves in background threads (OSError if the port is taken,
    # ServiceStateError if already running); address and port are the accept loop's (RunsOn).

    def stop(self) -> None:
        """Stop accepting, cut the connections still open, join every thread, close every socket."""
        # A handshake failing as stop() begins finishes (and is logged: its client has already been
        # refused) within the accept loop's handshake grace; stalled ones are cut after it, busy
        # handlers at once.
        self.inner.stop(handler_grace=0)

    # -- where it is -----------------------------------------------------------------------

    @property
    def active_connections(self) -> int:
        """Connections being served right now (at most ``max_connections``)."""
        return self.inner.active_connections

    @property
    def url(self) -> str:
        """``https://HOST:PORT/`` where HOST reaches this service: its address, or ``localhost``
        for a service on 127.0.0.1 (where ``localhost`` leads) whose certificate names
        ``localhost`` but not the address. If the certificate names neither, a client dials the
        URL but checks another name: :attr:`server_name`."""
        host = self._url_host()
        return f"https://{f'[{host}]' if ':' in host else host}:{self.port}/"

    @property
    def server_name(self) -> str:
        """The name a client asks for (SNI) and checks in the certificate: the host of :attr:`url`
        when the certificate names it, else ``localhost``, the certificate's first DNS name or its
        first IP address, in that order of preference. When it differs from the URL's host, a
        client dials the URL's address and checks this name (``curl --connect-to``)."""
        host, names = self._url_host(), san_entries(self.certificate.certificate)
        if f"IP:{host}" in names or f"DNS:{host}" in names:
            return host
        if "DNS:localhost" in names:
            return "localhost"
        others = [n for n in names if n.startswith("DNS:")] + [n for n in names if n.startswith("IP:")]
        return others[0].partition(":")[2] if others else host

    def _url_host(self) -> str:
        names = san_entries(self.certificate.certificate)
        if self.host == "127.0.0.1" and "IP:127.0.0.1" not in names and "DNS:localhost" in names:
            return "localhost"
        return self.host

    def __repr__(self) -> str:
        kind = {True: "mutual TLS", False: "TLS", "optional": "TLS, client certificate optional"}[self.mutual]
        where = self.url if self.inner.running else "stopped"
        return f"<HttpsService {where} ({kind})>"

    # -- per connection --------------------------------------------------------------------

    def _serve_connection(self, conn: socket.socket, client_address, tracked: TrackedConnection) -> None:
        # The handshake's deadline: CPython's do_handshake() holds the whole handshake, not each
        # read, to the socket's timeout.
        conn.settimeout(self.timeout)
        peer = f"{client_address[0]}:{client_address[1]}"
        error: OSError | None = None
        try:
            tls = self.context.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)  # no I/O yet
        except OSError:
            conn.close()
            return
        try:
            tracked.track(tls)
            try:
                tls.do_handshake()
            except OSError as e:  # ssl.SSLError, a timeout, a reset
                self._log_failure(tracked, f"{peer} TLS handshake failed: {error_text(e)}")
                error = e
                return
            peer_der = tls.getpeercert(binary_form=True)
            client = ClientIdentity.from_certificate(x509.load_der_x509_certificate(peer_der)) if peer_der else None
            try:
                _RequestHandler(tls, client_address, self, client)
            except OSError as e:
                self._log_failure(tracked, f"{peer} connection ended early: {error_text(e)}")
                error = e
        finally:
            # close_notify after success (without it OpenSSL 3 clients report "unexpected eof while
            # reading"), the refusal's alert left readable after a failed handshake.
            close_connection(tls, error, min(self.timeout, LINGER))

    def _log(self, line: str) -> None:
        # Connections cut by stop() fail on purpose; reporting them would only be noise.
        if self.log is not None and not self.inner.stopping:
            self.log(escape_for_log(line))

    def _log_failure(self, tracked: TrackedConnection, line: str) -> None:
        # Asked when the failure is caught, not whether stop() has begun since: a client refused a
        # moment before stop() was called is a refusal to report, not a connection stop() cut.
        if self.log is not None and not tracked.aborted:
            self.log(escape_for_log(line))


class _DeadlineReader(io.RawIOBase):
    """The TLS connection as the request parser reads it: every read waits at most until the
    current request's deadline, so that a client sending a byte now and then cannot stretch a
    request for ever (a timeout per read would restart with every byte)."""

    def __init__(self, tls: ssl.SSLSocket, timeout: float):
        self._tls, self._timeout = tls, timeout
        self.deadline: float | None = time.monotonic() + timeout  # the first request starts now, after the handshake
        self.received = 0  # bytes of the current request read so far
        self.expired = False  # whether the current request missed its deadline
        self.ended = False  # whether the client closed its side during the current request

    def readable(self) -> bool:
        return True

    def next_request(self) -> None:
        """A kept-alive connection waits idle for up to ``timeout``; the next request's deadline
        starts with its first byte."""
        self.deadline, self.received, self.expired, self.ended = None, 0, False, False

    def readinto(self, buffer) -> int:
        idle = self.deadline is None
        wait = self._timeout if idle else self.deadline - time.monotonic()
        try:
            if wait <= 0:
                raise TimeoutError("the request's deadline has passed")
            self._tls.settimeout(wait)
            count = self._tls.recv_into(buffer)
        except TimeoutError:
            if idle:
                return 0  # idle for too long: end the connection as if the client had closed it
            self.expired = True
            raise  # http.server ends the request and the connection
        finally:
            self._tls.settimeout(self._timeout)  # writes keep a timeout per operation
        if idle:
            self.deadline = time.monotonic() + self._timeout
        self.received += count
        self.ended = self.ended or count == 0
        return count


class _RequestHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes; with Nagle's algorithm the body of a response on a
    # kept-alive connection waits for the client's delayed ACK, about 40 ms on Linux.
    disable_nagle_algorithm = True

    def __init__(self, tls: ssl.SSLSocket, client_address, service: HttpsService, client: ClientIdentity | None):
        self.client = client
        self.service = service
        super().__init__(tls, client_address, service)

    def setup(self) -> None:
        super().setup()
        # Every read of a request goes through its deadline: the buffered reader http.server made
        # is swapped for one over _DeadlineReader.
        self.rfile.close()
        self._reader = _DeadlineReader(self.connection, self.service.timeout)
        self.rfile = io.BufferedReader(self._reader)

    def handle_one_request(self) -> None:
        self.command, self.requestline = None, ""  # nothing left over from the previous request
        super().handle_one_request()
        # A client that sent nothing (a browser's connection opened in advance) gets no answer.
        if self._reader.expired and self._reader.received:
            self.request_version = self.protocol_version  # the request line may not have arrived
            self._send(Response(408, f"request not complete within {self.service.timeout:g} s\n"))
        self._reader.next_request()

    def version_string(self) -> str:
        return "mtlslib"

    def _dispatch(self) -> None:
        # http.server takes the end of the stream for the end of the headers: a request cut short
        # by a client that went away is not a request to answer.
        if self._reader.ended:
            self.close_connection = True
            return
        body = self._read_body()
        if body is None:
            return
        request = Request(self.command, self.path, self.headers, body, self.client,
                          negotiated_version(self.connection))
        try:
            response = self.service.handler(request)
            if not isinstance(response, Response):
                raise UsageError(f"the handler returned {type(response).__name__}, not a mtlslib.tls.Response")
        except Exception as error:
            # The reader sees the failure in the response and the traceback on stderr, as with
            # any development server; the service itself keeps running.
            self._send(Response(500, f"internal server error: {type(error).__name__}: {error}\n"))
            print(f"{'-' * 40}\nException while handling a request from {self.client_address}:", file=sys.stderr)
            traceback.print_exc()
            return
        self._send(response)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _dispatch

    def _read_body(self) -> bytes | None:
        if self.headers.get("Transfer-Encoding"):
            self._send(Response(411, "send the body with a Content-Length (chunked bodies are not supported)\n"))
            return None
        length = self.headers.get("Content-Length", "0")
        if not length.isdigit():
            self._send(Response(400, f"bad Content-Length {length!r}\n"))
            return None
        if int(length) > MAX_BODY_BYTES:
            self._send(Response(413, f"request body over {MAX_BODY_BYTES} bytes\n"))
            return None
        body = self.rfile.read(int(length))
        if len(body) < int(length):  # the client went away in the middle of its body
            self.close_connection = True
            return None
        return body

    def _send(self, response: Response) -> None:
        body = response.body.encode() if isinstance(response.body, str) else response.body
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(body)))
        # One request per connection unless asked: every connection thread ends promptly, which
        # keeps stop() quick and the per-connection handshake visible in every request.
        if not self.service.keep_alive or self.close_connection:
            self.send_header("Connection", "close")
        for name, value in response.headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_request(self, code="-", size="-") -> None:
        if self.client is None:
            who = "no client certificate"
        else:
            who = self.client.name or "a client certificate without subjectAltName"
        status = getattr(code, "value", code)
        why = f" request not complete within {self.service.timeout:g} s" if status == 408 else ""
        request = f'"{self.requestline}"' if self.requestline else "(no complete request line)"
        self.service._log(f"{self.address_string()}:{self.client_address[1]} {request} {status}{why} ({who})")

    def log_message(self, format, *args) -> None:
        if self._reader.expired:
            return  # http.server's "Request timed out": the 408's line is the one logged
        self.service._log(f"{self.address_string()}:{self.client_address[1]} {format % args}")
