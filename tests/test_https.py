"""HttpsService against real clients (http.client over ssl), in process."""

from __future__ import annotations

import errno
import re
import shlex
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import pytest
from https_round_trip import fetch, recording

from mtlslib.errors import NotLoopbackError, ServiceStateError, UsageError
from mtlslib.pki import CertificateAuthority
from mtlslib.tls import ClientIdentity, HttpsService, Request, Response, client_context, whoami


@pytest.fixture(scope="module")
def alice_context(ca, client_cert):
    return client_context(ca, certificate=client_cert)


def test_mutual_tls_names_the_verified_client(server_cert, ca, alice_context):
    with HttpsService(server_cert, trust=ca, mutual=True) as service:
        reply = fetch(service, alice_context)
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert reply.text == ("hello alice@example.test (client certificate CN=alice@example.test, "
                          "SAN email:alice@example.test)\n")


def test_the_handler_sees_every_name_and_the_issuer(server_cert, ca, issuing_ca):
    workload = issuing_ca.issue_client("spiffe://example.test/ns/shop/sa/web", "web@example.test")
    handler, seen = recording()
    with HttpsService(server_cert, trust=ca, mutual=True, handler=handler) as service:
        fetch(service, client_context(ca, certificate=workload))
    client = seen[0].client
    assert client.names == ("URI:spiffe://example.test/ns/shop/sa/web", "email:web@example.test")
    assert client.name == "spiffe://example.test/ns/shop/sa/web"
    assert client.subject == "CN=spiffe://example.test/ns/shop/sa/web"
    assert client.issuer == issuing_ca.name
    assert client.fingerprint == workload.fingerprint


def test_plain_tls_never_asks_so_every_client_is_anonymous(server_cert, alice_context):
    # alice offers a certificate, but a server that does not request one never receives it.
    with HttpsService(server_cert) as service:
        reply = fetch(service, alice_context)
    assert (reply.status, reply.text) == (200, "hello anonymous: no client certificate\n")


def test_mutual_tls_refuses_a_client_without_a_certificate(server_cert, ca, anonymous_context):
    handler, seen = recording()
    log: list[str] = []
    with HttpsService(server_cert, trust=ca, mutual=True, handler=handler, log=log.append) as service:
        # A TLS 1.3 client finishes its side first and hears of the refusal on its first read:
        # the alert must reach it, not be overtaken by a connection reset.
        with pytest.raises(ssl.SSLError, match="alert certificate required"):
            fetch(service, anonymous_context)
    assert seen == []
    assert any("TLS handshake failed" in line and "certificate" in line for line in log), log


def test_mutual_tls_refuses_a_certificate_from_another_ca(server_cert, ca):
    stranger_ca = CertificateAuthority.create("Stranger CA", seed="stranger")
    mallory = stranger_ca.issue_client("mallory@example.test")
    handler, seen = recording()
    with HttpsService(server_cert, trust=ca, mutual=True, handler=handler) as service:
        with pytest.raises(ssl.SSLError, match="alert unknown ca"):
            fetch(service, client_context(ca, certificate=mallory))
    assert seen == []


def test_optional_client_certificates_serve_both_kinds_of_client(server_cert, ca, alice_context, anonymous_context):
    with HttpsService(server_cert, trust=ca, mutual="optional") as service:
        assert fetch(service, alice_context).text.startswith("hello alice@example.test (")
        assert fetch(service, anonymous_context).text == "hello anonymous: no client certificate\n"


