"""The command line, run the way a reader runs it: ``python -m mtlslib ...`` in a subprocess, so
exit statuses, stdout/stderr and signals are the real ones."""

from __future__ import annotations

import contextlib
import os
import re
import select
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import NamedTuple

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID

CLI = [sys.executable, "-m", "mtlslib"]
ALICE = "client-alice-example.test"
DEFAULT_FILES = {"root-ca.pem", "issuing-ca.pem", "crl.pem", "server.pem", "server.key",
                 f"{ALICE}.pem", f"{ALICE}.key", f"{ALICE}.p12"}
PRIVATE_FILES = {"server.key", f"{ALICE}.key", f"{ALICE}.p12"}


def run_cli(*args, cwd=None) -> subprocess.CompletedProcess:
    # subprocess.run kills the child if the timeout expires, so a hung command fails the test.
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=30, cwd=cwd)


def certificates(path: Path) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(path.read_bytes())


def public_der(key) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def extended_key_usage(cert: x509.Certificate):
    return list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)


def san(cert: x509.Certificate) -> list[str]:
    return [str(name.value) for name in cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value]


def p12_password(stdout: str, p12_name: str) -> str:
    line = next(line for line in stdout.splitlines() if line.startswith(p12_name))
    return re.search(r"password: (.*)$", line).group(1)


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> tuple[Path, str]:
    """A seeded DIR written by the CLI, and what the CLI printed. Tests that damage files copy it."""
    directory = tmp_path_factory.mktemp("cli") / "pki"
    result = run_cli("pki", directory, "--seed", "tests")
    assert result.returncode == 0, result.stderr
    return directory, result.stdout


# --------------------------------------------------------------------------------------------
# pki


def test_pki_writes_exactly_the_promised_files_and_says_what_each_is(pki):
    directory, stdout = pki
    assert {p.name for p in directory.iterdir()} == DEFAULT_FILES
    lines = stdout.splitlines()
    assert sorted(line.split()[0] for line in lines) == sorted(DEFAULT_FILES)  # one line per file
    assert all(len(line.split(maxsplit=1)) == 2 for line in lines), "every line says what the file is for"
    for path in directory.iterdir():
        mode = path.stat().st_mode & 0o777
        if path.name in PRIVATE_FILES:
            assert mode == 0o600, f"{path.name} holds a private key: mode {mode:o}"
        else:
            assert mode & 0o022 == 0, f"{path.name} is writable by others: mode {mode:o}"


def test_pki_chains_are_leaf_then_issuing_ca_and_signed_in_order(pki):
    directory, _ = pki
    (root,) = certificates(directory / "root-ca.pem")
    (issuing,) = certificates(directory / "issuing-ca.pem")
    issuing.verify_directly_issued_by(root)
    for stem, usage in (("server", ExtendedKeyUsageOID.SERVER_AUTH), (ALICE, ExtendedKeyUsageOID.CLIENT_AUTH)):
        leaf, intermediate = certificates(directory / f"{stem}.pem")
        assert intermediate == issuing
        leaf.verify_directly_issued_by(issuing)
        assert extended_key_usage(leaf) == [usage]
        key = serialization.load_pem_private_key((directory / f"{stem}.key").read_bytes(), None)
        assert public_der(key.public_key()) == public_der(leaf.public_key())
    assert san(certificates(directory / "server.pem")[0]) == ["localhost", "127.0.0.1"]
    assert san(certificates(directory / f"{ALICE}.pem")[0]) == ["alice@example.test"]


def test_pki_files_pass_openssl_verify_with_the_crl(pki, openssl_bin):
    directory, _ = pki
    for stem, purpose in (("server", "sslserver"), (ALICE, "sslclient")):
        result = subprocess.run(
            [openssl_bin, "verify", "-x509_strict", "-purpose", purpose, "-crl_check", "-CRLfile", "crl.pem",
             "-CAfile", "root-ca.pem", "-untrusted", "issuing-ca.pem", f"{stem}.pem"],
            capture_output=True, text=True, cwd=directory, timeout=10)
        assert result.returncode == 0 and result.stdout.strip() == f"{stem}.pem: OK", result.stdout + result.stderr


