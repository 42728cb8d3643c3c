"""The man-in-the-middle relay against real clients and a real HTTPS server on 127.0.0.1: who is
fooled, what it records, and that it cleans up after itself (conftest checks threads and sockets)."""

from __future__ import annotations

import socket
import ssl
import threading
import time
import urllib.parse

import pytest
from careless_contexts import careless

from mtlslib.display import Shown
from mtlslib.errors import DecodeError, NotLoopbackError, ServiceStateError, UsageError
from mtlslib.insecure.mitm import (
    Exchange,
    ManInTheMiddle,
    RelayedConnection,
    http_request,
    intercept,
    replay_client_proof,
    send_request,
)
from mtlslib.pki import CertificateAuthority
from mtlslib.tls import HttpsService, Request, Response, capture_handshake, client_context, connect

BANK = "www.bank.test"
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def public_ca():
    return CertificateAuthority.create("Public Web CA", seed="test-mitm")


@pytest.fixture(scope="module")
def attacker_ca():
    return CertificateAuthority.create("Attacker CA", seed="test-mitm")


@pytest.fixture(scope="module")
def fake_bank(attacker_ca):
    return attacker_ca.issue_server(BANK)


@pytest.fixture(scope="module")
def attacker_site(public_ca):
    return public_ca.issue_server("attacker.test")


def bank_handler(request: Request) -> Response:
    form = urllib.parse.parse_qs(request.body.decode())
    if form.get("password") == [PASSWORD]:
        return Response(200, f"welcome {form['user'][0]}\n")
    return Response(403, "wrong password\n")


@pytest.fixture
def bank(public_ca):
    with HttpsService(public_ca.issue_server(BANK), handler=bank_handler) as service:
        yield service


def login(user="alice", password=PASSWORD) -> bytes:
    return http_request("POST", "/login", host=BANK, form={"user": user, "password": password})


def test_the_bank_works_without_a_relay(bank, public_ca):
    exchange = send_request(bank.address, client_context(public_ca), login(), server_hostname=BANK)
    assert exchange.error is None
    assert (exchange.status, exchange.body) == (200, b"welcome alice\n")
    assert exchange.server_subject == f"CN={BANK}"


def test_a_verifying_client_refuses_the_relay_and_nothing_leaks(bank, public_ca, fake_bank):
    seen = intercept(bank.address, fake_bank, client_context(public_ca), login(), hostname=BANK)
    assert seen.victim.error.endswith("certificate verify failed: unable to get local issuer certificate")
    assert seen.victim.sent == b"" and seen.victim.status is None
    assert not seen.relay.victim_accepted and not seen.relay.leaked
    assert "alert unknown ca" in seen.relay.victim_error  # the victim told the relay why
    assert seen.relay.from_server == b""
    assert "nothing was relayed" in str(seen.relay)


@pytest.mark.parametrize("victim", ["no verification", "trusts the attacker's CA"])
def test_a_misconfigured_client_leaks_the_password_and_notices_nothing(bank, public_ca, attacker_ca, fake_bank,
                                                                      victim):
    ctx = careless(public_ca, verify=False) if victim == "no verification" else client_context([public_ca,
                                                                                                attacker_ca])
    seen = intercept(bank.address, fake_bank, ctx, login(), hostname=BANK)
    assert seen.relay.victim_accepted and seen.relay.leaked
    assert seen.relay.from_victim == login()
    assert PASSWORD.replace(" ", "+").encode() in seen.relay.from_victim
    assert seen.relay.upstream_error is None
    # The victim got the bank's real answer, through the relay: nothing looked wrong.
    assert (seen.victim.error, seen.victim.status, seen.victim.body) == (None, 200, b"welcome alice\n")
    assert seen.relay.from_server.startswith(b"HTTP/1.1 200 OK\r\n")
    assert seen.relay.from_server.endswith(b"welcome alice\n")
    assert seen.victim.server_subject == f"CN={BANK}"  # the attacker's certificate, same name
    assert "password=correct+horse+battery+staple" in str(seen)


