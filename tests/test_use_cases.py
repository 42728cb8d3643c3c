"""The notes' two use cases, live: partners with their own CAs, and credential stuffing with and
without mutual TLS (mtlslib.lessons.use_cases, the password login of mtlslib.tls.login and
mtlslib.insecure.credential_stuffing); and the one HTTP response parser of mtlslib.tls.http."""

from __future__ import annotations

import datetime as _dt
import http.client
import socket
import ssl

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

import mtlslib.lessons.use_cases as use_cases
from mtlslib.errors import CertificateLoadError, NotLoopbackError, ProfileError, UsageError
from mtlslib.insecure.credential_stuffing import (
    MAX_ATTEMPTS,
    AttackBoundsError,
    BotAttempt,
    copy_from_stolen_laptop,
    forum_breach,
    results_table,
    scoreboard,
    stuff_credentials,
)
from mtlslib.lessons.use_cases import Organisation
from mtlslib.pki import CertificateAuthority, IssuedCertificate
from mtlslib.tls import (
    HttpResponse,
    HttpsService,
    LoginService,
    PasswordStore,
    Reply,
    client_context,
    https_request,
    login,
    parse_response,
)

# -- business to business ------------------------------------------------------------------


@pytest.fixture(scope="module")
def partners():
    return (Organisation.create("Acme", "acme.test", seed="acme"),
            Organisation.create("Globex", "globex.test", seed="globex"),
            Organisation.create("Initech", "initech.test", seed="initech"))


def test_partners_call_each_other_with_their_own_cas(partners):
    acme, globex, _initech = partners
    with acme.partner_service(globex) as acme_api, globex.partner_service(acme) as globex_api:
        to_acme = globex.call(acme_api, acme, workload="purchasing")
        to_globex = acme.call(globex_api, globex, workload="billing")
    assert to_acme.ok and to_acme.text == ("Acme order desk: hello spiffe://globex.test/purchasing, "
                                           "certificate issued by CN=Globex Root CA,O=Globex\n")
    assert to_globex.ok and "hello spiffe://acme.test/billing" in to_globex.text


def test_only_the_partners_certificates_get_in(partners):
    acme, globex, initech = partners
    log: list[str] = []
    with acme.partner_service(globex, log=log.append) as acme_api:
        third_party = initech.call(acme_api, acme, workload="scraper")
        own_staff = acme.call(acme_api, acme, workload="intranet")
        anonymous = initech.call(acme_api, acme)
    for reply in (third_party, own_staff):
        assert reply.status is None and "alert unknown ca" in reply.refused
    assert "alert certificate required" in anonymous.refused
    assert anonymous.outcome.startswith("refused during the TLS handshake: ")
    failures = [line for line in log if "TLS handshake failed" in line]
    assert len(failures) == 3 and all("certificate" in line for line in failures)


def test_the_caller_checks_the_partners_server_too(partners):
    acme, globex, initech = partners
    with acme.partner_service(globex) as acme_api:
        # Expecting Initech's API but reaching Acme's: the certificate chains to a CA Globex
        # was not told to trust for this call.
        reply = globex.call(acme_api, initech, workload="purchasing")
    assert reply.refused is not None and "certificate verify failed" in reply.refused


def test_an_organisation_has_one_certificate_per_workload(partners):
    acme = partners[0]
    assert acme.workload("billing") is acme.workload("billing")
    assert acme.workload("billing").identities == ("URI:spiffe://acme.test/billing",)
    assert acme.server_certificate.identities == ("DNS:api.acme.test",)
    with pytest.raises(ProfileError, match="domain"):
        Organisation.create("Nowhere", "localhost")


def test_requests_go_to_loopback_only(partners):
    with pytest.raises(NotLoopbackError):
        https_request(("192.0.2.1", 443), client_context(partners[0].ca))


# -- revocation between partners -------------------------------------------------------------

