"""INSECURE, FOR TEACHING: a credential-stuffing bot, and a thief who copies a laptop's key file.

Credential stuffing is replaying username/password pairs leaked from one site against another,
betting that people reuse passwords. :func:`stuff_credentials` does exactly that against a
:class:`~mtlslib.lessons.use_cases.LoginService` on 127.0.0.1, so that the course can show what mutual
TLS changes. It is fenced three ways: it refuses any address outside the loopback range (before
opening a socket), it stops after ``max_attempts`` (never more than :data:`MAX_ATTEMPTS`), and it
stops when ``time_budget`` seconds have passed.

:func:`copy_from_stolen_laptop` plays the limit of mutual TLS: a client certificate whose private
key sits in a file is only as safe as the laptop's disk.

No safe module of mtlslib imports this one.
"""

from __future__ import annotations

import ssl
import tempfile
import time
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from mtlslib.display import Shown, Table
from mtlslib.errors import AttackBoundsError
from mtlslib.pki import CertificateAuthority, IssuedCertificate, new_private_key
from mtlslib.tls import DEFAULT_TIMEOUT, LoginService, Reply, client_context, error_text, login, loopback_address

__all__ = ["AttackBoundsError", "BotAttempt", "certificate_without_its_key", "copy_from_stolen_laptop",
           "forum_breach", "MAX_ATTEMPTS", "results_table", "scoreboard", "stuff_credentials"]

MAX_ATTEMPTS = 200
"""The most attempts one run of the bot will ever make, whatever it is asked."""



@dataclass(frozen=True)
class BotAttempt(Shown):
    """One replayed pair and what the login service made of it; printed as one aligned line."""

    username: str
    password: str
    reply: Reply

    @property
    def got_in(self) -> bool:
        return self.reply.ok

    @property
    def reached_login(self) -> bool:
        """Whether the login handler saw this attempt at all (the TLS handshake let it through)."""
        return self.reply.refused is None

    def __str__(self) -> str:
        return f"{self.username:<28} {self.password:<22} {self.reply.outcome}"


# A forum's user table, as dumped after a breach: mostly strangers, and a few people from the
# company whose forum passwords are not their work ones. forum_breach() adds those who reused theirs.
_FORUM_DUMP = (
    ("kim.lee@mailbox.test", "sunshine12"),
    ("bob@northwind.test", "Winter2019!"),
    ("j.doe@example.test", "letmein"),
    ("dave@northwind.test", "dave1985"),
    ("m.garcia@mailbox.test", "qwerty123"),
    ("carol@northwind.test", "iloveyou"),
    ("p.novak@example.test", "dragon"),
    ("admin@northwind.test", "admin"),
    ("s.ito@mailbox.test", "monkey77"),
    ("r.khan@example.test", "passw0rd"),
    ("t.berg@mailbox.test", "football"),
)


def forum_breach(reused: Mapping[str, str]) -> list[tuple[str, str]]:
    """A leaked list of (username, password) pairs: a forum's dump, plus the ``reused`` pairs
    (employees who used their work password on the forum) at fixed places in it."""
    dump = list(_FORUM_DUMP)
    for offset, pair in enumerate(reused.items()):
        dump.insert(min(len(dump), 4 + 3 * offset), pair)
    return dump


def stuff_credentials(service: LoginService, leaked: Iterable[tuple[str, str]], *, trust: CertificateAuthority,
                      certificate: IssuedCertificate | None = None, max_attempts: int = 50,
                      time_budget: float = 10.0, timeout: float = DEFAULT_TIMEOUT) -> list[BotAttempt]:
    """Replay ``leaked`` pairs against ``service`` (on loopback), one new connection per try,
    until the list, ``max_attempts`` or ``time_budget`` seconds run out.

    The bot checks the server like any client (``trust``: the CA of the service's public
    certificate) and presents ``certificate`` if it has one.
    """
    if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or not 1 <= max_attempts <= MAX_ATTEMPTS:
        raise AttackBoundsError(f"max_attempts must be between 1 and {MAX_ATTEMPTS}, not {max_attempts!r}: "
                                "the teaching bot is bounded on purpose")
    if not 0 < time_budget <= 60:
        raise AttackBoundsError(f"time_budget must be between 0 and 60 seconds, not {time_budget!r}")
    loopback_address(service.address[0])  # refuses anything but loopback, before any connection
    deadline = time.monotonic() + time_budget
    attempts: list[BotAttempt] = []
    for username, password in leaked:
        if len(attempts) >= max_attempts or time.monotonic() >= deadline:
            break
        reply = login(service, username, password, trust=trust, certificate=certificate,
                      timeout=min(timeout, max(0.1, deadline - time.monotonic())))
        attempts.append(BotAttempt(username, password, reply))
    return attempts


def scoreboard(attempts: Iterable[BotAttempt]) -> str:
    """A summary: how many pairs were tried, reached the login form, got in (and whose)."""
    attempts = list(attempts)
    winners = [a.username for a in attempts if a.got_in]
    reached = sum(a.reached_login for a in attempts)
    return (f"{len(attempts)} pairs tried, {reached} reached the login form, {len(winners)} got in"
            + (f": {', '.join(winners)}" if winners else ""))


def results_table(results: Mapping[str, Mapping[str, Sequence[BotAttempt]]]) -> Table:
    """A table of who got in: one row per attacker, one column per service,
    ``results[attacker][service]`` being the bot's attempts."""
    columns = list(dict.fromkeys(service for row in results.values() for service in row))

    def cell(attempts: Sequence[BotAttempt]) -> str:
        winners = [a.username for a in attempts if a.got_in]
        if winners:
            return "got in: " + ", ".join(winners)
        return f"nobody ({sum(a.reached_login for a in attempts)} of {len(attempts)} reached the form)"

    rows = [[attacker] + [cell(by_service[c]) if c in by_service else "-" for c in columns]
            for attacker, by_service in results.items()]
    return Table(["attacker"] + columns, rows)


def copy_from_stolen_laptop(certificate: IssuedCertificate) -> IssuedCertificate:
    """What a thief gets from a laptop whose client certificate and key are ordinary files: write
    them as the laptop keeps them (PEM, key readable by its owner), copy them, load the copy.

    Hardware-bound keys (a TPM, a secure enclave, a smart card) are made to break exactly this
    step: the key never exists as a file, so there is nothing to copy.
    """
    with tempfile.TemporaryDirectory(prefix="mtlslib-laptop-") as laptop_disk:
        cert_file, key_file = certificate.write(laptop_disk, "device")
        return IssuedCertificate.load(cert_file, key_file)


def certificate_without_its_key(certificate: IssuedCertificate, trust: CertificateAuthority) -> str:
    """What a thief who has only the certificate (it is public: any server it was shown to has it,
    and TLS 1.2 sends it in clear text) gets when pairing it with a key of their own: OpenSSL's
    refusal, before a single byte is sent."""
    impostor = IssuedCertificate(certificate.certificate, new_private_key(certificate.key_type, None))
    try:
        client_context(trust, certificate=impostor)
    except ssl.SSLError as error:
        return error_text(error)
    raise AssertionError("OpenSSL accepted a certificate with a key that is not its own")  # pragma: no cover
