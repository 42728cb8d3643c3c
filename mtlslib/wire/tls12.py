"""TLS 1.2 record protection and handshake proofs, from a key log or from the server's private key.

Where TLS 1.3 logs one secret per direction and stage, TLS 1.2 has one *master secret* per session
(the key log's ``CLIENT_RANDOM`` line). Everything else comes out of it with the TLS 1.2 PRF
(RFC 5246 section 5): the key block (section 6.3), and each side's Finished (section 7.4.9).

With RSA key transport (suites whose key exchange is ``RSA``, e.g. ``AES128-GCM-SHA256``) the
client encrypts the *premaster secret* to the server's certificate key and sends it in
ClientKeyExchange, so the server's private key alone recovers the master secret of every such
session ever recorded. With ECDHE the premaster secret is a Diffie-Hellman result that never
crosses the wire: no long-term key opens the recording.

Records: AES-GCM suites (RFC 5288) send an explicit 8-byte nonce before each ciphertext and take
a 4-byte implicit salt from the key block; ChaCha20-Poly1305 suites (RFC 7905) XOR a 12-byte IV
with the sequence number, like TLS 1.3. Both authenticate ``seq_num + type + version + length``.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_private_key

from ..display import Shown
from ..errors import DecodeError, DecryptError, UsageError
from .constants import CIPHER_SUITES, name_of
from .keyschedule import Check, OpenedRecord, record_nonce, supported_suite
from .messages import (
    Certificate,
    CertificateVerify,
    ClientHello,
    ClientKeyExchange,
    Finished,
    HandshakeMessage,
    ServerHello,
    ServerKeyExchange,
)
from .records import Record

__all__ = ["KeyBlock", "Tls12Secrets", "Tls12Session", "Tls12Suite", "TLS12_SUITES", "finished_verify_data",
           "key_block", "master_secret", "p_hash", "prf", "premaster_from_rsa", "RecordProtection12",
           "tls12_suite"]

EXTENDED_MASTER_SECRET = 23  # the extension's number (RFC 7627)
TAG_LENGTH = 16
VERIFY_DATA_LENGTH = 12  # RFC 5246 section 7.4.9
MASTER_SECRET_LENGTH = PREMASTER_LENGTH = 48


@dataclass(frozen=True)
class Tls12Suite:
    code: int
    key_exchange: str  # "RSA" (key transport) or "ECDHE"
    aead: type
    key_length: int
    fixed_iv_length: int  # from the key block: AES-GCM's 4-byte salt, ChaCha20-Poly1305's 12-byte IV
    explicit_nonce_length: int  # sent before each ciphertext: 8 for AES-GCM, none for ChaCha20-Poly1305
    hash_name: str  # the PRF's hash (and the transcript's)

    @property
    def name(self) -> str:
        return name_of(CIPHER_SUITES, self.code)

    @property
    def forward_secret(self) -> bool:
        return self.key_exchange != "RSA"


def _gcm(code, key_exchange, key_length, hash_name):
    return Tls12Suite(code, key_exchange, AESGCM, key_length, 4, 8, hash_name)


def _chacha(code):
    return Tls12Suite(code, "ECDHE", ChaCha20Poly1305, 32, 12, 0, "sha256")


TLS12_SUITES = {suite.code: suite for suite in (
    _gcm(0x009C, "RSA", 16, "sha256"), _gcm(0x009D, "RSA", 32, "sha384"),
    _gcm(0xC02B, "ECDHE", 16, "sha256"), _gcm(0xC02F, "ECDHE", 16, "sha256"),
    _gcm(0xC02C, "ECDHE", 32, "sha384"), _gcm(0xC030, "ECDHE", 32, "sha384"),
    _chacha(0xCCA8), _chacha(0xCCA9),
)}


def tls12_suite(code: int) -> Tls12Suite:
    return supported_suite(TLS12_SUITES, code, "TLS 1.2 decryption")


# --------------------------------------------------------------------------------------------
# The PRF and what comes out of it


def p_hash(hash_name: str, secret: bytes, seed: bytes, length: int) -> bytes:
    """P_hash (RFC 5246 section 5): HMAC(secret, A(i) + seed) for A(1), A(2), ... where
    A(0) = seed and A(i) = HMAC(secret, A(i-1)), concatenated and cut to ``length`` bytes."""
    output, a = b"", seed
    while len(output) < length:
        a = hmac.new(secret, a, hash_name).digest()
        output += hmac.new(secret, a + seed, hash_name).digest()
    return output[:length]


def prf(secret: bytes, label: str, seed: bytes, length: int, hash_name: str) -> bytes:
    """PRF(secret, label, seed) = P_<hash>(secret, label + seed); TLS 1.2 suites name the hash."""
    return p_hash(hash_name, secret, label.encode("ascii") + seed, length)


def master_secret(premaster: bytes, client_random: bytes, server_random: bytes, hash_name: str,
                  session_hash: bytes | None = None) -> bytes:
    """RFC 5246 section 8.1, or with extended master secret (RFC 7627 section 4) the hash of the
    handshake up to ClientKeyExchange in place of the two randoms."""
    if session_hash is not None:
        return prf(premaster, "extended master secret", session_hash, MASTER_SECRET_LENGTH, hash_name)
    return prf(premaster, "master secret", client_random + server_random, MASTER_SECRET_LENGTH, hash_name)


@dataclass(frozen=True)
class KeyBlock:
    """The write keys and IVs of both sides (AEAD suites have no MAC keys)."""

    client_write_key: bytes
    server_write_key: bytes
    client_write_iv: bytes
    server_write_iv: bytes


def key_block(master: bytes, client_random: bytes, server_random: bytes, suite: Tls12Suite) -> KeyBlock:
    """RFC 5246 section 6.3: PRF(master, "key expansion", server_random + client_random), note the
    order of the randoms, cut into client key, server key, client IV, server IV."""
    k, n = suite.key_length, suite.fixed_iv_length
    block = prf(master, "key expansion", server_random + client_random, 2 * (k + n), suite.hash_name)
    return KeyBlock(block[:k], block[k:2 * k], block[2 * k:2 * k + n], block[2 * k + n:])


def handshake_hash(handshake_messages: list[bytes], hash_name: str) -> bytes:
    """Hash of the handshake messages so far, under the suite's PRF hash (no HelloRetryRequest in TLS 1.2)."""
    return hashlib.new(hash_name, b"".join(handshake_messages)).digest()


