"""A relay that replays its victim's proof of key possession to the real server, and fails.

In TLS 1.3 a client proves that it holds the private key of its certificate with CertificateVerify:
a signature over the hash of the handshake so far (RFC 8446 section 4.4.3), which covers both
randoms and both key shares. A relay that asks its victim for a certificate receives the victim's
Certificate and CertificateVerify, but the signature covers the victim's handshake *with the
relay*. :func:`replay_client_proof` opens the relay's own TLS 1.3 connection to the real server
and, when the server asks for a client certificate, sends the victim's two messages unchanged,
then a Finished that the relay computes itself (it holds the handshake keys of its own
connection). The server checks the signature against the transcript of *this* connection and
refuses. INSECURE on purpose; loopback only, every step with a timeout.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass
from pathlib import Path

from mtlslib.display import Shown
from mtlslib.errors import DecodeError, HandshakeTimeout, UsageError
from mtlslib.pki import SslFiles
from mtlslib.tls import DEFAULT_TIMEOUT, dial
from mtlslib.wire import Conversation, WireMessage, decode_conversation
from mtlslib.wire.keyschedule import (
    finished_verify_data,
    parse_keylog,
    record_nonce,
    tls13_suite,
    traffic_keys,
    transcript_hash,
)
from mtlslib.wire.messages import Alert, HandshakeMessage

__all__ = ["ProofReplay", "replay_client_proof"]

_READ_SIZE = 65536
# The TLS 1.3 "middlebox compatibility" ChangeCipherSpec a client sends before its second flight
# (RFC 8446 appendix D.4): clear text, and ignored by the server.
_CHANGE_CIPHER_SPEC = b"\x14\x03\x03\x00\x01\x01"
_MAX_PLAINTEXT = 1 << 14  # one record's limit (RFC 8446 section 5.1)


@dataclass(frozen=True, repr=False)
class ProofReplay(Shown):
    """The relay's connection to the real server, with the victim's proof replayed into it.

    ``victim``: the victim's handshake with the relay, where the proof was made. ``upstream``: the
    relay's own connection to the server, decoded and checked by :mod:`mtlslib.wire`."""

    victim: Conversation
    upstream: Conversation

    @property
    def proof_check(self):
        """The wire decoder's check of the replayed CertificateVerify over this connection's transcript."""
        return next(check for check in self.upstream.checks if check.what == "client CertificateVerify")

    def differences(self) -> list[str]:
        """What differs between the handshake the victim signed and the one the server checks."""
        def hello(conversation: Conversation, name: str):
            return conversation.find(name).payload

        lines = []
        for what, name, read in (("client random", "ClientHello", lambda m: m.random),
                                 ("server random", "ServerHello", lambda m: m.random),
                                 ("client key share", "ClientHello", lambda m: m.key_shares),
                                 ("server key share", "ServerHello", lambda m: m.key_share)):
            same = read(hello(self.victim, name)) == read(hello(self.upstream, name))
            lines.append(f"{what + ':':<18} {'the same' if same else 'different'}")
        return lines

    def __str__(self) -> str:
        lines = ["the relay's connection to the real server:"]
        lines += [f"    {_describe(message)}" for message in self.upstream.messages
                  if isinstance(message.payload, (HandshakeMessage, Alert))]
        lines.append("the handshake the victim signed, against this one:")
        lines += [f"    {line}" for line in self.differences()]
        lines.append("the wire decoder's checks over this connection's transcript:")
        lines += [f"    {check}" for check in self.upstream.checks]
        return "\n".join(lines)


def _describe(message: WireMessage) -> str:
    arrow = "relay -> server" if message.sender == "client" else "server -> relay"
    note = {"Certificate": "the victim's, copied", "CertificateVerify": "the victim's signature, copied",
            "Finished": "computed by the relay"}.get(message.name, "") if message.sender == "client" else ""
    if isinstance(message.payload, Alert):
        note = str(message.payload)
    return f"{arrow}  {message.name:<20} {note}".rstrip()


