"""How each scenario of the catalogue builds its certificates and its two contexts.

Every function here returns a :class:`~mtlslib.lessons.scenarios.model.Setup` (or makes a function
that does, for scenarios that come in variants). Each scenario has its own seeded PKI, a root and
an issuing CA like a small real deployment, so every run makes the same certificates. The broken
certificates come from :mod:`mtlslib.insecure.certificates`; the misconfigured contexts from
:mod:`.contexts`.
"""

from __future__ import annotations

import ssl
from typing import Callable, Sequence

from cryptography import x509

from mtlslib.insecure import certificates as broken
from mtlslib.pki import CertificateAuthority, IssuedCertificate, Trust, trust_anchors
from mtlslib.tls import PeerView, reply_with_identity

from .contexts import client_ctx, server_ctx, unverified_client_ctx
from .model import Setup

__all__ = ["cert_none", "client_only_eku", "common_name_only", "critical_extension", "incomplete_chain",
           "intermediate_anchor", "leaf_as_ca", "many_names", "mtls_common_name_only", "mtls_expired",
           "mtls_incomplete_chain", "mtls_key_mismatch", "mtls_no_certificate", "mtls_no_eku",
           "mtls_optional_anonymous", "mtls_other_ca", "mtls_overbroad_store", "mtls_revoked",
           "mtls_self_signed", "mtls_server_only_eku", "mtls_valid", "mtls_wrong_identity",
           "name_constraints", "no_hostname_check", "no_subject", "path_length", "revoked", "self_signed",
           "strong", "untrusted_root", "unverified_context", "valid", "validity", "weak", "wrong_name",
           "wrong_signature"]

SEED = "breaking verification"


def _pki(name: str) -> tuple[CertificateAuthority, CertificateAuthority]:
    """A seeded root and issuing CA of the scenario's own, like a small real deployment."""
    root = CertificateAuthority.create("Scenario Root CA", seed=f"{SEED} {name}")
    return root, root.create_intermediate("Scenario Issuing CA")


def _chain(certificate: IssuedCertificate) -> tuple[x509.Certificate, ...]:
    return (certificate.certificate, *certificate.chain)


def _server_setup(leaf: IssuedCertificate, trust: Trust, *, server_hostname: str = "localhost",
                  server_options: dict | None = None, client_options: dict | None = None, crls=(),
                  presented: Sequence[x509.Certificate] | None = None) -> Setup:
    """A server presenting ``leaf`` to a client that trusts ``trust``."""
    trust = trust_anchors(trust)
    server_options, client_options = server_options or {}, client_options or {}
    return Setup(
        server=lambda: server_ctx(leaf, **server_options),
        client=lambda: client_ctx(trust, crls=crls, **client_options),
        presented=tuple(presented) if presented is not None else _chain(leaf),
        trust=trust, server_hostname=server_hostname, crls=tuple(crls),
    )


def _client_setup(name: str, client: IssuedCertificate | None, client_trust: Trust, *,
                  verify_mode: ssl.VerifyMode = ssl.CERT_REQUIRED, crls=(), verify_flags: int = 0,
                  tls_version: str = "1.3", handler=reply_with_identity) -> Setup:
    """A mutual-TLS server trusting ``client_trust`` for clients; ``client`` presents itself."""
    root, issuing = _pki(f"{name} server")
    server = issuing.issue_server("localhost")
    client_trust = trust_anchors(client_trust)
    return Setup(
        server=lambda: server_ctx(server, client_trust=client_trust, verify_mode=verify_mode, crls=crls,
                                  verify_flags=verify_flags, tls_version=tls_version),
        client=lambda: client_ctx(root, certificate=client, tls_version=tls_version),
        presented=_chain(client) if client is not None else None,
        trust=client_trust, crls=tuple(crls), handler=handler,
    )


def _allow_only(identity: str):
    """A server application that serves one client identity and answers 403 to anyone else."""
    def handler(tls: ssl.SSLSocket, peer: PeerView) -> None:
        if tls.recv(4096):
            who = peer.peer_identity
            if who == identity:
                tls.sendall(f"hello {who}\n".encode())
            else:
                tls.sendall(f"403 forbidden: {who or 'an anonymous client'} is not {identity}\n".encode())
    return handler


def _identity_from_san_only(tls: ssl.SSLSocket, peer: PeerView) -> None:
    """A server application that finds a client's identity in the subjectAltName only, as
    identities must be read: a verified certificate that names nobody there gets 403, never a
    fallback to the common name."""
    if tls.recv(4096):
        if peer.peer_identity:
            tls.sendall(f"hello {peer.peer_identity}\n".encode())
        elif peer.peer_subject is not None:
            tls.sendall(f"403 forbidden: {peer.peer_subject or '(empty subject)'} has no identity in a "
                        "subjectAltName (the common name does not count)\n".encode())
        else:
            tls.sendall(b"403 forbidden: no client certificate\n")


