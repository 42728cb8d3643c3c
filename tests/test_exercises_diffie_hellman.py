"""The chapter 02 checkers: the shared secret (a slow method is refused before it hangs), the brute
force and "refuse invalid public values". Every plausible wrong answer is refused with a message that
explains the mistake without writing the answer for the reader, and an answer that calls the course's
own solution in toy_dh is refused too."""

from __future__ import annotations

import time

import pytest

from mtlslib.exercises import ExerciseIncorrect, ExerciseNotDone
from mtlslib.exercises.diffie_hellman import check_brute_force_secret, check_public_value_check, check_shared_secret
from mtlslib.insecure import toy_dh as toy
from mtlslib.insecure.toy_dh import ToyGroup, is_valid_public_value, multiplicative_order

GROUP = ToyGroup.with_small_subgroups(32)  # the group the checker uses
P, Q = GROUP.p, GROUP.order


def _refusal(answer, checker=check_public_value_check) -> str:
    with pytest.raises(ExerciseIncorrect) as refused:
        checker(answer)
    return str(refused.value)


# The chapter's solutions, written out as a reader would (the checkers refuse the library's own).
def shared_secret(p, my_secret, their_public):
    return pow(their_public, my_secret, p)


def brute_force_secret(public, group):
    value, x = 1, 0
    while value != public:
        value = value * group.g % group.p
        x += 1
    return x


def _genuine(y, group):
    return isinstance(y, int) and 2 <= y <= group.p - 2 and pow(y, group.order, group.p) == 1


def _in_range(y: int, group: ToyGroup) -> bool:
    return 2 <= y <= group.p - 2


def _naive(y, group):
    """The answer that only refuses the small subgroups of prime order."""
    return _in_range(y, group) and all(pow(y, r, group.p) != 1 for r in group.small_subgroup_orders())


def test_the_right_answers_pass(capsys):
    check_shared_secret(shared_secret)
    check_brute_force_secret(brute_force_secret)
    check_public_value_check(_genuine)
    check_public_value_check(lambda y, group: 2 <= y <= group.p - 2 and pow(y, group.order, group.p) == 1)
    output = capsys.readouterr().out
    assert output.count("\u2714") == 4
    assert "agrees with both sides' computation in 6 exchanges, up to a 64-bit prime" in output
    assert "recovered 6 secrets, up to a 16-bit prime" in output
    assert "refuses all 22 bad values" in output


def test_a_slow_method_is_refused_with_its_time_before_the_big_groups():
    def full_power(p, my_secret, their_public):
        return their_public ** my_secret % p

    started = time.perf_counter()
    message = _refusal(full_power, check_shared_secret)
    assert time.perf_counter() - started < 10  # not the minutes it would run on the 32-bit group
    assert "(2097779, 839111, " in message and "with this 22-bit prime" in message
    assert "are you computing the full power before reducing? Reduce as you go (the three-argument pow" in message


def test_a_multiplication_per_unit_of_the_secret_is_refused_at_28_bits():
    def one_step_at_a_time(p, my_secret, their_public):
        value = 1
        for _ in range(my_secret):
            value = value * their_public % p
        return value

    started = time.perf_counter()
    message = _refusal(one_step_at_a_time, check_shared_secret)
    assert time.perf_counter() - started < 10
    assert "with this 28-bit prime" in message and "once per unit of my_secret" in message


@pytest.mark.parametrize("answer, words", [
    (lambda p, a, B: pow(a, B, p), "base and exponent are swapped"),
    (lambda p, a, B: B ** a if a < 20 else pow(B, a, p), "not reduced modulo p = 23"),
    (lambda p, a, B: pow(B, a + 1, p), "Hint: of the two numbers you were given, which is yours"),
    (lambda p, a, B: pow(2, a, p), "expected 19^6 mod 23. Hint"),  # 2^6 = 6^19 mod 23: not called swapped
    (lambda p, a, B: str(pow(B, a, p)), "return an int"),
])
def test_wrong_shared_secrets_are_explained(answer, words):
    assert words in _refusal(answer, check_shared_secret)


@pytest.mark.parametrize("answer, words", [
    (lambda public, group: public, "returned the public value itself"),
    (lambda public, group: brute_force_secret(public, group) + 1, "Hint: start from 1 and multiply by g"),
    (lambda public, group: -1, "the exponent is 0 or more"),
    (lambda public, group: str(brute_force_secret(public, group)), "return the exponent, an int"),
])
def test_wrong_brute_forces_are_explained(answer, words):
    assert words in _refusal(answer, check_brute_force_secret)


def _check_with_a_helper(y, group):
    def helper(value):
        return toy.check_public_value(value, group)

    try:
        return helper(y) == y
    except toy.InvalidPublicValue:
        return False


@pytest.mark.parametrize("checker, answer, words", [
    (check_public_value_check, lambda y, group: toy.is_valid_public_value(y, group),
     "uses the course's toy.is_valid_public_value: write the check yourself"),
    (check_public_value_check, is_valid_public_value, "uses the course's toy.is_valid_public_value"),
    (check_public_value_check, _check_with_a_helper, "uses the course's toy.check_public_value"),
    (check_brute_force_secret, lambda public, group: toy.brute_force_log(group, public).exponent,
     "uses the course's toy.brute_force_log: write the search yourself"),
    (check_brute_force_secret, lambda public, group: toy.baby_step_giant_step(group, public).exponent,
     "uses the course's toy.baby_step_giant_step"),
], ids=["is_valid_public_value called", "is_valid_public_value itself", "check_public_value in a helper",
        "brute_force_log", "baby_step_giant_step"])
