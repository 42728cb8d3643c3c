"""Checkers for chapter 09, attacks on misconfigured peers.

Each checker builds its own small world (seeded CAs, a real server on 127.0.0.1, a relay or an
attack certificate), runs the reader's function against it, and explains what went wrong in terms
of the attack: who got in, or what leaked, and which setting or line is responsible.
"""

from __future__ import annotations

import datetime as _dt
import ssl
from functools import lru_cache
from typing import Callable

from cryptography import x509

from mtlslib.exercises import ExerciseIncorrect, attempt, default_roots_are, expect, well_done
from mtlslib.insecure.certificates import common_name_only, issue_leaf, not_a_ca, sub_ca
from mtlslib.insecure.mitm import http_request, intercept, send_request
from mtlslib.insecure.verifiers import (
    SignatureCheck,
    check_signature,
    dns_names,
    forged_signature,
    leaf_as_ca,
    nul_byte_name,
    unverifiable_signature,
)
from mtlslib.pki import CertificateAuthority, IssuedCertificate
from mtlslib.tls import HttpsService, Request, Response, client_context

__all__ = [
    "HOSTNAME_CASES",
    "check_admin_service",
    "check_bank_client_context",
    "check_basic_constraints_fix",
    "check_goto_fail_fix",
    "check_hostname_matcher",
]

_BANK = "www.bank.test"
_ADMIN = "admin.bank.test"


@lru_cache(maxsize=1)
def _world():
    """The checkers' own CAs and certificates: seeded, so that every check meets the same ones."""
    public_ca = CertificateAuthority.create("Checker Public Web CA", seed="exercises-attacks")
    attacker_ca = CertificateAuthority.create("Checker Attacker CA", seed="exercises-attacks")
    staff_ca = CertificateAuthority.create("Checker Staff CA", seed="exercises-attacks")
    # Another public CA, standing in for the operating system's roots (see default_roots_are).
    system_ca = CertificateAuthority.create("Checker System Root CA", seed="exercises-attacks")
    issuing_ca = public_ca.create_intermediate("Checker Issuing CA", path_length=1)
    posing_ca = not_a_ca(public_ca, "Checker Leaf Posing As CA")  # CA:FALSE
    unconstrained = not_a_ca(public_ca, "Checker Issuer Without Constraints", basic_constraints=False)
    return {
        "public_ca": public_ca,
        "issuing_ca": issuing_ca,
        "attacker_ca": attacker_ca,
        "staff_ca": staff_ca,
        "bank": public_ca.issue_server(_BANK),
        "admin_server": public_ca.issue_server(_ADMIN),
        "fake_bank": attacker_ca.issue_server(_BANK),
        "attacker_site": public_ca.issue_server("attacker.test", client_auth=True),
        "alice": staff_ca.issue_client("alice@staff.bank.test"),
        "mallory": staff_ca.issue_client("mallory@staff.bank.test"),
        "bank_via_intermediate": issuing_ca.issue_server(_BANK),
        "bank_via_two_intermediates": issuing_ca.create_intermediate("Checker Sub CA").issue_server(_BANK),
        "attacker_site_via_intermediate": issuing_ca.issue_server("attacker.test"),
        "system_ca": system_ca,
        "bank_from_system_ca": system_ca.issue_server(_BANK),
        "alice_cn_only": common_name_only(staff_ca, "alice@staff.bank.test", purposes=("client",)),
        "below_a_non_ca": issue_leaf(sub_ca(posing_ca, "Checker CA Below A Leaf"), _BANK),
        "below_no_constraints": issue_leaf(unconstrained, _BANK),
    }


# --------------------------------------------------------------------------------------------
# The client that the man in the middle cannot fool


def _bank_login(request: Request) -> Response:
    if request.method == "POST" and b"password=" in request.body:
        return Response(200, "welcome\n")
    return Response(403, "log in first\n")