def test_the_handler_gets_method_path_headers_body_and_sets_the_response(server_cert, ca, alice_context):
    def login(request: Request) -> Response:
        return Response(303, f"{request.method} {request.path} {request.body.decode()}",
                        headers=(("Location", "/"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")))

    handler, seen = recording(login)
    with HttpsService(server_cert, trust=ca, mutual=True, handler=handler) as service:
        reply = fetch(service, alice_context, "POST", "/login?next=/", body=b"user=alice",
                      headers={"Content-Type": "application/x-www-form-urlencoded", "X-Trace": "7"})
    assert reply.status == 303
    assert reply.text == "POST /login?next=/ user=alice"
    assert reply.headers["Location"] == "/"
    assert reply.headers.get_all("Set-Cookie") == ["a=1", "b=2"]
    request = seen[0]
    assert request.headers.get("x-trace") == "7"  # case-insensitive, as HTTP says
    assert request.client.name == "alice@example.test"
    assert request.tls_version == "1.3"


def test_the_default_handler_answers_get_and_head_only(server_cert, anonymous_context):
    with HttpsService(server_cert) as service:
        head = fetch(service, anonymous_context, "HEAD")
        post = fetch(service, anonymous_context, "POST", body=b"x")
    assert head.status == 200 and head.text == ""
    assert int(head.headers["Content-Length"]) == len("hello anonymous: no client certificate\n")
    assert post.status == 405 and post.headers["Allow"] == "GET, HEAD"


def test_a_failing_handler_gives_500_and_the_service_keeps_running(server_cert, anonymous_context, capsys):
    def broken(request: Request) -> Response:
        if request.path == "/boom":
            raise RuntimeError("the handler broke")
        return Response(200, "fine")

    with HttpsService(server_cert, handler=broken) as service:
        failed = fetch(service, anonymous_context, path="/boom")
        after = fetch(service, anonymous_context)
    assert failed.status == 500 and "RuntimeError: the handler broke" in failed.text
    assert (after.status, after.text) == (200, "fine")
    assert "RuntimeError: the handler broke" in capsys.readouterr().err  # the traceback, for the developer


def test_a_handler_returning_something_else_than_a_response_is_a_usage_error(server_cert, anonymous_context,
                                                                              capsys):
    with HttpsService(server_cert, handler=lambda request: "hello") as service:
        answer = fetch(service, anonymous_context)
    assert answer.status == 500
    assert "UsageError: the handler returned str, not a mtlslib.tls.Response" in answer.text
    assert "UsageError" in capsys.readouterr().err


def test_starting_a_running_service_is_a_state_error(server_cert):
    with HttpsService(server_cert) as service:
        with pytest.raises(ServiceStateError, match="already running"):
            service.start()
        assert service.port > 0  # still serving


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "example.com", "::"])
def test_refuses_to_bind_anything_but_loopback(server_cert, host):
    with pytest.raises(NotLoopbackError, match="loopback"):
        HttpsService(server_cert, host=host)


def test_refuses_a_configuration_it_cannot_honour(server_cert, ca):
    with pytest.raises(UsageError, match="trust"):
        HttpsService(server_cert, mutual=True)
    with pytest.raises(UsageError, match="optional"):
        HttpsService(server_cert, trust=ca, mutual="sometimes")


def test_a_taken_port_is_an_oserror_and_leaves_nothing_open(server_cert):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        service = HttpsService(server_cert, port=taken.getsockname()[1])
        with pytest.raises(OSError) as caught:
            service.start()
    assert caught.value.errno == errno.EADDRINUSE


def test_a_stalled_client_blocks_neither_other_clients_nor_stop(server_cert, ca, alice_context):
    threads_before = set(threading.enumerate())
    service = HttpsService(server_cert, trust=ca, mutual=True, timeout=10).start()
    try:
        with socket.create_connection(service.address):  # connects, never says hello
            started = time.monotonic()
            with ThreadPoolExecutor(4) as pool:
                replies = list(pool.map(lambda _: fetch(service, alice_context), range(8)))
            assert all(reply.status == 200 for reply in replies)
            assert time.monotonic() - started < 3, "a handshake in the accept loop would wait out the stalled client"
            started = time.monotonic()
            service.stop()
            assert time.monotonic() - started < 2, "stop() should cut the stalled connection, not wait 10 s"
            # Checked while the stalled client is still connected: stop() itself joined its thread.
            assert set(threading.enumerate()) <= threads_before
    finally:
        service.stop()


def test_the_server_hangs_up_on_a_client_that_stalls_past_the_timeout(server_cert):
    log: list[str] = []
    with HttpsService(server_cert, timeout=0.3, log=log.append) as service:
        with socket.create_connection(service.address) as stalled:
            stalled.settimeout(5)
            assert stalled.recv(1) == b""  # closed by the server, long before our 5 s
    assert any("TLS handshake failed: timed out" in line for line in log), log


def test_address_and_url_exist_only_while_running_and_it_restarts(server_cert, issuing_ca):
    service = HttpsService(server_cert)
    assert "stopped" in repr(service)
    with pytest.raises(ServiceStateError, match="not running"):
        service.url
    with service:
        assert service.url == f"https://127.0.0.1:{service.port}/"
    service.stop()  # a second stop is harmless
    with service:
        assert service.port > 0
    with HttpsService(issuing_ca.issue_server("localhost")) as named_only:
        # The certificate covers "localhost" only, so that is the name a verifying client must use.
        assert named_only.url == f"https://localhost:{named_only.port}/"


def test_a_certificate_without_san_names_nobody_whatever_its_common_name():
    legacy = ClientIdentity("CN=bob,O=Example", (), "CN=Old CA", "AA:BB")
    assert legacy.name is None
    assert legacy.uris == legacy.emails == legacy.dns_names == ()
    assert str(legacy) == "client certificate CN=bob,O=Example, SAN (none)"
    assert ClientIdentity("", (), "CN=Old CA", "AA:BB").name is None
    request = Request("GET", "/", None, b"", legacy, "1.3")
    assert whoami(request).body == ("hello nobody: your certificate names no one, it has no subjectAltName "
                                    "(client certificate CN=bob,O=Example, SAN (none))\n")


def test_a_client_certificate_without_san_is_served_as_nobody(server_cert, ca):
    from mtlslib.insecure.certificates import common_name_only

    bob = common_name_only(ca, "bob@example.test", purposes=("client",))
    log: list[str] = []
    with HttpsService(server_cert, trust=ca, mutual=True, log=log.append) as service:
        reply = fetch(service, client_context(ca, certificate=bob))
    assert reply.text.startswith("hello nobody: your certificate names no one")
    assert "bob@example.test" not in reply.text.split("(")[0]
    assert any("(a client certificate without subjectAltName)" in line for line in log), log


def test_san_entries_are_read_by_type_in_certificate_order():
    client = ClientIdentity("CN=x", ("DNS:web.example.test", "URI:spiffe://example.test/web", "email:web@example.test",
                                     "IP:127.0.0.1", "DNS:alt.example.test"), "CN=CA", "00")
    assert client.dns_names == ("web.example.test", "alt.example.test")
    assert client.uris == ("spiffe://example.test/web",)
    assert client.emails == ("web@example.test",)
    assert client.san_values("IP") == ("127.0.0.1",)
    assert client.san_values("URI") == client.uris
    assert client.name == "web.example.test"  # for a greeting or a log line, not for a decision


# --------------------------------------------------------------------------------------------
# The URL reaches the service, and the name to check is one the certificate has


def test_the_url_dials_the_bound_address_and_server_name_is_what_to_check(server_cert, issuing_ca,
                                                                          anonymous_context):
    # 127.0.0.2 is not in the certificate; localhost is, but leads to 127.0.0.1: another service.
    with HttpsService(server_cert, host="127.0.0.2") as service:
        assert service.url == f"https://127.0.0.2:{service.port}/"
        assert service.server_name == "localhost"
        host = urllib.parse.urlsplit(service.url).hostname
        with anonymous_context.wrap_socket(socket.create_connection((host, service.port), timeout=10),
                                           server_hostname=service.server_name) as tls:
            assert tls.getpeercert()["subjectAltName"] == (("DNS", "localhost"), ("IP Address", "127.0.0.1"))
    with HttpsService(issuing_ca.issue_server("localhost", "127.0.0.2"), host="127.0.0.2") as service:
        assert (service.url, service.server_name) == (f"https://127.0.0.2:{service.port}/", "127.0.0.2")
        assert fetch(service, anonymous_context).status == 200  # http.client checks the URL's own host
    with HttpsService(issuing_ca.issue_server("api.example.test")) as service:
        assert (service.url, service.server_name) == (f"https://127.0.0.1:{service.port}/", "api.example.test")
    with HttpsService(server_cert) as service:
        assert (service.url, service.server_name) == (f"https://127.0.0.1:{service.port}/", "127.0.0.1")


@pytest.mark.parametrize("server_names", [(), ("--server", "localhost", "--server", "127.0.0.2")],
                         ids=["certificate without 127.0.0.2", "certificate for 127.0.0.2"])
def test_serve_on_another_loopback_address_prints_a_url_and_command_that_work(tmp_path, curl_bin, server_names):
    cli = [sys.executable, "-m", "mtlslib"]
    subprocess.run([*cli, "pki", "pki", *server_names], cwd=tmp_path, check=True, capture_output=True, timeout=30)
    with subprocess.Popen([*cli, "serve", "pki", "--host", "127.0.0.2", "--port", "0"], cwd=tmp_path,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        watchdog = threading.Timer(30, process.kill)  # a child that never prints fails the test, not hangs it
        watchdog.start()
        try:
            banner = "".join(iter_until(process.stdout, "stop with Ctrl-C"))
            url = re.search(r"^serving (https://\S+/) ", banner, re.MULTILINE).group(1)
            command = shlex.split(re.search(r"^try: (curl .*)$", banner, re.MULTILINE).group(1))
            pasted = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=10)
            direct = subprocess.run([curl_bin, "-sS", "--cacert", "pki/root-ca.pem", url], cwd=tmp_path,
                                    capture_output=True, text=True, timeout=10)
        finally:
            watchdog.cancel()
            watchdog.join()
            process.kill()
            process.communicate(timeout=10)
    assert url.startswith("https://127.0.0.2:"), banner  # the address it listens on, never localhost
    assert pasted.returncode == 0 and pasted.stdout == "hello anonymous: no client certificate\n", pasted.stderr
    if server_names:
        assert "note:" not in banner and command[-1] == url
        assert direct.returncode == 0 and direct.stdout == pasted.stdout
    else:
        # The URL reaches the service, whose certificate does not name 127.0.0.2: said, and worked around.
        assert "pki/server.pem does not name 127.0.0.2" in banner
        assert "--connect-to" in command and command[-1] == url.replace("127.0.0.2", "localhost")
        assert direct.returncode == 60 and "127.0.0.2" in direct.stderr


def iter_until(stream, marker: str):
    """Lines of ``stream`` up to the one containing ``marker`` (the child prints with flush)."""
    for line in stream:
        yield line
        if marker in line:
            return
    raise AssertionError(f"the stream ended before {marker!r}")


def test_a_refusal_just_before_stop_is_still_logged(server_cert, ca, anonymous_context):
    # The client learns of the refusal from the server's alert, possibly before the server's thread
    # has logged it; a stop() right then must let that thread finish, not cut it as if idle.
    for _ in range(10):
        lines = []
        with HttpsService(server_cert, trust=ca, mutual=True, log=lines.append) as service:
            with pytest.raises(ssl.SSLError, match="CERTIFICATE_REQUIRED"):
                with socket.create_connection(service.address, timeout=5) as raw:
                    with anonymous_context.wrap_socket(raw, server_hostname="localhost") as tls:
                        tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
                        tls.recv(1)
        assert len(lines) == 1 and "TLS handshake failed" in lines[0], lines
