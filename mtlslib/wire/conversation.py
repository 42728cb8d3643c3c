"""A whole captured connection, decoded: both directions, in wire order, decrypted where possible.

Input: the TCP chunks in the order they crossed the wire, each tagged with its sender
(``"client"`` or ``"server"``), and optionally the key log. Output: a :class:`Conversation` whose
``messages`` list every handshake message, alert, ChangeCipherSpec and application-data record,
marking which crossed the wire encrypted; for TLS 1.3 with a key log, the encrypted ones are
decrypted and both Finished MACs and both CertificateVerify signatures are checked. TLS 1.2 is
opened when asked (``tls12=True``, or a ``server_key`` for RSA key transport: :mod:`.tls12`), with
both Finished and the signatures checked the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Union

from ..display import Shown
from ..errors import DecodeError, UsageError
from .alerts import Alert, parse_alert
from .constants import GROUPS, name_of
from .keyschedule import (
    Check,
    CipherSuite,
    RecordProtection,
    certificate_verify_content,
    finished_verify_data,
    parse_keylog,
    tls13_suite,
    transcript_hash,
)
from .messages import (
    Certificate,
    CertificateVerify,
    ClientHello,
    CompressedCertificate,
    EncryptedExtensions,
    Finished,
    HandshakeBuffer,
    HandshakeMessage,
    ServerHello,
    ServerKeyExchange,
    parse_handshake,
)
from .records import Record, RecordBuffer
from .resumption import EarlyDataProtection, early_data_offered
from .tls12 import Tls12Secrets, Tls12Session

SENDERS = ("client", "server")


def negotiated_group(*messages: bytes) -> str | None:
    """The key-exchange group a server chose, read from the first of ``messages`` (whole handshake
    messages, header included) that names one: the key_share of a TLS 1.3 ServerHello or
    HelloRetryRequest, the named curve of a TLS 1.2 ServerKeyExchange. ``None`` when no message
    names one (any other message, or bytes that do not decode)."""
    return next((group for group in map(_group_in, messages) if group is not None), None)


def _group_in(message: bytes) -> str | None:
    if not message or message[0] not in (2, 12):  # ServerHello, ServerKeyExchange
        return None
    try:
        parsed = parse_handshake(bytes(message), tls13=True)
    except DecodeError:
        return None
    if isinstance(parsed, ServerKeyExchange):
        return name_of(GROUPS, parsed.group)
    return parsed.key_share[0] if isinstance(parsed, ServerHello) and parsed.key_share else None


@dataclass(frozen=True)
class ChangeCipherSpec(Shown):
    name = "ChangeCipherSpec"
    tls13: bool = False

    def __str__(self) -> str:
        if self.tls13:
            return "no meaning in TLS 1.3: sent only to get through old middleboxes"
        return "from the next record on, this side encrypts"


@dataclass(frozen=True)
class ApplicationData(Shown):
    name = "ApplicationData"
    length: int
    plaintext: bytes | None = None

    def __str__(self) -> str:
        return f"{self.length} bytes of application data"


@dataclass(frozen=True)
class OpaqueRecord(Shown):
    """An encrypted record this decoder has no keys for (TLS 1.2, or no key log)."""

    content_type: int
    length: int
    known_as: str | None = None  # what the protocol says it must be, e.g. TLS 1.2's Finished

    @property
    def name(self) -> str:
        return self.known_as or "EncryptedRecord"

    def __str__(self) -> str:
        return f"{self.length} encrypted bytes (no keys to open them)"


Payload = Union[HandshakeMessage, Alert, ChangeCipherSpec, ApplicationData, OpaqueRecord]


@dataclass(frozen=True)
class WireMessage(Shown):
    """One message as it crossed the wire."""

    sender: str  # "client" or "server"
    payload: Payload
    encrypted: bool  # crossed the wire encrypted (whether or not we could open it)
    record_offset: int  # offset, in the sender's stream, of the (first) record that carried it
    secret: str | None = None  # what protected it: a key-log label (TLS 1.3), a key-block key (TLS 1.2)

    @property
    def name(self) -> str:
        return self.payload.name

    @property
    def size(self) -> int:
        payload = self.payload
        if isinstance(payload, HandshakeMessage):
            return len(payload.raw)
        if isinstance(payload, (ApplicationData, OpaqueRecord)):
            return payload.length
        return 2 if isinstance(payload, Alert) else 1

    @property
    def arrow(self) -> str:
        return "client -> server" if self.sender == "client" else "server -> client"

    def __str__(self) -> str:
        state = "encrypted" if self.encrypted else "clear    "
        return f"{self.arrow}  {self.name:<20} {self.size:>5} B  {state}  {self.payload}"


@dataclass
class Conversation(Shown):
    messages: list[WireMessage] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    version: str | None = None
    cipher_suite: str | None = None
    client_random: bytes | None = None
    decrypted: bool = False  # records were opened (TLS 1.3 key-log secrets, or TLS 1.2 keys)
    tls12: Tls12Secrets | None = None  # how a TLS 1.2 session's keys were found

    def handshake_messages(self, sender: str | None = None) -> list[HandshakeMessage]:
        return [m.payload for m in self.messages
                if isinstance(m.payload, HandshakeMessage) and (sender is None or m.sender == sender)]

    def find(self, name: str, sender: str | None = None) -> WireMessage | None:
        return next((m for m in self.messages if m.name == name and (sender is None or m.sender == sender)), None)

    def certificate(self, sender: str) -> Certificate | None:
        """The certificates ``sender`` presented: its Certificate message, or its CompressedCertificate
        (a subclass, decompressed where this Python can)."""
        return next((m.payload for m in self.messages
                     if m.sender == sender and isinstance(m.payload, Certificate)), None)

    def alerts(self) -> list[WireMessage]:
        return [m for m in self.messages if isinstance(m.payload, Alert)]

    @property
    def key_exchange_group(self) -> str | None:
        """The key-exchange group the server chose (see :func:`negotiated_group`)."""
        return negotiated_group(*(m.payload.raw for m in self.messages
                                  if m.sender == "server" and isinstance(m.payload, HandshakeMessage)))

    def __str__(self) -> str:
        return "\n".join(str(item) for item in [*self.messages, *self.checks])


class _Direction:
    def __init__(self, sender: str):
        self.sender = sender
        self.records = RecordBuffer(f"{sender} -> {'server' if sender == 'client' else 'client'} stream")
        self.handshake = HandshakeBuffer(sender)
        self.protection: RecordProtection | None = None
        self.encrypted_after_ccs = False  # TLS 1.2: everything after ChangeCipherSpec
        self.finished = False


class ConversationDecoder:
    """Incremental, sans-I/O: ``feed(sender, chunk)`` as chunks arrive, then ``close()``.

    TLS 1.2 records stay closed, as a passive observer sees them, unless ``tls12=True`` (keys from
    the key log's CLIENT_RANDOM line) or a ``server_key`` is given (RSA key transport: the server's
    private key, or its PEM bytes, recovers the premaster secret from ClientKeyExchange).
    """

    def __init__(self, keylog: str | None = None, *, server_key=None, tls12: bool = False):
        self._keylog = parse_keylog(keylog) if keylog else {}
        self._tls12 = Tls12Session(self._keylog, server_key) if tls12 or server_key is not None else None
        self._directions = {s: _Direction(s) for s in SENDERS}
        self._transcript: list[bytes] = []
        self._suite: CipherSuite | None = None
        self._secrets: dict[str, bytes] = {}
        self._tls13 = False
        self._certificates: dict[str, Certificate] = {}
        self._early_data = False  # the client's records are under its early traffic secret (0-RTT)
        self.conversation = Conversation()

    def feed(self, sender: str, chunk: bytes) -> list[WireMessage]:
        if sender not in self._directions:
            raise UsageError(f"sender must be 'client' or 'server', not {sender!r}")
        direction = self._directions[sender]
        new: list[WireMessage] = []
        for record in direction.records.feed(chunk):
            new.extend(self._record(direction, record))
        self.conversation.messages.extend(new)
        return new

    def close(self) -> Conversation:
        for direction in self._directions.values():
            direction.records.close()
            if direction.handshake.pending:
                raise DecodeError(f"{direction.sender}: the capture ends inside a handshake message "
                                  f"({direction.handshake.pending} bytes of it)")
        return self.conversation

    # -- records -------------------------------------------------------------------------

    def _record(self, direction: _Direction, record: Record) -> list[WireMessage]:
        if record.content_type == 20:
            if record.fragment != b"\x01":
                raise DecodeError(f"{direction.sender}: ChangeCipherSpec at byte {record.offset} is not 0x01")
            if not self._tls13:
                direction.encrypted_after_ccs = True
                if self._tls12 is not None:
                    direction.protection = self._tls12.protection(direction.sender)
                    self.conversation.tls12 = self._tls12.secrets
                    self.conversation.decrypted = self._tls12.secrets is not None
            return [WireMessage(direction.sender, ChangeCipherSpec(self._tls13), False, record.offset)]
        if direction.protection is not None and (record.content_type == 23 or not self._tls13):
            return self._protected(direction, record)
        if direction.encrypted_after_ccs or (record.content_type == 23 and self._tls13):
            # In TLS 1.2 the first handshake record after ChangeCipherSpec is always Finished.
            first_after_ccs = direction.encrypted_after_ccs and record.content_type == 22 and not direction.finished
            if first_after_ccs:
                direction.finished = True
            opaque = OpaqueRecord(record.content_type, len(record.fragment), "Finished" if first_after_ccs else None)
            return [WireMessage(direction.sender, opaque, True, record.offset)]
        if record.content_type == 21:
            return [WireMessage(direction.sender, parse_alert(record.fragment), False, record.offset)]
        if record.content_type == 23:
            return [WireMessage(direction.sender, ApplicationData(len(record.fragment)), True, record.offset)]
        return self._handshake(direction, record.fragment, record.offset, encrypted=False, secret=None)

    def _protected(self, direction: _Direction, record: Record) -> list[WireMessage]:
        protection = direction.protection
        opened = protection.open(record)
        secret = protection.label
        if opened.inner_content_type == 22:
            return self._handshake(direction, opened.plaintext, record.offset, encrypted=True, secret=secret)
        if opened.inner_content_type == 21:
            return [WireMessage(direction.sender, parse_alert(opened.plaintext), True, record.offset, secret)]
        if opened.inner_content_type == 23:
            return [WireMessage(direction.sender, ApplicationData(len(opened.plaintext), opened.plaintext), True,
                                record.offset, secret)]
        raise DecodeError(f"{direction.sender}: record at byte {record.offset} has inner content type "
                          f"{opened.inner_content_type}, which TLS 1.3 does not allow inside encryption")

    # -- handshake messages --------------------------------------------------------------

    def _handshake(self, direction, payload, offset, *, encrypted, secret) -> list[WireMessage]:
        out = []
        for raw in direction.handshake.feed(payload):
            message = parse_handshake(raw, tls13=self._tls13)
            out.append(WireMessage(direction.sender, message, encrypted, offset, secret))
            self._after_message(direction, message)
        return out

    def _after_message(self, direction: _Direction, message: HandshakeMessage) -> None:
        conversation = self.conversation
        if isinstance(message, ClientHello):
            conversation.client_random = message.random
            early = self._keylog.get(message.random, {}).get("CLIENT_EARLY_TRAFFIC_SECRET")
            if early is not None and early_data_offered(message):
                self._early_data = True
                direction.protection = EarlyDataProtection(early, message.cipher_suites)
        if isinstance(message, ServerHello):
            conversation.version = message.selected_version
            conversation.cipher_suite = message.cipher_suite_name
            self._tls13 = message.selected_version == "TLSv1.3"
        in_handshake = not (self._tls13 and self._directions["client"].finished)
        # TLS 1.3's NewSessionTicket comes after the handshake; TLS 1.2's is one of its messages (RFC 5077 3.3).
        if in_handshake and (message.msg_type != 4 or not self._tls13):
            if isinstance(message, (CertificateVerify, Finished)) and self._tls13:
                self._check(direction.sender, message)
            elif self._tls12 is not None and not self._tls13:
                conversation.checks.extend(self._tls12.observe(direction.sender, message, self._transcript))
            self._transcript.append(message.raw)
        if isinstance(message, Certificate):
            self._certificates[direction.sender] = message
        if isinstance(message, ServerHello) and self._tls13 and not message.is_hello_retry_request:
            self._start_handshake_keys(message)
        # 0-RTT ends with the client's EndOfEarlyData, or at once if the server refuses it.
        if self._early_data and (message.msg_type == 5 or (
                isinstance(message, EncryptedExtensions) and not early_data_offered(message))):
            self._early_data = False
            self._switch(self._directions["client"], "CLIENT_HANDSHAKE_TRAFFIC_SECRET")
        if isinstance(message, Finished) and self._tls13:
            direction.finished = True
            self._switch(direction, f"{direction.sender.upper()}_TRAFFIC_SECRET_0")

    def _start_handshake_keys(self, server_hello: ServerHello) -> None:
        self._suite = tls13_suite(server_hello.cipher_suite)
        self._secrets = self._keylog.get(self.conversation.client_random or b"", {})
        if not self._secrets:
            return
        self.conversation.decrypted = True
        for sender in SENDERS:
            if not (sender == "client" and self._early_data):
                self._switch(self._directions[sender], f"{sender.upper()}_HANDSHAKE_TRAFFIC_SECRET")

    def _switch(self, direction: _Direction, label: str) -> None:
        # A side logs a secret only when it starts using it: a client that rejects the server's
        # certificate never installs its handshake keys, and sends its alert in clear text.
        secret = self._secrets.get(label)
        direction.protection = RecordProtection(secret, self._suite, label) if secret is not None else None

    def _check(self, sender: str, message: HandshakeMessage) -> None:
        if not self._secrets:
            return
        suite = self._suite
        transcript = transcript_hash(self._transcript, suite)
        count = len(self._transcript)
        if isinstance(message, Finished):
            expected = finished_verify_data(self._secrets[f"{sender.upper()}_HANDSHAKE_TRAFFIC_SECRET"],
                                            transcript, suite)
            self.conversation.checks.append(Check.mac(
                f"{sender} Finished", expected, message.verify_data,
                f"HMAC-{suite.hash_name.upper()} over the transcript of {count} messages", "verify_data"))
        else:
            certificate = self._certificates.get(sender)
            if isinstance(certificate, CompressedCertificate) and not certificate.certificates:
                return  # compressed with an algorithm this Python lacks: the message line says which
            if certificate is None or not certificate.certificates:
                raise DecodeError(f"{sender} CertificateVerify without a certificate before it")
            self.conversation.checks.append(Check.signature(
                f"{sender} CertificateVerify", certificate.parsed()[0], message.scheme, message.signature,
                certificate_verify_content(transcript, sender),
                f"{message.scheme_name} signature over the transcript of {count} messages"))


def decode_conversation(chunks: Iterable[tuple[str, bytes]], keylog: str | None = None, *, server_key=None,
                        tls12: bool = False) -> Conversation:
    """Decode a captured connection: ``chunks`` are ``(sender, bytes)`` in wire order; ``server_key``
    and ``tls12`` as for :class:`ConversationDecoder`."""
    decoder = ConversationDecoder(keylog, server_key=server_key, tls12=tls12)
    for sender, chunk in chunks:
        decoder.feed(sender, chunk)
    return decoder.close()


__all__ = ["ApplicationData", "ChangeCipherSpec", "Conversation", "ConversationDecoder", "OpaqueRecord",
           "WireMessage", "decode_conversation", "negotiated_group"]
