"""Numbers for the toy Diffie-Hellman: primes, factoring, orders, safe primes, the Chinese
remainder theorem. FOR TEACHING ONLY: NEVER PROTECT ANYTHING WITH IT.

:func:`is_prime` is :func:`mtlslib.pki.is_probable_prime`, the package's one primality test
(Miller-Rabin: exact below 3.3e24, a strong test above).
"""

from __future__ import annotations

import itertools
import math
from functools import lru_cache
from typing import Iterable

from mtlslib.errors import ToyMathError
from mtlslib.pki import is_probable_prime

__all__ = ["SMALL_PRIMES", "check_prime", "crt", "ffdhe2048_prime", "is_prime", "multiplicative_order",
           "prime_factors", "safe_prime"]

SMALL_PRIMES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97)
"""The primes below 100: trial divisors, and the small subgroup orders of a weak group."""

is_prime = is_probable_prime
"""Whether ``n`` is prime: the package's one primality test, under the name chapter 02 uses."""


def _pollard_rho(n: int) -> int:
    """A non-trivial factor of the odd composite ``n`` (Pollard's rho with Floyd's cycle finding)."""
    for c in itertools.count(1):
        x = y = 2
        divisor = 1
        while divisor == 1:
            x = (x * x + c) % n
            y = (y * y + c) % n
            y = (y * y + c) % n
            divisor = math.gcd(abs(x - y), n)
        if divisor != n:
            return divisor
    raise AssertionError("unreachable")  # pragma: no cover


def prime_factors(n: int) -> tuple[int, ...]:
    """The distinct prime factors of ``n`` (a positive integer), smallest first."""
    if not isinstance(n, int) or n < 1:
        raise ToyMathError(f"prime_factors needs a positive integer, not {n!r}")
    if n.bit_length() > 128:
        raise ToyMathError(f"{n} has {n.bit_length()} bits: too big to factor in a teaching module "
                           "(use numbers below 2^128)")
    found: set[int] = set()
    pending = [n]
    while pending:
        m = pending.pop()
        for small in SMALL_PRIMES:
            while m % small == 0:
                found.add(small)
                m //= small
        if m == 1:
            continue
        if is_prime(m):
            found.add(m)
        else:
            factor = _pollard_rho(m)
            pending += [factor, m // factor]
    return tuple(sorted(found))


def check_prime(p: int, what: str = "p") -> None:
    """Refuse (:class:`ToyMathError`) a ``p`` that is not a prime integer; ``what`` names it in the message."""
    if not isinstance(p, int) or isinstance(p, bool):
        raise ToyMathError(f"{what} must be an integer, not {type(p).__name__}: {p!r}")
    if not is_prime(p):
        raise ToyMathError(f"{what} = {p} is not a prime: Diffie-Hellman modulo p needs a prime p "
                           "(try safe_prime(bits) for one)")


def multiplicative_order(g: int, p: int) -> int:
    """The smallest n > 0 with g^n = 1 (mod p): how many different values the powers of g take."""
    check_prime(p)
    if g % p == 0:
        raise ToyMathError(f"g = {g} is a multiple of p = {p}: its powers are all 0, it has no order")
    order = p - 1
    for r in prime_factors(p - 1):
        while order % r == 0 and pow(g, order // r, p) == 1:
            order //= r
    return order


@lru_cache(maxsize=None)
def safe_prime(bits: int) -> int:
    """The smallest safe prime p = 2q + 1 (q prime too) with exactly ``bits`` bits."""
    if not isinstance(bits, int) or not 3 <= bits <= 256:
        raise ToyMathError(f"safe_prime(bits) takes 3 to 256 bits, not {bits!r}; for a real-size "
                           "group see ffdhe2048_prime()")
    p = (1 << (bits - 1)) + 1
    while p < (1 << bits):
        if is_prime((p - 1) // 2) and is_prime(p):
            return p
        p += 2
    raise ToyMathError(f"there is no safe prime with {bits} bits")  # pragma: no cover


def _e_times_power_of_two(bits: int) -> int:
    """floor(e * 2^bits), by summing 1/k! in fixed point with guard bits."""
    guard = 64
    one = 1 << (bits + guard)
    total, term, k = 0, one, 0
    while term:
        total += term
        k += 1
        term //= k
    return total >> guard


@lru_cache(maxsize=None)
def ffdhe2048_prime() -> int:
    """The prime of ffdhe2048, the 2048-bit finite-field group TLS uses (RFC 7919, appendix A.1).

    RFC 7919 defines it with digits of e, so that nobody could have chosen it to hide a weakness:
    p = 2^2048 - 2^1984 + (floor(2^1918 * e) + 560316) * 2^64 - 1.
    """
    return 2 ** 2048 - 2 ** 1984 + (_e_times_power_of_two(1918) + 560316) * 2 ** 64 - 1



def crt(congruences: Iterable[tuple[int, int]]) -> tuple[int, int]:
    """Chinese remainder theorem: from (modulus, residue) pairs with coprime moduli, the (x, M)
    with x = residue (mod modulus) for each pair and M the product of the moduli."""
    x, product = 0, 1
    for modulus, residue in congruences:
        if math.gcd(modulus, product) != 1:
            raise ToyMathError(f"modulus {modulus} shares a factor with the others: the moduli must be coprime")
        # find t with x + product * t = residue (mod modulus)
        t = (residue - x) * pow(product, -1, modulus) % modulus
        x, product = x + product * t, product * modulus
    return x % product, product