# --------------------------------------------------------------------------------------------
# The client verifies the server


def valid() -> Setup:
    root, issuing = _pki("valid")
    return _server_setup(issuing.issue_server("localhost", "127.0.0.1"), [root])


def self_signed() -> Setup:
    root, _ = _pki("self-signed")
    return _server_setup(broken.self_signed_leaf("localhost"), [root])


def untrusted_root() -> Setup:
    _, issuing = _pki("untrusted-root")
    other_root, _ = _pki("untrusted-root, the client's")
    return _server_setup(issuing.issue_server("localhost"), [other_root])


def incomplete_chain() -> Setup:
    root, issuing = _pki("incomplete-chain")
    full = issuing.issue_server("localhost")
    alone = IssuedCertificate(full.certificate, full.private_key)  # no intermediate sent
    return _server_setup(alone, [root])


def intermediate_anchor(partial: bool) -> Callable[[], Setup]:
    def build() -> Setup:
        root, issuing = _pki("intermediate-anchor")
        options = {"verify_flags": ssl.VERIFY_X509_PARTIAL_CHAIN} if partial else {}
        return _server_setup(issuing.issue_server("localhost"), [issuing],
                             client_options=options)
    return build


def validity(which: str) -> Callable[[], Setup]:
    def build() -> Setup:
        root, issuing = _pki(f"validity {which}")
        if which == "expired-intermediate":
            issuing = root.create_intermediate("Scenario Expired Issuing CA", validity="expired")
            return _server_setup(issuing.issue_server("localhost"), [root])
        return _server_setup(issuing.issue_server("localhost", validity=which), [root])
    return build


def wrong_name(identities: Sequence[str], hostname: str) -> Callable[[], Setup]:
    def build() -> Setup:
        root, issuing = _pki(f"name {hostname}")
        return _server_setup(issuing.issue_server(*identities), [root], server_hostname=hostname)
    return build


def common_name_only(cn_fallback: bool) -> Callable[[], Setup]:
    def build() -> Setup:
        root, issuing = _pki("cn-only")
        return _server_setup(broken.common_name_only(issuing, "localhost"), [root],
                             client_options={"hostname_checks_common_name": cn_fallback})
    return build


def no_subject() -> Setup:
    root, issuing = _pki("no-subject")
    return _server_setup(broken.without_subject(issuing, "localhost"), [root])


def many_names() -> Setup:
    root, issuing = _pki("1000-sans")
    names = [f"host{i}.example.test" for i in range(999)]
    return _server_setup(issuing.issue_server("localhost", *names), [root])


def leaf_as_ca(basic_constraints: bool) -> Callable[[], Setup]:
    def build() -> Setup:
        root, _ = _pki(f"not-a-ca {basic_constraints}")
        # Issued by the root, which sets no path length, so that only the missing CA flag is wrong.
        fake_ca = broken.not_a_ca(root, "Scenario Leaf Posing As CA" if basic_constraints
                                  else "Scenario Issuer Without Constraints", basic_constraints=basic_constraints)
        return _server_setup(broken.issue_leaf(fake_ca, "localhost"), [root])
    return build


def path_length() -> Setup:
    root, issuing = _pki("pathlen")  # issuing: path length 0, it may sign leaves only
    deeper = broken.sub_ca(issuing, "Scenario Sub-CA Below A Path Length 0")
    return _server_setup(broken.issue_leaf(deeper, "localhost"), [root])


def name_constraints() -> Setup:
    root, _ = _pki("name-constraints")
    constrained = broken.name_constrained_ca(root, "Scenario CA For example.test Only", permitted=["example.test"])
    return _server_setup(broken.issue_leaf(constrained, "localhost"), [root])


def critical_extension() -> Setup:
    root, issuing = _pki("critical-extension")
    return _server_setup(broken.with_unknown_critical_extension(issuing, "localhost"), [root])


def client_only_eku() -> Setup:
    root, issuing = _pki("client-eku-on-server")
    return _server_setup(issuing.issue_client("localhost"), [root])


def wrong_signature() -> Setup:
    root, issuing = _pki("wrong-signature")
    return _server_setup(broken.signed_by_wrong_key(issuing, "localhost"), [root])


def weak(kind: str, security_level: int | None) -> Callable[[], Setup]:
    def build() -> Setup:
        root, issuing = _pki(f"weak {kind}")
        leaf = broken.weak_rsa(issuing, "localhost") if kind == "rsa-1024" else broken.sha1_signed(issuing, "localhost")
        return _server_setup(leaf, [root], server_options={"security_level": security_level})
    return build


def strong(key_type: str) -> Callable[[], Setup]:
    def build() -> Setup:
        root, issuing = _pki(f"key {key_type}")
        return _server_setup(issuing.issue_server("localhost", key_type=key_type), [root])
    return build


