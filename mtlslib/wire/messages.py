"""Handshake messages, sans I/O: the bytes of one message in, a typed object out.

Only the fields a student looks at are decoded; every message keeps its exact bytes (``raw``),
because the transcript hash, the Finished MACs and the CertificateVerify signatures are computed
over them.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from cryptography import x509

from ..display import Shown
from ..errors import DecodeError
from .alerts import Alert, parse_alert
from .compression import CompressedBody, decompress_certificate
from .constants import CIPHER_SUITES, EXTENSIONS, GROUPS, HANDSHAKE_TYPES, SIGNATURE_SCHEMES, VERSIONS, name_of
from .reader import Reader

HEADER_SIZE = 4
# A HelloRetryRequest is a ServerHello with this fixed "random" (RFC 8446 section 4.1.3).
HELLO_RETRY_RANDOM = bytes.fromhex("CF21AD74E59A6111BE1D8C021E65B891C2A211167ABB8C5E079E09E2C8A8339C")


@dataclass(frozen=True)
class Extension:
    type: int
    data: bytes

    @property
    def name(self) -> str:
        return name_of(EXTENSIONS, self.type)


def _extensions(reader: Reader) -> tuple[Extension, ...]:
    if reader.done():  # extensions are optional in TLS 1.2 hellos
        return ()
    block = reader.sub(2, "extensions")
    found = []
    while not block.done():
        ext_type = block.uint(2)
        found.append(Extension(ext_type, block.vector(2)))
    return tuple(found)


def _find(extensions: tuple[Extension, ...], ext_type: int) -> bytes | None:
    return next((e.data for e in extensions if e.type == ext_type), None)


def _uint_list(data: bytes, length_size: int, item_size: int, what: str) -> tuple[int, ...]:
    reader = Reader(data, what)
    block = reader.sub(length_size, "list")
    reader.expect_end()
    values = []
    while not block.done():
        values.append(block.uint(item_size))
    return tuple(values)


def _distinguished_names(data: bytes, what: str) -> tuple[str, ...]:
    block = Reader(data, what)
    names = []
    while not block.done():
        der = block.vector(2)
        try:
            names.append(x509.Name.from_bytes(der).rfc4514_string())
        except ValueError:
            raise DecodeError(f"{what}: a CA name is not a valid X.509 name") from None
    return tuple(names)


@dataclass(frozen=True)
class HandshakeMessage(Shown):
    """Any handshake message. ``raw`` is the whole message, 4-byte header included."""

    msg_type: int
    raw: bytes

    @property
    def name(self) -> str:
        return name_of(HANDSHAKE_TYPES, self.msg_type, 2)

    @property
    def body(self) -> bytes:
        return self.raw[HEADER_SIZE:]

    def __str__(self) -> str:
        """The fields worth a glance, on one line."""
        return f"{len(self.body)}-byte body"


@dataclass(frozen=True)
class ClientHello(HandshakeMessage):
    legacy_version: int = 0
    random: bytes = b""
    session_id: bytes = b""
    cipher_suites: tuple[int, ...] = ()
    extensions: tuple[Extension, ...] = ()

    @property
    def supported_versions(self) -> tuple[str, ...]:
        data = _find(self.extensions, 43)
        if data is None:
            return (name_of(VERSIONS, self.legacy_version),)
        return tuple(name_of(VERSIONS, v) for v in _uint_list(data, 1, 2, "ClientHello supported_versions"))

    @property
    def cipher_suite_names(self) -> tuple[str, ...]:
        return tuple(name_of(CIPHER_SUITES, s) for s in self.cipher_suites)

    @property
    def key_shares(self) -> tuple[tuple[str, bytes], ...]:
        """(group, public key) for each key share the client sent in advance (TLS 1.3)."""
        data = _find(self.extensions, 51)
        if data is None:
            return ()
        outer = Reader(data, "ClientHello key_share")
        block = outer.sub(2, "client_shares")
        shares = []
        while not block.done():
            group = block.uint(2)
            shares.append((name_of(GROUPS, group), block.vector(2)))
        return tuple(shares)

    @property
    def supported_groups(self) -> tuple[str, ...]:
        data = _find(self.extensions, 10)
        return tuple(name_of(GROUPS, g) for g in _uint_list(data, 2, 2, "supported_groups")) if data else ()

    @property
    def signature_algorithms(self) -> tuple[str, ...]:
        data = _find(self.extensions, 13)
        return (tuple(name_of(SIGNATURE_SCHEMES, s) for s in _uint_list(data, 2, 2, "signature_algorithms"))
                if data else ())

    @property
    def server_name(self) -> str | None:
        data = _find(self.extensions, 0)
        if not data:
            return None
        reader = Reader(data, "ClientHello server_name")
        names = reader.sub(2, "server_name_list")
        while not names.done():
            kind, name = names.uint(1), names.vector(2)
            if kind == 0:
                return name.decode("ascii", "replace")
        return None

    def __str__(self) -> str:
        if self.key_shares:  # TLS 1.3: the client's key exchange is already in its first message
            offer = "key_share " + ", ".join(g for g, _ in self.key_shares)
        else:  # no groups when only RSA key-transport suites are offered
            groups = self.supported_groups
            offer = ("groups " + ", ".join(groups[:3]) + (", ..." if len(groups) > 3 else "")
                     if groups else "no key-exchange groups")
        sni = f", SNI {self.server_name}" if self.server_name else ""
        signals = sum(name.endswith("_SCSV") for name in self.cipher_suite_names)  # RFC 5746/7507: not suites
        suites = f"{len(self.cipher_suites) - signals} cipher suites" + (f" (+{signals} SCSV)" if signals else "")
        return f"versions {'/'.join(self.supported_versions)}, {suites}, {offer}{sni}"


@dataclass(frozen=True)
class ServerHello(HandshakeMessage):
    legacy_version: int = 0
    random: bytes = b""
    session_id: bytes = b""
    cipher_suite: int = 0
    extensions: tuple[Extension, ...] = ()

    @property
    def is_hello_retry_request(self) -> bool:
        return self.random == HELLO_RETRY_RANDOM

    @property
    def selected_version(self) -> str:
        data = _find(self.extensions, 43)
        if data is None:
            return name_of(VERSIONS, self.legacy_version)
        return name_of(VERSIONS, Reader(data, "ServerHello supported_versions").uint(2))

    @property
    def cipher_suite_name(self) -> str:
        return name_of(CIPHER_SUITES, self.cipher_suite)

    @property
    def key_share(self) -> tuple[str, bytes] | None:
        """(group, server public key); in a HelloRetryRequest only the group, with empty key."""
        data = _find(self.extensions, 51)
        if data is None:
            return None
        reader = Reader(data, "ServerHello key_share")
        group = name_of(GROUPS, reader.uint(2))
        return (group, b"") if self.is_hello_retry_request else (group, reader.vector(2))

    def __str__(self) -> str:
        share = f", key_share {self.key_share[0]}" if self.key_share else ""
        kind = "HelloRetryRequest: " if self.is_hello_retry_request else ""
        return f"{kind}{self.selected_version}, {self.cipher_suite_name}{share}"


@dataclass(frozen=True)
class EncryptedExtensions(HandshakeMessage):
    extensions: tuple[Extension, ...] = ()

    def __str__(self) -> str:
        return "extensions: " + (", ".join(e.name for e in self.extensions) or "none")


@dataclass(frozen=True)
class Certificate(HandshakeMessage):
    request_context: bytes = b""
    certificates: tuple[bytes, ...] = ()  # DER, the sender's own certificate first

    def parsed(self) -> tuple[x509.Certificate, ...]:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a captured certificate is shown as it is, oddities included
                return tuple(x509.load_der_x509_certificate(der) for der in self.certificates)
        except (ValueError, x509.InvalidVersion):
            raise DecodeError("Certificate message: an entry is not a valid DER certificate") from None

    @property
    def subjects(self) -> tuple[str, ...]:
        return tuple(c.subject.rfc4514_string() for c in self.parsed())

    @property
    def issuers(self) -> tuple[str, ...]:
        return tuple(c.issuer.rfc4514_string() for c in self.parsed())

    def __str__(self) -> str:
        if not self.certificates:
            return "empty: no certificate"
        count = len(self.certificates)
        return f"{count} certificate{'s' if count > 1 else ''}: " + " <- ".join(self.subjects)


@dataclass(frozen=True)
class CompressedCertificate(Certificate):
    """A Certificate sent compressed (RFC 8879): ``certificates`` are those it decompresses to,
    empty when this Python cannot decompress it (``compression.why_not`` says why)."""

    compression: CompressedBody | None = None

    def __str__(self) -> str:
        packed = self.compression
        if packed.certificate_body is None:
            return f"{len(packed.compressed)} B {packed.why_not}"
        return (f"{packed.algorithm_name}, {len(packed.compressed)} B for {packed.uncompressed_length} B "
                f"of Certificate: {super().__str__()}")


@dataclass(frozen=True)
class CertificateRequest(HandshakeMessage):
    request_context: bytes = b""
    signature_schemes: tuple[int, ...] = ()
    certificate_authorities: tuple[str, ...] = ()

    @property
    def signature_algorithms(self) -> tuple[str, ...]:
        return tuple(name_of(SIGNATURE_SCHEMES, s) for s in self.signature_schemes)

    def __str__(self) -> str:
        cas = ("acceptable CAs: " + "; ".join(self.certificate_authorities)) if self.certificate_authorities \
            else "no CA names sent"
        return f"{len(self.signature_schemes)} signature algorithms, {cas}"


@dataclass(frozen=True)
class CertificateVerify(HandshakeMessage):
    scheme: int = 0
    signature: bytes = b""

    @property
    def scheme_name(self) -> str:
        return name_of(SIGNATURE_SCHEMES, self.scheme)

    def __str__(self) -> str:
        return f"{self.scheme_name}, {len(self.signature)}-byte signature"


@dataclass(frozen=True)
class Finished(HandshakeMessage):
    @property
    def verify_data(self) -> bytes:
        return self.body

    def __str__(self) -> str:
        return f"{len(self.verify_data)}-byte verify_data (a MAC of the transcript)"


@dataclass(frozen=True)
class NewSessionTicket(HandshakeMessage):
    lifetime: int = 0
    ticket: bytes = b""
    age_add: int = 0  # TLS 1.3 only, like the nonce and the extensions (RFC 8446 4.6.1)
    nonce: bytes = b""
    extensions: tuple[Extension, ...] = ()

    def __str__(self) -> str:
        return f"lifetime {self.lifetime} s, {len(self.ticket)}-byte ticket"


@dataclass(frozen=True)
class ServerKeyExchange(HandshakeMessage):
    """TLS 1.2 (EC)DHE parameters, signed by the server's certificate key."""

    group: int = 0
    public_key: bytes = b""
    scheme: int = 0
    signature: bytes = b""

    def __str__(self) -> str:
        return (f"{name_of(GROUPS, self.group)} public key ({len(self.public_key)} bytes), "
                f"signed {name_of(SIGNATURE_SCHEMES, self.scheme)}")


