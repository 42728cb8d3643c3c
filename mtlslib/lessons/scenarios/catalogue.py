"""A catalogue of broken certificates and misconfigured peers, each run as a real handshake.

Every :class:`~mtlslib.lessons.scenarios.Scenario` builds its own certificates (seeded, so each run
makes the same ones) and its own ``ssl`` contexts (see :mod:`.setups`), runs one real TLS handshake
and one request on 127.0.0.1, and reports in an :class:`~mtlslib.lessons.scenarios.Outcome` what
each side saw.

* ``side="server"`` scenarios: the client verifies the server (ordinary TLS, the badssl.com
  cases and more);
* ``side="client"`` scenarios: the server verifies the client (mutual TLS).

Each scenario also says what ``cryptography``'s verifier (``PolicyBuilder``) decides for the same
certificates (:meth:`Scenario.cryptography_verdict`), notes where it and OpenSSL disagree, and
explains itself check by check (:meth:`Scenario.explain`, see :mod:`mtlslib.verification`). Some
scenarios are "fixes" that switch a check off; their ``lets_in`` says what that admits.

>>> outcome = SCENARIOS["expired"].run()
>>> outcome.refused_by, outcome.reason
('client', 'certificate has expired')
"""

from __future__ import annotations

import ssl
from typing import Iterable

from . import setups
from .model import Expected, Outcome, Scenario

__all__ = ["CATALOGUE", "run_all", "SCENARIOS"]

