"""Chapter 04's exercises: HKDF-Expand-Label (checked against RFC 8448's published values and
mtlslib.wire) and a Finished MAC on a real capture, written by the reader; each checker passes the
right answer and names each usual mistake."""

from __future__ import annotations

import hmac as stdlib_hmac

import pytest
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand

from mtlslib import CertificateAuthority
from mtlslib.exercises import ExerciseIncorrect, ExerciseNotDone
from mtlslib.exercises.inside_the_handshake import check_finished, check_hkdf_expand_label
from mtlslib.tls import capture_handshake
from mtlslib.wire import keyschedule
from mtlslib.wire.keyschedule import hkdf_expand_label as library_expand_label


@pytest.fixture(scope="module")
def pki():
    root = CertificateAuthority.create("Test Root CA", seed="exercises-04", key_type="ed25519")
    issuing = root.create_intermediate("Test Issuing CA")
    return root, issuing.issue_server("localhost"), issuing.issue_client("alice@example.test")


@pytest.fixture
def trace(pki):
    root, server, alice = pki
    return capture_handshake(server, alice, trust=root, tickets=False)


def expand_label(secret, label, context, length, algorithm, *, prefix=b"tls13 ", length_bytes=2,
                 label_length=True, context_length=True, extract=False):
    full_label = prefix + label.encode()
    info = (length.to_bytes(length_bytes, "big") if length_bytes else b"") \
        + (bytes([len(full_label)]) if label_length else b"") + full_label \
        + (bytes([len(context)]) if context_length else b"") + context
    if extract:
        return HKDF(algorithm, length, None, info).derive(secret)
    return HKDFExpand(algorithm, length, info).derive(secret)


def hkdf_expand_label(secret, label, context, length, algorithm):
    return expand_label(secret, label, context, length, algorithm)


def variant(**mistake):
    def wrong(secret, label, context, length, algorithm):
        return expand_label(secret, label, context, length, algorithm, **mistake)
    return wrong


def hashes_the_context(secret, label, context, length, algorithm):
    digest = hashes.Hash(algorithm)
    digest.update(context)
    return expand_label(secret, label, digest.finalize(), length, algorithm)


def suite_of(algorithm):
    return next(s for s in keyschedule.TLS13_SUITES.values() if s.hash_name == algorithm.name)


def wraps_the_library(secret, label, context, length, algorithm):
    return keyschedule.hkdf_expand_label(secret, label, context, length, suite_of(algorithm))


def wraps_the_library_in_a_helper(secret, label, context, length, algorithm):
    def expand(suite):
        return keyschedule.hkdf_expand_label(secret, label, context, length, suite)
    return [expand(suite) for suite in keyschedule.TLS13_SUITES.values() if suite.hash_name == algorithm.name][0]


def imports_the_library_inside(secret, label, context, length, algorithm):
    from mtlslib.wire import keyschedule as ks
    return ks.hkdf_expand_label(secret, label, context, length, suite_of(algorithm))


def imports_the_library_under_another_name(secret, label, context, length, algorithm):
    return library_expand_label(secret, label, context, length, suite_of(algorithm))


def extract_instead(secret, label, context, length, algorithm):
    """One HMAC keyed with the secret over the HkdfLabel (HKDF-Extract's step), cut to length."""
    full_label = b"tls13 " + label.encode()
    info = length.to_bytes(2, "big") + bytes([len(full_label)]) + full_label + bytes([len(context)]) + context
    return stdlib_hmac.new(secret, info, algorithm.name).digest()[:length]


def test_the_right_hkdf_expand_label_gives_rfc_8448s_values_and_the_wires(capsys):
    check_hkdf_expand_label(hkdf_expand_label)
    out = capsys.readouterr().out
    assert "all 5 values RFC 8448 publishes here (SHA-256), and the same 2 SHA-384 values as mtlslib.wire" in out


FIRST = r"\(secret, 'key', b'', 16, SHA256\(\)\) gave the wrong value for RFC 8448's server handshake key: "


