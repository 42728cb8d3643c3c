"""A small HTTPS service on 127.0.0.1 that knows who its client is.

>>> with HttpsService(server_cert, trust=ca, mutual=True) as service:
...     urllib.request.urlopen(service.url, context=client_context(ca, certificate=alice)).read()
b'hello alice@example.test (client certificate CN=alice@example.test, SAN email:alice@example.test)\\n'

The application is one function, ``handler(request) -> Response``. A :class:`Request` carries the
method, path, headers and body, and ``request.client``: the :class:`ClientIdentity` read from the
*verified* client certificate, or ``None`` when the client presented none. The default handler,
:func:`whoami`, answers every GET with who the client is; an authorization decision or a login
form is another handler (or a handler wrapping this one).

Each connection gets its own thread, and the TLS handshake happens there, under ``timeout``: a
client that connects and then says nothing holds one thread for at most ``timeout`` seconds and
never the accept loop. :meth:`HttpsService.stop` cuts the connections still open, joins every
thread and closes every socket.
"""

from __future__ import annotations

import email.message
import http.server
import socket
import ssl
import sys
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
from .net import DEFAULT_TIMEOUT, LINGER, close_connection, loopback_address
from .results import error_text
from .server import AcceptLoop, TrackedConnection

__all__ = ["ClientIdentity", "Handler", "HttpsService", "Request", "Response", "whoami"]

# Large enough for any form or JSON document in the course, small enough that a mistaken upload
# cannot fill the notebook's memory.
MAX_BODY_BYTES = 1 << 20


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


class HttpsService:
    """HTTPS on a loopback address, one thread per connection, until :meth:`stop`.

    ``certificate`` is the server's :class:`~mtlslib.pki.IssuedCertificate`. ``mutual=True``
    requires a client certificate that chains to ``trust``; ``mutual="optional"`` asks for one but
    also serves clients without (``request.client`` is then ``None``), which is what a page with
    a password login as fallback needs. ``log``, if given, receives one line per request and per
    failed handshake. ``keep_alive=True`` serves several requests per connection (HTTP/1.1
    persistent connections, each idle for at most ``timeout``); by default every response closes
    its connection.

    :attr:`context` is built at once, so it can be adjusted (a key-log file, CRL checking) before
    :meth:`start`.
    """

    def __init__(self, certificate: IssuedCertificate, *, trust: Trust | None = None,
                 mutual: Union[bool, Literal["optional"]] = False, handler: Handler = whoami,
                 host: str = "127.0.0.1", port: int = 0, tls_version: TlsVersion | None = None,
                 timeout: float = DEFAULT_TIMEOUT, log: Callable[[str], None] | None = None,
                 keep_alive: bool = False):
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
        self._loop = AcceptLoop(self._serve_connection, host=self.host, port=port, name="mtlslib-https")

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> "HttpsService":
        """Bind, listen and serve in background threads. Raises ``OSError`` if the port is taken,
        :class:`~mtlslib.errors.ServiceStateError` if the service is already running."""
        self._loop.start()
        return self

    def stop(self) -> None:
        """Stop accepting, cut the connections still open, join every thread, close every socket."""
        self._loop.stop(handshake_grace=0, handler_grace=0)

    def __enter__(self) -> "HttpsService":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- where it is -----------------------------------------------------------------------

    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)`` while running; :class:`~mtlslib.errors.ServiceStateError` otherwise."""
        return self._loop.address

    @property
    def port(self) -> int:
        return self.address[1]

    @property
    def url(self) -> str:
        """``https://HOST:PORT/``, with a HOST the server certificate covers when it can: the bound
        address if the certificate names it, else ``localhost`` if it names that."""
        names = set(san_entries(self.certificate.certificate))
        host = self.host
        if f"IP:{host}" not in names and "DNS:localhost" in names:
            host = "localhost"
        return f"https://{f'[{host}]' if ':' in host else host}:{self.port}/"

    def __repr__(self) -> str:
        kind = {True: "mutual TLS", False: "TLS", "optional": "TLS, client certificate optional"}[self.mutual]
        where = self.url if self._loop.running else "stopped"
        return f"<HttpsService {where} ({kind})>"

    # -- per connection --------------------------------------------------------------------

    def _serve_connection(self, conn: socket.socket, client_address, tracked: TrackedConnection) -> None:
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
        if self.log is not None and not self._loop.stopping:
            self.log(line)

    def _log_failure(self, tracked: TrackedConnection, line: str) -> None:
        # Asked when the failure is caught, not whether stop() has begun since: a client refused a
        # moment before stop() was called is a refusal to report, not a connection stop() cut.
        if self.log is not None and not tracked.aborted:
            self.log(line)


class _RequestHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes; with Nagle's algorithm the body of a response on a
    # kept-alive connection waits for the client's delayed ACK, about 40 ms on Linux.
    disable_nagle_algorithm = True

    def __init__(self, tls: ssl.SSLSocket, client_address, service: HttpsService, client: ClientIdentity | None):
        self.client = client
        self.service = service
        super().__init__(tls, client_address, service)

    def version_string(self) -> str:
        return "mtlslib"

    def _dispatch(self) -> None:
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
        return self.rfile.read(int(length))

    def _send(self, response: Response) -> None:
        body = response.body.encode() if isinstance(response.body, str) else response.body
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(body)))
        # One request per connection unless asked: every connection thread ends promptly, which
        # keeps stop() quick and the per-connection handshake visible in every request.
        if not self.service.keep_alive:
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
        self.service._log(f'{self.address_string()}:{self.client_address[1]} "{self.requestline}" '
                          f"{getattr(code, 'value', code)} ({who})")

    def log_message(self, format, *args) -> None:
        self.service._log(f"{self.address_string()}:{self.client_address[1]} {format % args}")
