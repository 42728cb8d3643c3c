"""AccessPolicy and authorizing_handler: identities from real certificates, decisions with reasons,
and an HTTPS service that answers 403 when the policy says no."""

from __future__ import annotations

import http.client
import ssl

import pytest
from cryptography import x509
from hypothesis import given, settings
from hypothesis import strategies as st

from mtlslib.pki import CertificateAuthority
from mtlslib.tls import (
    AccessPolicy,
    ClientIdentity,
    Decision,
    HttpsService,
    PolicyError,
    Request,
    Response,
    Rule,
    authorizing_handler,
    client_context,
    spiffe_id_of,
)

WEB = "spiffe://example.test/ns/shop/sa/web"


@pytest.fixture(scope="module")
def client_ca() -> CertificateAuthority:
    return CertificateAuthority.create("Policy Client CA", seed="authorization")


def identity_of(ca: CertificateAuthority, *names: str, **options) -> ClientIdentity:
    return ClientIdentity.from_certificate(ca.issue_client(*names, **options).certificate)


def bare_identity(*names: str, issuer: str = "CN=Policy Client CA", subject: str = "CN=x") -> ClientIdentity:
    """An identity as HttpsService would build it, without the cost of issuing a certificate."""
    return ClientIdentity(subject, names, issuer, "00")


# -- SPIFFE IDs ------------------------------------------------------------------------------


def test_a_spiffe_rule_admits_exactly_that_workload(client_ca):
    policy = AccessPolicy().allow_spiffe_id(WEB)
    decision = policy.decide(identity_of(client_ca, WEB))
    assert decision.allowed and bool(decision)
    assert decision.rule == Rule("SPIFFE ID", WEB)
    assert decision.reason == f"URI:{WEB} is the SPIFFE ID this service admits"
    for other in (WEB + "-admin", WEB + "/debug", "spiffe://evil.test/ns/shop/sa/web", "spiffe://example.test/ns/shop"):
        refused = policy.decide(identity_of(client_ca, other))
        assert not refused.allowed and not refused
        assert refused.reason == f"no rule admits URI:{other}"
        assert refused.rule is None


def test_the_common_name_is_never_an_identity(client_ca):
    impostor = identity_of(client_ca, "spiffe://example.test/ns/shop/sa/batch", common_name=WEB)
    assert impostor.subject == f"CN={WEB}"
    decision = AccessPolicy().allow_spiffe_id(WEB).allow_uri(WEB).decide(impostor)
    assert not decision.allowed


def test_a_certificate_with_two_uri_sans_is_no_spiffe_identity(client_ca):
    double = identity_of(client_ca, WEB, "spiffe://example.test/ns/shop/sa/batch")
    assert spiffe_id_of(double) is None
    decision = AccessPolicy().allow_spiffe_id(WEB).decide(double)
    assert not decision.allowed
    assert "exactly one URI SAN" in decision.reason
    # A plain URI rule has no such requirement: it looks for the URI among the SANs.
    assert AccessPolicy().allow_uri(WEB).decide(double).allowed


def test_a_trust_domain_rule_admits_every_workload_of_that_domain_only(client_ca):
    policy = AccessPolicy().allow_trust_domain("example.test")
    assert policy.decide(identity_of(client_ca, "spiffe://example.test/ns/billing/sa/cron")).allowed
    assert policy.decide(identity_of(client_ca, "spiffe://example.test")).allowed
    # The same beginning, another trust domain:
    assert not policy.decide(identity_of(client_ca, "spiffe://example.test.example/ns/a")).allowed
    assert not policy.decide(identity_of(client_ca, "https://example.test/ns/a")).allowed
    assert not policy.decide(identity_of(client_ca, "ops@example.test")).allowed


@pytest.mark.parametrize("bad", [
    "https://example.test/web", "SPIFFE://example.test/web", "spiffe://Example.test/web", "spiffe:///web",
    "spiffe://example.test/web/", "spiffe://example.test//web", "spiffe://example.test/ns/../web",
    "spiffe://example.test/ns/./web", "spiffe://example.test/web?x=1", "spiffe://example.test:443/web",
    "spiffe://user@example.test/web", "spiffe://example.test/w%20b", "spiffe://example.test/" + "a" * 2100, 42,
])
def test_malformed_spiffe_ids_are_refused_with_the_value_named(bad):
    with pytest.raises(PolicyError) as raised:
        AccessPolicy().allow_spiffe_id(bad)
    assert repr(bad)[:20] in str(raised.value)