@dataclass(frozen=True)
class ServerHelloDone(HandshakeMessage):
    def __str__(self) -> str:
        return "end of the server's first flight"


@dataclass(frozen=True)
class ClientKeyExchange(HandshakeMessage):
    public_key: bytes = b""  # or, with RSA key transport, the premaster encrypted to the server's key
    encrypted_premaster: bool = False

    def __str__(self) -> str:
        if self.encrypted_premaster:
            # The premaster is 48 bytes (RFC 5246 7.4.7.1); what travels is its RSA encryption.
            return f"the premaster secret, RSA-encrypted to the server's key: {len(self.public_key)} bytes"
        return f"{len(self.public_key)}-byte public key"


# --------------------------------------------------------------------------------------------


def _parse_client_hello(r: Reader, raw: bytes):
    version, random, session_id = r.uint(2), r.bytes(32), r.vector(1)
    suites_reader = r.sub(2, "cipher_suites")
    suites = []
    while not suites_reader.done():
        suites.append(suites_reader.uint(2))
    r.vector(1)  # legacy compression methods
    return ClientHello(1, raw, version, random, session_id, tuple(suites), _extensions(r))


def _parse_server_hello(r: Reader, raw: bytes):
    version, random, session_id = r.uint(2), r.bytes(32), r.vector(1)
    suite = r.uint(2)
    r.uint(1)  # legacy compression method
    return ServerHello(2, raw, version, random, session_id, suite, _extensions(r))


