"""Damaged certificates and CRLs that still load: refused where they are loaded, or judged by explain().

The damage is done inside the DER of real certificates from the course's CAs (root, issuing CA,
server, client, CRL) and the result wrapped as PEM again, so that it reaches cryptography's ASN.1
parser instead of stopping at the PEM armour, and much of it still loads. Every input must then end
in one of three ways: refused by the loader with one line that names the file and what is damaged,
or explained with a verdict (valid, invalid, undecided), never a traceback. The command line keeps
its exit-status contract on the same inputs: 0 valid, 1 invalid, 2 unusable input (one line on
stderr), 3 undecided.

The corpus is deterministic (a fixed seed); ``mutated_inputs(N, seed)`` makes a larger one by hand.
"""

from __future__ import annotations

import base64
import datetime as dt
import random
import subprocess
import sys
from dataclasses import dataclass

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mtlslib.cli import main
from mtlslib.errors import CertificateLoadError
from mtlslib.pki import CertificateAuthority, load_pem_certificates
from mtlslib.verification import explain, load_crls

SEED = 20260101
VERDICTS = {"valid", "invalid", "undecided"}
EXIT_STATUS = {"valid": 0, "invalid": 1, "undecided": 3}


def pem(der: bytes, label: str = "CERTIFICATE") -> bytes:
    return f"-----BEGIN {label}-----\n".encode() + base64.encodebytes(der) + f"-----END {label}-----\n".encode()


def der(item) -> bytes:
    return item.public_bytes(Encoding.DER)


@dataclass(frozen=True)
class Pki:
    """One course PKI as DER: root, issuing CA, a server and a client (each issued by the issuing
    CA), and the issuing CA's CRL with one revoked certificate."""

    root: bytes
    issuing: bytes
    server: bytes
    client: bytes
    crl: bytes


def course_pki(key_type: str) -> Pki:
    root = CertificateAuthority.create("Course Root CA", seed=f"fuzz {key_type}", key_type=key_type)
    issuing = root.create_intermediate("Course Issuing CA")
    server = issuing.issue_server("localhost", "127.0.0.1")
    client = issuing.issue_client("spiffe://example.test/alice")
    issuing.revoke(issuing.issue_client("bob@example.test"))
    return Pki(der(root.certificate), der(issuing.certificate), der(server.certificate), der(client.certificate),
               der(issuing.crl))


def damage(data: bytes, rng: random.Random) -> bytes:
    """One kind of damage at a random place: mostly byte flips (which keep the structure, so the
    parser goes deep), sometimes a cut, an insertion or a deletion."""
    kind = rng.choices(["flip", "flip3", "truncate", "insert", "delete"], [5, 2, 1, 1, 1])[0]
    position = rng.randrange(len(data))
    if kind == "flip":
        return data[:position] + bytes([data[position] ^ rng.randint(1, 255)]) + data[position + 1:]
    if kind == "flip3":
        damaged = bytearray(data)
        for _ in range(3):
            damaged[rng.randrange(len(damaged))] ^= rng.randint(1, 255)
        return bytes(damaged)
    if kind == "truncate":
        return data[:position]
    if kind == "insert":
        return data[:position] + rng.randbytes(rng.randint(1, 8)) + data[position:]
    return data[:position] + data[position + rng.randint(1, 8):]


@dataclass(frozen=True)
class Case:
    target: str  # which file is damaged: the leaf or the intermediate (both in the chain), the root, the CRL
    purpose: str
    chain: bytes
    trust: bytes
    crl: bytes


def mutated_inputs(count: int, seed: int, pkis: list[Pki]):
    """``count`` cases, each with one damaged file; the same ``seed`` gives the same cases."""
    rng = random.Random(seed)
    for _ in range(count):
        pki = rng.choice(pkis)
        purpose = rng.choice(["server", "client"])
        files = {"leaf": pki.server if purpose == "server" else pki.client, "intermediate": pki.issuing,
                 "root": pki.root, "crl": pki.crl}
        target = rng.choice(["leaf", "leaf", "intermediate", "root", "crl"])
        files[target] = damage(files[target], rng)
        yield Case(target, purpose, pem(files["leaf"]) + pem(files["intermediate"]), pem(files["root"]),
                   pem(files["crl"], "X509 CRL"))


def explain_case(case: Case):
    """The loaders, then explain(): an Explanation, or the CertificateLoadError of the loader."""
    try:
        chain = load_pem_certificates(case.chain, "chain.pem")
        trust = load_pem_certificates(case.trust, "root.pem")
        crls = load_crls(case.crl, "crl.pem")
    except CertificateLoadError as error:
        return error
    name = "localhost" if case.purpose == "server" else None
    return explain(chain, trust, purpose=case.purpose, name=name, crls=crls, at=dt.datetime(2030, 1, 1))


