"""Checkers for chapter 05, mutual TLS: an authorization rule, a server context, predictions.

Each checker builds its own seeded certificate authorities and runs real handshakes on
127.0.0.1, so what it reports is what OpenSSL and the HTTPS service really did.
"""

from __future__ import annotations

import ssl
from functools import lru_cache
from typing import Callable

from mtlslib.exercises import attempt, default_roots_are, expect, well_done
from mtlslib.pki import CertificateAuthority, IssuedCertificate
from mtlslib.tls import (
    AccessPolicy,
    ClientIdentity,
    ClientRun,
    HttpsService,
    LoopbackServer,
    authorizing_handler,
    client_context,
    connect,
    error_text,
    https_get,
)

__all__ = ["PREDICTION_SCENARIOS", "WEB_SPIFFE_ID", "check_predictions", "check_server_refuses_anonymous",
           "check_spiffe_rule"]

WEB_SPIFFE_ID = "spiffe://example.test/ns/shop/sa/web"


@lru_cache(maxsize=1)
def _authorities() -> tuple[CertificateAuthority, CertificateAuthority, CertificateAuthority]:
    return (CertificateAuthority.create("Exercise Server CA", seed="exercises-05"),
            CertificateAuthority.create("Exercise Client CA", seed="exercises-05"),
            CertificateAuthority.create("Stranger CA", seed="exercises-05"))


@lru_cache(maxsize=1)
def _public_ca() -> CertificateAuthority:
    return CertificateAuthority.create("Stand-in Public Root CA", seed="exercises-05")


def _identity(certificate: IssuedCertificate) -> ClientIdentity:
    return ClientIdentity.from_certificate(certificate.certificate)


# --------------------------------------------------------------------------------------------
# 1. An authorization rule


@lru_cache(maxsize=1)
def _spiffe_cases() -> list[tuple[str, ClientIdentity | None, bool, str]]:
    _, client_ca, _ = _authorities()
    issue = client_ca.issue_client
    return [
        ("the web front end", _identity(issue(WEB_SPIFFE_ID)), True,
         f"the certificate whose only URI SAN is {WEB_SPIFFE_ID} was refused: that is the one workload to admit"),
        ("no client certificate", None, False,
         "a request without a client certificate (identity None) was admitted: with no certificate there is "
         "nobody to authorize, so return False"),
        ("a longer ID that starts the same", _identity(issue(WEB_SPIFFE_ID + "-admin")), False,
         f"{WEB_SPIFFE_ID}-admin was admitted: compare the whole ID, not its beginning (startswith() is not enough)"),
        ("a child path", _identity(issue(WEB_SPIFFE_ID + "/debug")), False,
         f"{WEB_SPIFFE_ID}/debug was admitted: it is another workload; compare the whole ID"),
        ("the same path in another trust domain", _identity(issue("spiffe://evil.test/ns/shop/sa/web")), False,
         "spiffe://evil.test/ns/shop/sa/web was admitted: the trust domain (example.test) is part of the identity"),
        ("the right name in the common name only",
         _identity(issue("spiffe://example.test/ns/shop/sa/batch", common_name=WEB_SPIFFE_ID)), False,
         "a certificate with CN=" + WEB_SPIFFE_ID + " but SAN URI:spiffe://example.test/ns/shop/sa/batch was "
         "admitted: SPIFFE identities live in the URI subjectAltName; ignore the common name"),
        ("two URI SANs", _identity(issue(WEB_SPIFFE_ID, "spiffe://example.test/ns/shop/sa/batch")), False,
         "a certificate with two URI SANs was admitted: a SPIFFE identity document carries exactly one URI SAN, "
         "so this certificate names no single workload (tip: mtlslib.tls.spiffe_id_of)"),
        ("the ID as an email address", _identity(issue("web@example.test")), False,
         "web@example.test was admitted: only the SPIFFE ID may come in"),
    ]


def check_spiffe_rule(admit: Callable[[ClientIdentity | None], bool]) -> None:
    """``admit(identity) -> bool`` must let in exactly ``WEB_SPIFFE_ID``."""
    for label, identity, wanted, explanation in _spiffe_cases():
        answer = attempt(admit, identity)
        expect(answer is not None, f"{admit.__name__}() returned None for {label}: return True or False")
        expect(bool(answer) == wanted, explanation)
    well_done(f"{admit.__name__} admits {WEB_SPIFFE_ID} and nothing else "
              f"({len(_spiffe_cases())} identities checked)")


