"""Checkers for the Diffie-Hellman chapter (notebooks/02_diffie_hellman.ipynb).

Each checker calls the reader's function on toy groups (small primes, FOR TEACHING ONLY), compares
with :mod:`mtlslib.insecure.toy_dh`, and explains the usual mistakes.
"""

from __future__ import annotations

import time
from functools import lru_cache
from types import CodeType
from typing import Any, Callable

from mtlslib.exercises import attempt, expect, well_done
from mtlslib.insecure import toy_dh
from mtlslib.insecure.toy_dh import (
    ToyGroup,
    ToyServer,
    element_of_order,
    prime_factors,
    small_subgroup_attack,
    toy_secret,
)

__all__ = ["check_brute_force_secret", "check_public_value_check", "check_shared_secret"]


# Seconds a call may take in the timed cases: the three-argument pow answers in microseconds there,
# a slow method takes a second or more (and would run for minutes or run out of memory at 32 bits).
_TIME_LIMIT = 0.25

# The timed cases: a group small enough for a slow method to finish, Alice's secret as a share of g's order
# (large enough for that method to take about a second, where the three-argument pow takes microseconds),
# then the hint when her call takes too long.
_TIMED = (
    # A power of about 12 million bits: over a second to compute in full (0.4 s, at 0.4 of the order, was
    # too close to the limit on a newer Python).
    (22, 0.8, "are you computing the full power before reducing? Reduce as you go (the three-argument pow does "
              "that)"),
    # 2^25 multiplications: over a second even on a fast machine with a newer Python (0.3 s at 26 bits was
    # too close to the limit, and the 32-bit group after it would then run for minutes).
    (28, 0.5, "are you multiplying by their_public once per unit of my_secret? That is as many steps as the "
              "secret is large; square-and-multiply needs about two per bit of it (the three-argument pow does "
              "that)"),
)