def finished_verify_data(master: bytes, sender: str, handshake_messages: list[bytes], hash_name: str) -> bytes:
    """PRF(master, "client finished" or "server finished", Hash(handshake_messages))[0:12]."""
    return prf(master, f"{sender} finished", handshake_hash(handshake_messages, hash_name), VERIFY_DATA_LENGTH,
               hash_name)


def load_server_key(key) -> rsa.RSAPrivateKey:
    """A private key object, or its PEM bytes (an unencrypted key file's content)."""
    if isinstance(key, (bytes, str)):
        try:
            key = load_pem_private_key(key.encode() if isinstance(key, str) else key, password=None)
        except (ValueError, TypeError) as error:
            raise UsageError(f"server_key: not an unencrypted PEM private key ({error})") from None
    return key


def premaster_from_rsa(server_key, encrypted: bytes, client_version: int) -> bytes:
    """Decrypt ClientKeyExchange's premaster secret (RSAES-PKCS1-v1_5) and check its shape: 48 bytes,
    the first two the version the client offered in its ClientHello (RFC 5246 section 7.4.7.1).

    OpenSSL answers a wrong key with a random-looking message instead of an error (implicit
    rejection, a defence against Bleichenbacher's attack), but not always: either way the answer
    is the same refusal.
    """
    try:
        premaster = server_key.decrypt(encrypted, padding.PKCS1v15())
    except ValueError:  # a build without implicit rejection, or a message it cannot even unpad
        premaster = b""
    if len(premaster) != PREMASTER_LENGTH or int.from_bytes(premaster[:2], "big") != client_version:
        raise DecryptError(f"the ClientKeyExchange does not decrypt to a premaster secret with this key "
                           f"({len(premaster)} bytes instead of 48 starting with 0x{client_version:04x})")
    return premaster


# --------------------------------------------------------------------------------------------
# Records


