"""The chapter 01 checker, "find the key exchange in the hellos": the right readers pass, and each
plausible wrong one is refused with the case it fails on and a hint that does not hand over code."""

from __future__ import annotations

import pytest

from mtlslib.exercises import ExerciseIncorrect, ExerciseNotDone
from mtlslib.exercises.tls_handshake import built_client_hello, built_server_hello, check_hello_readers
from mtlslib.pki import CertificateAuthority
from mtlslib.tls import capture_handshake
from mtlslib.wire import parse_handshake


@pytest.fixture(scope="module")
def trace():
    ca = CertificateAuthority.create("Course Root CA", seed="tls-handshake")
    return capture_handshake(ca.issue_server("localhost", "127.0.0.1"), trust=ca, tickets=False)


# The chapter's solution, as a reader would write it.
def read_vector(data, at, length_size):
    length = int.from_bytes(data[at:at + length_size], "big")
    return data[at + length_size:at + length_size + length], at + length_size + length


def find_extension(extensions, wanted):
    at = 0
    while at < len(extensions):
        ext_type = int.from_bytes(extensions[at:at + 2], "big")
        data, at = read_vector(extensions, at + 2, 2)
        if ext_type == wanted:
            return data
    return None


def _extensions_of_client_hello(client_hello, session_id_size=None):
    at = 4 + 2 + 32
    if session_id_size is None:
        _, at = read_vector(client_hello, at, 1)
    else:
        at += 1 + session_id_size
    _, at = read_vector(client_hello, at, 2)
    _, at = read_vector(client_hello, at, 1)
    return read_vector(client_hello, at, 2)[0]


def _shares(data, key_offset=4, list_length=True):
    client_shares = read_vector(data, 0, 2)[0] if list_length else data
    shares, at = [], 0
    while at < len(client_shares):
        group = int.from_bytes(client_shares[at:at + 2], "big")
        length = int.from_bytes(client_shares[at + 2:at + 4], "big")
        shares.append((group, client_shares[at + key_offset:at + 4 + length]))
        at += 4 + length
    return shares


def key_shares(client_hello):
    data = find_extension(_extensions_of_client_hello(client_hello), 51)
    return [] if data is None else _shares(data)


def chosen_group(server_hello):
    _, at = read_vector(server_hello, 4 + 2 + 32, 1)
    extensions, _ = read_vector(server_hello, at + 2 + 1, 2)
    data = find_extension(extensions, 51)
    return None if data is None else int.from_bytes(data[:2], "big")


def _refusal(trace, find=find_extension, shares=key_shares, group=chosen_group) -> str:
    with pytest.raises(ExerciseIncorrect) as refused:
        check_hello_readers(find, shares, group, trace)
    return str(refused.value)


def test_the_right_readers_pass(trace, capsys):
    check_hello_readers(find_extension, key_shares, chosen_group, trace)
    out = capsys.readouterr().out
    own = [group for group, _ in trace.conversation.handshake_messages("client")[0].key_shares]  # OpenSSL 3.5+: 2
    assert (f"\u2714 your readers found the {3 + len(own)} key shares of 5 ClientHellos and read 4 ServerHellos "
            "(3 with a key_share)") in out
    assert f"the client sent a key share for {', '.join(own)} and the server chose x25519" in out


def test_blank_readers_are_not_written_yet(trace):
    def blank(*args):
        raise NotImplementedError()

    for readers in ((blank, key_shares, chosen_group), (find_extension, blank, chosen_group),
                    (find_extension, key_shares, blank)):
        with pytest.raises(ExerciseNotDone, match="not written yet"):
            check_hello_readers(*readers, trace)


def test_the_built_hellos_are_what_the_course_decoder_reads():
    shares = [(0x11EC, bytes(1216)), (0x001D, bytes(range(32)))]
    hello = parse_handshake(built_client_hello("test", shares, session_id=b"", padding=51), tls13=True)
    assert hello.key_shares == (("X25519MLKEM768", bytes(1216)), ("x25519", bytes(range(32))))
    assert hello.session_id == b"" and hello.supported_versions == ("TLSv1.3",)
    server = parse_handshake(built_server_hello("test", 0x0017, b"\x04" + bytes(64)), tls13=True)
    assert server.key_share == ("secp256r1", b"\x04" + bytes(64)) and not server.is_hello_retry_request
    retry = parse_handshake(built_server_hello("test", 0x0017, None, session_id=bytes(32)), tls13=True)
    assert retry.is_hello_retry_request and retry.key_share == ("secp256r1", b"")


def _search_the_bytes(extensions, wanted):
    at = extensions.find(wanted.to_bytes(2, "big"))
    return None if at < 0 else read_vector(extensions, at + 2, 2)[0]


def _forgets_the_length(extensions, wanted):
    at = 0
    while at < len(extensions):
        ext_type = int.from_bytes(extensions[at:at + 2], "big")
        length = int.from_bytes(extensions[at + 2:at + 4], "big")
        if ext_type == wanted:
            return extensions[at + 2:at + 2 + length]
        at += 4 + length
    return None


