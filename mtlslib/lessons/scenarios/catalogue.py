"""A catalogue of broken certificates and misconfigured peers, each run as a real handshake.

Every :class:`Scenario` builds its own certificates (seeded, so each run makes the same ones) and
its own ``ssl`` contexts, runs one real TLS handshake and one request on 127.0.0.1, and reports
in an :class:`Outcome` what each side saw: who refused, OpenSSL's reason, the alert the other side
received, or that the connection was accepted and what the application answered.

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

The broken certificates come from :mod:`mtlslib.insecure.certificates`; the misconfigured
contexts are built here, because showing them is the point.
"""

from __future__ import annotations

import ipaddress
import ssl
import tempfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Callable, Iterable, Sequence

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import verification

from mtlslib.errors import ProfileError
from mtlslib.insecure import certificates as broken
from mtlslib.pki import CertificateAuthority, IssuedCertificate
from mtlslib.tls import (
    DEFAULT_TIMEOUT,
    HandshakeResult,
    PeerView,
    error_text,
    reply_with_identity,
    run_between,
)
from mtlslib.verification import Explanation, Settings, explain

__all__ = ["CATALOGUE", "client_ctx", "CryptographyVerdict", "disagreement_table", "exchange", "Expected", "Outcome",
           "run_all", "Scenario", "SCENARIOS", "server_ctx", "Setup", "show", "summary_table"]

SEED = "breaking verification"


# --------------------------------------------------------------------------------------------
# What a run reports


@dataclass(frozen=True)
class Outcome:
    """What happened when a scenario ran.

    ``accepted``: the client's request reached the application and was answered normally.
    ``refused_by``: ``"client"``, ``"server"``, ``"server application"`` or None. ``stage``:
    ``"load"`` (a side refused its own certificate before any connection), ``"handshake"``,
    ``"application"``, or ``"done"``. ``reason``: OpenSSL's message on the refusing side.
    ``alert``: the TLS alert the other side received.
    """

    accepted: bool
    refused_by: str | None
    stage: str
    reason: str | None
    error: str | None
    alert: str | None
    result: HandshakeResult | None = None
    reply: str | None = None

    @property
    def certificate_accepted(self) -> bool:
        """Whether the verifying side's TLS stack accepted the presented certificate (what the
        explainer's verdict is compared with); an application's refusal comes later."""
        return self.stage in ("application", "done")

    def lines(self) -> list[str]:
        if self.stage == "load":
            return [f"REFUSED before any connection: the {self.refused_by} cannot load its own certificate",
                    f"  {self.refused_by}: {self.error}"]
        if self.accepted:
            client, server = self.result.client_saw, self.result.server_saw
            lines = [f"ACCEPTED ({self.result.version})"]
            lines.append(f"  client saw: {_seen(client, 'server')}")
            lines.append(f"  server saw: {_seen(server, 'client')}")
            lines.append(f"  application answered: {self.reply}")
            return lines
        if self.stage == "application":
            return [f"TLS OK, then REFUSED by the server application: {self.reply}",
                    f"  server saw: {_seen(self.result.server_saw, 'client')}"]
        refuser = self.result.client_saw if self.refused_by == "client" else self.result.server_saw
        other = self.result.server_saw if self.refused_by == "client" else self.result.client_saw
        lines = [f"REFUSED by the {self.refused_by}: {self.reason}"]
        lines.append(f"  {refuser.role}: {refuser.error}" + (f" (sent alert: {refuser.alert_sent})"
                                                             if refuser.alert_sent else ""))
        lines.append(f"  {other.role}: {other.error or 'no error'}" + (f" (received alert: {other.alert_received})"
                                                                       if other.alert_received else ""))
        return lines

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(str(self))

    def short(self) -> str:
        """A few words for the summary table."""
        if self.accepted:
            return "accepted"
        if self.stage == "application":
            return "refused by the application"
        where = " at load" if self.stage == "load" else ""
        return f"{self.refused_by} refuses{where}"


def _seen(view: PeerView, peer: str) -> str:
    if view.peer_subject is not None:
        return f"{peer} certificate {view.peer_subject or '(empty subject)'}"
    return f"no {peer} certificate" if view.handshake_done else "handshake not completed"


@dataclass(frozen=True)
class Expected:
    """The outcome a scenario predicts; tests hold it against the real run.

    ``reason`` (and ``alert``) are phrases that must appear in what OpenSSL reports."""

    refused_by: str | None = None
    reason: str | None = None
    alert: str | None = None
    stage: str | None = None

    @property
    def accepted(self) -> bool:
        return self.refused_by is None

    def matches(self, outcome: Outcome) -> bool:
        if outcome.refused_by != self.refused_by or outcome.accepted != self.accepted:
            return False
        if self.stage is not None and outcome.stage != self.stage:
            return False
        if self.reason is not None and self.reason not in " ".join(filter(None, (outcome.reason, outcome.error,
                                                                                 outcome.reply))):
            return False
        return self.alert is None or (outcome.alert is not None and self.alert in outcome.alert)

    def describe(self) -> str:
        if self.accepted:
            return "accepted"
        text = f"refused by the {self.refused_by}"
        return text + (f": {self.reason}" if self.reason else "")


@dataclass(frozen=True)
class CryptographyVerdict:
    """What cryptography's ``PolicyBuilder`` verifier decides (``accepted`` is None when it does
    not apply: nothing presented, or a scenario about an OpenSSL setting)."""

    accepted: bool | None
    reason: str

    def __str__(self) -> str:
        if self.accepted is None:
            return f"not applicable: {self.reason}"
        return ("accepts" if self.accepted else "refuses") + (f": {self.reason}" if self.reason else "")


# --------------------------------------------------------------------------------------------
# Running a handshake with any two contexts


def exchange(server_context: ssl.SSLContext, client_context: ssl.SSLContext, *, server_hostname: str = "localhost",
             handler=reply_with_identity, timeout: float = DEFAULT_TIMEOUT) -> tuple[HandshakeResult, str | None]:
    """One handshake and one request on 127.0.0.1 between two contexts built any way at all
    (:func:`mtlslib.tls.handshake` builds its own, correctly); returns what each side saw
    and the application's answer."""
    return run_between(server_context, client_context, server_hostname=server_hostname, timeout=timeout,
                       handler=handler)


