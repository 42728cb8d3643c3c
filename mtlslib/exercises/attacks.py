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

from mtlslib.exercises import ExerciseIncorrect, attempt, expect, well_done
from mtlslib.insecure.mitm import http_request, intercept, send_request
from mtlslib.insecure.verifiers import (
    SignatureCheck,
    dns_names,
    forged_signature,
    leaf_as_ca,
    nul_byte_name,
    unverifiable_signature,
)
from mtlslib.pki import CertificateAuthority, IssuedCertificate
from mtlslib.tls import HttpsService, Request, Response, client_context

__all__ = [
    "check_admin_service",
    "check_bank_client_context",
    "check_basic_constraints_fix",
    "check_goto_fail_fix",
    "check_nul_byte_fix",
]

_BANK = "www.bank.test"
_ADMIN = "admin.bank.test"


@lru_cache(maxsize=1)
def _world():
    """The checkers' own CAs and certificates: seeded, so that every check meets the same ones."""
    public_ca = CertificateAuthority.create("Checker Public Web CA", seed="exercises-attacks")
    attacker_ca = CertificateAuthority.create("Checker Attacker CA", seed="exercises-attacks")
    staff_ca = CertificateAuthority.create("Checker Staff CA", seed="exercises-attacks")
    issuing_ca = public_ca.create_intermediate("Checker Issuing CA")
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
        "attacker_site_via_intermediate": issuing_ca.issue_server("attacker.test"),
    }


# --------------------------------------------------------------------------------------------
# The client that the man in the middle cannot fool


def _bank_login(request: Request) -> Response:
    if request.method == "POST" and b"password=" in request.body:
        return Response(200, "welcome\n")
    return Response(403, "log in first\n")


def check_bank_client_context(bank_client_context: Callable[[CertificateAuthority], ssl.SSLContext]) -> None:
    """``bank_client_context(public_ca)`` must log in to the real bank and refuse every relay."""
    world = _world()
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
        own_ca = intercept(bank.address, world["fake_bank"], ctx, login, hostname=_BANK)
        expect(not own_ca.relay.leaked,
               "a relay presenting a certificate for www.bank.test from the attacker's own CA read your "
               f"password:\n{own_ca.relay}\nYour client accepted a CA it was never told to trust: keep "
               "verify_mode = ssl.CERT_REQUIRED and trust public_ca only")
        wrong_name = intercept(bank.address, world["attacker_site"], ctx, login, hostname=_BANK)
        expect(not wrong_name.relay.leaked,
               "a relay presenting a genuine public-CA certificate, but for attacker.test, read your "
               f"password:\n{wrong_name.relay}\nA valid chain is not enough: keep check_hostname = True so "
               "that the certificate must name www.bank.test")
    well_done("your client logs in to the bank and refuses both relays:\n"
              f"    attacker's CA:    {own_ca.victim.error}\n"
              f"    another's name:   {wrong_name.victim.error}")


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
                "impostor": world["attacker_site"]}
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
           "certificate says who the client is, not what it may do. Compare request.client.name with `admins`")
    expect(seen["impostor"].status is None,
           "a client with a certificate from the public CA (for attacker.test) completed the TLS handshake"
           + (" and got the admin panel" if seen["impostor"].status == 200 else
              "; your handler refused it, but the TLS layer should have")
           + ": trust staff_ca only for client certificates (trust=staff_ca)")
    well_done("alice gets in, and nobody else:\n"
              + "\n".join(f"    {who + ':':<10} {seen[who]}" for who in ("mallory", "anonymous", "impostor")))


# --------------------------------------------------------------------------------------------
# The broken verifiers, fixed


def check_goto_fail_fix(check_signature: Callable[[x509.Certificate, x509.Certificate], int]) -> None:
    """``check_signature(cert, issuer)`` must return 0 for a genuine link and an error otherwise."""
    world = _world()
    ca = world["public_ca"].certificate
    cases = [
        ("a genuine certificate and its CA", world["bank"].certificate, ca, True),
        ("a certificate claiming the CA but signed by the attacker's key",
         forged_signature(world["public_ca"], _BANK, seed="checker").leaf, ca, False),
        ("a certificate signed with a key of another type", unverifiable_signature(world["public_ca"], _BANK,
                                                                                  seed="checker").leaf, ca, False),
        ("a certificate from another CA", world["fake_bank"].certificate, ca, False),
    ]
    for what, cert, issuer, genuine in cases:
        result = attempt(check_signature, cert, issuer)
        expect(isinstance(result, int) and not isinstance(result, bool),
               f"check_signature returned {result!r} for {what}; return an error code: SignatureCheck.OK (0) "
               "or one of the SignatureCheck errors")
        if genuine:
            expect(result == SignatureCheck.OK,
                   f"{what} was reported as error {result!r}; a genuine link must give SignatureCheck.OK")
        else:
            expect(result != SignatureCheck.OK,
                   f"{what} came back OK: the signature was never checked. Look for a `return` that runs "
                   "whatever the `if` above it decided")
    well_done("genuine links pass; the forgery, the unverifiable signature and the stranger are refused")


def check_basic_constraints_fix(verify_chain: Callable[..., bool]) -> None:
    """``verify_chain(chain, roots, at=None)`` must refuse a leaf acting as a CA, and nothing else."""
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
        ("a certificate signed by a leaf (CA:FALSE)",
         leaf_as_ca(world["attacker_site"], _BANK, seed="checker").chain, None, not_a_ca),
        ("a certificate signed by a leaf under an intermediate",
         leaf_as_ca(world["attacker_site_via_intermediate"], _BANK, seed="checker").chain, None, not_a_ca),
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
    well_done("genuine chains pass; leaves acting as CAs, strangers and expired certificates are refused")


def check_nul_byte_fix(hostname_matches: Callable[[str, str], bool]) -> None:
    """``hostname_matches(san_name, hostname)`` must refuse a name with a NUL byte in it."""
    world = _world()
    attack = nul_byte_name(world["public_ca"], _BANK, "attacker.test", seed="checker")
    (nul_name,) = dns_names(attack.leaf)
    cases = [
        ("www.bank.test", _BANK, True),
        ("WWW.Bank.Test", _BANK, True),  # DNS names ignore case
        (nul_name, _BANK, False),
        ("www.bank.test\x00", _BANK, False),
        ("attacker.test", _BANK, False),
        ("www.bank.test.attacker.test", _BANK, False),
        ("www.bank.tes", _BANK, False),
    ]
    for san_name, hostname, should_match in cases:
        result = attempt(hostname_matches, san_name, hostname)
        expect(isinstance(result, bool), f"hostname_matches returned {result!r}; return True or False")
        if should_match:
            expect(result, f"{san_name!r} should match {hostname!r} (DNS names compare without regard to case)")
        elif "\x00" in san_name:
            expect(not result, f"{san_name!r} matched {hostname!r}: the comparison stops at the NUL byte, "
                               "as C's strcmp() does. Compare the whole name, or refuse any name with a NUL in it")
        else:
            expect(not result, f"{san_name!r} matched {hostname!r}, but they are different names")
    well_done(f"the certificate's name {nul_name!r} no longer passes for {_BANK!r}")
