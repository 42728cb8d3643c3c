"""Resumption and 0-RTT in mtlslib.wire: every value of RFC 8448's resumed 0-RTT handshake recomputed,
and live resumed, HelloRetryRequest and post-handshake-auth connections made by OpenSSL decoded."""

from __future__ import annotations

import hashlib
import ssl

import pytest

from mtlslib import CertificateAuthority
from mtlslib.errors import DecodeError
from mtlslib.lessons.resumption import connect_in_memory, median_handshake_ms, rfc8448_resumed
from mtlslib.lessons.rfc8448 import SECTION3, SECTION4, value
from mtlslib.tls import client_context, load_crls, server_context
from mtlslib.wire import parse_handshake, resumption
from mtlslib.wire.keyschedule import TLS13_SUITES, hkdf_expand_label, traffic_keys, transcript_hash
from mtlslib.wire.messages import HELLO_RETRY_RANDOM, NewSessionTicket

SHA256 = TLS13_SUITES[0x1301]


@pytest.fixture(scope="module")
def published():
    return rfc8448_resumed()


@pytest.fixture(scope="module")
def hello(published):
    return published.conversation.find("ClientHello").payload


# -- RFC 8448, section 4 ----------------------------------------------------------------------


def test_every_published_secret_is_recomputed_from_the_psk_and_the_x25519_keys(published):
    secrets = published.schedule.secrets
    compared = [name for name in secrets if name in SECTION4]
    assert len(compared) == 10
    for name in compared:
        assert secrets[name] == value(name), name
    derived = hkdf_expand_label(secrets["early_secret"], "derived", hashlib.sha256().digest(), 32, SHA256)
    assert derived == value("derived_for_handshake")


def test_the_traffic_keys_are_the_published_ones(published):
    secrets = published.schedule.secrets
    for secret, key, iv in (("client_early_traffic_secret", "early_key", "early_iv"),
                            ("server_handshake_traffic_secret", "server_handshake_key", "server_handshake_iv"),
                            ("server_application_traffic_secret_0", "server_application_key", "server_application_iv")):
        keys = traffic_keys(secrets[secret], SHA256)
        assert (keys.key, keys.iv) == (value(key), value(iv))


def test_the_psk_comes_from_the_first_connection_and_the_ticket_nonce():
    ticket = parse_handshake(bytes.fromhex(SECTION3["new_session_ticket"]), tls13=True)
    assert isinstance(ticket, NewSessionTicket)
    assert (ticket.lifetime, ticket.age_add, ticket.nonce) == (30, 0xFAD6AAC5, b"\x00\x00")
    assert resumption.max_early_data_size(ticket) == 1024
    assert resumption.resumption_psk(value("resumption_master_secret"), ticket.nonce, SHA256) == value("psk")
    assert resumption.resumption_psk(value("resumption_master_secret"), b"\x00\x01", SHA256) != value("psk")


def test_the_client_hello_offers_that_ticket_with_its_age_and_binder(hello):
    ticket = parse_handshake(bytes.fromhex(SECTION3["new_session_ticket"]), tls13=True)
    offer = resumption.offered_psk(hello)
    ((identity, obfuscated_age),) = offer.identities
    assert identity == ticket.ticket
    assert resumption.ticket_age(obfuscated_age, ticket.age_add) == 6  # milliseconds
    assert resumption.psk_key_exchange_modes(hello) == ("psk_dhe_ke",)
    assert resumption.early_data_offered(hello)
    truncated = resumption.truncated_client_hello(hello)
    assert len(truncated) == len(hello.raw) - 35 == 477  # 2-byte list length, 1-byte binder length, 32 bytes
    assert hashlib.sha256(truncated).digest() == value("binder_hash")
    finished_key = hkdf_expand_label(value("binder_key"), "finished", b"", 32, SHA256)
    assert finished_key == value("binder_finished_key")
    assert resumption.psk_binder(value("psk"), [truncated], SHA256) == value("binder") == offer.binders[0]


