"""Chapter 10's recordings: real TLS sessions between two OpenSSL endpoints, kept byte for byte as an
eavesdropper on the path would keep them, and what a leaked key later opens in them.

The two endpoints exchange their bytes through memory buffers, moved by hand one flight at a time,
so the order of the recording is the same on every run and nothing touches the network: the bytes
are exactly those a TCP connection between them would carry. The client writes a key log, as
``SSLKEYLOGFILE`` does, which stands for "secrets logged at the time" and is kept apart from the
recording itself.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path

from mtlslib.display import Shown
from mtlslib.errors import DecryptError
from mtlslib.pki import IssuedCertificate, SslFiles, Trust
from mtlslib.tls.contexts import client_context, server_context
from mtlslib.wire import Conversation, decode_conversation
from mtlslib.wire.conversation import ApplicationData
from mtlslib.wire.keyschedule import parse_keylog
from mtlslib.wire.tls12 import TLS12_SUITES

from .resumption import MemoryPair

__all__ = ["Link", "Opened", "Recording", "key_exchange_of", "try_to_open"]


@dataclass
class Recording(Shown):
    """One connection as it crossed the wire, the key log its client wrote, and what was said."""

    chunks: list[tuple[str, bytes]]  # (sender, bytes) in wire order
    keylog: str
    version: str
    cipher: str
    request: bytes
    response: bytes
    resumed: bool = False
    session: ssl.SSLSession | None = field(default=None, repr=False)  # for resuming it

    def stream(self, sender: str) -> bytes:
        return b"".join(chunk for who, chunk in self.chunks if who == sender)

    def contains(self, secret: bytes) -> bool:
        """Whether ``secret`` appears anywhere in the recorded bytes, either direction."""
        return any(secret in self.stream(sender) for sender in ("client", "server"))

    def observed(self) -> Conversation:
        """What an eavesdropper decodes without any key."""
        return decode_conversation(self.chunks)

    @property
    def client_random(self) -> bytes:
        return self.observed().client_random

    @property
    def master_secret(self) -> bytes | None:
        """The TLS 1.2 master secret the client logged for this connection (its CLIENT_RANDOM line)."""
        return parse_keylog(self.keylog).get(self.client_random, {}).get("CLIENT_RANDOM")

    def __str__(self) -> str:
        resumed = ", resumed" if self.resumed else ""
        return f"{self.version}, {self.cipher} (key exchange: {key_exchange_of(self.cipher)}){resumed}"


def key_exchange_of(cipher: str) -> str:
    """How a suite agrees on its keys, by OpenSSL's name: TLS 1.3 suites leave it to the key_share."""
    if cipher.startswith("TLS_"):
        return "a TLS 1.3 key share: ephemeral (EC)DHE, absent only in a PSK-only (psk_ke) handshake"
    suite = next((s for s in TLS12_SUITES.values() if s.name == cipher), None)
    if suite is None:
        return "unknown to this course"
    return "RSA key transport" if suite.key_exchange == "RSA" else "ephemeral ECDHE"


class Link:
    """A server and a client that talk through memory, with every byte recorded.

    Both contexts live as long as the link, as in a real server: the server's session-ticket key
    belongs to its context, so a client can resume a session it got from an earlier connection.
    ``cipher`` (TLS 1.2 only) restricts both sides to one suite, e.g. ``"AES128-GCM-SHA256"``
    (RSA key transport: needs an RSA server certificate) or ``"ECDHE-RSA-AES128-GCM-SHA256"``.
    """

    def __init__(self, server: IssuedCertificate, *, trust: Trust, client: IssuedCertificate | None = None,
                 tls_version: str = "1.2", cipher: str | None = None):
        self.server_ctx = server_context(server, trust=trust, mutual=client is not None, tls_version=tls_version)
        self.client_ctx = client_context(trust, certificate=client, tls_version=tls_version)
        if cipher is not None:
            for ctx in (self.server_ctx, self.client_ctx):
                ctx.set_ciphers(cipher)

    def connect(self, request: bytes, response: bytes, *, resume: Recording | None = None) -> Recording:
        """One connection: handshake, ``request`` from the client, ``response`` from the server,
        close_notify both ways. ``resume``: offer the session (ticket) of an earlier recording."""
        with SslFiles(keylog=b"") as paths:
            self.client_ctx.keylog_filename = paths["keylog"]  # the client's only: each line once
            try:
                pair = MemoryPair(self.server_ctx, self.client_ctx, resume.session if resume else None,
                                  "localhost")
                client, server = pair.client, pair.server
                pair.handshake()
                client.write(request)
                pair.move()
                heard = server.read(len(request) + 1)
                server.write(response)
                pair.move()
                answer = client.read(len(response) + 1)
                _close(pair)
                keylog = Path(paths["keylog"]).read_text()
            finally:
                self.client_ctx.keylog_filename = None
        if heard != request or answer != response:
            raise DecryptError("the two ends did not receive what was sent")  # pragma: no cover - OpenSSL's job
        return Recording(pair.chunks, keylog, client.version(), client.cipher()[0], request, response,
                         client.session_reused, client.session)


def _close(pair: MemoryPair) -> None:
    """close_notify from the client, then the server's answer, as TLS asks."""
    try:
        pair.client.unwrap()
    except ssl.SSLWantReadError:
        pass
    pair.move()
    try:
        pair.server.read(1)
    except ssl.SSLZeroReturnError:
        pass
    pair.server.unwrap()
    pair.move()
    pair.client.unwrap()


@dataclass(frozen=True)
class Opened(Shown):
    """What one key did to one recording: the application data it revealed, or why it opened nothing."""

    recording: Recording
    conversation: Conversation | None
    refusal: str | None = None

    @property
    def plaintexts(self) -> list[tuple[str, bytes]]:
        if self.conversation is None:
            return []
        return [(m.sender, m.payload.plaintext) for m in self.conversation.messages
                if isinstance(m.payload, ApplicationData) and m.payload.plaintext is not None]

    def __str__(self) -> str:
        head = f"{self.recording.cipher} ({key_exchange_of(self.recording.cipher)}): "
        if self.conversation is None:
            return head + "NOT opened\n  " + self.refusal
        lines = [head + f"opened, {len(self.plaintexts)} application records"]
        lines += [f"  {sender:>6} said {text!r}" for sender, text in self.plaintexts]
        return "\n".join(lines)


def try_to_open(recording: Recording, *, server_key=None, keylog: str | None = None) -> Opened:
    """Decode ``recording`` with what an attacker holds later: the server's private key (its PEM
    bytes, say, from a stolen backup) and/or a key log. Either the records open, every Finished
    checked, or :class:`Opened` carries the decoder's reason why not."""
    try:
        conversation = decode_conversation(recording.chunks, keylog, server_key=server_key, tls12=True)
    except DecryptError as error:
        return Opened(recording, None, str(error))
    if not conversation.decrypted and conversation.version == "TLSv1.3" and server_key is not None:
        signed = ("a resumption sends no certificate, so the server's key signed nothing" if recording.resumed
                  else "the server's key only signed CertificateVerify")
        return Opened(recording, None, "TLS 1.3 has no RSA key transport: a full handshake always agrees on its "
                                       f"keys by ephemeral (EC)DHE, and {signed}")
    if not conversation.decrypted:
        return Opened(recording, None, "nothing to open it with: give a server key or a key log")
    failed = [check for check in conversation.checks if not check.ok]
    if failed:  # pragma: no cover - a record that opened under the wrong keys would be a decoder bug
        return Opened(recording, None, "; ".join(str(check) for check in failed))
    return Opened(recording, conversation)
