"""What each side of a connection saw: :class:`PeerView`, :class:`HandshakeResult`, and the
readable text of a network error."""

from __future__ import annotations

import re
import socket
import ssl
from dataclasses import dataclass
from functools import lru_cache

from cryptography import x509

from mtlslib.display import Shown
from mtlslib.pki import san_entries

from .observe import Observed

__all__ = ["HandshakeResult", "PeerView", "error_text", "peer_certificate", "peer_view"]


@dataclass(frozen=True)
class PeerView(Shown):
    """What one side of a connection saw of the other."""

    role: str
    handshake_done: bool = False
    peer_subject: str | None = None
    peer_names: tuple[str, ...] = ()
    error: str | None = None
    alert_sent: str | None = None
    alert_received: str | None = None

    @property
    def reason(self) -> str | None:
        """OpenSSL's reason code for :attr:`error` (``CERTIFICATE_VERIFY_FAILED``,
        ``TLSV1_ALERT_UNKNOWN_CA``...): the same on every OpenSSL build, where the words after it
        are not (3.0's "sslv3 alert" is 3.5's "ssl/tls alert")."""
        found = re.match(r"\[SSL: ([A-Z0-9_]+)\]", self.error or "")
        return found.group(1) if found else None

    @property
    def peer_identity(self) -> str | None:
        """The first subjectAltName value of the verified peer certificate (``None`` if none)."""
        return self.peer_names[0].split(":", 1)[1] if self.peer_names else None

    def __str__(self) -> str:
        peer = "server" if self.role == "client" else "client"
        if self.peer_subject is not None:
            seen = (f"verified {peer} certificate {self.peer_subject or '(empty subject)'} "
                    f"[{', '.join(self.peer_names)}]")
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
class HandshakeResult(Shown):
    """The outcome of :func:`~mtlslib.tls.handshake`: negotiated parameters and what each side saw.

    ``tls_version`` is ``"1.2"`` or ``"1.3"`` (``None`` when no handshake completed), the same
    names every ``tls_version=`` argument takes.
    """

    ok: bool
    tls_version: str | None
    cipher: str | None
    group: str | None
    client_saw: PeerView
    server_saw: PeerView
    duration: float
    mutual: bool = False

    def __str__(self) -> str:
        kind = "mutual TLS" if self.mutual else "TLS"
        if self.ok:
            head = (f"{kind} handshake OK: TLS {self.tls_version}, {self.cipher}, key exchange "
                    f"{self.group or 'unknown'}, {self.duration * 1000:.1f} ms")
        else:
            head = f"{kind} handshake FAILED"
        return f"{head}\n  client saw: {self.client_saw}\n  server saw: {self.server_saw}"

    # IPython takes the first class of the MRO that defines _repr_pretty_ or __repr__, and the
    # dataclass defines __repr__: without this the notebook would show the field-by-field repr.
    _repr_pretty_ = Shown._repr_pretty_


def error_text(error: BaseException) -> str:
    """A network or TLS error as one readable line, the same on every run and every Python build."""
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


def peer_certificate(tls: ssl.SSLSocket | ssl.SSLObject) -> tuple[str | None, tuple[str, ...]]:
    """Subject and SAN entries of the verified peer certificate; read right after the handshake,
    because a later alert puts the connection in a state where OpenSSL no longer reports them."""
    peer_der = tls.getpeercert(binary_form=True)
    if not peer_der:
        return None, ()
    return _describe_der(peer_der)


def peer_view(role: str, peer: tuple[str | None, tuple[str, ...]] | None, error: BaseException | str | None,
              observed: Observed | None = None) -> PeerView:
    """A :class:`PeerView` from what :func:`peer_certificate` read (``None``: the handshake did not
    complete), the error that ended the connection and what the :class:`Observer` saw."""
    subject, names = peer or (None, ())
    if isinstance(error, BaseException):
        error = error_text(error)
    observed = observed or Observed()
    return PeerView(role, peer is not None, subject, names, error, observed.alert_sent, observed.alert_received)