def test_malformed_trust_domains_are_refused():
    for bad in ("Example.test", "example.test/ns", "", "spiffe://example.test"):
        with pytest.raises(PolicyError, match="not a SPIFFE trust domain"):
            AccessPolicy().allow_trust_domain(bad)


segment = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=8)
spiffe_ids = st.builds(lambda domain, path: f"spiffe://{domain}.test/" + "/".join(path),
                       segment, st.lists(segment, min_size=1, max_size=4))


@settings(max_examples=200, deadline=None)
@given(spiffe_ids, spiffe_ids)
def test_a_spiffe_rule_admits_one_id_and_no_other(allowed, presented):
    policy = AccessPolicy().allow_spiffe_id(allowed)
    assert policy.decide(bare_identity(f"URI:{presented}")).allowed == (allowed == presented)


# -- emails, DNS names, URIs, issuers ---------------------------------------------------------


def test_email_rules_ignore_the_case_of_the_domain_but_not_of_the_mailbox(client_ca):
    policy = AccessPolicy().allow_email("alice@example.test")
    assert policy.decide(identity_of(client_ca, "alice@EXAMPLE.test")).allowed
    assert not policy.decide(identity_of(client_ca, "Alice@example.test")).allowed
    assert not policy.decide(identity_of(client_ca, "alice@example.test.example")).allowed
    assert not policy.decide(identity_of(client_ca, "alice.example.test")).allowed  # a DNS name, not a mailbox


def test_dns_rules_ignore_case_and_a_final_dot(client_ca):
    policy = AccessPolicy().allow_dns("Batch.Example.test.")
    assert policy.rules == (Rule("DNS", "batch.example.test"),)
    assert policy.decide(identity_of(client_ca, "batch.example.test")).allowed
    assert policy.decide(bare_identity("DNS:BATCH.example.test.")).allowed
    assert not policy.decide(identity_of(client_ca, "batch.example.test.example")).allowed
    assert not policy.decide(identity_of(client_ca, "evil-batch.example.test")).allowed


@pytest.mark.parametrize("method, bad, message", [
    ("allow_dns", "*.example.test", "wildcards are not accepted"),
    ("allow_dns", "127.0.0.1", "not a DNS name"),
    ("allow_dns", "bad name", "not a DNS name"),
    ("allow_email", "alice", "not an email address"),
    ("allow_email", "@example.test", "not an email address"),
    ("allow_uri", "example.test/web", "not a URI"),
    ("allow_uri", None, "not a URI"),
    ("allow_issuer", 42, "takes a CertificateAuthority"),
    ("allow_issuer", "not a name", "not an RFC 4514 name"),
])
def test_bad_rules_are_refused_with_what_to_write(method, bad, message):
    with pytest.raises(PolicyError, match=message):
        getattr(AccessPolicy(), method)(bad)


def test_a_uri_rule_matches_the_exact_uri(client_ca):
    policy = AccessPolicy().allow_uri("https://partner.example/orders")
    assert policy.decide(identity_of(client_ca, "https://partner.example/orders")).allowed
    assert not policy.decide(identity_of(client_ca, "https://partner.example/orders/admin")).allowed


def test_an_issuer_rule_admits_what_that_ca_signed_directly(client_ca):
    issuing = client_ca.create_intermediate("Policy Issuing CA")
    by_root = identity_of(client_ca, "ops@example.test")
    by_issuing = identity_of(issuing, "dev@example.test")
    stranger = identity_of(CertificateAuthority.create("Stranger CA", seed="authorization"), "ops@example.test")

    for issuer in (issuing, issuing.certificate.subject, "CN=Policy Issuing CA"):
        policy = AccessPolicy().allow_issuer(issuer)
        assert policy.rules == (Rule("issuer", "CN=Policy Issuing CA"),)
        assert policy.decide(by_issuing).allowed
        assert policy.decide(by_issuing).reason == (
            "the certificate was issued by CN=Policy Issuing CA, whose clients are all admitted")
        assert not policy.decide(by_root).allowed
        assert not policy.decide(stranger).allowed