def _misses_the_last(extensions, wanted):
    at = 0
    while at + 8 < len(extensions):
        ext_type = int.from_bytes(extensions[at:at + 2], "big")
        data, at = read_vector(extensions, at + 2, 2)
        if ext_type == wanted:
            return data
    return None


def _empty_when_missing(extensions, wanted):
    return find_extension(extensions, wanted) or b""


@pytest.mark.parametrize("wrong, words", [
    (_search_the_bytes, "searching the bytes for 00 33 finds a length, not a type"),
    (_forgets_the_length, "a 2-byte type, a 2-byte length, then that many bytes"),
    (_misses_the_last, "the last extension counts too"),
    (_empty_when_missing, "return None when the type is missing"),
    (lambda extensions, wanted: str(find_extension(extensions, wanted)), "return the extension's data (bytes) or None"),
])
def test_wrong_extension_finders_are_explained(trace, wrong, words):
    message = _refusal(trace, find=wrong)
    assert words in message and "find_extension(block," in message


def _fixed_session_id(client_hello):
    data = find_extension(_extensions_of_client_hello(client_hello, session_id_size=32), 51)
    return [] if data is None else _shares(data)


def _first_share_only(client_hello):
    return key_shares(client_hello)[:1]


def _names(client_hello):
    return [({0x1D: "x25519"}.get(group, hex(group)), key) for group, key in key_shares(client_hello)]


def _key_with_its_length(client_hello):
    data = find_extension(_extensions_of_client_hello(client_hello), 51)
    return [] if data is None else _shares(data, key_offset=2)


def _no_tls12(client_hello):
    return _shares(find_extension(_extensions_of_client_hello(client_hello), 51))


def _keys_only(client_hello):
    return [key for _, key in key_shares(client_hello)]


def _no_list_length(client_hello):
    data = find_extension(_extensions_of_client_hello(client_hello), 51)
    return [] if data is None else _shares(data, list_length=False)


def _none_when_missing(client_hello):
    data = find_extension(_extensions_of_client_hello(client_hello), 51)
    return None if data is None else _shares(data)


@pytest.mark.parametrize("wrong, words", [
    (_fixed_session_id, "read its length byte rather than assume 32"),
    (_first_share_only, "some are missing: read client_shares to its end and return every share, in order"),
    (_names, "return the group's code, the 2-byte number on the wire as an int"),
    (_key_with_its_length, "the groups are right but not the keys: each key is exactly as long as the 2-byte "
                           "length in front of it says ("),
    (_no_tls12, "a TLS 1.2 ClientHello has no key_share extension"),
    (_keys_only, "each item should be a (group, public key) pair"),
    (_no_list_length, "in a ClientHello, key_share's data starts with the 2-byte length of the client_shares list"),
    (_none_when_missing, "on a TLS 1.2 ClientHello captured on 127.0.0.1 returned None: return a list of (group, "
                         "public key) pairs, an empty one when there is no share. Hint: a TLS 1.2 ClientHello has "
                         "no key_share extension"),
    (lambda client_hello: None, "return a list of (group, public key) pairs"),
])
def test_wrong_key_share_readers_are_explained(trace, wrong, words):
    message = _refusal(trace, shares=wrong)
    assert words in message and ("key_shares(client_hello)" in message or "raised" in message)


def _client_hello_layout(server_hello):
    _, at = read_vector(server_hello, 4 + 2 + 32, 1)
    _, at = read_vector(server_hello, at, 2)  # as if cipher_suites were a list
    _, at = read_vector(server_hello, at, 1)
    extensions, _ = read_vector(server_hello, at, 2)
    data = find_extension(extensions, 51)
    return None if data is None else int.from_bytes(data[:2], "big")


def _needs_a_key(server_hello):
    _, at = read_vector(server_hello, 4 + 2 + 32, 1)
    data = find_extension(read_vector(server_hello, at + 3, 2)[0], 51)
    if data is None or not read_vector(data, 2, 2)[0]:
        return None
    return int.from_bytes(data[:2], "big")


def _crashes_on_tls12(server_hello):
    _, at = read_vector(server_hello, 4 + 2 + 32, 1)
    return int.from_bytes(find_extension(read_vector(server_hello, at + 3, 2)[0], 51)[:2], "big")


@pytest.mark.parametrize("wrong, words", [
    (_client_hello_layout, "one cipher_suite (2 bytes) and one legacy_compression_method (1 byte)"),
    (_needs_a_key, "a HelloRetryRequest is a ServerHello whose key_share holds only the selected group"),
    (_crashes_on_tls12, "a TLS 1.2 ServerHello has no key_share extension"),
    (lambda server_hello: "x25519" if chosen_group(server_hello) == 0x1D else chosen_group(server_hello),
     "return the group's code as an int"),
])
def test_wrong_group_readers_are_explained(trace, wrong, words):
    message = _refusal(trace, group=wrong)
    assert words in message and ("chosen_group(server_hello)" in message or "raised" in message)


def test_a_crash_names_the_case_and_its_lesson(trace):
    message = _refusal(trace, shares=_no_tls12)
    assert "raised TypeError" in message and "on a TLS 1.2 ClientHello captured on 127.0.0.1" in message
