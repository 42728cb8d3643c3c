"""Checkers for chapter 10, forward secrecy: the TLS 1.2 PRF by hand, and which recordings a leaked
server key opens.

The PRF checker compares the reader's function with the published SHA-256 test vector (the one
OpenSSL's ``TLS1-PRF`` reproduces) and with the usual wrong versions, to say which mistake it is;
then it uses the reader's PRF on the chapter's own recording: from the premaster secret that the
leaked key decrypts to the master secret, both Finished messages and the server's answer. An answer
that only calls :mod:`mtlslib.wire.tls12`, which computes the same thing, is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import types
from typing import Callable

from mtlslib.exercises import attempt, expect, well_done
from mtlslib.lessons.forward_secrecy import Recording, try_to_open
from mtlslib.wire import decode_conversation, tls12
from mtlslib.wire.conversation import ApplicationData

__all__ = ["check_leaked_key_opens", "check_tls12_prf", "VECTOR"]

# The TLS 1.2 PRF test vector with SHA-256 published on the IETF TLS list; `openssl kdf -keylen 100
# -kdfopt digest:SHA256 ... TLS1-PRF` gives the same bytes.
VECTOR = {
    "secret": bytes.fromhex("9bbe436ba940f017b17652849a71db35"),
    "label": "test label",
    "seed": bytes.fromhex("a0ba9f936cda311827a6f796ffd5198c"),
    "length": 100,
}
_BLOCK = 32  # bytes of one HMAC-SHA256


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, "sha256").digest()


def _wrong_versions(secret: bytes, label: str, seed: bytes, length: int) -> dict[bytes, str]:
    """What the usual wrong implementations return, each with what is wrong (never the fix itself)."""
    right_seed = label.encode("ascii") + seed

    def p_hash(chain_seed: bytes, block_seed: bytes | None = None, *, chain: bool = True, output_a: bool = False,
               swapped: bool = False) -> bytes:
        block_seed = chain_seed if block_seed is None else block_seed
        out, a = b"", chain_seed
        while len(out) < length:
            a = _hmac(secret, a if chain else chain_seed)
            out += a if output_a else (_hmac(a + block_seed, secret) if swapped else _hmac(secret, a + block_seed))
        return out[:length]

    return {
        p_hash(seed): "the label is missing: the PRF hashes the label's ASCII bytes and the seed together, "
                      "in that order (RFC 5246 section 5)",
        p_hash(seed + label.encode("ascii")): "the label and the seed are in the wrong order",
        p_hash(seed, right_seed): "the output blocks have the label but the A(i) chain does not: P_hash's seed is "
                                  "what PRF passes it, label + seed, and A(0) is that same seed (RFC 5246 section 5)",
        p_hash(right_seed, seed): "the A(i) chain has the label but the output blocks do not: each block is "
                                  "HMAC_hash(secret, A(i) + seed) with P_hash's seed, the one PRF passes it "
                                  "(RFC 5246 section 5)",
        p_hash(right_seed, output_a=True): "you output the A(i) values themselves: they only chain the "
                                           "blocks; each output block is a further HMAC over A(i) and the seed",
        p_hash(right_seed, chain=False): "every A(i) is the same: A(i) is the HMAC of A(i-1), not of the seed",
        p_hash(right_seed, swapped=True): "the HMAC's key and message are swapped: the secret is the key",
    }


def _refuse_the_library(function: Callable) -> None:
    code, namespace = getattr(function, "__code__", None), getattr(function, "__globals__", {})
    if code is None:
        return
    names, todo = set(), [code]
    while todo:  # nested functions and comprehensions too
        current = todo.pop()
        names |= set(current.co_names)
        todo += [c for c in current.co_consts if isinstance(c, types.CodeType)]
    # Compared by identity: a name may be bound to anything, a dict included.
    library = (tls12, tls12.prf, tls12.p_hash, tls12.master_secret, tls12.key_block, tls12.finished_verify_data)
    uses = any(namespace.get(n) is f for n in names for f in library) or "tls12" in names
    expect(not uses, f"{getattr(function, '__name__', 'your function')}() calls mtlslib.wire.tls12, the course's "
                     "own PRF: write P_hash yourself with hmac and hashlib")


def _vector_mistake(prf: Callable, name: str) -> None:
    expected = tls12.prf(VECTOR["secret"], VECTOR["label"], VECTOR["seed"], VECTOR["length"], "sha256")
    answer = attempt(prf, VECTOR["secret"], VECTOR["label"], VECTOR["seed"], VECTOR["length"])
    expect(isinstance(answer, bytes), f"{name}() returned {type(answer).__name__}: return the bytes themselves")
    asked, given = VECTOR["length"], len(answer)
    returned = f"{name}() returned {given} bytes for length={asked}"
    expect(not (0 < asked - given < _BLOCK and given % _BLOCK == 0),
           f"{returned}: whole blocks only, and one too few. RFC 5246 section 5 works an example: 80 bytes of "
           "P_SHA256 take three iterations, through A(3), 96 bytes of which the last 16 are discarded")
    expect(given >= asked, f"{returned}: one HMAC-SHA256 gives {_BLOCK} bytes, so P_hash repeats, block after "
                           "block, until it has enough")
    expect(given - asked < _BLOCK, f"{returned}: at least one whole block more than it takes; P_hash stops as "
                                   "soon as it has enough, then cuts the output to the length asked")
    expect(given == asked, f"{returned}: cut the output to the length asked")
    if answer != expected:
        known = _wrong_versions(VECTOR["secret"], VECTOR["label"], VECTOR["seed"], asked).get(answer)
        expect(known is None, f"{name}() does not give the published test vector: {known}")
        blocks = [answer[i:i + _BLOCK] for i in range(0, given, _BLOCK)]
        right = [expected[i:i + _BLOCK] for i in range(0, asked, _BLOCK)]
        expect(blocks[1] != right[0],
               f"{name}()'s second block is the test vector's first: its output starts one block early, with "
               "A(0). In RFC 5246 section 5 the first block is HMAC_hash(secret, A(1) + seed): A(0) = seed "
               "only starts the chain")
        expect(blocks[0] != right[1],
               f"{name}()'s first block is the test vector's second: its output skips the block made with A(1). "
               "In RFC 5246 section 5 the blocks use A(1), A(2), A(3)... in turn, each A(i) one HMAC further "
               "down the chain")
        right_blocks = next(i for i, block in enumerate(blocks) if block != right[i]) * _BLOCK
        expect(right_blocks == 0,
               f"{name}() gets the first {right_blocks} bytes of the test vector right, then goes wrong: check "
               "how A(i) is computed for the blocks after the first")
        expect(False, f"{name}() does not give the published test vector; its first bytes should be "
                      f"{expected[:4].hex()}..., yours are {answer[:4].hex()}... (is it HMAC with SHA-256?)")


def check_tls12_prf(prf: Callable, recording: Recording, leaked_key) -> None:
    """``prf(secret, label, seed, length)`` is the TLS 1.2 PRF with SHA-256; ``recording`` uses RSA
    key transport with a SHA-256 suite and ``leaked_key`` is its server's private key."""
    name = getattr(prf, "__name__", "your function")
    _refuse_the_library(prf)
    _vector_mistake(prf, name)
    conversation = decode_conversation(recording.chunks, server_key=leaked_key)
    secrets = conversation.tls12
    expect(secrets is not None and secrets.suite.hash_name == "sha256",
           "pass the chapter's RSA key-transport recording (a SHA-256 suite) and the leaked server key")
    client_random, server_random = conversation.client_random, conversation.find("ServerHello").payload.random
    messages = [m.raw for m in conversation.handshake_messages()]
    # Extended master secret (RFC 7627): the hash of the handshake up to ClientKeyExchange replaces the randoms.
    session_hash = hashlib.sha256(b"".join(messages[:secrets.transcript_messages])).digest()
    master = attempt(prf, secrets.premaster, "extended master secret", session_hash, 48)
    expect(len(master) == 48, f"{name}() returned {len(master)} bytes for length=48: it must follow the length "
                              "it is given, not the one of the test vector")
    expect(master == secrets.master, f"{name}() passes the test vector but not this session's master secret: "
                                     "did it keep state between calls?")
    finished = [i for i, raw in enumerate(messages) if raw[0] == 20]
    for sender, index in zip(("client", "server"), finished):
        digest = hashlib.sha256(b"".join(messages[:index])).digest()
        expect(attempt(prf, master, f"{sender} finished", digest, 12) == messages[index][4:],
               f"{name}() does not reproduce the {sender}'s Finished: with a 12-byte length the output must be "
               "cut to 12 bytes")
    keys = tls12.key_block(master, client_random, server_random, secrets.suite)
    expect(attempt(prf, master, "key expansion", server_random + client_random, 40)
           == keys.client_write_key + keys.server_write_key + keys.client_write_iv + keys.server_write_iv,
           f"{name}() does not give this session's key block")
    answer = next(m.payload.plaintext for m in conversation.messages
                  if m.sender == "server" and isinstance(m.payload, ApplicationData))
    well_done(f"your {name} gives the published test vector and, from the premaster secret the leaked key "
              f"decrypts, this session's master secret, both Finished messages and the key block; the server "
              f"said {answer!r}")


