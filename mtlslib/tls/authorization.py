"""From a verified client certificate to a decision: may this client use this service?

Mutual TLS settles *who* the client is: the server checked that the certificate chains to a CA
it trusts and that the client holds the matching private key. It does not settle *what* that
client may do. Every certificate the client CA ever issued passes the handshake; deciding which
of those identities a given service admits is the application's job, and this module is that job
in a few lines:

>>> policy = (AccessPolicy()
...           .allow_spiffe_id("spiffe://example.test/ns/shop/sa/web")
...           .allow_email("alice@example.test"))
>>> print(policy.decide(request.client))
ALLOW  URI:spiffe://example.test/ns/shop/sa/web is the SPIFFE ID this service admits
>>> HttpsService(server, trust=client_ca, mutual=True, handler=authorizing_handler(policy))

Rules match the subjectAltName entries of the certificate (what modern verifiers go by), each
rule one type of entry (a DNS rule never matches a URI or an email with the same text), never
the common name. A policy with no rule admits nobody, and a request without a client certificate,
or with one that has no subjectAltName, is always refused: there is nobody to authorize.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterable, Union

from cryptography import x509

from mtlslib.display import Shown
from mtlslib.errors import MtlsLibError, PolicyError
from mtlslib.pki import CertificateAuthority, general_name

from .https import ClientIdentity, Handler, Request, Response, whoami

__all__ = ["AccessPolicy", "authorizing_handler", "Decision", "PolicyError", "Rule", "spiffe_id_of"]



# SPIFFE ID syntax (SPIFFE standard, "SPIFFE-ID"): lowercase trust domain, path segments of
# letters, digits, '.', '-', '_', none empty, none '.' or '..', no trailing slash, no query,
# fragment, port or user info.
_TRUST_DOMAIN = re.compile(r"[a-z0-9._-]+")
_PATH_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")
_SPIFFE_MAX_BYTES = 2048


def _check_trust_domain(domain: str, context: str) -> str:
    if not isinstance(domain, str) or not _TRUST_DOMAIN.fullmatch(domain):
        raise PolicyError(
            f"{context}: {domain!r} is not a SPIFFE trust domain (lowercase letters, digits, '.', '-' "
            "and '_' only, e.g. 'example.test')"
        )
    return domain


def _parse_spiffe_id(value: str) -> tuple[str, str]:
    """``(trust_domain, path)`` of a well-formed SPIFFE ID; :class:`PolicyError` otherwise."""
    if not isinstance(value, str) or not value.startswith("spiffe://"):
        raise PolicyError(f"{value!r} is not a SPIFFE ID: it must start with 'spiffe://' (lowercase), "
                          "e.g. 'spiffe://example.test/ns/shop/sa/web'")
    if len(value.encode()) > _SPIFFE_MAX_BYTES:
        raise PolicyError(f"{value[:40]!r}... is longer than the {_SPIFFE_MAX_BYTES} bytes a SPIFFE ID may have")
    rest = value[len("spiffe://"):]
    domain, slash, path = rest.partition("/")
    _check_trust_domain(domain, f"SPIFFE ID {value!r}")
    if slash:
        segments = path.split("/")
        for segment in segments:
            if not _PATH_SEGMENT.fullmatch(segment) or segment in (".", ".."):
                raise PolicyError(
                    f"SPIFFE ID {value!r}: path segment {segment!r} is not allowed (segments are non-empty, "
                    "use letters, digits, '.', '-', '_', are not '.' or '..', and the ID has no trailing slash)"
                )
    return domain, "/" + path if slash else ""


def spiffe_id_of(identity: ClientIdentity) -> str | None:
    """The SPIFFE ID a client certificate carries, or ``None`` if it is not an X509-SVID: the
    standard requires exactly one URI SAN, and that URI a well-formed ``spiffe://`` ID."""
    uris = identity.uris
    if len(uris) != 1:
        return None
    try:
        _parse_spiffe_id(uris[0])
    except PolicyError:
        return None
    return uris[0]


def _same_email(a: str, b: str) -> bool:
    # The domain is case-insensitive, the local part is not (RFC 5321, section 2.4).
    local_a, _, domain_a = a.rpartition("@")
    local_b, _, domain_b = b.rpartition("@")
    return local_a == local_b and domain_a.lower() == domain_b.lower()


def _normal_dns(name: str) -> str:
    return name.lower().rstrip(".")


_RULE_KINDS = ("URI", "SPIFFE ID", "SPIFFE trust domain", "email", "DNS", "issuer")


