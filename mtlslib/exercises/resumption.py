"""Checker for chapter 11, resumption: the PSK binder of a resumed ClientHello, by hand.

The reader writes ``psk_binder(psk, truncated_client_hello, suite)``. The check runs it on RFC 8448's
resumed handshake (the binder the RFC published) and on a second case with SHA-384, whose right
answer comes from :mod:`mtlslib.wire.resumption`. A wrong answer is compared with the usual mistakes
(no HKDF-Extract, the wrong label or context, no finished key, the ClientHello not hashed) to say
which one it is, without giving the code away.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Callable

from mtlslib.exercises import attempt, expect, well_done
from mtlslib.lessons.rfc8448 import RECORDS, value
from mtlslib.wire import parse_handshake, read_records, resumption
from mtlslib.wire.keyschedule import TLS13_SUITES, CipherSuite, hkdf_expand_label

__all__ = ["check_psk_binder"]


def _cases() -> list[tuple[bytes, bytes, CipherSuite, bytes]]:
    """(psk, truncated ClientHello, suite, right binder): RFC 8448 first, then a SHA-384 case."""
    hello = parse_handshake(read_records(bytes.fromhex(RECORDS[0][1]))[0].fragment, tls13=True)
    truncated = resumption.truncated_client_hello(hello)
    sha384 = TLS13_SUITES[0x1302]
    other_psk = hashlib.sha384(b"a ticket of the course").digest()
    return [(value("psk"), truncated, TLS13_SUITES[0x1301], value("binder")),
            (other_psk, truncated, sha384, resumption.psk_binder(other_psk, [truncated], sha384))]


def _mistakes(psk: bytes, truncated: bytes, suite: CipherSuite) -> dict[bytes, str]:
    """What the usual wrong implementations return, each with what is wrong."""
    name, length = suite.hash_name, suite.hash_length
    empty_hash, hello_hash = hashlib.new(name).digest(), hashlib.new(name, truncated).digest()

    def expand(secret, label, context):
        return hkdf_expand_label(secret, label, context, length, suite)

    def binder(early_secret, *, label="res binder", context=empty_hash, finished=True, mac_input=hello_hash):
        key = expand(early_secret, label, context)
        if finished:
            key = expand(key, "finished", b"")
        return hmac.new(key, mac_input, name).digest()

    early = hmac.new(bytes(length), psk, name).digest()
    return {
        binder(psk): "the PSK is not the Early Secret: first HKDF-Extract(salt = Hash.length zero bytes, "
                     "IKM = PSK), which is HMAC keyed with the salt",
        binder(hmac.new(psk, bytes(length), name).digest()): "HKDF-Extract's arguments are swapped: the "
                     "zero salt is the HMAC key and the PSK the message",
        binder(early, label="ext binder"): "\"ext binder\" is for keys configured by hand (external PSKs); "
                     "a PSK from a ticket uses the resumption label",
        binder(early, context=b""): "Derive-Secret's context is Transcript-Hash of the messages, and for no "
                     "messages that is the hash of the empty string, not an empty string",
        binder(early, finished=False): "the binder is computed like a Finished MAC: derive the finished key "
                     "from the binder key first (label \"finished\", empty context), then HMAC with it",
        binder(early, mac_input=truncated): "the HMAC is over the transcript *hash* of the truncated "
                     "ClientHello, not over its bytes",
    }


def check_psk_binder(psk_binder: Callable[[bytes, bytes, CipherSuite], bytes]) -> None:
    """Check ``psk_binder(psk, truncated_client_hello, suite)`` against RFC 8448 and a SHA-384 case."""
    names = set(getattr(getattr(psk_binder, "__code__", None), "co_names", ()))
    expect(not names & {"psk_binder", "binder_key", "check_binders", "key_schedule"},
           "psk_binder() calls mtlslib.wire.resumption, which holds the course's own answer. Write it from "
           "HKDF-Extract, hkdf_expand_label and HMAC (RFC 8446 sections 4.2.11.2 and 7.1)")
    for number, (psk, truncated, suite, right) in enumerate(_cases(), 1):
        got = attempt(psk_binder, psk, truncated, suite)
        where = "on RFC 8448's ClientHello" if number == 1 else "with a SHA-384 suite (TLS_AES_256_GCM_SHA384)"
        expect(isinstance(got, bytes), f"psk_binder() returned {type(got).__name__}; return the binder as bytes "
                                       "(an HMAC digest, not its hex)")
        expect(len(got) == suite.hash_length,
               f"{where}: the binder has {len(got)} bytes, but it is an HMAC with the suite's hash "
               f"({suite.hash_length} bytes): use suite.hash_name / suite.hash_length, not a fixed hash")
        if got != right:
            hint = _mistakes(psk, truncated, suite).get(got)
            expect(False, f"{where}: wrong binder. " + (hint or "Check each step: Early Secret = HKDF-Extract(0, PSK); "
                          "binder_key = Derive-Secret(Early Secret, \"res binder\", \"\"); finished_key = "
                          "HKDF-Expand-Label(binder_key, \"finished\", \"\", Hash.length); "
                          "binder = HMAC(finished_key, Transcript-Hash(truncated ClientHello))"))
    well_done("your binder matches RFC 8448's published value (3a dd 4f b2 ...) and a SHA-384 binder: "
              "a server computes the same HMAC and refuses the ticket when they differ")
