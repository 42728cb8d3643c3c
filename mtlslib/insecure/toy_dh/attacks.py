"""Attacks on the toy Diffie-Hellman, and what they would cost at real sizes. FOR TEACHING ONLY.

* discrete logarithms: :func:`brute_force_log`, :func:`baby_step_giant_step`, timed by
  :func:`measure_discrete_log` and fitted by :func:`fit_growth`;
* the cost of the best attacks on the groups TLS uses: :func:`attack_costs`, :func:`cost_table`,
  with this machine's speed from :func:`measure_attacker_speeds`;
* the small-subgroup attack on a server that does not check public values: :class:`ToyServer`,
  :func:`small_subgroup_attack`;
* the man in the middle of an unauthenticated exchange: :func:`man_in_the_middle`.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

from cryptography.hazmat.primitives.asymmetric import x25519 as x25519_primitives

from mtlslib.display import Shown, Table
from mtlslib.errors import InvalidPublicValue, ToyMathError

from .groups import ToyExchange, ToyGroup
from .numbers import check_prime, crt, ffdhe2048_prime, prime_factors
from .x25519 import CURVE25519_ORDER

__all__ = ["AttackCost", "DiscreteLog", "GrowthFit", "ManInTheMiddle", "Measurement", "SmallSubgroupAttack",
           "ToyServer", "attack_costs", "baby_step_giant_step", "brute_force_log", "cost_table", "element_of_order",
           "fit_growth", "keystream_xor", "man_in_the_middle", "measure_attacker_speeds", "measure_discrete_log",
           "measure_rate", "measurement_table", "small_subgroup_attack"]


@dataclass(frozen=True)
class DiscreteLog(Shown):
    """An exponent x with g^x = target, and how many group operations it took to find it in a
    group of ``group_order`` elements (brute force needs up to that many; baby-step giant-step
    about twice its square root)."""

    exponent: int
    operations: int
    method: str
    group_order: int

    def __str__(self) -> str:
        return (f"x = {self.exponent}, found by {self.method} in {self.operations:,} operations "
                f"(the group has {self.group_order:,} elements)")


def brute_force_log(group: ToyGroup, target: int) -> DiscreteLog:
    """Try g^0, g^1, g^2, ... until one equals ``target``: one multiplication per try."""
    value, exponent = 1, 0
    p, g, target = group.p, group.g, target % group.p
    while value != target:
        if exponent >= group.order:
            raise ToyMathError(f"{target} is not a power of g = {group.g} modulo {p}")
        value = value * g % p
        exponent += 1
    return DiscreteLog(exponent, exponent, "brute force", group.order)


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
            return DiscreteLog((i * m + baby[gamma]) % order, m + i, "baby-step giant-step", order)
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


def _timed(function: Callable[[], object], min_seconds: float, once: float | None = None) -> float:
    """Seconds per call, repeating quick calls until ``min_seconds`` have passed (timer resolution).
    ``once``: the seconds of a call already made, enough on its own if it lasted ``min_seconds``."""
    if once is None:
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
        start = time.perf_counter()
        result = method(group, target)
        once = time.perf_counter() - start
        if result.exponent != group.order - 1:
            raise ToyMathError(f"{method.__name__} found {result.exponent}, expected {group.order - 1}")
        seconds = _timed(lambda: method(group, target), min_seconds, once)  # a long search is not run twice
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
class GrowthFit(Shown):
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
class SmallSubgroupAttack(Shown):
    """What an attacker learned by sending elements of small order to a :class:`ToyServer`."""

    group: ToyGroup
    congruences: tuple[tuple[int, int, int], ...]  # (subgroup order r, element sent, secret mod r)
    queries: int
    trials: int
    recovered: int | None
    refused: str | None = None

    @property
    def congruence_table(self) -> Table:
        """One row per small subgroup: the element sent, and the secret's remainder learned from it."""
        rows = tuple((str(r), str(h), f"secret = {x} (mod {r})") for r, h, x in self.congruences)
        return Table(("subgroup order r", "element of order r sent", "learned from Bob's answer"), rows,
                     title=f"Small-subgroup attack on p = {self.group.p}")

    def __str__(self) -> str:
        lines = [str(self.congruence_table)] if self.congruences else []
        if self.refused:
            lines.append(f"attack stopped after {self.queries} query: {self.refused}")
        else:
            lines.append(f"{self.queries} queries and {self.trials} MAC trials; Chinese remainder theorem "
                         f"-> secret = {self.recovered}")
        return "\n".join(lines)

    __repr__ = __str__


def element_of_order(n: int, p: int) -> int:
    """The first element of order exactly n modulo the prime p (n > 1 dividing p - 1, prime or not):
    the first h = x^((p-1)/n), x = 2, 3, ..., with no h^(n/r) equal to 1 for a prime factor r of n.
    (h^n = x^(p-1) = 1, so h's order divides n; it is n itself when no smaller power of that kind is 1.)"""
    check_prime(p)
    if not isinstance(n, int) or n < 2 or (p - 1) % n:
        raise ToyMathError(f"there is no element of order {n} modulo {p}: n must be above 1 and divide p - 1")
    factors = prime_factors(n)
    return next(h for h in (pow(x, (p - 1) // n, p) for x in range(2, p))
                if all(pow(h, n // r, p) != 1 for r in factors))


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
class ManInTheMiddle(Shown):
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

    def _table(self) -> Table:
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
        return str(self._table())

    __repr__ = __str__


def man_in_the_middle(group: ToyGroup, alice_secret: int, bob_secret: int,
                      mallory_secrets: tuple[int, int]) -> ManInTheMiddle:
    for name, secret in (("alice_secret", alice_secret), ("bob_secret", bob_secret),
                         ("mallory_secrets[0]", mallory_secrets[0]), ("mallory_secrets[1]", mallory_secrets[1])):
        if not isinstance(secret, int) or not 1 <= secret < group.order:
            raise ToyMathError(f"{name} = {secret!r} must be an integer from 1 to {group.order - 1}")
    return ManInTheMiddle(group, alice_secret, bob_secret, tuple(mallory_secrets))

