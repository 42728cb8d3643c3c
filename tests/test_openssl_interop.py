"""mtlslib's certificates judged by the openssl command-line tool, a second implementation that
shares none of our code paths: ``openssl verify -x509_strict``, CRL checks, PKCS#12, and real
handshakes with ``openssl s_server`` and ``openssl s_client`` on 127.0.0.1.

Every openssl process runs with a timeout and is killed if it outlives its test.
"""

from __future__ import annotations

import os
import re
import select
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from loopback_round_trip import strict
from pki_hierarchy import Hierarchy, build_hierarchy

from mtlslib.pki import KEY_TYPES, CertificateAuthority, IssuedCertificate, load_pkcs12
from mtlslib.tls import LoopbackServer, client_context, connect, server_context

OPENSSL_TIMEOUT = 20
ALICE = "spiffe://example.test/ns/course/sa/alice"


@pytest.fixture(scope="module", params=KEY_TYPES)
def hierarchy(request) -> Hierarchy:
    """One hierarchy per key type, made with the defaults; the client is a SPIFFE workload."""
    return build_hierarchy(request.param, f"Interop {request.param}", ALICE, organization="mtlslib course")


def openssl(openssl_bin: str, *args, input: bytes | None = None) -> subprocess.CompletedProcess:
    """Run one openssl command; subprocess.run kills it if it exceeds the timeout."""
    return subprocess.run([openssl_bin, *map(str, args)], input=input, capture_output=True, timeout=OPENSSL_TIMEOUT)


def output(result: subprocess.CompletedProcess) -> str:
    return (result.stdout + result.stderr).decode(errors="replace")


def pem_file(directory: Path, name: str, data: bytes) -> Path:
    path = directory / name
    path.write_bytes(data)
    return path


def verify(openssl_bin: str, tmp_path: Path, root: CertificateAuthority, leaf, intermediates=(), *options):
    """``openssl verify -x509_strict`` of one certificate; returns (ok, everything openssl printed)."""
    args = ["verify", "-x509_strict", *options, "-CAfile", pem_file(tmp_path, "root.pem", root.cert_pem)]
    if intermediates:
        untrusted = b"".join(ca.cert_pem for ca in intermediates)
        args += ["-untrusted", pem_file(tmp_path, "untrusted.pem", untrusted)]
    leaf_path = pem_file(tmp_path, "leaf.pem", leaf.cert_pem)
    result = openssl(openssl_bin, *args, leaf_path)
    ok = result.returncode == 0 and result.stdout.decode().strip() == f"{leaf_path}: OK"
    return ok, output(result)


# --------------------------------------------------------------------------------------------
# openssl verify


def test_openssl_strict_verification_accepts_the_defaults(hierarchy, openssl_bin, tmp_path):
    checks = [
        (hierarchy.issuing, (), ()),
        (hierarchy.server, (hierarchy.issuing,), ("-purpose", "sslserver", "-verify_hostname", "localhost",
                                                  "-verify_ip", "127.0.0.1")),
        (hierarchy.client, (hierarchy.issuing,), ("-purpose", "sslclient")),
    ]
    for leaf, intermediates, options in checks:
        ok, said = verify(openssl_bin, tmp_path, hierarchy.root, leaf, intermediates, *options)
        assert ok, said


