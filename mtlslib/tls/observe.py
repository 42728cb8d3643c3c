"""OpenSSL's own view of a connection: every handshake message and alert, through its message callback.

CPython exposes OpenSSL's message callback only as ``SSLContext._msg_callback`` (a private name,
made for its own test suite). This module is the one place in mtlslib that touches it:

* :class:`MessageTap` attaches a function to a context's message callback and gives the previous
  one back on :meth:`~MessageTap.detach` (a user's context outlives our use of it);
* :class:`Observer` reads, per connection, the fatal alerts sent and received and the key-exchange
  group the server chose: what :class:`~mtlslib.tls.PeerView` and ``HandshakeResult.group`` report.

The callback receives ``(connection, direction, version, content_type, msg_type, data)`` with
``direction`` ``"read"`` or ``"write"`` and ``data`` the whole message (a handshake message with
its 4-byte header, the 2 bytes of an alert, a record header for content type 0x100).
"""

from __future__ import annotations

import ssl
import threading
from dataclasses import dataclass
from types import FunctionType
from typing import Callable

from mtlslib.errors import UsageError
from mtlslib.wire import negotiated_group
from mtlslib.wire.constants import ALERT_DESCRIPTIONS

__all__ = ["ALERT", "CHANGE_CIPHER_SPEC", "HANDSHAKE", "RECORD_HEADER", "MessageCallback", "MessageTap",
           "Observed", "Observer", "fatal_alert"]

# Content types as the message callback reports them.
CHANGE_CIPHER_SPEC, ALERT, HANDSHAKE, RECORD_HEADER = 20, 21, 22, 0x100

MessageCallback = Callable[[object, str, int, int, int, bytes], None]

_ATTRIBUTE = "_msg_callback"
# The C-level slot behind ssl.SSLContext._msg_callback. ssl's own wrapper turns three arguments
# into enums on every call (record headers included, some 40 calls per side per handshake), which
# costs more than the work being watched; the slot itself passes plain ints.
_SLOT = vars(getattr(ssl, "_SSLContext", object)).get(_ATTRIBUTE)


class MessageTap:
    """``callback`` attached to ``ctx``'s OpenSSL message callback until :meth:`detach`.

    ``direct=True`` attaches a plain function itself, without a wrapper around it (OpenSSL calls it
    some 40 times per side per handshake); it is then marked as attached, so give it to one tap only.
    """

    def __init__(self, ctx: ssl.SSLContext, callback: MessageCallback, *, direct: bool = False):
        self._ctx = ctx
        if direct and isinstance(callback, FunctionType) and not hasattr(callback, "user_function"):
            tapped = callback
        else:
            def tapped(*args) -> None:  # a plain function of its own: it can carry the attribute ssl reads back
                callback(*args)

        self._callback = tapped
        if hasattr(_SLOT, "__set__"):
            self._previous = _SLOT.__get__(ctx)
            tapped.user_function = tapped  # what ssl.SSLContext._msg_callback reads back
            _SLOT.__set__(ctx, tapped)
        elif hasattr(ctx, _ATTRIBUTE):
            self._previous = getattr(ctx, _ATTRIBUTE)
            setattr(ctx, _ATTRIBUTE, tapped)
        else:
            raise UsageError("this Python's ssl module has no message callback (CPython 3.8 or later is needed)")

    def detach(self) -> None:
        """Give the context back its previous message callback, unless someone replaced ours since."""
        if hasattr(_SLOT, "__set__"):
            if getattr(_SLOT.__get__(self._ctx), "user_function", None) is self._callback:
                _SLOT.__set__(self._ctx, self._previous)
        elif getattr(self._ctx, _ATTRIBUTE, None) is self._callback:
            setattr(self._ctx, _ATTRIBUTE, self._previous)


def fatal_alert(data: bytes) -> str | None:
    """The description of a fatal alert's 2 bytes (``None`` for a warning such as close_notify)."""
    if len(data) == 2 and data[0] == 2:
        return ALERT_DESCRIPTIONS.get(data[1], f"alert {data[1]}")
    return None


@dataclass
class Observed:
    """What OpenSSL reported about one connection."""

    alert_sent: str | None = None
    alert_received: str | None = None
    group: str | None = None


class Observer:
    """Reads alerts and the key-exchange group from OpenSSL's message callback, per connection.

    Safe to share between the threads that serve connections on one context.
    """

    def __init__(self, ctx: ssl.SSLContext):
        self._by_connection: dict[int, Observed] = {}
        self._lock = threading.Lock()
        get = self._get

        # A closure, not a method: it runs for every record and message, and this keeps each call to one frame.
        def callback(conn, direction, version, content_type, msg_type, data) -> None:
            if content_type == ALERT:
                description = fatal_alert(data)  # warnings (close_notify) explain nothing
                if description is not None:
                    observed = get(conn)
                    if direction == "write":
                        observed.alert_sent = observed.alert_sent or description
                    else:
                        observed.alert_received = observed.alert_received or description
            elif content_type == HANDSHAKE and direction == "read":
                group = negotiated_group(data)  # None at once for anything but ServerHello/ServerKeyExchange
                if group:
                    get(conn).group = group

        self._tap = MessageTap(ctx, callback, direct=True)

    def detach(self) -> None:
        self._tap.detach()

    def _get(self, conn) -> Observed:
        with self._lock:
            return self._by_connection.setdefault(id(conn), Observed())

    def pop(self, conn) -> Observed:
        """What was seen on ``conn`` (forgotten here once read)."""
        with self._lock:
            return self._by_connection.pop(id(conn), Observed())