# --------------------------------------------------------------------------------------------
# Which recordings a leaked key opens


_SUITES = {  # OpenSSL's name -> does the server's private key alone open a recording of it?
    # RSA key transport: the client sends the premaster secret encrypted to the certificate key.
    "AES128-GCM-SHA256": True, "AES256-GCM-SHA384": True, "AES128-SHA256": True, "AES256-SHA": True,
    "CAMELLIA128-SHA": True, "CAMELLIA256-SHA256": True, "ARIA128-GCM-SHA256": True, "ARIA256-GCM-SHA384": True,
    # Ephemeral (EC)DHE: the certificate key only signs the server's key share.
    "ECDHE-RSA-AES128-GCM-SHA256": False, "ECDHE-RSA-AES256-GCM-SHA384": False,
    "ECDHE-ECDSA-AES128-GCM-SHA256": False, "ECDHE-RSA-CHACHA20-POLY1305": False,
    "ECDHE-ARIA128-GCM-SHA256": False,  # signed with RSA, although OpenSSL's name leaves it out
    "DHE-RSA-AES256-GCM-SHA384": False, "DHE-RSA-CHACHA20-POLY1305": False, "DHE-DSS-AES128-GCM-SHA256": False,
    "TLS_AES_128_GCM_SHA256": False, "TLS_AES_256_GCM_SHA384": False, "TLS_CHACHA20_POLY1305_SHA256": False,
    # Pre-shared keys (RFC 4279, RFC 5489), anonymous Diffie-Hellman, SRP (RFC 5054).
    "PSK-AES128-GCM-SHA256": False, "RSA-PSK-AES256-GCM-SHA384": False,
    "DHE-PSK-AES128-GCM-SHA256": False, "ECDHE-PSK-CHACHA20-POLY1305": False,
    "ADH-AES128-GCM-SHA256": False, "AECDH-AES256-SHA": False, "SRP-RSA-AES-128-CBC-SHA": False,
}
_WHY = {  # the longest prefix of the suite's name that is here says why
    "ECDHE-": "ECDHE in front is the key exchange, ephemeral elliptic-curve Diffie-Hellman: each side computes "
              "the premaster secret from a one-time key, and the certificate key, named or not, "
              "only signs the server's key share",
    "ECDHE-RSA": "the RSA in its name is how the server signs its ephemeral ECDHE key share, not how the "
                 "keys are agreed",
    "ECDHE-ECDSA": "an ECDSA key cannot even decrypt: it only signs the ephemeral key share",
    "DHE-": "DHE is ephemeral Diffie-Hellman too, over a finite field instead of a curve",
    "TLS_": "a TLS 1.3 suite names no key exchange because TLS 1.3 has only ephemeral ones (or PSK)",
    "PSK-": "PSK in front is the key exchange (RFC 4279, section 2): the premaster secret is made from a key "
            "both ends were given beforehand, and the server sends no certificate, so no private key takes part; "
            "but the pre-shared key is a long-term secret itself, and whoever gets it later opens every recording",
    "RSA-PSK-": "RSA-PSK (RFC 4279, section 4) joins two secrets in the premaster secret: one the client encrypts "
                "to the server's key, and the pre-shared key, which never crosses the wire; the leaked key alone "
                "is not enough, the key and the pre-shared key together are",
    "DHE-PSK-": "DHE-PSK (RFC 4279, section 3) joins a one-time Diffie-Hellman secret with the pre-shared key, "
                "and no certificate takes part",
    "ECDHE-PSK-": "ECDHE-PSK (RFC 5489) joins a one-time ECDHE secret with the pre-shared key, and no "
                  "certificate takes part",
    "ADH-": "ADH is anonymous Diffie-Hellman: ephemeral, and without any certificate, so there is no server "
            "key to leak (nor any authentication)",
    "AECDH-": "AECDH is anonymous ECDHE: ephemeral, and without any certificate, so there is no server key "
              "to leak (nor any authentication)",
    "SRP-": "SRP in front is the key exchange (RFC 5054): each side computes the premaster secret from one-time "
            "values and the password (the server from its verifier); the certificate key, if there is one, only "
            "signs the server's values",
}