STALE = (_dt.datetime(2025, 6, 1, tzinfo=_dt.timezone.utc), _dt.datetime(2025, 6, 8, tzinfo=_dt.timezone.utc))


@pytest.fixture
def revoking_partners():
    """Fresh organisations for every test: revoking changes the partner for good."""
    acme = Organisation.create("Acme", "acme.test", seed="acme revocation")
    globex = Organisation.create("Globex", "globex.test", seed="globex revocation")
    globex.revoke("restocking")
    return acme, globex


def _calls(acme, globex, **service_options):
    log: list[str] = []
    with acme.partner_service(globex, log=log.append, **service_options) as api:
        replies = {name: globex.call(api, acme, workload=name) for name in ("purchasing", "restocking")}
    return replies, [line.split(" ", 1)[1] for line in log]


def test_without_the_partners_crl_a_revoked_workload_still_gets_in(revoking_partners):
    replies, _ = _calls(*revoking_partners)
    assert replies["purchasing"].ok and replies["restocking"].ok


def test_with_the_partners_crl_the_revoked_workload_is_refused_and_the_other_served(revoking_partners):
    acme, globex = revoking_partners
    for crl in (globex.published_crl(), globex.ca.crl_pem):
        replies, log = _calls(acme, globex, crl=crl)
        assert replies["purchasing"].ok and "hello spiffe://globex.test/purchasing" in replies["purchasing"].text
        assert replies["restocking"].status is None
        assert "SSLV3_ALERT_CERTIFICATE_REVOKED" in replies["restocking"].refused  # the code: its words vary by build
        assert "TLS handshake failed: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: " \
               "certificate revoked" in log


def test_a_crl_past_its_next_update_refuses_every_workload(revoking_partners):
    acme, globex = revoking_partners
    replies, log = _calls(acme, globex, crl=globex.published_crl(valid=STALE))
    assert all("alert certificate expired" in (reply.refused or "") for reply in replies.values())
    assert sum("certificate verify failed: CRL has expired" in line for line in log) == 2


def test_a_crl_from_another_ca_is_no_crl_of_the_partner_and_refuses_everyone(revoking_partners):
    acme, globex = revoking_partners
    replies, log = _calls(acme, globex, crl=acme.published_crl())
    assert all(reply.refused for reply in replies.values())
    assert sum("unable to get certificate CRL" in line for line in log) == 2


def test_the_published_crl_lists_the_revoked_workload_signed_by_its_ca(revoking_partners):
    _acme, globex = revoking_partners
    restocking = globex.workload("restocking").certificate
    for crl in (globex.published_crl(), globex.published_crl(valid=STALE)):
        assert crl.is_signature_valid(globex.ca.certificate.public_key())
        assert [entry.serial_number for entry in crl] == [restocking.serial_number]
        assert crl.get_revoked_certificate_by_serial_number(globex.workload("purchasing").certificate.serial_number) \
            is None
    stale = globex.published_crl(valid=STALE)
    assert (stale.last_update_utc, stale.next_update_utc) == STALE
    assert stale.public_bytes(Encoding.DER) == globex.published_crl(valid=STALE).public_bytes(Encoding.DER)
    globex.revoke("restocking")  # twice changes nothing
    assert len(globex.published_crl()) == 1


# -- the login service ---------------------------------------------------------------------

PASSWORDS = {"alice@northwind.test": "Tulips-in-April-1987", "bob@northwind.test": "v9#Lr2!qWm-kite"}


@pytest.fixture(scope="module")
def northwind():
    web_ca = CertificateAuthority.create("Northwind Web CA", seed="northwind web")
    device_ca = CertificateAuthority.create("Northwind Device CA", seed="northwind devices")
    return {
        "web_ca": web_ca,
        "device_ca": device_ca,
        "server": web_ca.issue_server("login.northwind.test"),
        "passwords": PasswordStore(PASSWORDS, iterations=1000),
        "alice_laptop": device_ca.issue_client("alice@northwind.test"),
        "bob_laptop": device_ca.issue_client("bob@northwind.test"),
    }


