"""HTTP/1.1 over TLS, the client's side: one request, and reading the raw response.

* :func:`parse_response` reads a raw HTTP/1.x response (what ``curl --include`` and
  ``openssl s_client`` print, what a socket returns) into an :class:`HttpResponse`: the package's
  one HTTP response parser.
* :func:`https_request` sends one request on a new TLS connection to a loopback address and
  returns a :class:`Reply`: an HTTP status and text, or the reason the connection was refused
  (OpenSSL's, when TLS refused it), never an exception for a refusal.
"""

from __future__ import annotations

import re
import ssl
from dataclasses import dataclass
from typing import Mapping
from urllib.parse import urlencode

from mtlslib.display import Shown

from .net import DEFAULT_TIMEOUT, dial, loopback_address
from .results import error_text

__all__ = ["HttpResponse", "Reply", "https_request", "parse_response"]

_STATUS_LINE = re.compile(rb"HTTP/\d(?:\.\d)? (\d{3})(?: ([^\r\n]*))?")
# Larger than any answer of the course's services; a runaway peer cannot fill the notebook's memory.
_MAX_RESPONSE_BYTES = 4 << 20


@dataclass(frozen=True)
class HttpResponse(Shown):
    """One HTTP response: status, reason phrase, headers (in order, repeats kept) and body."""

    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or ``None``."""
        return next((value for key, value in self.headers if key.lower() == name.lower()), None)

    @property
    def text(self) -> str:
        """The body decoded as UTF-8 (undecodable bytes replaced)."""
        return self.body.decode("utf-8", "replace")

    def __str__(self) -> str:
        return f"HTTP {self.status} {self.reason}".rstrip() + (f"\n{self.text.rstrip()}" if self.body else "")


def parse_response(raw: bytes) -> HttpResponse | None:
    """The HTTP/1.x response at the start of ``raw``; ``None`` if ``raw`` holds no complete status
    line and header block. With a ``Content-Length``, the body stops there (what follows is not
    part of this response); without one, the body is everything after the headers."""
    head, separator, rest = raw.partition(b"\r\n\r\n")
    match = _STATUS_LINE.match(head)
    if not separator or match is None:
        return None
    headers = []
    for line in head.split(b"\r\n")[1:]:
        name, colon, value = line.decode("latin-1").partition(":")
        if colon:
            headers.append((name.strip(), value.strip()))
    response = HttpResponse(int(match.group(1)), (match.group(2) or b"").decode("latin-1").strip(),
                            tuple(headers), rest)
    length = response.header("Content-Length")
    if length is not None and length.isdigit():
        response = HttpResponse(response.status, response.reason, response.headers, rest[:int(length)])
    return response


def _complete(raw: bytes) -> bool:
    """Whether ``raw`` already holds a whole response with a Content-Length body."""
    response = parse_response(raw)
    if response is None:
        return False
    length = response.header("Content-Length")
    return length is not None and length.isdigit() and len(raw.partition(b"\r\n\r\n")[2]) >= int(length)


@dataclass(frozen=True)
class Reply(Shown):
    """What a client got: an HTTP status and text, or the reason TLS refused the connection."""

    status: int | None
    text: str = ""
    refused: str | None = None
    """Why the connection ended before any HTTP answer (``None`` if there was one): OpenSSL's
    reason when TLS refused it."""
    by_tls: bool = True
    """Whether ``refused`` came from TLS (an alert, a failed check) rather than from TCP."""

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def outcome(self) -> str:
        if self.refused is not None:
            return f"{'refused during the TLS handshake' if self.by_tls else 'no HTTP answer'}: {self.refused}"
        first_line = self.text.strip().splitlines()[0] if self.text.strip() else ""
        return f"HTTP {self.status}: {first_line}"

    def __str__(self) -> str:
        return self.outcome


def https_request(address: tuple[str, int], context: ssl.SSLContext, *, method: str = "GET", path: str = "/",
                  form: Mapping[str, str] | None = None, hostname: str = "localhost",
                  timeout: float = DEFAULT_TIMEOUT) -> Reply:
    """One HTTPS request on a new connection to a loopback ``address``; ``hostname`` is the name
    the client asks for (SNI) and checks in the server's certificate, as a browser does with the
    name in the URL. ``form`` is sent URL-encoded, as an HTML form would.

    Raises :class:`~mtlslib.errors.NotLoopbackError` for any address outside 127.0.0.0/8 or ::1.
    """
    host, port = loopback_address(address[0]), address[1]
    body = urlencode(form).encode() if form is not None else b""
    head = [f"{method} {path} HTTP/1.1", f"Host: {hostname}", "Connection: close"]
    if form is not None:
        head.append("Content-Type: application/x-www-form-urlencoded")
    if form is not None or method in ("POST", "PUT", "PATCH"):
        head.append(f"Content-Length: {len(body)}")
    request = ("\r\n".join(head) + "\r\n\r\n").encode() + body
    sock = dial(host, timeout)
    raw = b""
    try:
        sock.connect((host, port))
        # The name checked is the service's, not the address dialled (127.0.0.1).
        with context.wrap_socket(sock, server_hostname=hostname) as tls:
            tls.sendall(request)
            while len(raw) < _MAX_RESPONSE_BYTES and not _complete(raw):
                try:
                    data = tls.recv(65536)
                except ssl.SSLEOFError:  # the server hung up without close_notify: the answer is whole
                    if raw:
                        break
                    raise
                if not data:
                    break
                raw += data
    except ssl.SSLError as error:
        return Reply(None, refused=error_text(error))
    except (ConnectionError, TimeoutError) as error:  # the peer hung up or went silent
        return Reply(None, refused=error_text(error), by_tls=False)
    finally:
        sock.close()
    response = parse_response(raw)
    if response is None:
        return Reply(None, refused="the server closed the connection without an HTTP answer", by_tls=False)
    return Reply(response.status, response.text)
