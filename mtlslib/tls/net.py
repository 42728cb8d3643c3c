"""Sockets on loopback only: the address check, listening, and closing a TLS connection politely.

Every server and client of :mod:`mtlslib.tls` binds and dials through here, so that no socket of
the course ever reaches past 127.0.0.0/8 or ::1.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import time

from mtlslib.errors import NotLoopbackError

__all__ = ["DEFAULT_TIMEOUT", "LINGER", "close_connection", "dial", "drain_before_close", "listen",
           "loopback_address", "no_delay", "wake_accept"]

DEFAULT_TIMEOUT = 5.0
# After a failed handshake, how long a side waits for its peer to read the alert and hang up.
LINGER = 1.0


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
    """A listening TCP socket on a loopback address (port 0: any free port)."""
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


def dial(host: str, timeout: float) -> socket.socket:
    """A TCP socket, not yet connected, for a loopback ``host``, with ``timeout`` and no Nagle delay."""
    sock = socket.socket(socket.AF_INET6 if ":" in loopback_address(host) else socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    no_delay(sock)
    return sock


def no_delay(sock: socket.socket) -> None:
    # TLS writes small records back to back (a reply, then close_notify); with Nagle's algorithm
    # the second waits for the peer's delayed ACK, about 40 ms on Linux.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def wake_accept(listener: socket.socket) -> None:
    """End a blocked ``accept()`` at once (on Linux; elsewhere the accept timeout does)."""
    try:
        listener.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


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


def close_connection(tls: socket.socket, error: BaseException | str | None, linger: float) -> None:
    """Close ``tls``: after success with a close_notify alert, as TLS requires (without one,
    OpenSSL 3 peers report "unexpected eof while reading"); after a TLS failure, first let the
    peer read the alert (see :func:`drain_before_close`)."""
    if error is None and isinstance(tls, ssl.SSLSocket):
        try:
            tls.settimeout(linger)
            tls.unwrap()  # sends close_notify, then waits (briefly) for the peer's close_notify or EOF
        except (OSError, ValueError):
            pass
    elif isinstance(error, ssl.SSLError) and not isinstance(error, ssl.SSLEOFError) and linger > 0:
        drain_before_close(tls, linger)
    tls.close()