def test_the_password_store_checks_hashes_and_keeps_no_password():
    store = PasswordStore(PASSWORDS, iterations=1000)
    assert store.check("alice@northwind.test", PASSWORDS["alice@northwind.test"])
    assert not store.check("alice@northwind.test", PASSWORDS["bob@northwind.test"])
    assert not store.check("mallory@northwind.test", "anything")
    assert store.usernames == tuple(PASSWORDS)
    stored = repr(vars(store)).encode()
    assert all(password.encode() not in stored for password in PASSWORDS.values())
    with pytest.raises(UsageError, match="passwords is empty"):
        PasswordStore({})


def test_password_only_login(northwind):
    web_ca = northwind["web_ca"]
    with LoginService(northwind["server"], northwind["passwords"]) as service:
        good = login(service, "alice@northwind.test", PASSWORDS["alice@northwind.test"], trust=web_ca)
        bad = login(service, "alice@northwind.test", "guess", trust=web_ca)
        wrong_method = https_request(service.address, client_context(web_ca), path="/login",
                                     hostname=service.hostname)
        wrong_path = https_request(service.address, client_context(web_ca), method="POST", path="/admin",
                                   hostname=service.hostname)
    assert (good.status, good.text) == (200, "welcome alice@northwind.test\n")
    assert (bad.status, bad.text) == (401, "wrong username or password\n")
    assert (wrong_method.status, wrong_path.status) == (405, 404)
    assert [(r.username, r.device, r.outcome) for r in service.records] == [
        ("alice@northwind.test", None, "welcome alice@northwind.test"),
        ("alice@northwind.test", None, "wrong username or password")]
    assert repr(service) == "<LoginService login.northwind.test (password only)>"


def test_behind_mutual_tls_only_the_owners_device_reaches_the_login(northwind):
    web_ca, device_ca = northwind["web_ca"], northwind["device_ca"]
    password = PASSWORDS["alice@northwind.test"]
    stranger = CertificateAuthority.create("Stranger CA", seed="stranger").issue_client("alice@northwind.test")
    with LoginService(northwind["server"], northwind["passwords"], device_ca=device_ca) as service:
        no_device = login(service, "alice@northwind.test", password, trust=web_ca)
        forged_device = login(service, "alice@northwind.test", password, trust=web_ca, certificate=stranger)
        assert service.records == []  # neither reached the login form
        own_device = login(service, "alice@northwind.test", password, trust=web_ca,
                           certificate=northwind["alice_laptop"])
        someone_elses = login(service, "alice@northwind.test", password, trust=web_ca,
                              certificate=northwind["bob_laptop"])
        wrong_password = login(service, "alice@northwind.test", "guess", trust=web_ca,
                               certificate=northwind["alice_laptop"])
    assert "alert certificate required" in no_device.refused
    assert "alert unknown ca" in forged_device.refused
    assert own_device.ok
    assert (someone_elses.status, someone_elses.text) == (
        403, "this device belongs to bob@northwind.test, not to alice@northwind.test\n")
    assert wrong_password.status == 401
    assert [r.device for r in service.records] == ["alice@northwind.test", "bob@northwind.test",
                                                    "alice@northwind.test"]


# -- the bot ---------------------------------------------------------------------------------


def test_the_breach_holds_the_reused_password():
    leaked = forum_breach({"alice@northwind.test": "Tulips-in-April-1987"})
    assert ("alice@northwind.test", "Tulips-in-April-1987") in leaked
    assert len(leaked) == len(set(leaked)) == 12


def test_stuffing_a_password_only_login_takes_the_reused_account(northwind):
    leaked = forum_breach({"alice@northwind.test": PASSWORDS["alice@northwind.test"]})
    with LoginService(northwind["server"], northwind["passwords"]) as service:
        attempts = stuff_credentials(service, leaked, trust=northwind["web_ca"])
    assert [a.username for a in attempts if a.got_in] == ["alice@northwind.test"]
    assert all(a.reached_login for a in attempts)
    assert len(service.records) == len(leaked)
    assert scoreboard(attempts) == "12 pairs tried, 12 reached the login form, 1 got in: alice@northwind.test"


