"""Checker for chapter 12, TLS in 2026: the server's side of the X25519MLKEM768 hybrid.

The reader writes ``answer_hybrid(key_share_data)``: from the extension_data of a ClientHello's
key_share extension, the server's 1120-byte share and the 64-byte shared secret. The checker plays
real clients (fresh ML-KEM-768 and X25519 keys each time, :class:`~mtlslib.lessons.post_quantum.HybridClient`),
offers the hybrid share beside a plain X25519 share and a P-256 share in several orders, as real
clients do, and finishes each exchange as the client would. Because it holds every client private
key, it can tell which half of a wrong answer is wrong, and why.
"""

from __future__ import annotations

from typing import Callable

from cryptography.hazmat.primitives.asymmetric import ec, x25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from mtlslib.errors import ExerciseIncorrect
from mtlslib.exercises import attempt, expect, well_done
from mtlslib.lessons.post_quantum import (
    MLKEM768_CIPHERTEXT_SIZE,
    SERVER_SHARE_SIZE,
    SHARED_SECRET_SIZE,
    X25519,
    X25519_SIZE,
    X25519MLKEM768,
    HybridClient,
    key_share_extension,
)
from mtlslib.wire.constants import GROUPS

__all__ = ["check_hybrid_server"]

SECP256R1 = 0x0017
_LAYOUT = "(section 2 gives the layout of each share)"


def _offers(client: HybridClient, classic: x25519.X25519PrivateKey, p256: ec.EllipticCurvePrivateKey):
    """The key_share entries of the ClientHellos to answer: OpenSSL 3.5's default pair, then other orders."""
    hybrid = (X25519MLKEM768, client.key_share)
    plain = (X25519, classic.public_key().public_bytes_raw())
    nist = (SECP256R1, p256.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint))
    return [[hybrid, plain], [plain, hybrid], [nist, plain, hybrid]]


def _describe(entries) -> str:
    return "a key_share with the entries " + ", ".join(f"{GROUPS[group]} ({len(data)} bytes)"
                                                       for group, data in entries)


def _answer(answer_hybrid: Callable, entries) -> tuple[bytes, bytes]:
    name = getattr(answer_hybrid, "__name__", "answer_hybrid")
    try:
        result = attempt(answer_hybrid, key_share_extension(entries))
    except ExerciseIncorrect as error:
        hint = (" Find the hybrid entry by its group, 0x11EC, not by its position: real clients put their "
                "entries in any order." if entries[0][0] != X25519MLKEM768 else
                " Each entry is a 2-byte group, a 2-byte length and that many bytes, after the list's own "
                "2-byte length; inside the hybrid entry, check which key comes first (section 2 prints the "
                "layout of the client's share).")
        raise ExerciseIncorrect(f"given {_describe(entries)}: {error}.{hint}") from None
    expect(isinstance(result, tuple) and len(result) == 2 and all(isinstance(part, bytes) for part in result),
           f"{name}() returned {type(result).__name__}: return a pair of bytes, (server_share, shared_secret)")
    return result


def _diagnose(server_share: bytes, secret: bytes, client: HybridClient, classic: x25519.X25519PrivateKey,
              entries) -> None:
    """Say what is wrong with an answer the client does not agree with."""
    given = f"given {_describe(entries)}: "
    expect(len(server_share) != SHARED_SECRET_SIZE or len(secret) != SERVER_SHARE_SIZE,
           given + "your pair is the wrong way round: return (server_share, shared_secret)")
    expect(len(server_share) == SERVER_SHARE_SIZE,
           given + f"your server share is {len(server_share)} bytes, not {SERVER_SHARE_SIZE}. It must carry "
           f"both halves, for the client to finish both exchanges {_LAYOUT}")
    expect(len(secret) == SHARED_SECRET_SIZE,
           given + f"your shared secret is {len(secret)} bytes, not {SHARED_SECRET_SIZE}: the hybrid secret is "
           "the two secrets themselves, side by side, not a hash or a mix of them, and not one alone")
    if client.shared_secret(server_share) != secret:
        swapped = server_share[X25519_SIZE:] + server_share[:X25519_SIZE]
        expect(client.shared_secret(swapped) not in (secret, secret[X25519_SIZE:] + secret[:X25519_SIZE]),
               given + f"your server share starts with your X25519 public key: in X25519MLKEM768 the ML-KEM "
               f"ciphertext comes first {_LAYOUT}. The client cut your share where the draft says and "
               "decapsulated the wrong bytes; ML-KEM does not complain about that, it returns a different "
               "secret (implicit rejection), so the mistake would surface later, as keys that differ")
    expected = client.shared_secret(server_share)
    half = SHARED_SECRET_SIZE // 2
    expect(secret != expected[half:] + expected[:half],
           given + "both of your secrets are right, but in the wrong order. X25519MLKEM768 concatenates them "
           "in one fixed order, and the chapter says why the draft chose it")
    server_x25519 = x25519.X25519PublicKey.from_public_bytes(server_share[MLKEM768_CIPHERTEXT_SIZE:])
    expect(secret[half:] != classic.exchange(server_x25519),
           given + "your X25519 secret comes from the client's separate x25519 entry (group 0x001D). The hybrid "
           "entry carries its own X25519 public key: use that one, so that the 64-byte secret is the hybrid's")
    expect(secret[:half] == expected[:half] or secret[half:] == expected[half:],
           given + "neither half of your 64 bytes is a secret the client derived: the hybrid secret is the two "
           "secrets themselves, side by side, not a hash or a mix of them")
    expect(secret[half:] == expected[half:],
           given + "the client computed a different X25519 secret: exchange your own fresh X25519 private key "
           f"with the client's X25519 public key from the hybrid entry {_LAYOUT}")
    expect(secret[:half] == expected[:half],
           given + "the client decapsulated your ciphertext to a different ML-KEM secret: encapsulate to the "
           "client's encapsulation key from the hybrid entry, and keep the secret and the ciphertext of that "
           "same encapsulation")


def check_hybrid_server(answer_hybrid: Callable[[bytes], tuple[bytes, bytes]]) -> None:
    """``answer_hybrid(key_share_data)`` must return ``(server_share, shared_secret)`` for X25519MLKEM768."""
    name = getattr(answer_hybrid, "__name__", "answer_hybrid")
    answered = 0
    for index in range(3):
        client, classic = HybridClient.generate(), x25519.X25519PrivateKey.generate()
        entries = _offers(client, classic, ec.generate_private_key(ec.SECP256R1()))[index]
        server_share, secret = _answer(answer_hybrid, entries)
        _diagnose(server_share, secret, client, classic, entries)
        again, _ = _answer(answer_hybrid, entries)
        expect(again[MLKEM768_CIPHERTEXT_SIZE:] != server_share[MLKEM768_CIPHERTEXT_SIZE:],
               f"{name}() answered the same ClientHello twice with the same X25519 public key: generate a "
               "fresh X25519 key pair inside the function, for every handshake. An ephemeral key is what makes "
               "a recorded handshake useless to whoever steals the server's keys later")
        answered += 1
    well_done(f"your {name} answered {answered} ClientHellos (the hybrid entry first, last, and after a P-256 "
              f"share): each time the client derived the same {SHARED_SECRET_SIZE}-byte secret from your "
              f"{SERVER_SHARE_SIZE}-byte share, ML-KEM's part first")
