"""The checkers of chapter 09 (mtlslib.exercises.attacks): each passes the right answer and refuses
each wrong one with a message that says what is wrong, not what to write."""

from __future__ import annotations

import fnmatch
import os
import ssl
from unittest import mock

import pytest
from careless_contexts import careless
from cryptography import x509

from mtlslib.exercises import ExerciseIncorrect
from mtlslib.exercises.attacks import (
    HOSTNAME_CASES,
    check_admin_service,
    check_bank_client_context,
    check_basic_constraints_fix,
    check_goto_fail_fix,
    check_hostname_matcher,
)
from mtlslib.insecure import verifiers
from mtlslib.insecure.certificates import issue_leaf
from mtlslib.insecure.verifiers import (
    SignatureCheck,
    algorithm_step,
    check_signature,
    check_signature_goto_fail,
    is_ca,
    issuer_name_step,
    signature_step,
    verify_chain,
    verify_chain_ignoring_basic_constraints,
)
from mtlslib.pki import CertificateAuthority, extension
from mtlslib.tls import HttpsService, Request, Response, handshake

# --------------------------------------------------------------------------------------------
# The bank's client context


def verifying(public_ca):
    return ssl.create_default_context(cadata=public_ca.cert_pem.decode())


def also_system_roots(public_ca):
    context = ssl.create_default_context()  # loads the system's roots: no cadata given
    context.load_verify_locations(cadata=public_ca.cert_pem.decode())
    return context


def loads_default_certs(public_ca):
    context = verifying(public_ca)
    context.load_default_certs()
    return context


def test_bank_client_checker_passes_a_context_that_trusts_the_bank_ca_only(capsys):
    before = dict(os.environ)
    check_bank_client_context(verifying)
    out = capsys.readouterr().out
    assert "refuses every relay" in out
    assert "a system root:" in out and "unable to get local issuer certificate" in out
    assert dict(os.environ) == before  # the stand-in system roots are gone again


@pytest.mark.parametrize("mistake, explanation", [
    (also_system_roots, "a CA among the system's roots read your password"),
    (loads_default_certs, "create_default_context\\(\\) loads them unless it is given cadata"),
    (lambda ca: careless(ca, verify=False), "attacker's own CA read your password"),
    (lambda ca: careless(ca, hostname=False), "keep check_hostname = True"),
    (lambda ca: ssl.create_default_context(), "cannot log in to the real bank"),
    (lambda ca: ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER), "this is a server context"),
    (lambda ca: None, "not an ssl.SSLContext"),
])
def test_bank_client_checker_explains_each_mistake(mistake, explanation):
    before = dict(os.environ)
    with pytest.raises(ExerciseIncorrect, match=explanation):
        check_bank_client_context(mistake)
    assert dict(os.environ) == before


# --------------------------------------------------------------------------------------------
# The admin panel


def admin_service(certificate, staff_ca, admins, *, mutual=True, trust=None, authorize="san"):
    def panel(request: Request) -> Response:
        client = request.client
        if authorize == "san":  # identities from the subjectAltName only
            allowed = client is not None and any(f"email:{admin}" in client.names for admin in admins)
        elif authorize == "subject":  # the mistake: reading the name from the subject's common name
            allowed = client is not None and any(f"CN={admin}" in client.subject for admin in admins)
        else:
            allowed = True
        return Response(200, "admin panel\n") if allowed else Response(403, "forbidden\n")

    return HttpsService(certificate, trust=trust or staff_ca, mutual=mutual, handler=panel)


def test_admin_service_checker_passes_a_locked_service(capsys):
    check_admin_service(admin_service)
    out = capsys.readouterr().out
    assert "mallory:           HTTP/1.1 403 Forbidden: forbidden" in out
    assert "common name only:  HTTP/1.1 403 Forbidden: forbidden" in out
    assert "tlsv13 alert certificate required" in out and "tlsv1 alert unknown ca" in out