def test_pki_p12_opens_with_the_printed_password_only(pki):
    directory, stdout = pki
    password = p12_password(stdout, f"{ALICE}.p12")
    assert password == "mtlslib"
    data = (directory / f"{ALICE}.p12").read_bytes()
    key, cert, extra = pkcs12.load_key_and_certificates(data, password.encode())
    assert cert == certificates(directory / f"{ALICE}.pem")[0]
    assert extra == certificates(directory / "issuing-ca.pem")
    assert public_der(key.public_key()) == public_der(cert.public_key())
    with pytest.raises(ValueError):
        pkcs12.load_key_and_certificates(data, b"not the password")


def test_pki_crl_is_the_issuing_cas_and_empty(pki):
    directory, _ = pki
    crl = x509.load_pem_x509_crl((directory / "crl.pem").read_bytes())
    (issuing,) = certificates(directory / "issuing-ca.pem")
    assert crl.issuer == issuing.subject
    assert crl.is_signature_valid(issuing.public_key())
    assert len(crl) == 0


def test_pki_same_seed_same_files_and_no_seed_fresh_keys(pki, tmp_path):
    directory, _ = pki
    assert run_cli("pki", tmp_path / "again", "--seed", "tests").returncode == 0
    assert run_cli("pki", tmp_path / "unseeded").returncode == 0
    for name in DEFAULT_FILES - {f"{ALICE}.p12"}:  # PKCS#12 encryption draws a fresh salt every time
        assert (tmp_path / "again" / name).read_bytes() == (directory / name).read_bytes(), name
    first = pkcs12.load_key_and_certificates((directory / f"{ALICE}.p12").read_bytes(), b"mtlslib")
    again = pkcs12.load_key_and_certificates((tmp_path / "again" / f"{ALICE}.p12").read_bytes(), b"mtlslib")
    assert first[1:] == again[1:] and public_der(first[0].public_key()) == public_der(again[0].public_key())
    assert (tmp_path / "unseeded" / "root-ca.pem").read_bytes() != (directory / "root-ca.pem").read_bytes()


def test_pki_one_server_certificate_for_all_names_and_one_file_set_per_client(tmp_path):
    directory = tmp_path / "out"
    result = run_cli("pki", directory, "--key-type", "ed25519", "--p12-password", "two words",
                     "--server", "localhost", "--server", "api.example.test", "--server", "127.0.0.2",
                     "--client", "bob", "--client", "spiffe://example.test/ns/shop/sa/web",
                     "--client", "spiffe://example.test/../../escape")
    assert result.returncode == 0, result.stderr
    assert san(certificates(directory / "server.pem")[0]) == ["localhost", "api.example.test", "127.0.0.2"]
    stems = ["client-bob", "client-spiffe-example.test-ns-shop-sa-web", "client-spiffe-example.test-..-..-escape"]
    assert {p.name for p in directory.iterdir()} == {
        "root-ca.pem", "issuing-ca.pem", "crl.pem", "server.pem", "server.key",
        *(f"{stem}.{ext}" for stem in stems for ext in ("pem", "key", "p12"))}
    assert [p.name for p in tmp_path.iterdir()] == ["out"], "a client name must not place files outside DIR"
    assert san(certificates(directory / f"{stems[1]}.pem")[0]) == ["spiffe://example.test/ns/shop/sa/web"]
    assert p12_password(result.stdout, f"{stems[0]}.p12") == "two words"
    key, _, _ = pkcs12.load_key_and_certificates((directory / f"{stems[0]}.p12").read_bytes(), b"two words")
    assert type(key).__name__ == "Ed25519PrivateKey"


# --------------------------------------------------------------------------------------------
# serve


class Served(NamedTuple):
    process: subprocess.Popen
    url: str
    banner: str


