"""TLS 1.2 decryption in mtlslib.wire, against the real implementation: sessions recorded live between
two OpenSSL endpoints (Python's ssl), opened from the client's key log or, for RSA key transport,
from the server's private key alone."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from mtlslib.errors import DecryptError
from mtlslib.lessons.forward_secrecy import Link, Recording, try_to_open
from mtlslib.wire import decode_conversation
from mtlslib.wire.conversation import ApplicationData, OpaqueRecord
from mtlslib.wire.keyschedule import parse_keylog
from mtlslib.wire.tls12 import master_secret, p_hash, prf

REQUEST, RESPONSE = b"GET /payroll HTTP/1.1\r\n\r\n", b"HTTP/1.1 200 OK\r\n\r\nthe secret"
# OpenSSL 3.0's SSL_OP_NO_EXTENDED_MASTER_SECRET (ssl.h), which Python does not name.
NO_EXTENDED_MASTER_SECRET = 1 << 0


@pytest.fixture(scope="module")
def pki():
    from mtlslib import CertificateAuthority

    root = CertificateAuthority.create("TLS 1.2 Root", seed="tls12-tests")
    issuing = root.create_intermediate("TLS 1.2 Issuing CA")
    return {
        "root": root,
        "rsa": issuing.issue_server("localhost", "127.0.0.1", key_type="rsa-2048"),
        "ecdsa": issuing.issue_server("localhost", "127.0.0.1"),
        "alice": issuing.issue_client("spiffe://example.test/alice"),
        "other": issuing.issue_server("localhost", key_type="rsa-2048"),
    }


def record(pki, cipher, key="rsa", mutual=False, extended=True) -> Recording:
    link = Link(pki[key], trust=pki["root"], client=pki["alice"] if mutual else None, cipher=cipher)
    if not extended:
        link.client_ctx.options |= NO_EXTENDED_MASTER_SECRET
    return link.connect(REQUEST, RESPONSE)


def application_data(conversation) -> list[tuple[str, bytes]]:
    return [(m.sender, m.payload.plaintext) for m in conversation.messages if isinstance(m.payload, ApplicationData)]


def test_prf_matches_the_published_sha256_vector_that_openssl_computes():
    # `openssl kdf -keylen 100 -kdfopt digest:SHA256 ... TLS1-PRF` gives the same 100 bytes.
    out = prf(bytes.fromhex("9bbe436ba940f017b17652849a71db35"), "test label",
              bytes.fromhex("a0ba9f936cda311827a6f796ffd5198c"), 100, "sha256")
    assert out.hex().startswith("e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a")
    assert out.hex().endswith("c5a72e5a5110fff70187347b66")
    assert len(out) == 100
    assert p_hash("sha256", b"k", b"seed", 7) == p_hash("sha256", b"k", b"seed", 64)[:7]


@pytest.mark.parametrize("cipher, key, mutual", [
    ("AES128-GCM-SHA256", "rsa", False),
    ("AES256-GCM-SHA384", "rsa", True),
    ("ECDHE-RSA-AES128-GCM-SHA256", "rsa", True),
    ("ECDHE-ECDSA-AES256-GCM-SHA384", "ecdsa", False),
    ("ECDHE-ECDSA-AES256-GCM-SHA384", "ecdsa", True),
    ("ECDHE-RSA-CHACHA20-POLY1305", "rsa", False),
    ("ECDHE-ECDSA-CHACHA20-POLY1305", "ecdsa", True),
])
def test_the_key_log_opens_every_record_and_every_proof_verifies(pki, cipher, key, mutual):
    recording = record(pki, cipher, key, mutual)
    assert recording.cipher == cipher and recording.version == "TLSv1.2"
    conversation = decode_conversation(recording.chunks, recording.keylog, tls12=True)
    assert conversation.decrypted and conversation.tls12.extended_master_secret  # OpenSSL's default
    assert not [m for m in conversation.messages if isinstance(m.payload, OpaqueRecord)]
    assert application_data(conversation) == [("client", REQUEST), ("server", RESPONSE)]
    checks = {check.what: check.ok for check in conversation.checks}
    assert checks.pop("client Finished") and checks.pop("server Finished")
    if mutual:
        assert checks.pop("client CertificateVerify")
    if cipher.startswith("ECDHE"):
        assert checks.pop("server ServerKeyExchange")
    assert checks == {}
    closes = [m for m in conversation.messages if m.name == "Alert"]
    assert [(m.sender, m.encrypted, m.payload.description) for m in closes] == [("client", True, 0),
                                                                                 ("server", True, 0)]


@pytest.mark.parametrize("extended", [True, False])
def test_the_servers_private_key_alone_opens_rsa_key_transport(pki, extended):
    recording = record(pki, "AES128-GCM-SHA256", extended=extended)
    conversation = decode_conversation(recording.chunks, server_key=pki["rsa"].key_pem)
    secrets = conversation.tls12
    assert secrets.source == "server's private key" and secrets.extended_master_secret is extended
    logged = parse_keylog(recording.keylog)
    assert secrets.master == logged[conversation.client_random]["CLIENT_RANDOM"]
    # OpenSSL also logs the premaster secret of RSA key transport, under the encrypted one's first 8 bytes.
    encrypted = conversation.find("ClientKeyExchange").payload
    assert encrypted.encrypted_premaster and len(encrypted.public_key) == 256
    assert secrets.premaster == logged[encrypted.public_key[:8]]["RSA"]
    assert application_data(conversation) == [("client", REQUEST), ("server", RESPONSE)]
    assert all(check.ok for check in conversation.checks) and len(conversation.checks) == 2
    server_hello = conversation.find("ServerHello").payload
    randoms = conversation.client_random + server_hello.random
    if not extended:
        assert secrets.master == master_secret(secrets.premaster, conversation.client_random, server_hello.random,
                                               "sha256")
        assert secrets.master == prf(secrets.premaster, "master secret", randoms, 48, "sha256")


def test_a_private_key_object_works_as_well_as_its_pem(pki):
    recording = record(pki, "AES256-GCM-SHA384")
    opened = try_to_open(recording, server_key=pki["rsa"].private_key)
    assert opened.plaintexts == [("client", REQUEST), ("server", RESPONSE)]


def test_without_keys_tls12_stays_closed_as_an_observer_sees_it(pki):
    recording = record(pki, "AES128-GCM-SHA256")
    for conversation in (decode_conversation(recording.chunks),
                         decode_conversation(recording.chunks, recording.keylog)):
        assert not conversation.decrypted and conversation.tls12 is None
        assert [m.name for m in conversation.messages if m.encrypted][:1] == ["Finished"]
        assert all(isinstance(m.payload, OpaqueRecord) for m in conversation.messages if m.encrypted)
    assert not recording.contains(b"the secret")


@pytest.mark.parametrize("cipher, key, refusal", [
    ("ECDHE-RSA-AES128-GCM-SHA256", "rsa", "ephemeral ECDHE.*never sent.*No long-term key opens"),
    ("AES128-GCM-SHA256", "other", "does not belong to the server's certificate .CN=localhost"),
    ("AES128-GCM-SHA256", "ecdsa", "needs the server's RSA private key"),
], ids=["ecdhe-recording", "another-servers-key", "not-an-rsa-key"])
def test_a_server_key_that_cannot_open_the_recording_is_refused_with_the_reason(pki, cipher, key, refusal):
    recording = record(pki, cipher)
    with pytest.raises(DecryptError, match=refusal):
        decode_conversation(recording.chunks, server_key=pki[key].private_key)


def test_a_wrong_premaster_fails_its_shape_check(pki):
    from mtlslib.wire.tls12 import premaster_from_rsa

    recording = record(pki, "AES128-GCM-SHA256")
    encrypted = decode_conversation(recording.chunks).find("ClientKeyExchange").payload.public_key
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(DecryptError, match="does not decrypt to a premaster secret"):
        premaster_from_rsa(stranger, encrypted, 0x0303)


def test_a_key_log_of_other_connections_says_so(pki):
    first, second = record(pki, "ECDHE-RSA-CHACHA20-POLY1305"), record(pki, "ECDHE-RSA-CHACHA20-POLY1305")
    with pytest.raises(DecryptError, match="no CLIENT_RANDOM line for this connection"):
        decode_conversation(second.chunks, first.keylog, tls12=True)


def test_a_wrong_master_secret_fails_on_the_first_record(pki):
    recording = record(pki, "ECDHE-RSA-AES128-GCM-SHA256")
    label, client_random, master = recording.keylog.strip().splitlines()[-1].split()
    forged = f"{label} {client_random} {bytes(48).hex()}\n"
    with pytest.raises(DecryptError,
                       match="record at byte \\d+ does not decrypt with client_write_key .sequence number 0"):
        decode_conversation(recording.chunks, forged, tls12=True)


def test_a_damaged_record_is_refused(pki):
    recording = record(pki, "ECDHE-RSA-CHACHA20-POLY1305")
    sender, last_data = next((s, c) for s, c in reversed(recording.chunks) if s == "server" and c[0] == 23)
    damaged = [(s, c if c is not last_data else c[:-1] + bytes([c[-1] ^ 1])) for s, c in recording.chunks]
    with pytest.raises(DecryptError, match="server_write_key"):
        decode_conversation(damaged, recording.keylog, tls12=True)


def test_a_resumed_session_reuses_the_master_secret_of_the_first(pki):
    link = Link(pki["rsa"], trust=pki["root"], cipher="ECDHE-RSA-AES128-GCM-SHA256")
    first = link.connect(REQUEST, RESPONSE)
    again = link.connect(b"again", b"again", resume=first)
    assert again.resumed and not first.resumed
    masters = [next(iter(parse_keylog(r.keylog).values()))["CLIENT_RANDOM"] for r in (first, again)]
    assert masters[0] == masters[1]
    conversation = decode_conversation(again.chunks, again.keylog, tls12=True)
    assert "ClientKeyExchange" not in [m.name for m in conversation.messages]
    assert [c.what for c in conversation.checks if c.ok] == ["server Finished", "client Finished"]
    assert "this is a resumed session" in try_to_open(again, server_key=pki["rsa"].key_pem).refusal


def test_tls13_is_unaffected_by_the_tls12_switch(pki):
    recording = Link(pki["ecdsa"], trust=pki["root"], tls_version="1.3").connect(REQUEST, RESPONSE)
    conversation = decode_conversation(recording.chunks, recording.keylog, tls12=True)
    assert conversation.decrypted and conversation.tls12 is None
    assert application_data(conversation)[:2] == [("client", REQUEST), ("server", RESPONSE)]


def test_a_leaked_key_opens_no_tls13_recording_and_signed_nothing_in_a_resumption(pki):
    link = Link(pki["rsa"], trust=pki["root"], tls_version="1.3")
    first = link.connect(REQUEST, RESPONSE)
    again = link.connect(b"again", b"again", resume=first)
    assert again.resumed
    assert "only signed CertificateVerify" in try_to_open(first, server_key=pki["rsa"].key_pem).refusal
    assert "signed nothing" in try_to_open(again, server_key=pki["rsa"].key_pem).refusal