@pytest.mark.parametrize("wrong, complaint", [
    (variant(prefix=b""), FIRST + r"the label prefix is wrong \(''"),
    (variant(prefix=b"TLS 1.3, "), r"label prefix is wrong \('TLS 1.3, '"),
    (variant(prefix=b"tls13"), r"label prefix is wrong \('tls13'"),
    (variant(length_bytes=0), "output length is missing"),
    (variant(length_bytes=1), FIRST + "the output length is encoded in 1 byte: HkdfLabel.length is a uint16"),
    (variant(label_length=False), "label's own length byte is missing"),
    (variant(context_length=False), "context's length byte is missing"),
    (variant(extract=True), "whole HKDF"),
    (extract_instead, "one HMAC of the HkdfLabel with the secret as key, which is HKDF-Extract's step"),
    (lambda secret, label, context, length, algorithm: stdlib_hmac.new(secret, label.encode(), algorithm.name).digest(),
     r"'key', b'', 16, SHA256\(\)\) returned 32 bytes, not 16: 32 bytes is what one HMAC \(HKDF-Extract\) gives"),
    (lambda secret, label, context, length, algorithm: hkdf_expand_label(secret, label, context, length,
                                                                         hashes.SHA384()),
     FIRST + "your hash is fixed to SHA-384: use the hash you are given"),
    (lambda secret, label, context, length, algorithm: hkdf_expand_label(secret, label, context, length,
                                                                         hashes.SHA256()),
     r"'key', b'', 32, SHA384\(\)\) gave the wrong value for a 32-byte key with SHA-384: your hash is fixed to "
     "SHA-256: use the hash you are given"),
    (lambda secret, label, context, length, algorithm: hkdf_expand_label(secret, label, context, length,
                                                                         algorithm).hex(), "returned str"),
    (lambda secret, label, context, length, algorithm: hkdf_expand_label(secret, label, context, 3 * length,
                                                                         algorithm), "returned 48 bytes, not 16: ask"),
    (lambda secret, label, context, length, algorithm: secret[:length], "HkdfLabel is: the output length"),
    (hashes_the_context, FIRST + "you hashed the context: pass the context as given, don't hash it"),
])
def test_each_hkdf_mistake_is_named(wrong, complaint):
    with pytest.raises(ExerciseIncorrect, match=complaint):
        check_hkdf_expand_label(wrong)


def test_no_hkdf_hint_gives_the_answer_away():
    # Each explanation says what is wrong, never the bytes of the right HkdfLabel or of the right value.
    for wrong in (variant(prefix=b""), variant(length_bytes=1), variant(context_length=False), extract_instead):
        with pytest.raises(ExerciseIncorrect) as refused:
            check_hkdf_expand_label(wrong)
        assert "00 10 09" not in str(refused.value) and "3fce" not in str(refused.value)


@pytest.mark.parametrize("wrapper", [wraps_the_library, wraps_the_library_in_a_helper, imports_the_library_inside,
                                     imports_the_library_under_another_name])
def test_an_answer_that_calls_the_library_is_refused(wrapper):
    assert wrapper(b"s" * 48, "key", b"", 32, hashes.SHA384()) == hkdf_expand_label(b"s" * 48, "key", b"", 32,
                                                                                   hashes.SHA384())
    with pytest.raises(ExerciseIncorrect, match=r"calls keyschedule\.hkdf_expand_label: .* Write it without "
                                                r"keyschedule: serialize the HkdfLabel yourself"):
        check_hkdf_expand_label(wrapper)


def own_finished(sender, positions):
    return positions[0] if sender == "server" else positions[1]


def finished(sender, messages, secrets, algorithm, *, end=own_finished, shift=0, secret_label=None, derive=True,
             mac=True):
    """verify_data, or one of the usual mistakes: ``end`` and ``shift`` place the end of the transcript."""
    position = end(sender, [i for i, m in enumerate(messages) if m.name == "Finished"]) + shift
    transcript = hashes.Hash(algorithm)
    for message in messages[:position]:
        transcript.update(message.raw)
    digest = transcript.finalize()
    if not mac:
        return digest
    secret = secrets[secret_label or f"{sender.upper()}_HANDSHAKE_TRAFFIC_SECRET"]
    key = hkdf_expand_label(secret, "finished", b"", algorithm.digest_size, algorithm) if derive else secret
    h = hmac.HMAC(key, algorithm)
    h.update(digest)
    return h.finalize()


def finished_variant(**mistake):
    def wrong(sender, messages, secrets, algorithm):
        return finished(sender, messages, secrets, algorithm, **mistake)
    return wrong


def test_the_right_finished_matches_both_messages(trace, capsys):
    check_finished(finished, trace)
    assert "matches both Finished messages of your capture: HMAC-SHA384, 48 bytes" in capsys.readouterr().out


def finished_with_the_library_s_transcript_hash(sender, messages, secrets, algorithm):
    """Only the Finished MAC itself is the exercise: hashing the transcript with keyschedule is allowed."""
    position = own_finished(sender, [i for i, m in enumerate(messages) if m.name == "Finished"])
    transcript = keyschedule.transcript_hash([m.raw for m in messages[:position]], suite_of(algorithm))
    key = hkdf_expand_label(secrets[f"{sender.upper()}_HANDSHAKE_TRAFFIC_SECRET"], "finished", b"",
                            algorithm.digest_size, algorithm)
    h = hmac.HMAC(key, algorithm)
    h.update(transcript)
    return h.finalize()


def test_using_keyschedule_for_something_else_is_allowed(trace, capsys):
    check_finished(finished_with_the_library_s_transcript_hash, trace)
    assert "matches both Finished messages" in capsys.readouterr().out


