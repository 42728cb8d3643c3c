"""The sans-I/O decoder, checked against the real implementation.

Every test captures real handshakes made by OpenSSL through ``ssl`` and compares what
``mtlslib.wire`` decodes (and, for TLS 1.3, decrypts) with what OpenSSL itself reported through
its message callback: the same messages, in the same order, byte for byte.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import textwrap

import pytest

from mtlslib.display import Shown
from mtlslib.errors import DecodeError, DecryptError, MtlsLibError, UsageError
from mtlslib.pki import KEY_TYPES, CertificateAuthority
from mtlslib.tls import capture_handshake, handshake
from mtlslib.wire import ConversationDecoder, decode_conversation, negotiated_group, parse_handshake, read_records
from mtlslib.wire.conversation import OpaqueRecord
from mtlslib.wire.keyschedule import TLS13_SUITES, hkdf_expand_label, record_nonce
from mtlslib.wire.messages import HandshakeMessage


@pytest.fixture(scope="module")
def pki_by_key_type():
    made = {}
    for key_type in KEY_TYPES:
        root = CertificateAuthority.create(f"Wire Root {key_type}", seed="wire", key_type=key_type)
        issuing = root.create_intermediate("Wire Issuing CA")
        made[key_type] = (root, issuing.issue_server("localhost", "127.0.0.1"),
                          issuing.issue_client("alice.example.test"))
    return made


def _openssl_sent(trace, side):
    return [e for e in trace.openssl_view(side) if e.direction == "sent" and e.content_type == 22]


def _assert_matches_openssl(trace):
    conversation = trace.conversation
    for side in ("client", "server"):
        decoded = [m for m in conversation.messages if m.sender == side
                   and (isinstance(m.payload, HandshakeMessage) or m.name == "Finished")]
        reported = _openssl_sent(trace, side)
        assert [m.name for m in decoded] == [e.name for e in reported], side
        for message, event in zip(decoded, reported):
            if isinstance(message.payload, OpaqueRecord):
                continue  # TLS 1.2's encrypted Finished: no keys to open it, by design
            assert message.payload.raw == event.data, f"{side} {message.name} differs from OpenSSL's bytes"
        # What one side sent is exactly what the other side's OpenSSL received.
        other = "server" if side == "client" else "client"
        received = [e for e in trace.openssl_view(other) if e.direction == "received" and e.content_type == 22]
        assert [e.data for e in received] == [e.data for e in reported]


@pytest.mark.parametrize("key_type", KEY_TYPES)
@pytest.mark.parametrize("tls_version", ["1.3", "1.2"])
@pytest.mark.parametrize("mutual", [True, False], ids=["mutual", "server-auth"])
def test_decoded_messages_are_byte_identical_to_openssl(pki_by_key_type, key_type, tls_version, mutual):
    root, server, client = pki_by_key_type[key_type]
    trace = capture_handshake(server, client if mutual else None, trust=root, tls_version=tls_version)
    assert trace.result.ok, str(trace.result)
    _assert_matches_openssl(trace)
    conversation = trace.conversation
    assert conversation.version == f"TLSv{tls_version}"
    if tls_version == "1.3":
        assert conversation.decrypted
        expected = ["server CertificateVerify", "server Finished"]
        expected += ["client CertificateVerify", "client Finished"] if mutual else ["client Finished"]
        assert [c.what for c in conversation.checks] == expected
        assert all(c.ok for c in conversation.checks), str(conversation)
        application = [m.payload.plaintext for m in conversation.messages if m.name == "ApplicationData"]
        assert application[0] == b"hello\n"
        assert application[-1].startswith(b"hello ")


def test_tls13_hides_certificates_and_tls12_shows_them(pki_by_key_type):
    root, server, client = pki_by_key_type["ecdsa-p256"]
    for version, encrypted in (("1.3", True), ("1.2", False)):
        conversation = capture_handshake(server, client, trust=root, tls_version=version).decode(decrypt=False)
        certificates = [m for m in conversation.messages if m.name == "Certificate"]
        if encrypted:  # without keys an observer sees no Certificate message at all
            assert certificates == []
        else:
            assert [m.sender for m in certificates] == ["server", "client"]
            assert certificates[1].payload.subjects[0] == "CN=alice.example.test"
            assert not certificates[1].encrypted


def test_failed_handshake_shows_how_far_it_got_and_the_alert(pki_by_key_type):
    root, _, client = pki_by_key_type["ecdsa-p256"]
    expired = root.issue_server("localhost", validity="expired")
    trace = capture_handshake(expired, client, trust=root)
    assert not trace.result.ok
    assert trace.failed_at == "client sent certificate expired"
    alerts = trace.conversation.alerts()
    assert [(a.sender, a.payload.description_name) for a in alerts] == [("client", "certificate expired")]
    names = [m.name for m in trace.conversation.messages if m.sender == "client"]
    assert "Finished" not in names  # the client stopped before its own Finished


def test_missing_client_certificate_in_tls13_alert_is_decrypted(pki_by_key_type):
    root, server, _ = pki_by_key_type["ecdsa-p256"]
    trace = capture_handshake(server, trust=root, mutual=True)
    alert = trace.conversation.alerts()[0]
    assert (alert.sender, alert.encrypted, alert.payload.description_name) == ("server", True, "certificate required")
    empty = trace.conversation.find("Certificate", "client")
    assert empty.payload.certificates == ()


@pytest.mark.parametrize("seed", range(5))
def test_reassembly_does_not_depend_on_how_tcp_split_the_stream(pki_by_key_type, seed):
    root, server, client = pki_by_key_type["ecdsa-p256"]
    trace = capture_handshake(server, client, trust=root)
    reference = [(m.sender, m.name, getattr(m.payload, "raw", None)) for m in trace.conversation.messages]
    rng = random.Random(seed)
    rechunked = []
    for sender, chunk in trace.chunks:  # keep the wire order of the chunks, cut each one at random
        position = 0
        while position < len(chunk):
            size = rng.choice([1, 2, 3, 5, 64, 700])
            rechunked.append((sender, chunk[position:position + size]))
            position += size
    decoded = decode_conversation(rechunked, trace.keylog)
    assert [(m.sender, m.name, getattr(m.payload, "raw", None)) for m in decoded.messages] == reference


def test_truncated_capture_raises_a_clear_error(pki_by_key_type):
    root, server, client = pki_by_key_type["ecdsa-p256"]
    trace = capture_handshake(server, client, trust=root)
    stream = trace.stream("client")
    with pytest.raises(DecodeError, match="truncated|ends inside"):
        decode_conversation([("client", stream[:-3])], None)


def test_a_flipped_bit_in_an_encrypted_record_fails_authentication(pki_by_key_type):
    root, server, client = pki_by_key_type["ecdsa-p256"]
    trace = capture_handshake(server, client, trust=root)
    chunks = [list(c) for c in trace.chunks]
    server_chunk = next(c for c in chunks if c[0] == "server")
    data = bytearray(server_chunk[1])
    data[-5] ^= 0x01  # inside the last (encrypted) record of the server's first flight
    server_chunk[1] = bytes(data)
    with pytest.raises(DecryptError, match="does not decrypt"):
        decode_conversation([tuple(c) for c in chunks], trace.keylog)


@pytest.mark.parametrize("garbage", [b"GET / HTTP/1.1\r\n\r\n", b"\x16\x05\x05\x00\x01\x00", b"\x16\x03\x03\xff\xff"])
def test_non_tls_input_is_refused(garbage):
    with pytest.raises(MtlsLibError):
        decode_conversation([("client", garbage)], None)


def test_handshake_parser_refuses_inconsistent_lengths():
    with pytest.raises(DecodeError, match="header says"):
        parse_handshake(b"\x01\x00\x00\x10\x03\x03", tls13=True)
    with pytest.raises(DecodeError, match="truncated"):
        parse_handshake(b"\x02\x00\x00\x02\x03\x03", tls13=True)


def test_records_split_exactly(pki_by_key_type):
    root, server, client = pki_by_key_type["ecdsa-p256"]
    trace = capture_handshake(server, client, trust=root)
    stream = trace.stream("server")
    records = read_records(stream, "server")
    assert sum(r.size for r in records) == len(stream)
    assert b"".join(r.header + r.fragment for r in records) == stream


def test_hkdf_expand_label_matches_rfc8448_vector():
    # RFC 8448 section 3 ("Simple 1-RTT Handshake"): server handshake traffic key and IV.
    suite = TLS13_SUITES[0x1301]
    secret = bytes.fromhex("b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38")
    assert hkdf_expand_label(secret, "key", b"", 16, suite).hex() == "3fce516009c21727d0f2e4e86ee403bc"
    assert hkdf_expand_label(secret, "iv", b"", 12, suite).hex() == "5d313eb2671276ee13000b30"
    assert record_nonce(bytes(12), 1) == bytes(11) + b"\x01"


_OTHER_SUITE_SCRIPT = textwrap.dedent("""
    import json
    from mtlslib.tls import capture_handshake
    from mtlslib.pki import CertificateAuthority
    root = CertificateAuthority.create("Suite Root", seed="suites")
    trace = capture_handshake(root.issue_server("localhost"), root.issue_client("alice.example.test"), trust=root)
    print(json.dumps({"cipher": trace.result.cipher, "ok": trace.result.ok,
                      "checks": [c.ok for c in trace.conversation.checks]}))
