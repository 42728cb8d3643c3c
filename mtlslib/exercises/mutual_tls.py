"""Checkers for chapter 05, mutual TLS: an authorization rule, a server context, predictions.

Each checker builds its own seeded certificate authorities and runs real handshakes on
127.0.0.1, so what it reports is what OpenSSL and the HTTPS service really did.
"""

from __future__ import annotations

import ssl
from functools import lru_cache
from typing import Callable

from mtlslib.exercises import attempt, expect, well_done
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
    client certificate issued by ``client_ca``."""
    server_ca, client_ca, stranger_ca = _authorities()
    server = server_ca.issue_server("localhost")
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
    with LoopbackServer(context, timeout=5) as server_loop:
        address = server_loop.address
        anonymous = _connect_outcome(address, server_ca, None)
        with_alice = _connect_outcome(address, server_ca, alice)
        with_mallory = _connect_outcome(address, server_ca, mallory)
    expect(with_alice is None,
           f"a client with a certificate from client_ca was refused ({with_alice}); does the context present "
           "server_certificate (server_certificate.configure_cert) and trust client_ca (client_ca.configure_trust)?")
    expect(anonymous is not None, "a client without a certificate got an answer: require a client certificate")
    expect(with_mallory is not None,
           "a client certificate from an unrelated CA was accepted: trust client_ca only, not other CAs")
    well_done(f"the server refuses a client without a certificate ({anonymous}), refuses one from another CA, "
              "and serves alice")


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
_EXPLANATIONS = {
    "A": "web holds a certificate from the trusted client CA and the policy names its SPIFFE ID",
    "B": "mutual=True means CERT_REQUIRED: the server ends the handshake with 'certificate required' before "
         "any HTTP request is read",
    "C": "api's certificate is valid, so the handshake succeeds; it is the policy that says no, with a 403",
    "D": "mutual='optional' is CERT_OPTIONAL: the handshake succeeds without a certificate, and a handler "
         "that does not check serves the anonymous client",
    "E": "the handshake succeeds (optional), and the policy refuses a request with no client certificate",
    "F": "the server trusts the CA that issued the certificate, so the handshake succeeds: anyone that CA "
         "certified gets in, which is why clients need a CA of their own",
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
    expect(not wrong, "; ".join(f"scenario {key}: you predicted {_normal(predictions[key])}, it was {live[key]} "
                                f"({_EXPLANATIONS[key]})" for key in wrong))
    well_done("every prediction matches what really happened: "
              + ", ".join(f"{key} {live[key]}" for key in PREDICTION_SCENARIOS))