def finished_by_the_library(sender, messages, secrets, algorithm):
    position = own_finished(sender, [i for i, m in enumerate(messages) if m.name == "Finished"])
    suite = suite_of(algorithm)
    transcript = keyschedule.transcript_hash([m.raw for m in messages[:position]], suite)
    return keyschedule.finished_verify_data(secrets[f"{sender.upper()}_HANDSHAKE_TRAFFIC_SECRET"], transcript, suite)


def finished_with_sha256(sender, messages, secrets, algorithm):
    return finished(sender, messages, secrets, hashes.SHA256())


def finished_over_the_messages(sender, messages, secrets, algorithm):
    position = own_finished(sender, [i for i, m in enumerate(messages) if m.name == "Finished"])
    key = hkdf_expand_label(secrets[f"{sender.upper()}_HANDSHAKE_TRAFFIC_SECRET"], "finished", b"",
                            algorithm.digest_size, algorithm)
    h = hmac.HMAC(key, algorithm)
    h.update(b"".join(m.raw for m in messages[:position]))
    return h.finalize()


def server_finished_position(messages):
    return [m.name for m in messages].index("Finished")


@pytest.mark.parametrize("wrapper", [
    finished_by_the_library,
    # A lambda, right for the server (checked first), names the library outside its comprehension.
    lambda sender, messages, secrets, algorithm: keyschedule.finished_verify_data(
        secrets["SERVER_HANDSHAKE_TRAFFIC_SECRET"],
        keyschedule.transcript_hash([m.raw for m in messages[:server_finished_position(messages)]],
                                    suite_of(algorithm)), suite_of(algorithm)),
])
def test_a_finished_that_calls_the_library_is_refused(trace, wrapper):
    with pytest.raises(ExerciseIncorrect, match=r"calls keyschedule\.finished_verify_data: .* Write it without "
                                                r"keyschedule: derive the finished key with your hkdf_expand_label"):
        check_finished(wrapper, trace)


@pytest.mark.parametrize("wrong, complaint", [
    (finished_variant(shift=1), "server.*includes the server's Finished itself"),
    (finished_variant(shift=-1), "stops before the server's CertificateVerify"),
    (lambda sender, messages, secrets, algorithm: finished(
        sender, messages, secrets, algorithm, secret_label="CLIENT_HANDSHAKE_TRAFFIC_SECRET"),
     "you used the client's secret"),
    (lambda sender, messages, secrets, algorithm: finished(
        sender, messages, secrets, algorithm, secret_label=f"{sender.upper()}_TRAFFIC_SECRET_0"),
     "application traffic secret"),
    (finished_variant(derive=False), "keyed the HMAC with the traffic secret itself"),
    (finished_variant(mac=False), "returned the transcript hash"),
    (lambda sender, messages, secrets, algorithm: finished(
        sender, messages, secrets, algorithm, secret_label="SERVER_HANDSHAKE_TRAFFIC_SECRET"),
     r"'client', \.\.\.\) is not what the client sent.*the server's secret"),
    (finished_variant(end=lambda sender, positions: positions[0]),
     "client.*stops before the server's Finished: the client's Finished covers"),
    (finished_variant(end=lambda sender, positions: positions[0] + (sender == "client")),
     "client.*stops after the server's Finished"),
    (lambda sender, messages, secrets, algorithm: finished(sender, messages, secrets, algorithm).hex(),
     "returned str"),
    (lambda sender, messages, secrets, algorithm: bytes(48), "compare, step by step"),
    (finished_with_sha256, r"'server', \.\.\.\) returned 32 bytes; verify_data is as long as the suite's hash "
                           r"\(48 bytes with SHA-384\): use algorithm"),
    (finished_over_the_messages, "HMAC the Transcript-Hash, not the messages"),
])
def test_each_finished_mistake_is_named(trace, wrong, complaint):
    with pytest.raises(ExerciseIncorrect, match=complaint):
        check_finished(wrong, trace)


def test_a_tls12_capture_is_refused_with_a_clear_message(pki):
    root, server, alice = pki
    tls12 = capture_handshake(server, alice, trust=root, tls_version="1.2", tickets=False)
    with pytest.raises(ExerciseIncorrect, match="TLS 1.3 handshake"):
        check_finished(finished, tls12)


def test_blank_exercises_say_what_to_write(trace):
    def hkdf_expand_label(secret, label, context, length, algorithm):
        raise NotImplementedError()

    def finished_verify_data(sender, messages, secrets, algorithm):
        raise NotImplementedError()

    with pytest.raises(ExerciseNotDone, match="hkdf_expand_label\\(\\) is not written yet"):
        check_hkdf_expand_label(hkdf_expand_label)
    with pytest.raises(ExerciseNotDone, match="finished_verify_data\\(\\) is not written yet"):
        check_finished(finished_verify_data, trace)