def replay_client_proof(upstream: tuple[str, int], victim: Conversation, *, hostname: str = "localhost",
                        timeout: float = DEFAULT_TIMEOUT) -> ProofReplay:
    """Connect to ``upstream`` (loopback) over TLS 1.3 as the relay would, and answer its
    CertificateRequest with the client Certificate and CertificateVerify found in ``victim`` (a
    decrypted conversation, e.g. ``capture_handshake(...).conversation``)."""
    certificate, proof = (victim.find(name, "client") for name in ("Certificate", "CertificateVerify"))
    if certificate is None or proof is None:
        raise UsageError("the victim's conversation holds no client Certificate and CertificateVerify: capture "
                         "a mutual TLS 1.3 handshake, with its key log, so that they can be read")
    chunks: list[tuple[str, bytes]] = []
    with SslFiles(keylog=b"") as paths:
        sock = dial(upstream[0], timeout)
        try:
            sock.connect(upstream)
            _handshake_until_client_flight(sock, _relay_context(paths["keylog"]), hostname, chunks)
            logged = Path(paths["keylog"]).read_text()  # the handshake is over: every secret is in it
            secrets = next(iter(parse_keylog(logged).values()))
            flight = _forged_flight(decode_conversation(chunks, logged), certificate.payload.raw, proof.payload.raw,
                                    secrets["CLIENT_HANDSHAKE_TRAFFIC_SECRET"])
            sock.sendall(flight)
            chunks.append(("client", flight))
            _read_until_closed(sock, chunks)
        finally:
            sock.close()
    return ProofReplay(victim, decode_conversation(chunks, logged))


def _relay_context(keylog: str) -> ssl.SSLContext:
    """The relay's client side: TLS 1.3, no verification (the attacker does not care whom it
    reaches), and a key log, so that it can write its own Finished."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_3
    context.keylog_filename = keylog
    return context


def _handshake_until_client_flight(sock: socket.socket, context: ssl.SSLContext, hostname: str,
                                   chunks: list[tuple[str, bytes]]) -> None:
    """Run OpenSSL's client up to the point where it has read the server's whole flight, and
    throw away the second flight it then writes (an empty Certificate and its Finished)."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname=hostname)
    while True:
        try:
            tls.do_handshake()
            return
        except ssl.SSLWantReadError:
            data = outgoing.read()
            if data:
                sock.sendall(data)
                chunks.append(("client", data))
            data = sock.recv(_READ_SIZE)
            if not data:
                raise HandshakeTimeout("the server closed the connection during the handshake") from None
            chunks.append(("server", data))
            incoming.write(data)


def _forged_flight(conversation: Conversation, certificate: bytes, proof: bytes, client_secret: bytes) -> bytes:
    """ChangeCipherSpec, then one record under the client handshake traffic key holding the
    victim's Certificate and CertificateVerify and a Finished over this connection's transcript."""
    server_hello = conversation.find("ServerHello").payload
    if conversation.find("CertificateRequest") is None:
        raise DecodeError("the server did not ask for a client certificate: there is no proof to replay")
    suite = tls13_suite(server_hello.cipher_suite)
    transcript = [message.raw for message in conversation.handshake_messages()]
    verify_data = finished_verify_data(client_secret, transcript_hash([*transcript, certificate, proof], suite),
                                       suite)
    finished = b"\x14" + len(verify_data).to_bytes(3, "big") + verify_data
    inner = certificate + proof + finished + b"\x16"  # TLSInnerPlaintext: content, then its type (handshake)
    if len(inner) > _MAX_PLAINTEXT:
        raise UsageError("the victim's certificate chain is too large for one record")
    keys = traffic_keys(client_secret, suite)
    header = b"\x17\x03\x03" + (len(inner) + 16).to_bytes(2, "big")  # 16: the AEAD tag
    return _CHANGE_CIPHER_SPEC + header + suite.aead(keys.key).encrypt(record_nonce(keys.iv, 0), inner, header)


def _read_until_closed(sock: socket.socket, chunks: list[tuple[str, bytes]]) -> None:
    """Collect what the server answers (its alert) until it closes the connection."""
    try:
        while data := sock.recv(_READ_SIZE):
            chunks.append(("server", data))
    except (ConnectionResetError, TimeoutError):
        return