def test_openssl_strict_verification_accepts_the_other_profiles(openssl_bin, tmp_path):
    root = CertificateAuthority.create("Profiles Root CA", path_length=2)
    upper = root.create_intermediate("Profiles Upper CA", path_length=1)
    lower = upper.create_intermediate("Profiles Lower CA")
    long_spiffe_id = "spiffe://example.test/ns/production/sa/" + "worker-" * 5
    organization_only = CertificateAuthority.create("Org Root CA", organization="Course Org")
    cases = [
        (root, root.issue_server("localhost"), (), "sslserver"),  # no intermediate
        (root, lower.issue_server("*.example.test"), (lower, upper), "sslserver"),
        (root, root.issue_client(long_spiffe_id), (), "sslclient"),  # empty subject, critical SAN
        (organization_only, organization_only.issue_client(long_spiffe_id), (), "sslclient"),  # O= only
        (root, root.issue_client("bob@example.test", "10.1.2.3"), (), "sslclient"),
        (root, root.issue_client("bob@example.test", server_auth=True), (), "sslserver"),
        (root, root.issue_server("localhost", client_auth=True), (), "sslclient"),
    ]
    for trust, leaf, intermediates, purpose in cases:
        ok, said = verify(openssl_bin, tmp_path, trust, leaf, intermediates, "-purpose", purpose)
        assert ok, f"{leaf.identities}: {said}"


