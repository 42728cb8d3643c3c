"""TLS 1.3 record protection and handshake proofs (RFC 8446 sections 4.4 and 7), from key-log secrets.

A key log (the NSS format OpenSSL writes through ``SSLContext.keylog_filename``) gives the traffic
secrets; from them this module derives each direction's AEAD key and IV, opens records, and
recomputes the Finished MACs and the CertificateVerify signed content, so that a student can
check each proof by hand. A proof checked is a :class:`Check`, worded the same way whichever
proof it is (TLS 1.3's, TLS 1.2's, a PSK binder).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from ..display import Shown
from ..errors import DecodeError, DecryptError
from .constants import CIPHER_SUITES, SIGNATURE_SCHEMES, name_of
from .records import Record


@dataclass(frozen=True)
class CipherSuite:
    code: int
    aead: type
    key_length: int
    hash_name: str

    @property
    def name(self) -> str:
        return name_of(CIPHER_SUITES, self.code)

    def hash(self) -> hashes.HashAlgorithm:
        return {"sha256": hashes.SHA256(), "sha384": hashes.SHA384()}[self.hash_name]

    @property
    def hash_length(self) -> int:
        return hashlib.new(self.hash_name).digest_size


TLS13_SUITES = {
    0x1301: CipherSuite(0x1301, AESGCM, 16, "sha256"),
    0x1302: CipherSuite(0x1302, AESGCM, 32, "sha384"),
    0x1303: CipherSuite(0x1303, ChaCha20Poly1305, 32, "sha256"),
}
IV_LENGTH = 12


def supported_suite(suites: dict, code: int, purpose: str):
    """The entry of ``suites`` for cipher suite ``code``, or a DecodeError naming what is supported."""
    try:
        return suites[code]
    except KeyError:
        raise DecodeError(f"cipher suite {name_of(CIPHER_SUITES, code)} is not supported for {purpose} "
                          f"(supported: {', '.join(s.name for s in suites.values())})") from None


def tls13_suite(code: int) -> CipherSuite:
    return supported_suite(TLS13_SUITES, code, "decryption")


def hkdf_expand_label(secret: bytes, label: str, context: bytes, length: int, suite: CipherSuite) -> bytes:
    """HKDF-Expand-Label (RFC 8446 section 7.1): every TLS 1.3 key comes out of this."""
    full_label = b"tls13 " + label.encode("ascii")
    info = length.to_bytes(2, "big") + bytes([len(full_label)]) + full_label + bytes([len(context)]) + context
    return HKDFExpand(suite.hash(), length, info).derive(secret)


@dataclass(frozen=True)
class TrafficKeys:
    """The AEAD key and IV of one direction, derived from one traffic secret."""

    secret: bytes
    key: bytes
    iv: bytes


def traffic_keys(secret: bytes, suite: CipherSuite) -> TrafficKeys:
    return TrafficKeys(secret, hkdf_expand_label(secret, "key", b"", suite.key_length, suite),
                       hkdf_expand_label(secret, "iv", b"", IV_LENGTH, suite))


def record_nonce(iv: bytes, sequence_number: int) -> bytes:
    """Per-record nonce: the IV XOR the 64-bit record sequence number, left-padded (RFC 8446 5.3)."""
    return bytes(a ^ b for a, b in zip(iv, sequence_number.to_bytes(len(iv), "big")))


@dataclass(frozen=True)
class OpenedRecord:
    inner_content_type: int
    plaintext: bytes
    sequence_number: int
    nonce: bytes


class RecordProtection:
    """Opens the protected records of one direction under one traffic secret, in order."""

    def __init__(self, secret: bytes, suite: CipherSuite, label: str):
        self.suite = suite
        self.label = label  # which key-log secret, for messages and diagrams
        self.keys = traffic_keys(secret, suite)
        self._aead = suite.aead(self.keys.key)
        self.sequence_number = 0

    def open(self, record: Record) -> OpenedRecord:
        nonce = record_nonce(self.keys.iv, self.sequence_number)
        try:
            inner = self._aead.decrypt(nonce, record.fragment, record.header)
        except InvalidTag:
            raise DecryptError(
                f"record at byte {record.offset} does not decrypt with {self.label} "
                f"(sequence number {self.sequence_number}): wrong secret, or bytes damaged"
            ) from None
        content = inner.rstrip(b"\x00")  # TLSInnerPlaintext: content, type byte, zero padding
        if not content:
            raise DecodeError(f"record at byte {record.offset}: decrypted record has no content type")
        opened = OpenedRecord(content[-1], content[:-1], self.sequence_number, nonce)
        self.sequence_number += 1
        return opened


def transcript_hash(messages: list[bytes], suite: CipherSuite) -> bytes:
    """Hash of the handshake so far. After a HelloRetryRequest the first ClientHello is replaced by
    a synthetic ``message_hash`` message (RFC 8446 section 4.4.1)."""
    h = hashlib.new(suite.hash_name)
    if len(messages) >= 2 and messages[1][:1] == b"\x02" and _is_hello_retry(messages[1]):
        first = hashlib.new(suite.hash_name, messages[0]).digest()
        h.update(b"\xfe\x00\x00" + bytes([len(first)]) + first)
        messages = messages[1:]
    for message in messages:
        h.update(message)
    return h.digest()


def _is_hello_retry(server_hello: bytes) -> bool:
    from .messages import HELLO_RETRY_RANDOM

    return server_hello[6:38] == HELLO_RETRY_RANDOM


def finished_verify_data(base_secret: bytes, transcript: bytes, suite: CipherSuite) -> bytes:
    """What a Finished message must contain: HMAC(finished_key, transcript hash) (RFC 8446 4.4.4)."""
    finished_key = hkdf_expand_label(base_secret, "finished", b"", suite.hash_length, suite)
    return hmac.new(finished_key, transcript, suite.hash_name).digest()


def certificate_verify_content(transcript: bytes, sender: str) -> bytes:
    """The bytes a CertificateVerify signs (RFC 8446 4.4.3): 64 spaces, a context string naming
    the sender's role, a zero byte, and the transcript hash. The role string stops a server's
    signature being replayed as a client's."""
    context = f"TLS 1.3, {sender} CertificateVerify".encode("ascii")
    return b"\x20" * 64 + context + b"\x00" + transcript