""")


@pytest.mark.parametrize("suite", ["TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256"])
def test_other_tls13_cipher_suites_decrypt_and_verify(tmp_path, suite):
    # Python 3.11 cannot pick TLS 1.3 suites; OpenSSL's configuration file, read at start-up, can.
    config = tmp_path / "openssl.cnf"
    config.write_text("openssl_conf = init\n[init]\nssl_conf = ssl\n[ssl]\nsystem_default = sys\n"
                      f"[sys]\nCiphersuites = {suite}\n")
    done = subprocess.run([sys.executable, "-c", _OTHER_SUITE_SCRIPT], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "OPENSSL_CONF": str(config)})
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report == {"cipher": suite, "ok": True, "checks": [True, True, True, True]}


# --------------------------------------------------------------------------------------------
# Malformed input: only the decoder's own errors come out, and quickly.

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st


@pytest.fixture(scope="module")
def sample_capture(pki_by_key_type):
    root, server, client = pki_by_key_type["ecdsa-p256"]
    trace = capture_handshake(server, client, trust=root)
    return trace.chunks, trace.keylog


def _decode_or_refuse(chunks, keylog):
    try:
        decode_conversation(chunks, keylog)
    except MtlsLibError:
        pass  # DecodeError / DecryptError: the documented outcome for damaged input


_FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@_FUZZ
@given(data=st.data())
def test_damaged_captures_give_decode_errors_only(sample_capture, data):
    chunks, keylog = sample_capture
    index = data.draw(st.integers(0, len(chunks) - 1), label="chunk")
    sender, chunk = chunks[index]
    damage = data.draw(st.sampled_from(["truncate", "flip", "insert", "drop"]), label="damage")
    position = data.draw(st.integers(0, len(chunk) - 1), label="position")
    if damage == "truncate":
        chunk = chunk[:position]
    elif damage == "flip":
        chunk = chunk[:position] + bytes([chunk[position] ^ data.draw(st.integers(1, 255))]) + chunk[position + 1:]
    elif damage == "insert":
        chunk = chunk[:position] + data.draw(st.binary(min_size=1, max_size=8)) + chunk[position:]
    else:
        chunk = chunk[:position] + chunk[position + 1:]
    damaged = chunks[:index] + [(sender, chunk)] + chunks[index + 1:]
    _decode_or_refuse(damaged, keylog)
    _decode_or_refuse(damaged, None)


@_FUZZ
@given(stream=st.binary(max_size=400), tls13=st.booleans())
def test_random_bytes_give_decode_errors_only(stream, tls13):
    _decode_or_refuse([("client", stream)], None)
    try:
        parse_handshake(stream, tls13=tls13)
    except MtlsLibError:
        pass


@_FUZZ
@given(text=st.text(max_size=200))
def test_garbage_key_logs_give_decode_errors_only(sample_capture, text):
    chunks, _ = sample_capture
    _decode_or_refuse(chunks, text)


# -- one reader of the negotiated group, and results that print themselves --------------------


@pytest.mark.parametrize("tls_version", ["1.3", "1.2"])
def test_the_negotiated_group_is_read_once_from_the_server_message(pki_by_key_type, tls_version):
    root, server, client = pki_by_key_type["ecdsa-p256"]
    trace = capture_handshake(server, client, trust=root, tls_version=tls_version)
    carrier = "ServerHello" if tls_version == "1.3" else "ServerKeyExchange"
    message = trace.conversation.find(carrier, "server").payload
    assert negotiated_group(message.raw) == "x25519"
    assert trace.conversation.key_exchange_group == "x25519"
    assert trace.result.group == "x25519"  # what capture_handshake reports, through the same reader
    assert handshake(server, client, trust=root, tls_version=tls_version).group == "x25519"  # and handshake


def test_the_negotiated_group_is_none_for_anything_else(pki_by_key_type):
    root, server, client = pki_by_key_type["ecdsa-p256"]
    conversation = capture_handshake(server, client, trust=root, tls_version="1.2").conversation
    hello_12 = conversation.find("ServerHello", "server").payload  # TLS 1.2: the group is elsewhere
    client_hello = conversation.find("ClientHello", "client").payload
    assert negotiated_group(hello_12.raw) is None
    assert negotiated_group(client_hello.raw) is None
    assert negotiated_group(b"") is None
    assert negotiated_group(b"\x02\x00\x00\x05abc") is None  # a ServerHello that does not decode
    unknown = bytes.fromhex("0c000009" "03" "abcd" "01" "07" "0403" "0000")
    assert negotiated_group(unknown) == "0xabcd"
    # Given a whole flight, the first message that names a group answers; none: None.
    assert negotiated_group(client_hello.raw, hello_12.raw, unknown, b"") == "0xabcd"
    assert negotiated_group() is None and negotiated_group(client_hello.raw, hello_12.raw) is None


def test_messages_and_checks_print_as_their_text(pki_by_key_type):
    root, server, client = pki_by_key_type["ecdsa-p256"]
    trace = capture_handshake(server, client, trust=root)
    conversation = trace.conversation
    hello = conversation.find("ServerHello", "server")
    assert str(hello.payload) == "TLSv1.3, TLS_AES_256_GCM_SHA384, key_share x25519"
    assert str(hello).startswith("server -> client  ServerHello ") and str(hello).endswith(str(hello.payload))
    assert str(conversation.checks[0]).startswith("PASS  server CertificateVerify: ")
    assert str(conversation) == "\n".join(str(item) for item in [*conversation.messages, *conversation.checks])
    assert str(trace.openssl_view("client")[0]) == "client sent     ClientHello"
    for shown in (hello, hello.payload, conversation.checks[0], conversation, trace.openssl_view("client")[0]):
        assert isinstance(shown, Shown)
        for method in ("line", "lines", "summary"):
            assert not hasattr(shown, method)


def test_a_sender_that_is_neither_side_is_a_usage_error():
    with pytest.raises(UsageError, match="sender must be 'client' or 'server', not 'proxy'"):
        ConversationDecoder().feed("proxy", b"")
