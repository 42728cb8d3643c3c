"""curl, openssl s_client, urllib and http.client against a real mutual-TLS HTTPS service on
127.0.0.1: what each one gets back, how failures read, timeouts, missing tools, and clean-up."""

from __future__ import annotations

import shutil
import socket
import stat
import time
from pathlib import Path

import pytest

from mtlslib.errors import NotLoopbackError
from mtlslib.pki import CertificateAuthority
from mtlslib.tls import (
    AccessPolicy,
    ClientRun,
    ClientUrlError,
    HttpsService,
    authorizing_handler,
    curl,
    https_get,
    openssl_s_client,
    python_http_client,
    python_urllib,
)
from mtlslib.tls.clients import _ClientFiles

WEB = "spiffe://example.test/ns/shop/sa/web"
PYTHON_CLIENTS = [python_urllib, python_http_client, https_get]


@pytest.fixture(scope="module")
def pki():
    server_ca = CertificateAuthority.create("Clients Server CA", seed="real-clients")
    client_root = CertificateAuthority.create("Clients Client Root CA", seed="real-clients")
    client_ca = client_root.create_intermediate("Clients Client Issuing CA")
    return {
        "server_ca": server_ca,
        "client_root": client_root,
        "server": server_ca.issue_server("localhost", "127.0.0.1"),
        "localhost_only": server_ca.issue_server("localhost"),
        # Issued by an intermediate: each client must send it along with the certificate.
        "web": client_ca.issue_client(WEB),
        "api": client_ca.issue_client("spiffe://example.test/ns/shop/sa/api"),
    }


@pytest.fixture
def tools():
    """The clients to try: the Python ones always, each command-line tool when it is installed."""
    clients = list(PYTHON_CLIENTS)
    for name, client in (("curl", curl), ("openssl", openssl_s_client)):
        if shutil.which(name) is not None:
            clients.append(client)
    return clients


def service(pki, **options) -> HttpsService:
    policy = AccessPolicy().allow_spiffe_id(WEB)
    return HttpsService(pki["server"], trust=pki["client_root"], mutual=True,
                        handler=authorizing_handler(policy), **options)


def all_clients_with(clients, url, **arguments) -> dict[str, ClientRun]:
    return {run.client: run for run in (client(url, **arguments) for client in clients)}


def test_every_client_presents_its_certificate_and_chain(pki, tools):
    with service(pki) as svc:
        runs = all_clients_with(tools, svc.url, trust=pki["server_ca"], certificate=pki["web"])
    assert len(runs) == len(tools)
    for run in runs.values():
        assert run.ok, run
        assert (run.status, run.error, run.skipped) == (200, None, None)
        assert run.body == f"hello {WEB} (client certificate CN={WEB}, SAN URI:{WEB})\n"
        assert str(run).endswith(f"HTTP 200 OK\nhello {WEB} (client certificate CN={WEB}, SAN URI:{WEB})")


def test_a_refusal_by_the_policy_is_an_http_answer(pki, tools):
    with service(pki) as svc:
        runs = all_clients_with(tools, svc.url, trust=pki["server_ca"], certificate=pki["api"])
    for run in runs.values():
        assert not run.ok
        assert run.status == 403, run
        assert run.body == "forbidden: no rule admits URI:spiffe://example.test/ns/shop/sa/api\n"
        assert run.outcome == "HTTP 403 Forbidden"


def test_without_a_certificate_every_client_reads_the_server_s_alert(pki, tools):
    with service(pki) as svc:
        runs = all_clients_with(tools, svc.url, trust=pki["server_ca"])
    for run in runs.values():
        assert run.status is None and not run.ok
        assert "alert certificate required" in run.error, run
        assert str(run).endswith(f"no response: {run.error}")
    if "curl" in runs:
        # curl's exit status (56: failure receiving data), not its wording, which varies between builds
        assert runs["curl"].error.startswith("curl exit status 56: ")
    if "openssl s_client" in runs:
        # The alert's number (116: certificate_required, RFC 8446 6.2), not OpenSSL's words for it
        assert runs["openssl s_client"].error.startswith("openssl exit status 1: ")
        assert runs["openssl s_client"].error.endswith("(SSL alert number 116)")


