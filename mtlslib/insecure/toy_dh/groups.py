"""Groups and exchanges for the toy Diffie-Hellman: :class:`ToyGroup`, the tables a reader can
check by hand (:func:`power_table`, :func:`power_steps`), one exchange (:func:`toy_exchange`), and
the check that refuses a bad public value (:func:`is_valid_public_value`, :func:`check_public_value`).
FOR TEACHING ONLY: NEVER PROTECT ANYTHING WITH IT.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from mtlslib.display import Shown, Table
from mtlslib.errors import InvalidPublicValue, ToyMathError

from .numbers import SMALL_PRIMES, check_prime, is_prime, multiplicative_order, safe_prime

__all__ = ["ToyExchange", "ToyGroup", "check_public_value", "is_valid_public_value", "power_steps", "power_table",
           "toy_exchange", "toy_secret"]


@dataclass(frozen=True)
class ToyGroup:
    """The numbers 1 .. p-1 multiplied modulo a prime p, and a generator g of order ``order``."""

    p: int
    g: int
    order: int

    @classmethod
    def of(cls, p: int, g: int) -> "ToyGroup":
        """The group of a prime ``p`` and a generator ``g``, with g's order computed."""
        check_prime(p)
        if not 1 < g < p - 1:
            raise ToyMathError(f"g = {g} must be between 2 and p - 2 = {p - 2}: 0, 1 and p - 1 generate "
                               "almost nothing")
        return cls(p, g, multiplicative_order(g, p))

    @classmethod
    def safe(cls, bits: int) -> "ToyGroup":
        """A group modulo the smallest ``bits``-bit safe prime p = 2q + 1, with the smallest g of
        prime order q (the shape real finite-field groups have)."""
        p = safe_prime(bits)
        q = (p - 1) // 2
        g = next(g for g in range(2, p) if pow(g, q, p) == 1)
        return cls(p, g, q)

    @classmethod
    def with_small_subgroups(cls, secret_bits: int) -> "ToyGroup":
        """A group whose p - 1 has many small prime factors besides g's prime order q (about
        ``secret_bits`` bits), so that there are elements of small order to abuse."""
        if not 8 <= secret_bits <= 64:
            raise ToyMathError(f"secret_bits must be between 8 and 64, not {secret_bits!r}")
        q = next(n for n in range(1 << (secret_bits - 1), 1 << secret_bits) if is_prime(n))
        smooth, count = 1, 0
        while smooth <= q:  # enough small subgroups to pin down any secret below q
            smooth, count = smooth * SMALL_PRIMES[count], count + 1
        k = next(k for k in range(1, 10_000) if is_prime(q * smooth * k + 1))
        p = q * smooth * k + 1
        h = next(h for h in range(2, p) if pow(h, (p - 1) // q, p) != 1)
        return cls(p, pow(h, (p - 1) // q, p), q)

    @property
    def bits(self) -> int:
        return self.p.bit_length()

    def power(self, exponent: int) -> int:
        return pow(self.g, exponent, self.p)

    def small_subgroup_orders(self, bound: int = 1000) -> tuple[int, ...]:
        """The primes below ``bound`` that divide p - 1, other than g's order: each is the size of
        a small subgroup that an attacker can send elements from."""
        return tuple(r for r in range(2, bound) if is_prime(r) and (self.p - 1) % r == 0 and r != self.order)

    def __str__(self) -> str:
        return f"p = {self.p}, g = {self.g} (order {self.order})"


def power_table(group: ToyGroup, count: int | None = None) -> Table:
    """g^x mod p for x = 0, 1, ... (all of g's powers by default): the table a reader can check."""
    count = group.order + 1 if count is None else count
    if count > 64:
        raise ToyMathError(f"a power table of {count} columns would not fit on a page: pass count=")
    return Table(("x", *(str(x) for x in range(count))),
                 ((f"{group.g}^x mod {group.p}", *(str(group.power(x)) for x in range(count))),))


def power_steps(base: int, exponent: int, p: int) -> Table:
    """How a computer finds base^exponent mod p: square-and-multiply, reading the exponent's bits.

    Every row is a multiplication a reader can redo with a calculator; the row count grows with the
    *number of bits* of the exponent, not with the exponent itself, which is why the forward
    direction of Diffie-Hellman is fast.
    """
    if exponent < 1:
        raise ToyMathError(f"power_steps needs an exponent of at least 1, not {exponent}")
    bits = bin(exponent)[2:]
    value = base % p
    rows = [(bits[0], "1", f"start with the base, {base}", str(base), str(value))]
    for position in range(1, len(bits)):
        so_far = bits[: position + 1]
        square = value * value
        rows.append((so_far, str(int(so_far, 2)), f"square: {value} x {value}", str(square), str(square % p)))
        value = square % p
        if bits[position] == "1":
            product = value * base
            rows.append((so_far, str(int(so_far, 2)), f"multiply: {value} x {base}", str(product), str(product % p)))
            value = product % p
    return Table(("exponent bits read", "= exponent", "step", "result", f"mod {p}"), tuple(rows),
                 title=f"{base}^{exponent} mod {p} by square-and-multiply")


@dataclass(frozen=True)
class ToyExchange(Shown):
    """One Diffie-Hellman exchange: what Alice knows, what crosses the wire, what Bob knows."""

    group: ToyGroup
    alice_secret: int
    bob_secret: int

    @property
    def alice_public(self) -> int:
        return self.group.power(self.alice_secret)

    @property
    def bob_public(self) -> int:
        return self.group.power(self.bob_secret)

    @property
    def alice_shared(self) -> int:
        """What Alice computes: Bob's public value to the power of her secret."""
        return pow(self.bob_public, self.alice_secret, self.group.p)

    @property
    def bob_shared(self) -> int:
        return pow(self.alice_public, self.bob_secret, self.group.p)

    @property
    def agree(self) -> bool:
        return self.alice_shared == self.bob_shared

    def _table(self) -> Table:
        p, g = self.group.p, self.group.g
        a, b, A, B = self.alice_secret, self.bob_secret, self.alice_public, self.bob_public
        return Table(
            ("Alice knows", "on the wire (anyone can read it)", "Bob knows"),
            ((f"p = {p}, g = {g}", f"p = {p}, g = {g}", f"p = {p}, g = {g}"),
             (f"secret a = {a}", "", f"secret b = {b}"),
             (f"A = g^a mod p = {A}", f"A = {A}  -->", ""),
             ("", f"<--  B = {B}", f"B = g^b mod p = {B}"),
             (f"K = B^a mod p = {self.alice_shared}", "", f"K = A^b mod p = {self.bob_shared}")),
            title=f"Diffie-Hellman modulo {p}: both sides compute the same K")

    def __str__(self) -> str:
        return str(self._table())

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return self._table()._repr_html_()


def toy_exchange(group: ToyGroup, alice_secret: int, bob_secret: int) -> ToyExchange:
    for name, secret in (("alice_secret", alice_secret), ("bob_secret", bob_secret)):
        if not isinstance(secret, int) or not 1 <= secret < group.order:
            raise ToyMathError(f"{name} = {secret!r} must be an integer from 1 to {group.order - 1} "
                               f"(the order of g = {group.g})")
    return ToyExchange(group, alice_secret, bob_secret)


def is_valid_public_value(y: int, group: ToyGroup) -> bool:
    """Whether ``y`` is a public value worth using: 2 <= y <= p - 2, and y in the subgroup of g
    (y^order = 1 mod p). Correct when g's order is prime, as in every real finite-field group."""
    if not isinstance(y, int) or isinstance(y, bool) or not 2 <= y <= group.p - 2:
        return False
    return pow(y, group.order, group.p) == 1


def check_public_value(y: int, group: ToyGroup) -> int:
    """``y`` if :func:`is_valid_public_value`, else :class:`InvalidPublicValue` saying why."""
    if not isinstance(y, int) or isinstance(y, bool):
        raise InvalidPublicValue(f"public value {y!r} is not an integer")
    if not 2 <= y <= group.p - 2:
        raise InvalidPublicValue(f"public value {y} is outside 2 .. p - 2 = {group.p - 2}: 0, 1 and p - 1 "
                                 "(and anything out of range) would force a predictable shared secret")
    if pow(y, group.order, group.p) != 1:
        raise InvalidPublicValue(f"public value {y} is not in the subgroup of g (y^{group.order} mod p != 1): "
                                 "it may come from a small subgroup chosen to leak your secret")
    return y


def toy_secret(label: str, below: int) -> int:
    """A secret in [2, below - 1] derived from ``label``, so that a notebook shows the same numbers
    on every run. Predictable on purpose: a real secret comes from the operating system's CSPRNG."""
    if below <= 3:
        raise ToyMathError(f"a secret needs a range with room in it, not below = {below}")
    digest = int.from_bytes(hashlib.sha256(label.encode()).digest() * 8, "big")
    return 2 + digest % (below - 2)
