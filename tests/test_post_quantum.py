"""The X25519MLKEM768 helpers: sizes and order from draft-ietf-tls-ecdhe-mlkem, a server written here
from the primitives agrees with the client, the key_share encoding reads back through the course's
own ClientHello decoder, and the cost measurements name every operation."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519

from mtlslib.errors import UsageError
from mtlslib.lessons.post_quantum import (
    CLIENT_SHARE_SIZE,
    SERVER_SHARE_SIZE,
    SHARED_SECRET_SIZE,
    X25519,
    X25519MLKEM768,
    HybridClient,
    kem_costs,
    key_share_extension,
    split_key_share,
)
from mtlslib.wire.messages import ClientHello, Extension


def server_side(client_share: bytes) -> tuple[bytes, bytes]:
    """The server's half as the draft writes it, from cryptography's primitives."""
    encapsulation_key, client_public = client_share[:1184], client_share[1184:]
    kem_secret, ciphertext = mlkem.MLKEM768PublicKey.from_public_bytes(encapsulation_key).encapsulate()
    own = x25519.X25519PrivateKey.generate()
    dh_secret = own.exchange(x25519.X25519PublicKey.from_public_bytes(client_public))
    return ciphertext + own.public_key().public_bytes_raw(), kem_secret + dh_secret


def test_the_draft_sizes():
    assert (CLIENT_SHARE_SIZE, SERVER_SHARE_SIZE, SHARED_SECRET_SIZE) == (1216, 1120, 64)
    assert X25519MLKEM768 == 0x11EC


def test_client_share_is_the_encapsulation_key_then_the_x25519_key():
    client = HybridClient.generate()
    parts = split_key_share(client.key_share, "client")
    assert parts.mlkem == client.mlkem_key.public_key().public_bytes_raw()
    assert parts.x25519 == client.x25519_key.public_key().public_bytes_raw()


def test_both_sides_derive_the_same_secret_ml_kem_part_first():
    client = HybridClient.generate()
    server_share, server_secret = server_side(client.key_share)
    secret = client.shared_secret(server_share)
    assert secret == server_secret and len(secret) == 64
    ciphertext = split_key_share(server_share, "server").mlkem
    assert secret[:32] == client.mlkem_key.decapsulate(ciphertext)


def test_a_garbled_ciphertext_gives_another_secret_not_an_error():
    client = HybridClient.generate()
    server_share, server_secret = server_side(client.key_share)
    garbled = bytes([server_share[0] ^ 1]) + server_share[1:]
    secret = client.shared_secret(garbled)
    assert secret[:32] != server_secret[:32] and secret[32:] == server_secret[32:]


@pytest.mark.parametrize("share, sender, words", [
    (b"\x00" * 1215, "client", "1216 bytes, not 1215"),
    (b"\x00" * 1216, "server", "1120 bytes, not 1216"),
    (b"\x00" * 1120, "peer", "'client' or 'server'"),
])
def test_wrong_shares_are_refused(share, sender, words):
    with pytest.raises(UsageError, match=words):
        split_key_share(share, sender)


def test_the_key_share_extension_reads_back_through_the_wire_decoder():
    client = HybridClient.generate()
    plain = x25519.X25519PrivateKey.generate().public_key().public_bytes_raw()
    data = key_share_extension([(X25519MLKEM768, client.key_share), (X25519, plain)])
    assert len(data) == 2 + (4 + 1216) + (4 + 32)
    hello = ClientHello(1, b"", extensions=(Extension(51, data),))
    assert hello.key_shares == (("X25519MLKEM768", client.key_share), ("x25519", plain))


def test_unknown_groups_are_refused():
    with pytest.raises(UsageError, match="0x6399"):
        key_share_extension([(0x6399, b"")])


def test_kem_costs_time_every_operation():
    rows = kem_costs(repeats=3)
    assert [row.operation.split(" (")[0] for row in rows] == [
        "X25519 key pair", "X25519 exchange", "ML-KEM-768 key pair", "ML-KEM-768 encapsulate",
        "ML-KEM-768 decapsulate"]
    assert all(row.us > 0 and row.repeats == 3 for row in rows)
    assert "median of 3" in str(rows[0])
    with pytest.raises(UsageError):
        kem_costs(repeats=0)