class RecordProtection12:
    """Opens one direction's TLS 1.2 records, in order, from the first one after its ChangeCipherSpec."""

    def __init__(self, key: bytes, iv: bytes, suite: Tls12Suite, label: str):
        self.suite = suite
        self.label = label  # which key of the key block, for messages and diagrams
        self.key, self.iv = key, iv
        self._aead = suite.aead(key)
        self.sequence_number = 0

    def open(self, record: Record) -> OpenedRecord:
        explicit = record.fragment[:self.suite.explicit_nonce_length]
        ciphertext = record.fragment[len(explicit):]
        # AES-GCM: salt + the nonce sent in the record (RFC 5288 3); ChaCha20: IV XOR sequence number (RFC 7905 2).
        nonce = self.iv + explicit if explicit else record_nonce(self.iv, self.sequence_number)
        length = len(ciphertext) - TAG_LENGTH
        additional = (self.sequence_number.to_bytes(8, "big") + record.header[:3] + max(length, 0).to_bytes(2, "big"))
        try:
            plaintext = self._aead.decrypt(nonce, ciphertext, additional)
        except (InvalidTag, ValueError):  # ValueError: a fragment too short to hold a tag
            raise DecryptError(
                f"record at byte {record.offset} does not decrypt with {self.label} (sequence number "
                f"{self.sequence_number}): wrong master secret, or bytes damaged") from None
        opened = OpenedRecord(record.content_type, plaintext, self.sequence_number, nonce)
        self.sequence_number += 1
        return opened


# --------------------------------------------------------------------------------------------
# One session, followed message by message


@dataclass(frozen=True)
class Tls12Secrets(Shown):
    """How the session's keys were found, and the keys."""

    suite: Tls12Suite
    source: str  # "key log" or "server's private key"
    extended_master_secret: bool
    transcript_messages: int  # messages hashed into the session hash (extended master secret)
    master: bytes
    keys: KeyBlock
    premaster: bytes | None = None  # known when recovered with the server's key

    def __str__(self) -> str:
        prf_name = f"PRF-{self.suite.hash_name.upper()}"
        if self.source == "key log":
            found = "master secret from the key log (CLIENT_RANDOM line)"
        else:
            found = ("premaster secret decrypted from ClientKeyExchange with the server's private key "
                     "(RSA PKCS#1 v1.5); master secret = " + prf_name + "(premaster, " +
                     (f'"extended master secret", hash of the first {self.transcript_messages} handshake messages)'
                      if self.extended_master_secret else '"master secret", client random + server random)'))
        return (f"{self.suite.name}: {found}; key block = {prf_name}(master, \"key expansion\", server random + "
                f"client random): two {self.suite.key_length}-byte keys, two {self.suite.fixed_iv_length}-byte IVs")