def test_stuffing_a_mutual_tls_login_never_reaches_the_form(northwind):
    leaked = forum_breach({"alice@northwind.test": PASSWORDS["alice@northwind.test"]})
    with LoginService(northwind["server"], northwind["passwords"], device_ca=northwind["device_ca"]) as service:
        attempts = stuff_credentials(service, leaked, trust=northwind["web_ca"])
    assert service.records == []
    assert all(not a.reached_login and "certificate required" in a.reply.refused for a in attempts)
    assert scoreboard(attempts) == "12 pairs tried, 0 reached the login form, 0 got in"


def test_a_key_copied_from_the_laptop_works_for_the_thief(northwind):
    alice_laptop = northwind["alice_laptop"]
    stolen = copy_from_stolen_laptop(alice_laptop)
    assert stolen is not alice_laptop
    assert stolen.fingerprint == alice_laptop.fingerprint and stolen.key_pem == alice_laptop.key_pem
    leaked = forum_breach({"alice@northwind.test": PASSWORDS["alice@northwind.test"]})
    with LoginService(northwind["server"], northwind["passwords"], device_ca=northwind["device_ca"]) as service:
        attempts = stuff_credentials(service, leaked, trust=northwind["web_ca"], certificate=stolen)
    # The laptop opens its owner's account, and only that one.
    assert [a.username for a in attempts if a.got_in] == ["alice@northwind.test"]
    assert sum(a.reply.status == 403 for a in attempts) == len(leaked) - 1


def test_the_certificate_without_its_key_is_useless(northwind, tmp_path):
    cert_file, _key_file = northwind["alice_laptop"].write(tmp_path, "alice")
    _other_cert, thief_key = northwind["bob_laptop"].write(tmp_path, "thief")
    with pytest.raises(CertificateLoadError, match="does not belong"):
        IssuedCertificate.load(cert_file, thief_key)


def test_the_bot_is_bounded_in_attempts_and_time(northwind):
    leaked = [(f"user{i}@mailbox.test", "password") for i in range(30)]
    with LoginService(northwind["server"], northwind["passwords"]) as service:
        assert len(stuff_credentials(service, leaked, trust=northwind["web_ca"], max_attempts=3)) == 3
        hurried = stuff_credentials(service, leaked, trust=northwind["web_ca"], time_budget=0.001)
        assert len(hurried) < len(leaked)
        for bad in ({"max_attempts": 0}, {"max_attempts": MAX_ATTEMPTS + 1}, {"time_budget": 0},
                    {"time_budget": 3600}):
            with pytest.raises(AttackBoundsError):
                stuff_credentials(service, leaked, trust=northwind["web_ca"], **bad)


def test_a_reply_reads_as_its_outcome():
    assert str(Reply(200, "welcome alice\nmore\n")) == "HTTP 200: welcome alice"
    assert str(Reply(None, refused="[SSL] nope")) == "refused during the TLS handshake: [SSL] nope"


# -- keep-alive, which the HTTPS benchmark uses ------------------------------------------------


def test_https_service_keeps_connections_alive_when_asked(northwind):
    web_ca = northwind["web_ca"]
    server = web_ca.issue_server("localhost")
    for keep_alive in (True, False):
        with HttpsService(server, keep_alive=keep_alive) as service:
            connection = http.client.HTTPSConnection("localhost", service.port, context=client_context(web_ca),
                                                     timeout=5)
            try:
                connection.request("GET", "/")
                first = connection.getresponse()
                first.read()
                sock = connection.sock
                connection.request("GET", "/")
                connection.getresponse().read()
                reused = connection.sock is sock and sock is not None
            finally:
                connection.close()
        assert (first.getheader("Connection"), reused) == ((None, True) if keep_alive else ("close", False))