def ca_with_non_critical_basic_constraints(root: CertificateAuthority) -> x509.Certificate:
    """An intermediate that differs from create_intermediate's only in breaking one strict rule."""
    reference = root.create_intermediate("Lax Issuing CA").certificate
    builder = (x509.CertificateBuilder().subject_name(reference.subject).issuer_name(reference.issuer)
               .public_key(reference.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(reference.not_valid_before_utc).not_valid_after(reference.not_valid_after_utc))
    for ext in reference.extensions:
        builder = builder.add_extension(ext.value, False if isinstance(ext.value, x509.BasicConstraints)
                                        else ext.critical)
    return builder.sign(root.private_key, hashes.SHA256())


def test_strict_verification_has_teeth(openssl_bin, tmp_path):
    # Control for the tests above: -x509_strict does refuse what RFC 5280 forbids.
    root = CertificateAuthority.create("Teeth Root CA")
    lax = ca_with_non_critical_basic_constraints(root)
    lax_path = pem_file(tmp_path, "lax.pem", lax.public_bytes(serialization.Encoding.PEM))
    root_path = pem_file(tmp_path, "root.pem", root.cert_pem)
    lenient = openssl(openssl_bin, "verify", "-CAfile", root_path, lax_path)
    assert lenient.returncode == 0, output(lenient)
    strict = openssl(openssl_bin, "verify", "-x509_strict", "-CAfile", root_path, lax_path)
    assert strict.returncode != 0
    assert "Basic Constraints of CA cert not marked critical" in output(strict)


@pytest.mark.parametrize(("case", "reason"), [
    ("server certificate used by a client", "unsuitable certificate purpose"),
    ("client certificate used by a server", "unsuitable certificate purpose"),
    ("intermediate below a path length 0 CA", "path length constraint exceeded"),
    ("expired", "certificate has expired"),
    ("not yet valid", "certificate is not yet valid"),
    ("wrong host name", "hostname mismatch"),
])
def test_openssl_sees_what_the_profile_says(openssl_bin, tmp_path, case, reason):
    root = CertificateAuthority.create("Refusing Root CA")
    issuing = root.create_intermediate("Refusing Issuing CA")  # path length 0 by default
    if case == "intermediate below a path length 0 CA":
        too_deep = issuing.create_intermediate("Too Deep CA")
        leaf, intermediates, options = too_deep.issue_server("localhost"), (too_deep, issuing), ()
    else:
        leaf, options = {
            "server certificate used by a client": (issuing.issue_server("localhost"), ("-purpose", "sslclient")),
            "client certificate used by a server": (issuing.issue_client(ALICE), ("-purpose", "sslserver")),
            "expired": (issuing.issue_server("localhost", validity="expired"), ()),
            "not yet valid": (issuing.issue_server("localhost", validity="not-yet-valid"), ()),
            "wrong host name": (issuing.issue_server("localhost"), ("-verify_hostname", "example.test")),
        }[case]
        intermediates = (issuing,)
    ok, said = verify(openssl_bin, tmp_path, root, leaf, intermediates, *options)
    assert not ok
    assert reason in said, said


def test_openssl_reads_the_same_extensions(hierarchy, openssl_bin, tmp_path):
    server_path = pem_file(tmp_path, "server.pem", hierarchy.server.cert_pem)
    result = openssl(openssl_bin, "x509", "-noout", "-fingerprint", "-sha256", "-ext",
                     "basicConstraints,keyUsage,extendedKeyUsage,subjectAltName", "-in", server_path)
    said = output(result)
    assert result.returncode == 0, said
    assert f"Fingerprint={hierarchy.server.fingerprint}" in said
    assert re.search(r"X509v3 Basic Constraints: critical\s+CA:FALSE", said)
    expected_usage = ("Digital Signature, Key Encipherment" if hierarchy.key_type.startswith("rsa")
                      else "Digital Signature")
    assert re.search(rf"X509v3 Key Usage: critical\s+{expected_usage}\n", said), said
    assert re.search(r"X509v3 Extended Key Usage: \n\s+TLS Web Server Authentication\n", said), said
    assert re.search(r"X509v3 Subject Alternative Name: \n\s+DNS:localhost, IP Address:127.0.0.1\n", said), said
    client_path = pem_file(tmp_path, "client.pem", hierarchy.client.cert_pem)
    said = output(openssl(openssl_bin, "x509", "-noout", "-ext", "keyUsage,extendedKeyUsage,subjectAltName",
                          "-in", client_path))
    assert re.search(r"X509v3 Key Usage: critical\s+Digital Signature\n", said), said
    assert re.search(r"X509v3 Extended Key Usage: \n\s+TLS Web Client Authentication\n", said), said
    assert f"URI:{ALICE}" in said


# --------------------------------------------------------------------------------------------
# Revocation


def test_openssl_checks_the_crl(hierarchy, openssl_bin, tmp_path):
    issuing = hierarchy.root.create_intermediate("Interop CRL Issuing CA")  # the shared one stays unrevoked
    revoked, kept = issuing.issue_server("localhost"), issuing.issue_server("localhost")
    issuing.revoke(revoked)
    crl_path = pem_file(tmp_path, "crl.pem", issuing.crl_pem)
    issuing_path = pem_file(tmp_path, "issuing.pem", issuing.cert_pem)

    signature = openssl(openssl_bin, "crl", "-in", crl_path, "-CAfile", issuing_path, "-noout")
    assert signature.returncode == 0 and "verify OK" in output(signature), output(signature)
    listing = output(openssl(openssl_bin, "crl", "-in", crl_path, "-noout", "-text"))
    listed = [int(serial, 16) for serial in re.findall(r"Serial Number: ([0-9A-F]+)", listing)]
    assert listed == [revoked.certificate.serial_number], listing

    ok, said = verify(openssl_bin, tmp_path, hierarchy.root, revoked, (issuing,), "-crl_check", "-CRLfile", crl_path)
    assert not ok and "certificate revoked" in said, said
    ok, said = verify(openssl_bin, tmp_path, hierarchy.root, kept, (issuing,), "-crl_check", "-CRLfile", crl_path)
    assert ok, said


# --------------------------------------------------------------------------------------------
# PKCS#12


def test_openssl_opens_our_pkcs12(hierarchy, openssl_bin, tmp_path):
    path = hierarchy.client.write_pkcs12(tmp_path / "client.p12", "s3cret pass")
    result = openssl(openssl_bin, "pkcs12", "-in", path, "-passin", "pass:s3cret pass", "-nodes")
    assert result.returncode == 0, output(result)
    assert set(x509.load_pem_x509_certificates(result.stdout)) == {hierarchy.client.certificate,
                                                                   hierarchy.issuing.certificate}
    key = serialization.load_pem_private_key(result.stdout, None)
    assert key.public_key() == hierarchy.client.certificate.public_key()
    wrong = openssl(openssl_bin, "pkcs12", "-in", path, "-passin", "pass:wrong", "-nodes")
    assert wrong.returncode != 0
    assert "mac verify" in output(wrong).lower()


def test_we_open_openssl_pkcs12(hierarchy, openssl_bin, tmp_path):
    cert_path, key_path = hierarchy.server.write(tmp_path)
    p12_path = tmp_path / "from-openssl.p12"
    result = openssl(openssl_bin, "pkcs12", "-export", "-in", cert_path, "-inkey", key_path,
                     "-passout", "pass:secret", "-out", p12_path)
    assert result.returncode == 0, output(result)
    loaded = load_pkcs12(p12_path, "secret")
    assert loaded.certificate == hierarchy.server.certificate
    assert loaded.key_pem == hierarchy.server.key_pem
    assert loaded.chain_pem == hierarchy.server.chain_pem


# --------------------------------------------------------------------------------------------
# Handshakes


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class OpenSSLServer:
    """``openssl s_server`` on 127.0.0.1 for one connection; killed on exit whatever happens."""

    def __init__(self, openssl_bin: str, *args):
        self._command = [openssl_bin, "s_server", "-naccept", "1", *map(str, args)]
        self.process: subprocess.Popen | None = None
        self.output = b""
        self.port = 0

    def __enter__(self) -> "OpenSSLServer":
        for _ in range(3):  # the free port may be taken before s_server binds it: try another
            self.port, self.output = free_port(), b""
            self.process = subprocess.Popen([*self._command, "-accept", f"127.0.0.1:{self.port}"],
                                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                            stderr=subprocess.STDOUT)
            if self._wait_until_listening():
                return self
            self._stop()
        raise AssertionError(f"openssl s_server did not start: {self.output.decode(errors='replace')}")

    def __exit__(self, *exc) -> None:
        self._stop()

    def _wait_until_listening(self) -> bool:
        deadline = time.monotonic() + OPENSSL_TIMEOUT
        fd = self.process.stdout.fileno()
        while b"ACCEPT" not in self.output:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                return False
            chunk = os.read(fd, 65536)
            if not chunk:  # exited, e.g. could not bind
                return False
            self.output += chunk
        return True

    def finish(self) -> str:
        """Everything s_server printed, once it has exited after its one connection."""
        out, _ = self.process.communicate(timeout=OPENSSL_TIMEOUT)
        self.output += out or b""
        return self.output.decode(errors="replace")

    def _stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=OPENSSL_TIMEOUT)
        self.process.stdout.close()


