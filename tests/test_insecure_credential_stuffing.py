"""How the credential-stuffing bot's results print: one aligned line per attempt, and the table of
who got in where, rendered by mtlslib.display.Table (the bot itself runs in tests/test_use_cases.py)."""

from __future__ import annotations

from dataclasses import dataclass

from mtlslib.display import Shown, Table
from mtlslib.insecure.credential_stuffing import BotAttempt, results_table, scoreboard


@dataclass(frozen=True)
class _Reply:
    """What BotAttempt reads from a login reply (a stand-in for the login service's Reply)."""

    status: int | None
    refused: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def outcome(self) -> str:
        return f"refused: {self.refused}" if self.refused else f"HTTP {self.status}"


ALICE_IN = BotAttempt("alice@northwind.test", "pw", _Reply(200))
BOB_OUT = BotAttempt("bob", "x", _Reply(401))
REFUSED = BotAttempt("alice@northwind.test", "pw", _Reply(None, refused="certificate required"))


def test_an_attempt_prints_as_one_aligned_line():
    assert isinstance(ALICE_IN, Shown) and not hasattr(ALICE_IN, "line")
    assert str(ALICE_IN) == f"{'alice@northwind.test':<28} {'pw':<22} HTTP 200"
    assert str(REFUSED).endswith(" refused: certificate required")
    assert len(str(ALICE_IN).split("HTTP")[0]) == len(str(BOB_OUT).split("HTTP")[0])


def test_the_results_table_is_a_table_of_who_got_in_where():
    table = results_table({"bot": {"password only": [ALICE_IN, BOB_OUT], "mutual TLS": [REFUSED] * 2},
                           "bot with a key": {"mutual TLS": [ALICE_IN, BOB_OUT]}})
    assert isinstance(table, Table)
    assert table.headers == ("attacker", "password only", "mutual TLS")
    assert str(table).splitlines() == [
        "attacker        password only                 mutual TLS",
        "--------------  ----------------------------  --------------------------------",
        "bot             got in: alice@northwind.test  nobody (0 of 2 reached the form)",
        "bot with a key  -                             got in: alice@northwind.test",
    ]
    assert "<th>password only</th>" in table._repr_html_()


def test_the_scoreboard_names_who_got_in():
    assert scoreboard([ALICE_IN, BOB_OUT, REFUSED]) == ("3 pairs tried, 2 reached the login form, 1 got in: "
                                                       "alice@northwind.test")