def _parse_certificate(r: Reader, raw: bytes, tls13: bool):
    context = r.vector(1) if tls13 else b""
    entries = r.sub(3, "certificate_list")
    certificates = []
    while not entries.done():
        certificates.append(entries.vector(3))
        if tls13:
            entries.vector(2)  # per-certificate extensions (OCSP, SCT): not shown
    return Certificate(11, raw, context, tuple(certificates))


def _parse_compressed_certificate(r: Reader, raw: bytes):
    packed = decompress_certificate(r.rest())
    if packed.certificate_body is None:
        return CompressedCertificate(25, raw, compression=packed)
    body = Reader(packed.certificate_body, "decompressed Certificate")
    inner = _parse_certificate(body, raw, tls13=True)
    body.expect_end()
    return CompressedCertificate(25, raw, inner.request_context, inner.certificates, packed)


def _parse_certificate_request(r: Reader, raw: bytes, tls13: bool):
    if tls13:
        context = r.vector(1)
        extensions = _extensions(r)
        schemes = _find(extensions, 13)
        cas = _find(extensions, 47)
        return CertificateRequest(
            13, raw, context,
            _uint_list(schemes, 2, 2, "CertificateRequest signature_algorithms") if schemes else (),
            _distinguished_names(Reader(cas, "certificate_authorities").vector(2), "CertificateRequest CA names")
            if cas else (),
        )
    r.vector(1)  # certificate types
    schemes_reader = r.sub(2, "supported_signature_algorithms")
    schemes = []
    while not schemes_reader.done():
        schemes.append(schemes_reader.uint(2))
    return CertificateRequest(13, raw, b"", tuple(schemes),
                              _distinguished_names(r.vector(2), "CertificateRequest CA names"))


