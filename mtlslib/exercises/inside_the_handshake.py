"""Checkers for chapter 04, inside the handshake: HKDF-Expand-Label and a Finished MAC, by hand.

HKDF-Expand-Label is checked against the values RFC 8448 publishes for its example handshake
(SHA-256) and against :mod:`mtlslib.wire` (SHA-384). The Finished checker works on the reader's own
capture (a :class:`~mtlslib.tls.HandshakeTrace` of a TLS 1.3 handshake): the secrets come from its
key log, the right answers from the bytes that crossed the wire. A wrong answer is compared with the
usual mistakes (a wrong label prefix, a missing length, Extract instead of Expand, a fixed hash, the
wrong transcript or secret) to say which one it is. An answer that only hands the work to
:mod:`mtlslib.wire.keyschedule`, whose functions compute the same values, is refused: the exercise
is to write them.
"""

from __future__ import annotations

import hmac
import types
from typing import Callable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand

from mtlslib.exercises import attempt, expect, well_done
from mtlslib.lessons import rfc8448
from mtlslib.tls import HandshakeTrace
from mtlslib.wire import keyschedule
from mtlslib.wire.messages import HandshakeMessage

__all__ = ["check_finished", "check_hkdf_expand_label"]

_STRUCTURE = ("HkdfLabel is: the output length (2 bytes, big-endian), the length of the full label (1 byte), "
              "the full label ('tls13 ' + label), the length of the context (1 byte), the context")


def _names(code: types.CodeType) -> set[str]:
    """Every name a function's code uses (globals, attributes, imports), nested functions and
    comprehensions included."""
    names = set(code.co_names)
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            names |= _names(constant)
    return names


def _refuse_keyschedule(function: Callable, library_function: str, instead: str) -> None:
    """Refuse ``function`` if it calls ``keyschedule.<library_function>``, which is the answer."""
    code, namespace = getattr(function, "__code__", None), getattr(function, "__globals__", {})
    if code is None:
        return
    names = _names(code)
    # keyschedule by its own name, imported inside the function, or under another name.
    module = any(n.rsplit(".", 1)[-1] == "keyschedule" or namespace.get(n) is keyschedule for n in names)
    imported = any(namespace.get(n) is getattr(keyschedule, library_function) for n in names)
    expect(not ((module and library_function in names) or imported),
           f"{getattr(function, '__name__', 'your function')}() calls keyschedule.{library_function}: that is "
           f"the course's own answer, not yours. Write it without keyschedule: {instead}")


def _capture(trace: HandshakeTrace) -> tuple[keyschedule.CipherSuite, dict[str, bytes], list[HandshakeMessage]]:
    conversation = trace.conversation
    expect(conversation.version == "TLSv1.3" and conversation.decrypted,
           "pass the trace of a TLS 1.3 handshake captured with its key log (capture_handshake(...))")
    (secrets,) = keyschedule.parse_keylog(trace.keylog).values()
    hello = conversation.find("ServerHello").payload
    return keyschedule.tls13_suite(hello.cipher_suite), secrets, conversation.handshake_messages()


# --------------------------------------------------------------------------------------------
# 1. HKDF-Expand-Label


def _hkdf_label(label: bytes, context: bytes, length: int, *, length_size: int = 2, byteorder: str = "big",
                label_length: bool = True, context_length: bool = True) -> bytes:
    encoded = length.to_bytes(length_size, byteorder) if length_size else b""
    return (encoded + (bytes([len(label)]) if label_length else b"") + label
            + (bytes([len(context)]) if context_length else b"") + context)