def test_admin_service_checker_accepts_an_optional_certificate_checked_by_the_application():
    check_admin_service(lambda cert, staff, admins: admin_service(cert, staff, admins, mutual="optional"))


@pytest.mark.parametrize("mistake, explanation", [
    (lambda cert, staff, admins: admin_service(cert, staff, admins, authorize="subject"),
     "never in its subject"),
    (lambda cert, staff, admins: admin_service(cert, staff, admins, mutual="optional", authorize=None),
     "without any certificate got the admin panel"),
    (lambda cert, staff, admins: admin_service(cert, staff, admins, authorize=None),
     "mallory holds a valid staff certificate"),
    (lambda cert, staff, admins: admin_service(cert, staff, admins, trust=[staff, cert.issuer]),
     "your handler refused it, but the TLS layer should have"),
    (lambda cert, staff, admins: admin_service(cert, staff, admins, trust=cert.issuer),
     "alice, an admin, did not get in"),
    (lambda cert, staff, admins: admin_service(cert, staff, admins).start(), "without calling start"),
    (lambda cert, staff, admins: None, "return an HttpsService"),
])
def test_admin_service_checker_explains_each_mistake(mistake, explanation):
    made = []

    def tracked(*args):
        made.append(mistake(*args))
        return made[-1]

    try:
        with pytest.raises(ExerciseIncorrect, match=explanation):
            check_admin_service(tracked)
    finally:
        for service in made:
            if service is not None:
                service.stop()


# --------------------------------------------------------------------------------------------
# The three bugs to fix in code: goto fail, the chain verifier, the host name matcher


def only_the_signature_step(cert, issuer):
    return signature_step(cert, issuer)


def the_last_failing_step(cert, issuer):
    failed = [err for step in (issuer_name_step, algorithm_step, signature_step) if (err := step(cert, issuer))]
    return failed[-1] if failed else SignatureCheck.OK


def asks_only_the_first_issuer(chain, roots, at=None):
    if len(chain) > 1 and not is_ca(chain[1]):
        return False
    return verify_chain_ignoring_basic_constraints(chain, roots, at)


def no_objection_without_basic_constraints(chain, roots, at=None):
    """Refuses CA:FALSE, but lets an issuer without the extension through."""
    def not_said_otherwise(cert):
        constraints = extension(cert, x509.BasicConstraints)
        return constraints is None or constraints.ca

    with mock.patch.object(verifiers, "is_ca", not_said_otherwise):
        return verify_chain(chain, roots, at)


def matcher(san_name, hostname, *, nul=True, idna=True, whole_label=True, case=True):
    """A correct RFC 6125 matcher; each keyword switches one of its rules off."""
    if nul and "\x00" in san_name:
        return False
    san_name = san_name.split("\x00", 1)[0]
    try:
        host = hostname.encode("idna").decode("ascii") if idna else hostname
    except UnicodeError:
        return False
    pattern = san_name.removesuffix(".")
    if case:
        host, pattern = host.lower(), pattern.lower()
    if not whole_label:
        return fnmatch.fnmatchcase(host, pattern)  # '*' anywhere, across dots too
    first, _, rest = pattern.partition(".")
    if first == "*":
        host_first, _, host_rest = host.partition(".")
        return "." in rest and "*" not in rest and host_first != "" and host_rest == rest
    return "*" not in pattern and pattern == host


def compares_a_prefix(san_name, hostname):
    """Compares the certificate's name only as far as the host name goes."""
    length = len(hostname.encode("idna"))
    return "\x00" not in san_name and matcher(san_name[:length], hostname)


@pytest.mark.parametrize("checker, fix, praise", [
    (check_goto_fail_fix, check_signature, "each with the error of the first step that fails"),
    (check_basic_constraints_fix, verify_chain, "an issuer without basicConstraints"),
    (check_hostname_matcher, matcher, f"all {len(HOSTNAME_CASES)} cases decided as OpenSSL decides them"),
], ids=["goto-fail", "basic-constraints", "hostname-matcher"])
def test_each_code_checker_passes_the_fix(capsys, checker, fix, praise):
    checker(fix)
    assert praise in capsys.readouterr().out