def check_bank_client_context(bank_client_context: Callable[[CertificateAuthority], ssl.SSLContext]) -> None:
    """``bank_client_context(public_ca)`` must log in to the real bank and refuse every relay,
    including one whose certificate comes from a CA among the system's roots."""
    world = _world()
    with default_roots_are(world["system_ca"]):
        ctx = attempt(bank_client_context, world["public_ca"])
    expect(isinstance(ctx, ssl.SSLContext),
           f"bank_client_context() returned {type(ctx).__name__}, not an ssl.SSLContext: end it with `return ctx`")
    expect(ctx.protocol != ssl.PROTOCOL_TLS_SERVER,
           "this is a server context (PROTOCOL_TLS_SERVER / Purpose.CLIENT_AUTH); a client needs "
           "ssl.PROTOCOL_TLS_CLIENT, or mtlslib's client_context(...)")
    login = http_request("POST", "/login", host=_BANK, form={"user": "alice", "password": "checker-secret"})
    with HttpsService(world["bank"], handler=_bank_login) as bank:
        direct = send_request(bank.address, ctx, login, server_hostname=_BANK)
        expect(direct.status == 200,
               f"your client cannot log in to the real bank: {direct}. It must trust the CA it was given "
               "(public_ca), which issued the bank's certificate")
        relays = {}
        for relay, certificate, mistake in (
            ("attacker's CA", world["fake_bank"],
             "a relay presenting a certificate for www.bank.test from the attacker's own CA read your password. "
             "Your client accepted a CA it was never told to trust: keep verify_mode = ssl.CERT_REQUIRED and "
             "trust public_ca only"),
            ("another's name", world["attacker_site"],
             "a relay presenting a genuine public-CA certificate, but for attacker.test, read your password. "
             "A valid chain is not enough: keep check_hostname = True so that the certificate must name "
             "www.bank.test"),
            ("a system root", world["bank_from_system_ca"],
             "a relay presenting a certificate for www.bank.test from a CA among the system's roots read your "
             "password. Your context trusts public_ca *and* every root the operating system trusts: "
             "create_default_context() loads them unless it is given cadata (or cafile), and so does "
             "load_default_certs(). Any one of those CAs could issue a certificate for the bank: trust "
             "public_ca only"),
        ):
            relays[relay] = intercept(bank.address, certificate, ctx, login, hostname=_BANK)
            expect(not relays[relay].relay.leaked, f"{mistake}\n{relays[relay].relay}")
    well_done("your client logs in to the bank and refuses every relay:\n"
              + "\n".join(f"    {relay + ':':<17} {seen.victim.error}" for relay, seen in relays.items()))


# --------------------------------------------------------------------------------------------
# The mTLS service that refuses every impostor


def _visit(service: HttpsService, world, certificate: IssuedCertificate | None):
    ctx = client_context(world["public_ca"], certificate=certificate)
    return send_request(service.address, ctx, http_request("GET", "/admin", host=_ADMIN), server_hostname=_ADMIN)


def check_admin_service(admin_service: Callable[[IssuedCertificate, CertificateAuthority, set], HttpsService]
                        ) -> None:
    """``admin_service(certificate, staff_ca, admins)`` must return an :class:`HttpsService` that
    serves the admins, and refuses everyone else: other staff, clients without a certificate, and
    holders of a certificate from any other CA."""
    world = _world()
    admins = {"alice@staff.bank.test"}
    service = attempt(admin_service, world["admin_server"], world["staff_ca"], admins)
    expect(isinstance(service, HttpsService),
           f"admin_service() returned {type(service).__name__}; return an HttpsService(...), not started "
           "(the checker starts and stops it)")
    visitors = {"alice": world["alice"], "mallory": world["mallory"], "anonymous": None,
                "impostor": world["attacker_site"], "common name only": world["alice_cn_only"]}
    try:
        with service:
            seen = {who: _visit(service, world, certificate) for who, certificate in visitors.items()}
    except RuntimeError as error:
        raise ExerciseIncorrect(f"the checker could not start your service ({error}): return it without "
                                "calling start() and without a `with` block") from None
    expect(seen["alice"].status == 200,
           f"alice, an admin, did not get in: {seen['alice']}. Present `certificate`, trust `staff_ca`, and "
           "answer 200 to the names in `admins`")
    expect(seen["anonymous"].status != 200,
           "a client without any certificate got the admin panel: require a certificate (mutual=True), or "
           "refuse request.client is None in the handler")
    expect(seen["mallory"].status != 200,
           "mallory holds a valid staff certificate but is not an admin, and got the admin panel: a "
           "certificate says who the client is, not what it may do. Compare the certificate's email addresses "
           "(request.client.emails) with `admins`")
    expect(seen["common name only"].status != 200,
           "a staff-CA certificate with alice@staff.bank.test in its common name and no subjectAltName got the "
           "admin panel. The staff CA vouched for the key, not for a name: identities come from the "
           "subjectAltName only: look for the admin's name among the certificate's subjectAltName entries "
           "(request.client.names), never in its subject")
    expect(seen["impostor"].status is None,
           "a client with a certificate from the public CA (for attacker.test) completed the TLS handshake"
           + (" and got the admin panel" if seen["impostor"].status == 200 else
              "; your handler refused it, but the TLS layer should have")
           + ": trust staff_ca only for client certificates (trust=staff_ca)")
    well_done("alice gets in, and nobody else:\n"
              + "\n".join(f"    {who + ':':<18} {seen[who]}"
                           for who in ("mallory", "common name only", "anonymous", "impostor")))


