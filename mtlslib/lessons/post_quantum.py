"""The post-quantum hybrid key exchange of TLS 1.3, X25519MLKEM768, built from its two halves.

draft-ietf-tls-ecdhe-mlkem defines the group (codepoint 0x11EC) as ML-KEM-768 (FIPS 203) and X25519
side by side, ML-KEM first in every field:

* client share = ML-KEM-768 encapsulation key (1184 bytes) || X25519 public key (32 bytes);
* server share = ML-KEM-768 ciphertext (1088 bytes) || X25519 public key (32 bytes);
* shared secret = ML-KEM shared secret (32 bytes) || X25519 shared secret (32 bytes).

The draft puts the ML-KEM part first here because NIST SP 800-56C accepts a concatenated secret only
when its first part comes from a FIPS-approved scheme; its P-256 and P-384 hybrids, for the same
reason, put the ECDH part first. The OpenSSL under Python's ``ssl`` here (3.0) has no ML-KEM, so these
helpers do the exchange with ``cryptography`` (47 or newer), outside any handshake: the client side
and the TLS encoding of a ClientHello's key_share extension. The server side is the reader's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, NamedTuple

from cryptography.hazmat.primitives.asymmetric import mlkem, x25519

from mtlslib.display import Shown
from mtlslib.errors import UsageError
from mtlslib.wire.constants import GROUPS

from .measure import median_us

__all__ = ["CLIENT_SHARE_SIZE", "HybridClient", "KeyShareParts", "KemCost", "MLKEM768_CIPHERTEXT_SIZE",
           "MLKEM768_ENCAPSULATION_KEY_SIZE", "SERVER_SHARE_SIZE", "SHARED_SECRET_SIZE", "X25519", "X25519MLKEM768",
           "X25519_SIZE", "kem_costs", "key_share_extension", "split_key_share"]

X25519MLKEM768, X25519 = 0x11EC, 0x001D  # TLS supported-group codepoints
MLKEM768_ENCAPSULATION_KEY_SIZE, MLKEM768_CIPHERTEXT_SIZE, MLKEM768_SECRET_SIZE = 1184, 1088, 32  # FIPS 203
X25519_SIZE = 32  # RFC 7748: public keys and shared secrets alike
CLIENT_SHARE_SIZE = MLKEM768_ENCAPSULATION_KEY_SIZE + X25519_SIZE
SERVER_SHARE_SIZE = MLKEM768_CIPHERTEXT_SIZE + X25519_SIZE
SHARED_SECRET_SIZE = MLKEM768_SECRET_SIZE + X25519_SIZE


class KeyShareParts(NamedTuple):
    """The two halves of an X25519MLKEM768 key share, in wire order."""

    mlkem: bytes  # the client's encapsulation key, or the server's ciphertext
    x25519: bytes


def split_key_share(share: bytes, sender: str) -> KeyShareParts:
    """Cut a ``"client"`` or ``"server"`` X25519MLKEM768 share into its ML-KEM and X25519 parts."""
    sizes = {"client": CLIENT_SHARE_SIZE, "server": SERVER_SHARE_SIZE}
    if sender not in sizes:
        raise UsageError(f"sender is 'client' or 'server', not {sender!r}")
    if len(share) != sizes[sender]:
        raise UsageError(f"a {sender} X25519MLKEM768 share is {sizes[sender]} bytes, not {len(share)}")
    return KeyShareParts(share[:-X25519_SIZE], share[-X25519_SIZE:])


@dataclass(frozen=True)
class HybridClient:
    """A TLS 1.3 client's side of X25519MLKEM768: two fresh private keys, one key share."""

    mlkem_key: mlkem.MLKEM768PrivateKey
    x25519_key: x25519.X25519PrivateKey

    @classmethod
    def generate(cls) -> "HybridClient":
        return cls(mlkem.MLKEM768PrivateKey.generate(), x25519.X25519PrivateKey.generate())

    @property
    def key_share(self) -> bytes:
        """What the client puts in its ClientHello's key_share entry for 0x11EC (1216 bytes)."""
        return self.mlkem_key.public_key().public_bytes_raw() + self.x25519_key.public_key().public_bytes_raw()

    def shared_secret(self, server_share: bytes) -> bytes:
        """The 64-byte secret, from the server's share: decapsulate, exchange, ML-KEM's part first.

        ML-KEM never fails on a wrong ciphertext: it answers with a pseudo-random secret instead
        (FIPS 203's implicit rejection), so a garbled share shows up later, as keys that differ.
        """
        ciphertext, server_public = split_key_share(server_share, "server")
        return (self.mlkem_key.decapsulate(ciphertext)
                + self.x25519_key.exchange(x25519.X25519PublicKey.from_public_bytes(server_public)))


def key_share_extension(entries: Iterable[tuple[int, bytes]]) -> bytes:
    """The extension_data of a ClientHello key_share extension (RFC 8446, 4.2.8) with these
    ``(group codepoint, key_exchange)`` entries, in order: a 2-byte length of the list, then per
    entry the 2-byte group, a 2-byte length and the key_exchange bytes."""
    body = b""
    for group, key_exchange in entries:
        if group not in GROUPS:
            raise UsageError(f"unknown group codepoint {group:#06x}")
        body += group.to_bytes(2, "big") + len(key_exchange).to_bytes(2, "big") + key_exchange
    return len(body).to_bytes(2, "big") + body


@dataclass(frozen=True)
class KemCost(Shown):
    """The median time of one operation, in microseconds, over ``repeats`` runs."""

    operation: str
    us: float
    repeats: int

    def __str__(self) -> str:
        return f"{self.operation:<34} {self.us:8.1f} us   (median of {self.repeats})"


def kem_costs(repeats: int = 200) -> list[KemCost]:
    """Time each operation of the two key exchanges, as each side of a handshake runs it once."""
    if repeats < 1:
        raise UsageError("repeats must be at least 1")
    kem_key, dh_key, dh_peer = (mlkem.MLKEM768PrivateKey.generate(), x25519.X25519PrivateKey.generate(),
                                x25519.X25519PrivateKey.generate().public_key())
    kem_public = kem_key.public_key()
    _, ciphertext = kem_public.encapsulate()
    operations = (
        ("X25519 key pair (each side)", x25519.X25519PrivateKey.generate),
        ("X25519 exchange (each side)", lambda: dh_key.exchange(dh_peer)),
        ("ML-KEM-768 key pair (client)", mlkem.MLKEM768PrivateKey.generate),
        ("ML-KEM-768 encapsulate (server)", kem_public.encapsulate),
        ("ML-KEM-768 decapsulate (client)", lambda: kem_key.decapsulate(ciphertext)),
    )
    return [KemCost(name, median_us(operation, repeats), repeats) for name, operation in operations]
