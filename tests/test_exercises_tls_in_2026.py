"""The chapter 12 checker: a right server passes; each plausible wrong one is refused with a message
that names the mistake without writing the answer."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519

from mtlslib.exercises import ExerciseIncorrect, ExerciseNotDone
from mtlslib.exercises.tls_in_2026 import check_hybrid_server


def entries(data: bytes) -> list[tuple[int, bytes]]:
    found, position = [], 2
    while position < len(data):
        group = int.from_bytes(data[position:position + 2], "big")
        length = int.from_bytes(data[position + 2:position + 4], "big")
        found.append((group, data[position + 4:position + 4 + length]))
        position += 4 + length
    return found


def hybrid_entry(data: bytes) -> bytes:
    return next(share for group, share in entries(data) if group == 0x11EC)


def halves(data, share=None, x25519_key=None):
    """Both halves of a server's answer, with the raw parts a wrong answer recombines."""
    share = share or hybrid_entry(data)
    kem_secret, ciphertext = mlkem.MLKEM768PublicKey.from_public_bytes(share[:1184]).encapsulate()
    own = x25519_key or x25519.X25519PrivateKey.generate()
    dh_secret = own.exchange(x25519.X25519PublicKey.from_public_bytes(share[1184:]))
    return kem_secret, ciphertext, dh_secret, own.public_key().public_bytes_raw()


def answer_hybrid(key_share_data):
    kem_secret, ciphertext, dh_secret, public = halves(key_share_data)
    return ciphertext + public, kem_secret + dh_secret


def _refusal(answer) -> str:
    with pytest.raises(ExerciseIncorrect) as refused:
        check_hybrid_server(answer)
    return str(refused.value)


def test_the_right_answer_passes(capsys):
    check_hybrid_server(answer_hybrid)
    assert "answered 3 ClientHellos" in capsys.readouterr().out


def test_a_blank_answer_says_what_to_write():
    def blank(key_share_data):
        raise NotImplementedError()
    with pytest.raises(ExerciseNotDone, match="not written yet"):
        check_hybrid_server(blank)


FIXED_KEY = x25519.X25519PrivateKey.generate()


def _x25519_first(data):
    kem, ct, dh, public = halves(data)
    return public + ct, kem + dh


def _secrets_swapped(data):
    kem, ct, dh, public = halves(data)
    return ct + public, dh + kem


def _first_entry(data):
    return answer_hybrid(key_share_extension_of(entries(data)[0][1]))


def key_share_extension_of(share):
    return (4 + len(share)).to_bytes(2, "big") + (0x11EC).to_bytes(2, "big") + len(share).to_bytes(2, "big") + share


def _plain_x25519_entry(data):
    plain = next(share for group, share in entries(data) if group == 0x001D)
    hybrid = hybrid_entry(data)
    kem, ct, dh, public = halves(data, share=hybrid[:1184] + plain)
    return ct + public, kem + dh


def _fixed_x25519(data):
    kem, ct, dh, public = halves(data, x25519_key=FIXED_KEY)
    return ct + public, kem + dh


def _ml_kem_only(data):
    kem, ct, dh, public = halves(data)
    return ct + public, kem


def _hashed(data):
    kem, ct, dh, public = halves(data)
    return ct + public, hashlib.sha512(kem + dh).digest()


def _pair_reversed(data):
    share, secret = answer_hybrid(data)
    return secret, share


def _ciphertext_only(data):
    kem, ct, dh, public = halves(data)
    return ct, kem + dh


def _no_list_length(data):
    return answer_hybrid(data[2:])


def _other_encapsulation(data):
    kem, ct, dh, public = halves(data)
    _, other_ct = mlkem.MLKEM768PublicKey.from_public_bytes(hybrid_entry(data)[:1184]).encapsulate()
    return other_ct + public, kem + dh


def _wrong_x25519_peer(data):
    kem, ct, _, public = halves(data)
    stranger = x25519.X25519PrivateKey.generate().public_key()
    return ct + public, kem + x25519.X25519PrivateKey.generate().exchange(stranger)


def _returns_a_list(data):
    return list(answer_hybrid(data))


@pytest.mark.parametrize("answer, words", [
    (_x25519_first, "starts with your X25519 public key"),
    (_secrets_swapped, "in the wrong order"),
    (_first_entry, "not by its position"),
    (_plain_x25519_entry, "separate x25519 entry (group 0x001D)"),
    (_fixed_x25519, "same X25519 public key"),
    (_ml_kem_only, "is 32 bytes, not 64"),
    (_hashed, "not a hash or a mix"),
    (_pair_reversed, "the wrong way round"),
    (_ciphertext_only, "is 1088 bytes, not 1120"),
    (_no_list_length, "after the list's own 2-byte length"),
    (_other_encapsulation, "different ML-KEM secret"),
    (_wrong_x25519_peer, "different X25519 secret"),
    (_returns_a_list, "return a pair of bytes"),
])
def test_wrong_answers_are_explained_without_the_answer(answer, words):
    message = _refusal(answer)
    assert words in message
    # Hints point at the chapter; they never spell out the concatenation to write.
    for giveaway in ("kem_secret + ", "ciphertext + ", "+ dh_secret", "[:1184]", "[1184:]"):
        assert giveaway not in message