def test_a_kept_alive_mutual_service_still_requires_a_certificate(northwind):
    # A kept-alive mTLS connection still starts with a verified client certificate.
    web_ca, device_ca = northwind["web_ca"], northwind["device_ca"]
    with HttpsService(web_ca.issue_server("localhost"), trust=device_ca, mutual=True, keep_alive=True) as service:
        with pytest.raises(ssl.SSLError, match="certificate required"):
            connection = http.client.HTTPSConnection("localhost", service.port, context=client_context(web_ca),
                                                     timeout=5)
            try:
                connection.request("GET", "/")
                connection.getresponse()
            finally:
                connection.close()


def test_a_silent_server_is_no_answer_rather_than_a_tls_refusal(northwind):
    with socket.create_server(("127.0.0.1", 0)) as listener:  # accepts, never speaks TLS
        reply = https_request(listener.getsockname(), client_context(northwind["web_ca"]), timeout=0.2)
    assert reply.status is None and not reply.by_tls
    assert reply.outcome == "no HTTP answer: timed out waiting for the peer"


def test_the_results_table_says_who_got_in_where():
    inside = [BotAttempt("alice@northwind.test", "pw", Reply(200, "welcome\n")), BotAttempt("bob", "x", Reply(401))]
    outside = [BotAttempt("alice@northwind.test", "pw", Reply(None, refused="certificate required"))] * 2
    table = results_table({"bot": {"password only": inside, "mutual TLS": outside},
                           "bot with a key": {"mutual TLS": inside}})
    assert str(table).splitlines() == [
        "attacker        password only                 mutual TLS",
        "--------------  ----------------------------  --------------------------------",
        "bot             got in: alice@northwind.test  nobody (0 of 2 reached the form)",
        "bot with a key  -                             got in: alice@northwind.test",
    ]


# -- the login service moved to mtlslib.tls; the chapters still import it from the lessons -----


def test_the_lessons_reexport_the_login_service_of_mtlslib_tls():
    for name in ("LoginService", "PasswordStore", "LoginRecord", "Reply", "login", "https_request"):
        assert getattr(use_cases, name) is getattr(__import__("mtlslib.tls", fromlist=[name]), name)


# -- one HTTP response parser ----------------------------------------------------------------


def test_parse_response_reads_status_reason_headers_and_body():
    raw = (b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\n"
           b"Content-Length: 9\r\n\r\nforbidden and then some bytes of what came next")
    response = parse_response(raw)
    assert isinstance(response, HttpResponse)
    assert (response.status, response.reason, response.body) == (403, "Forbidden", b"forbidden")
    assert response.header("content-type") == "text/plain" and response.header("X-Missing") is None
    assert [v for k, v in response.headers if k.lower() == "set-cookie"] == ["a=1", "b=2"]
    assert str(response) == "HTTP 403 Forbidden\nforbidden"
    no_length = parse_response(b"HTTP/1.0 200 OK\r\n\r\nall of it\n")
    assert (no_length.status, no_length.text) == (200, "all of it\n")
    assert parse_response(b"HTTP/1.1 204\r\n\r\n").reason == ""


@pytest.mark.parametrize("raw", [b"", b"HTTP/1.1 200 OK\r\nno blank line", b"SSH-2.0-OpenSSH\r\n\r\n",
                                 b"HTTP/1.1 abc OK\r\n\r\n"])
def test_parse_response_returns_none_for_what_is_not_an_http_response(raw):
    assert parse_response(raw) is None


def test_https_request_reads_the_response_with_the_same_parser(northwind):
    web_ca = northwind["web_ca"]
    with HttpsService(web_ca.issue_server("localhost")) as service:
        reply = https_request(service.address, client_context(web_ca))
        missing = https_request(service.address, client_context(web_ca), method="POST", path="/nothing",
                                form={"a": "b"})
    assert (reply.status, reply.text) == (200, "hello anonymous: no client certificate\n")
    assert missing.status == 405