@dataclass(frozen=True)
class Rule:
    """One thing a policy allows: a URI, a SPIFFE ID or trust domain, an email, a DNS name, an issuer."""

    kind: str
    """``"URI"``, ``"SPIFFE ID"``, ``"SPIFFE trust domain"``, ``"email"``, ``"DNS"`` or ``"issuer"``."""
    value: str

    def __post_init__(self) -> None:
        if self.kind not in _RULE_KINDS:
            raise PolicyError(f"unknown rule kind {self.kind!r}; use one of: {', '.join(_RULE_KINDS)} "
                              "(or build the policy with AccessPolicy().allow_...(...))")

    def match(self, identity: ClientIdentity) -> str | None:
        """Why ``identity`` satisfies this rule (a sentence), or ``None`` if it does not."""
        if self.kind == "URI":
            if self.value in identity.uris:
                return f"URI:{self.value} is an allowed URI"
        elif self.kind == "SPIFFE ID":
            if spiffe_id_of(identity) == self.value:
                return f"URI:{self.value} is the SPIFFE ID this service admits"
        elif self.kind == "SPIFFE trust domain":
            spiffe_id = spiffe_id_of(identity)
            if spiffe_id is not None and _parse_spiffe_id(spiffe_id)[0] == self.value:
                return f"URI:{spiffe_id} belongs to the admitted trust domain {self.value}"
        elif self.kind == "email":
            found = next((e for e in identity.emails if _same_email(e, self.value)), None)
            if found is not None:
                return f"email:{found} is an allowed address"
        elif self.kind == "DNS":
            found = next((d for d in identity.dns_names if _normal_dns(d) == self.value), None)
            if found is not None:
                return f"DNS:{found} is an allowed name"
        elif self.kind == "issuer":
            if _same_name(identity.issuer, self.value):
                return f"the certificate was issued by {self.value}, whose clients are all admitted"
        return None

    def __str__(self) -> str:
        return f"{self.kind} {self.value}"


def _same_name(a: str, b: str) -> bool:
    try:
        return x509.Name.from_rfc4514_string(a) == x509.Name.from_rfc4514_string(b)
    except ValueError:
        return False


@dataclass(frozen=True)
class Decision(Shown):
    """The answer to "may this client come in?", with the reason in words."""

    allowed: bool
    reason: str
    identity: ClientIdentity | None = None
    rule: Rule | None = None
    """The rule that admitted the client (``None`` when refused)."""

    def __bool__(self) -> bool:
        return self.allowed

    def __str__(self) -> str:
        return f"{'ALLOW' if self.allowed else 'DENY':<5}  {self.reason}"


IssuerLike = Union[CertificateAuthority, x509.Name, str]