class Tls12Session:
    """What a TLS 1.2 decoder needs to remember, fed every handshake message in order.

    ``observe`` returns the proofs it could check, as :class:`Check` rows; ``protection(sender)``
    is called at the sender's ChangeCipherSpec and returns the opener of its records.
    """

    def __init__(self, keylog: dict[bytes, dict[str, bytes]], server_key=None):
        self._keylog = keylog
        self._server_key = load_server_key(server_key) if server_key is not None else None
        self.client_hello: ClientHello | None = None
        self.server_hello: ServerHello | None = None
        self._certificates: dict[str, x509.Certificate] = {}
        self._key_exchange: ClientKeyExchange | None = None
        self._session_hash: tuple[bytes, int] | None = None
        self.secrets: Tls12Secrets | None = None

    @property
    def suite(self) -> Tls12Suite:
        return tls12_suite(self.server_hello.cipher_suite)

    def observe(self, sender: str, message: HandshakeMessage, transcript: list[bytes]) -> list[Check]:
        """``transcript``: the handshake messages before ``message``."""
        if isinstance(message, ClientHello):
            self.client_hello = message
        elif isinstance(message, ServerHello):
            self.server_hello = message
        elif isinstance(message, Certificate) and message.certificates:
            self._certificates[sender] = message.parsed()[0]
        elif isinstance(message, ClientKeyExchange):
            self._key_exchange = message
            hashed = [*transcript, message.raw]
            self._session_hash = (handshake_hash(hashed, self.suite.hash_name), len(hashed))
        elif isinstance(message, ServerKeyExchange) and "server" in self._certificates:
            signed = self.client_hello.random + self.server_hello.random + message.body[:4 + len(message.public_key)]
            return [self._signature_check("server ServerKeyExchange", "server", message.scheme, message.signature,
                                          signed, "the two randoms, its curve and its key share")]
        elif isinstance(message, CertificateVerify) and sender in self._certificates:
            return [self._signature_check(f"{sender} CertificateVerify", sender, message.scheme, message.signature,
                                          b"".join(transcript), f"the {len(transcript)} handshake messages before it")]
        elif isinstance(message, Finished) and self.secrets is not None:
            expected = finished_verify_data(self.secrets.master, sender, transcript, self.suite.hash_name)
            return [Check.mac(f"{sender} Finished", expected, message.verify_data,
                              f"PRF-{self.suite.hash_name.upper()}(master, \"{sender} finished\", "
                              f"hash of {len(transcript)} messages)", "verify_data")]
        return []

    def _signature_check(self, what, sender, scheme, signature, signed, over):
        return Check.signature(what, self._certificates[sender], scheme, signature, signed, f"signature over {over}")

    def protection(self, sender: str) -> RecordProtection12 | None:
        if self.secrets is None:
            self.secrets = self._find_secrets()
            if self.secrets is None:
                return None
        keys = self.secrets.keys
        key, iv = ((keys.client_write_key, keys.client_write_iv) if sender == "client"
                   else (keys.server_write_key, keys.server_write_iv))
        return RecordProtection12(key, iv, self.suite, f"{sender}_write_key")

    def _find_secrets(self) -> Tls12Secrets | None:
        if self.client_hello is None or self.server_hello is None:
            raise DecodeError("ChangeCipherSpec before both hellos: this is not a TLS 1.2 handshake from its start")
        suite, client_random, server_random = self.suite, self.client_hello.random, self.server_hello.random
        extended = any(e.type == EXTENDED_MASTER_SECRET for e in self.server_hello.extensions)
        counted = self._session_hash[1] if self._session_hash and extended else 0
        logged = self._keylog.get(client_random, {}).get("CLIENT_RANDOM")
        if logged is not None:
            return Tls12Secrets(suite, "key log", extended, counted, logged,
                                key_block(logged, client_random, server_random, suite))
        if self._server_key is None:
            if self._keylog:
                raise DecryptError(f"the key log has no CLIENT_RANDOM line for this connection (client random "
                                   f"{client_random[:8].hex()}...): it was written for other connections")
            return None
        premaster = self._premaster(suite)
        master = master_secret(premaster, client_random, server_random, suite.hash_name,
                               self._session_hash[0] if extended else None)
        return Tls12Secrets(suite, "server's private key", extended, counted, master,
                            key_block(master, client_random, server_random, suite), premaster)

    def _premaster(self, suite: Tls12Suite) -> bytes:
        if self._key_exchange is None:
            raise DecryptError("no ClientKeyExchange: this is a resumed session, whose master secret is the one "
                               "of the session it resumes (carried in its session ticket), not in this recording")
        if suite.forward_secret:
            raise DecryptError(
                f"{suite.name} uses ephemeral {suite.key_exchange}: the premaster secret is a Diffie-Hellman result "
                f"that each side computed from its own one-time private key and never sent, and the server's "
                f"certificate key only signed its key share. No long-term key opens this recording; only secrets "
                f"logged at the time (a key log's CLIENT_RANDOM line) do")
        certificate = self._certificates.get("server")
        public = self._server_key.public_key() if hasattr(self._server_key, "public_key") else None
        if not isinstance(public, rsa.RSAPublicKey):
            raise DecryptError(f"RSA key transport needs the server's RSA private key, "
                               f"not {type(self._server_key).__name__}")
        if certificate is not None and _spki(certificate.public_key()) != _spki(public):
            raise DecryptError(f"this private key does not belong to the server's certificate "
                               f"({certificate.subject.rfc4514_string()}): it cannot open this recording")
        return premaster_from_rsa(self._server_key, self._key_exchange.public_key, self.client_hello.legacy_version)


def _spki(public_key) -> bytes:
    return public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
