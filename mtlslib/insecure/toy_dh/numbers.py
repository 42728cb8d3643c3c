"""Diffie-Hellman with numbers small enough to check by hand. FOR TEACHING ONLY: NEVER PROTECT
ANYTHING WITH IT.

Everything here is deliberately insecure: primes of a few dozen bits, no constant-time arithmetic,
a keystream "cipher" made of SHA-256 blocks, brute-force and small-subgroup attacks that work
because the numbers are small. It exists so that a reader can follow each step of the maths with
a pencil, then watch the same steps become impossible to reverse when the numbers grow. Real key
exchanges in this course go through ``cryptography`` (X25519, P-256) and OpenSSL; no safe module
of :mod:`mtlslib` imports this one.

The pieces:

* numbers: :func:`is_prime`, :func:`prime_factors`, :func:`multiplicative_order`,
  :func:`safe_prime`, :func:`ffdhe2048_prime` (the real TLS group, computed from its formula);
* groups and exchanges: :class:`ToyGroup`, :func:`power_table`, :func:`power_steps`,
  :func:`toy_exchange`;
* attacks: :func:`brute_force_log`, :func:`baby_step_giant_step`, :func:`measure_discrete_log`,
  :func:`attack_costs`, :class:`ToyServer` with :func:`small_subgroup_attack`,
  :func:`man_in_the_middle`;
* the defence against small subgroups: :func:`is_valid_public_value`, :func:`check_public_value`;
* elliptic curves: :class:`ToyCurve`, and :func:`x25519`, the real X25519 function written out in
  Python (slow and not constant-time, but byte-for-byte the same result as OpenSSL's).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import math
import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable, Iterable, Sequence

from cryptography.hazmat.primitives.asymmetric import x25519 as x25519_primitives

from mtlslib.display import Table
from mtlslib.errors import InvalidPublicValue, ToyMathError

__all__ = ["attack_costs", "AttackCost", "baby_step_giant_step", "brute_force_log", "check_public_value",
           "cost_table", "crt", "CURVE25519_ORDER", "CURVE25519_P", "CurvePoint", "DiscreteLog", "element_of_order",
           "ffdhe2048_prime", "fit_growth", "GrowthFit", "INFINITY", "InvalidPublicValue", "is_prime",
           "is_valid_public_value", "keystream_xor", "man_in_the_middle", "ManInTheMiddle", "measure_attacker_speeds",
           "measure_discrete_log", "measure_rate", "Measurement", "measurement_table", "montgomery_ladder",
           "multiplicative_order", "power_steps", "power_table", "prime_factors", "safe_prime",
           "small_subgroup_attack", "SmallSubgroupAttack", "Table", "toy_exchange", "toy_secret", "ToyCurve",
           "ToyExchange", "ToyGroup", "ToyMathError", "ToyServer", "x25519", "X25519_BASE_POINT"]




# --- numbers ------------------------------------------------------------------------------------

_SMALL_PRIMES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97)
# Miller-Rabin with the first 13 primes as bases is exact below this bound (Sorenson and Webster).
# Above it, fixed bases can be fooled by a composite built on purpose, but not by a published prime
# like ffdhe2048's; 8 bases keep a 2048-bit check under a quarter of a second.
_DETERMINISTIC_BELOW = 3_317_044_064_679_887_385_961_981


def is_prime(n: int) -> bool:
    """Whether ``n`` is prime (Miller-Rabin: exact below 3.3e24, a strong test above)."""
    if n < 2:
        return False
    for small in _SMALL_PRIMES:
        if n % small == 0:
            return n == small
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for base in _SMALL_PRIMES[:13] if n < _DETERMINISTIC_BELOW else _SMALL_PRIMES[:8]:
        x = pow(base, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


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
        for small in _SMALL_PRIMES:
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


def _check_prime(p: int, what: str = "p") -> None:
    if not isinstance(p, int) or isinstance(p, bool):
        raise ToyMathError(f"{what} must be an integer, not {type(p).__name__}: {p!r}")
    if not is_prime(p):
        raise ToyMathError(f"{what} = {p} is not a prime: Diffie-Hellman modulo p needs a prime p "
                           "(try safe_prime(bits) for one)")


def multiplicative_order(g: int, p: int) -> int:
    """The smallest n > 0 with g^n = 1 (mod p): how many different values the powers of g take."""
    _check_prime(p)
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


def toy_secret(label: str, below: int) -> int:
    """A secret in [2, below - 1] derived from ``label``, so that a notebook shows the same numbers
    on every run. Predictable on purpose: a real secret comes from the operating system's CSPRNG."""
    if below <= 3:
        raise ToyMathError(f"a secret needs a range with room in it, not below = {below}")
    digest = int.from_bytes(hashlib.sha256(label.encode()).digest() * 8, "big")
    return 2 + digest % (below - 2)


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