# --------------------------------------------------------------------------------------------
# The broken verifiers, fixed


def check_goto_fail_fix(check_signature_fixed: Callable[[x509.Certificate, x509.Certificate], int]) -> None:
    """``check_signature(cert, issuer)`` must return 0 for a genuine link and, otherwise, the error
    of the first of the three steps that fails."""
    world = _world()
    ca = world["public_ca"].certificate
    cases = [
        ("a genuine certificate and its CA", world["bank"].certificate),
        ("a certificate claiming the CA but signed by the attacker's key",
         forged_signature(world["public_ca"], _BANK, seed="checker").leaf),
        ("a certificate signed with a key of another type",
         unverifiable_signature(world["public_ca"], _BANK, seed="checker").leaf),
        ("a certificate from another CA (it names another issuer)", world["fake_bank"].certificate),
    ]
    for what, cert in cases:
        result = attempt(check_signature_fixed, cert, ca)
        expect(isinstance(result, int) and not isinstance(result, bool),
               f"check_signature returned {result!r} for {what}; return an error code: SignatureCheck.OK (0) "
               "or one of the SignatureCheck errors")
        expected = check_signature(cert, ca)
        if expected == SignatureCheck.OK:
            expect(result == SignatureCheck.OK,
                   f"{what} was reported as error {result!r}; a genuine link must give SignatureCheck.OK")
            continue
        expect(result != SignatureCheck.OK,
               f"{what} came back OK: a step that fails was never run, or its error was dropped. Look for a "
               "`return` that runs whatever the `if` above it decided")
        expect(result == expected,
               f"{what} came back {_error_name(result)}, which is not the error of the first step that fails. "
               "Run the steps in their order (issuer name, algorithm, signature) and return as soon as one "
               "fails, with that step's error: callers (and logs) rely on it to say what went wrong")
    well_done("genuine links pass; the forgery, the unverifiable signature and the stranger are refused, each "
              "with the error of the first step that fails")


def _error_name(result: int) -> str:
    try:
        return f"{SignatureCheck(result).name} ({int(result)})"
    except ValueError:
        return repr(result)


def check_basic_constraints_fix(verify_chain: Callable[..., bool]) -> None:
    """``verify_chain(chain, roots, at=None)`` must refuse every chain in which an issuer is not a
    CA, and accept the genuine ones."""
    world = _world()

    def chain_of(certificate: IssuedCertificate) -> list[x509.Certificate]:
        return x509.load_pem_x509_certificates(certificate.chain_pem)

    roots = [world["public_ca"].certificate]
    later = _dt.datetime(2080, 1, 1, tzinfo=_dt.timezone.utc)  # after the leaves' validity ends
    not_a_ca = "Ask of every issuer whether it is a CA: is_ca(issuer)"
    keep = "Keep the checks of the original verifier (a trust anchor at the top, every date)"
    cases = [
        ("a leaf signed by the root", chain_of(world["bank"]), None, None),
        ("a leaf signed by an intermediate CA", chain_of(world["bank_via_intermediate"]), None, None),
        ("a leaf below two intermediate CAs", chain_of(world["bank_via_two_intermediates"]), None, None),
        ("a certificate signed by a leaf (CA:FALSE)",
         leaf_as_ca(world["attacker_site"], _BANK, seed="checker").chain, None, not_a_ca),
        ("a certificate signed by a leaf under an intermediate",
         leaf_as_ca(world["attacker_site_via_intermediate"], _BANK, seed="checker").chain, None, not_a_ca),
        ("a leaf whose issuer is a CA (CA:TRUE) signed in turn by a certificate that says CA:FALSE",
         chain_of(world["below_a_non_ca"]), None,
         "The leaf's own issuer is a CA, but the certificate above it is not: ask the question of every issuer "
         "on the way to the root, not only of the first"),
        ("a leaf whose issuer has no basicConstraints extension at all", chain_of(world["below_no_constraints"]),
         None, "A certificate that does not say CA:TRUE is not a CA: a missing basicConstraints extension "
               "means 'not a CA' (RFC 5280 4.2.1.9), never 'no objection'"),
        ("a chain from an untrusted CA", chain_of(world["fake_bank"]), None, keep),
        ("a leaf checked after it expired", chain_of(world["bank"]), later, keep),
    ]
    for what, chain, at, hint in cases:
        result = attempt(verify_chain, chain, roots, at)
        expect(isinstance(result, bool), f"verify_chain returned {result!r} for {what}; return True or False")
        if hint is None:
            expect(result, f"{what} was refused, but it is valid: the fix must not refuse genuine CAs")
        else:
            expect(not result, f"{what} was accepted. {hint}")
    well_done("genuine chains pass; leaves acting as CAs at any height, an issuer without basicConstraints, "
              "strangers and expired certificates are refused")