def _mistakes(secret: bytes, label: str, context: bytes, length: int, algorithm) -> dict[bytes, str]:
    """What the usual wrong implementations return, each with what is wrong."""
    def expand(info: bytes) -> bytes:
        return HKDFExpand(algorithm, length, info).derive(secret)

    full = b"tls13 " + label.encode()
    wrong = {}
    for prefix in (b"", b"tls13", b"TLS13 ", b"tls1.3 ", b"tls 1.3 ", b"TLS 1.3, "):
        wrong[expand(_hkdf_label(prefix + label.encode(), context, length))] = (
            f"the label prefix is wrong ({prefix.decode()!r} instead of 'tls13 '): every TLS 1.3 label starts "
            "with exactly 'tls13 ', lower case, then a space")
    wrong[expand(_hkdf_label(full, context, length, length_size=0))] = (
        "the output length is missing from the HkdfLabel: it starts with the length you ask for, as 2 bytes")
    wrong[expand(_hkdf_label(full, context, length, length_size=1))] = (
        "the output length is encoded in 1 byte: HkdfLabel.length is a uint16, 2 bytes, big-endian")
    wrong[expand(_hkdf_label(full, context, length, byteorder="little"))] = (
        "the output length is little-endian: TLS writes every number big-endian (network order)")
    wrong[expand(_hkdf_label(full, context, length, label_length=False))] = (
        "the label's own length byte is missing: the label is an opaque<7..255>, preceded by its length")
    wrong[expand(_hkdf_label(full, context, length, context_length=False))] = (
        "the context's length byte is missing: the context is an opaque<0..255>, preceded by its length, "
        "even when it is empty (then the byte is 0)")
    wrong[HKDF(algorithm, length, None, _hkdf_label(full, context, length)).derive(secret)] = (
        "you ran the whole HKDF (extract, then expand): HKDF-Expand-Label only expands; the secret is "
        "already a pseudorandom key (use HKDFExpand)")
    wrong[hmac.new(secret, _hkdf_label(full, context, length), algorithm.name).digest()[:length]] = (
        "you computed one HMAC of the HkdfLabel with the secret as key, which is HKDF-Extract's step: "
        "HKDF-Expand chains HMACs, each over the previous block, the info and a counter byte (use HKDFExpand)")
    hashed = hashes.Hash(algorithm)
    hashed.update(context)
    wrong[expand(_hkdf_label(full, hashed.finalize(), length))] = (
        "you hashed the context: pass the context as given, don't hash it (where TLS 1.3 wants a hash there, "
        "as Derive-Secret does, the caller passes one)")
    for fixed in (hashes.SHA256(), hashes.SHA384()):
        if fixed.name != algorithm.name:
            wrong[HKDFExpand(fixed, length, _hkdf_label(full, context, length)).derive(secret)] = (
                f"your hash is fixed to SHA-{fixed.digest_size * 8}: use the hash you are given (algorithm), "
                f"here SHA-{algorithm.digest_size * 8}; each cipher suite names its own")
    return wrong


def _empty_hash(algorithm: hashes.HashAlgorithm) -> bytes:
    """Transcript-Hash("") of RFC 8446 section 7.1: the context of every Derive-Secret(., "derived", "")."""
    return hashes.Hash(algorithm).finalize()


def _cases() -> list[tuple[str, bytes, str, bytes, int, hashes.HashAlgorithm, bytes]]:
    """(what, secret, label, context, length, hash, right answer): first RFC 8448's published values,
    then values mtlslib.wire derives with SHA-384, the hash of TLS_AES_256_GCM_SHA384."""
    printed, sha256 = rfc8448.PRINTED, hashes.SHA256()
    server = printed["s hs traffic"]
    cases = [
        ("RFC 8448's server handshake key", server, "key", b"", 16, sha256, printed["server handshake key"]),
        ("RFC 8448's server handshake IV", server, "iv", b"", keyschedule.IV_LENGTH, sha256,
         printed["server handshake iv"]),
        ("RFC 8448's server finished key", server, "finished", b"", 32, sha256, printed["server finished key"]),
        # Derive-Secret(early secret, "derived", ""): a context that is not empty, the hash of no messages.
        ("RFC 8448's 'derived' secret", printed["early secret"], "derived", _empty_hash(sha256), 32, sha256,
         printed["derived for handshake"]),
        ("RFC 8448's client handshake traffic secret", printed["handshake secret"], "c hs traffic",
         printed["hash ClientHello..ServerHello"], 32, sha256, printed["c hs traffic"]),
    ]
    suite = keyschedule.TLS13_SUITES[0x1302]
    sha384 = suite.hash()
    # The early secret of every SHA-384 handshake without a PSK: HKDF-Extract(0, 0).
    secret = hmac.new(bytes(suite.hash_length), bytes(suite.hash_length), suite.hash_name).digest()
    for what, label, context, length in (("a 32-byte key with SHA-384", "key", b"", suite.key_length),
                                         ("a SHA-384 'derived' secret", "derived", _empty_hash(sha384),
                                          suite.hash_length)):
        cases.append((what, secret, label, context, length, sha384,
                      keyschedule.hkdf_expand_label(secret, label, context, length, suite)))
    return cases