# --- groups and the exchange --------------------------------------------------------------------

@dataclass(frozen=True)
class ToyGroup:
    """The numbers 1 .. p-1 multiplied modulo a prime p, and a generator g of order ``order``."""

    p: int
    g: int
    order: int

    @classmethod
    def of(cls, p: int, g: int) -> "ToyGroup":
        """The group of a prime ``p`` and a generator ``g``, with g's order computed."""
        _check_prime(p)
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
            smooth, count = smooth * _SMALL_PRIMES[count], count + 1
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
class ToyExchange:
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

    def table(self) -> Table:
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
        return str(self.table())

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return self.table()._repr_html_()


def toy_exchange(group: ToyGroup, alice_secret: int, bob_secret: int) -> ToyExchange:
    for name, secret in (("alice_secret", alice_secret), ("bob_secret", bob_secret)):
        if not isinstance(secret, int) or not 1 <= secret < group.order:
            raise ToyMathError(f"{name} = {secret!r} must be an integer from 1 to {group.order - 1} "
                               f"(the order of g = {group.g})")
    return ToyExchange(group, alice_secret, bob_secret)


# --- checking a public value --------------------------------------------------------------------

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


# --- discrete logarithms and what they cost -----------------------------------------------------

@dataclass(frozen=True)
class DiscreteLog:
    """An exponent x with g^x = target, and how many group operations it took to find it."""

    exponent: int
    operations: int
    method: str


def brute_force_log(group: ToyGroup, target: int) -> DiscreteLog:
    """Try g^0, g^1, g^2, ... until one equals ``target``: one multiplication per try."""
    value, exponent = 1, 0
    p, g, target = group.p, group.g, target % group.p
    while value != target:
        if exponent >= group.order:
            raise ToyMathError(f"{target} is not a power of g = {group.g} modulo {p}")
        value = value * g % p
        exponent += 1
    return DiscreteLog(exponent, exponent, "brute force")


def baby_step_giant_step(group: ToyGroup, target: int) -> DiscreteLog:
    """Shanks' baby-step giant-step: about 2 * sqrt(order) operations, and sqrt(order) memory.

    Write x = i*m + j with m = ceil(sqrt(order)). Store g^j for every j < m (baby steps), then
    multiply the target by g^-m again and again (giant steps) until it lands in the table.
    """
    p, order, target = group.p, group.order, target % group.p
    m = math.isqrt(order - 1) + 1
    baby, value = {}, 1
    for j in range(m):
        baby.setdefault(value, j)
        value = value * group.g % p
    giant = pow(group.g, -m, p)
    gamma = target
    for i in range(m):
        if gamma in baby:
            return DiscreteLog((i * m + baby[gamma]) % order, m + i, "baby-step giant-step")
        gamma = gamma * giant % p
    raise ToyMathError(f"{target} is not a power of g = {group.g} modulo {p}")


@dataclass(frozen=True)
class Measurement:
    """One timed discrete-log search: the operation count is exact, the seconds are this machine's."""

    method: str
    bits: int
    order: int
    operations: int
    seconds: float

    @property
    def operations_per_second(self) -> float:
        return self.operations / self.seconds