def test_a_genuine_certificate_for_another_name_fools_only_the_client_without_hostname_check(
        bank, public_ca, attacker_site):
    careful = intercept(bank.address, attacker_site, client_context(public_ca), login(), hostname=BANK)
    assert careful.victim.error.endswith(f"Hostname mismatch, certificate is not valid for '{BANK}'.")
    assert not careful.relay.leaked
    sloppy = intercept(bank.address, attacker_site, careless(public_ca, hostname=False), login(), hostname=BANK)
    assert sloppy.relay.leaked and sloppy.victim.status == 200
    assert sloppy.victim.server_subject == "CN=attacker.test"


def test_hostname_check_alone_does_not_accept_an_unknown_ca(bank, public_ca, fake_bank):
    seen = intercept(bank.address, fake_bank, careless(public_ca, hostname=False), login(), hostname=BANK)
    assert "unable to get local issuer certificate" in seen.victim.error
    assert not seen.relay.leaked


@pytest.mark.parametrize("tls_version", ["1.3", "1.2"])
def test_an_mtls_server_refuses_the_relay_but_the_password_has_already_leaked(public_ca, attacker_ca, fake_bank,
                                                                                tls_version):
    customers = CertificateAuthority.create("Customer CA", seed="test-mitm")
    alice = customers.issue_client("alice@customers.bank.test")
    upstream = careless(public_ca, verify=False)
    upstream.maximum_version = ssl.TLSVersion.TLSv1_3 if tls_version == "1.3" else ssl.TLSVersion.TLSv1_2
    with HttpsService(public_ca.issue_server(BANK), trust=customers, mutual=True, handler=bank_handler) as bank:
        victim = client_context([public_ca, attacker_ca], certificate=alice)
        seen = intercept(bank.address, fake_bank, victim, login(), hostname=BANK, upstream_context=upstream)
    assert seen.relay.leaked and seen.relay.from_victim == login()
    expected = "alert certificate required" if tls_version == "1.3" else "alert handshake failure"
    assert expected in seen.relay.upstream_error
    assert seen.relay.from_server == b""
    assert seen.victim.status is None and seen.victim.error is None
    assert "closed without an answer" in str(seen.victim)


def test_one_relay_serves_many_victims_at_once(bank, public_ca, fake_bank):
    victim_context = careless(public_ca, verify=False)
    users = [f"user{i}" for i in range(8)]
    answers = {}

    def victim(user):
        answers[user] = send_request(relay.address, victim_context, login(user), server_hostname=BANK)

    with ManInTheMiddle(bank.address, fake_bank, upstream_hostname=BANK) as relay:
        threads = [threading.Thread(target=victim, args=(user,)) for user in users]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
    assert {user: answers[user].body for user in users} == {user: f"welcome {user}\n".encode() for user in users}
    assert sorted(c.from_victim for c in relay.connections) == sorted(login(user) for user in users)


def test_large_messages_cross_the_relay_intact(public_ca, fake_bank):
    payload = bytes(range(256)) * 1024  # 256 KiB: many TLS records in each direction

    def echo(request: Request) -> Response:
        return Response(200, request.body, content_type="application/octet-stream")

    with HttpsService(public_ca.issue_server(BANK), handler=echo) as service:
        request = (f"POST /echo HTTP/1.1\r\nHost: {BANK}\r\nContent-Length: {len(payload)}\r\n"
                   "Connection: close\r\n\r\n").encode() + payload
        seen = intercept(service.address, fake_bank, careless(public_ca, verify=False), request, hostname=BANK)
    assert seen.relay.from_victim == request
    assert seen.victim.body == payload
    assert seen.relay.from_server.endswith(payload)