def check_shared_secret(shared_secret: Callable[[int, int, int], int]) -> None:
    """``shared_secret(p, my_secret, their_public)`` must return their_public^my_secret mod p."""
    name = getattr(shared_secret, "__name__", "shared_secret")
    textbook = ToyGroup.of(23, 5)
    timed = [(ToyGroup.safe(bits), share, hint) for bits, share, hint in _TIMED]
    # Outside the textbook group the secrets are the same on every run: fixed shares of g's order in the
    # timed groups, derived from labels in the bigger ones.
    cases = [(textbook, 6, 15, None), (textbook, 13, 2, None)] + [
        (group, int(group.order * share), group.order // 3, hint) for group, share, hint in timed] + [
        (group, toy_secret(f"alice {group.p}", group.order), toy_secret(f"bob {group.p}", group.order), None)
        for group in (ToyGroup.safe(32), ToyGroup.safe(64))]
    for group, a, b, slow in cases:
        p, A, B = group.p, group.power(a), group.power(b)
        started = time.perf_counter()
        alice = attempt(shared_secret, p, a, B)
        took = time.perf_counter() - started
        expect(slow is None or took <= _TIME_LIMIT,
               f"{name}({p}, {a}, {B}): it took {took:.1f} s with this {group.bits}-bit prime, and the groups "
               f"after it are larger still. Hint: {slow}")
        bob = attempt(shared_secret, p, b, A)
        expect(isinstance(alice, int), f"{name}({p}, {a}, {B}) returned {type(alice).__name__} "
               f"{alice!r}: return an int")
        # Swapped only if both calls are: in a group this small one may match by chance.
        expect(alice != pow(a, B, p) or alice == pow(B, a, p) or bob != pow(b, A, p),
               f"{name}({p}, {a}, {B}) returned {a}^{B} mod {p}: base and exponent are swapped. "
               "The base is the public value you received; the exponent is your own secret.")
        expect(0 <= alice < p, f"{name}({p}, {a}, {B}) returned {alice}, which is not reduced "
               f"modulo p = {p}: use pow(base, exponent, p)")
        expect(alice == pow(B, a, p),
               f"{name}({p}, {a}, {B}) returned {alice}; expected {B}^{a} mod {p}. "
               "Hint: of the two numbers you were given, which is yours and which came from the other side, "
               "and which of them is secret?")
        expect(alice == bob, f"in the group {group}, Alice computed {alice} but Bob computed {bob}")
    well_done(f"your {name} agrees with both sides' computation in {len(cases)} exchanges, "
              f"up to a {cases[-1][0].bits}-bit prime")


def _names_used(code: CodeType) -> set[str]:
    """The global and attribute names ``code`` uses, with those of the functions and lambdas inside it."""
    names = set(code.co_names)
    for constant in code.co_consts:
        if isinstance(constant, CodeType):
            names |= _names_used(constant)
    return names


def _refuse_library_answers(function: Any, what: str, library: tuple[str, ...]) -> None:
    """Refuse ``function`` if it is, or calls, one of the ``library`` functions of toy_dh: the course's
    own answers to the exercise, so calling them would check nothing."""
    name = getattr(function, "__name__", "your function")
    code = getattr(function, "__code__", None)
    used = [n for n in library if function is getattr(toy_dh, n)
            or (isinstance(code, CodeType) and n in _names_used(code))]
    expect(not used, f"{name}() uses the course's toy.{' and toy.'.join(used)}: write the {what} yourself: "
           "the library function is the course's own answer to this exercise, so calling it checks nothing")


def check_brute_force_secret(brute_force_secret: Callable[[int, ToyGroup], int]) -> None:
    """``brute_force_secret(public, group)`` must return an exponent x with g^x = public mod p."""
    _refuse_library_answers(brute_force_secret, "search", ("brute_force_log", "baby_step_giant_step"))
    groups = [ToyGroup.of(23, 5), ToyGroup.safe(12), ToyGroup.safe(16)]
    name = getattr(brute_force_secret, "__name__", "brute_force_secret")
    tried = 0
    for group in groups:
        for label in ("alice", "bob"):
            secret = toy_secret(f"brute force {label} {group.p}", group.order)
            public = group.power(secret)
            found = attempt(brute_force_secret, public, group)
            expect(isinstance(found, int), f"{name}({public}, ...) returned "
                   f"{type(found).__name__} {found!r}: return the exponent, an int")
            expect(found != public or group.power(found) == public,
                   f"{name}({public}, ...) returned the public value itself; return the "
                   f"exponent x such that {group.g}^x mod {group.p} = {public}")
            expect(found >= 0, f"{name}({public}, ...) returned {found}: the exponent is 0 or more")
            expect(group.power(found) == public,
                   f"{name}({public}, group with {group}) returned {found}, but "
                   f"{group.g}^{found} mod {group.p} = {group.power(found)}, not {public}. "
                   "Hint: start from 1 and multiply by g (mod p) until you reach the public value.")
            tried += 1
    well_done(f"your brute force recovered {tried} secrets, up to a {groups[-1].bits}-bit prime")


# Teaches the idea behind the check (powers of g have an order dividing g's prime order) without
# writing the test itself.
_SUBGROUP_HINT = ("Hint: a genuine public value is a power of g, and the order of g, group.order, is prime. "
                  "What can the order of a power of g be?")


def _factorization(n: int) -> str:
    parts = []
    for r in prime_factors(n):
        power = 0
        while n % r == 0:
            n, power = n // r, power + 1
        parts.append(f"{r}^{power}" if power > 1 else str(r))
    return " x ".join(parts)


@lru_cache(maxsize=1)
def _bad_public_values(group: ToyGroup) -> dict[int, str]:
    """Every value a check must refuse, with why, in the order a reader's mistakes are most likely met."""
    p, q, g = group.p, group.order, group.g
    bad = {0: "0 makes the shared secret 0 whatever the secret",
           1: "1 makes the shared secret 1 whatever the secret",
           p - 1: "p - 1 has order 2: the shared secret is 1 or p - 1, leaking the secret's parity",
           p: "p is out of range (and equals 0 modulo p)",
           p + g: "p + g is out of range: values must lie between 2 and p - 2",
           g - p: "g - p is negative: a public value is never negative, even when it equals a genuine one "
                  "modulo p"}
    for r in group.small_subgroup_orders()[1:]:
        h = element_of_order(r, p)
        bad[h] = (f"{h} has order {r}, a small prime: the shared secret {h}^b can take only {r} values, so "
                  f"Bob's answer reveals b mod {r}. {_SUBGROUP_HINT}")
    for n in (4, 6, 32, 2 * 3 * 5 * 7, 2 * 3 * 5 * 7 * 11 * 13):
        h = element_of_order(n, p)
        bad[h] = (f"{h} has order {n} = {_factorization(n)}: {h}^r mod p is not 1 for any prime r, yet the shared "
                  f"secret {h}^b takes only {n} values and reveals b mod {n}. Small orders are not all prime: "
                  f"looking for the small prime orders one by one misses the orders they multiply into. "
                  f"{_SUBGROUP_HINT}")
    minus_g = (p - g) % p
    bad[minus_g] = (f"{minus_g} (that is p - g) has order 2q: its square is a power of g but it is not one itself. "
                    "The shared secret it yields is plus or minus what a genuine value would give, and the sign "
                    f"tells the attacker whether b is even. A large order is not enough. {_SUBGROUP_HINT}")
    s = element_of_order((p - 1) // q, p)
    generator = g * s % p
    bad[generator] = (f"{generator} (g times an element of order (p - 1)/q) generates the whole group: its order is "
                      "p - 1, the largest there is, yet it is not a power of g. Its shared secret carries a part of "
                      f"small order that reveals b modulo the small factors of p - 1. {_SUBGROUP_HINT}")
    return bad


def check_public_value_check(is_valid: Callable[[int, ToyGroup], bool]) -> None:
    """``is_valid(y, group)`` must accept the real public values g^x and refuse everything else:
    0, 1, p - 1, numbers out of range, and every element outside g's subgroup, whatever its order
    (small primes, small composites, 2q, p - 1)."""
    _refuse_library_answers(is_valid, "check", ("is_valid_public_value", "check_public_value"))
    group = ToyGroup.with_small_subgroups(32)
    name = getattr(is_valid, "__name__", "your check")

    def answer(y: int) -> bool:
        result = attempt(is_valid, y, group)
        expect(isinstance(result, bool), f"{name}({y}, group) returned "
               f"{type(result).__name__} {result!r}: return True or False")
        return result

    for label in ("a", "b", "c"):
        y = group.power(toy_secret(f"valid {label}", group.order))
        expect(answer(y), f"{name}({y}, group) should be True: it is g^x for a secret x, a real public value")
    refused = _bad_public_values(group)
    for y, why in refused.items():
        expect(not answer(y), f"{name}({y}, group) should be False: {why}")
    unprotected = small_subgroup_attack(ToyServer(group, toy_secret("Bob's secret", group.order)))
    protected = small_subgroup_attack(ToyServer(group, toy_secret("Bob's secret", group.order),
                                                check=lambda y, _: answer(y)))
    expect(protected.recovered is None, "the small-subgroup attack still recovered Bob's secret through your check")
    well_done(f"your check refuses all {len(refused)} bad values. Without it, the attack recovers Bob's secret "
              f"in {unprotected.queries} queries; with it, the attack stops at query {protected.queries}.")
