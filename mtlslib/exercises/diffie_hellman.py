"""Checkers for the Diffie-Hellman chapter (notebooks/02_diffie_hellman.ipynb).

Each checker calls the reader's function on toy groups (small primes, FOR TEACHING ONLY), compares
with :mod:`mtlslib.insecure.toy_dh`, and explains the usual mistakes.
"""

from __future__ import annotations

from typing import Callable

from mtlslib.exercises import attempt, expect, well_done
from mtlslib.insecure.toy_dh import (
    ToyGroup,
    ToyServer,
    element_of_order,
    small_subgroup_attack,
    toy_secret,
)

__all__ = ["check_brute_force_secret", "check_public_value_check", "check_shared_secret"]


def check_shared_secret(shared_secret: Callable[[int, int, int], int]) -> None:
    """``shared_secret(p, my_secret, their_public)`` must return their_public^my_secret mod p."""
    name = getattr(shared_secret, "__name__", "shared_secret")
    textbook = ToyGroup.of(23, 5)
    # In the bigger groups the secrets are derived from labels: too big to guess, the same every run.
    cases = [(textbook, 6, 15), (textbook, 13, 2)] + [
        (group, toy_secret(f"alice {group.p}", group.order), toy_secret(f"bob {group.p}", group.order))
        for group in (ToyGroup.safe(32), ToyGroup.safe(64))]
    for group, a, b in cases:
        p, A, B = group.p, group.power(a), group.power(b)
        alice, bob = attempt(shared_secret, p, a, B), attempt(shared_secret, p, b, A)
        expect(isinstance(alice, int), f"{name}({p}, {a}, {B}) returned {type(alice).__name__} "
               f"{alice!r}: return an int")
        expect(alice != pow(a, B, p) or alice == pow(B, a, p),
               f"{name}({p}, {a}, {B}) returned {a}^{B} mod {p}: base and exponent are swapped. "
               "The base is the public value you received; the exponent is your own secret.")
        expect(0 <= alice < p, f"{name}({p}, {a}, {B}) returned {alice}, which is not reduced "
               f"modulo p = {p}: use pow(base, exponent, p)")
        expect(alice == pow(B, a, p),
               f"{name}({p}, {a}, {B}) returned {alice}; expected {B}^{a} mod {p}. "
               "Hint: Alice raises Bob's public value to her own secret.")
        expect(alice == bob, f"in the group {group}, Alice computed {alice} but Bob computed {bob}")
    well_done(f"your {name} agrees with both sides' computation in {len(cases)} groups, "
              f"up to a {cases[-1][0].bits}-bit prime")


def check_brute_force_secret(brute_force_secret: Callable[[int, ToyGroup], int]) -> None:
    """``brute_force_secret(public, group)`` must return an exponent x with g^x = public mod p."""
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


def check_public_value_check(is_valid: Callable[[int, ToyGroup], bool]) -> None:
    """``is_valid(y, group)`` must accept the real public values g^x and refuse everything else:
    0, 1, p - 1, numbers out of range, and elements of the small subgroups."""
    group = ToyGroup.with_small_subgroups(32)
    p, name = group.p, getattr(is_valid, "__name__", "your check")

    def answer(y: int) -> bool:
        result = attempt(is_valid, y, group)
        expect(isinstance(result, bool), f"{name}({y}, group) returned "
               f"{type(result).__name__} {result!r}: return True or False")
        return result

    for label in ("a", "b", "c"):
        y = group.power(toy_secret(f"valid {label}", group.order))
        expect(answer(y), f"{name}({y}, group) should be True: it is g^x for a secret x, a real public value")
    refused = {0: "0 makes the shared secret 0 whatever the secret",
               1: "1 makes the shared secret 1 whatever the secret",
               p - 1: "p - 1 has order 2: the shared secret is 1 or p - 1, leaking the secret's parity",
               p: "p is out of range (and equals 0 modulo p)",
               p + group.g: "p + g is out of range: values must lie between 2 and p - 2",
               -group.g: "a negative number is not a public value"}
    for r in group.small_subgroup_orders()[1:]:
        h = element_of_order(r, p)
        refused[h] = (f"{h} has order {r}: the shared secret can take only {r} values. Hint: a real "
                      f"public value y satisfies y^q mod p = 1, with q = group.order")
    for y, why in refused.items():
        expect(not answer(y), f"{name}({y}, group) should be False: {why}")
    unprotected = small_subgroup_attack(ToyServer(group, toy_secret("Bob's secret", group.order)))
    protected = small_subgroup_attack(ToyServer(group, toy_secret("Bob's secret", group.order),
                                                check=lambda y, _: answer(y)))
    expect(protected.recovered is None, "the small-subgroup attack still recovered Bob's secret through your check")
    well_done(f"your check refuses all {len(refused)} bad values. Without it, the attack recovers Bob's secret "
              f"in {unprotected.queries} queries; with it, the attack stops at query {protected.queries}.")