@pytest.mark.parametrize("checker, mistake, explanation", [
    (check_goto_fail_fix, check_signature_goto_fail, "came back OK: a step that fails was never run"),
    (check_goto_fail_fix, only_the_signature_step, "not the error of the first step that fails"),
    (check_goto_fail_fix, the_last_failing_step, "not the error of the first step that fails"),
    (check_goto_fail_fix,
     lambda cert, issuer: SignatureCheck.OK if check_signature(cert, issuer) == 0 else SignatureCheck.BAD_SIGNATURE,
     "came back BAD_SIGNATURE \\(3\\)"),
    (check_goto_fail_fix, lambda cert, issuer: SignatureCheck.BAD_SIGNATURE,
     "a genuine link must give SignatureCheck.OK"),
    (check_goto_fail_fix, lambda cert, issuer: check_signature(cert, issuer) == 0, "return an error code"),
    (check_basic_constraints_fix, verify_chain_ignoring_basic_constraints, "is_ca\\(issuer\\)"),
    (check_basic_constraints_fix, asks_only_the_first_issuer, "not only of the first"),
    (check_basic_constraints_fix, no_objection_without_basic_constraints,
     "a missing basicConstraints extension means 'not a CA'"),
    (check_basic_constraints_fix, lambda chain, roots, at=None: len(chain) <= 2 and verify_chain(chain, roots, at),
     "must not refuse genuine CAs"),
    (check_basic_constraints_fix, lambda chain, roots, at=None: all(is_ca(c) for c in chain[1:]), "Keep the checks"),
    (check_basic_constraints_fix, lambda chain, roots, at=None: None, "return True or False"),
    (check_hostname_matcher, lambda name, host: "\x00" not in name and name.lower() == host.lower(),
     "a trailing dot marks"),
    (check_hostname_matcher, lambda name, host: matcher(name, host, nul=False), "stopped at the NUL byte"),
    (check_hostname_matcher, lambda name, host: matcher(name, host, whole_label=False), "never matches across a dot"),
    (check_hostname_matcher, lambda name, host: matcher(name, host, idna=False),
     "turn the host name's Unicode labels into A-labels"),
    (check_hostname_matcher, lambda name, host: matcher(name, host, case=False), "without regard to \\(ASCII\\) case"),
    (check_hostname_matcher, compares_a_prefix, "the host name is only the beginning of this name"),
    (check_hostname_matcher, lambda name, host: None, "return True or False"),
])
def test_each_code_checker_explains_each_mistake(checker, mistake, explanation):
    with pytest.raises(ExerciseIncorrect, match=explanation):
        checker(mistake)


def test_the_matcher_checker_says_which_case_and_why_not_what_to_write():
    with pytest.raises(ExerciseIncorrect) as refused:
        check_hostname_matcher(lambda name, host: matcher(name, host, whole_label=False))
    message = str(refused.value)
    assert message.startswith("6 case(s) right, then: certificate name '*.bank.test' must not match host name "
                              "'a.b.bank.test', but your matcher says True. Why: ")
    assert "def " not in message and "return" not in message


@pytest.fixture(scope="module")
def matcher_ca():
    return CertificateAuthority.create("Matcher Truth CA", seed="test-exercises-attacks")


@pytest.mark.parametrize("san_name, hostname, should_match, lesson", HOSTNAME_CASES)
def test_every_matcher_case_is_what_openssl_decides_in_a_real_handshake(matcher_ca, san_name, hostname,
                                                                        should_match, lesson):
    leaf = issue_leaf(matcher_ca, san_name, label=f"matcher case {san_name!r}")
    result = handshake(leaf, trust=matcher_ca, server_hostname=hostname)
    assert result.ok == should_match, f"{san_name!r} for {hostname!r}: {result.client_saw.error}"
    if not should_match:
        assert "Hostname mismatch" in result.client_saw.error