def test_an_unreachable_server_is_reported_and_the_request_still_recorded(public_ca, fake_bank):
    with socket.socket() as placeholder:  # a port that nobody listens on
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
    seen = intercept(("127.0.0.1", port), fake_bank, careless(public_ca, verify=False), login(), hostname=BANK)
    assert "refused" in seen.relay.upstream_error.lower()
    assert seen.relay.from_victim == login()
    assert seen.victim.status is None


def test_stop_cuts_a_silent_victim_at_once(bank, fake_bank):
    relay = ManInTheMiddle(bank.address, fake_bank, timeout=30).start()
    try:
        silent = socket.create_connection(relay.address, timeout=5)
    finally:
        time.sleep(0.05)  # let the relay start its handshake and block in it
        started = time.monotonic()
        relay.stop()
    silent.close()
    assert time.monotonic() - started < 2
    (record,) = relay.connections
    assert not record.victim_accepted and record.victim_error


def test_a_relay_gives_up_on_an_idle_connection(bank, public_ca, fake_bank):
    with ManInTheMiddle(bank.address, fake_bank, upstream_hostname=BANK, timeout=0.3) as relay:
        with connect(relay.address, careless(public_ca, verify=False), server_hostname=BANK) as victim:
            started = time.monotonic()
            assert victim.tls.recv(100) == b""  # the relay hung up on a victim that said nothing
            assert time.monotonic() - started < 3
    (record,) = relay.connections
    assert record.victim_accepted and not record.leaked


def test_the_relay_stays_on_loopback(bank, fake_bank):
    with pytest.raises(NotLoopbackError):
        ManInTheMiddle(("192.0.2.1", 443), fake_bank)
    with pytest.raises(NotLoopbackError):
        ManInTheMiddle(bank.address, fake_bank, host="0.0.0.0")
    with pytest.raises(NotLoopbackError):
        send_request(("192.0.2.1", 443), ssl.create_default_context(), b"GET / HTTP/1.1\r\n\r\n")


def test_the_relay_wants_an_issued_certificate(bank, fake_bank):
    with pytest.raises(UsageError, match="IssuedCertificate"):
        ManInTheMiddle(bank.address, fake_bank.cert_pem)
    relay = ManInTheMiddle(bank.address, fake_bank)
    with pytest.raises(ServiceStateError, match="not running"):
        relay.address
    relay.stop()  # stopping a relay that never started is harmless
    with relay:
        with pytest.raises(ServiceStateError, match="already running"):
            relay.start()
    with pytest.raises(ServiceStateError, match="not running"):
        relay.address


def test_http_request_bytes():
    assert http_request("GET", "/admin", host="admin.test") == (
        b"GET /admin HTTP/1.1\r\nHost: admin.test\r\nConnection: close\r\n\r\n")
    form = http_request("POST", "/login", host="bank.test", form={"user": "a b", "password": "p&q"})
    assert form.endswith(b"Content-Length: 23\r\nConnection: close\r\n\r\nuser=a+b&password=p%26q")
    with pytest.raises(UsageError, match="must start with '/'"):
        http_request("GET", "admin", host="admin.test")


def test_exchange_reads_status_and_body():
    answered = Exchange(b"GET /", b"HTTP/1.1 403 Forbidden\r\nA: b\r\n\r\nno\n", None)
    assert (answered.status, answered.body, str(answered)) == (403, b"no\n", "HTTP/1.1 403 Forbidden: no")
    refused = Exchange(b"", b"", "[SSL: X] reason")
    assert refused.status is None and str(refused) == "refused the handshake: [SSL: X] reason"
    cut = Exchange(b"GET /", b"", "[SSL: Y] alert")
    assert str(cut) == "sent 5 bytes, then the connection failed: [SSL: Y] alert"


