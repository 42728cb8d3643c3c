"""What a scenario is, how it runs, and what a run reports.

A :class:`Scenario` builds its :class:`Setup` (each side's ``ssl`` context, and the chain and trust
store the verifying side sees), runs one real TLS handshake and one request on 127.0.0.1, and
reports in an :class:`Outcome` what each side saw: who refused, OpenSSL's reason, the alert the
other side received, or that the connection was accepted and what the application answered. An
:class:`Expected` is the outcome a scenario predicts; a :class:`~mtlslib.verification.Verdict` is what
``cryptography``'s verifier decides about the same certificates.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable

from cryptography import x509

from mtlslib.display import Shown
from mtlslib.tls import DEFAULT_TIMEOUT, HandshakeResult, PeerView, error_text, reply_with_identity, run_between
from mtlslib.verification import Explanation, Settings, Verdict, cryptography_verdict, explain

__all__ = ["exchange", "Expected", "Outcome", "Scenario", "Setup"]


# --------------------------------------------------------------------------------------------
# What a run reports


@dataclass(frozen=True)
class Outcome(Shown):
    """What happened when a scenario ran; ``str()`` says it in a few lines.

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

    @property
    def verdict(self) -> str:
        """A few words (``"accepted"``, ``"client refuses"``...), as the summary table shows them."""
        if self.accepted:
            return "accepted"
        if self.stage == "application":
            return "refused by the application"
        where = " at load" if self.stage == "load" else ""
        return f"{self.refused_by} refuses{where}"

    def __str__(self) -> str:
        if self.stage == "load":
            return (f"REFUSED before any connection: the {self.refused_by} cannot load its own certificate\n"
                    f"  {self.refused_by}: {self.error}")
        if self.accepted:
            client, server = self.result.client_saw, self.result.server_saw
            return "\n".join([f"ACCEPTED (TLS {self.result.tls_version})",
                              f"  client saw: {_seen(client, 'server')}",
                              f"  server saw: {_seen(server, 'client')}",
                              f"  application answered: {self.reply}"])
        if self.stage == "application":
            return (f"TLS OK, then REFUSED by the server application: {self.reply}\n"
                    f"  server saw: {_seen(self.result.server_saw, 'client')}")
        refuser = self.result.client_saw if self.refused_by == "client" else self.result.server_saw
        other = self.result.server_saw if self.refused_by == "client" else self.result.client_saw
        return "\n".join([
            f"REFUSED by the {self.refused_by}: {self.reason}",
            f"  {refuser.role}: {refuser.error}" + (f" (sent alert: {refuser.alert_sent})"
                                                    if refuser.alert_sent else ""),
            f"  {other.role}: {other.error or 'no error'}" + (f" (received alert: {other.alert_received})"
                                                              if other.alert_received else ""),
        ])


def _seen(view: PeerView, peer: str) -> str:
    if view.peer_subject is not None:
        return f"{peer} certificate {view.peer_subject or '(empty subject)'}"
    return f"no {peer} certificate" if view.handshake_done else "handshake not completed"


@dataclass(frozen=True)
class Expected(Shown):
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

    def __str__(self) -> str:
        if self.accepted:
            return "accepted"
        text = f"refused by the {self.refused_by}"
        return text + (f": {self.reason}" if self.reason else "")


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

    @cached_property
    def _contexts(self) -> dict[str, ssl.SSLContext]:
        return {}

    def context(self, role: str) -> ssl.SSLContext:
        """The context of ``role`` ("server" or "client"), built on first use and kept (a context
        serves any number of connections, one at a time here). A context OpenSSL refuses to build
        raises its ``ssl.SSLError`` each time: it is tried again, never kept."""
        if role not in self._contexts:
            self._contexts[role] = (self.setup.server if role == "server" else self.setup.client)()
        return self._contexts[role]

    @cached_property
    def outcome(self) -> Outcome:
        """What :meth:`run` decided the first time it was asked here, kept: a scenario's contexts are
        built once and fixed, so every run decides the same, and the reports share one real handshake
        per scenario instead of repeating it."""
        return self.run()

    def run(self, timeout: float = DEFAULT_TIMEOUT) -> Outcome:
        """Run one real handshake and request on 127.0.0.1 between the two sides' contexts."""
        for role in ("server", "client"):
            try:
                self.context(role)
            except ssl.SSLError as error:
                text = error_text(error)
                return Outcome(False, role, "load", _reason(text), text, None)
        result, reply = exchange(self.context("server"), self.context("client"),
                                 server_hostname=self.setup.server_hostname, handler=self.setup.handler,
                                 timeout=timeout)
        return _outcome(result, reply)

    def explain(self, **overrides) -> Explanation | None:
        """The explainer's table for what the verifying side received, with that side's settings
        (None when nothing was presented; OpenSSL's error when the verifying side's own context
        cannot be built)."""
        setup = self.setup
        if setup.presented is None:
            return None
        verifier = self.context("client" if self.side == "server" else "server")
        settings = Settings.of_context(verifier, **overrides)
        name = setup.server_hostname if self.side == "server" else None
        return explain(list(setup.presented), list(setup.trust), purpose=self.side, name=name, crls=setup.crls,
                       settings=settings)

    def cryptography_verdict(self) -> Verdict:
        """What cryptography's verifier decides about the presented chain, with the same trust
        store and (for a server) the same expected name."""
        setup = self.setup
        if self.cryptography is None:
            return Verdict(None, self.cryptography_note or "nothing for it to verify")
        name = setup.server_hostname if self.side == "server" else None
        return cryptography_verdict(list(setup.presented), list(setup.trust), purpose=self.side, name=name)

    def __str__(self) -> str:
        return f"{self.name}: {self.title}"


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
