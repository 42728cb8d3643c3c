"""Checkers for chapter 01, the TLS handshake: find the key exchange in the raw bytes of the hellos.

The reader writes three small readers of handshake bytes (RFC 8446 sections 4.1.2, 4.1.3, 4.2 and
4.2.8): ``find_extension(extensions, wanted)``, ``key_shares(client_hello)`` and
``chosen_group(server_hello)``. The checker runs them on the reader's own hellos, on real TLS 1.3
and TLS 1.2 hellos captured here on 127.0.0.1, and on hellos built here in shapes that other
clients and servers send (several key shares, an empty session id, a HelloRetryRequest), each of
which catches one usual mistake.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

from mtlslib.exercises import ExerciseIncorrect, attempt, expect, well_done
from mtlslib.pki import CertificateAuthority
from mtlslib.tls import HandshakeTrace, capture_handshake
from mtlslib.wire.constants import GROUPS, name_of
from mtlslib.wire.messages import HELLO_RETRY_RANDOM

__all__ = ["built_client_hello", "built_server_hello", "check_hello_readers"]

# IANA code points: extension types, then named groups (X25519MLKEM768 is the hybrid OpenSSL 3.5 offers first).
KEY_SHARE, PADDING, SUPPORTED_GROUPS, SUPPORTED_VERSIONS, SERVER_NAME = 51, 21, 10, 43, 0
_GROUP_CODES = {name: code for code, name in GROUPS.items()}
X25519, SECP256R1, X25519MLKEM768 = (_GROUP_CODES[name] for name in ("x25519", "secp256r1", "X25519MLKEM768"))


# --------------------------------------------------------------------------------------------
# Hellos built byte by byte, in the TLS 1.3 layout (deterministic: the "random" bytes come from labels)

def _noise(label: str, size: int) -> bytes:
    return hashlib.shake_256(label.encode()).digest(size)


def _vector(data: bytes, length_size: int) -> bytes:
    return len(data).to_bytes(length_size, "big") + data


def _extension(ext_type: int, data: bytes) -> bytes:
    return ext_type.to_bytes(2, "big") + _vector(data, 2)


def _handshake(msg_type: int, body: bytes) -> bytes:
    return bytes([msg_type]) + len(body).to_bytes(3, "big") + body


def _client_shares(shares: list[tuple[int, bytes]]) -> bytes:
    return _vector(b"".join(group.to_bytes(2, "big") + _vector(key, 2) for group, key in shares), 2)


def built_client_hello(label: str, shares: list[tuple[int, bytes]], *, session_id: bytes = b"",
                       padding: int | None = None) -> bytes:
    """A TLS 1.3 ClientHello offering ``shares`` (group code, public key); ``padding`` puts a padding
    extension of that many zero bytes first."""
    groups = b"".join(group.to_bytes(2, "big") for group, _ in shares) or X25519.to_bytes(2, "big")
    extensions = [_extension(PADDING, bytes(padding))] if padding is not None else []
    extensions += [_extension(SERVER_NAME, _vector(b"\x00" + _vector(b"localhost", 2), 2)),
                   _extension(SUPPORTED_GROUPS, _vector(groups, 2)),
                   _extension(KEY_SHARE, _client_shares(shares)),
                   _extension(SUPPORTED_VERSIONS, _vector(b"\x03\x04", 1))]
    body = (b"\x03\x03" + _noise(label, 32) + _vector(session_id, 1) + _vector(b"\x13\x02\x13\x03\x13\x01", 2)
            + _vector(b"\x00", 1) + _vector(b"".join(extensions), 2))
    return _handshake(1, body)


def built_server_hello(label: str, group: int, key: bytes | None, *, session_id: bytes = b"") -> bytes:
    """A TLS 1.3 ServerHello choosing ``group`` with public ``key``; ``key=None`` makes it a
    HelloRetryRequest, whose key_share names the group only (RFC 8446 section 4.2.8)."""
    share = group.to_bytes(2, "big") + (b"" if key is None else _vector(key, 2))
    random = HELLO_RETRY_RANDOM if key is None else _noise(label, 32)
    extensions = [_extension(SUPPORTED_VERSIONS, b"\x03\x04"), _extension(KEY_SHARE, share)]
    body = (b"\x03\x03" + random + _vector(session_id, 1) + b"\x13\x02" + b"\x00"
            + _vector(b"".join(extensions), 2))
    return _handshake(2, body)


# --------------------------------------------------------------------------------------------
# The cases: bytes in, the expected answer, and what the case teaches when it is missed

@dataclass(frozen=True)
class _Case:
    what: str  # the bytes, described
    data: bytes
    expected: Any
    lesson: str  # why a plausible answer goes wrong on it


def _group_code(name: str) -> int:
    return _GROUP_CODES[name] if name in _GROUP_CODES else int(name, 16)


def _hellos(trace: HandshakeTrace) -> tuple[Any, Any]:
    return trace.conversation.find("ClientHello").payload, trace.conversation.find("ServerHello").payload


@lru_cache(maxsize=1)
def _tls12_hellos() -> tuple[Any, Any]:
    ca = CertificateAuthority.create("Exercise CA", seed="exercises-01")
    return _hellos(capture_handshake(ca.issue_server("localhost", "127.0.0.1"), trust=ca, tls_version="1.2",
                                     tickets=False))


def _extension_block(*extensions: tuple[int, bytes]) -> bytes:
    return b"".join(_extension(ext_type, data) for ext_type, data in extensions)


def _extension_cases() -> list[tuple[_Case, int]]:
    share = _client_shares([(X25519, _noise("extension block", 32))])
    usual = _extension_block((SERVER_NAME, _vector(b"\x00" + _vector(b"localhost", 2), 2)),
                             (SUPPORTED_GROUPS, _vector(b"\x00\x1d\x00\x17", 2)), (KEY_SHARE, share),
                             (SUPPORTED_VERSIONS, b"\x02\x03\x04"))
    walk = ("walk the block one extension at a time: a 2-byte type, a 2-byte length, then that many bytes of "
            "data, and compare each type with the one wanted")
    trap = _extension_block((PADDING, bytes(KEY_SHARE)), (KEY_SHARE, share))
    return [
        (_Case("a block of four extensions (server_name, supported_groups, key_share, supported_versions)", usual,
               share, walk), KEY_SHARE),
        (_Case("the same block", usual, b"\x02\x03\x04",
               "the last extension counts too: stop at the end of the block, not one extension before"),
         SUPPORTED_VERSIONS),
        (_Case("the same block", usual, None,
               "there is no early_data extension (type 42) in it: return None when the type is missing"), 42),
        (_Case("a block whose first extension is 51 bytes of padding", trap, share,
               "that padding extension's length field reads 00 33, the same two bytes as the type key_share (51): "
               "searching the bytes for 00 33 finds a length, not a type. Read the block field by field"),
         KEY_SHARE),
    ]


def _client_hello_cases(own: HandshakeTrace) -> list[_Case]:
    hello, _ = _hellos(own)
    tls12, _ = _tls12_hellos()
    hybrid = [(X25519MLKEM768, _noise("ML-KEM-768 encapsulation key || X25519", 1216)),
              (X25519, _noise("x25519 share", 32))]
    p256 = [(SECP256R1, b"\x04" + _noise("P-256 point", 64))]
    skip = ("the extensions come after legacy_session_id, cipher_suites and legacy_compression_methods, three "
            "vectors whose lengths you read from the bytes (1, 2 and 1 length bytes)")
    return [
        _Case("your own ClientHello", hello.raw, [(_group_code(g), k) for g, k in hello.key_shares], skip),
        _Case("a ClientHello with two key shares, X25519MLKEM768 (1216 bytes) then x25519, as OpenSSL 3.5 sends",
              built_client_hello("hybrid", hybrid, session_id=_noise("session", 32)), hybrid,
              "a client may send one key share per group it guesses the server will pick: read client_shares to "
              "its end and return every share, in order, each key with exactly the length its 2-byte length says"),
        _Case("a ClientHello with an empty legacy_session_id and a 51-byte padding extension first",
              built_client_hello("no session id", p256, padding=KEY_SHARE), p256,
              "a client that does not use middlebox compatibility mode sends an empty session id: read its length "
              "byte rather than assume 32; and find key_share by its type, not by searching for the bytes 00 33"),
        _Case("a ClientHello with an empty client_shares list", built_client_hello("empty", []), [],
              "client_shares may be empty (RFC 8446 section 4.2.8): the client then waits for a HelloRetryRequest "
              "to learn which group to use. Return an empty list"),
        _Case("a TLS 1.2 ClientHello captured on 127.0.0.1", tls12.raw, [],
              "a TLS 1.2 ClientHello has no key_share extension: in TLS 1.2 the key exchange waits for the "
              "server's ServerKeyExchange. Return an empty list"),
    ]


def _server_hello_cases(own: HandshakeTrace) -> list[_Case]:
    _, hello = _hellos(own)
    _, tls12 = _tls12_hellos()
    return [
        _Case("your own ServerHello", hello.raw, _group_code(hello.key_share[0]),
              "a ServerHello holds one cipher_suite (2 bytes) and one legacy_compression_method (1 byte), not "
              "lists with a length in front; its key_share is one entry: the group's 2 bytes come first"),
        _Case("a ServerHello with an empty legacy_session_id, choosing secp256r1",
              built_server_hello("p256", SECP256R1, b"\x04" + _noise("server P-256 point", 64)), SECP256R1,
              "the session id echoes the client's, so it can be empty: read its length byte"),
        _Case("a HelloRetryRequest asking for secp256r1",
              built_server_hello("retry", SECP256R1, None, session_id=_noise("session", 32)), SECP256R1,
              "a HelloRetryRequest is a ServerHello whose key_share holds only the selected group, no key: the "
              "group is the first 2 bytes of the extension's data, in a ServerHello and in a HelloRetryRequest"),
        _Case("a TLS 1.2 ServerHello captured on 127.0.0.1", tls12.raw, None,
              "a TLS 1.2 ServerHello has no key_share extension (the curve is named in ServerKeyExchange): "
              "return None"),
    ]


# --------------------------------------------------------------------------------------------

def _shown(value: Any) -> str:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"{len(value)} bytes" + (f" ({bytes(value).hex(' ')})" if len(value) <= 8 else "")
    if isinstance(value, int) and not isinstance(value, bool):
        return f"0x{value:04x} ({name_of(GROUPS, value)})"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_shown(item) if not isinstance(item, tuple) else
                               "(" + ", ".join(_shown(part) for part in item) + ")" for item in value) + "]"
    return repr(value)


def _as_shares(result: Any, call: str, case: _Case) -> list[tuple[int, bytes]]:
    expect(result is not None, f"{call} on {case.what} returned None: return a list of (group, public key) "
           f"pairs, an empty one when there is no share. Hint: {case.lesson}.")
    expect(isinstance(result, (list, tuple)), f"{call} returned {type(result).__name__} {result!r}: return a list "
           "of (group, public key) pairs")
    shares = []
    for item in result:
        expect(isinstance(item, (list, tuple)) and len(item) == 2,
               f"{call} returned {_shown(result)}: each item should be a (group, public key) pair")
        group, key = item
        expect(isinstance(group, int) and not isinstance(group, bool),
               f"{call} returned the group as {type(group).__name__} {group!r}: return the group's code, the "
               "2-byte number on the wire as an int (0x001d for x25519)")
        expect(isinstance(key, (bytes, bytearray, memoryview)),
               f"{call} returned the public key as {type(key).__name__}: return its bytes")
        shares.append((group, bytes(key)))
    return shares


def _run(function: Callable[..., Any], case: _Case, *args: Any) -> Any:
    """``attempt``, with the case and its lesson added when the reader's function raises."""
    try:
        return attempt(function, *args)
    except ExerciseIncorrect as error:
        raise ExerciseIncorrect(f"{error}, on {case.what}. Hint: {case.lesson}.") from error