def test_every_client_checks_the_server_name(pki, tools):
    with HttpsService(pki["localhost_only"], trust=pki["client_root"], mutual=True) as svc:
        by_ip = svc.url.replace("localhost", "127.0.0.1")
        assert by_ip.startswith("https://127.0.0.1:")
        runs = all_clients_with(tools, by_ip, trust=pki["server_ca"], certificate=pki["web"])
        by_name = https_get(svc.url, trust=pki["server_ca"], certificate=pki["web"])
    assert by_name.ok
    for run in runs.values():
        assert not run.ok and run.status is None, run
        assert "127.0.0.1" in run.error or "mismatch" in run.error.lower(), run


def test_every_client_checks_the_server_s_ca(pki, tools):
    stranger = CertificateAuthority.create("Clients Stranger CA", seed="real-clients")
    with service(pki) as svc:
        runs = all_clients_with(tools, svc.url, trust=stranger, certificate=pki["web"])
    for run in runs.values():
        assert run.status is None, run
        assert "unable to get local issuer certificate" in run.error, run


def test_commands_are_what_one_would_type_without_the_port(pki, curl_bin, openssl_bin):
    with service(pki) as svc:
        port = str(svc.port)
        runs = [curl(svc.url, trust=pki["server_ca"], certificate=pki["web"]),
                openssl_s_client(svc.url, trust=pki["server_ca"], certificate=pki["web"]),
                python_urllib(svc.url, trust=pki["server_ca"], certificate=pki["web"]),
                python_http_client(svc.url, trust=pki["server_ca"], certificate=pki["web"])]
    curl_run, s_client_run, urllib_run, http_client_run = runs
    assert curl_run.command == ("$ curl --disable --silent --show-error --noproxy '*' --max-time 5 --cacert ca.pem "
                                "--cert client.pem --key client.key --include https://127.0.0.1:<PORT>/")
    assert s_client_run.command == (
        "$ printf 'GET / HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nConnection: close\\r\\n\\r\\n' | openssl s_client "
        "-connect 127.0.0.1:<PORT> -noservername -verify_ip 127.0.0.1 -CAfile ca.pem -verify_return_error "
        "-cert client.pem -key client.key -cert_chain client-chain.pem -brief -ign_eof")
    assert urllib_run.command.splitlines()[:2] == ['>>> context = ssl.create_default_context(cafile="ca.pem")',
                                                   '>>> context.load_cert_chain("client.pem", "client.key")']
    assert "HTTPSConnection('127.0.0.1', <PORT>," in http_client_run.command
    for run in runs:
        assert run.ok, run
        assert port not in str(run)


def test_a_host_name_url_sends_sni_and_checks_that_name(pki, openssl_bin):
    with service(pki) as svc:
        url = svc.url.replace("127.0.0.1", "localhost")
        run = openssl_s_client(url, trust=pki["server_ca"], certificate=pki["web"])
    assert run.ok, run
    assert "-servername localhost -verify_hostname localhost" in run.command
    assert "Host: localhost" in run.command