def test_the_binder_check_passes_with_the_psk_and_fails_with_another(hello):
    (good,) = resumption.check_binders(hello, [value("psk")], SHA256)
    (bad,) = resumption.check_binders(hello, [bytes(32)], SHA256)
    assert good.ok and not bad.ok and "DOES NOT match" in bad.detail
    with pytest.raises(DecodeError, match="one PSK for each identity"):
        resumption.check_binders(hello, [], SHA256)
    assert resumption.binder_key(value("psk"), SHA256, external=True) != value("binder_key")


def test_the_0rtt_conversation_is_decoded_in_wire_order_with_both_finished_checked(published):
    conversation = published.conversation
    assert [(m.sender, m.name) for m in conversation.messages] == [
        ("client", "ClientHello"), ("client", "ApplicationData"), ("server", "ServerHello"),
        ("server", "EncryptedExtensions"), ("server", "Finished"), ("client", "EndOfEarlyData"),
        ("client", "Finished"), ("client", "ApplicationData"), ("server", "ApplicationData"),
        ("client", "Alert"), ("server", "Alert")]
    early, end = conversation.messages[1], conversation.find("EndOfEarlyData")
    assert early.payload.plaintext == b"ABCDEF"
    assert early.secret == end.secret == "CLIENT_EARLY_TRAFFIC_SECRET"
    assert conversation.find("Finished", "client").secret == "CLIENT_HANDSHAKE_TRAFFIC_SECRET"
    assert [c.what for c in conversation.checks if c.ok] == ["server Finished", "client Finished"]
    assert resumption.early_data_offered(conversation.find("EncryptedExtensions").payload)
    assert resumption.selected_identity(conversation.find("ServerHello").payload) == 0


def test_a_client_hello_without_a_psk_has_no_binders():
    ca = CertificateAuthority.create("Root", seed="wire-resumption")
    exchange = connect_in_memory(server_context(ca.issue_server("localhost"), tls_version="1.3"),
                                 client_context(ca, tls_version="1.3"))
    hello = exchange.conversation.find("ClientHello").payload
    assert resumption.offered_psk(hello) is None and resumption.psk_key_exchange_modes(hello) == ("psk_dhe_ke",)
    with pytest.raises(DecodeError, match="offers no pre-shared key"):
        resumption.truncated_client_hello(hello)
    with pytest.raises(DecodeError, match="starts from a ClientHello"):
        resumption.key_schedule(None, None, [], SHA256)


# -- Live connections made by OpenSSL ---------------------------------------------------------


@pytest.fixture(scope="module")
def pki():
    ca = CertificateAuthority.create("Root", seed="wire-resumption")
    return ca, ca.issue_server("localhost"), ca.issue_client("spiffe://example.test/alice")


def test_a_resumed_mutual_tls_connection_sends_no_certificate_but_the_server_still_knows_the_client(pki):
    ca, server, alice = pki
    server_ctx = server_context(server, trust=ca, mutual=True, tls_version="1.3")
    client_ctx = client_context(ca, certificate=alice, tls_version="1.3")
    first = connect_in_memory(server_ctx, client_ctx)
    tickets = [m.payload for m in first.conversation.messages if m.name == "NewSessionTicket"]
    assert [t.nonce for t in tickets] == [bytes(8), bytes(7) + b"\x01"]  # OpenSSL counts its tickets
    again = connect_in_memory(server_ctx, client_ctx, session=first.session)
    conversation = again.conversation
    names = [m.name for m in conversation.messages]
    assert again.resumed and "Certificate" not in names and "CertificateVerify" not in names
    hello = conversation.find("ClientHello").payload
    ((identity, _),) = resumption.offered_psk(hello).identities
    assert identity in [t.ticket for t in tickets]
    assert resumption.selected_identity(conversation.find("ServerHello").payload) == 0
    assert conversation.find("ServerHello").payload.key_share[0] == "x25519"  # psk_dhe_ke: a fresh exchange
    assert [c.ok for c in conversation.checks] == [True, True]
    assert dict(again.peer_before)["subjectAltName"] == (("URI", "spiffe://example.test/alice"),)