def read_to_end(tls: ssl.SSLSocket) -> bytes:
    chunks = []
    while chunk := tls.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def s_server_args(hierarchy: Hierarchy, tmp_path: Path) -> list:
    """A mutual-TLS s_server: demands a client certificate (-Verify) and verifies it strictly."""
    return ["-Verify", "1", "-verify_return_error", "-x509_strict",
            "-CAfile", pem_file(tmp_path, "root.pem", hierarchy.root.cert_pem),
            "-cert", pem_file(tmp_path, "server.pem", hierarchy.server.cert_pem),
            "-key", pem_file(tmp_path, "server.key", hierarchy.server.key_pem),
            "-cert_chain", pem_file(tmp_path, "issuing.pem", hierarchy.issuing.cert_pem),
            "-www"]  # answers GET with a status page that includes the client certificate it saw


def test_python_client_with_a_certificate_against_openssl_s_server(hierarchy, openssl_bin, tmp_path):
    ctx = strict(client_context(hierarchy.root, certificate=hierarchy.client))
    with OpenSSLServer(openssl_bin, *s_server_args(hierarchy, tmp_path)) as server:
        with connect(("127.0.0.1", server.port), ctx, timeout=OPENSSL_TIMEOUT) as connection:
            assert connection.view.peer_names == ("DNS:localhost", "IP:127.0.0.1")
            connection.tls.sendall(b"GET / HTTP/1.0\r\n\r\n")
            page = read_to_end(connection.tls).decode(errors="replace")
        log = server.finish()
    assert page.startswith("HTTP/1.0 200 ok"), page[:300]
    assert "Client certificate" in page and f"URI:{ALICE}" in page
    # s_server's own verification log walks the client's chain up to our root.
    assert f"depth=0 O = mtlslib course, CN = {ALICE}" in log, log
    assert f"depth=2 O = mtlslib course, CN = Interop {hierarchy.key_type} Root CA" in log, log