CATALOGUE: tuple[Scenario, ...] = (
    # -- who vouches for the server? ------------------------------------------------------
    Scenario("valid", "A valid chain: leaf, issuing CA, trusted root", "server", "trust",
             "The baseline: the server sends its certificate and the issuing CA; the client trusts the root. "
             "Every check passes.", Expected(), setups.valid, cryptography=True),
    Scenario("self-signed", "The server's certificate signs itself", "server", "trust",
             "Nobody vouches for a self-signed leaf: anyone can make one for any name. The client trusts a root "
             "that did not sign it.", Expected("client", "self-signed certificate", "unknown ca"), setups.self_signed,
             cryptography=False, badssl="self-signed"),
    Scenario("untrusted-root", "Signed by a root the client does not trust", "server", "trust",
             "A proper chain, but it leads to some other organisation's root, which is not in the client's "
             "trust store.", Expected("client", "unable to get local issuer certificate", "unknown ca"),
             setups.untrusted_root, cryptography=False, badssl="untrusted-root"),
    Scenario("incomplete-chain", "The server forgets to send its intermediate", "server", "trust",
             "The client trusts the root, but the server sends only its own certificate: without the issuing "
             "CA, no path reaches the root. (Chrome, Edge and Safari fetch a public server's missing "
             "intermediate from the AIA extension, and Firefox preloads those listed in the CCADB; OpenSSL does "
             "neither.)", Expected("client", "unable to get local issuer certificate", "unknown ca"),
             setups.incomplete_chain, cryptography=False, badssl="incomplete-chain"),
    Scenario("intermediate-anchor", "The client trusts only the intermediate", "server", "trust",
             "The client's trust store holds the issuing CA but not its root. OpenSSL insists that a path end "
             "at a self-signed root, so it looks for the root and fails.",
             Expected("client", "unable to get issuer certificate", "unknown ca"), setups.intermediate_anchor(False),
             cryptography=True,
             disagreement="cryptography treats every certificate in its store as a trust anchor, root or not; "
                          "OpenSSL does so only with VERIFY_X509_PARTIAL_CHAIN."),
    Scenario("partial-chain", "The same, with VERIFY_X509_PARTIAL_CHAIN", "server", "trust",
             "The flag lets a path end at any certificate in the trust store, here the intermediate: accepted. "
             "Pinning an intermediate this way is legitimate. From Python 3.13, ssl.create_default_context() "
             "sets it (with VERIFY_X509_STRICT); a bare SSLContext(PROTOCOL_TLS_CLIENT) does not.",
             Expected(), setups.intermediate_anchor(True), cryptography=True),
    # -- time ----------------------------------------------------------------------------
    Scenario("expired", "The server's certificate has expired", "server", "time",
             "Valid in 2000, expired since 2001. An expired certificate's key may since have leaked, and its "
             "CA no longer publishes its revocation.", Expected("client", "certificate has expired",
                                                                  "certificate expired"),
             setups.validity("expired"), cryptography=False, badssl="expired"),
    Scenario("not-yet-valid", "The server's certificate is not valid yet", "server", "time",
             "Valid from 2090: usually a clock problem on one side, or a certificate issued with the wrong date.",
             Expected("client", "certificate is not yet valid", "bad certificate"), setups.validity("not-yet-valid"),
             cryptography=False),
    Scenario("expired-intermediate", "The issuing CA has expired", "server", "time",
             "The leaf is within its dates, but its issuer is not: every certificate on the path must be "
             "valid now.", Expected("client", "certificate has expired", "certificate expired"),
             setups.validity("expired-intermediate"), cryptography=False),
    # -- names ---------------------------------------------------------------------------
    Scenario("wrong-host", "A valid certificate for another name", "server", "names",
             "The chain is fine, but the certificate is for localhost and the client asked for "
             "www.example.test. Without this check any site's certificate would do.",
             Expected("client", "Hostname mismatch", "bad certificate"),
             setups.wrong_name(["localhost"], "www.example.test"), cryptography=False, badssl="wrong.host"),
    Scenario("wildcard-too-deep", "A wildcard one label too deep", "server", "names",
             "*.example.test covers exactly one label: a.example.test, not a.b.example.test.",
             Expected("client", "Hostname mismatch", "bad certificate"),
             setups.wrong_name(["*.example.test"], "a.b.example.test"), cryptography=False),
    Scenario("wildcard", "A wildcard that matches", "server", "names",
             "*.example.test for www.example.test: the star stands for exactly one label, www, so it "
             "matches.", Expected(),
             setups.wrong_name(["*.example.test"], "www.example.test"), cryptography=True),
    Scenario("wrong-ip", "A certificate for another IP address", "server", "names",
             "The client connects to 127.0.0.1 by address; the certificate names 127.0.0.2. IP addresses "
             "match only IP entries of the subjectAltName, exactly.",
             Expected("client", "IP address mismatch", "bad certificate"),
             setups.wrong_name(["127.0.0.2"], "127.0.0.1"), cryptography=False),
    Scenario("cn-only", "No subjectAltName, only a common name", "server", "names",
             "The name is in the subject's common name only, as before 2000. OpenSSL, as Python 3.11 configures "
             "it, still falls back to the common name.", Expected(), setups.common_name_only(True), cryptography=False,
             disagreement="Browsers and cryptography look for names in the subjectAltName only (RFC 9525, "
                          "which drops RFC 6125's common-name fallback; the CA/B Forum requires a SAN); "
                          "Python's ssl keeps OpenSSL's common-name fallback unless "
                          "hostname_checks_common_name is False."),
    Scenario("cn-only-strict", "The same, with hostname_checks_common_name = False", "server", "names",
             "Turn the fallback off and the certificate names nothing at all.",
             Expected("client", "Hostname mismatch", "bad certificate"), setups.common_name_only(False),
             cryptography=False),
    Scenario("no-subject", "An empty subject, names in the subjectAltName", "server", "names",
             "Unusual but valid: the subject is empty and a critical subjectAltName carries the names.",
             Expected(), setups.no_subject, cryptography=True, badssl="no-subject"),
    Scenario("1000-sans", "A thousand names in one certificate", "server", "names",
             "Large, since every name adds its bytes to the certificate the server sends, but nothing wrong "
             "with it: the name check scans the list and finds localhost first.",
             Expected(), setups.many_names, cryptography=True, badssl="1000-sans"),
    # -- what a CA may sign ----------------------------------------------------------------
    Scenario("leaf-as-ca", "A leaf certificate used as a CA", "server", "authority",
             "The issuer's certificate says CA:FALSE, yet it signed the server's. The classic bug "
             "(CVE-2002-0862, CVE-2015-1793) is a verifier that forgets to look.",
             Expected("client", "invalid CA certificate", "unknown ca"), setups.leaf_as_ca(True), cryptography=False),
    Scenario("issuer-without-basic-constraints", "An issuer with no basicConstraints", "server", "authority",
             "The issuer's certificate does not say it is a CA at all (no basicConstraints, no keyUsage).",
             Expected("client", "invalid CA certificate", "unknown ca"), setups.leaf_as_ca(False), cryptography=False),
    Scenario("path-length", "A CA below a CA with path length 0", "server", "authority",
             "The issuing CA may sign end entities only (pathlen:0), but it certified another CA, which "
             "signed the leaf.", Expected("client", "path length constraint exceeded", "unknown ca"),
             setups.path_length, cryptography=False),
    Scenario("name-constraints", "A CA restricted to example.test signs localhost", "server", "authority",
             "The intermediate's name constraints permit example.test and its subdomains only.",
             Expected("client", "permitted subtree violation", "certificate unknown"), setups.name_constraints,
             cryptography=False),
    Scenario("critical-extension", "An unknown critical extension", "server", "authority",
             "Critical means: if you do not understand this, refuse the certificate.",
             Expected("client", "unhandled critical extension", "certificate unknown"), setups.critical_extension,
             cryptography=False),
    # -- purpose -------------------------------------------------------------------------
    Scenario("client-eku-on-server", "A client certificate presented by a server", "server", "purpose",
             "Its extended key usage says clientAuth only: the CA issued it to identify a client, not a server.",
             Expected("client", "unsuitable certificate purpose", "unsupported certificate"), setups.client_only_eku,
             cryptography=False),
    # -- signatures and strength -------------------------------------------------------------
    Scenario("wrong-signature", "Signed by the wrong key", "server", "strength",
             "The certificate names the issuing CA as its issuer, even its key identifier, but another key "
             "made the signature: a forgery.", Expected("client", "certificate signature failure", "decrypt error"),
             setups.wrong_signature, cryptography=False),
    Scenario("rsa-1024", "An RSA-1024 key", "server", "strength",
             "1024-bit RSA is within reach of a well-funded attacker. At the default security level (2) the "
             "server's own OpenSSL refuses to load it.", Expected("server", "ee key too small", stage="load"),
             setups.weak("rsa-1024", None), cryptography=None,
             cryptography_note="the server never presents it"),
    Scenario("rsa-1024-seclevel-0", "The same key, served at security level 0", "server", "strength",
             "Lower the server's security level and it serves the key; the client, at level 2, refuses it.",
             Expected("client", "EE certificate key too weak", "bad certificate"), setups.weak("rsa-1024", 0),
             cryptography=True,
             disagreement="cryptography enforces its 2048-bit RSA minimum on the keys that sign certificates; "
                          "the leaf's own key signs only the handshake, so it lets a 1024-bit leaf key through. "
                          "OpenSSL's security level applies to every key in the chain."),
    Scenario("sha1", "A SHA-1 signature", "server", "strength",
             "SHA-1 collisions are practical since 2017, and chosen-prefix collisions, which make certificate "
             "signatures forgeable, since 2020. cryptography refuses to sign with it (this one was "
             "signed by hand); OpenSSL 3 refuses to load it from security level 1 up.",
             Expected("server", "ca md too weak", stage="load"), setups.weak("sha1", None), cryptography=None,
             cryptography_note="the server never presents it"),
    Scenario("sha1-seclevel-0", "The same, served at security level 0", "server", "strength",
             "The server serves it, and the client, at security level 2, refuses the weak signature.",
             Expected("client", "CA signature digest algorithm too weak", "bad certificate"), setups.weak("sha1", 0),
             cryptography=False),
    Scenario("ecdsa-p384", "An ECDSA P-384 key", "server", "strength",
             "A 384-bit elliptic-curve key, stronger than the usual P-256 and signed with SHA-384: nothing "
             "for a verifier to object to.", Expected(),
             setups.strong("ecdsa-p384"), cryptography=True, badssl="ecc384"),
    Scenario("ed25519", "An Ed25519 key", "server", "strength",
             "A modern key type, accepted by OpenSSL and cryptography (browsers do not support it yet).",
             Expected(), setups.strong("ed25519"), cryptography=True),
    # -- revocation ------------------------------------------------------------------------
    Scenario("revoked", "A revoked certificate, CRL loaded, VERIFY_CRL_CHECK_LEAF", "server", "revocation",
             "The CA revoked the certificate (key compromise); the client has the CRL and checks it.",
             Expected("client", "certificate revoked", "certificate revoked"),
             setups.revoked(ssl.VERIFY_CRL_CHECK_LEAF, True), cryptography=True,
             disagreement="cryptography's verifier has no revocation support at all: it accepts the revoked "
                          "certificate."),
    Scenario("revocation-no-crl", "VERIFY_CRL_CHECK_LEAF without a CRL", "server", "revocation",
             "The flag demands a CRL; without one OpenSSL cannot tell, so it refuses.",
             Expected("client", "unable to get certificate CRL", "unknown ca"),
             setups.revoked(ssl.VERIFY_CRL_CHECK_LEAF, False), cryptography=True,
             disagreement="cryptography never checks revocation, so a missing CRL changes nothing for it."),
    Scenario("revoked-unchecked", "A revoked certificate with default flags", "server", "revocation",
             "The CRL is even loaded, but Python's default flags do not check it: revocation is off unless "
             "you turn it on.", Expected(), setups.revoked(0, True), cryptography=True,
             lets_in="any revoked certificate, such as one whose key was stolen"),
    # -- fixes that remove security ------------------------------------------------------------
    Scenario("cert-none", "The client sets verify_mode = CERT_NONE", "server", "fixes",
             "The classic fix for a certificate error: stop checking. An attacker's self-signed certificate "
             "for localhost is accepted without a word.", Expected(), setups.cert_none, cryptography=None,
             cryptography_note="an OpenSSL setting; cryptography's verifier has no off switch",
             lets_in="any certificate at all, so anyone on the path can read and change the traffic"),
    Scenario("no-hostname-check", "The client sets check_hostname = False", "server", "fixes",
             "The chain is still verified, but not the name: a genuine certificate for evil.example.test, from "
             "a CA the client trusts, passes for localhost.", Expected(), setups.no_hostname_check, cryptography=None,
             cryptography_note="an OpenSSL setting; cryptography's server verifier always checks the name",
             lets_in="any certificate from any trusted CA, issued for any name"),
    Scenario("unverified-context", "ssl._create_unverified_context()", "server", "fixes",
             "What old code and many answers online use: CERT_NONE and no host name check in one call.",
             Expected(), setups.unverified_context, cryptography=None,
             cryptography_note="an OpenSSL setting; cryptography's verifier has no off switch",
             lets_in="any certificate at all"),
    # -- mutual TLS: the server verifies the client ----------------------------------------
    Scenario("mtls-valid", "A valid client certificate", "client", "mtls",
             "The client presents a certificate from the CA the server trusts for clients; the application "
             "learns who it is.", Expected(), setups.mtls_valid, cryptography=True, badssl="client"),
    Scenario("mtls-no-certificate", "No client certificate (TLS 1.3)", "client", "mtls",
             "The server requires one (CERT_REQUIRED), the client has none. In TLS 1.3 the client finishes its "
             "side of the handshake first and learns of the refusal on its first read.",
             Expected("server", "peer did not return a certificate", "certificate required"),
             setups.mtls_no_certificate("1.3"), badssl="client-cert-missing"),
    Scenario("mtls-no-certificate-tls12", "No client certificate (TLS 1.2)", "client", "mtls",
             "The same in TLS 1.2: a generic handshake failure alert, during the handshake.",
             Expected("server", "peer did not return a certificate", "handshake failure"),
             setups.mtls_no_certificate("1.2")),
    Scenario("mtls-other-ca", "A client certificate from another CA", "client", "mtls",
             "A perfectly good certificate, from a CA this server does not trust for clients.",
             Expected("server", "unable to get local issuer certificate", "unknown ca"), setups.mtls_other_ca,
             cryptography=False),
    Scenario("mtls-self-signed", "A self-signed client certificate", "client", "mtls",
             "Anyone can make one, for any identity: the server's client-CA store did not sign it.",
             Expected("server", "self-signed certificate", "unknown ca"),
             setups.mtls_self_signed, cryptography=False),
    Scenario("mtls-server-eku", "A server certificate used as a client certificate", "client", "mtls",
             "Its extended key usage is serverAuth only: its CA issued it to identify a server, not a client.",
             Expected("server", "unsuitable certificate purpose", "unsupported certificate"),
             setups.mtls_server_only_eku, cryptography=False),
    Scenario("mtls-no-eku", "A client certificate without extended key usage", "client", "mtls",
             "No extended key usage at all means 'any purpose' (RFC 5280): accepted.", Expected(), setups.mtls_no_eku,
             cryptography=True),
    Scenario("mtls-expired", "An expired client certificate", "client", "mtls",
             "Dates matter for clients too: the server checks them exactly as a client checks a server's.",
             Expected("server", "certificate has expired", "certificate expired"),
             setups.mtls_expired(ssl.CERT_REQUIRED), cryptography=False),
    Scenario("mtls-optional-expired", "An expired client certificate, CERT_OPTIONAL", "client", "mtls",
             "CERT_OPTIONAL makes the certificate optional, not the checks: a certificate that is sent is "
             "verified, and refused if bad.", Expected("server", "certificate has expired", "certificate expired"),
             setups.mtls_expired(ssl.CERT_OPTIONAL), cryptography=False),
    Scenario("mtls-revoked", "A revoked client certificate (CRL, VERIFY_CRL_CHECK_LEAF)", "client", "mtls",
             "Revocation is how an organisation locks out a lost laptop: the server must load the CRL and "
             "set the flag.", Expected("server", "certificate revoked", "certificate revoked"), setups.mtls_revoked,
             cryptography=True,
             disagreement="cryptography's verifier has no revocation support: it accepts the revoked certificate."),
    Scenario("mtls-incomplete-chain", "The client forgets its intermediate", "client", "mtls",
             "The server trusts the root; the client sends only its own certificate.",
             Expected("server", "unable to get local issuer certificate", "unknown ca"), setups.mtls_incomplete_chain,
             cryptography=False),
    Scenario("mtls-key-mismatch", "A certificate with somebody else's key", "client", "mtls",
             "The client configures a certificate and a private key that do not belong together; its own "
             "OpenSSL refuses the pair before connecting.",
             Expected("client", "key values mismatch", stage="load"), setups.mtls_key_mismatch,
             cryptography_note="the certificate is never sent"),
    Scenario("mtls-optional-anonymous", "CERT_OPTIONAL and no certificate", "client", "fixes",
             "The server asks for a certificate but does not require one. The handshake succeeds and "
             "getpeercert() is empty: unless the application checks, authentication silently did not happen.",
             Expected(), setups.mtls_optional_anonymous, cryptography_note="nothing is presented",
             lets_in="anonymous clients, treated like authenticated ones by an application that does not check"),
    Scenario("mtls-wrong-identity", "A valid certificate for the wrong identity", "client", "mtls",
             "TLS checks that the certificate is genuine, not that its holder may come in: that is the "
             "application's authorization check, which here allows alice only.",
             Expected("server application", "403 forbidden"), setups.mtls_wrong_identity, cryptography=True),
    Scenario("mtls-overbroad-store", "The client-CA store also trusts a public CA", "client", "fixes",
             "The server's store for client certificates holds its own CA and a public one. Anyone who can get a "
             "certificate from the public CA gets in.", Expected(), setups.mtls_overbroad_store, cryptography=True,
             lets_in="every holder of a certificate from the extra CA"),
    Scenario("mtls-cn-only", "A client certificate with a common name only", "client", "mtls",
             "No subjectAltName: OpenSSL does not look at names for clients, so the handshake succeeds. The "
             "application reads identities from the subjectAltName only, finds none, and refuses: a verified "
             "certificate that names nobody proves nothing about who is calling.",
             Expected("server application", "403 forbidden"),
             setups.mtls_common_name_only, cryptography=False,
             disagreement="cryptography's client verifier requires a subjectAltName, where it finds the "
                          "client's identity; OpenSSL leaves identity to the application."),
)


SCENARIOS: dict[str, Scenario] = {scenario.name: scenario for scenario in CATALOGUE}


def run_all(scenarios: Iterable[Scenario] = CATALOGUE) -> dict[str, Outcome]:
    """Every scenario's outcome, by name (each run once, on first use: :attr:`Scenario.outcome`)."""
    return {scenario.name: scenario.outcome for scenario in scenarios}