def _parse_new_session_ticket(r: Reader, raw: bytes, tls13: bool):
    lifetime = r.uint(4)
    age_add, nonce = (r.uint(4), r.vector(1)) if tls13 else (0, b"")
    ticket = r.vector(2)
    return NewSessionTicket(4, raw, lifetime, ticket, age_add, nonce, _extensions(r) if tls13 else ())


def _parse_server_key_exchange(r: Reader, raw: bytes):
    curve_type = r.uint(1)
    if curve_type != 3:
        raise DecodeError(f"ServerKeyExchange: curve type {curve_type} is not named_curve (3)")
    group, public_key = r.uint(2), r.vector(1)
    scheme = r.uint(2)
    return ServerKeyExchange(12, raw, group, public_key, scheme, r.vector(2))


def parse_handshake(raw: bytes, *, tls13: bool) -> HandshakeMessage:
    """Decode one whole handshake message (4-byte header included).

    ``tls13`` selects the TLS 1.3 layout of the messages whose shape changed between versions
    (Certificate, CertificateRequest, NewSessionTicket).
    """
    header = Reader(raw, "handshake message header")
    msg_type, length = header.uint(1), header.uint(3)
    name = name_of(HANDSHAKE_TYPES, msg_type, 2)
    if length != header.remaining:
        raise DecodeError(f"{name}: header says {length} bytes, message has {header.remaining}")
    r = Reader(raw[HEADER_SIZE:], name)
    if msg_type == 1:
        message = _parse_client_hello(r, raw)
    elif msg_type == 2:
        message = _parse_server_hello(r, raw)
    elif msg_type == 8:
        message = EncryptedExtensions(8, raw, _extensions(r))
    elif msg_type == 11:
        message = _parse_certificate(r, raw, tls13)
    elif msg_type == 25:  # only TLS 1.3 has it
        message = _parse_compressed_certificate(r, raw)
    elif msg_type == 13:
        message = _parse_certificate_request(r, raw, tls13)
    elif msg_type == 15:
        message = CertificateVerify(15, raw, r.uint(2), r.vector(2))
    elif msg_type == 20:
        r.rest()
        message = Finished(20, raw)
    elif msg_type == 4:
        message = _parse_new_session_ticket(r, raw, tls13)
    elif msg_type == 12:
        message = _parse_server_key_exchange(r, raw)
    elif msg_type == 16:
        # RSA's encrypted premaster is opaque<0..2^16-1>; an (EC)DH key, opaque<1..255>, is counted by one byte
        rsa = length >= 2 and int.from_bytes(raw[4:6], "big") == length - 2
        message = ClientKeyExchange(16, raw, r.vector(2) if rsa else r.vector(1), rsa)
    elif msg_type == 14:
        message = ServerHelloDone(14, raw)
    else:
        r.rest()
        message = HandshakeMessage(msg_type, raw)
    r.expect_end()
    return message


class HandshakeBuffer:
    """Cuts handshake-record payloads into whole messages; a message may span several records."""

    def __init__(self, direction: str = "stream"):
        self.direction = direction
        self._pending = bytearray()

    def feed(self, payload: bytes) -> list[bytes]:
        self._pending += payload
        messages = []
        while len(self._pending) >= HEADER_SIZE:
            length = int.from_bytes(self._pending[1:4], "big")
            if len(self._pending) < HEADER_SIZE + length:
                break
            messages.append(bytes(self._pending[:HEADER_SIZE + length]))
            del self._pending[:HEADER_SIZE + length]
        return messages

    @property
    def pending(self) -> int:
        return len(self._pending)


__all__ = [
    "Alert", "Certificate", "CertificateRequest", "CertificateVerify", "ClientHello", "ClientKeyExchange",
    "CompressedCertificate",
    "EncryptedExtensions", "Extension", "Finished", "HandshakeBuffer", "HandshakeMessage", "NewSessionTicket",
    "ServerHello", "ServerHelloDone", "ServerKeyExchange", "parse_alert", "parse_handshake",
]