def _mismatch(call: str, result: Any, case: _Case, hint: str | None = None) -> str:
    return (f"{call} on {case.what} returned {_shown(result)}; expected {_shown(case.expected)}. "
            f"Hint: {hint or case.lesson}.")


def _shares_hint(shares: list[tuple[int, bytes]], expected: list[tuple[int, bytes]]) -> str | None:
    """A hint for the mistakes that show in the result itself, whatever the hello."""
    groups, wanted = [g for g, _ in shares], [g for g, _ in expected]
    # Read without its length, client_shares seems to start with a "group" that is that length.
    if groups and groups[0] == sum(2 + 2 + len(key) for _, key in expected):
        return ("in a ClientHello, key_share's data starts with the 2-byte length of the client_shares list; "
                "the first share's group comes after it")
    if groups == wanted:
        sizes = ", ".join(str(len(key)) for _, key in expected)
        return (f"the groups are right but not the keys: each key is exactly as long as the 2-byte length in front "
                f"of it says ({sizes} bytes here), and that length is not part of the key")
    if groups and groups == wanted[:len(groups)]:
        return ("the first shares are right but some are missing: read client_shares to its end and return every "
                "share, in order")
    return None


def check_hello_readers(find_extension: Callable[[bytes, int], bytes | None],
                        key_shares: Callable[[bytes], list[tuple[int, bytes]]],
                        chosen_group: Callable[[bytes], int | None],
                        trace: HandshakeTrace) -> None:
    """Run the reader's three functions on ``trace``'s hellos (the reader's own capture) and on
    the hellos above; each mistake is explained by the case it fails on."""
    for case, wanted in _extension_cases():
        call = f"find_extension(block, {wanted})"
        result = _run(find_extension, case, case.data, wanted)
        expect(result is None or isinstance(result, (bytes, bytearray, memoryview)),
               f"{call} returned {type(result).__name__} {result!r}: return the extension's data (bytes) or None")
        expect((None if result is None else bytes(result)) == case.expected, _mismatch(call, result, case))
    client_cases, server_cases = _client_hello_cases(trace), _server_hello_cases(trace)
    offered = 0
    for case in client_cases:
        call = "key_shares(client_hello)"
        shares = _as_shares(_run(key_shares, case, case.data), call, case)
        expect(shares == case.expected, _mismatch(call, shares, case, _shares_hint(shares, case.expected)))
        offered += len(shares)
    for case in server_cases:
        call = "chosen_group(server_hello)"
        group = _run(chosen_group, case, case.data)
        expect(group is None or (isinstance(group, int) and not isinstance(group, bool)),
               f"{call} returned {type(group).__name__} {group!r}: return the group's code as an int, or None")
        expect(group == case.expected, _mismatch(call, group, case))
    client, server = _hellos(trace)
    with_key_share = sum(case.expected is not None for case in server_cases)
    well_done(f"your readers found the {offered} key shares of {len(client_cases)} ClientHellos and read "
              f"{len(server_cases)} ServerHellos ({with_key_share} with a key_share). In your own handshake the "
              f"client sent a key share for {', '.join(g for g, _ in client.key_shares)} and the server chose "
              f"{server.key_share[0]}.")