# --------------------------------------------------------------------------------------------
# 2. A server context that refuses anonymous clients


def _connect_outcome(address, trust: CertificateAuthority, certificate: IssuedCertificate | None) -> str | None:
    """``None`` if the server answered, else the error the client saw."""
    try:
        with connect(address, client_context(trust, certificate=certificate), timeout=5) as connection:
            answer = connection.request(b"hello\n")
    except OSError as error:  # ssl.SSLError included
        return error_text(error)
    return None if answer else "the server closed the connection without answering"


ContextMaker = Callable[[IssuedCertificate, CertificateAuthority], ssl.SSLContext]


def check_server_refuses_anonymous(make_context: ContextMaker) -> None:
    """``make_context(server_certificate, client_ca)`` must return a server context that requires a
    client certificate issued by ``client_ca``, and by no other CA: not even a public one."""
    server_ca, client_ca, stranger_ca = _authorities()
    server = server_ca.issue_server("localhost")
    # The public roots, played by a CA made for the check: a context that loads the system's
    # default roots (the trap of section 7) loads this one, and its client gets in.
    with default_roots_are(_public_ca()):
        context = attempt(make_context, server, client_ca)
    name = make_context.__name__
    expect(isinstance(context, ssl.SSLContext),
           f"{name}() returned {type(context).__name__}; return the ssl.SSLContext you configured")
    expect(context.protocol != ssl.PROTOCOL_TLS_CLIENT,
           "this is a client context (PROTOCOL_TLS_CLIENT); a server needs ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)")
    expect(context.verify_mode != ssl.CERT_NONE,
           "verify_mode is CERT_NONE: the server never asks for a client certificate; set ssl.CERT_REQUIRED")
    expect(context.verify_mode != ssl.CERT_OPTIONAL,
           "verify_mode is CERT_OPTIONAL: the server asks, but a client that sends nothing still gets in "
           "(the trap of this chapter); set ssl.CERT_REQUIRED")
    alice = client_ca.issue_client("alice@example.test")
    mallory = stranger_ca.issue_client("mallory@example.test")
    # A web site's certificate from a public CA, valid for client authentication too (dual use).
    website = _public_ca().issue_server("shop.example.net", client_auth=True)
    with LoopbackServer(context, timeout=5) as server_loop:
        address = server_loop.address
        anonymous = _connect_outcome(address, server_ca, None)
        with_alice = _connect_outcome(address, server_ca, alice)
        with_mallory = _connect_outcome(address, server_ca, mallory)
        with_website = _connect_outcome(address, server_ca, website)
    expect(with_alice is None,
           f"a client with a certificate from client_ca was refused ({with_alice}); does the context present "
           "server_certificate (server_certificate.configure_cert) and trust client_ca (client_ca.configure_trust)?")
    expect(anonymous is not None, "a client without a certificate got an answer: require a client certificate")
    expect(with_mallory is not None,
           "a client certificate from an unrelated CA was accepted: trust client_ca only, not other CAs")
    expect(with_website is not None,
           "a client certificate issued by a public CA (here a stand-in for the roots your system trusts) was "
           "accepted: your context loads the system's default roots (load_default_certs() and "
           "set_default_verify_paths() do), so anyone a public CA ever certified gets in. A server's trust store "
           "for clients holds client_ca and nothing else")
    well_done(f"the server refuses a client without a certificate ({anonymous}), refuses one from another CA "
              "and one from a public CA, and serves alice")


# --------------------------------------------------------------------------------------------
# 3. Predict, then run