def _timed(function: Callable[[], object], min_seconds: float) -> float:
    """Seconds per call, repeating quick calls until ``min_seconds`` have passed (timer resolution)."""
    start = time.perf_counter()
    function()
    once = time.perf_counter() - start
    if once >= min_seconds:
        return once
    repeats = max(1, min(10_000, math.ceil(min_seconds / max(once, 1e-7))))
    start = time.perf_counter()
    for _ in range(repeats):
        function()
    return (time.perf_counter() - start) / repeats


def measure_discrete_log(method: Callable[[ToyGroup, int], DiscreteLog], bits: Iterable[int], *,
                         min_seconds: float = 0.005) -> tuple[Measurement, ...]:
    """Time ``method`` on safe-prime groups of each size in ``bits``.

    The target is g^(order - 1), the last exponent a brute-force search tries (its worst case), so
    the operation counts are exact and the same on every run; only the seconds vary.
    """
    measurements = []
    for size in bits:
        group = ToyGroup.safe(size)
        target = group.power(group.order - 1)
        result = method(group, target)
        if result.exponent != group.order - 1:
            raise ToyMathError(f"{method.__name__} found {result.exponent}, expected {group.order - 1}")
        seconds = _timed(lambda: method(group, target), min_seconds)
        measurements.append(Measurement(result.method, size, group.order, result.operations, seconds))
    return tuple(measurements)


def measurement_table(measurements: Sequence[Measurement], *, timings: bool = False) -> Table:
    """The searches as a table: exact operation counts, and the measured seconds only if asked."""
    headers = ("method", "group bits", "order of g", "operations")
    rows = []
    for m in measurements:
        row = (m.method, str(m.bits), f"{m.order:,}", f"{m.operations:,}")
        rows.append(row + ((f"{m.seconds * 1000:.3f} ms", f"{m.operations_per_second:,.0f}") if timings else ()))
    return Table(headers + (("time", "operations/s") if timings else ()), tuple(rows))


@dataclass(frozen=True)
class GrowthFit:
    """log2(seconds) = intercept + slope * bits: every extra bit multiplies the time by 2^slope."""

    slope: float
    intercept: float

    def seconds(self, bits: float) -> float:
        return 2.0 ** (self.intercept + self.slope * bits)

    def __str__(self) -> str:
        return f"time ~ 2^({self.intercept:.1f} + {self.slope:.2f} x bits) seconds"


def fit_growth(measurements: Sequence[Measurement]) -> GrowthFit:
    """Least-squares fit of log2(seconds) against the group's size in bits."""
    if len(measurements) < 2:
        raise ToyMathError("fitting a growth curve needs at least two measurements")
    xs = [m.bits for m in measurements]
    ys = [math.log2(m.seconds) for m in measurements]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        raise ToyMathError("fitting a growth curve needs measurements at different sizes")
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys)) / spread
    return GrowthFit(slope, mean_y - slope * mean_x)


def measure_rate(operation: Callable[[], object], steps_per_call: int = 1, *, min_seconds: float = 0.02) -> float:
    """Steps per second of ``operation`` (which performs ``steps_per_call`` steps), measured here."""
    return steps_per_call / _timed(operation, min_seconds)


def measure_attacker_speeds() -> dict[str, float]:
    """Group operations per second this machine manages in each group, with the fastest code at hand.

    ffdhe2048: one multiplication modulo the 2048-bit prime (Python's integers, written in C).
    X25519: OpenSSL's X25519 through ``cryptography``, counted as one operation per ladder step
    (255 per key exchange); a rho step is one point addition, a little less work than a ladder step.
    """
    p = ffdhe2048_prime()
    factor = p // 3

    def thousand_multiplications() -> None:
        value = factor
        for _ in range(1000):
            value = value * factor % p

    own_key = x25519_primitives.X25519PrivateKey.generate()
    peer = x25519_primitives.X25519PrivateKey.generate().public_key()
    return {"ffdhe2048": measure_rate(thousand_multiplications, 1000),
            "X25519": measure_rate(lambda: own_key.exchange(peer), 255)}


