"""Chapter 11's exercise: the PSK binder by hand. The right answer passes; each usual mistake is
refused with a message that names the step, not the code."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from mtlslib.exercises import ExerciseIncorrect, ExerciseNotDone
from mtlslib.exercises.resumption import check_psk_binder
from mtlslib.wire.keyschedule import hkdf_expand_label


def make_binder(*, extract=True, swapped=False, label="res binder", empty_context=False, finished=True,
                hash_hello=True, fixed_sha256=False, as_hex=False):
    def psk_binder(psk, truncated_client_hello, suite):
        name = "sha256" if fixed_sha256 else suite.hash_name
        zeros = bytes(suite.hash_length)
        if not extract:
            early = psk
        else:
            early = hmac.new(psk, zeros, name).digest() if swapped else hmac.new(zeros, psk, name).digest()
        context = b"" if empty_context else hashlib.new(name).digest()
        key = hkdf_expand_label(early, label, context, suite.hash_length, suite)
        if finished:
            key = hkdf_expand_label(key, "finished", b"", suite.hash_length, suite)
        message = hashlib.new(name, truncated_client_hello).digest() if hash_hello else truncated_client_hello
        binder = hmac.new(key, message, name).digest()
        return binder.hex() if as_hex else binder
    return psk_binder


def test_the_right_answer_passes(capsys):
    check_psk_binder(make_binder())
    assert "RFC 8448" in capsys.readouterr().out


@pytest.mark.parametrize("mistake, words", [
    (dict(extract=False), "HKDF-Extract"),
    (dict(swapped=True), "swapped"),
    (dict(label="ext binder"), "external PSKs"),
    (dict(empty_context=True), "hash of the empty string"),
    (dict(finished=False), "finished key"),
    (dict(hash_hello=False), "*hash*"),
    (dict(fixed_sha256=True), "fixed hash"),
    (dict(as_hex=True), "as bytes"),
])
def test_each_mistake_is_named(mistake, words):
    with pytest.raises(ExerciseIncorrect) as refused:
        check_psk_binder(make_binder(**mistake))
    assert words in str(refused.value)
    assert "hmac.new(" not in str(refused.value)  # the message names the step, never the code


def test_a_hard_coded_rfc_value_is_caught_by_the_second_case():
    from mtlslib.lessons.rfc8448 import value

    with pytest.raises(ExerciseIncorrect, match="SHA-384"):
        check_psk_binder(lambda psk, hello, suite: value("binder") + bytes(suite.hash_length - 32))


def test_calling_the_library_is_refused():
    from mtlslib.wire import resumption

    def psk_binder(psk, truncated_client_hello, suite):
        return resumption.psk_binder(psk, [truncated_client_hello], suite)

    with pytest.raises(ExerciseIncorrect, match="course's own answer"):
        check_psk_binder(psk_binder)


def test_an_unwritten_answer_says_not_written_yet():
    def psk_binder(psk, truncated_client_hello, suite):
        raise NotImplementedError()

    with pytest.raises(ExerciseNotDone, match="not written yet"):
        check_psk_binder(psk_binder)


def test_an_answer_that_crashes_is_reported():
    with pytest.raises(ExerciseIncorrect, match="ZeroDivisionError"):
        check_psk_binder(lambda psk, hello, suite: 1 / 0)