def test_a_missing_tool_is_a_visible_skip(pki, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no tool can be found
    with service(pki) as svc:
        runs = [curl(svc.url, trust=pki["server_ca"], certificate=pki["web"]),
                openssl_s_client(svc.url, trust=pki["server_ca"], certificate=pki["web"])]
    assert [run.skipped.split(" (")[0] for run in runs] == ["curl is not installed", "openssl is not installed"]
    assert str(runs[0]).startswith("skipped: curl is not installed (Debian/Ubuntu: apt-get install curl")
    assert all(run.status is None and run.command is None and not run.ok for run in runs)


@pytest.fixture
def silent_server():
    """A loopback listener that completes TCP connections (the kernel does) but never says a word."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"https://127.0.0.1:{listener.getsockname()[1]}/"
    finally:
        listener.close()


@pytest.mark.parametrize("client", [curl, openssl_s_client, python_urllib, python_http_client, https_get],
                         ids=lambda client: client.__name__)
def test_a_silent_server_costs_one_timeout_and_the_tool_is_stopped(pki, client, silent_server):
    name = {curl: "curl", openssl_s_client: "openssl"}.get(client)
    if name and shutil.which(name) is None:
        pytest.skip(f"{name} is not installed")
    started = time.monotonic()
    run = client(silent_server, trust=pki["server_ca"], certificate=pki["web"], timeout=0.5)
    elapsed = time.monotonic() - started
    assert run.status is None
    assert elapsed < 3.5  # curl gets two seconds of grace beyond its own --max-time
    if client is openssl_s_client:  # s_client has no timeout of its own: it is killed
        assert run.error == "openssl s_client did not finish within 0.5 s and was stopped"
    elif client is curl:
        assert run.error.startswith("curl exit status 28: ") and "timed out" in run.error
    else:
        assert run.error == "timed out waiting for the peer"


def test_temporary_files_are_private_and_removed(pki):
    with _ClientFiles(pki["server_ca"], pki["web"]) as directory:
        names = sorted(p.name for p in directory.iterdir())
        key_mode = stat.S_IMODE((directory / "client.key").stat().st_mode)
        chain = (directory / "client-chain.pem").read_bytes()
    assert names == ["ca.pem", "client-chain.pem", "client.key", "client.pem"]
    assert key_mode == 0o600
    assert chain.count(b"BEGIN CERTIFICATE") == 1
    assert not Path(directory).exists()
    with _ClientFiles(pki["server_ca"], None) as directory:
        assert sorted(p.name for p in directory.iterdir()) == ["ca.pem"]


@pytest.mark.parametrize("url, error, message", [
    ("http://127.0.0.1:8443/", ClientUrlError, "only https://"),
    ("https://127.0.0.1/", ClientUrlError, "give the host and the port"),
    ("https://127.0.0.1:notaport/", ClientUrlError, "give the host and the port"),
    ("https://example.com:443/", NotLoopbackError, "only loopback addresses"),
    ("https://10.0.0.1:443/", NotLoopbackError, "not a loopback address"),
    (8443, ClientUrlError, "must be a string"),
])
def test_only_loopback_https_urls_are_fetched(pki, url, error, message):
    for client in (curl, openssl_s_client, python_urllib, python_http_client, https_get):
        with pytest.raises(error, match=message):
            client(url, trust=pki["server_ca"])


def test_the_certificate_must_be_an_issued_certificate(pki):
    with pytest.raises(ClientUrlError, match="IssuedCertificate"):
        curl("https://127.0.0.1:8443/", trust=pki["server_ca"], certificate=pki["web"].cert_pem)


def test_outcome_lines():
    assert ClientRun("x", status=418).outcome == "HTTP 418 I'm a Teapot"
    assert ClientRun("x", status=299).outcome == "HTTP 299"
    assert str(ClientRun("x", command="$ x", status=204)) == "$ x\nHTTP 204 No Content"
    assert str(ClientRun("x", error="refused")) == "no response: refused"


def test_every_client_can_trust_an_intermediate_as_the_anchor(pki, tools):
    # Trust is the anchor itself: a client given the issuing CA stops there, as OpenSSL's
    # partial-chain flag allows (curl sets it by itself; the others are told so, visibly).
    issuing = pki["server_ca"].create_intermediate("Clients Server Issuing CA")
    server = issuing.issue_server("localhost", "127.0.0.1")
    with HttpsService(server) as svc:
        runs = all_clients_with(tools, svc.url, trust=issuing)
        by_root = all_clients_with(tools, svc.url, trust=pki["server_ca"])
    for name, run in runs.items():
        assert run.ok, f"{name}: {run}"
        assert by_root[name].ok, f"{name}: {by_root[name]}"
    if "openssl s_client" in runs:
        assert "-partial_chain" in runs["openssl s_client"].command
        assert "-partial_chain" not in by_root["openssl s_client"].command  # a root needs no flag
    assert "VERIFY_X509_PARTIAL_CHAIN" in runs["Python urllib"].command
    assert "VERIFY_X509_PARTIAL_CHAIN" not in by_root["Python urllib"].command
