"""Chapter 07's checker: a partner allow list is tried on Acme's real API; every too-wide or
too-narrow policy is refused with the caller it let in or kept out, and why."""

from __future__ import annotations

import pytest

from mtlslib.exercises import ExerciseIncorrect, ExerciseNotDone
from mtlslib.exercises.use_cases import ORDERING_PROGRAM, check_partner_allow_list
from mtlslib.tls import AccessPolicy, PolicyError


def test_the_one_program_s_spiffe_id_passes(capsys):
    check_partner_allow_list(lambda globex: AccessPolicy().allow_spiffe_id(ORDERING_PROGRAM))
    out = capsys.readouterr().out
    assert out.startswith(f"\u2714 Acme's order desk takes orders from {ORDERING_PROGRAM} only:")
    assert ("Globex purchasing:                   HTTP 200: Acme order desk: "
            "hello spiffe://globex.test/purchasing") in out
    assert "refused during the TLS handshake" in out


@pytest.mark.parametrize("allow_list, complaint", [
    (lambda globex: AccessPolicy(), "purchasing program .* did not get its order through"),
    (lambda globex: AccessPolicy().allow_spiffe_id("spiffe://acme.test/purchasing"), "did not get its order"),
    (lambda globex: AccessPolicy().allow_trust_domain("globex.test"), "billing program was admitted"),
    (lambda globex: AccessPolicy().allow_issuer(globex.ca), "billing program was admitted"),
    (lambda globex: AccessPolicy().allow_uri(ORDERING_PROGRAM), "second URI was admitted"),
    (lambda globex: AccessPolicy().allow_spiffe_id(ORDERING_PROGRAM).allow_trust_domain("globex.test"),
     "billing program was admitted"),
    (lambda globex: ORDERING_PROGRAM, "returned str; return an AccessPolicy"),
])
def test_wrong_allow_lists_are_refused_with_the_reason(allow_list, complaint):
    with pytest.raises(ExerciseIncorrect, match=complaint):
        check_partner_allow_list(allow_list)


def test_a_malformed_rule_is_refused_by_the_policy_itself_with_what_to_write():
    with pytest.raises(PolicyError, match="'purchasing' is not a SPIFFE ID: it must start with 'spiffe://'"):
        check_partner_allow_list(lambda globex: AccessPolicy().allow_spiffe_id("purchasing"))


def test_an_unwritten_exercise_says_so():
    def allow_list(globex):
        raise NotImplementedError()

    with pytest.raises(ExerciseNotDone, match="not written yet"):
        check_partner_allow_list(allow_list)