_SCHEME_HASHES = {0x0403: hashes.SHA256, 0x0503: hashes.SHA384, 0x0603: hashes.SHA512,
                  0x0804: hashes.SHA256, 0x0805: hashes.SHA384, 0x0806: hashes.SHA512,
                  0x0809: hashes.SHA256, 0x080A: hashes.SHA384, 0x080B: hashes.SHA512,
                  0x0401: hashes.SHA256, 0x0501: hashes.SHA384, 0x0601: hashes.SHA512}


def verify_signature(certificate: x509.Certificate, scheme: int, signature: bytes, content: bytes) -> bool:
    """Check ``signature`` over ``content`` with the certificate's public key under ``scheme``."""
    key = certificate.public_key()
    try:
        if scheme == 0x0807 and isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, content)
        elif scheme in (0x0403, 0x0503, 0x0603) and isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, content, ec.ECDSA(_SCHEME_HASHES[scheme]()))
        elif scheme in (0x0804, 0x0805, 0x0806, 0x0809, 0x080A, 0x080B) and isinstance(key, rsa.RSAPublicKey):
            algorithm = _SCHEME_HASHES[scheme]()
            key.verify(signature, content,
                       padding.PSS(mgf=padding.MGF1(algorithm), salt_length=algorithm.digest_size), algorithm)
        elif scheme in (0x0401, 0x0501, 0x0601) and isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, content, padding.PKCS1v15(), _SCHEME_HASHES[scheme]())
        else:
            raise DecodeError(f"signature scheme {name_of(SIGNATURE_SCHEMES, scheme)} does not fit a "
                              f"{type(key).__name__} or is not supported here")
    except InvalidSignature:
        return False
    return True


@dataclass(frozen=True)
class Check(Shown):
    """One cryptographic proof recomputed from the capture and compared with what was sent: a
    Finished MAC, a PSK binder, a CertificateVerify or ServerKeyExchange signature."""

    what: str
    ok: bool
    detail: str

    @classmethod
    def mac(cls, what: str, computed: bytes, sent: bytes, how: str, sent_as: str) -> Check:
        """Whether the MAC recomputed as ``how`` is the one sent as ``sent_as``."""
        ok = hmac.compare_digest(computed, sent)
        return cls(what, ok, f"{how} {'matches' if ok else 'DOES NOT match'} {sent_as}")

    @classmethod
    def signature(cls, what: str, certificate: x509.Certificate, scheme: int, signature: bytes, content: bytes,
                  how: str) -> Check:
        """Whether ``signature`` (``how``: what it is and what it covers) over ``content`` verifies
        with the key of ``certificate``."""
        ok = verify_signature(certificate, scheme, signature, content)
        return cls(what, ok, f"{how} {'verifies' if ok else 'DOES NOT verify'} with the key of "
                             f"{certificate.subject.rfc4514_string()}")

    def __str__(self) -> str:
        return f"{'PASS' if self.ok else 'FAIL'}  {self.what}: {self.detail}"


def parse_keylog(text: str) -> dict[bytes, dict[str, bytes]]:
    """NSS key-log lines grouped by client random: ``{client_random: {label: secret}}``."""
    sessions: dict[bytes, dict[str, bytes]] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        try:
            label, client_random, secret = parts[0], bytes.fromhex(parts[1]), bytes.fromhex(parts[2])
        except (IndexError, ValueError):
            raise DecodeError(f"key log line {number}: expected 'LABEL CLIENT_RANDOM SECRET' in hex") from None
        sessions.setdefault(client_random, {})[label] = secret
    return sessions
