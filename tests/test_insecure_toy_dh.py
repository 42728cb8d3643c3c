"""The teaching Diffie-Hellman in prime-field groups: its arithmetic against independent oracles (sieves,
brute force, OpenSSL), its properties under hypothesis (both sides always agree, invalid public values
are always refused, the attacks recover exactly the secret), and the exercise checkers. Its elliptic
curves and X25519 are in test_insecure_toy_curves.py."""

from __future__ import annotations

import base64
import math
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mtlslib.display import Shown
from mtlslib.errors import MtlsLibError
from mtlslib.insecure.toy_dh import (
    InvalidPublicValue,
    Measurement,
    ToyGroup,
    ToyMathError,
    ToyServer,
    attack_costs,
    baby_step_giant_step,
    brute_force_log,
    check_public_value,
    cost_table,
    crt,
    element_of_order,
    ffdhe2048_prime,
    fit_growth,
    is_prime,
    is_valid_public_value,
    keystream_xor,
    man_in_the_middle,
    measure_attacker_speeds,
    measure_discrete_log,
    measurement_table,
    multiplicative_order,
    power_steps,
    power_table,
    prime_factors,
    safe_prime,
    small_subgroup_attack,
    toy_exchange,
    toy_secret,
)

SLOW = settings(deadline=None, max_examples=40)


def _sieve(limit: int) -> set[int]:
    composite = bytearray(limit)
    primes = set()
    for n in range(2, limit):
        if not composite[n]:
            primes.add(n)
            composite[n * n::n] = b"\x01" * len(composite[n * n::n])
    return primes


# --- numbers ------------------------------------------------------------------------------------

def test_is_prime_agrees_with_a_sieve():
    primes = _sieve(20_000)
    assert [n for n in range(-5, 20_000) if is_prime(n)] == sorted(primes)


def test_is_prime_is_the_package_primality_test():
    from mtlslib import pki
    from mtlslib.insecure import toy_dh

    assert is_prime is pki.is_probable_prime and toy_dh.is_prime is pki.is_probable_prime


@pytest.mark.parametrize("n", [561, 41041, 825265, 2047, 1373653, 25326001, 3215031751, 3825123056546413051])
def test_is_prime_is_not_fooled_by_carmichael_numbers_and_strong_pseudoprimes(n):
    assert not is_prime(n)


@given(st.integers(min_value=1, max_value=2 ** 64))
@SLOW
def test_prime_factors_are_prime_and_rebuild_the_number(n):
    factors = prime_factors(n)
    assert list(factors) == sorted(set(factors)) and all(is_prime(f) for f in factors)
    for factor in factors:
        while n % factor == 0:
            n //= factor
    assert n == 1


@pytest.mark.parametrize("bad", [0, -7, 2 ** 130, 3.0])
def test_prime_factors_refuses_what_it_cannot_factor(bad):
    with pytest.raises(ToyMathError):
        prime_factors(bad)


@pytest.mark.parametrize("p", [23, 101, 1009, 7919])
def test_multiplicative_order_matches_counting(p):
    for g in range(2, min(p, 40)):
        value, count = g, 1
        while value != 1:
            value, count = value * g % p, count + 1
        assert multiplicative_order(g, p) == count


def test_multiplicative_order_refuses_a_composite_modulus_and_zero():
    with pytest.raises(ToyMathError, match="not a prime"):
        multiplicative_order(2, 21)
    with pytest.raises(ToyMathError, match="multiple of p"):
        multiplicative_order(46, 23)