# --------------------------------------------------------------------------------------------
# Contexts, including the misconfigured ones


def _pem(certificates: Iterable[x509.Certificate]) -> str:
    return "".join(c.public_bytes(Encoding.PEM).decode() for c in certificates)


def _load_crls(ctx: ssl.SSLContext, crls: Sequence[x509.CertificateRevocationList]) -> None:
    # ssl reads CRLs only from files (cadata= takes certificates only).
    with tempfile.TemporaryDirectory(prefix="mtlslib-") as directory:
        path = Path(directory) / "crls.pem"
        path.write_bytes(b"".join(crl.public_bytes(Encoding.PEM) for crl in crls))
        ctx.load_verify_locations(cafile=str(path))


def _tls_version(ctx: ssl.SSLContext, version: str | None) -> None:
    if version == "1.2":
        ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    elif version == "1.3":
        ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_3


def server_ctx(certificate: IssuedCertificate, *, client_trust: Sequence[x509.Certificate] = (),
               verify_mode: ssl.VerifyMode = ssl.CERT_NONE, crls=(), verify_flags: int = 0,
               security_level: int | None = None, tls_version: str | None = "1.3") -> ssl.SSLContext:
    """A server context presenting ``certificate`` exactly as given (no purpose check), verifying
    clients with ``verify_mode`` against ``client_trust``."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    _tls_version(ctx, tls_version)
    if security_level is not None:
        ctx.set_ciphers(f"DEFAULT:@SECLEVEL={security_level}")
    certificate.configure_cert(ctx)
    if client_trust:
        ctx.load_verify_locations(cadata=_pem(client_trust))
    if crls:
        _load_crls(ctx, crls)
    ctx.verify_flags |= verify_flags
    ctx.verify_mode = verify_mode
    return ctx


def client_ctx(trust: Sequence[x509.Certificate], *, certificate: IssuedCertificate | None = None,
               verify_mode: ssl.VerifyMode = ssl.CERT_REQUIRED, check_hostname: bool = True,
               hostname_checks_common_name: bool = True, crls=(), verify_flags: int = 0,
               tls_version: str | None = "1.3") -> ssl.SSLContext:
    """A client context trusting ``trust``, with every verification knob exposed."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    _tls_version(ctx, tls_version)
    if trust:
        ctx.load_verify_locations(cadata=_pem(trust))
    if crls:
        _load_crls(ctx, crls)
    ctx.verify_flags |= verify_flags
    ctx.hostname_checks_common_name = hostname_checks_common_name
    ctx.check_hostname = check_hostname
    ctx.verify_mode = verify_mode
    if certificate is not None:
        certificate.configure_cert(ctx)
    return ctx


# --------------------------------------------------------------------------------------------
# Scenarios


@dataclass
class Setup:
    """What a scenario builds: how to make each side's context, and what the verifier receives
    (``presented``: the chain the verified side sends, leaf first; None if it sends nothing)."""

    server: Callable[[], ssl.SSLContext]
    client: Callable[[], ssl.SSLContext]
    presented: tuple[x509.Certificate, ...] | None
    trust: tuple[x509.Certificate, ...]
    server_hostname: str = "localhost"
    handler: Callable = reply_with_identity
    crls: tuple[x509.CertificateRevocationList, ...] = ()