PREDICTION_SCENARIOS = {
    "A": "web's certificate -> service S (mutual=True, trusts the client CA, policy admits only web)",
    "B": "no certificate -> service S",
    "C": "api's certificate (also issued by the client CA) -> service S",
    "D": "no certificate -> a service with mutual='optional' and no policy (the default whoami handler)",
    "E": "no certificate -> a service with mutual='optional' and the policy of S",
    "F": "a certificate from the *server* CA, with clientAuth -> a service (no policy) whose client trust "
         "store is the server CA",
}
_OUTCOMES = ("200", "403", "refused")
# Each hint sends the reader back to the mechanism without saying what happened.
_HINTS = {
    "A": "web's certificate comes from the CA the service trusts for clients, and the policy names its SPIFFE ID: "
         "is anything left to stop it?",
    "B": "mutual=True is CERT_REQUIRED: what does such a server do when the client answers the CertificateRequest "
         "with an empty Certificate, and can an HTTP request be read before the handshake is over (section 6)?",
    "C": "api's certificate is as valid as web's: which of the two locks, the handshake or the policy, tells them "
         "apart (section 5)?",
    "D": "mutual='optional' is CERT_OPTIONAL: does the handshake need a certificate, and does the default whoami "
         "handler check anything (section 6)?",
    "E": "the handshake goes as in D; what does the policy do with a request that carries no certificate "
         "(section 6)?",
    "F": "which CA issued this certificate, and which CA does this service trust for client certificates "
         "(section 7)?",
}


def _outcome(run: ClientRun) -> str:
    if run.status is None:
        return "refused"
    return str(run.status)


def _normal(prediction) -> str:
    return str(prediction).strip().lower().strip("'\"")


def _live_outcomes() -> dict[str, str]:
    server_ca, client_ca, _ = _authorities()
    server = server_ca.issue_server("localhost", "127.0.0.1")
    web = client_ca.issue_client(WEB_SPIFFE_ID)
    api = client_ca.issue_client("spiffe://example.test/ns/shop/sa/api")
    outsider = server_ca.issue_server("outsider.example", client_auth=True)
    policy = AccessPolicy().allow_spiffe_id(WEB_SPIFFE_ID)
    outcomes = {}
    with HttpsService(server, trust=client_ca, mutual=True, handler=authorizing_handler(policy)) as service:
        for key, certificate in (("A", web), ("B", None), ("C", api)):
            outcomes[key] = _outcome(https_get(service.url, trust=server_ca, certificate=certificate))
    with HttpsService(server, trust=client_ca, mutual="optional") as service:
        outcomes["D"] = _outcome(https_get(service.url, trust=server_ca))
    with HttpsService(server, trust=client_ca, mutual="optional", handler=authorizing_handler(policy)) as service:
        outcomes["E"] = _outcome(https_get(service.url, trust=server_ca))
    with HttpsService(server, trust=server_ca, mutual=True) as service:
        outcomes["F"] = _outcome(https_get(service.url, trust=server_ca, certificate=outsider))
    return outcomes


def check_predictions(predict: Callable[[], dict]) -> None:
    """``predict()`` returns ``{"A": "200" | "403" | "refused", ...}`` for every scenario."""
    predictions = attempt(predict)
    expect(isinstance(predictions, dict),
           f"{predict.__name__}() returned {type(predictions).__name__}; return a dict such as "
           "{'A': '200', 'B': 'refused', ...}")
    missing = [key for key in PREDICTION_SCENARIOS if key not in predictions]
    expect(not missing, f"no prediction for scenario {', '.join(missing)}: give one for each of A to F")
    for key in PREDICTION_SCENARIOS:
        expect(_normal(predictions[key]) in _OUTCOMES,
               f"scenario {key}: {predictions[key]!r} is not one of {', '.join(_OUTCOMES)}")
    live = _live_outcomes()
    wrong = [key for key in PREDICTION_SCENARIOS if _normal(predictions[key]) != live[key]]
    # Only which predictions are wrong, and where to look: the outcomes themselves would give away
    # every answer at once.
    expect(not wrong, f"{len(wrong)} of {len(PREDICTION_SCENARIOS)} predictions differ from what really happened, "
                      f"{'the others are right' if len(wrong) < len(PREDICTION_SCENARIOS) else 'all of them'}. "
                      "Think again about:\n" + "\n".join(f"  {key}: {_HINTS[key]}" for key in wrong))
    well_done("every prediction matches what really happened: "
              + ", ".join(f"{key} {live[key]}" for key in PREDICTION_SCENARIOS))
