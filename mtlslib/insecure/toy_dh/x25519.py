"""X25519 written out: the Montgomery ladder on Curve25519 in plain Python (RFC 7748). Slow and not
constant-time, but byte-for-byte the same result as OpenSSL's. FOR TEACHING ONLY."""

from __future__ import annotations

from mtlslib.errors import ToyMathError

__all__ = ["CURVE25519_ORDER", "CURVE25519_P", "X25519_BASE_POINT", "montgomery_ladder", "x25519"]

CURVE25519_P = 2 ** 255 - 19
# The order of X25519's base point, a prime (RFC 7748, section 4.1); tests check both facts.
CURVE25519_ORDER = 2 ** 252 + 27742317777372353535851937790883648493
X25519_BASE_POINT = (9).to_bytes(32, "little")
_A24 = 121665  # (486662 - 2) / 4, from Curve25519's equation v^2 = u^3 + 486662 u^2 + u


def montgomery_ladder(k: int, u: int) -> int:
    """The u-coordinate of k times the point with u-coordinate ``u`` on Curve25519 (RFC 7748,
    section 5), or 0 when the result is the point at infinity. One doubling and one addition per
    bit of k, whatever the bit: the same sequence of operations for every secret."""
    p = CURVE25519_P
    x1, x2, z2, x3, z3, swap = u % p, 1, 0, u % p, 1, 0
    for t in reversed(range(max(255, k.bit_length()))):
        bit = (k >> t) & 1
        swap ^= bit
        if swap:
            x2, x3, z2, z3 = x3, x2, z3, z2
        swap = bit
        a, b = (x2 + z2) % p, (x2 - z2) % p
        aa, bb = a * a % p, b * b % p
        e = (aa - bb) % p
        c, d = (x3 + z3) % p, (x3 - z3) % p
        da, cb = d * a % p, c * b % p
        x3, z3 = (da + cb) ** 2 % p, x1 * (da - cb) ** 2 % p
        x2, z2 = aa * bb % p, e * (aa + _A24 * e) % p
    if swap:
        x2, z2 = x3, z3
    return x2 * pow(z2, p - 2, p) % p


def x25519(scalar: bytes, u: bytes = X25519_BASE_POINT) -> bytes:
    """The X25519 function of RFC 7748 in plain Python: the same bytes OpenSSL computes, but slow
    and not constant-time. ``x25519(secret)`` is a public key; ``x25519(secret, peer)`` the shared secret."""
    if len(scalar) != 32 or len(u) != 32:
        raise ToyMathError(f"X25519 takes a 32-byte scalar and a 32-byte u-coordinate, not {len(scalar)} "
                           f"and {len(u)} bytes")
    k = bytearray(scalar)
    k[0] &= 248  # clamping: a multiple of 8 clears the small subgroups of Curve25519
    k[31] = (k[31] & 127) | 64  # and a fixed top bit keeps the ladder's length the same for every key
    coordinate = int.from_bytes(u, "little") & ((1 << 255) - 1)
    return montgomery_ladder(int.from_bytes(k, "little"), coordinate).to_bytes(32, "little")