def check_hkdf_expand_label(hkdf_expand_label: Callable[[bytes, str, bytes, int, hashes.HashAlgorithm], bytes]
                            ) -> None:
    """``hkdf_expand_label(secret, label, context, length, algorithm)`` (RFC 8446 section 7.1) must
    give RFC 8448's published values and the values mtlslib.wire derives with SHA-384."""
    name = getattr(hkdf_expand_label, "__name__", "hkdf_expand_label")
    _refuse_keyschedule(hkdf_expand_label, "hkdf_expand_label",
                        "serialize the HkdfLabel yourself and give it to HKDFExpand as info")
    cases = _cases()
    for what, secret, label, context, length, algorithm, right in cases:
        answer = attempt(hkdf_expand_label, secret, label, context, length, algorithm)
        shown = f"a {len(context)}-byte hash" if context else repr(b"")
        call = f"{name}(secret, {label!r}, {shown}, {length}, {algorithm.name.upper()}())"
        expect(isinstance(answer, bytes), f"{call} returned {type(answer).__name__}: return the bytes themselves")
        if len(answer) != length:
            why = (f"{algorithm.digest_size} bytes is what one HMAC (HKDF-Extract) gives; HKDF-Expand gives the "
                   "`length` bytes you ask for" if len(answer) == algorithm.digest_size
                   else "ask HKDFExpand for `length` bytes")
            expect(False, f"{call} returned {len(answer)} bytes, not {length}: {why}")
        if answer != right:
            hint = _mistakes(secret, label, context, length, algorithm).get(answer, _STRUCTURE)
            expect(False, f"{call} gave the wrong value for {what}: {hint}")
    published = sum(what.startswith("RFC 8448") for what, *_ in cases)
    well_done(f"your {name} gives all {published} values RFC 8448 publishes here (SHA-256), and the same "
              f"{len(cases) - published} SHA-384 values as mtlslib.wire")


# --------------------------------------------------------------------------------------------
# 2. A Finished MAC


def _mac(key: bytes, data: bytes, suite: keyschedule.CipherSuite) -> bytes:
    return hmac.new(key, data, suite.hash_name).digest()