def _why(cipher: str) -> str:
    prefixes = [prefix for prefix in _WHY if cipher.startswith(prefix)]
    if prefixes:
        return _WHY[max(prefixes, key=len)]
    return (f"{cipher.split('-')[0]} is its cipher: the name has no key exchange in front. Which key exchange "
            "does OpenSSL's name leave out, and what does the client send the server in it?")


def check_leaked_key_opens(leaked_key_opens: Callable[[str], bool], leaked_key, *recordings: Recording) -> None:
    """``leaked_key_opens(cipher)`` says whether the server's private key alone opens a recorded TLS
    session that used ``cipher`` (OpenSSL's name). Then ``leaked_key`` is tried for real on the
    chapter's ``recordings``."""
    name = getattr(leaked_key_opens, "__name__", "your function")
    for cipher, expected in _SUITES.items():
        answer = attempt(leaked_key_opens, cipher)
        expect(isinstance(answer, bool), f"{name}({cipher!r}) returned {answer!r}: return True or False")
        expect(answer == expected, f"{name}({cipher!r}) says {answer}, but a leaked key "
                                   f"{'opens' if expected else 'does not open'} it: {_why(cipher)}")
    verdicts = []
    for recording in recordings:
        opened = try_to_open(recording, server_key=leaked_key).conversation is not None
        expect(attempt(leaked_key_opens, recording.cipher) == opened,
               f"{name}({recording.cipher!r}) is wrong on the chapter's own recording: the leaked key "
               f"{'opens' if opened else 'does not open'} it")
        verdicts.append(f"{recording.cipher} {'opened' if opened else 'not opened'}")
    tried = f"; and the leaked key, tried for real: {', '.join(verdicts)}" if verdicts else ""
    well_done(f"{name} is right on all {len(_SUITES)} suites{tried}")