class AccessPolicy:
    """An allow list of client identities. Immutable: each ``allow_*`` returns a new policy.

    A client is admitted when at least one rule matches its verified certificate; with no rule,
    nobody is. Build one rule at a time:

    >>> policy = AccessPolicy().allow_spiffe_id("spiffe://example.test/ns/shop/sa/web").allow_dns("batch.example.test")
    """

    def __init__(self, rules: Iterable[Rule] = ()):
        rules = tuple(rules)
        for rule in rules:
            if not isinstance(rule, Rule):
                raise PolicyError(f"a policy is made of Rule objects, not {type(rule).__name__}; "
                                  "build it with AccessPolicy().allow_...(...)")
        self.rules = rules

    def _with(self, rule: Rule) -> "AccessPolicy":
        return self if rule in self.rules else AccessPolicy((*self.rules, rule))

    def allow_uri(self, uri: str) -> "AccessPolicy":
        """Admit a certificate with this exact URI SAN."""
        if not isinstance(uri, str) or "://" not in uri:
            raise PolicyError(f"{uri!r} is not a URI (expected e.g. 'https://partner.example/orders' "
                              "or a spiffe:// ID)")
        return self._with(Rule("URI", uri))

    def allow_spiffe_id(self, spiffe_id: str) -> "AccessPolicy":
        """Admit the workload with this SPIFFE ID (its certificate's one and only URI SAN)."""
        _parse_spiffe_id(spiffe_id)
        return self._with(Rule("SPIFFE ID", spiffe_id))

    def allow_trust_domain(self, trust_domain: str) -> "AccessPolicy":
        """Admit every workload of a SPIFFE trust domain (``spiffe://TRUST_DOMAIN/...``)."""
        return self._with(Rule("SPIFFE trust domain", _check_trust_domain(trust_domain, "allow_trust_domain")))

    def allow_email(self, address: str) -> "AccessPolicy":
        """Admit a certificate with this email SAN (the domain part compared case-insensitively)."""
        if not isinstance(address, str) or not isinstance(_safe_general_name(address), x509.RFC822Name):
            raise PolicyError(f"{address!r} is not an email address (expected name@domain)")
        return self._with(Rule("email", address))

    def allow_dns(self, name: str) -> "AccessPolicy":
        """Admit a certificate with this DNS SAN (case-insensitive). No wildcards: a client names
        itself exactly."""
        if isinstance(name, str) and name.startswith("*"):
            raise PolicyError(f"{name!r}: wildcards are not accepted; list each client's DNS name")
        if not isinstance(name, str) or not isinstance(_safe_general_name(name), x509.DNSName):
            raise PolicyError(f"{name!r} is not a DNS name (letters, digits, hyphens and dots)")
        return self._with(Rule("DNS", _normal_dns(name)))

    def allow_issuer(self, issuer: IssuerLike) -> "AccessPolicy":
        """Admit every client certificate signed directly by this CA.

        The issuer's name can be trusted only because the handshake verified the chain against the
        server's trust store: give the server a store that holds your client CA and nothing else.
        """
        if isinstance(issuer, CertificateAuthority):
            name = issuer.certificate.subject.rfc4514_string()
        elif isinstance(issuer, x509.Name):
            name = issuer.rfc4514_string()
        elif isinstance(issuer, str):
            try:
                x509.Name.from_rfc4514_string(issuer)
            except ValueError:
                raise PolicyError(f"{issuer!r} is not an RFC 4514 name such as 'CN=Course Client CA'") from None
            name = issuer
        else:
            raise PolicyError(f"allow_issuer takes a CertificateAuthority, an x509.Name or an RFC 4514 string, "
                              f"not {type(issuer).__name__}")
        if not name:
            raise PolicyError("allow_issuer: the issuer name is empty")
        return self._with(Rule("issuer", name))

    def decide(self, identity: ClientIdentity | None) -> Decision:
        """Admit or refuse the client whose verified certificate is ``identity`` (``None``: no
        certificate). The reason names the client, never the rest of the policy."""
        if identity is None:
            return Decision(False, "no client certificate: nothing proves who this client is")
        if not isinstance(identity, ClientIdentity):
            raise PolicyError(f"decide() takes a ClientIdentity (request.client), not {type(identity).__name__}")
        if not identity.names:
            return Decision(False, f"the certificate {identity.subject or '(empty subject)'} has no subjectAltName: "
                                   "it names nobody (a common name is not an identity)", identity)
        for rule in self.rules:
            why = rule.match(identity)
            if why is not None:
                return Decision(True, why, identity, rule)
        reason = f"no rule admits {', '.join(identity.names)}"
        if len(identity.uris) > 1 and any(r.kind.startswith("SPIFFE") for r in self.rules):
            reason += " (a SPIFFE identity has exactly one URI SAN; this certificate has several)"
        return Decision(False, reason, identity)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AccessPolicy) and other.rules == self.rules

    def __hash__(self) -> int:
        return hash(self.rules)

    def __str__(self) -> str:
        if not self.rules:
            return "AccessPolicy: admits nobody (no rule yet)"
        return "AccessPolicy: admits\n" + "\n".join(f"  - {rule}" for rule in self.rules)

    def __repr__(self) -> str:
        return f"AccessPolicy({list(self.rules)!r})"


def _safe_general_name(identity: str) -> x509.GeneralName | None:
    try:
        return general_name(identity)
    except MtlsLibError:
        return None


def authorizing_handler(policy: AccessPolicy, handler: Handler = whoami, *,
                        on_decision: Callable[[Decision], None] | None = None) -> Handler:
    """A handler for :class:`~mtlslib.tls.HttpsService` that asks ``policy`` first: a refused
    client gets ``403 Forbidden`` with the reason, an admitted one reaches ``handler``.

    ``on_decision`` (e.g. ``decisions.append``) receives every decision, for an audit log. A
    public service would log the reason and tell the client less; the course shows it.
    """
    if not isinstance(policy, AccessPolicy):
        raise PolicyError(f"authorizing_handler needs an AccessPolicy, not {type(policy).__name__}")

    def authorize_then_handle(request: Request) -> Response:
        decision = policy.decide(request.client)
        if on_decision is not None:
            on_decision(decision)
        if not decision.allowed:
            return Response(403, f"forbidden: {decision.reason}\n")
        return handler(request)

    return authorize_then_handle