def assert_one_line_naming_the_file(error: CertificateLoadError) -> None:
    message = str(error)
    assert "\n" not in message, message
    assert message.split(": ", 1)[0] in ("chain.pem", "root.pem", "crl.pem"), message


@pytest.fixture(scope="module")
def pkis() -> list[Pki]:
    return [course_pki("ecdsa-p256"), course_pki("ed25519")]


# --------------------------------------------------------------------------------------------
# explain() on the deterministic corpus and under hypothesis


def test_damaged_inputs_are_refused_at_load_or_explained(pkis):
    outcomes = {"refused": 0, "explained": 0}
    for case in mutated_inputs(300, SEED, pkis):
        result = explain_case(case)
        if isinstance(result, CertificateLoadError):
            assert_one_line_naming_the_file(result)
            outcomes["refused"] += 1
        else:
            assert result.verdict in VERDICTS and str(result)
            outcomes["explained"] += 1
    # The corpus is worth something only if much of it gets past the loaders into explain().
    assert outcomes["explained"] >= 100, outcomes


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1))
def test_hypothesis_damaged_inputs_never_crash_explain(pkis, seed):
    (case,) = mutated_inputs(1, seed, pkis)
    result = explain_case(case)
    if isinstance(result, CertificateLoadError):
        assert_one_line_naming_the_file(result)
    else:
        assert result.verdict in VERDICTS


# --------------------------------------------------------------------------------------------
# The command line's exit statuses on the same inputs


def test_the_command_line_keeps_its_exit_statuses_on_damaged_inputs(pkis, tmp_path, capsys):
    for number, case in enumerate(mutated_inputs(60, SEED + 1, pkis)):
        for name, data in (("chain.pem", case.chain), ("root.pem", case.trust), ("crl.pem", case.crl)):
            (tmp_path / name).write_bytes(data)
        expected = explain_case(case)
        status = main(["explain", str(tmp_path / "chain.pem"), "--trust", str(tmp_path / "root.pem"),
                       "--crl", str(tmp_path / "crl.pem"), "--purpose", case.purpose, "--at", "2030-01-01",
                       *(["--name", "localhost"] if case.purpose == "server" else [])])
        out, err = capsys.readouterr()
        if isinstance(expected, CertificateLoadError):
            assert status == 2 and out == "", (number, status, err)
            assert err.count("\n") == 1 and err.startswith("python -m mtlslib explain: error: "), err
        else:
            assert status == EXIT_STATUS[expected.verdict] and err == "", (number, status, err)