def _finished_mistakes(sender: str, messages: list[HandshakeMessage], secrets: dict[str, bytes],
                       suite: keyschedule.CipherSuite) -> dict[bytes, str]:
    names = [m.name for m in messages]
    finished = [i for i, n in enumerate(names) if n == "Finished"]
    position = finished[0 if sender == "server" else 1]
    secret = secrets[f"{sender.upper()}_HANDSHAKE_TRAFFIC_SECRET"]
    other = "client" if sender == "server" else "server"

    def over(end: int, key_secret: bytes = secret) -> bytes:
        transcript = keyschedule.transcript_hash([m.raw for m in messages[:end]], suite)
        return keyschedule.finished_verify_data(key_secret, transcript, suite)

    finished_key = keyschedule.hkdf_expand_label(secret, "finished", b"", suite.hash_length, suite)

    wrong = {
        over(position + 1): f"your transcript includes the {sender}'s Finished itself: it covers every handshake "
                            "message before the Finished, not the Finished",
        over(position - 1): f"your transcript stops before the {sender}'s CertificateVerify (that is the transcript "
                            "the signature covers): Finished covers everything before it, CertificateVerify included",
        over(position, secrets[f"{other.upper()}_HANDSHAKE_TRAFFIC_SECRET"]):
            f"you used the {other}'s secret: each side's Finished is keyed from its own handshake traffic secret, "
            f"{sender.upper()}_HANDSHAKE_TRAFFIC_SECRET",
        over(position, secrets[f"{sender.upper()}_TRAFFIC_SECRET_0"]):
            "you used an application traffic secret (_0): Finished is keyed from the handshake traffic secret",
        _mac(secret, keyschedule.transcript_hash([m.raw for m in messages[:position]], suite), suite):
            "you keyed the HMAC with the traffic secret itself: derive the finished key first, "
            "HKDF-Expand-Label(secret, 'finished', b'', hash length)",
        keyschedule.transcript_hash([m.raw for m in messages[:position]], suite):
            "you returned the transcript hash: verify_data is an HMAC of it, keyed with the finished key",
        _mac(finished_key, b"".join(m.raw for m in messages[:position]), suite):
            "you computed the HMAC over the messages themselves: HMAC the Transcript-Hash, not the messages "
            "(hash them with the suite's hash first, then MAC the hash)",
    }
    if sender == "client":
        wrong[over(finished[0])] = ("your transcript stops before the server's Finished: the client's Finished "
                                    "covers the server's Finished and the client's own Certificate and "
                                    "CertificateVerify too")
        wrong[over(finished[0] + 1)] = ("your transcript stops after the server's Finished: it must go on to the "
                                        "client's own Certificate and CertificateVerify")
    return wrong


def check_finished(finished_verify_data: Callable[[str, list, dict, hashes.HashAlgorithm], bytes],
                   trace: HandshakeTrace) -> None:
    """``finished_verify_data(sender, messages, secrets, algorithm)`` must return the verify_data of
    ``sender``'s Finished in the captured handshake: ``messages`` are all its handshake messages
    (``.name``, ``.raw``), ``secrets`` the key log's secrets, ``algorithm`` the suite's hash."""
    name = getattr(finished_verify_data, "__name__", "finished_verify_data")
    _refuse_keyschedule(finished_verify_data, "finished_verify_data",
                        "derive the finished key with your hkdf_expand_label, hash the transcript, then HMAC it")
    suite, secrets, messages = _capture(trace)
    sent = [m.verify_data for m in messages if m.name == "Finished"]
    expect(len(sent) == 2, "the capture must hold a whole handshake: both Finished messages")
    for sender, on_the_wire in zip(("server", "client"), sent):
        answer = attempt(finished_verify_data, sender, list(messages), dict(secrets), suite.hash())
        call = f"{name}({sender!r}, ...)"
        expect(isinstance(answer, bytes), f"{call} returned {type(answer).__name__}: return the verify_data bytes")
        expect(len(answer) == len(on_the_wire),
               f"{call} returned {len(answer)} bytes; verify_data is as long as the suite's hash "
               f"({len(on_the_wire)} bytes with SHA-{suite.hash().digest_size * 8}): use algorithm, the hash you "
               "are given, for the finished key, the transcript and the HMAC")
        if answer != on_the_wire:
            hint = _finished_mistakes(sender, messages, secrets, suite).get(
                answer, "compare, step by step: the secret (the sender's handshake traffic secret), the finished "
                        "key (HKDF-Expand-Label with 'finished'), the transcript (every message before this "
                        "Finished), the HMAC with the suite's hash. If every step looks right, run "
                        "check_hkdf_expand_label again")
            expect(False, f"{call} is not what the {sender} sent ({len(on_the_wire)} bytes): {hint}")
    well_done(f"your {name} matches both Finished messages of your capture: HMAC-{suite.hash_name.upper()}, "
              f"{len(sent[0])} bytes each, keyed from each side's handshake traffic secret")