def test_openssl_s_server_refuses_a_client_without_a_certificate(openssl_bin, tmp_path):
    root = CertificateAuthority.create("Interop Root CA", organization="mtlslib course")
    issuing = root.create_intermediate("Interop Issuing CA")
    hierarchy = Hierarchy("ecdsa-p256", root, issuing, issuing.issue_server("localhost"), issuing.issue_client(ALICE))
    with OpenSSLServer(openssl_bin, *s_server_args(hierarchy, tmp_path)) as server:
        # TLS 1.3 reports the refusal after the handshake: as an alert, or just a closed connection.
        try:
            with connect(("127.0.0.1", server.port), client_context(root), timeout=OPENSSL_TIMEOUT) as connection:
                connection.tls.sendall(b"GET / HTTP/1.0\r\n\r\n")
                page = read_to_end(connection.tls)
        except (ssl.SSLError, ConnectionError):
            page = b""
        log = server.finish()
    assert page == b""
    assert "peer did not return a certificate" in log, log


def s_client(openssl_bin: str, port: int, tmp_path: Path, root: CertificateAuthority,
             client: IssuedCertificate) -> subprocess.CompletedProcess:
    intermediates = client.chain_pem[len(client.cert_pem):]  # s_client's -cert reads one certificate
    chain_args = ["-cert_chain", pem_file(tmp_path, "client-chain.pem", intermediates)] if intermediates else []
    return openssl(openssl_bin, "s_client", "-connect", f"127.0.0.1:{port}",
                   "-servername", "localhost", "-verify_hostname", "localhost",
                   "-CAfile", pem_file(tmp_path, "root.pem", root.cert_pem),
                   "-cert", pem_file(tmp_path, "client.pem", client.cert_pem),
                   "-key", pem_file(tmp_path, "client.key", client.key_pem), *chain_args,
                   "-verify_return_error", "-x509_strict",
                   "-ign_eof",  # keep reading until the server closes, after its answer
                   input=b"hello\n")


def test_openssl_s_client_with_a_certificate_against_a_loopback_server(hierarchy, openssl_bin, tmp_path):
    ctx = strict(server_context(hierarchy.server, trust=hierarchy.root, mutual=True))
    with LoopbackServer(ctx) as server:
        result = s_client(openssl_bin, server.port, tmp_path, hierarchy.root, hierarchy.client)
    said = output(result)
    # LoopbackServer closes without a TLS close_notify, which OpenSSL 3 reports as an error on exit.
    assert result.returncode == 0 or "unexpected eof while reading" in said, said
    assert "Verify return code: 0 (ok)" in said
    assert f"hello {ALICE}" in said
    [server_saw] = server.connections
    assert server_saw.error is None, str(server_saw)
    assert server_saw.peer_identity == ALICE
    assert server_saw.peer_subject == f"CN={ALICE},O=mtlslib course"


def test_loopback_server_refuses_openssl_s_client_from_another_ca(openssl_bin, tmp_path):
    root = CertificateAuthority.create("Interop Root CA")
    stranger = CertificateAuthority.create("Stranger Root CA").issue_client(ALICE)
    ctx = server_context(root.issue_server("localhost"), trust=root, mutual=True)
    with LoopbackServer(ctx) as server:
        result = s_client(openssl_bin, server.port, tmp_path, root, stranger)
    [server_saw] = server.connections  # s_client did connect: the refusal is the server's
    assert "unable to get local issuer certificate" in server_saw.error, str(server_saw)
    assert f"hello {ALICE}" not in output(result)
