"""INSECURE, FOR TEACHING: Diffie-Hellman with numbers small enough to follow by hand and to break.

Everything here is deliberately insecure: primes of a few dozen bits, no constant-time arithmetic,
a keystream "cipher" made of SHA-256 blocks, brute-force and small-subgroup attacks that work
because the numbers are small. It exists so that a reader can follow each step of the maths with
a pencil, then watch the same steps become impossible to reverse when the numbers grow. Real key
exchanges in this course go through ``cryptography`` (X25519, P-256) and OpenSSL; no safe module
of :mod:`mtlslib` imports this one.

The pieces (chapter 02 imports the package, ``from mtlslib.insecure import toy_dh as toy``):

* :mod:`.numbers`: :func:`is_prime`, :func:`prime_factors`, :func:`multiplicative_order`,
  :func:`safe_prime`, :func:`ffdhe2048_prime` (the real TLS group, computed from its formula), :func:`crt`;
* :mod:`.groups`: :class:`ToyGroup`, :func:`power_table`, :func:`power_steps`, :func:`toy_exchange`,
  and the defence against small subgroups, :func:`is_valid_public_value` and :func:`check_public_value`;
* :mod:`.attacks`: :func:`brute_force_log`, :func:`baby_step_giant_step`, :func:`measure_discrete_log`,
  :func:`attack_costs`, :class:`ToyServer` with :func:`small_subgroup_attack`, :func:`man_in_the_middle`;
* :mod:`.curves`: :class:`ToyCurve` and its points;
* :mod:`.x25519`: :func:`x25519`, the real X25519 function written out in Python (slow and not
  constant-time, but byte-for-byte the same result as OpenSSL's);
* :mod:`.figures`: the chapter's pictures.
"""

from mtlslib.errors import InvalidPublicValue, ToyMathError

from .attacks import (
    AttackCost,
    DiscreteLog,
    GrowthFit,
    ManInTheMiddle,
    Measurement,
    SmallSubgroupAttack,
    ToyServer,
    attack_costs,
    baby_step_giant_step,
    brute_force_log,
    cost_table,
    element_of_order,
    fit_growth,
    keystream_xor,
    man_in_the_middle,
    measure_attacker_speeds,
    measure_discrete_log,
    measure_rate,
    measurement_table,
    small_subgroup_attack,
)
from .curves import INFINITY, CurvePoint, ToyCurve
from .groups import (
    ToyExchange,
    ToyGroup,
    check_public_value,
    is_valid_public_value,
    power_steps,
    power_table,
    toy_exchange,
    toy_secret,
)
from .numbers import crt, ffdhe2048_prime, is_prime, multiplicative_order, prime_factors, safe_prime
from .x25519 import CURVE25519_ORDER, CURVE25519_P, X25519_BASE_POINT, montgomery_ladder, x25519

__all__ = [
    "AttackCost",
    "CURVE25519_ORDER",
    "CURVE25519_P",
    "CurvePoint",
    "DiscreteLog",
    "GrowthFit",
    "INFINITY",
    "InvalidPublicValue",
    "ManInTheMiddle",
    "Measurement",
    "SmallSubgroupAttack",
    "ToyCurve",
    "ToyExchange",
    "ToyGroup",
    "ToyMathError",
    "ToyServer",
    "X25519_BASE_POINT",
    "attack_costs",
    "baby_step_giant_step",
    "brute_force_log",
    "check_public_value",
    "cost_table",
    "crt",
    "element_of_order",
    "ffdhe2048_prime",
    "fit_growth",
    "is_prime",
    "is_valid_public_value",
    "keystream_xor",
    "man_in_the_middle",
    "measure_attacker_speeds",
    "measure_discrete_log",
    "measure_rate",
    "measurement_table",
    "montgomery_ladder",
    "multiplicative_order",
    "power_steps",
    "power_table",
    "prime_factors",
    "safe_prime",
    "small_subgroup_attack",
    "toy_exchange",
    "toy_secret",
    "x25519",
]