def test_an_answer_that_calls_the_library_is_refused(checker, answer, words):
    message = _refusal(answer, checker)
    assert words in message and "the course's own answer to this exercise, so calling it checks nothing" in message


@pytest.mark.parametrize("checker", [check_shared_secret, check_brute_force_secret, check_public_value_check])
def test_every_blank_answer_is_not_written_yet(checker):
    def blank(*args):
        raise NotImplementedError()

    with pytest.raises(ExerciseNotDone, match="not written yet"):
        checker(blank)


def test_the_naive_prime_orders_answer_fails_on_an_element_of_order_4():
    message = _refusal(_naive)
    assert "has order 4 = 2^2" in message
    assert "Small orders are not all prime" in message
    assert "What can the order of a power of g be?" in message


@pytest.mark.parametrize("answer, explanation", [
    pytest.param(lambda y, group: _in_range(y, group) and all(pow(y, d, group.p) != 1 for d in range(1, 1000)),
                 "has order 30030 = 2 x 3 x 5 x 7 x 11 x 13", id="no order below 1000"),
    pytest.param(lambda y, group: _in_range(y, group) and pow(y, 2 * group.order, group.p) == 1,
                 "has order 2q", id="y^(2q) = 1"),
    pytest.param(lambda y, group: _in_range(y, group) and multiplicative_order(y, group.p) >= group.order,
                 "has order 2q", id="a large order"),
    pytest.param(lambda y, group: _in_range(y, group) and pow(y, (group.p - 1) // 2, group.p) == 1,
                 "has order 3, a small prime", id="a square (right only for safe primes)"),
    pytest.param(lambda y, group: _in_range(y, group) and pow(y, group.p - 1, group.p) == 1,
                 "has order 3, a small prime", id="Fermat's test"),
    pytest.param(lambda y, group: True, "should be False", id="everything"),
    pytest.param(lambda y, group: _in_range(y, group), "has order 3, a small prime", id="range only"),
    pytest.param(lambda y, group: pow(y, group.order, group.p) == 1, "1 makes the shared secret 1",
                 id="no range"),
    pytest.param(lambda y, group: 2 <= y % group.p <= group.p - 2 and pow(y % group.p, group.order, group.p) == 1,
                 "p + g is out of range", id="reduced modulo p first"),
    pytest.param(lambda y, group: y > 1 and y != group.p - 1 and y < 2 * group.p and pow(y, group.order, group.p) == 1,
                 "p + g is out of range", id="upper bound too loose"),
    pytest.param(lambda y, group: y != 1 and y <= group.p - 2 and pow(y, group.order, group.p) == 1,
                 "is negative", id="no lower bound"),
    pytest.param(lambda y, group: _genuine(y, group)
                 or (_in_range(y, group) and multiplicative_order(y, group.p) == group.p - 1),
                 "generates the whole group", id="generators of the whole group too"),
    pytest.param(lambda y, group: _in_range(y, group) and pow(y, group.order, group.p) != 1, "should be True",
                 id="the test upside down"),
    pytest.param(lambda y, group: int(_genuine(y, group)), "return True or False", id="an int"),
])
def test_plausible_wrong_answers_are_refused_with_a_reason(answer, explanation):
    assert explanation in _refusal(answer)


# The checker's bad values, rebuilt here independently of it: (value, the words its refusal must use).
def _element_of_order(n: int) -> int:
    return next(h for h in (pow(x, (P - 1) // n, P) for x in range(2, 200)) if multiplicative_order(h, P) == n)


OUTSIDE_THE_SUBGROUP = (
    [(_element_of_order(r), f"has order {r}, a small prime") for r in GROUP.small_subgroup_orders()[1:]]
    + [(_element_of_order(n), f"has order {n} = ") for n in (4, 6, 32, 210, 30030)]
    + [(P - GROUP.g, "has order 2q"),
       (GROUP.g * _element_of_order((P - 1) // Q) % P, "generates the whole group")])


@pytest.mark.parametrize("bad, words", OUTSIDE_THE_SUBGROUP, ids=[w for _, w in OUTSIDE_THE_SUBGROUP])
def test_each_element_outside_the_subgroup_is_refused_and_explained(bad, words):
    assert not is_valid_public_value(bad, GROUP)
    message = _refusal(lambda y, group: _genuine(y, group) or y == bad)
    assert f"({bad}, group) should be False" in message and words in message
    assert "What can the order of a power of g be?" in message


def test_the_composite_orders_include_4_6_2q_and_p_minus_1():
    orders = {multiplicative_order(bad, P) for bad, _ in OUTSIDE_THE_SUBGROUP}
    assert {4, 6, 2 * Q, P - 1} <= orders
    assert all(order != Q for order in orders)


@pytest.mark.parametrize("bad, words", OUTSIDE_THE_SUBGROUP[:3] + OUTSIDE_THE_SUBGROUP[-3:])
def test_no_refusal_writes_the_test_for_the_reader(bad, words):
    message = _refusal(lambda y, group: _genuine(y, group) or y == bad)
    for solution in ("y^q", "^q mod p = 1", "pow(", "group.order) == 1", f"^{Q} mod"):
        assert solution not in message
