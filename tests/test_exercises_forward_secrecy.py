"""Chapter 10's exercises on real recordings: the TLS 1.2 PRF and which recordings a leaked key opens.
Each checker passes the right answer and refuses each usual mistake with a message that names it."""

from __future__ import annotations

import hmac
import re
import ssl

import pytest

from mtlslib import CertificateAuthority
from mtlslib.exercises import ExerciseIncorrect, ExerciseNotDone
from mtlslib.exercises.forward_secrecy import check_leaked_key_opens, check_tls12_prf
from mtlslib.lessons.forward_secrecy import Link
from mtlslib.wire import tls12

SECRET = b"HTTP/1.1 200 OK\r\n\r\nsalary: the secret"


@pytest.fixture(scope="module")
def setting():
    root = CertificateAuthority.create("Test Root CA", seed="exercises-10")
    server = root.create_intermediate("Test Issuing CA").issue_server("localhost", key_type="rsa-2048")
    recordings = {cipher: Link(server, trust=root, cipher=cipher).connect(b"GET /payroll", SECRET)
                  for cipher in ("AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256")}
    return server, recordings


def p_hash(secret, seed, length, *, chain=True, output_a=False, swapped=False, digest="sha256", next_a=None):
    out, a = b"", seed
    while len(out) < length:
        a = next_a(secret, a, seed) if next_a and out else hmac.new(secret, a if chain else seed, digest).digest()
        block = a if output_a else (hmac.new(a + seed, secret, digest) if swapped
                                    else hmac.new(secret, a + seed, digest))
        out += block if output_a else block.digest()
    return out