@pytest.mark.parametrize("bits", [4, 5, 8, 12, 16])
def test_safe_prime_is_the_smallest_of_its_size(bits):
    p = safe_prime(bits)
    assert p.bit_length() == bits and is_prime(p) and is_prime((p - 1) // 2)
    primes = _sieve(1 << bits)
    assert not [n for n in range(1 << (bits - 1), p) if n in primes and (n - 1) // 2 in primes]


def test_safe_prime_refuses_sizes_it_cannot_search():
    for bits in (2, 257, "64"):
        with pytest.raises(ToyMathError, match="3 to 256 bits"):
            safe_prime(bits)


def test_ffdhe2048_is_a_2048_bit_safe_prime():
    p = ffdhe2048_prime()
    assert p.bit_length() == 2048 and is_prime(p) and is_prime((p - 1) // 2)
    assert p >> 1984 == (1 << 64) - 1 and p & ((1 << 64) - 1) == (1 << 64) - 1  # 64 ones at each end


def _der_length(der: bytes, at: int) -> tuple[int, int]:
    """(length, offset of the content) of the DER element whose length byte is at ``at``."""
    if der[at] < 0x80:
        return der[at], at + 1
    size = der[at] & 0x7F
    return int.from_bytes(der[at + 1:at + 1 + size], "big"), at + 1 + size


def test_ffdhe2048_is_the_prime_openssl_uses(openssl_bin):
    # cryptography 50 deprecates loading finite-field DH parameters, so read OpenSSL's DER by hand:
    # DHParameter ::= SEQUENCE { prime INTEGER, base INTEGER }
    result = subprocess.run([openssl_bin, "genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt", "group:ffdhe2048"],
                            capture_output=True, timeout=30, check=True)
    der = base64.b64decode("".join(line for line in result.stdout.decode().splitlines() if "-----" not in line))
    assert der[0] == 0x30
    _, first = _der_length(der, 1)
    assert der[first] == 0x02
    length, start = _der_length(der, first + 1)
    assert int.from_bytes(der[start:start + length], "big") == ffdhe2048_prime()


@given(st.lists(st.sampled_from(sorted(_sieve(200))), min_size=1, max_size=6, unique=True), st.data())
def test_crt_solves_every_system_of_congruences(moduli, data):
    residues = [data.draw(st.integers(0, m - 1)) for m in moduli]
    x, product = crt(zip(moduli, residues))
    assert product == math.prod(moduli) and 0 <= x < product
    assert all(x % m == r for m, r in zip(moduli, residues))


def test_crt_refuses_moduli_with_a_common_factor():
    with pytest.raises(ToyMathError, match="coprime"):
        crt([(6, 1), (4, 3)])


def test_toy_secret_is_repeatable_and_in_range():
    assert toy_secret("Alice", 1000) == toy_secret("Alice", 1000) != toy_secret("Bob", 1000)
    assert all(2 <= toy_secret(str(i), 50) < 50 for i in range(200))
    with pytest.raises(ToyMathError):
        toy_secret("x", 3)


# --- groups and the exchange --------------------------------------------------------------------

def test_textbook_group():
    group = ToyGroup.of(23, 5)
    assert (group.order, group.bits, str(group)) == (22, 5, "p = 23, g = 5 (order 22)")
    row = power_table(group).rows[0]
    assert sorted(int(v) for v in row[1:-1]) == list(range(1, 23)) and row[-1] == "1"


@pytest.mark.parametrize("p, g, message", [(21, 2, "not a prime"), (23, 1, "between 2"), (23, 22, "between 2"),
                                           (True, 2, "integer")])
def test_toy_group_refuses_bad_parameters(p, g, message):
    with pytest.raises(ToyMathError, match=message):
        ToyGroup.of(p, g)


@pytest.mark.parametrize("bits", [8, 16, 32, 64])
def test_safe_group_generator_has_prime_order_q(bits):
    group = ToyGroup.safe(bits)
    assert group.order == (group.p - 1) // 2 and is_prime(group.order)
    assert group.power(group.order) == 1 and group.g != 1


@given(st.sampled_from([8, 12, 16, 24, 32, 64, 128]), st.data())
@SLOW
def test_both_sides_always_agree(bits, data):
    group = ToyGroup.safe(bits)
    a = data.draw(st.integers(1, group.order - 1), label="alice")
    b = data.draw(st.integers(1, group.order - 1), label="bob")
    exchange = toy_exchange(group, a, b)
    assert exchange.agree and exchange.alice_shared == group.power(a * b)


@pytest.mark.parametrize("secret", [0, 22, -1, 2.5, "6"])
def test_toy_exchange_refuses_secrets_outside_the_order(secret):
    with pytest.raises(ToyMathError, match="alice_secret"):
        toy_exchange(ToyGroup.of(23, 5), secret, 3)


def test_exchange_table_shows_what_each_side_knows():
    text = str(toy_exchange(ToyGroup.of(23, 5), 6, 15))
    assert "A = g^a mod p = 8" in text and "B = g^b mod p = 19" in text
    assert "K = B^a mod p = 2" in text and "K = A^b mod p = 2" in text


@given(st.integers(2, 10_000), st.integers(1, 2 ** 40), st.sampled_from([23, 1009, 65537]))
def test_power_steps_are_square_and_multiply(base, exponent, p):
    table = power_steps(base, exponent, p)
    assert int(table.rows[-1][-1]) == pow(base, exponent, p)
    assert len(table.rows) == exponent.bit_length() + bin(exponent).count("1") - 1
    for row in table.rows:
        assert int(row[3]) % p == int(row[4])
        assert int(row[1]) == int(row[0], 2)


# --- public value checks ------------------------------------------------------------------------

@pytest.mark.parametrize("bits", [5, 8, 11])
def test_validation_accepts_exactly_the_powers_of_g(bits):
    group = ToyGroup.safe(bits)
    powers = {group.power(x) for x in range(1, group.order)}
    for y in range(-3, group.p + 4):
        assert is_valid_public_value(y, group) == (y in powers)


@given(st.integers(12, 40), st.data())
@SLOW
def test_elements_of_small_order_are_always_refused(secret_bits, data):
    group = ToyGroup.with_small_subgroups(secret_bits)
    r = data.draw(st.sampled_from(group.small_subgroup_orders()))
    x = data.draw(st.integers(2, 10_000))
    h = pow(x, (group.p - 1) // r, group.p)
    assert not is_valid_public_value(h, group)
    with pytest.raises(InvalidPublicValue, match=str(h)):
        check_public_value(h, group)
    genuine = group.power(data.draw(st.integers(1, group.order - 1)))
    assert is_valid_public_value(genuine, group) and check_public_value(genuine, group) == genuine


@pytest.mark.parametrize("y", [0, 1, 22, 23, -5, True, "8", 8.0])
def test_check_public_value_names_the_refused_value(y):
    with pytest.raises(InvalidPublicValue, match=repr(y) if not isinstance(y, int) or isinstance(y, bool) else str(y)):
        check_public_value(y, ToyGroup.of(23, 5))


# --- discrete logarithms ------------------------------------------------------------------------

@given(st.sampled_from([8, 12, 16, 20]), st.data())
@SLOW
def test_both_discrete_log_methods_find_the_secret(bits, data):
    group = ToyGroup.safe(bits)
    x = data.draw(st.integers(0, group.order - 1))
    brute, shanks = brute_force_log(group, group.power(x)), baby_step_giant_step(group, group.power(x))
    assert brute.exponent == shanks.exponent == x
    assert brute.operations == x
    assert shanks.operations <= 2 * (math.isqrt(group.order - 1) + 1)


def test_discrete_log_of_a_value_outside_the_subgroup_is_refused():
    group = ToyGroup.safe(12)
    for method in (brute_force_log, baby_step_giant_step):
        with pytest.raises(ToyMathError, match="not a power of g"):
            method(group, group.p - 1)  # order 2: not in g's subgroup of odd order q


def test_measurements_count_exact_worst_case_operations():
    brute = measure_discrete_log(brute_force_log, [8, 10, 12], min_seconds=0.001)
    assert [m.operations for m in brute] == [m.order - 1 for m in brute]
    assert [m.order for m in brute] == [ToyGroup.safe(b).order for b in (8, 10, 12)]
    assert all(m.seconds > 0 and m.operations_per_second > 0 for m in brute)
    shanks = measure_discrete_log(baby_step_giant_step, [8, 12])
    assert all(m.operations < m.order for m in shanks)
    table = measurement_table(brute + shanks)
    assert table.headers[-1] == "operations" and "1,030" in str(table)
    assert measurement_table(brute, timings=True).headers[-2:] == ("time", "operations/s")


def test_growth_fit_recovers_a_known_curve():
    made_up = [Measurement("m", bits, 2 ** bits, 2 ** bits, 2.0 ** (-20 + 0.5 * bits)) for bits in (10, 20, 30)]
    fit = fit_growth(made_up)
    assert fit.slope == pytest.approx(0.5) and fit.intercept == pytest.approx(-20)
    assert fit.seconds(40) == pytest.approx(1.0)
    with pytest.raises(ToyMathError, match="at least two"):
        fit_growth(made_up[:1])
    with pytest.raises(ToyMathError, match="different sizes"):
        fit_growth([made_up[0], made_up[0]])


def test_attack_costs_follow_from_the_group_orders():
    costs = {(c.target, c.method): c for c in attack_costs()}
    q = (ffdhe2048_prime() - 1) // 2
    assert costs["ffdhe2048", "brute force"].log2_operations == pytest.approx(math.log2(q))
    assert costs["ffdhe2048", "baby-step giant-step"].log2_operations == pytest.approx(1 + math.log2(q) / 2)
    assert 100 < costs["ffdhe2048", "number field sieve"].log2_operations < 130
    assert costs["X25519", "Pollard rho"].log2_operations == pytest.approx(125.8, abs=0.05)
    rho = costs["X25519", "Pollard rho"]
    assert rho.log10_years(1e9) - rho.log10_years(1e18) == pytest.approx(9)
    table = str(cost_table(attack_costs(), 1e18))
    assert "2^2047.0" in table and "e590 years" in table


def test_attacker_speeds_are_measured_for_both_groups():
    speeds = measure_attacker_speeds()
    assert set(speeds) == {c.target for c in attack_costs()} and all(s > 0 for s in speeds.values())


# --- the small-subgroup attack ------------------------------------------------------------------

@given(st.integers(12, 48), st.data())
@SLOW
def test_small_subgroup_attack_recovers_any_secret_without_the_check(secret_bits, data):
    group = ToyGroup.with_small_subgroups(secret_bits)
    secret = data.draw(st.integers(1, group.order - 1))
    attack = small_subgroup_attack(ToyServer(group, secret))
    assert attack.recovered == secret and attack.refused is None
    assert attack.queries == len(attack.congruences)
    assert all(secret % r == x and pow(h, r, group.p) == 1 for r, h, x in attack.congruences)
    assert math.prod(r for r, _, _ in attack.congruences) > group.order


@given(st.integers(12, 48), st.data())
@SLOW
def test_small_subgroup_attack_stops_at_the_first_query_with_the_check(secret_bits, data):
    group = ToyGroup.with_small_subgroups(secret_bits)
    server = ToyServer(group, data.draw(st.integers(1, group.order - 1)), check=is_valid_public_value)
    attack = small_subgroup_attack(server)
    assert attack.recovered is None and attack.queries == 1 and "refused" in attack.refused
    assert "attack stopped after 1 query" in str(attack)


def test_small_subgroup_attack_shows_what_each_query_taught():
    group = ToyGroup.with_small_subgroups(16)
    attack = small_subgroup_attack(ToyServer(group, toy_secret("table", group.order)))
    table = attack.congruence_table
    assert table.headers == ("subgroup order r", "element of order r sent", "learned from Bob's answer")
    assert [row[0] for row in table.rows] == [str(r) for r, _, _ in attack.congruences]
    assert str(attack).startswith(str(table)) and f"secret = {attack.recovered}" in str(attack)
    assert isinstance(attack, Shown) and not hasattr(attack, "table")


def test_element_of_order_has_that_order():
    group = ToyGroup.with_small_subgroups(16)
    for n in (*group.small_subgroup_orders(), 4, 6, 2 * 3 * 5 * 7, (group.p - 1) // group.order, group.p - 1):
        h = element_of_order(n, group.p)
        assert multiplicative_order(h, group.p) == n
    with pytest.raises(ToyMathError, match="no element of order 7 modulo 23"):
        element_of_order(7, 23)


def test_small_subgroup_attack_needs_small_subgroups():
    with pytest.raises(ToyMathError, match="too few"):
        small_subgroup_attack(ToyServer(ToyGroup.safe(32), 12345))


def test_weak_group_refuses_sizes_out_of_range():
    with pytest.raises(ToyMathError, match="between 8 and 64"):
        ToyGroup.with_small_subgroups(4)


# --- man in the middle --------------------------------------------------------------------------

@given(st.binary(max_size=200), st.integers(1, 2 ** 64))
def test_keystream_xor_undoes_itself(data, key):
    assert keystream_xor(key, keystream_xor(key, data)) == data
    assert len(keystream_xor(key, data)) == len(data)


def test_man_in_the_middle_shares_a_key_with_each_side():
    mitm = man_in_the_middle(ToyGroup.safe(32), 1234, 5678, (91011, 121314))
    assert mitm.alice_key == mitm.with_alice.bob_shared and mitm.bob_key == mitm.with_bob.alice_shared
    assert mitm.alice_key != mitm.bob_key
    log = mitm.relay("Pay 10 EUR to Bob", rewrite=lambda text: text.replace("Bob", "Mallory"))
    (alice, mallory_reads, mallory_sends, bob) = log.rows
    assert mallory_reads[2] == "Pay 10 EUR to Bob" and bob[2] == "Pay 10 EUR to Mallory"
    assert alice[3] != mallory_sends[3] and bytes.fromhex(alice[3]) != b"Pay 10 EUR to Bob"
    assert mitm.relay("hello").rows[-1][2] == "hello"


def test_results_print_as_their_text():
    group = ToyGroup.of(23, 5)
    exchange, mitm = toy_exchange(group, 6, 15), man_in_the_middle(group, 6, 15, (9, 13))
    for result in (exchange, mitm):
        assert isinstance(result, Shown) and not hasattr(result, "table") and repr(result) == str(result)
    assert "Diffie-Hellman modulo 23" in str(exchange) and "<table>" in exchange._repr_html_()
    assert "Mallory shares a key with each side" in str(mitm)
    found = brute_force_log(group, exchange.alice_public)
    assert str(found) == "x = 6, found by brute force in 6 operations (the group has 22 elements)"
    assert isinstance(found, Shown)


def test_man_in_the_middle_refuses_secrets_out_of_range():
    with pytest.raises(ToyMathError, match="mallory_secrets"):
        man_in_the_middle(ToyGroup.of(23, 5), 6, 15, (9, 22))


# --- exercise checkers --------------------------------------------------------------------------

def test_toy_errors_are_mtlslib_errors():
    assert issubclass(ToyMathError, MtlsLibError) and issubclass(InvalidPublicValue, MtlsLibError)