def test_a_revoked_client_keeps_resuming_until_the_server_refuses_its_tickets(pki):
    ca, server, _ = pki
    bob = ca.issue_client("spiffe://example.test/bob")
    server_ctx = server_context(server, trust=ca, mutual=True, tls_version="1.3")
    client_ctx = client_context(ca, certificate=bob, tls_version="1.3")
    first = connect_in_memory(server_ctx, client_ctx)
    ca.revoke(bob)
    load_crls(server_ctx, ca.crl_pem)
    server_ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    full = connect_in_memory(server_ctx, client_context(ca, certificate=bob, tls_version="1.3"))
    assert "certificate revoked" in full.error and full.session is None
    resumed = connect_in_memory(server_ctx, client_ctx, session=first.session)
    assert resumed.resumed and resumed.error is None and resumed.peer_after is not None


def test_a_hello_retry_request_and_its_message_hash(pki):
    ca, server, _ = pki
    server_ctx = server_context(server, tls_version="1.3")
    server_ctx.set_ecdh_curve("prime256v1")  # the client offers no P-256 share at first
    conversation = connect_in_memory(server_ctx, client_context(ca, tls_version="1.3")).conversation
    hellos = [m.payload for m in conversation.messages if m.name in ("ClientHello", "ServerHello")]
    assert [type(h).__name__ for h in hellos] == ["ClientHello", "ServerHello", "ClientHello", "ServerHello"]
    assert hellos[1].random == HELLO_RETRY_RANDOM == hashlib.sha256(b"HelloRetryRequest").digest()
    # OpenSSL before 3.5 offers an x25519 share alone; 3.5+ its hybrid share first, x25519 beside it.
    # Neither is P-256: that is why the server asks again.
    first_offer = [group for group, _ in hellos[0].key_shares]
    assert first_offer == (["X25519MLKEM768", "x25519"] if ssl.OPENSSL_VERSION_INFO >= (3, 5) else ["x25519"])
    assert [h.key_shares[0][0] for h in hellos[2:3]] == ["secp256r1"]
    assert all(c.ok for c in conversation.checks) and len(conversation.checks) == 3
    raw = [m.raw for m in conversation.handshake_messages()][:4]
    replaced = b"\xfe\x00\x00\x30" + hashlib.sha384(raw[0]).digest()
    assert transcript_hash(raw, TLS13_SUITES[0x1302]) == hashlib.sha384(replaced + b"".join(raw[1:])).digest()


def test_post_handshake_authentication(pki):
    ca, server, alice = pki
    server_ctx = server_context(server, trust=ca, mutual=True, tls_version="1.3")
    client_ctx = client_context(ca, certificate=alice, tls_version="1.3")
    server_ctx.post_handshake_auth = client_ctx.post_handshake_auth = True
    exchange = connect_in_memory(server_ctx, client_ctx, ask_certificate_after=True)
    names = [(m.sender, m.name) for m in exchange.conversation.messages if m.name != "ApplicationData"]
    request = names.index(("server", "CertificateRequest"))
    assert ("server", "NewSessionTicket") in names[:request]
    assert names[request + 1:request + 4] == [("client", "Certificate"), ("client", "CertificateVerify"),
                                             ("client", "Finished")]
    assert exchange.peer_before is None and exchange.peer_after is not None


def test_median_handshake_times_are_positive(pki):
    ca, server, _ = pki
    server_ctx, client_ctx = server_context(server, tls_version="1.3"), client_context(ca, tls_version="1.3")
    assert 0 < median_handshake_ms(server_ctx, client_ctx, resume=True, rounds=3)