def revoked(flags: int, with_crl: bool) -> Callable[[], Setup]:
    def build() -> Setup:
        root, issuing = _pki(f"revoked {flags} {with_crl}")
        leaf = issuing.issue_server("localhost")
        issuing.revoke(leaf, x509.ReasonFlags.key_compromise)
        crls = [issuing.crl] if with_crl else []
        return _server_setup(leaf, [root], crls=crls, client_options={"verify_flags": flags})
    return build


def cert_none() -> Setup:
    root, _ = _pki("cert-none")
    attacker = broken.self_signed_leaf("localhost")
    return _server_setup(attacker, [root],
                         client_options={"verify_mode": ssl.CERT_NONE, "check_hostname": False})


def no_hostname_check() -> Setup:
    root, issuing = _pki("no-hostname-check")
    someone_else = issuing.issue_server("evil.example.test")  # a genuine certificate, for another site
    return _server_setup(someone_else, [root], client_options={"check_hostname": False})


def unverified_context() -> Setup:
    root, _ = _pki("unverified-context")
    attacker = broken.self_signed_leaf("localhost")
    setup = _server_setup(attacker, [root])
    setup.client = unverified_client_ctx  # what ssl._create_unverified_context() returns
    return setup


# --------------------------------------------------------------------------------------------
# The server verifies the client (mutual TLS)


def mtls_valid() -> Setup:
    root, issuing = _pki("mtls valid")
    return _client_setup("valid", issuing.issue_client("alice@example.test"), [root])


def mtls_no_certificate(tls_version: str) -> Callable[[], Setup]:
    def build() -> Setup:
        root, _ = _pki("mtls none")
        return _client_setup(f"none {tls_version}", None, [root], tls_version=tls_version)
    return build


def mtls_other_ca() -> Setup:
    root, _ = _pki("mtls other-ca")
    _, stranger_issuing = _pki("mtls other-ca, a stranger's")
    return _client_setup("other-ca", stranger_issuing.issue_client("alice@example.test"), [root])


def mtls_self_signed() -> Setup:
    root, _ = _pki("mtls self-signed")
    return _client_setup("self-signed", broken.self_signed_leaf("alice@example.test", purposes=("client",)), [root])


def mtls_server_only_eku() -> Setup:
    root, issuing = _pki("mtls server-eku")
    return _client_setup("server-eku", issuing.issue_server("alice.example.test"), [root])


def mtls_no_eku() -> Setup:
    root, issuing = _pki("mtls no-eku")
    return _client_setup("no-eku", broken.without_extended_key_usage(issuing, "alice@example.test"), [root])


def mtls_expired(verify_mode: ssl.VerifyMode) -> Callable[[], Setup]:
    def build() -> Setup:
        root, issuing = _pki(f"mtls expired {verify_mode}")
        return _client_setup("expired", issuing.issue_client("alice@example.test", validity="expired"), [root],
                             verify_mode=verify_mode)
    return build


def mtls_revoked() -> Setup:
    root, issuing = _pki("mtls revoked")
    alice = issuing.issue_client("alice@example.test")
    issuing.revoke(alice, x509.ReasonFlags.key_compromise)
    return _client_setup("revoked", alice, [root], crls=[issuing.crl], verify_flags=ssl.VERIFY_CRL_CHECK_LEAF)


def mtls_incomplete_chain() -> Setup:
    root, issuing = _pki("mtls incomplete-chain")
    full = issuing.issue_client("alice@example.test")
    return _client_setup("incomplete", IssuedCertificate(full.certificate, full.private_key), [root])


def mtls_key_mismatch() -> Setup:
    root, issuing = _pki("mtls key-mismatch")
    alice = issuing.issue_client("alice@example.test")
    setup = _client_setup("key-mismatch", broken.paired_with_wrong_key(alice), [root])
    setup.presented = None  # nothing is ever sent: the client cannot even load it
    return setup


def mtls_optional_anonymous() -> Setup:
    root, _ = _pki("mtls optional")
    return _client_setup("optional", None, [root], verify_mode=ssl.CERT_OPTIONAL)


def mtls_wrong_identity() -> Setup:
    root, issuing = _pki("mtls wrong-identity")
    mallory = issuing.issue_client("mallory@example.test")
    return _client_setup("wrong-identity", mallory, [root], handler=_allow_only("alice@example.test"))


def mtls_overbroad_store() -> Setup:
    root, _ = _pki("mtls over-broad")
    web_root, web_issuing = _pki("mtls over-broad, a public web CA")
    stranger = web_issuing.issue_client("anyone@web.example")
    return _client_setup("over-broad", stranger, [root, web_root])


def mtls_common_name_only() -> Setup:
    root, issuing = _pki("mtls cn-only")
    alice = broken.common_name_only(issuing, "alice@example.test", purposes=("client",))
    return _client_setup("cn-only", alice, [root], handler=_identity_from_san_only)