def read_until(process: subprocess.Popen, pattern: str, timeout: float = 15) -> tuple[re.Match, str]:
    """Read the child's stdout until ``pattern`` shows up; raw reads with select, so a child that
    never prints fails the test instead of hanging it."""
    deadline, text = time.monotonic() + timeout, ""
    fd = process.stdout.fileno()
    while (match := re.search(pattern, text)) is None:
        remaining = deadline - time.monotonic()
        ready, _, _ = select.select([fd], [], [], max(remaining, 0))
        chunk = os.read(fd, 4096) if ready else b""
        if not chunk:
            process.kill()
            _, err = process.communicate(timeout=10)
            raise AssertionError(f"no {pattern!r} on stdout; got {text!r}; stderr {err.decode()!r}")
        text += chunk.decode()
    return match, text


@contextlib.contextmanager
def serving(directory: Path, *options: str):
    """``python -m mtlslib serve`` on a free port, run from DIR's parent with a relative DIR so the
    printed curl command works as pasted; killed on the way out whatever happened."""
    with subprocess.Popen([*CLI, "serve", directory.name, "--port", "0", *options], cwd=directory.parent,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        try:
            # Up to "Ctrl-C": the whole banner is out, and the service is listening.
            match, banner = read_until(process, r"(https://\S+/)[\s\S]*Ctrl-C")
            yield Served(process, match.group(1), banner)
        finally:
            if process.poll() is None:
                process.kill()
            process.communicate(timeout=10)


@pytest.fixture(scope="module")
def mtls_server(pki):
    directory, _ = pki
    with serving(directory, "--mtls") as served:
        yield served


def https_get(url: str, directory: Path, client_stem: str | None) -> str:
    context = ssl.create_default_context(cafile=str(directory / "root-ca.pem"))
    if client_stem:
        context.load_cert_chain(directory / f"{client_stem}.pem", directory / f"{client_stem}.key")
    with urllib.request.urlopen(url, context=context, timeout=5) as response:
        return response.read().decode()


def test_serve_mtls_names_the_client_in_the_response(pki, mtls_server):
    directory, _ = pki
    assert mtls_server.url.startswith("https://127.0.0.1:")
    assert https_get(mtls_server.url, directory, ALICE) == (
        "hello alice@example.test (client certificate CN=alice@example.test, SAN email:alice@example.test)\n")


def test_serve_mtls_refuses_a_client_without_a_certificate(pki, mtls_server):
    directory, _ = pki
    with pytest.raises((urllib.error.URLError, ssl.SSLError), match="alert certificate required"):
        https_get(mtls_server.url, directory, None)


def test_serve_the_printed_curl_command_works_as_pasted(pki, mtls_server, curl_bin):
    directory, _ = pki
    command = re.search(r"^try: (curl .*)$", mtls_server.banner, re.MULTILINE).group(1)
    assert f"--cert pki/{ALICE}.pem --key pki/{ALICE}.key" in command
    pasted = subprocess.run(shlex.split(command), capture_output=True, text=True, cwd=directory.parent, timeout=10)
    assert pasted.returncode == 0, pasted.stderr
    assert pasted.stdout.startswith("hello alice@example.test (")
    # The .p12 works too, with the password `pki` printed.
    p12 = subprocess.run([curl_bin, "-sS", "--cacert", "pki/root-ca.pem", "--cert-type", "P12",
                          "--cert", f"pki/{ALICE}.p12:mtlslib", mtls_server.url],
                         capture_output=True, text=True, cwd=directory.parent, timeout=10)
    assert p12.stdout.startswith("hello alice@example.test ("), p12.stderr
    refused = subprocess.run([curl_bin, "-sS", "--cacert", "pki/root-ca.pem", mtls_server.url],
                             capture_output=True, text=True, cwd=directory.parent, timeout=10)
    assert refused.returncode != 0 and "certificate required" in refused.stderr


def test_serve_without_mtls_greets_anonymous_and_stops_on_ctrl_c(pki):
    directory, _ = pki
    with serving(directory) as served:
        assert https_get(served.url, directory, ALICE) == "hello anonymous: no client certificate\n"
        served.process.send_signal(signal.SIGINT)
        out, err = served.process.communicate(timeout=10)
        assert served.process.returncode == 0
        assert out.decode().splitlines()[-1] == "stopped"
        assert err.decode() == ""


# --------------------------------------------------------------------------------------------
# bad input: one line on stderr, naming the file or address, exit status 2


def _rewrite_key(directory: Path, password: bytes) -> None:
    key = serialization.load_pem_private_key((directory / "server.key").read_bytes(), None)
    (directory / "server.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(password)))


def _der(directory: Path, name: str) -> None:
    path = directory / name
    if name.endswith(".key"):
        key = serialization.load_pem_private_key(path.read_bytes(), None)
        data = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())
    else:
        data = certificates(path)[0].public_bytes(serialization.Encoding.DER)
    path.write_bytes(data)


def _taken_port(directory: Path, stack: contextlib.ExitStack) -> list[str]:
    listener = stack.enter_context(socket.socket())
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    return ["--port", str(listener.getsockname()[1])]


BAD_INPUTS = {
    # name: (how to damage a copy of DIR, extra arguments (or a function making them), words the message must hold)
    "missing DIR": (lambda d: shutil.rmtree(d), [], ["pki", "no such directory"]),
    "missing file": (lambda d: (d / "server.key").unlink(), [], ["server.key", "no such file"]),
    "garbage PEM": (lambda d: (d / "server.pem").write_text("this is not a certificate\n"), [],
                    ["server.pem", "no PEM certificate"]),
    "damaged PEM": (lambda d: (d / "server.pem").write_text(
        "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n"), [],
        ["server.pem", "damaged"]),
    "DER certificate": (lambda d: _der(d, "server.pem"), [], ["server.pem", "DER"]),
    "DER key": (lambda d: _der(d, "server.key"), [], ["server.key", "DER"]),
    "wrong password": (lambda d: _rewrite_key(d, b"right"), ["--key-password", "wrong"],
                       ["server.key", "wrong password"]),
    "missing password": (lambda d: _rewrite_key(d, b"right"), [], ["server.key", "encrypted"]),
    "mismatched key": (lambda d: shutil.copy(d / f"{ALICE}.key", d / "server.key"), [],
                       ["server.key", "does not belong", "server.pem"]),
    "client certificate as server": (
        lambda d: [shutil.copy(d / f"{ALICE}.{ext}", d / f"server.{ext}") for ext in ("pem", "key")], [],
        ["server.pem", "not a server certificate"]),
    "garbage trust anchor": (lambda d: (d / "root-ca.pem").write_text("junk\n"), ["--mtls"],
                             ["root-ca.pem", "no PEM certificate"]),
    "non-loopback address": (None, ["--host", "0.0.0.0"], ["0.0.0.0", "loopback"]),
    "port in use": (None, _taken_port, ["127.0.0.1:", "already in use"]),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_serve_bad_input_is_one_clear_line_and_status_2(pki, tmp_path, case):
    damage, extra, words = BAD_INPUTS[case]
    directory = tmp_path / "pki"
    shutil.copytree(pki[0], directory)
    if damage:
        damage(directory)
    with contextlib.ExitStack() as stack:
        arguments = extra(directory, stack) if callable(extra) else extra
        result = run_cli("serve", "pki", *arguments, cwd=tmp_path)
    assert_bad_input(result, words)
    if case == "port in use":
        assert f":{arguments[1]}:" in result.stderr


@pytest.mark.parametrize("arguments, words", [
    (["pki", "a-file"], ["a-file", "cannot write"]),
    (["pki", "out", "--client", "not valid!"], ["'not valid!'", "space or a control character"]),
    (["pki", "out", "--client", "Bob@example.test", "--client", "bob@example.test"], ["Bob@example.test", "distinct"]),
], ids=["DIR is a file", "bad client name", "clashing client names"])
def test_pki_bad_input_is_one_clear_line_and_status_2(tmp_path, arguments, words):
    (tmp_path / "a-file").write_text("")
    result = run_cli(*arguments, cwd=tmp_path)
    assert_bad_input(result, words)
    assert not (tmp_path / "out").exists(), "nothing is written when the input is bad"


def assert_bad_input(result: subprocess.CompletedProcess, words: list[str]) -> None:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    for word in words:
        assert word in result.stderr, f"{word!r} missing from {result.stderr!r}"
    assert result.stdout == ""


# --------------------------------------------------------------------------------------------
# handshake


@pytest.mark.parametrize("mtls", [False, True], ids=["tls", "mtls"])
@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_handshake_command(version, mtls):
    result = run_cli("handshake", "--tls", version, *(["--mtls"] if mtls else []))
    assert result.returncode == 0, result.stdout + result.stderr
    head, client_saw, server_saw = result.stdout.splitlines()
    assert head.startswith(f"{'mutual TLS' if mtls else 'TLS'} handshake OK: TLS {version}, ")
    assert client_saw == "  client saw: verified server certificate CN=localhost [DNS:localhost, IP:127.0.0.1]"
    assert server_saw == ("  server saw: verified client certificate CN=alice@example.test [email:alice@example.test]"
                          if mtls else "  server saw: no client certificate")


def _message_lines(stdout: str) -> list[tuple[str, str, str]]:
    """(direction, message name, clear/encrypted) of each wire-order line of a --trace output."""
    found = []
    for line in stdout.splitlines():
        match = re.match(r"(client -> server|server -> client)  (\S+) +\d+ B  (clear|encrypted)", line)
        if match:
            found.append(match.groups())
    return found


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_handshake_trace_lists_the_messages_in_wire_order(version):
    result = run_cli("handshake", "--mtls", "--tls", version, "--trace")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = _message_lines(result.stdout)
    names = [name for _, name, _ in lines]
    assert lines[0] == ("client -> server", "ClientHello", "clear")
    assert lines[1] == ("server -> client", "ServerHello", "clear")
    client_certificate = next(line for line in lines if line[:2] == ("client -> server", "Certificate"))
    # The point of the comparison: TLS 1.2 shows the client's identity to any observer, 1.3 hides it.
    assert client_certificate[2] == ("encrypted" if version == "1.3" else "clear")
    assert names.count("CertificateVerify") == (2 if version == "1.3" else 1)
    assert "CertificateRequest" in names and "Finished" in names
    assert "PASS" not in result.stdout  # the checks belong to --decrypt


def test_handshake_decrypt_names_the_secrets_and_passes_every_check():
    result = run_cli("handshake", "--mtls", "--decrypt")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[SERVER_HANDSHAKE_TRAFFIC_SECRET]" in result.stdout
    assert "[CLIENT_HANDSHAKE_TRAFFIC_SECRET]" in result.stdout
    checks = [line for line in result.stdout.splitlines() if line.startswith(("PASS", "FAIL"))]
    assert [line.split(":")[0] for line in checks] == [
        "PASS  server CertificateVerify", "PASS  server Finished", "PASS  client CertificateVerify",
        "PASS  client Finished"]


@pytest.mark.parametrize("mutual", [False, True])
def test_handshake_decrypt_on_tls12_opens_every_record_and_passes_every_check(mutual):
    result = run_cli("handshake", "--tls", "1.2", "--decrypt", *(["--mtls"] if mutual else []))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no keys to open them" not in result.stdout
    opened = [line for line in result.stdout.splitlines() if line.endswith("_write_key]")]
    assert [line.split()[3] for line in opened] == ["Finished", "Finished", "ApplicationData", "ApplicationData",
                                                    "Alert", "Alert"]
    assert "master secret from the key log (CLIENT_RANDOM line)" in result.stdout
    checks = [line.split(":")[0] for line in result.stdout.splitlines() if line.startswith(("PASS", "FAIL"))]
    assert checks == ["PASS  server ServerKeyExchange", *(["PASS  client CertificateVerify"] if mutual else []),
                      "PASS  client Finished", "PASS  server Finished"]


def test_every_command_given_a_seed_says_the_keys_are_public(tmp_path):
    for argv in (("pki", tmp_path / "seeded", "--seed", "s"), ("handshake", "--seed", "s")):
        result = run_cli(*argv)
        assert result.returncode == 0, result.stderr
        assert "keys are public" in result.stderr and "never be trusted" in result.stderr
    for argv in (("pki", tmp_path / "fresh"), ("handshake",)):
        assert "keys are public" not in run_cli(*argv).stderr


def _snapshot(directory):
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir())}


