"""The chapter 02 checker for "refuse invalid public values": every plausible wrong answer is refused
with a message that explains the mistake without writing the test for the reader."""

from __future__ import annotations

import pytest

from mtlslib.exercises import ExerciseIncorrect, ExerciseNotDone
from mtlslib.exercises.diffie_hellman import check_public_value_check
from mtlslib.insecure.toy_dh import (
    ToyGroup,
    is_valid_public_value,
    multiplicative_order,
)

GROUP = ToyGroup.with_small_subgroups(32)  # the group the checker uses
P, Q = GROUP.p, GROUP.order


def _refusal(answer) -> str:
    with pytest.raises(ExerciseIncorrect) as refused:
        check_public_value_check(answer)
    return str(refused.value)


def _in_range(y: int, group: ToyGroup) -> bool:
    return 2 <= y <= group.p - 2


def _naive(y, group):
    """The answer that only refuses the small subgroups of prime order."""
    return _in_range(y, group) and all(pow(y, r, group.p) != 1 for r in group.small_subgroup_orders())


def test_the_right_answer_passes(capsys):
    check_public_value_check(is_valid_public_value)
    check_public_value_check(lambda y, group: 2 <= y <= group.p - 2 and pow(y, group.order, group.p) == 1)
    output = capsys.readouterr().out
    assert output.count("\u2714") == 2 and "refuses all 22 bad values" in output


def test_a_blank_answer_is_not_written_yet():
    def is_valid_public_value(y, group):
        raise NotImplementedError()

    with pytest.raises(ExerciseNotDone, match="not written yet"):
        check_public_value_check(is_valid_public_value)


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
    pytest.param(lambda y, group: _in_range(y, group), "has order 3, a small prime", id="range only"),
    pytest.param(lambda y, group: pow(y, group.order, group.p) == 1, "1 makes the shared secret 1",
                 id="no range"),
    pytest.param(lambda y, group: 2 <= y % group.p <= group.p - 2 and pow(y % group.p, group.order, group.p) == 1,
                 "p + g is out of range", id="reduced modulo p first"),
    pytest.param(lambda y, group: y > 1 and y != group.p - 1 and y < 2 * group.p and pow(y, group.order, group.p) == 1,
                 "p + g is out of range", id="upper bound too loose"),
    pytest.param(lambda y, group: y != 1 and y <= group.p - 2 and pow(y, group.order, group.p) == 1,
                 "is negative", id="no lower bound"),
    pytest.param(lambda y, group: is_valid_public_value(y, group)
                 or (_in_range(y, group) and multiplicative_order(y, group.p) == group.p - 1),
                 "generates the whole group", id="generators of the whole group too"),
    pytest.param(lambda y, group: _in_range(y, group) and pow(y, group.order, group.p) != 1, "should be True",
                 id="the test upside down"),
    pytest.param(lambda y, group: int(is_valid_public_value(y, group)), "return True or False", id="an int"),
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
    message = _refusal(lambda y, group: is_valid_public_value(y, group) or y == bad)
    assert f"({bad}, group) should be False" in message and words in message
    assert "What can the order of a power of g be?" in message


def test_the_composite_orders_include_4_6_2q_and_p_minus_1():
    orders = {multiplicative_order(bad, P) for bad, _ in OUTSIDE_THE_SUBGROUP}
    assert {4, 6, 2 * Q, P - 1} <= orders
    assert all(order != Q for order in orders)


@pytest.mark.parametrize("bad, words", OUTSIDE_THE_SUBGROUP[:3] + OUTSIDE_THE_SUBGROUP[-3:])
def test_no_refusal_writes_the_test_for_the_reader(bad, words):
    message = _refusal(lambda y, group: is_valid_public_value(y, group) or y == bad)
    for solution in ("y^q", "^q mod p = 1", "pow(", "group.order) == 1", f"^{Q} mod"):
        assert solution not in message
