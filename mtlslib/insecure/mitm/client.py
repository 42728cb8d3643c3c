"""The client side of the man-in-the-middle story, the victim or the impostor: :func:`http_request`
writes one HTTP request, :func:`send_request` sends it over TLS with a given ``ssl.SSLContext`` and
reports what came back (:class:`Exchange`), or OpenSSL's reason for refusing. Loopback only."""

from __future__ import annotations

import ssl
import urllib.parse
from dataclasses import dataclass
from typing import Mapping

from mtlslib.display import Shown
from mtlslib.errors import HandshakeTimeout, UsageError
from mtlslib.tls import DEFAULT_TIMEOUT, connect, error_text

__all__ = ["Exchange", "http_request", "send_request"]

_READ_SIZE = 65536


def http_request(method: str, path: str, *, host: str, form: Mapping[str, str] | None = None) -> bytes:
    """The bytes of one HTTP/1.1 request (``form``: an URL-encoded body, as a login form sends)."""
    if not path.startswith("/"):
        raise UsageError(f"path {path!r} must start with '/'")
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    body = b""
    if form is not None:
        body = urllib.parse.urlencode(form).encode()
        lines += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body)}"]
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass(frozen=True)
class Exchange(Shown):
    """One request as the client lived it: what it sent, what came back, or why it failed."""

    sent: bytes
    """What the client sent (nothing if the handshake failed: it never got the chance)."""
    received: bytes
    error: str | None
    """OpenSSL's reason for a refused handshake, or the alert that ended the connection."""
    server_subject: str | None = None
    """The subject of the server certificate the client accepted."""

    @property
    def status(self) -> int | None:
        """The HTTP status code of the answer (``None`` without one)."""
        parts = self.received.split(b" ", 2)
        if len(parts) >= 2 and parts[0].startswith(b"HTTP/") and parts[1].isdigit():
            return int(parts[1])
        return None

    @property
    def body(self) -> bytes:
        return self.received.partition(b"\r\n\r\n")[2]

    def __str__(self) -> str:
        if self.error and not self.sent:
            return f"refused the handshake: {self.error}"
        if self.error:
            return f"sent {len(self.sent)} bytes, then the connection failed: {self.error}"
        if self.status is None:
            return f"sent {len(self.sent)} bytes; the connection closed without an answer"
        status_line = self.received.split(b"\r\n", 1)[0].decode("latin-1")
        return f"{status_line}: {self.body.decode('utf-8', 'replace').strip()}"


def send_request(address: tuple[str, int], context: ssl.SSLContext, request: bytes, *,
                 server_hostname: str = "localhost", timeout: float = DEFAULT_TIMEOUT) -> Exchange:
    """Connect to ``address`` (loopback only) with ``context``, send ``request``, read the answer
    until the server closes. A refused handshake or a closing alert is reported, not raised."""
    try:
        connection = connect(address, context, server_hostname=server_hostname, timeout=timeout)
    except (ssl.SSLError, ConnectionError, HandshakeTimeout) as error:
        return Exchange(b"", b"", error_text(error) if isinstance(error, OSError) else str(error))
    received = bytearray()
    error = None
    with connection:
        try:
            connection.tls.sendall(request)
            while True:
                chunk = connection.tls.recv(_READ_SIZE)
                if not chunk:
                    break
                received += chunk
        except OSError as e:  # in TLS 1.3, a refused client certificate arrives here, as an alert
            error = error_text(e)
    return Exchange(request, bytes(received), error, connection.view.peer_subject)