def test_the_first_matching_rule_gives_the_reason(client_ca):
    policy = AccessPolicy().allow_email("ops@example.test").allow_issuer(client_ca)
    decision = policy.decide(identity_of(client_ca, "ops@example.test"))
    assert decision.rule.kind == "email"
    assert decision.identity.names == ("email:ops@example.test",)


# -- the policy object -------------------------------------------------------------------------


def test_no_certificate_and_no_rule_both_mean_no():
    refused = AccessPolicy().allow_trust_domain("example.test").decide(None)
    assert refused == Decision(False, "no client certificate: nothing proves who this client is")
    assert str(refused) == "DENY   no client certificate: nothing proves who this client is"
    assert not AccessPolicy().decide(bare_identity(f"URI:{WEB}")).allowed
    assert str(AccessPolicy()) == "AccessPolicy: admits nobody (no rule yet)"


def test_a_certificate_without_san_is_nobody_even_for_an_issuer_rule():
    policy = AccessPolicy().allow_email("a@example.test").allow_issuer("CN=Policy Client CA")
    decision = policy.decide(bare_identity(subject="CN=a@example.test"))
    assert not decision.allowed and decision.rule is None
    assert decision.reason == ("the certificate CN=a@example.test has no subjectAltName: it names nobody "
                               "(a common name is not an identity)")
    assert policy.decide(bare_identity("email:a@example.test", subject="")).allowed


def test_a_real_certificate_without_san_is_refused_whatever_its_common_name(client_ca):
    from mtlslib.insecure.certificates import common_name_only

    legacy = common_name_only(client_ca, WEB, purposes=("client",))
    identity = ClientIdentity.from_certificate(legacy.certificate)
    assert identity.names == () and identity.name is None
    for policy in (AccessPolicy().allow_spiffe_id(WEB), AccessPolicy().allow_uri(WEB),
                   AccessPolicy().allow_trust_domain("example.test"), AccessPolicy().allow_issuer(client_ca)):
        assert not policy.decide(identity).allowed, policy


@pytest.mark.parametrize("policy, presented", [
    # The same text in an entry of another type is another identity.
    (AccessPolicy().allow_dns("web.example.test"), ("URI:web.example.test", "email:web@example.test")),
    (AccessPolicy().allow_email("web@example.test"), ("URI:mailto:web@example.test", "DNS:web.example.test")),
    (AccessPolicy().allow_uri("https://web.example.test/"), ("DNS:web.example.test", "email:web@example.test")),
    (AccessPolicy().allow_spiffe_id(WEB), ("DNS:web.example.test", "email:web@example.test", "IP:127.0.0.1")),
])
def test_a_rule_matches_its_own_type_of_san_entry_only(policy, presented):
    identity = bare_identity(*presented)
    assert not policy.decide(identity).allowed
    (rule,) = policy.rules
    right_type = {"DNS": "DNS:web.example.test", "email": "email:web@example.test",
                  "URI": "URI:https://web.example.test/", "SPIFFE ID": f"URI:{WEB}"}[rule.kind]
    assert policy.decide(bare_identity(*presented, right_type)).allowed


def test_any_matching_entry_admits_not_only_the_first(client_ca):
    # The greeting name is the first SAN; a decision reads every entry of the rule's type.
    identity = identity_of(client_ca, "batch.example.test", "ops@example.test")
    assert identity.name == "batch.example.test"
    decision = AccessPolicy().allow_email("ops@example.test").decide(identity)
    assert decision.allowed and decision.reason == "email:ops@example.test is an allowed address"