# --------------------------------------------------------------------------------------------
# A host name matcher (RFC 6125), NUL bytes included

# (certificate name, host name, whether they match, what the case teaches). The verdicts are
# OpenSSL's, as Python's ssl runs it (X509_check_host with partial wildcards refused); the tests
# hold every case against a real handshake.
HOSTNAME_CASES: tuple[tuple[str, str, bool, str], ...] = (
    ("www.bank.test", "www.bank.test", True, "the same name must match"),
    ("WWW.Bank.Test", "www.bank.test", True, "DNS names compare without regard to (ASCII) case"),
    ("www.bank.test.", "www.bank.test", True,
     "a trailing dot marks a fully qualified name: 'www.bank.test.' in a certificate is the same name"),
    ("*.bank.test", "www.bank.test", True, "a wildcard that is the whole leftmost label stands for one label"),
    ("*.bank.test", "WWW.BANK.TEST", True, "wildcard or not, case does not matter"),
    ("*.bank.test", "bank.test", False, "the wildcard stands for exactly one label, and an empty one is no label"),
    ("*.bank.test", "a.b.bank.test", False, "a wildcard never matches across a dot: it covers one label only"),
    ("w*.bank.test", "www.bank.test", False,
     "a wildcard is allowed only as the whole leftmost label: partial-label wildcards such as 'w*' match "
     "nothing (the CA/Browser Forum forbids them and Python's ssl refuses them)"),
    ("www.*.test", "www.bank.test", False, "a wildcard is allowed only in the leftmost label"),
    ("*.test", "bank.test", False,
     "a wildcard needs at least two labels after it: '*.test' would cover a whole top-level domain"),
    ("xn--bcher-kva.test", "XN--BCHER-KVA.TEST", True,
     "an IDNA A-label ('xn--...') is plain ASCII, and compares like any other label, without regard to case"),
    ("xn--bcher-kva.test", "b\u00fccher.test", True,
     "certificates carry A-labels: turn the host name's Unicode labels into A-labels before comparing "
     "(RFC 6125 6.4.2); Python's 'idna' codec does it"),
    ("*.xn--bcher-kva.test", "shop.b\u00fccher.test", True, "a wildcard over an internationalized domain"),
    ("xn--bcher-kva.test", "bucher.test", False, "a different name, however alike it looks"),
    ("xn--*.test", "xn--bcher-kva.test", False, "a partial wildcard inside an A-label matches nothing either"),
    ("www.bank.test\x00.attacker.test", "www.bank.test", False,
     "the comparison stopped at the NUL byte, as C's strcmp() does: no DNS name contains a NUL byte, so "
     "a certificate name with one matches nothing"),
    ("www.bank.test\x00", "www.bank.test", False, "a NUL byte at the end is still a NUL byte"),
    ("attacker.test", "www.bank.test", False, "different names"),
    ("www.bank.test.attacker.test", "www.bank.test", False,
     "the host name is only the beginning of this name: compare whole names"),
    ("www.bank.tes", "www.bank.test", False, "compare whole names, not prefixes"),
)


def check_hostname_matcher(hostname_matches: Callable[[str, str], bool]) -> None:
    """``hostname_matches(san_name, hostname)`` must decide as RFC 6125 (and OpenSSL) do whether a
    DNS name from a certificate covers the host name a client asked for."""
    world = _world()
    (nul_name,) = dns_names(nul_byte_name(world["public_ca"], _BANK, "attacker.test", seed="checker").leaf)
    right = 0
    for san_name, hostname, should_match, lesson in HOSTNAME_CASES:
        result = attempt(hostname_matches, san_name, hostname)
        expect(isinstance(result, bool),
               f"hostname_matches({san_name!r}, {hostname!r}) returned {result!r}; return True or False")
        verdict = "should match" if should_match else "must not match"
        expect(result == should_match,
               f"{right} case(s) right, then: certificate name {san_name!r} {verdict} host name {hostname!r}, "
               f"but your matcher says {result}. Why: {lesson}")
        right += 1
    expect(not attempt(hostname_matches, nul_name, _BANK),
           f"the attack certificate's name {nul_name!r} matched {_BANK!r}")
    well_done(f"all {len(HOSTNAME_CASES)} cases decided as OpenSSL decides them; the attack certificate's "
              f"name {nul_name!r} no longer passes for {_BANK!r}")