_SECONDS_PER_YEAR = 365.25 * 24 * 3600


@dataclass(frozen=True)
class AttackCost:
    """How many group operations an attack needs, as a power of two (exact or a stated estimate)."""

    target: str
    method: str
    log2_operations: float
    note: str = ""

    def log10_years(self, operations_per_second: float) -> float:
        return (self.log2_operations * math.log10(2) - math.log10(operations_per_second)
                - math.log10(_SECONDS_PER_YEAR))


def _number_field_sieve_log2(p: int) -> float:
    """log2 of the heuristic NFS cost L_p[1/3, (64/9)^(1/3)], without its o(1) term."""
    ln_p = math.log(p)
    nats = (64 / 9) ** (1 / 3) * ln_p ** (1 / 3) * math.log(ln_p) ** (2 / 3)
    return nats / math.log(2)


def attack_costs() -> tuple[AttackCost, ...]:
    """The attacks on the two groups a TLS 1.3 handshake usually meets, in group operations.

    ffdhe2048: g has order q = (p - 1) / 2, so brute force tries up to q exponents and
    baby-step giant-step about 2 * sqrt(q); the number field sieve attacks the field itself and
    costs L_p[1/3, 1.923] (an estimate: its o(1) term hides constants). X25519: the base point has
    prime order l; the best known attack, Pollard's rho, needs about sqrt(pi * l / 4) additions.
    """
    q = (ffdhe2048_prime() - 1) // 2
    name, curve = "ffdhe2048", "X25519"
    return (
        AttackCost(name, "brute force", math.log2(q), "tries every exponent below q"),
        AttackCost(name, "baby-step giant-step", 1 + math.log2(q) / 2, "also stores sqrt(q) numbers"),
        AttackCost(name, "number field sieve", _number_field_sieve_log2(ffdhe2048_prime()),
                   "heuristic L_p[1/3, 1.923], sub-exponential"),
        AttackCost(curve, "brute force", math.log2(CURVE25519_ORDER), "tries every scalar below l"),
        AttackCost(curve, "Pollard rho", (math.log2(math.pi / 4) + math.log2(CURVE25519_ORDER)) / 2,
                   "best known attack, sqrt(pi * l / 4)"),
    )


def _years(log10_years: float) -> str:
    exponent = math.floor(log10_years)
    mantissa = 10 ** (log10_years - exponent)
    if -3 <= exponent < 6:
        return f"{mantissa * 10 ** exponent:,.3g} years"
    return f"{mantissa:.1f}e{exponent} years"


def cost_table(costs: Sequence[AttackCost], operations_per_second: float | dict[str, float], title: str = "") -> Table:
    """Attack costs turned into years at a speed (one rate, or one per target name)."""
    rows = []
    for cost in costs:
        rate = operations_per_second[cost.target] if isinstance(operations_per_second, dict) else operations_per_second
        rows.append((cost.target, cost.method, f"2^{cost.log2_operations:.1f}", _years(cost.log10_years(rate)),
                     cost.note))
    return Table(("group", "attack", "operations", "time", "note"), tuple(rows), title=title)


# --- the small-subgroup attack ------------------------------------------------------------------

_CONFIRMATION = b"Bob's key confirmation"


