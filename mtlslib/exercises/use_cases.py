"""Checkers for chapter 07, mutual TLS at work: the allow list of a partner's programs.

The checker runs Acme's partner API for real on 127.0.0.1, with the reader's policy in front of
the order desk, and calls it with Globex's certificates (and an outsider's), so that what it
reports is what the service answered.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable

from mtlslib.exercises import attempt, expect, well_done
from mtlslib.lessons.use_cases import Organisation
from mtlslib.pki import IssuedCertificate
from mtlslib.tls import AccessPolicy, Reply, authorizing_handler, client_context, https_request

__all__ = ["ORDERING_PROGRAM", "check_partner_allow_list"]

ORDERING_PROGRAM = "spiffe://globex.test/purchasing"
"""The one Globex program that may place orders with Acme."""


@lru_cache(maxsize=1)
def _organisations() -> tuple[Organisation, Organisation, Organisation]:
    return (Organisation.create("Acme", "acme.test", seed="exercises-07"),
            Organisation.create("Globex", "globex.test", seed="exercises-07"),
            Organisation.create("Initech", "initech.test", seed="exercises-07"))


@lru_cache(maxsize=1)
def _callers() -> list[tuple[str, IssuedCertificate, int | None, str]]:
    """(who, the certificate it presents, the status it must get, what it means if it gets another)."""
    acme, globex, initech = _organisations()
    two_uris = globex.ca.issue_client(ORDERING_PROGRAM, "spiffe://globex.test/reporting")
    return [
        ("Globex purchasing", globex.workload("purchasing"), 200,
         f"Globex's purchasing program ({ORDERING_PROGRAM}) did not get its order through: the allow list must "
         "admit it; whose trust domain names Globex's programs, and does a policy with no matching rule admit "
         "anybody?"),
        ("Globex billing", globex.workload("billing"), 403,
         "Globex's billing program was admitted: it holds a valid Globex certificate, but only purchasing may "
         "order. A rule for Globex's whole trust domain, or for everything Globex's CA signed, admits every "
         "program Globex will ever run; name the one program"),
        ("a Globex certificate with two URIs", two_uris, 403,
         f"a Globex certificate carrying {ORDERING_PROGRAM} and a second URI was admitted: a SPIFFE ID is a "
         "certificate's only URI, so this certificate names no single program. Which rule checks that, and "
         "which only looks for the URI among others?"),
        ("Initech scraper", initech.workload("scraper"), None,
         "Initech's certificate got an HTTP answer: only the handshake can stop it, and this one trusts Globex's "
         "CA alone; did the service change?"),
    ]


def check_partner_allow_list(allow_list: Callable[[Organisation], AccessPolicy]) -> None:
    """``allow_list(globex)`` must return the :class:`~mtlslib.tls.AccessPolicy` of Acme's order desk:
    Globex's purchasing program, and nothing else."""
    acme, globex, _ = _organisations()
    name = getattr(allow_list, "__name__", "allow_list")
    policy = attempt(allow_list, globex)
    expect(isinstance(policy, AccessPolicy),
           f"{name}() returned {type(policy).__name__}; return an AccessPolicy, e.g. AccessPolicy().allow_...(...)")
    replies: dict[str, Reply] = {}
    with acme.partner_service(globex, handler=authorizing_handler(policy, acme.order_desk)) as service:
        for who, certificate, _, _ in _callers():
            context = client_context(acme.ca, certificate=certificate)
            replies[who] = https_request(service.address, context, path="/orders", hostname=acme.hostname)
    for who, _, wanted, explanation in _callers():
        expect(replies[who].status == wanted, f"{explanation} (the service answered: {replies[who]})")
    well_done(f"Acme's order desk takes orders from {ORDERING_PROGRAM} only:\n"
              + "\n".join(f"    {who + ':':<36} {replies[who]}" for who, *_ in _callers()))
