"""mtlslib.pki on disk: writing certificates and keys (with tight permissions), loading them back,
PKCS#12, the error every bad input gets (naming the file and the problem), and SslFiles."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from mtlslib import handshake
from mtlslib.errors import CertificateLoadError, MtlsLibError
from mtlslib.pki import CertificateAuthority, IssuedCertificate, SslFiles, load_pkcs12


# --------------------------------------------------------------------------------------------
# Files: write, load, PKCS#12


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_write_puts_the_chain_and_a_private_key_on_disk(issuing_ca, server_cert, tmp_path):
    cert_path, key_path = server_cert.write(tmp_path / "new" / "dir")
    assert (cert_path.name, key_path.name) == ("localhost.pem", "localhost.key")
    assert cert_path.read_bytes() == server_cert.chain_pem
    assert key_path.read_bytes() == server_cert.key_pem
    assert mode(key_path) == 0o600
    ca_cert_path, ca_key_path = issuing_ca.write(tmp_path, stem="my-ca")
    assert (ca_cert_path.name, ca_key_path.name) == ("my-ca.pem", "my-ca.key")
    assert mode(ca_key_path) == 0o600


def test_default_file_names(ca, issuing_ca, client_cert, tmp_path):
    assert ca.write(tmp_path)[0].name == "root-ca.pem"
    assert issuing_ca.write(tmp_path)[0].name == "issuing-ca.pem"
    assert client_cert.write(tmp_path)[1].name == "alice-example.test.key"


def test_write_tightens_an_existing_world_readable_key_file(server_cert, tmp_path):
    key_path = tmp_path / "localhost.key"
    key_path.write_bytes(b"old contents, longer than nothing")
    key_path.chmod(0o644)
    _, written = server_cert.write(tmp_path)
    assert written == key_path
    assert mode(key_path) == 0o600
    assert key_path.read_bytes() == server_cert.key_pem
    p12 = tmp_path / "server.p12"
    p12.write_bytes(b"")
    p12.chmod(0o644)
    server_cert.write_pkcs12(p12, "secret")
    assert mode(p12) == 0o600


def test_load_gives_back_what_write_wrote(issuing_ca, client_cert, tmp_path):
    cert_path, key_path = client_cert.write(tmp_path)
    loaded = IssuedCertificate.load(cert_path, key_path)
    assert loaded.certificate == client_cert.certificate
    assert loaded.chain_pem == client_cert.chain_pem
    assert loaded.key_pem == client_cert.key_pem


def test_load_an_encrypted_key(server_cert, tmp_path):
    cert_path, _ = server_cert.write(tmp_path)
    key_path = tmp_path / "encrypted.key"
    key_path.write_bytes(server_cert.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret")))
    assert IssuedCertificate.load(cert_path, key_path, password=b"secret").key_pem == server_cert.key_pem


def test_a_loaded_root_ca_issues_certificates_its_original_trust_accepts(tmp_path):
    original = CertificateAuthority.create("Reloaded Root CA")
    loaded = CertificateAuthority.load(*original.write(tmp_path))
    server = loaded.issue_server("localhost")
    assert server.chain_pem == server.cert_pem
    assert handshake(server, trust=original).ok


def test_a_loaded_intermediate_hands_its_chain_on(tmp_path):
    root = CertificateAuthority.create("Reloaded Root CA")
    upper = root.create_intermediate("Upper CA", path_length=1)
    lower = upper.create_intermediate("Lower CA")
    loaded = CertificateAuthority.load(*lower.write(tmp_path))
    assert loaded.chain_pem == lower.chain_pem
    server = loaded.issue_server("localhost")
    assert x509.load_pem_x509_certificates(server.chain_pem) == [
        server.certificate, lower.certificate, upper.certificate]
    result = handshake(server, trust=root)
    assert result.ok, str(result)


def test_a_leaf_is_not_loaded_as_a_ca(server_cert, tmp_path):
    cert_path, key_path = server_cert.write(tmp_path)
    with pytest.raises(CertificateLoadError, match="not a CA") as caught:
        CertificateAuthority.load(cert_path, key_path)
    assert str(cert_path) in str(caught.value)


@pytest.mark.parametrize("password", ["secret", b"secret"])
def test_pkcs12_round_trip(hierarchy, tmp_path, password):
    path = hierarchy.server.write_pkcs12(tmp_path / "server.p12", password)
    assert mode(path) == 0o600
    loaded = load_pkcs12(path, password)
    assert loaded.certificate == hierarchy.server.certificate
    assert loaded.chain_pem == hierarchy.server.chain_pem
    assert loaded.key_pem == hierarchy.server.key_pem
    bundle = pkcs12.load_pkcs12(hierarchy.server.to_pkcs12(password), b"secret")
    assert bundle.cert.friendly_name == b"localhost"
    assert [c.certificate for c in bundle.additional_certs] == [hierarchy.issuing.certificate]


def test_pkcs12_without_a_password(client_cert, tmp_path):
    path = client_cert.write_pkcs12(tmp_path / "client.p12")
    assert load_pkcs12(path).certificate == client_cert.certificate


@pytest.mark.parametrize("password", ["wrong", None])
def test_pkcs12_wrong_password(server_cert, tmp_path, password):
    path = server_cert.write_pkcs12(tmp_path / "server.p12", "secret")
    with pytest.raises(CertificateLoadError, match="wrong password") as caught:
        load_pkcs12(path, password)
    assert str(path) in str(caught.value)


# --------------------------------------------------------------------------------------------
# Bad input: every failure names the file and the problem


def der_certificate(cert: IssuedCertificate) -> bytes:
    return cert.certificate.public_bytes(serialization.Encoding.DER)


def damaged_pem(pem: bytes) -> bytes:
    lines = pem.splitlines(keepends=True)
    lines[2] = b"!!!!" + lines[2][4:]
    return b"".join(lines)


def encrypted_key(cert: IssuedCertificate) -> bytes:
    return cert.private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.BestAvailableEncryption(b"secret"))


# (what is wrong, which file is named, cert file contents, key file contents, password, expected message)
BAD_INPUTS = [
    ("missing certificate", "cert", None, "key", None, "no such file"),
    ("missing key", "key", "cert", None, None, "no such file"),
    ("certificate path is a directory", "cert", "dir", "key", None, "is a directory"),
    ("garbage certificate", "cert", b"this is not a certificate\n", "key", None, "no PEM certificate"),
    ("empty certificate", "cert", b"", "key", None, "no PEM certificate"),
    # Text that happens to start with "0" (0x30, the DER SEQUENCE tag) is not DER.
    ("text starting with 0", "cert", b"0 certificates here\n", "key", None, "no PEM certificate"),
    ("damaged certificate", "cert", lambda c: damaged_pem(c.cert_pem), "key", None, "damaged"),
    ("DER certificate", "cert", der_certificate, "key", None, "DER"),
    ("garbage key", "key", "cert", b"not a key\n", None, "no PEM private key"),
    ("damaged key", "key", "cert", lambda c: damaged_pem(c.key_pem), None, "damaged"),
    ("DER key", "key", "cert", lambda c: c.private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()), None, "DER"),
    ("encrypted key, no password", "key", "cert", encrypted_key, None, "encrypted; give its password"),
    ("encrypted key, wrong password", "key", "cert", encrypted_key, b"wrong", "wrong password"),
    ("plain key, password given", "key", "cert", "key", b"secret", "not encrypted"),
    ("key of another certificate", "key", "cert", "other key", None, "does not belong"),
]


@pytest.mark.parametrize(("problem", "named", "cert_contents", "key_contents", "password", "message"), BAD_INPUTS,
                         ids=[case[0] for case in BAD_INPUTS])
def test_bad_input_raises_certificate_load_error_naming_the_file(
        scratch_ca, server_cert, tmp_path, problem, named, cert_contents, key_contents, password, message):
    other = scratch_ca.issue_server("localhost")

    def materialize(name: str, contents) -> Path:
        path = tmp_path / name
        if contents == "dir":
            path.mkdir()
        elif contents is not None:
            path.write_bytes({"cert": server_cert.chain_pem, "key": server_cert.key_pem,
                              "other key": other.key_pem}.get(contents, b"") if isinstance(contents, str)
                             else contents(server_cert) if callable(contents) else contents)
        return path

    paths = {"cert": materialize("server.pem", cert_contents), "key": materialize("server.key", key_contents)}
    for load in (IssuedCertificate.load, CertificateAuthority.load):
        with pytest.raises(CertificateLoadError, match=message) as caught:
            load(paths["cert"], paths["key"], password=password)
        assert isinstance(caught.value, MtlsLibError)
        assert str(caught.value).startswith(f"{paths[named]}: ")
    if problem == "key of another certificate":
        assert str(paths["cert"]) in str(caught.value)


# Encrypted with "secret". With "wrong" it decrypts to bytes whose padding happens to be valid, so
# cryptography reports a parse error instead of a bad password: the rare case a wrong password
# must not be called a damaged key.
UNLUCKY_ENCRYPTED_KEY = b"""-----BEGIN ENCRYPTED PRIVATE KEY-----
MIH0MF8GCSqGSIb3DQEFDTBSMDEGCSqGSIb3DQEFDDAkBBDV1lzh4rL6C0DWRfS5
WrDVAgIIADAMBggqhkiG9w0CCQUAMB0GCWCGSAFlAwQBKgQQS9lvr+CV7fu33DEO
JrNlwASBkGSNGG3qUoej8JJgeQ7KAb8KenDaYlVQBNkb+QL7rYmFEfJqzM07WZPu
ioJ4kDIMEYiGi31PHXVjzVJIeTX2j2TN2mXOMz+oaoP4hFpcaj50/zwbwsW8iLqB
5DUr/4vz++blEg2Y6DoqBYrRHPvxbIgf+rQ6CRZrf9BOmGVmW/+kib3rqFNtYXi7
Sn162udlRw==
-----END ENCRYPTED PRIVATE KEY-----
"""


def test_a_wrong_password_is_reported_as_such_even_when_decryption_seems_to_succeed(server_cert, tmp_path):
    with pytest.raises(ValueError, match="Could not deserialize"):
        serialization.load_pem_private_key(UNLUCKY_ENCRYPTED_KEY, b"wrong")
    assert serialization.load_pem_private_key(UNLUCKY_ENCRYPTED_KEY, b"secret")
    cert_path, _ = server_cert.write(tmp_path)
    key_path = tmp_path / "unlucky.key"
    key_path.write_bytes(UNLUCKY_ENCRYPTED_KEY)
    with pytest.raises(CertificateLoadError, match="wrong password") as caught:
        IssuedCertificate.load(cert_path, key_path, password=b"wrong")
    assert str(caught.value).startswith(f"{key_path}: ")


def test_load_pkcs12_of_a_non_pkcs12_file(server_cert, tmp_path):
    path = tmp_path / "server.p12"
    path.write_bytes(server_cert.chain_pem)
    with pytest.raises(CertificateLoadError, match="not a PKCS#12 file") as caught:
        load_pkcs12(path, "secret")
    assert str(caught.value).startswith(f"{path}: ")


def test_ssl_files_hold_their_bytes_for_ssl_and_leave_nothing_behind(tmp_path):
    with SslFiles(cert=b"certificate", key=b"private key", keylog=b"") as paths:
        assert Path(paths["cert"]).read_bytes() == b"certificate"
        assert Path(paths["key"]).read_bytes() == b"private key"
        if sys.platform == "linux":  # anonymous memory: the private key never reaches a disk
            assert all(path.startswith("/proc/self/fd/") for path in paths.values())
        else:
            assert stat.S_IMODE(os.stat(paths["key"]).st_mode) == 0o600
        with open(paths["keylog"], "a") as keylog:  # as ssl appends its key log
            keylog.write("CLIENT_RANDOM 00 11\n")
        assert Path(paths["keylog"]).read_text() == "CLIENT_RANDOM 00 11\n"
    assert not any(Path(path).exists() and Path(path).read_bytes() == b"private key" for path in paths.values())
