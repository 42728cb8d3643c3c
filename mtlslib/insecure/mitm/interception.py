"""One victim, one relay: :func:`intercept` puts a fresh :class:`~.relay.ManInTheMiddle` in front of
a server, lets a victim send one request through it, and reports both points of view."""

from __future__ import annotations

import ssl
from dataclasses import dataclass

from mtlslib.display import Shown
from mtlslib.errors import HandshakeTimeout
from mtlslib.pki import IssuedCertificate
from mtlslib.tls import DEFAULT_TIMEOUT

from .client import Exchange, send_request
from .relay import ManInTheMiddle, RelayedConnection

__all__ = ["Interception", "intercept"]


@dataclass(frozen=True)
class Interception(Shown):
    """One victim connection through a fresh :class:`ManInTheMiddle`: both points of view."""

    victim: Exchange
    """What the victim saw."""
    relay: RelayedConnection
    """What the relay saw and recorded."""

    def __str__(self) -> str:
        relay = "\n".join(f"        {line}".rstrip() for line in str(self.relay).splitlines()).lstrip()
        return f"victim: {self.victim}\nrelay:  {relay}"


def intercept(upstream: tuple[str, int], certificate: IssuedCertificate, victim_context: ssl.SSLContext,
              request: bytes, *, hostname: str = "localhost", upstream_context: ssl.SSLContext | None = None,
              timeout: float = DEFAULT_TIMEOUT) -> Interception:
    """Put a relay presenting ``certificate`` in front of ``upstream``, let a victim with
    ``victim_context`` send ``request`` to ``hostname`` through it, and report both sides."""
    with ManInTheMiddle(upstream, certificate, upstream_hostname=hostname, upstream_context=upstream_context,
                        timeout=timeout) as relay:
        exchange = send_request(relay.address, victim_context, request, server_hostname=hostname, timeout=timeout)
    if not relay.connections:  # the victim never reached the relay (it refused before connecting)
        raise HandshakeTimeout(f"the victim did not connect to the relay: {exchange}")
    return Interception(exchange, relay.connections[0])
