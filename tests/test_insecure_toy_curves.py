"""The teaching elliptic curves and X25519: the group law and scalar multiplication under hypothesis,
point counts within the Hasse bound, and X25519 against RFC 7748's test vector and OpenSSL's bytes."""

from __future__ import annotations

import math

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import x25519 as real_x25519
from hypothesis import given, settings
from hypothesis import strategies as st

from mtlslib.insecure.toy_dh import (
    CURVE25519_ORDER,
    INFINITY,
    InvalidPublicValue,
    ToyCurve,
    ToyMathError,
    is_prime,
    montgomery_ladder,
    x25519,
)

SLOW = settings(deadline=None, max_examples=40)


# --- elliptic curves ----------------------------------------------------------------------------

CURVES = [ToyCurve(2, 2, 17), ToyCurve(-1, 1, 97), ToyCurve(3, 7, 1009)]


def test_textbook_curve():
    curve = ToyCurve(2, 2, 17)
    assert len(curve.points()) == 18 and curve.order_of(curve.point(5, 1)) == 19
    assert str(curve) == "y^2 = x^3 + 2x + 2 mod 17"


@pytest.mark.parametrize("curve", CURVES, ids=str)
def test_point_count_respects_the_hasse_bound(curve):
    count = len(curve.points()) + 1
    assert abs(count - (curve.p + 1)) <= 2 * math.sqrt(curve.p)
    assert all(curve.contains(point) for point in curve.points())


def test_curves_refuse_singular_equations_and_points_off_the_curve():
    with pytest.raises(ToyMathError, match="singular"):
        ToyCurve(0, 0, 17)
    with pytest.raises(ToyMathError, match="not a prime"):
        ToyCurve(2, 2, 15)
    with pytest.raises(InvalidPublicValue, match=r"\(5, 2\) is not on"):
        ToyCurve(2, 2, 17).point(5, 2)


@st.composite
def curve_and_points(draw, count=3):
    curve = draw(st.sampled_from(CURVES))
    points = curve.points() + (INFINITY,)
    return curve, [draw(st.sampled_from(points)) for _ in range(count)]


@given(curve_and_points())
@SLOW
def test_the_group_law(curve_points):
    curve, (p, q, r) = curve_points
    assert curve.contains(curve.add(p, q))
    assert curve.add(p, q) == curve.add(q, p)
    assert curve.add(curve.add(p, q), r) == curve.add(p, curve.add(q, r))
    assert curve.add(p, INFINITY) == p and curve.add(p, curve.negate(p)) == INFINITY


@given(curve_and_points(count=1), st.integers(0, 300), st.integers(0, 300))
@SLOW
def test_scalar_multiplication_is_repeated_addition(curve_points, a, b):
    curve, (point,) = curve_points
    repeated = INFINITY
    for _ in range(a):
        repeated = curve.add(repeated, point)
    assert curve.multiply(a, point) == repeated
    assert curve.multiply(a + b, point) == curve.add(curve.multiply(a, point), curve.multiply(b, point))
    assert curve.multiply(a, curve.multiply(b, point)) == curve.multiply(b, curve.multiply(a, point))  # ECDH agrees
    assert curve.multiply(-a, point) == curve.negate(curve.multiply(a, point))


def test_multiples_table_lists_every_multiple_up_to_infinity():
    curve = ToyCurve(2, 2, 17)
    table = curve.multiples_table(curve.point(5, 1))
    assert len(table.rows) == 19 and table.rows[-1][-1] == "O (infinity)"
    assert table.rows[1] == ("2", "(5, 1) + (5, 1)", str(curve.multiply(2, curve.point(5, 1))))


# --- X25519 -------------------------------------------------------------------------------------

def test_x25519_matches_the_rfc_7748_test_vector():
    scalar = bytes.fromhex("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4")
    u = bytes.fromhex("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c")
    assert x25519(scalar, u).hex() == "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"


@given(st.binary(min_size=32, max_size=32), st.binary(min_size=32, max_size=32))
@settings(deadline=None, max_examples=10)
def test_x25519_in_python_gives_openssls_bytes(alice_bytes, bob_bytes):
    raw = dict(encoding=serialization.Encoding.Raw, format=serialization.PublicFormat.Raw)
    alice, bob = (real_x25519.X25519PrivateKey.from_private_bytes(b) for b in (alice_bytes, bob_bytes))
    assert x25519(alice_bytes) == alice.public_key().public_bytes(**raw)
    assert x25519(alice_bytes, bob.public_key().public_bytes(**raw)) == alice.exchange(bob.public_key())


def test_the_base_point_has_the_stated_prime_order():
    assert is_prime(CURVE25519_ORDER)
    assert montgomery_ladder(CURVE25519_ORDER, 9) == 0
    assert montgomery_ladder(CURVE25519_ORDER - 1, 9) == 9  # (l - 1) G = -G, same u-coordinate
    assert montgomery_ladder(CURVE25519_ORDER + 5, 9) == montgomery_ladder(5, 9)


def test_x25519_refuses_wrong_lengths():
    with pytest.raises(ToyMathError, match="32-byte"):
        x25519(bytes(31))
