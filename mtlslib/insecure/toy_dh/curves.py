"""Elliptic curves small enough to draw: :class:`ToyCurve` (y^2 = x^3 + ax + b modulo a small
prime) and its points, :class:`CurvePoint`. FOR TEACHING ONLY: NEVER PROTECT ANYTHING WITH IT."""

from __future__ import annotations

from dataclasses import dataclass

from mtlslib.display import Table
from mtlslib.errors import InvalidPublicValue, ToyMathError

from .numbers import check_prime

__all__ = ["INFINITY", "CurvePoint", "ToyCurve"]


@dataclass(frozen=True)
class CurvePoint:
    """A point (x, y) of a curve, or the point at infinity (x and y None), the group's identity."""

    x: int | None
    y: int | None

    @property
    def is_infinity(self) -> bool:
        return self.x is None

    def __str__(self) -> str:
        return "O (infinity)" if self.is_infinity else f"({self.x}, {self.y})"

    __repr__ = __str__


INFINITY = CurvePoint(None, None)


@dataclass(frozen=True)
class ToyCurve:
    """The curve y^2 = x^3 + a*x + b over the integers modulo a small prime p (short Weierstrass)."""

    a: int
    b: int
    p: int

    def __post_init__(self) -> None:
        check_prime(self.p)
        if self.p < 5:
            raise ToyMathError(f"p = {self.p}: these formulas need a prime of at least 5")
        if (4 * self.a ** 3 + 27 * self.b ** 2) % self.p == 0:
            raise ToyMathError(f"y^2 = x^3 + {self.a}x + {self.b} mod {self.p} is singular "
                               "(4a^3 + 27b^2 = 0 mod p): it is not an elliptic curve")

    def point(self, x: int, y: int) -> CurvePoint:
        """The point (x, y), refused with :class:`InvalidPublicValue` unless it is on the curve."""
        candidate = CurvePoint(x % self.p, y % self.p)
        if not self.contains(candidate):
            raise InvalidPublicValue(f"({x}, {y}) is not on {self}: using it would move the computation "
                                     "onto another, possibly weak, curve")
        return candidate

    def contains(self, point: CurvePoint) -> bool:
        if point.is_infinity:
            return True
        x, y = point.x, point.y
        return (y * y - (x ** 3 + self.a * x + self.b)) % self.p == 0

    def points(self) -> tuple[CurvePoint, ...]:
        """Every point with coordinates in 0 .. p-1, found by trying each x (fine for small p)."""
        if self.p > 10_000:
            raise ToyMathError(f"listing the points of a curve over {self.p} values would take too long")
        squares: dict[int, list[int]] = {}
        for y in range(self.p):
            squares.setdefault(y * y % self.p, []).append(y)
        return tuple(CurvePoint(x, y) for x in range(self.p)
                     for y in squares.get((x ** 3 + self.a * x + self.b) % self.p, []))

    def negate(self, point: CurvePoint) -> CurvePoint:
        return point if point.is_infinity else CurvePoint(point.x, -point.y % self.p)

    def add(self, first: CurvePoint, second: CurvePoint) -> CurvePoint:
        """The group law: the line through the two points (the tangent if they are equal) meets
        the curve in a third point; the sum is that point's mirror image."""
        if first.is_infinity:
            return second
        if second.is_infinity:
            return first
        p = self.p
        if first.x == second.x and (first.y + second.y) % p == 0:
            return INFINITY
        if first == second:
            slope = (3 * first.x * first.x + self.a) * pow(2 * first.y, -1, p) % p
        else:
            slope = (second.y - first.y) * pow(second.x - first.x, -1, p) % p
        x = (slope * slope - first.x - second.x) % p
        return CurvePoint(x, (slope * (first.x - x) - first.y) % p)

    def multiply(self, k: int, point: CurvePoint) -> CurvePoint:
        """k * point by double-and-add: about 2 * log2(k) additions instead of k - 1."""
        if k < 0:
            return self.multiply(-k, self.negate(point))
        result, addend = INFINITY, point
        while k:
            if k & 1:
                result = self.add(result, addend)
            addend = self.add(addend, addend)
            k >>= 1
        return result

    def multiples(self, point: CurvePoint) -> tuple[CurvePoint, ...]:
        """point, 2*point, 3*point, ... by repeated addition, up to the point at infinity."""
        found = [point]
        while not found[-1].is_infinity:
            found.append(self.add(found[-1], point))
        return tuple(found)

    def order_of(self, point: CurvePoint) -> int:
        return len(self.multiples(point))

    def multiples_table(self, point: CurvePoint) -> Table:
        rows, previous = [], None
        for k, multiple in enumerate(self.multiples(point), start=1):
            how = "the base point" if previous is None else f"{previous} + {point}"
            rows.append((str(k), how, str(multiple)))
            previous = multiple
        return Table(("k", "computed as", f"k x {point}"), tuple(rows),
                     title=f"Multiples of {point} on {self}, by repeated addition")

    def __str__(self) -> str:
        return f"y^2 = x^3 + {self.a}x + {self.b} mod {self.p}"