@dataclass(frozen=True)
class Scenario:
    """One broken certificate or misconfiguration, ready to run.

    ``side``: ``"server"`` (the client verifies the server's certificate) or ``"client"`` (the
    server verifies the client's, mutual TLS). ``story``: what is wrong and why it matters.
    ``expected``: the predicted outcome, checked against OpenSSL by the tests.
    ``cryptography``: True/False for what cryptography's verifier is expected to decide, None
    where it does not apply. ``disagreement``: why OpenSSL and cryptography decide differently,
    when they do. ``lets_in``: for a "fix" that switches a check off, what it admits.
    """

    name: str
    title: str
    side: str
    group: str
    story: str
    expected: Expected
    build: Callable[[], Setup] = field(repr=False, compare=False)
    cryptography: bool | None = None
    cryptography_note: str = ""
    disagreement: str | None = None
    lets_in: str | None = None
    badssl: str | None = None

    @cached_property
    def setup(self) -> Setup:
        return self.build()

    def run(self, timeout: float = DEFAULT_TIMEOUT) -> Outcome:
        """Build both contexts and run one real handshake and request on 127.0.0.1."""
        setup = self.setup
        for role, make in (("server", setup.server), ("client", setup.client)):
            try:
                context = make()
            except ssl.SSLError as error:
                text = error_text(error)
                return Outcome(False, role, "load", _reason(text), text, None)
            if role == "server":
                server_context = context
            else:
                client_context = context
        result, reply = exchange(server_context, client_context, server_hostname=setup.server_hostname,
                                 handler=setup.handler, timeout=timeout)
        return _outcome(result, reply)

    def explain(self, **overrides) -> Explanation | None:
        """The explainer's table for what the verifying side received, with that side's settings
        (None when nothing was presented, or a side refused to load its certificate for a reason
        that is not the certificate's)."""
        setup = self.setup
        if setup.presented is None:
            return None
        verifier = setup.client if self.side == "server" else setup.server
        settings = Settings.of_context(verifier(), **overrides)
        name = setup.server_hostname if self.side == "server" else None
        return explain(list(setup.presented), list(setup.trust), purpose=self.side, name=name, crls=setup.crls,
                       settings=settings)

    def cryptography_verdict(self) -> CryptographyVerdict:
        """What cryptography's verifier decides about the presented chain, with the same trust
        store and (for a server) the same expected name."""
        setup = self.setup
        if self.cryptography is None:
            return CryptographyVerdict(None, self.cryptography_note or "nothing for it to verify")
        leaf, *intermediates = setup.presented
        builder = verification.PolicyBuilder().store(verification.Store(list(setup.trust)))
        try:
            if self.side == "server":
                try:
                    subject = verification.IPAddress(ipaddress.ip_address(setup.server_hostname))
                except ValueError:
                    subject = verification.DNSName(setup.server_hostname)
                builder.build_server_verifier(subject).verify(leaf, intermediates)
            else:
                builder.build_client_verifier().verify(leaf, intermediates)
        except verification.VerificationError as error:
            return CryptographyVerdict(False, _short_cryptography_error(error))
        return CryptographyVerdict(True, "")

    def report(self, *, full_table: bool = False) -> str:
        """Run the scenario and say everything about it: OpenSSL's outcome, cryptography's verdict,
        the explainer's table (only the rows that did not simply pass, unless ``full_table``), and
        why it happens."""
        outcome = self.run()
        lines = [f"{self.name}: {self.title}"]
        outcome_lines = outcome.lines()
        lines.append(f"OpenSSL:      {outcome_lines[0]}")
        lines += [f"              {line.strip()}" for line in outcome_lines[1:]]
        lines.append(f"cryptography: {self.cryptography_verdict()}")
        explanation = self.explain()
        if explanation is None:
            lines.append("explainer:    nothing to explain: no certificate reached a verifier")
        else:
            lines.append("explainer:")
            lines += ["  " + line for line in explanation.table(problems_only=not full_table).splitlines()]
        if self.disagreement:
            lines.append(f"disagreement: {self.disagreement}")
        if self.lets_in:
            lines.append(f"lets in:      {self.lets_in}")
        lines.append(f"why:          {self.story}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return f"{self.name}: {self.title}"


def show(name: str, *, full_table: bool = False) -> None:
    """Print :meth:`Scenario.report` for the scenario called ``name`` (a notebook's one-liner)."""
    try:
        scenario = SCENARIOS[name]
    except KeyError:
        raise ProfileError(f"no scenario called {name!r}; the catalogue has: {', '.join(SCENARIOS)}") from None
    print(scenario.report(full_table=full_table))


def _reason(error: str | None) -> str | None:
    """The part of an OpenSSL message that names the problem."""
    if error is None:
        return None
    marker = "certificate verify failed: "
    if marker in error:
        return error.split(marker, 1)[1]
    if error.startswith("[") and "] " in error:  # "[SSL: EE_KEY_TOO_SMALL] ee key too small"
        return error.split("] ", 1)[1]
    return error


def _short_cryptography_error(error: Exception) -> str:
    text = str(error)
    text = text.split(" (encountered processing", 1)[0]
    return text.removeprefix("validation failed: ")


def _outcome(result: HandshakeResult, reply: str | None) -> Outcome:
    client, server = result.client_saw, result.server_saw
    if result.ok:
        if reply is not None and reply.startswith("403"):
            return Outcome(False, "server application", "application", reply, None, None, result, reply)
        return Outcome(True, None, "done", None, None, None, result, reply)
    # The side that sent a fatal alert is the one that refused.
    if client.alert_sent and not server.alert_sent:
        refuser, other = client, server
    elif server.alert_sent:
        refuser, other = server, client
    elif client.error and not server.error:
        refuser, other = client, server
    else:
        refuser, other = server, client
    return Outcome(False, refuser.role, "handshake", _reason(refuser.error), refuser.error, other.alert_received,
                   result, reply)


# --------------------------------------------------------------------------------------------
# Building blocks of the catalogue


def _pki(name: str) -> tuple[CertificateAuthority, CertificateAuthority]:
    """A seeded root and issuing CA of the scenario's own, like a small real deployment."""
    root = CertificateAuthority.create("Scenario Root CA", seed=f"{SEED} {name}")
    return root, root.create_intermediate("Scenario Issuing CA")


def _chain(certificate: IssuedCertificate) -> tuple[x509.Certificate, ...]:
    return (certificate.certificate, *certificate.chain)


def _server_setup(leaf: IssuedCertificate, trust: Sequence, *, server_hostname: str = "localhost",
                  server_options: dict | None = None, client_options: dict | None = None, crls=(),
                  presented: Sequence[x509.Certificate] | None = None) -> Setup:
    """A server presenting ``leaf`` to a client that trusts ``trust``."""
    trust = tuple(t.certificate if hasattr(t, "certificate") else t for t in trust)
    server_options, client_options = server_options or {}, client_options or {}
    return Setup(
        server=lambda: server_ctx(leaf, **server_options),
        client=lambda: client_ctx(trust, crls=crls, **client_options),
        presented=tuple(presented) if presented is not None else _chain(leaf),
        trust=trust, server_hostname=server_hostname, crls=tuple(crls),
    )


def _client_setup(name: str, client: IssuedCertificate | None, client_trust: Sequence, *,
                  verify_mode: ssl.VerifyMode = ssl.CERT_REQUIRED, crls=(), verify_flags: int = 0,
                  tls_version: str = "1.3", handler=reply_with_identity) -> Setup:
    """A mutual-TLS server trusting ``client_trust`` for clients; ``client`` presents itself."""
    root, issuing = _pki(f"{name} server")
    server = issuing.issue_server("localhost")
    client_trust = tuple(t.certificate if hasattr(t, "certificate") else t for t in client_trust)
    return Setup(
        server=lambda: server_ctx(server, client_trust=client_trust, verify_mode=verify_mode, crls=crls,
                                  verify_flags=verify_flags, tls_version=tls_version),
        client=lambda: client_ctx([root.certificate], certificate=client, tls_version=tls_version),
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


# --------------------------------------------------------------------------------------------
# The catalogue: the client verifies the server


def _valid() -> Setup:
    root, issuing = _pki("valid")
    return _server_setup(issuing.issue_server("localhost", "127.0.0.1"), [root])


def _self_signed() -> Setup:
    root, _ = _pki("self-signed")
    return _server_setup(broken.self_signed_leaf("localhost"), [root])


def _untrusted_root() -> Setup:
    _, issuing = _pki("untrusted-root")
    other_root, _ = _pki("untrusted-root, the client's")
    return _server_setup(issuing.issue_server("localhost"), [other_root])


def _incomplete_chain() -> Setup:
    root, issuing = _pki("incomplete-chain")
    full = issuing.issue_server("localhost")
    alone = IssuedCertificate(full.certificate, full.private_key)  # no intermediate sent
    return _server_setup(alone, [root])


def _intermediate_anchor(partial: bool) -> Callable[[], Setup]:
    def build() -> Setup:
        root, issuing = _pki("intermediate-anchor")
        options = {"verify_flags": ssl.VERIFY_X509_PARTIAL_CHAIN} if partial else {}
        return _server_setup(issuing.issue_server("localhost"), [issuing],
                             client_options=options)
    return build


def _validity(which: str) -> Callable[[], Setup]:
    def build() -> Setup:
        root, issuing = _pki(f"validity {which}")
        if which == "expired-intermediate":
            issuing = root.create_intermediate("Scenario Expired Issuing CA", validity="expired")
            return _server_setup(issuing.issue_server("localhost"), [root])
        return _server_setup(issuing.issue_server("localhost", validity=which), [root])
    return build


def _wrong_name(identities: Sequence[str], hostname: str) -> Callable[[], Setup]:
    def build() -> Setup:
        root, issuing = _pki(f"name {hostname}")
        return _server_setup(issuing.issue_server(*identities), [root], server_hostname=hostname)
    return build


def _common_name_only(cn_fallback: bool) -> Callable[[], Setup]:
    def build() -> Setup:
        root, issuing = _pki("cn-only")
        return _server_setup(broken.common_name_only(issuing, "localhost"), [root],
                             client_options={"hostname_checks_common_name": cn_fallback})
    return build


def _no_subject() -> Setup:
    root, issuing = _pki("no-subject")
    return _server_setup(broken.without_subject(issuing, "localhost"), [root])


def _many_names() -> Setup:
    root, issuing = _pki("1000-sans")
    names = [f"host{i}.example.test" for i in range(999)]
    return _server_setup(issuing.issue_server("localhost", *names), [root])


def _leaf_as_ca(basic_constraints: bool) -> Callable[[], Setup]:
    def build() -> Setup:
        root, _ = _pki(f"not-a-ca {basic_constraints}")
        # Issued by the root, which sets no path length, so that only the missing CA flag is wrong.
        fake_ca = broken.not_a_ca(root, "Scenario Leaf Posing As CA" if basic_constraints
                                  else "Scenario Issuer Without Constraints", basic_constraints=basic_constraints)
        return _server_setup(broken.issue_leaf(fake_ca, "localhost"), [root])
    return build


def _path_length() -> Setup:
    root, issuing = _pki("pathlen")  # issuing: path length 0, it may sign leaves only
    deeper = broken.sub_ca(issuing, "Scenario Sub-CA Below A Path Length 0")
    return _server_setup(broken.issue_leaf(deeper, "localhost"), [root])


def _name_constraints() -> Setup:
    root, _ = _pki("name-constraints")
    constrained = broken.name_constrained_ca(root, "Scenario CA For example.test Only", permitted=["example.test"])
    return _server_setup(broken.issue_leaf(constrained, "localhost"), [root])


def _critical_extension() -> Setup:
    root, issuing = _pki("critical-extension")
    return _server_setup(broken.with_unknown_critical_extension(issuing, "localhost"), [root])


def _client_only_eku() -> Setup:
    root, issuing = _pki("client-eku-on-server")
    return _server_setup(issuing.issue_client("localhost"), [root])


def _wrong_signature() -> Setup:
    root, issuing = _pki("wrong-signature")
    return _server_setup(broken.signed_by_wrong_key(issuing, "localhost"), [root])


def _weak(kind: str, security_level: int | None) -> Callable[[], Setup]:
    def build() -> Setup:
        root, issuing = _pki(f"weak {kind}")
        leaf = broken.weak_rsa(issuing, "localhost") if kind == "rsa-1024" else broken.sha1_signed(issuing, "localhost")
        return _server_setup(leaf, [root], server_options={"security_level": security_level})
    return build


def _strong(key_type: str) -> Callable[[], Setup]:
    def build() -> Setup:
        root, issuing = _pki(f"key {key_type}")
        return _server_setup(issuing.issue_server("localhost", key_type=key_type), [root])
    return build


def _revoked(flags: int, with_crl: bool) -> Callable[[], Setup]:
    def build() -> Setup:
        root, issuing = _pki(f"revoked {flags} {with_crl}")
        leaf = issuing.issue_server("localhost")
        issuing.revoke(leaf, x509.ReasonFlags.key_compromise)
        crls = [issuing.crl] if with_crl else []
        return _server_setup(leaf, [root], crls=crls, client_options={"verify_flags": flags})
    return build


def _cert_none() -> Setup:
    root, _ = _pki("cert-none")
    attacker = broken.self_signed_leaf("localhost")
    return _server_setup(attacker, [root],
                         client_options={"verify_mode": ssl.CERT_NONE, "check_hostname": False})


def _no_hostname_check() -> Setup:
    root, issuing = _pki("no-hostname-check")
    someone_else = issuing.issue_server("evil.example.test")  # a genuine certificate, for another site
    return _server_setup(someone_else, [root], client_options={"check_hostname": False})


def _unverified_context() -> Setup:
    root, _ = _pki("unverified-context")
    attacker = broken.self_signed_leaf("localhost")
    setup = _server_setup(attacker, [root])
    # What ssl._create_unverified_context() returns: CERT_NONE and no host name check.
    setup.client = lambda: ssl._create_unverified_context(protocol=ssl.PROTOCOL_TLS_CLIENT)
    return setup


# --------------------------------------------------------------------------------------------
# The catalogue: the server verifies the client (mutual TLS)


def _mtls_valid() -> Setup:
    root, issuing = _pki("mtls valid")
    return _client_setup("valid", issuing.issue_client("alice@example.test"), [root])


def _mtls_no_certificate(tls_version: str) -> Callable[[], Setup]:
    def build() -> Setup:
        root, _ = _pki("mtls none")
        return _client_setup(f"none {tls_version}", None, [root], tls_version=tls_version)
    return build


def _mtls_other_ca() -> Setup:
    root, _ = _pki("mtls other-ca")
    _, stranger_issuing = _pki("mtls other-ca, a stranger's")
    return _client_setup("other-ca", stranger_issuing.issue_client("alice@example.test"), [root])


def _mtls_self_signed() -> Setup:
    root, _ = _pki("mtls self-signed")
    return _client_setup("self-signed", broken.self_signed_leaf("alice@example.test", purposes=("client",)), [root])


def _mtls_server_only_eku() -> Setup:
    root, issuing = _pki("mtls server-eku")
    return _client_setup("server-eku", issuing.issue_server("alice.example.test"), [root])


def _mtls_no_eku() -> Setup:
    root, issuing = _pki("mtls no-eku")
    return _client_setup("no-eku", broken.without_extended_key_usage(issuing, "alice@example.test"), [root])


def _mtls_expired(verify_mode: ssl.VerifyMode) -> Callable[[], Setup]:
    def build() -> Setup:
        root, issuing = _pki(f"mtls expired {verify_mode}")
        return _client_setup("expired", issuing.issue_client("alice@example.test", validity="expired"), [root],
                             verify_mode=verify_mode)
    return build


def _mtls_revoked() -> Setup:
    root, issuing = _pki("mtls revoked")
    alice = issuing.issue_client("alice@example.test")
    issuing.revoke(alice, x509.ReasonFlags.key_compromise)
    return _client_setup("revoked", alice, [root], crls=[issuing.crl], verify_flags=ssl.VERIFY_CRL_CHECK_LEAF)


def _mtls_incomplete_chain() -> Setup:
    root, issuing = _pki("mtls incomplete-chain")
    full = issuing.issue_client("alice@example.test")
    return _client_setup("incomplete", IssuedCertificate(full.certificate, full.private_key), [root])


def _mtls_key_mismatch() -> Setup:
    root, issuing = _pki("mtls key-mismatch")
    alice = issuing.issue_client("alice@example.test")
    setup = _client_setup("key-mismatch", broken.paired_with_wrong_key(alice), [root])
    setup.presented = None  # nothing is ever sent: the client cannot even load it
    return setup


def _mtls_optional_anonymous() -> Setup:
    root, _ = _pki("mtls optional")
    return _client_setup("optional", None, [root], verify_mode=ssl.CERT_OPTIONAL)


def _mtls_wrong_identity() -> Setup:
    root, issuing = _pki("mtls wrong-identity")
    mallory = issuing.issue_client("mallory@example.test")
    return _client_setup("wrong-identity", mallory, [root], handler=_allow_only("alice@example.test"))


def _mtls_overbroad_store() -> Setup:
    root, _ = _pki("mtls over-broad")
    web_root, web_issuing = _pki("mtls over-broad, a public web CA")
    stranger = web_issuing.issue_client("anyone@web.example")
    return _client_setup("over-broad", stranger, [root, web_root])


def _mtls_common_name_only() -> Setup:
    root, issuing = _pki("mtls cn-only")
    alice = broken.common_name_only(issuing, "alice@example.test", purposes=("client",))
    return _client_setup("cn-only", alice, [root])


_CERT_REQUIRED = ssl.CERT_REQUIRED

CATALOGUE: tuple[Scenario, ...] = (
    # -- who vouches for the server? ------------------------------------------------------
    Scenario("valid", "A valid chain: leaf, issuing CA, trusted root", "server", "trust",
             "The baseline: the server sends its certificate and the issuing CA; the client trusts the root. "
             "Every check passes.", Expected(), _valid, cryptography=True),
    Scenario("self-signed", "The server's certificate signs itself", "server", "trust",
             "Nobody vouches for a self-signed leaf: anyone can make one for any name. The client trusts a root "
             "that did not sign it.", Expected("client", "self-signed certificate", "unknown ca"), _self_signed,
             cryptography=False, badssl="self-signed"),
    Scenario("untrusted-root", "Signed by a root the client does not trust", "server", "trust",
             "A proper chain, but it leads to some other organisation's root, which is not in the client's "
             "trust store.", Expected("client", "unable to get local issuer certificate", "unknown ca"),
             _untrusted_root, cryptography=False, badssl="untrusted-root"),
    Scenario("incomplete-chain", "The server forgets to send its intermediate", "server", "trust",
             "The client trusts the root, but the server sends only its own certificate: without the issuing "
             "CA, no path reaches the root. (Browsers sometimes fetch the missing intermediate; OpenSSL never "
             "does.)", Expected("client", "unable to get local issuer certificate", "unknown ca"),
             _incomplete_chain, cryptography=False, badssl="incomplete-chain"),
    Scenario("intermediate-anchor", "The client trusts only the intermediate", "server", "trust",
             "The client's trust store holds the issuing CA but not its root. OpenSSL insists that a path end "
             "at a self-signed root, so it looks for the root and fails.",
             Expected("client", "unable to get issuer certificate", "unknown ca"), _intermediate_anchor(False),
             cryptography=True,
             disagreement="cryptography treats every certificate in its store as a trust anchor, root or not; "
                          "OpenSSL does so only with VERIFY_X509_PARTIAL_CHAIN."),
    Scenario("partial-chain", "The same, with VERIFY_X509_PARTIAL_CHAIN", "server", "trust",
             "The flag lets a path end at any certificate in the trust store, here the intermediate: accepted. "
             "Pinning an intermediate this way is legitimate; the flag is on by default from Python 3.13.",
             Expected(), _intermediate_anchor(True), cryptography=True),
    # -- time ----------------------------------------------------------------------------
    Scenario("expired", "The server's certificate has expired", "server", "time",
             "Valid in 2000, expired since 2001. An expired certificate's key may since have leaked, and its "
             "CA no longer publishes its revocation.", Expected("client", "certificate has expired",
                                                                  "certificate expired"),
             _validity("expired"), cryptography=False, badssl="expired"),
    Scenario("not-yet-valid", "The server's certificate is not valid yet", "server", "time",
             "Valid from 2090: usually a clock problem on one side, or a certificate issued with the wrong date.",
             Expected("client", "certificate is not yet valid", "bad certificate"), _validity("not-yet-valid"),
             cryptography=False),
    Scenario("expired-intermediate", "The issuing CA has expired", "server", "time",
             "The leaf is within its dates, but its issuer is not: every certificate on the path must be "
             "valid now.", Expected("client", "certificate has expired", "certificate expired"),
             _validity("expired-intermediate"), cryptography=False),
    # -- names ---------------------------------------------------------------------------
    Scenario("wrong-host", "A valid certificate for another name", "server", "names",
             "The chain is fine, but the certificate is for localhost and the client asked for "
             "www.example.test. Without this check any site's certificate would do.",
             Expected("client", "Hostname mismatch", "bad certificate"),
             _wrong_name(["localhost"], "www.example.test"), cryptography=False, badssl="wrong.host"),
    Scenario("wildcard-too-deep", "A wildcard one label too deep", "server", "names",
             "*.example.test covers exactly one label: a.example.test, not a.b.example.test.",
             Expected("client", "Hostname mismatch", "bad certificate"),
             _wrong_name(["*.example.test"], "a.b.example.test"), cryptography=False),
    Scenario("wildcard", "A wildcard that matches", "server", "names",
             "*.example.test for www.example.test: the star stands for exactly one label, www, so it "
             "matches.", Expected(),
             _wrong_name(["*.example.test"], "www.example.test"), cryptography=True),
    Scenario("wrong-ip", "A certificate for another IP address", "server", "names",
             "The client connects to 127.0.0.1 by address; the certificate names 127.0.0.2. IP addresses "
             "match only IP entries of the subjectAltName, exactly.",
             Expected("client", "IP address mismatch", "bad certificate"),
             _wrong_name(["127.0.0.2"], "127.0.0.1"), cryptography=False),
    Scenario("cn-only", "No subjectAltName, only a common name", "server", "names",
             "The name is in the subject's common name only, as before 2000. OpenSSL, as Python 3.11 configures "
             "it, still falls back to the common name.", Expected(), _common_name_only(True), cryptography=False,
             disagreement="Browsers and cryptography look for names in the subjectAltName only (RFC 6125, CA/B "
                          "Forum); Python's ssl keeps OpenSSL's common-name fallback unless "
                          "hostname_checks_common_name is False."),
    Scenario("cn-only-strict", "The same, with hostname_checks_common_name = False", "server", "names",
             "Turn the fallback off and the certificate names nothing at all.",
             Expected("client", "Hostname mismatch", "bad certificate"), _common_name_only(False),
             cryptography=False),
    Scenario("no-subject", "An empty subject, names in the subjectAltName", "server", "names",
             "Unusual but valid: the subject is empty and a critical subjectAltName carries the names.",
             Expected(), _no_subject, cryptography=True, badssl="no-subject"),
    Scenario("1000-sans", "A thousand names in one certificate", "server", "names",
             "Large (tens of kilobytes) but nothing wrong with it: the name check scans the list and finds "
             "localhost first.", Expected(), _many_names, cryptography=True, badssl="1000-sans"),
    # -- what a CA may sign ----------------------------------------------------------------
    Scenario("leaf-as-ca", "A leaf certificate used as a CA", "server", "authority",
             "The issuer's certificate says CA:FALSE, yet it signed the server's. The classic bug "
             "(CVE-2002-0862, CVE-2015-1793) is a verifier that forgets to look.",
             Expected("client", "invalid CA certificate", "unknown ca"), _leaf_as_ca(True), cryptography=False),
    Scenario("issuer-without-basic-constraints", "An issuer with no basicConstraints", "server", "authority",
             "The issuer's certificate does not say it is a CA at all (no basicConstraints, no keyUsage).",
             Expected("client", "invalid CA certificate", "unknown ca"), _leaf_as_ca(False), cryptography=False),
    Scenario("path-length", "A CA below a CA with path length 0", "server", "authority",
             "The issuing CA may sign end entities only (pathlen:0), but it certified another CA, which "
             "signed the leaf.", Expected("client", "path length constraint exceeded", "unknown ca"),
             _path_length, cryptography=False),
    Scenario("name-constraints", "A CA restricted to example.test signs localhost", "server", "authority",
             "The intermediate's name constraints permit example.test and its subdomains only.",
             Expected("client", "permitted subtree violation", "certificate unknown"), _name_constraints,
             cryptography=False),
    Scenario("critical-extension", "An unknown critical extension", "server", "authority",
             "Critical means: if you do not understand this, refuse the certificate.",
             Expected("client", "unhandled critical extension", "certificate unknown"), _critical_extension,
             cryptography=False),
    # -- purpose -------------------------------------------------------------------------
    Scenario("client-eku-on-server", "A client certificate presented by a server", "server", "purpose",
             "Its extended key usage says clientAuth only: the CA issued it to identify a client, not a server.",
             Expected("client", "unsuitable certificate purpose", "unsupported certificate"), _client_only_eku,
             cryptography=False),
    # -- signatures and strength -------------------------------------------------------------
    Scenario("wrong-signature", "Signed by the wrong key", "server", "strength",
             "The certificate names the issuing CA as its issuer, even its key identifier, but another key "
             "made the signature: a forgery.", Expected("client", "certificate signature failure", "decrypt error"),
             _wrong_signature, cryptography=False),
    Scenario("rsa-1024", "An RSA-1024 key", "server", "strength",
             "1024-bit RSA is within reach of a well-funded attacker. At the default security level (2) the "
             "server's own OpenSSL refuses to load it.", Expected("server", "ee key too small", stage="load"),
             _weak("rsa-1024", None), cryptography=None,
             cryptography_note="the server never presents it"),
    Scenario("rsa-1024-seclevel-0", "The same key, served at security level 0", "server", "strength",
             "Lower the server's security level and it serves the key; the client, at level 2, refuses it.",
             Expected("client", "EE certificate key too weak", "bad certificate"), _weak("rsa-1024", 0),
             cryptography=True,
             disagreement="cryptography enforces its 2048-bit RSA minimum on the keys that sign certificates; "
                          "the leaf's own key signs only the handshake, so it lets a 1024-bit leaf key through. "
                          "OpenSSL's security level applies to every key in the chain."),
    Scenario("sha1", "A SHA-1 signature", "server", "strength",
             "SHA-1 collisions are practical since 2017. cryptography refuses to sign with it (this one was "
             "signed by hand); OpenSSL refuses to load it at level 2.",
             Expected("server", "ca md too weak", stage="load"), _weak("sha1", None), cryptography=None,
             cryptography_note="the server never presents it"),
    Scenario("sha1-seclevel-0", "The same, served at security level 0", "server", "strength",
             "The server serves it, and the client, at security level 2, refuses the weak signature.",
             Expected("client", "CA signature digest algorithm too weak", "bad certificate"), _weak("sha1", 0),
             cryptography=False),
    Scenario("ecdsa-p384", "An ECDSA P-384 key", "server", "strength",
             "A 384-bit elliptic-curve key, stronger than the usual P-256 and signed with SHA-384: nothing "
             "for a verifier to object to.", Expected(),
             _strong("ecdsa-p384"), cryptography=True, badssl="ecc384"),
    Scenario("ed25519", "An Ed25519 key", "server", "strength",
             "A modern key type, accepted by OpenSSL and cryptography (browsers do not support it yet).",
             Expected(), _strong("ed25519"), cryptography=True),
    # -- revocation ------------------------------------------------------------------------
    Scenario("revoked", "A revoked certificate, CRL loaded, VERIFY_CRL_CHECK_LEAF", "server", "revocation",
             "The CA revoked the certificate (key compromise); the client has the CRL and checks it.",
             Expected("client", "certificate revoked", "certificate revoked"),
             _revoked(ssl.VERIFY_CRL_CHECK_LEAF, True), cryptography=True,
             disagreement="cryptography's verifier has no revocation support at all: it accepts the revoked "
                          "certificate."),
    Scenario("revocation-no-crl", "VERIFY_CRL_CHECK_LEAF without a CRL", "server", "revocation",
             "The flag demands a CRL; without one OpenSSL cannot tell, so it refuses.",
             Expected("client", "unable to get certificate CRL", "unknown ca"),
             _revoked(ssl.VERIFY_CRL_CHECK_LEAF, False), cryptography=True,
             disagreement="cryptography never checks revocation, so a missing CRL changes nothing for it."),
    Scenario("revoked-unchecked", "A revoked certificate with default flags", "server", "revocation",
             "The CRL is even loaded, but Python's default flags do not check it: revocation is off unless "
             "you turn it on.", Expected(), _revoked(0, True), cryptography=True,
             lets_in="any revoked certificate, such as one whose key was stolen"),
    # -- fixes that remove security ------------------------------------------------------------
    Scenario("cert-none", "The client sets verify_mode = CERT_NONE", "server", "fixes",
             "The classic fix for a certificate error: stop checking. An attacker's self-signed certificate "
             "for localhost is accepted without a word.", Expected(), _cert_none, cryptography=None,
             cryptography_note="an OpenSSL setting; cryptography's verifier has no off switch",
             lets_in="any certificate at all, so anyone on the path can read and change the traffic"),
    Scenario("no-hostname-check", "The client sets check_hostname = False", "server", "fixes",
             "The chain is still verified, but not the name: a genuine certificate for evil.example.test, from "
             "a CA the client trusts, passes for localhost.", Expected(), _no_hostname_check, cryptography=None,
             cryptography_note="an OpenSSL setting; cryptography's server verifier always checks the name",
             lets_in="any certificate from any trusted CA, issued for any name"),
    Scenario("unverified-context", "ssl._create_unverified_context()", "server", "fixes",
             "What old code and many answers online use: CERT_NONE and no host name check in one call.",
             Expected(), _unverified_context, cryptography=None,
             cryptography_note="an OpenSSL setting; cryptography's verifier has no off switch",
             lets_in="any certificate at all"),
    # -- mutual TLS: the server verifies the client ----------------------------------------
    Scenario("mtls-valid", "A valid client certificate", "client", "mtls",
             "The client presents a certificate from the CA the server trusts for clients; the application "
             "learns who it is.", Expected(), _mtls_valid, cryptography=True, badssl="client"),
    Scenario("mtls-no-certificate", "No client certificate (TLS 1.3)", "client", "mtls",
             "The server requires one (CERT_REQUIRED), the client has none. In TLS 1.3 the client finishes its "
             "side of the handshake first and learns of the refusal on its first read.",
             Expected("server", "peer did not return a certificate", "certificate required"),
             _mtls_no_certificate("1.3"), badssl="client-cert-missing"),
    Scenario("mtls-no-certificate-tls12", "No client certificate (TLS 1.2)", "client", "mtls",
             "The same in TLS 1.2: a generic handshake failure alert, during the handshake.",
             Expected("server", "peer did not return a certificate", "handshake failure"),
             _mtls_no_certificate("1.2")),
    Scenario("mtls-other-ca", "A client certificate from another CA", "client", "mtls",
             "A perfectly good certificate, from a CA this server does not trust for clients.",
             Expected("server", "unable to get local issuer certificate", "unknown ca"), _mtls_other_ca,
             cryptography=False),
    Scenario("mtls-self-signed", "A self-signed client certificate", "client", "mtls",
             "Anyone can make one, for any identity: the server's client-CA store did not sign it.",
             Expected("server", "self-signed certificate", "unknown ca"),
             _mtls_self_signed, cryptography=False),
    Scenario("mtls-server-eku", "A server certificate used as a client certificate", "client", "mtls",
             "Its extended key usage is serverAuth only: its CA issued it to identify a server, not a client.",
             Expected("server", "unsuitable certificate purpose", "unsupported certificate"),
             _mtls_server_only_eku, cryptography=False),
    Scenario("mtls-no-eku", "A client certificate without extended key usage", "client", "mtls",
             "No extended key usage at all means 'any purpose' (RFC 5280): accepted.", Expected(), _mtls_no_eku,
             cryptography=True),
    Scenario("mtls-expired", "An expired client certificate", "client", "mtls",
             "Dates matter for clients too: the server checks them exactly as a client checks a server's.",
             Expected("server", "certificate has expired", "certificate expired"),
             _mtls_expired(_CERT_REQUIRED), cryptography=False),
    Scenario("mtls-optional-expired", "An expired client certificate, CERT_OPTIONAL", "client", "mtls",
             "CERT_OPTIONAL makes the certificate optional, not the checks: a certificate that is sent is "
             "verified, and refused if bad.", Expected("server", "certificate has expired", "certificate expired"),
             _mtls_expired(ssl.CERT_OPTIONAL), cryptography=False),
    Scenario("mtls-revoked", "A revoked client certificate (CRL, VERIFY_CRL_CHECK_LEAF)", "client", "mtls",
             "Revocation is how an organisation locks out a lost laptop: the server must load the CRL and "
             "set the flag.", Expected("server", "certificate revoked", "certificate revoked"), _mtls_revoked,
             cryptography=True,
             disagreement="cryptography's verifier has no revocation support: it accepts the revoked certificate."),
    Scenario("mtls-incomplete-chain", "The client forgets its intermediate", "client", "mtls",
             "The server trusts the root; the client sends only its own certificate.",
             Expected("server", "unable to get local issuer certificate", "unknown ca"), _mtls_incomplete_chain,
             cryptography=False),
    Scenario("mtls-key-mismatch", "A certificate with somebody else's key", "client", "mtls",
             "The client configures a certificate and a private key that do not belong together; its own "
             "OpenSSL refuses the pair before connecting.",
             Expected("client", "key values mismatch", stage="load"), _mtls_key_mismatch,
             cryptography_note="the certificate is never sent"),
    Scenario("mtls-optional-anonymous", "CERT_OPTIONAL and no certificate", "client", "fixes",
             "The server asks for a certificate but does not require one. The handshake succeeds and "
             "getpeercert() is empty: unless the application checks, authentication silently did not happen.",
             Expected(), _mtls_optional_anonymous, cryptography_note="nothing is presented",
             lets_in="anonymous clients, treated like authenticated ones by an application that does not check"),
    Scenario("mtls-wrong-identity", "A valid certificate for the wrong identity", "client", "mtls",
             "TLS checks that the certificate is genuine, not that its holder may come in: that is the "
             "application's authorization check, which here allows alice only.",
             Expected("server application", "403 forbidden"), _mtls_wrong_identity, cryptography=True),
    Scenario("mtls-overbroad-store", "The client-CA store also trusts a public CA", "client", "fixes",
             "The server's store for client certificates holds its own CA and a public one. Anyone who can get a "
             "certificate from the public CA gets in.", Expected(), _mtls_overbroad_store, cryptography=True,
             lets_in="every holder of a certificate from the extra CA"),
    Scenario("mtls-cn-only", "A client certificate with a common name only", "client", "mtls",
             "No subjectAltName: OpenSSL does not look at names for clients, so it accepts. But the application "
             "reads identities from the subjectAltName, finds none, and greets an authenticated client as "
             "anonymous.", Expected(),
             _mtls_common_name_only, cryptography=False,
             disagreement="cryptography's client verifier requires a subjectAltName, where it finds the "
                          "client's identity; OpenSSL leaves identity to the application."),
)

SCENARIOS: dict[str, Scenario] = {scenario.name: scenario for scenario in CATALOGUE}
if len(SCENARIOS) != len(CATALOGUE):  # pragma: no cover - a typo in the table above
    raise ProfileError("two scenarios share a name")


def run_all(scenarios: Iterable[Scenario] = CATALOGUE) -> dict[str, Outcome]:
    """Run every scenario; their outcomes by name."""
    return {scenario.name: scenario.run() for scenario in scenarios}


def summary_table(scenarios: Iterable[Scenario] = CATALOGUE, outcomes: dict[str, Outcome] | None = None) -> str:
    """One line per scenario: what OpenSSL decided and why, what cryptography decides, and
    whether the explainer agrees with OpenSSL."""
    scenarios = list(scenarios)
    outcomes = outcomes or run_all(scenarios)
    rows = [("scenario", "checks", "OpenSSL (the handshake)", "reason", "cryptography", "explainer")]
    for scenario in scenarios:
        outcome = outcomes[scenario.name]
        crypto = scenario.cryptography_verdict()
        crypto_text = "n/a" if crypto.accepted is None else ("accepts" if crypto.accepted else "refuses")
        explanation = scenario.explain()
        if explanation is None:
            explainer_text = "n/a"
        elif explanation.valid is None:
            explainer_text = "undecided"
        else:
            explainer_text = "agrees" if explanation.valid == outcome.certificate_accepted else "DISAGREES"
        # OpenSSL's host name messages go on to repeat the name; the first clause says it all.
        reason = (outcome.reason or "-").split(", certificate is not valid for")[0]
        rows.append((scenario.name, "client's cert" if scenario.side == "client" else "server's cert",
                     outcome.short(), reason, crypto_text, explainer_text))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def disagreement_table(scenarios: Iterable[Scenario] = CATALOGUE, outcomes: dict[str, Outcome] | None = None) -> str:
    """The scenarios where OpenSSL and cryptography decide differently, each with why."""
    scenarios = [s for s in scenarios if s.disagreement]
    outcomes = outcomes or run_all(scenarios)
    lines = []
    for scenario in scenarios:
        openssl = "accepts" if outcomes[scenario.name].certificate_accepted else "refuses"
        crypto = scenario.cryptography_verdict()
        lines.append(f"{scenario.name}: OpenSSL {openssl}, cryptography {'accepts' if crypto.accepted else 'refuses'}")
        lines.append(f"    {scenario.disagreement}")
    return "\n".join(lines)