def test_a_failed_pki_run_leaves_an_existing_dir_exactly_as_it_was(tmp_path):
    directory = tmp_path / "pki"
    assert run_cli("pki", directory, "--seed", "first").returncode == 0
    before = _snapshot(directory)
    (directory / "client-zed-example.test.key").mkdir()  # in the way of what the rerun would write
    failed = run_cli("pki", directory, "--seed", "second", "--client", "zed@example.test")
    assert (failed.returncode == 2 and "client-zed-example.test.key" in failed.stderr
            and "Traceback" not in failed.stderr)
    (directory / "client-zed-example.test.key").rmdir()
    assert _snapshot(directory) == before
    too_long = run_cli("pki", directory, "--client", "x" * 100_000)
    assert too_long.returncode == 2 and len(too_long.stderr) < 400
    assert _snapshot(directory) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pki"]  # no staging folder left behind


def test_a_successful_rerun_replaces_the_set_and_names_stale_client_files(tmp_path):
    directory = tmp_path / "pki"
    assert run_cli("pki", directory, "--client", "bob@example.test").returncode == 0
    old_root = (directory / "root-ca.pem").read_bytes()
    again = run_cli("pki", directory, "--client", "carol@example.test")
    assert again.returncode == 0
    assert (directory / "root-ca.pem").read_bytes() != old_root
    assert "client-bob-example.test.pem" in again.stderr and "do not chain" in again.stderr


