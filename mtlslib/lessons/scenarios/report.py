"""What chapter 8 prints about the scenarios: one scenario in full, and tables over the catalogue.

- :func:`examine` runs one scenario and returns a :class:`ScenarioReport` (OpenSSL's outcome,
  cryptography's verdict, the explainer's checks, why); :func:`show` prints it by name.
- :func:`summary_table` is a :class:`~mtlslib.display.Table` of every scenario, one row each;
  :func:`overview` is the same catalogue in one small table per group (what breaks), for reading.
- :func:`disagreement_table` lists where OpenSSL and cryptography decide differently, and why.
- :func:`limbo_comparison` holds the explainer against the x509-limbo suite and cryptography, and
  lists every case where they disagree.
"""

from __future__ import annotations

import textwrap
from collections import Counter
from dataclasses import dataclass
from typing import Iterable

from mtlslib.display import Shown, Table
from mtlslib.errors import UsageError
from mtlslib.verification import Explanation, Verdict
from mtlslib.verification.limbo import Agreement, explain_case, load_cases, measure

from .catalogue import CATALOGUE, SCENARIOS, run_all
from .model import Outcome, Scenario

__all__ = ["Disagreement", "Disagreements", "GROUPS", "LimboComparison", "Overview", "disagreement_table",
           "examine", "limbo_comparison", "overview", "ScenarioReport", "show", "summary_table"]

# Printed lines are wrapped here: a notebook shows long lines with a horizontal scroll bar.
WIDTH = 108
_LABEL = 14  # "disagreement: " and the other labels of a report line up at this column

# What breaks, in the order chapter 8 tells it: the scenarios' groups and their headings.
GROUPS = {
    "trust": "Who vouches for the server",
    "time": "Time",
    "names": "Names",
    "authority": "What an issuer may sign",
    "purpose": "Purpose",
    "strength": "Signatures and key strength",
    "revocation": "Revocation",
    "fixes": '"Fixes" that remove security',
    "mtls": "Mutual TLS: the server checks the client",
}


def _labelled(label: str, text: str) -> list[str]:
    """``label`` and ``text``, wrapped to :data:`WIDTH` with every line after the first indented
    under the text."""
    return textwrap.wrap(text, WIDTH, initial_indent=f"{label:<{_LABEL}}", subsequent_indent=" " * _LABEL)


@dataclass(frozen=True, repr=False)  # repr=False: a generated __repr__ would hide Shown from IPython
class ScenarioReport(Shown):
    """Everything about one run of a scenario; ``str()`` is the report chapter 8 prints.

    ``full_table``: the explainer's every check, not only those that did not simply pass.
    """

    scenario: Scenario
    outcome: Outcome
    cryptography: Verdict
    explanation: Explanation | None
    full_table: bool = False

    def __str__(self) -> str:
        scenario = self.scenario
        first, *more = str(self.outcome).splitlines()
        lines = [f"{scenario.name}: {scenario.title}", f"OpenSSL:      {first}"]
        lines += [f"              {line.strip()}" for line in more]
        lines.append(f"cryptography: {self.cryptography}")
        if self.explanation is None:
            lines.append("explainer:    nothing to explain: no certificate reached a verifier")
        else:
            lines.append("explainer:")
            checks = str(self.explanation if self.full_table else self.explanation.problems)
            lines += ["  " + line for line in checks.splitlines()]
        if scenario.disagreement:
            lines += _labelled("disagreement:", scenario.disagreement)
        if scenario.lets_in:
            lines += _labelled("lets in:", scenario.lets_in)
        lines += _labelled("why:", scenario.story)
        return "\n".join(lines)


def examine(scenario: Scenario | str, *, full_table: bool = False) -> ScenarioReport:
    """Run ``scenario`` (or the catalogue's scenario of that name) and gather what OpenSSL,
    cryptography and the explainer say about it."""
    if isinstance(scenario, str):
        scenario = _named(scenario)
    elif not isinstance(scenario, Scenario):
        raise UsageError(f"examine() takes a Scenario or a scenario's name, not {type(scenario).__name__}")
    return ScenarioReport(scenario, scenario.outcome, scenario.cryptography_verdict(), scenario.explain(), full_table)


def show(name: str, *, full_table: bool = False) -> None:
    """Print the report of the scenario called ``name`` (a notebook's one-liner)."""
    print(examine(_named(name), full_table=full_table))