def _mac(shared: int, p: int) -> bytes:
    return hmac.new(shared.to_bytes((p.bit_length() + 7) // 8, "big"), _CONFIRMATION, hashlib.sha256).digest()


@dataclass
class ToyServer:
    """Bob as a server: he answers every client key share with a MAC keyed by the shared secret
    (much like a TLS Finished message), using the same secret every time.

    ``check`` is the test Bob applies to a public value before using it: ``None`` for none at all,
    or a function ``(y, group) -> bool`` such as :func:`is_valid_public_value`.
    """

    group: ToyGroup
    secret: int
    check: Callable[[int, ToyGroup], bool] | None = None
    queries: int = field(default=0, init=False)

    @property
    def public(self) -> int:
        return self.group.power(self.secret)

    def answer(self, client_public: int) -> bytes:
        self.queries += 1
        if self.check is not None and not self.check(client_public, self.group):
            raise InvalidPublicValue(f"Bob refused the public value {client_public}: it failed his check")
        return _mac(pow(client_public, self.secret, self.group.p), self.group.p)


@dataclass(frozen=True)
class SmallSubgroupAttack:
    """What an attacker learned by sending elements of small order to a :class:`ToyServer`."""

    group: ToyGroup
    congruences: tuple[tuple[int, int, int], ...]  # (subgroup order r, element sent, secret mod r)
    queries: int
    trials: int
    recovered: int | None
    refused: str | None = None

    def table(self) -> Table:
        rows = tuple((str(r), str(h), f"secret = {x} (mod {r})") for r, h, x in self.congruences)
        return Table(("subgroup order r", "element of order r sent", "learned from Bob's answer"), rows,
                     title=f"Small-subgroup attack on p = {self.group.p}")

    def __str__(self) -> str:
        lines = [str(self.table())] if self.congruences else []
        if self.refused:
            lines.append(f"attack stopped after {self.queries} query: {self.refused}")
        else:
            lines.append(f"{self.queries} queries and {self.trials} MAC trials; Chinese remainder theorem "
                         f"-> secret = {self.recovered}")
        return "\n".join(lines)

    __repr__ = __str__


def element_of_order(r: int, p: int) -> int:
    """The first element of order r modulo p (r a prime dividing p - 1): x^((p-1)/r) for x = 2, 3, ..."""
    if not is_prime(r) or (p - 1) % r:
        raise ToyMathError(f"there is no element of order {r} modulo {p}: r must be a prime dividing p - 1")
    return next(h for h in (pow(x, (p - 1) // r, p) for x in range(2, p)) if h != 1)


def small_subgroup_attack(server: ToyServer, *, bound: int = 1000) -> SmallSubgroupAttack:
    """Recover ``server``'s secret piece by piece (Lim and Lee, 1997).

    For each small prime r dividing p - 1, send an element h of order r. Bob's shared value h^b
    can then take only r values, so trying them all against his MAC reveals b mod r. Once the
    product of the r's exceeds the order of g, the Chinese remainder theorem gives b itself.
    """
    group, congruences, trials = server.group, [], 0
    product = 1
    for r in group.small_subgroup_orders(bound):
        if product > group.order:
            break
        h = element_of_order(r, group.p)
        try:
            tag = server.answer(h)
        except InvalidPublicValue as refusal:
            return SmallSubgroupAttack(group, tuple(congruences), server.queries, trials, None, str(refusal))
        for x in range(r):
            trials += 1
            if hmac.compare_digest(_mac(pow(h, x, group.p), group.p), tag):
                congruences.append((r, h, x))
                product *= r
                break
    if product <= group.order:
        raise ToyMathError(f"the small subgroups of p = {group.p} below {bound} are too few to pin down a "
                           f"secret of order {group.order}: raise bound or use ToyGroup.with_small_subgroups")
    recovered, _ = crt((r, x) for r, _, x in congruences)
    return SmallSubgroupAttack(group, tuple(congruences), server.queries, trials, recovered)


# --- man in the middle --------------------------------------------------------------------------

def keystream_xor(key: int, data: bytes) -> bytes:
    """A toy stream cipher: XOR with SHA-256(key, counter) blocks. Encrypting and decrypting are the
    same operation. No nonce and no integrity: never use it for anything real."""
    key_bytes = key.to_bytes(max(1, (key.bit_length() + 7) // 8), "big")
    stream = b"".join(hashlib.sha256(key_bytes + i.to_bytes(4, "big")).digest()
                      for i in range((len(data) + 31) // 32))
    return bytes(x ^ y for x, y in zip(data, stream))


@dataclass(frozen=True)
class ManInTheMiddle:
    """Mallory sits between Alice and Bob and runs one Diffie-Hellman exchange with each of them."""

    group: ToyGroup
    alice_secret: int
    bob_secret: int
    mallory_secrets: tuple[int, int]  # one for the exchange with Alice, one for the exchange with Bob

    @property
    def with_alice(self) -> ToyExchange:
        """The exchange Alice really takes part in (Mallory plays Bob)."""
        return ToyExchange(self.group, self.alice_secret, self.mallory_secrets[0])

    @property
    def with_bob(self) -> ToyExchange:
        """The exchange Bob really takes part in (Mallory plays Alice)."""
        return ToyExchange(self.group, self.mallory_secrets[1], self.bob_secret)

    @property
    def alice_key(self) -> int:
        return self.with_alice.alice_shared

    @property
    def bob_key(self) -> int:
        return self.with_bob.bob_shared

    def table(self) -> Table:
        alice, bob = self.with_alice, self.with_bob
        m1, m2 = self.mallory_secrets
        return Table(
            ("Alice", "Mallory, in the middle", "Bob"),
            ((f"secret a = {self.alice_secret}", f"secrets m1 = {m1}, m2 = {m2}", f"secret b = {self.bob_secret}"),
             (f"sends A = {alice.alice_public}  -->", f"keeps A; sends M2 = g^m2 = {bob.alice_public}  -->",
              f"receives {bob.alice_public}, thinks it is A"),
             (f"receives {alice.bob_public}, thinks it is B", f"<--  sends M1 = g^m1 = {alice.bob_public}; keeps B",
              f"<--  sends B = {bob.bob_public}"),
             (f"K = {alice.alice_shared}", f"K with Alice = {alice.bob_shared}, K with Bob = {bob.alice_shared}",
              f"K = {bob.bob_shared}")),
            title="Two exchanges instead of one: Mallory shares a key with each side")

    def relay(self, message: str, rewrite: Callable[[str], str] | None = None) -> Table:
        """Alice sends ``message`` encrypted; Mallory decrypts, optionally rewrites, re-encrypts for Bob."""
        sent = keystream_xor(self.alice_key, message.encode())
        read = keystream_xor(self.with_alice.bob_shared, sent).decode()
        forwarded = rewrite(read) if rewrite else read
        resent = keystream_xor(self.with_bob.alice_shared, forwarded.encode())
        received = keystream_xor(self.bob_key, resent).decode()
        return Table(("who", "does", "text", "bytes on the wire"),
                     (("Alice", f"encrypts with K = {self.alice_key}", message, sent.hex()),
                      ("Mallory", f"decrypts with K = {self.with_alice.bob_shared}", read, ""),
                      ("Mallory", f"encrypts with K = {self.with_bob.alice_shared}", forwarded, resent.hex()),
                      ("Bob", f"decrypts with K = {self.bob_key}", received, "")))

    def __str__(self) -> str:
        return str(self.table())

    __repr__ = __str__


def man_in_the_middle(group: ToyGroup, alice_secret: int, bob_secret: int,
                      mallory_secrets: tuple[int, int]) -> ManInTheMiddle:
    for name, secret in (("alice_secret", alice_secret), ("bob_secret", bob_secret),
                         ("mallory_secrets[0]", mallory_secrets[0]), ("mallory_secrets[1]", mallory_secrets[1])):
        if not isinstance(secret, int) or not 1 <= secret < group.order:
            raise ToyMathError(f"{name} = {secret!r} must be an integer from 1 to {group.order - 1}")
    return ManInTheMiddle(group, alice_secret, bob_secret, tuple(mallory_secrets))


# --- elliptic curves ----------------------------------------------------------------------------

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
        _check_prime(self.p)
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


# --- X25519, written out ------------------------------------------------------------------------

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