def test_relayed_connection_tells_a_refusal_from_a_failure():
    refused = RelayedConnection(False, "[SSL: TLSV1_ALERT_UNKNOWN_CA] tlsv1 alert unknown ca", None, b"", b"")
    assert str(refused).startswith("the victim refused the relay's certificate")
    cut = RelayedConnection(False, "timed out waiting for the peer", None, b"", b"")
    assert str(cut).startswith("the handshake with the victim did not finish")
    unreachable = RelayedConnection(True, None, "ConnectionRefusedError: refused", b"GET / HTTP/1.1\r\n\r\n", b"")
    assert "the relay's connection to the real server failed" in str(unreachable)
    assert unreachable.leaked


def test_what_the_relay_and_the_victim_saw_display_as_their_text():
    relayed = RelayedConnection(True, None, None, b"GET / HTTP/1.1\r\n\r\n", b"HTTP/1.1 200 OK\r\n\r\nhi\n")
    exchange = Exchange(b"GET /", b"HTTP/1.1 200 OK\r\n\r\nhi\n", None)
    for shown in (relayed, exchange):
        assert isinstance(shown, Shown)
    assert str(exchange) == "HTTP/1.1 200 OK: hi"
    assert "the relay read 18 bytes from the victim" in str(relayed)


# --------------------------------------------------------------------------------------------
# Replaying the victim's CertificateVerify to a mutual-TLS server


@pytest.fixture(scope="module")
def customer_ca():
    return CertificateAuthority.create("Bank Customer CA", seed="test-mitm")


@pytest.fixture(scope="module")
def alice_to_relay(public_ca, attacker_ca, fake_bank, customer_ca):
    """Alice's handshake with a relay that asks for her certificate (and trusts her CA, which is public)."""
    alice = customer_ca.issue_client("alice@customers.bank.test")
    return capture_handshake(fake_bank, alice, client_trust=[public_ca, attacker_ca], server_trust=customer_ca,
                             server_hostname=BANK).conversation


def test_the_victim_really_proved_her_key_to_the_relay(alice_to_relay):
    proofs = {check.what: check.ok for check in alice_to_relay.checks}
    assert proofs["client CertificateVerify"] and proofs["client Finished"]


def test_a_replayed_certificate_verify_does_not_verify_and_the_server_refuses(public_ca, customer_ca,
                                                                               alice_to_relay):
    log = []
    with HttpsService(public_ca.issue_server(BANK), trust=customer_ca, mutual=True, log=log.append) as bank:
        replay = replay_client_proof(bank.address, alice_to_relay, hostname=BANK)
    checks = {check.what: check.ok for check in replay.upstream.checks}
    # The relay can make every MAC of its own connection, never Alice's signature over it.
    assert checks == {"server CertificateVerify": True, "server Finished": True,
                      "client CertificateVerify": False, "client Finished": True}
    assert replay.proof_check.ok is False and "DOES NOT verify" in replay.proof_check.detail
    assert [str(alert.payload) for alert in replay.upstream.alerts()] == ["fatal: decrypt error"]
    assert len(log) == 1 and log[0].endswith("TLS handshake failed: [SSL: BAD_SIGNATURE] bad signature")
    assert all(line.endswith("different") for line in replay.differences())
    # The bytes copied are Alice's own: the certificate and the signature she made for the relay.
    for name in ("Certificate", "CertificateVerify"):
        assert replay.upstream.find(name, "client").payload.raw == alice_to_relay.find(name, "client").payload.raw
    text = str(replay)
    assert "relay -> server  CertificateVerify    the victim's signature, copied" in text
    assert "server -> relay  Alert                fatal: decrypt error" in text


def test_a_replay_needs_a_proof_and_a_server_that_asks_for_one(public_ca, alice_to_relay):
    anonymous = capture_handshake(public_ca.issue_server(BANK), trust=public_ca, server_hostname=BANK).conversation
    with HttpsService(public_ca.issue_server(BANK)) as bank:
        with pytest.raises(UsageError, match="no client Certificate and CertificateVerify"):
            replay_client_proof(bank.address, anonymous, hostname=BANK)
        with pytest.raises(DecodeError, match="did not ask for a client certificate"):
            replay_client_proof(bank.address, alice_to_relay, hostname=BANK)