def _named(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except (KeyError, TypeError):
        raise UsageError(f"no scenario called {name!r}; the catalogue has: {', '.join(SCENARIOS)}") from None


def _crypto_text(scenario: Scenario) -> str:
    crypto = scenario.cryptography_verdict()
    return "n/a" if crypto.accepted is None else ("accepts" if crypto.accepted else "refuses")


def _explainer_text(scenario: Scenario, outcome: Outcome) -> str:
    """Whether the explainer's verdict matches what OpenSSL's handshake decided."""
    explanation = scenario.explain()
    if explanation is None:
        return "n/a"
    if explanation.valid is None:
        return "undecided"
    return "agrees" if explanation.valid == outcome.certificate_accepted else "DISAGREES"


def _short_reason(outcome: Outcome) -> str:
    # OpenSSL's host name messages go on to repeat the name; the first clause says it all.
    return (outcome.reason or "-").split(", certificate is not valid for")[0]


def summary_table(scenarios: Iterable[Scenario] = CATALOGUE, outcomes: dict[str, Outcome] | None = None) -> Table:
    """One row per scenario: what OpenSSL decided and why, what cryptography decides, and
    whether the explainer agrees with OpenSSL. Runs the scenarios unless ``outcomes`` has them."""
    scenarios = list(scenarios)
    outcomes = outcomes or run_all(scenarios)
    rows = []
    for scenario in scenarios:
        outcome = outcomes[scenario.name]
        rows.append((scenario.name, "client's cert" if scenario.side == "client" else "server's cert",
                     outcome.verdict, _short_reason(outcome), _crypto_text(scenario),
                     _explainer_text(scenario, outcome)))
    return Table(("scenario", "checks", "OpenSSL (the handshake)", "reason", "cryptography", "explainer"), rows)


def _decision(outcome: Outcome) -> str:
    """Who decided what, and OpenSSL's reason, in one short cell."""
    if outcome.accepted:
        return "accepted"
    if outcome.stage == "application":  # "403 forbidden: <who> is not <whom>": the status says it
        return f"application refuses: {(outcome.reason or '').split(':')[0]}"
    where = " to load" if outcome.stage == "load" else ""
    return f"{outcome.refused_by} refuses{where}: {_short_reason(outcome)}"


@dataclass(frozen=True, repr=False)
class Overview(Shown):
    """The catalogue, one small table per group (what breaks), and a tally; ``str()`` prints it."""

    groups: tuple[Table, ...]
    outcomes: dict[str, Outcome]
    explainer: dict[str, str]

    @property
    def tally(self) -> str:
        stages = Counter("accepted" if o.accepted else o.stage for o in self.outcomes.values())
        agree = Counter(self.explainer.values())
        judged = len(self.explainer) - agree["n/a"]
        return (f"{len(self.outcomes)} scenarios: {stages['accepted']} accepted; {stages['handshake']} refused in "
                f"the handshake, {stages['load']} before it (a side would not load its own certificate) and "
                f"{stages['application']} by the application after it. "
                f"The explainer agrees with OpenSSL on {agree['agrees']} of the {judged} where a certificate "
                f"reached a verifier ({agree['DISAGREES']} disagree, {agree['undecided']} undecided).")

    def __str__(self) -> str:
        return "\n\n".join([*(str(table) for table in self.groups), textwrap.fill(self.tally, WIDTH)])


def overview(scenarios: Iterable[Scenario] = CATALOGUE, outcomes: dict[str, Outcome] | None = None) -> Overview:
    """The catalogue grouped by what breaks: per scenario, what OpenSSL decided (who refused,
    and its reason), what cryptography decides, and whether the explainer agrees with OpenSSL.
    Runs the scenarios unless ``outcomes`` has them."""
    scenarios = list(scenarios)
    outcomes = outcomes or run_all(scenarios)
    explainer = {s.name: _explainer_text(s, outcomes[s.name]) for s in scenarios}
    tables = []
    for group, heading in GROUPS.items():
        members = [s for s in scenarios if s.group == group]
        if members:
            rows = [(s.name, _decision(outcomes[s.name]), _crypto_text(s), explainer[s.name]) for s in members]
            tables.append(Table(("scenario", "OpenSSL", "cryptography", "explainer"), rows, title=f"{heading}:"))
    return Overview(tuple(tables), {s.name: outcomes[s.name] for s in scenarios}, explainer)


@dataclass(frozen=True, repr=False)
class Disagreement(Shown):
    """One scenario where OpenSSL and cryptography decide differently, and why."""

    scenario: str
    openssl_accepts: bool
    cryptography_accepts: bool
    why: str

    def __str__(self) -> str:
        why = textwrap.fill(self.why, WIDTH, initial_indent="    ", subsequent_indent="    ")
        return (f"{self.scenario}: OpenSSL {_accepts(self.openssl_accepts)}, "
                f"cryptography {_accepts(self.cryptography_accepts)}\n{why}")


@dataclass(frozen=True, repr=False)
class Disagreements(Shown):
    """The scenarios where OpenSSL and cryptography disagree: ``str()`` gives each with its reason
    on the next line (explanations too long for a table cell); :attr:`table` is the same as a
    :class:`~mtlslib.display.Table`."""

    rows: tuple[Disagreement, ...]

    def __str__(self) -> str:
        return "\n".join(str(row) for row in self.rows)

    def __iter__(self):
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def table(self) -> Table:
        return Table(("scenario", "OpenSSL", "cryptography", "why"),
                     [(row.scenario, _accepts(row.openssl_accepts), _accepts(row.cryptography_accepts), row.why)
                      for row in self.rows])


def _accepts(accepted: bool) -> str:
    return "accepts" if accepted else "refuses"


def disagreement_table(scenarios: Iterable[Scenario] = CATALOGUE,
                       outcomes: dict[str, Outcome] | None = None) -> Disagreements:
    """The scenarios where OpenSSL and cryptography decide differently, each with why. Runs the
    scenarios unless ``outcomes`` has them."""
    scenarios = [s for s in scenarios if s.disagreement]
    outcomes = outcomes or run_all(scenarios)
    return Disagreements(tuple(
        Disagreement(s.name, outcomes[s.name].certificate_accepted, bool(s.cryptography_verdict().accepted),
                     s.disagreement)
        for s in scenarios))


# --------------------------------------------------------------------------------------------
# The explainer against x509-limbo and cryptography


def _valid(verdict: bool | None) -> str:
    return "n/a" if verdict is None else ("valid" if verdict else "invalid")


@dataclass(frozen=True, repr=False)
class LimboComparison(Shown):
    """The explainer's ``webpki`` profile on the x509-limbo cases, against the suite's expected
    results and against cryptography: the two :class:`~mtlslib.verification.limbo.Agreement`
    lines, then every case where the explainer disagrees with either, with all three verdicts
    (:attr:`table`), so that each disagreement can be looked up by its identifier."""

    with_expected: Agreement
    with_cryptography: Agreement
    table: Table
    suite_sides_with_explainer: int

    def __str__(self) -> str:
        against = len(self.with_cryptography.disagree)
        lines = [str(self.with_expected), str(self.with_cryptography), "", str(self.table), ""]
        lines += textwrap.wrap(f"Where the explainer and cryptography disagree ({against} cases), the suite's "
                               f"expected result sides with the explainer in {self.suite_sides_with_explainer} "
                               f"and with cryptography in {against - self.suite_sides_with_explainer}.", WIDTH)
        return "\n".join(lines)


def limbo_comparison() -> LimboComparison:
    """Run the explainer (``webpki`` profile) and cryptography on the course's copy of x509-limbo
    and compare both with the suite's expected results."""
    cases = load_cases()
    explained = {case.id: explain_case(case, "webpki") for case in cases}
    cryptography = {case.id: case.cryptography_verdict().accepted for case in cases}
    with_expected = measure(cases, lambda case: case.expected_valid, lambda case: explained[case.id],
                            "webpki profile vs limbo expected")
    with_cryptography = measure(cases, lambda case: cryptography[case.id], lambda case: explained[case.id],
                                "webpki profile vs cryptography")
    disputed = set(with_expected.disagree) | set(with_cryptography.disagree)
    expected = {case.id: case.expected_valid for case in cases}
    rows = [(case_id, _valid(expected[case_id]), _valid(cryptography[case_id]), _valid(explained[case_id].valid))
            for case_id in sorted(disputed)]
    sides = sum(expected[case_id] == explained[case_id].valid for case_id in with_cryptography.disagree)
    return LimboComparison(with_expected, with_cryptography,
                           Table(("x509-limbo case", "suite expects", "cryptography", "explainer"), rows), sides)
