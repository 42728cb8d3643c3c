"""Resumption and 0-RTT in TLS 1.3, sans I/O: tickets, the pre_shared_key offer, the binder, the PSK key schedule.

A server that ends a handshake with a NewSessionTicket lets the client come back with a
pre-shared key (PSK) instead of certificates (RFC 8446 sections 2.2, 4.2.11 and 4.6.1):

* both sides derive the PSK from the first connection's ``resumption_master_secret`` and the
  ticket's nonce (:func:`resumption_psk`);
* the client names the ticket in its ClientHello's ``pre_shared_key`` extension
  (:func:`offered_psk`) and proves it holds the PSK with a *binder*: an HMAC, keyed from the PSK,
  over the ClientHello cut just before the binders (:func:`truncated_client_hello`, :func:`psk_binder`);
* the PSK enters the key schedule as the input of the Early Secret (:func:`key_schedule`), from
  which the client may derive ``client_early_traffic_secret`` and send 0-RTT data before any answer.

OpenSSL never logs the PSK nor the resumption master secret, so a live capture can be decrypted
and its Finished MACs checked, but its binder only when the PSK is known, as in RFC 8448.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Sequence

from ..errors import DecodeError, DecryptError
from .keyschedule import (
    TLS13_SUITES,
    Check,
    CipherSuite,
    OpenedRecord,
    RecordProtection,
    finished_verify_data,
    hkdf_expand_label,
    transcript_hash,
)
from .messages import ClientHello, EncryptedExtensions, NewSessionTicket, ServerHello
from .reader import Reader
from .records import Record

__all__ = ["EarlyDataProtection", "KeySchedule", "OfferedPsk", "binder_key", "check_binders", "derive_secret",
           "early_data_offered", "hkdf_extract", "key_schedule", "max_early_data_size", "offered_psk",
           "psk_binder", "psk_key_exchange_modes", "resumption_psk", "selected_identity", "ticket_age",
           "truncated_client_hello"]

PRE_SHARED_KEY, EARLY_DATA, PSK_KEY_EXCHANGE_MODES = 41, 42, 45
PSK_MODES = {0: "psk_ke", 1: "psk_dhe_ke"}  # RFC 8446 4.2.9: without and with a fresh (EC)DHE


def _extension(message, ext_type: int) -> bytes | None:
    return next((e.data for e in message.extensions if e.type == ext_type), None)


# --------------------------------------------------------------------------------------------
# What crosses the wire


def psk_key_exchange_modes(hello: ClientHello) -> tuple[str, ...]:
    """The modes the client accepts a PSK in: ``psk_dhe_ke`` adds an (EC)DHE exchange, so a stolen
    ticket key does not open past resumed sessions; ``psk_ke`` does not."""
    data = _extension(hello, PSK_KEY_EXCHANGE_MODES)
    if data is None:
        return ()
    return tuple(PSK_MODES.get(mode, f"0x{mode:02x}") for mode in Reader(data, "psk_key_exchange_modes").vector(1))


@dataclass(frozen=True)
class OfferedPsk:
    """The ``pre_shared_key`` extension of a ClientHello: tickets (identities) and one binder each."""

    identities: tuple[tuple[bytes, int], ...]  # (ticket, obfuscated_ticket_age)
    binders: tuple[bytes, ...]

    @property
    def binders_size(self) -> int:
        """Bytes the binders take at the very end of the ClientHello: a 2-byte length, then each
        binder with its 1-byte length. The binders are cut off before computing them."""
        return 2 + sum(1 + len(binder) for binder in self.binders)


def offered_psk(hello: ClientHello) -> OfferedPsk | None:
    """The PSKs a ClientHello offers, or ``None`` when it offers none."""
    data = _extension(hello, PRE_SHARED_KEY)
    if data is None:
        return None
    if hello.extensions[-1].type != PRE_SHARED_KEY:
        raise DecodeError("ClientHello: pre_shared_key must be the last extension (RFC 8446 4.2.11)")
    reader = Reader(data, "pre_shared_key")
    identities_block, binders_block = reader.sub(2, "identities"), reader.sub(2, "binders")
    reader.expect_end()
    identities = []
    while not identities_block.done():
        identities.append((identities_block.vector(2), identities_block.uint(4)))
    binders = []
    while not binders_block.done():
        binders.append(binders_block.vector(1))
    if len(binders) != len(identities):
        raise DecodeError(f"pre_shared_key: {len(identities)} identities but {len(binders)} binders")
    return OfferedPsk(tuple(identities), tuple(binders))


def truncated_client_hello(hello: ClientHello) -> bytes:
    """The ClientHello up to, not including, its binders: what each binder is an HMAC of
    (RFC 8446 4.2.11.2). The length fields keep their values for the whole message."""
    offer = offered_psk(hello)
    if offer is None:
        raise DecodeError("this ClientHello offers no pre-shared key, so it has no binders")
    return hello.raw[:-offer.binders_size]


def selected_identity(hello: ServerHello) -> int | None:
    """Which offered PSK the server accepted (its index), or ``None``: a full handshake."""
    data = _extension(hello, PRE_SHARED_KEY)
    return None if data is None else Reader(data, "ServerHello pre_shared_key").uint(2)


def early_data_offered(message: ClientHello | EncryptedExtensions) -> bool:
    """In a ClientHello: the client sends 0-RTT data. In EncryptedExtensions: the server accepts it."""
    return _extension(message, EARLY_DATA) is not None


def max_early_data_size(ticket: NewSessionTicket) -> int | None:
    """How many bytes of 0-RTT data the ticket allows, or ``None``: no 0-RTT with this ticket."""
    data = _extension(ticket, EARLY_DATA)
    return None if data is None else Reader(data, "NewSessionTicket early_data").uint(4)


def ticket_age(obfuscated_ticket_age: int, ticket_age_add: int) -> int:
    """The ticket's age in milliseconds, as the client saw it: the ClientHello carries it plus the
    ticket's random ``ticket_age_add``, modulo 2^32, so that an observer cannot link the two connections
    by the age (RFC 8446 4.2.11.1). The server uses it to reject stale replays (section 8.3)."""
    return (obfuscated_ticket_age - ticket_age_add) % 2**32


# --------------------------------------------------------------------------------------------
# The key schedule with a PSK (RFC 8446 section 7.1)


def hkdf_extract(salt: bytes, ikm: bytes, suite: CipherSuite) -> bytes:
    """HKDF-Extract (RFC 5869): HMAC with the salt as key. An absent salt or IKM is a string of
    Hash.length zeros in TLS 1.3."""
    zeros = bytes(suite.hash_length)
    return hmac.new(salt or zeros, ikm or zeros, suite.hash_name).digest()


def derive_secret(secret: bytes, label: str, messages: Sequence[bytes], suite: CipherSuite) -> bytes:
    """Derive-Secret(Secret, Label, Messages) =
    HKDF-Expand-Label(Secret, Label, Transcript-Hash(Messages), Hash.length)."""
    return hkdf_expand_label(secret, label, transcript_hash(list(messages), suite), suite.hash_length, suite)


def resumption_psk(resumption_master_secret: bytes, ticket_nonce: bytes, suite: CipherSuite) -> bytes:
    """The PSK a ticket stands for (RFC 8446 4.6.1): one resumption master secret, a different PSK per ticket."""
    return hkdf_expand_label(resumption_master_secret, "resumption", ticket_nonce, suite.hash_length, suite)


def binder_key(psk: bytes, suite: CipherSuite, *, external: bool = False) -> bytes:
    """Derive-Secret(Early Secret, "res binder" (a ticket) or "ext binder" (a key configured by hand), "")."""
    return derive_secret(hkdf_extract(b"", psk, suite), "ext binder" if external else "res binder", (), suite)


def psk_binder(psk: bytes, truncated_transcript: Sequence[bytes], suite: CipherSuite) -> bytes:
    """A binder is computed like a Finished MAC, with the binder key as base key, over the
    transcript up to the truncated ClientHello (after a HelloRetryRequest: the first ClientHello,
    the HelloRetryRequest, then the truncated second ClientHello)."""
    return finished_verify_data(binder_key(psk, suite), transcript_hash(list(truncated_transcript), suite), suite)


def check_binders(hello: ClientHello, psks: Sequence[bytes], suite: CipherSuite,
                  earlier: Sequence[bytes] = ()) -> list[Check]:
    """Recompute each binder of ``hello`` from the PSK of the same identity; ``earlier`` are the
    messages before it (a first ClientHello and HelloRetryRequest)."""
    offer = offered_psk(hello)
    if offer is None or len(psks) != len(offer.binders):
        raise DecodeError("give one PSK for each identity the ClientHello offers")
    transcript = [*earlier, truncated_client_hello(hello)]
    checks = []
    for index, (psk, sent) in enumerate(zip(psks, offer.binders)):
        checks.append(Check.mac(f"client binder {index}", psk_binder(psk, transcript, suite), sent,
                                f"HMAC-{suite.hash_name.upper()} over the ClientHello without its binders",
                                "the binder sent"))
    return checks


@dataclass(frozen=True)
class KeySchedule:
    """Every secret of one TLS 1.3 handshake, in the order RFC 8446 7.1 derives them."""

    secrets: dict[str, bytes]

    def keylog(self, client_random: bytes) -> str:
        """The NSS key-log lines a TLS library would write for this handshake."""
        labels = {"client_early_traffic_secret": "CLIENT_EARLY_TRAFFIC_SECRET",
                  "client_handshake_traffic_secret": "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
                  "server_handshake_traffic_secret": "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                  "client_application_traffic_secret_0": "CLIENT_TRAFFIC_SECRET_0",
                  "server_application_traffic_secret_0": "SERVER_TRAFFIC_SECRET_0",
                  "exporter_master_secret": "EXPORTER_SECRET"}
        return "".join(f"{label} {client_random.hex()} {self.secrets[name].hex()}\n"
                       for name, label in labels.items() if name in self.secrets)


def key_schedule(psk: bytes | None, shared_secret: bytes | None, messages: Sequence[bytes],
                 suite: CipherSuite) -> KeySchedule:
    """The key schedule from its two inputs, the PSK (``None``: a full handshake) and the (EC)DHE
    shared secret (``None``: psk_ke), over the handshake messages so far: ClientHello, ServerHello,
    ..., the server's Finished, [EndOfEarlyData], the client's Finished. Each secret is derived once
    the messages it covers are there: the handshake secrets need the ServerHello, the application
    secrets the server's Finished, the resumption master secret the client's."""
    types = [m[0] for m in messages]
    if 1 not in types:
        raise DecodeError("the key schedule starts from a ClientHello")
    finished = [i for i, t in enumerate(types) if t == 20]
    s: dict[str, bytes] = {"early_secret": hkdf_extract(b"", psk or b"", suite)}
    if psk is not None:
        client_hello = messages[:types.index(1) + 1]
        s["binder_key"] = derive_secret(s["early_secret"], "res binder", (), suite)
        s["client_early_traffic_secret"] = derive_secret(s["early_secret"], "c e traffic", client_hello, suite)
        s["early_exporter_master_secret"] = derive_secret(s["early_secret"], "e exp master", client_hello, suite)
    if 2 not in types:
        return KeySchedule(s)
    to_server_hello = messages[:types.index(2) + 1]
    s["handshake_secret"] = hkdf_extract(derive_secret(s["early_secret"], "derived", (), suite),
                                         shared_secret or b"", suite)
    s["client_handshake_traffic_secret"] = derive_secret(s["handshake_secret"], "c hs traffic", to_server_hello, suite)
    s["server_handshake_traffic_secret"] = derive_secret(s["handshake_secret"], "s hs traffic", to_server_hello, suite)
    s["master_secret"] = hkdf_extract(derive_secret(s["handshake_secret"], "derived", (), suite), b"", suite)
    if finished:
        for name, label in (("client_application_traffic_secret_0", "c ap traffic"),
                            ("server_application_traffic_secret_0", "s ap traffic"),
                            ("exporter_master_secret", "exp master")):
            s[name] = derive_secret(s["master_secret"], label, messages[:finished[0] + 1], suite)
    if len(finished) > 1:
        s["resumption_master_secret"] = derive_secret(s["master_secret"], "res master",
                                                      messages[:finished[1] + 1], suite)
    return KeySchedule(s)


# --------------------------------------------------------------------------------------------
# 0-RTT records, before the ServerHello names the suite


class EarlyDataProtection:
    """Opens the client's 0-RTT records under ``client_early_traffic_secret``. They are sent before
    the server has chosen anything: the suite is the one the ticket was issued with, which the
    ClientHello does not name, so the first record is tried with each suite the client offers
    whose hash fits the secret's length (a wrong key fails AEAD authentication)."""

    label = "CLIENT_EARLY_TRAFFIC_SECRET"

    def __init__(self, secret: bytes, offered_suites: Sequence[int]):
        self._candidates = [RecordProtection(secret, TLS13_SUITES[code], self.label) for code in offered_suites
                            if code in TLS13_SUITES and TLS13_SUITES[code].hash_length == len(secret)]
        if not self._candidates:
            raise DecodeError("no offered TLS 1.3 suite fits the length of the client's early traffic secret")

    @property
    def suite(self) -> CipherSuite:
        return self._candidates[0].suite

    def open(self, record: Record) -> OpenedRecord:
        while True:
            candidate = self._candidates[0]
            try:
                opened = candidate.open(record)
            except DecryptError:
                if len(self._candidates) == 1:
                    raise
                del self._candidates[0]
                continue
            self._candidates = [candidate]
            return opened