def test_policies_are_immutable_values():
    empty = AccessPolicy()
    web = empty.allow_spiffe_id(WEB)
    assert empty.rules == () and web.rules == (Rule("SPIFFE ID", WEB),)
    assert web.allow_spiffe_id(WEB) is web  # the same rule twice changes nothing
    assert web == AccessPolicy([Rule("SPIFFE ID", WEB)]) and hash(web) == hash(AccessPolicy([Rule("SPIFFE ID", WEB)]))
    both = web.allow_email("ops@example.test")
    assert str(both) == f"AccessPolicy: admits\n  - SPIFFE ID {WEB}\n  - email ops@example.test"
    assert str(Decision(True, "because", None)) == "ALLOW  because"
    with pytest.raises(PolicyError, match="made of Rule objects"):
        AccessPolicy(["SPIFFE ID " + WEB])


def test_decide_wants_a_client_identity():
    with pytest.raises(PolicyError, match="takes a ClientIdentity"):
        AccessPolicy().decide("CN=alice")


# -- in an HTTPS service -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def server_ca() -> CertificateAuthority:
    return CertificateAuthority.create("Policy Server CA", seed="authorization")


@pytest.fixture(scope="module")
def server(server_ca):
    return server_ca.issue_server("localhost", "127.0.0.1")


def get(service: HttpsService, context: ssl.SSLContext) -> tuple[int, str]:
    host, port = service.address
    connection = http.client.HTTPSConnection(host, port, context=context, timeout=5)
    try:
        connection.request("GET", "/orders")
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def test_the_service_admits_the_policy_s_clients_and_answers_403_to_the_others(server, server_ca, client_ca):
    seen: list[Request] = []
    decisions: list[Decision] = []

    def orders(request: Request) -> Response:
        seen.append(request)
        return Response(200, f"orders for {request.client.name}\n")

    web = client_ca.issue_client(WEB)
    api = client_ca.issue_client("spiffe://example.test/ns/shop/sa/api")
    handler = authorizing_handler(AccessPolicy().allow_spiffe_id(WEB), orders, on_decision=decisions.append)
    with HttpsService(server, trust=client_ca, mutual=True, handler=handler) as service:
        assert get(service, client_context(server_ca, certificate=web)) == (200, f"orders for {WEB}\n")
        assert get(service, client_context(server_ca, certificate=api)) == (
            403, "forbidden: no rule admits URI:spiffe://example.test/ns/shop/sa/api\n")
    assert [r.client.name for r in seen] == [WEB]  # the refused request never reached the application
    assert [d.allowed for d in decisions] == [True, False]
    assert decisions[1].identity.fingerprint == api.fingerprint


def test_optional_client_certificates_need_the_policy(server, server_ca, client_ca):
    anonymous = client_context(server_ca)
    with HttpsService(server, trust=client_ca, mutual="optional") as service:
        assert get(service, anonymous) == (200, "hello anonymous: no client certificate\n")
    handler = authorizing_handler(AccessPolicy().allow_trust_domain("example.test"))
    with HttpsService(server, trust=client_ca, mutual="optional", handler=handler) as service:
        assert get(service, anonymous) == (403, "forbidden: no client certificate: nothing proves who this client is\n")
        status, body = get(service, client_context(server_ca, certificate=client_ca.issue_client(WEB)))
    assert status == 200 and body.startswith(f"hello {WEB} (")


def test_the_handler_factory_wants_a_policy():
    with pytest.raises(PolicyError, match="needs an AccessPolicy"):
        authorizing_handler(lambda request: True)


def test_rules_read_what_the_service_read_from_the_certificate(client_ca):
    certificate = client_ca.issue_client("spiffe://example.test/ns/a", "ops@example.test", "ops.example.test")
    identity = ClientIdentity.from_certificate(certificate.certificate)
    assert identity.issuer == x509.Name.from_rfc4514_string("CN=Policy Client CA").rfc4514_string()
    for policy in (AccessPolicy().allow_spiffe_id("spiffe://example.test/ns/a"),
                   AccessPolicy().allow_email("ops@example.test"),
                   AccessPolicy().allow_dns("ops.example.test"),
                   AccessPolicy().allow_issuer(client_ca)):
        assert policy.decide(identity).allowed, policy


def test_a_rule_of_an_unknown_kind_is_refused():
    with pytest.raises(PolicyError, match="unknown rule kind 'CN'"):
        Rule("CN", WEB)