def test_a_damaged_name_in_a_real_process_is_one_line_and_status_2(pkis, tmp_path):
    # cryptography loads it (it decodes names only when they are read); OpenSSL would not.
    leaf = replaced(pkis[0].server, BAD_SUBJECT[0], BAD_SUBJECT[1])
    (tmp_path / "chain.pem").write_bytes(pem(leaf) + pem(pkis[0].issuing))
    (tmp_path / "root.pem").write_bytes(pem(pkis[0].root))
    result = subprocess.run([sys.executable, "-m", "mtlslib", "explain", tmp_path / "chain.pem", "--trust",
                             tmp_path / "root.pem"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and result.stdout == "" and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1
    assert "chain.pem: certificate 1 of 2 is damaged: its subject name cannot be decoded" in result.stderr


# --------------------------------------------------------------------------------------------
# Each kind of damage, where it is caught


# A common name that is not UTF-8, although its tag says UTF8String: the first in the subject, the
# second in the issuer.
BAD_SUBJECT = (b"\x0c\x09localhost", b"\x0c\x09local\xffost")
BAD_ISSUER = (b"\x0c\x11Course Issuing CA", b"\x0c\x11Course \xffssuing CA")


def replaced(data: bytes, old: bytes, new: bytes, *, last: bool = False) -> bytes:
    """``data`` with the first (or last) ``old`` replaced by ``new``, which has the same length."""
    assert len(old) == len(new) and old in data
    position = data.rindex(old) if last else data.index(old)
    return data[:position] + new + data[position + len(old):]


def test_a_damaged_issuer_name_is_refused_at_load(pkis):
    leaf = replaced(pkis[0].server, *BAD_ISSUER)
    with pytest.raises(CertificateLoadError, match=r"^server.pem: the certificate is damaged: its issuer name "
                                                   r"cannot be decoded \("):
        load_pem_certificates(pem(leaf), "server.pem")


def test_a_damaged_object_is_refused_by_explain_too(pkis):
    # explain() takes x509.Certificate objects as well as PEM: they are read just as thoroughly.
    leaf = x509.load_der_x509_certificate(replaced(pkis[0].server, *BAD_SUBJECT))
    root = x509.load_der_x509_certificate(pkis[0].root)
    with pytest.raises(CertificateLoadError, match=r"^chain\[0\]: the certificate is damaged: its subject name"):
        explain([leaf], root)
    with pytest.raises(CertificateLoadError, match=r"^trust: the certificate is damaged: its subject name"):
        explain(root, [leaf])


def test_a_damaged_extension_value_loads_and_is_judged_by_explain(pkis):
    # The SAN's IP address entry ([7]) becomes a [9], which no GeneralName is: the extension cannot
    # be parsed, the certificate still can, and whether that fails is for the verifier to say.
    leaf = replaced(pkis[0].server, b"\x87\x04\x7f\x00\x00\x01", b"\x89\x04\x7f\x00\x00\x01")
    # (The damage breaks the issuer's signature as well; that is another row.)
    chain = load_pem_certificates(pem(leaf) + pem(pkis[0].issuing), "server.pem")
    for profile, status in (("openssl", "undecided"), ("webpki", "FAIL")):
        explanation = explain(chain, pem(pkis[0].root), name="localhost", profile=profile)
        (row,) = [c for c in explanation.checks if c.step == "extensions" and "subjectAltName" in c.reason]
        assert row.status == status and "cannot be parsed" in row.reason


def test_a_crl_with_a_damaged_extension_is_refused_at_load(pkis):
    # The authority key identifier's SEQUENCE gets an application tag: the CRL loads, its extensions do not.
    crl = replaced(pkis[0].crl, b"\x30\x16\x80\x14", b"\x5e\x16\x80\x14")
    with pytest.raises(CertificateLoadError, match=r"^crl.pem: the CRL is damaged: its extensions cannot be decoded"):
        load_crls(pem(crl, "X509 CRL"), "crl.pem")


def test_a_crl_with_a_damaged_revoked_entry_is_refused_at_load_and_by_explain(ca, server_cert):
    builder = (x509.CertificateRevocationListBuilder().issuer_name(ca.certificate.subject)
               .last_update(dt.datetime(2026, 1, 1)).next_update(dt.datetime(2027, 1, 1)))
    for serial in (1, 2):
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(dt.datetime(2026, 1, 1))
            .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), critical=False).build())
    reason = b"\x04\x03\x0a\x01\x01"  # extnValue: OCTET STRING holding ENUMERATED keyCompromise
    damaged = replaced(der(builder.sign(ca.private_key, hashes.SHA256())), reason, b"\x04\x03\x1f\x01\x01",
                       last=True)
    message = r"^crl.pem: the CRL is damaged: revoked entry 2 of 2: its extensions cannot be decoded"
    with pytest.raises(CertificateLoadError, match=message):
        load_crls(pem(damaged, "X509 CRL"), "crl.pem")
    with pytest.raises(CertificateLoadError, match="revoked entry 2 of 2"):
        explain(server_cert, ca, crls=[x509.load_der_x509_crl(damaged)])


def test_a_negative_serial_is_looked_up_on_the_crl_not_a_crash(pkis):
    # RFC 5280 forbids it; cryptography loads it (with a warning) and its CRL lookup refuses it.
    leaf = x509.load_der_x509_certificate(pkis[0].server)
    serial = leaf.serial_number.to_bytes(20, "big")
    negative = replaced(pkis[0].server, b"\x02\x14" + serial, b"\x02\x14" + bytes([serial[0] | 0x80]) + serial[1:])
    chain = load_pem_certificates(pem(negative) + pem(pkis[0].issuing), "server.pem")
    explanation = explain(chain, pem(pkis[0].root), crls=pem(pkis[0].crl, "X509 CRL"), name="localhost")
    assert [c.status for c in explanation.checks if c.step == "revocation"] == ["pass"]


def test_a_crl_with_an_impossible_version_is_a_load_error(pkis):
    # cryptography raises InvalidVersion, which is not a ValueError.
    crl = replaced(pkis[0].crl, b"\x02\x01\x01", b"\x02\x01\x07")
    with pytest.raises(CertificateLoadError, match="^crl.pem: a CRL block cannot be parsed"):
        load_crls(pem(crl, "X509 CRL"), "crl.pem")