def test_a_symlink_planted_in_dir_is_replaced_not_followed(tmp_path):
    directory = tmp_path / "pki"
    directory.mkdir()
    victim = tmp_path / "victim"
    victim.write_text("precious")
    (directory / "server.key").symlink_to(victim)
    assert run_cli("pki", directory).returncode == 0
    assert victim.read_text() == "precious" and not (directory / "server.key").is_symlink()
    assert (directory / "server.key").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("argv, wanted", [
    (["serve", "DIR", "--port", "٨٤٤٣"], "not a port number"),
    (["explain", "x.pem", "--trust", "y.pem", "--at", "yesterday"], "not an ISO 8601 date"),
    (["pki"], "the following arguments are required"),
])
def test_command_line_mistakes_are_one_line(argv, wanted):
    result = run_cli(*argv)
    assert result.returncode == 2 and wanted in result.stderr
    assert result.stderr.count("\n") == 1 and "usage:" not in result.stderr


def test_output_to_a_closed_pipe_ends_quietly():
    import subprocess
    import sys
    pipeline = subprocess.run(f"{sys.executable} -m mtlslib handshake --trace --decrypt | head -1",
                              shell=True, capture_output=True, text=True, timeout=60)
    assert pipeline.stdout.count("\n") == 1
    assert "Traceback" not in pipeline.stderr and "Exception ignored" not in pipeline.stderr


def test_output_to_a_full_disk_is_one_line():
    import subprocess
    import sys
    with open("/dev/full", "w") as full:
        result = subprocess.run([sys.executable, "-m", "mtlslib", "handshake"], stdout=full,
                                stderr=subprocess.PIPE, text=True, timeout=60)
    assert result.returncode == 2 and "No space left on device" in result.stderr
    assert result.stderr.count("\n") == 1