def chained_blocks(secret, chain_seed, block_seed, length, *, first=1, blocks=None):
    """HMAC(secret, A(i) + block_seed) for A(first), A(first + 1)... with A(0) = chain_seed, uncut: as many
    blocks as ``length`` takes unless ``blocks`` says otherwise."""
    count = blocks if blocks is not None else -(-length // 32)
    a_values = [chain_seed]
    while len(a_values) < first + count:
        a_values.append(hmac.new(secret, a_values[-1], "sha256").digest())
    return b"".join(hmac.new(secret, a + block_seed, "sha256").digest() for a in a_values[first:first + count])


def right_prf(secret, label, seed, length):
    return p_hash(secret, label.encode() + seed, length)[:length]


def remembering_prf():
    """A PRF that keeps its first output and cuts every later answer from it."""
    first = []

    def tls12_prf(secret, label, seed, length):
        first.append(first[0] if first else right_prf(secret, label, seed, 200))
        return first[0][:length]

    return tls12_prf


def run_prf(setting, prf):
    server, recordings = setting
    check_tls12_prf(prf, recordings["AES128-GCM-SHA256"], server.key_pem)


def test_the_right_prf_passes_and_opens_the_secret(setting, capsys):
    run_prf(setting, right_prf)
    out = capsys.readouterr().out
    assert "published test vector" in out and "both Finished messages" in out and "salary: the secret" in out


def test_an_unwritten_prf_says_so(setting):
    def tls12_prf(secret, label, seed, length):
        raise NotImplementedError()

    with pytest.raises(ExerciseNotDone, match="not written yet"):
        run_prf(setting, tls12_prf)


WRONG_PRFS = {
    "hex text": (lambda s, l, d, n: right_prf(s, l, d, n).hex(), "returned str: return the bytes"),
    "one HMAC": (lambda s, l, d, n: hmac.new(s, l.encode() + d, "sha256").digest(),
                 "returned 32 bytes for length=100: one HMAC-SHA256 gives 32 bytes"),
    "not cut": (lambda s, l, d, n: p_hash(s, l.encode() + d, n), "returned 128 bytes.*cut the output"),
    "no label": (lambda s, l, d, n: p_hash(s, d, n)[:n], "the label is missing"),
    "seed first": (lambda s, l, d, n: p_hash(s, d + l.encode(), n)[:n], "label and the seed are in the wrong order"),
    "A(i) output": (lambda s, l, d, n: p_hash(s, l.encode() + d, n, output_a=True)[:n], "A\\(i\\) values themselves"),
    "no chaining": (lambda s, l, d, n: p_hash(s, l.encode() + d, n, chain=False)[:n], "every A\\(i\\) is the same"),
    "swapped HMAC": (lambda s, l, d, n: p_hash(s, l.encode() + d, n, swapped=True)[:n], "key and message are swapped"),
    "SHA-384": (lambda s, l, d, n: p_hash(s, l.encode() + d, n, digest="sha384")[:n], "is it HMAC with SHA-256"),
    "A(i+1) over A(i) + seed": (
        lambda s, l, d, n: p_hash(s, l.encode() + d, n,
                                  next_a=lambda k, a, seed: hmac.new(k, a + seed, "sha256").digest())[:n],
        "first 32 bytes of the test vector right, then goes wrong: check how A\\(i\\) is computed"),
    "A(0) without the label": (lambda s, l, d, n: chained_blocks(s, d, l.encode() + d, n)[:n],
                               "blocks have the label but the A\\(i\\) chain does not.*A\\(0\\) is that same seed"),
    "blocks without the label": (lambda s, l, d, n: chained_blocks(s, l.encode() + d, d, n)[:n],
                                 "chain has the label but the output blocks do not"),
    "first block from A(0)": (lambda s, l, d, n: chained_blocks(s, l.encode() + d, l.encode() + d, n, first=0)[:n],
                              "second block is the test vector's first.*starts one block early.*A\\(1\\) \\+ seed"),
    "A(1) skipped": (lambda s, l, d, n: chained_blocks(s, l.encode() + d, l.encode() + d, n, first=2)[:n],
                     "first block is the test vector's second.*skips the block made with A\\(1\\)"),
    "one block too few": (lambda s, l, d, n: chained_blocks(s, l.encode() + d, l.encode() + d, n, blocks=n // 32),
                          "returned 96 bytes for length=100: whole blocks only, and one too few.*through A\\(3\\)"),
    "one block too many, uncut": (
        lambda s, l, d, n: chained_blocks(s, l.encode() + d, l.encode() + d, n, blocks=n // 32 + 2),
        "returned 160 bytes for length=100: at least one whole block more than it takes"),
    "the vector memorised": (lambda s, l, d, n: right_prf(*VECTOR_ARGS),
                             "returned 100 bytes for length=48: it must follow the length it is given"),
    "state kept between calls": (remembering_prf(), "passes the test vector but not this session"),
    "never shorter than 48": (lambda s, l, d, n: right_prf(s, l, d, max(n, 48)), "client's Finished.*cut to 12 bytes"),
}
VECTOR_ARGS = (bytes.fromhex("9bbe436ba940f017b17652849a71db35"), "test label",
               bytes.fromhex("a0ba9f936cda311827a6f796ffd5198c"), 100)


@pytest.mark.parametrize("mistake", WRONG_PRFS)
def test_each_wrong_prf_is_refused_with_what_is_wrong(setting, mistake):
    prf, message = WRONG_PRFS[mistake]
    with pytest.raises(ExerciseIncorrect, match=message) as refused:
        run_prf(setting, prf)
    assert "e3f229ba727be17b8d12" not in str(refused.value)  # never the whole answer


def test_calling_the_courses_own_prf_is_refused(setting):
    def tls12_prf(secret, label, seed, length):
        return tls12.prf(secret, label, seed, length, "sha256")

    with pytest.raises(ExerciseIncorrect, match="calls mtlslib.wire.tls12"):
        run_prf(setting, tls12_prf)


def right_opens(cipher):
    key_exchanges = ("ECDHE-", "DHE-", "ADH-", "AECDH-", "PSK-", "RSA-PSK-", "SRP-", "TLS_")
    return not cipher.startswith(key_exchanges)


def openssl_key_exchanges():
    """OpenSSL's name of each suite it knows -> its key exchange, as OpenSSL itself reports it."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.set_ciphers("ALL:COMPLEMENTOFALL:@SECLEVEL=0")
    return {suite["name"]: suite["kea"] for suite in context.get_ciphers()}


def run_opens(setting, function):
    server, recordings = setting
    check_leaked_key_opens(function, server.key_pem, *recordings.values())


def test_the_right_verdicts_pass_and_the_key_is_tried_for_real(setting, capsys):
    run_opens(setting, right_opens)
    out = capsys.readouterr().out
    assert "right on all 26 suites" in out
    assert "AES128-GCM-SHA256 opened, ECDHE-RSA-AES128-GCM-SHA256 not opened" in out


def test_the_right_verdict_is_openssls_own_rsa_key_exchange():
    kinds = openssl_key_exchanges()
    assert {"kx-rsa", "kx-ecdhe", "kx-dhe", "kx-psk", "kx-rsa-psk"} <= set(kinds.values())
    assert {name for name in kinds if right_opens(name)} == {name for name, kind in kinds.items() if kind == "kx-rsa"}


def test_openssls_own_verdicts_pass_every_suite_the_checker_tries(setting, capsys):
    kinds = openssl_key_exchanges()

    def leaked_key_opens(cipher):
        assert cipher in kinds, f"{cipher} is not a suite this OpenSSL knows"
        return kinds[cipher] == "kx-rsa"

    run_opens(setting, leaked_key_opens)
    assert "right on all 26 suites" in capsys.readouterr().out


NO_KEY_EXCHANGE = ("ECDHE", "DHE", "TLS_")
WRONG_VERDICTS = {
    "starts with AES": (lambda c: c.startswith("AES"),
                        "'CAMELLIA128-SHA'\\) says False, but a leaked key opens it: CAMELLIA128 is its cipher: "
                        "the name has no key exchange in front"),
    "RSA in the name": (lambda c: "RSA" in c,
                        "'AES128-GCM-SHA256'\\) says False.*AES128 is its cipher: the name has no key exchange"),
    "RSA in the name, or no ephemeral key exchange": (
        lambda c: "RSA" in c or not c.startswith(NO_KEY_EXCHANGE),
        "ECDHE-RSA-AES128-GCM-SHA256.*signs its ephemeral ECDHE key share"),
    "ECDHE not in the name": (lambda c: "ECDHE" not in c and not c.startswith("TLS_"),
                              "DHE-RSA-AES256-GCM-SHA384.*DHE is ephemeral Diffie-Hellman too"),
    "ECDHE-RSA and ECDHE-ECDSA only": (
        lambda c: not c.startswith(("ECDHE-RSA", "ECDHE-ECDSA", "DHE", "TLS_", "PSK", "RSA-PSK", "ADH", "AECDH",
                                    "SRP")),
        "ECDHE-ARIA128-GCM-SHA256.*ECDHE in front is the key exchange.*named or not, only signs"),
    "forgot TLS 1.3": (lambda c: not c.startswith(("ECDHE", "DHE")), "TLS 1.3 has only ephemeral ones"),
    "forgot PSK": (lambda c: not c.startswith(NO_KEY_EXCHANGE),
                   "'PSK-AES128-GCM-SHA256'\\) says True.*RFC 4279, section 2.*no private key takes part"),
    "RSA-PSK as RSA key transport": (
        lambda c: c.startswith("RSA-PSK") or not c.startswith((*NO_KEY_EXCHANGE, "PSK", "ADH", "AECDH", "SRP")),
        "'RSA-PSK-AES256-GCM-SHA384'\\) says True.*RFC 4279, section 4.*pre-shared key, which never crosses"),
    "forgot anonymous Diffie-Hellman": (
        lambda c: not c.startswith((*NO_KEY_EXCHANGE, "PSK", "RSA-PSK", "SRP")),
        "'ADH-AES128-GCM-SHA256'\\) says True.*anonymous Diffie-Hellman.*without any certificate"),
    "forgot SRP": (lambda c: not c.startswith((*NO_KEY_EXCHANGE, "PSK", "RSA-PSK", "ADH", "AECDH")),
                   "'SRP-RSA-AES-128-CBC-SHA'\\) says True.*RFC 5054.*only signs"),
    "always": (lambda c: True, "ECDHE-RSA-AES128-GCM-SHA256.*not how the keys are agreed"),
    "never": (lambda c: False, "'AES128-GCM-SHA256'\\) says False, but a leaked key opens it"),
    "a string": (lambda c: "yes", "returned 'yes': return True or False"),
}


@pytest.mark.parametrize("mistake", WRONG_VERDICTS)
def test_each_wrong_verdict_is_refused_with_why(setting, mistake):
    function, message = WRONG_VERDICTS[mistake]
    with pytest.raises(ExerciseIncorrect, match=message) as refused:
        run_opens(setting, function)
    # One suite named, never the others' verdicts or a rule to copy.
    named = set(re.findall(r"[A-Z0-9_-]{6,}", str(refused.value))) & set(openssl_key_exchanges())
    assert len(named) <= 1 and "startswith" not in str(refused.value)


def test_a_verdict_not_yet_written_says_so(setting):
    def leaked_key_opens(cipher):
        raise NotImplementedError()

    with pytest.raises(ExerciseNotDone, match="not written yet"):
        run_opens(setting, leaked_key_opens)
