"""What chapter 8 prints about the scenarios: one scenario in full, and tables over the catalogue.

- :func:`examine` runs one scenario and returns a :class:`ScenarioReport` (OpenSSL's outcome,
  cryptography's verdict, the explainer's checks, why); :func:`show` prints it by name.
- :func:`summary_table` is a :class:`~mtlslib.display.Table` of every scenario.
- :func:`disagreement_table` lists where OpenSSL and cryptography decide differently, and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from mtlslib.display import Shown, Table
from mtlslib.errors import UsageError
from mtlslib.verification import Explanation, Verdict

from .catalogue import CATALOGUE, SCENARIOS, run_all
from .model import Outcome, Scenario

__all__ = ["Disagreement", "Disagreements", "disagreement_table", "examine", "ScenarioReport", "show",
           "summary_table"]


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
            lines.append(f"disagreement: {scenario.disagreement}")
        if scenario.lets_in:
            lines.append(f"lets in:      {scenario.lets_in}")
        lines.append(f"why:          {scenario.story}")
        return "\n".join(lines)


def examine(scenario: Scenario | str, *, full_table: bool = False) -> ScenarioReport:
    """Run ``scenario`` (or the catalogue's scenario of that name) and gather what OpenSSL,
    cryptography and the explainer say about it."""
    if isinstance(scenario, str):
        scenario = _named(scenario)
    elif not isinstance(scenario, Scenario):
        raise UsageError(f"examine() takes a Scenario or a scenario's name, not {type(scenario).__name__}")
    return ScenarioReport(scenario, scenario.run(), scenario.cryptography_verdict(), scenario.explain(), full_table)


def show(name: str, *, full_table: bool = False) -> None:
    """Print the report of the scenario called ``name`` (a notebook's one-liner)."""
    print(examine(_named(name), full_table=full_table))


def _named(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except (KeyError, TypeError):
        raise UsageError(f"no scenario called {name!r}; the catalogue has: {', '.join(SCENARIOS)}") from None


def summary_table(scenarios: Iterable[Scenario] = CATALOGUE, outcomes: dict[str, Outcome] | None = None) -> Table:
    """One row per scenario: what OpenSSL decided and why, what cryptography decides, and
    whether the explainer agrees with OpenSSL. Runs the scenarios unless ``outcomes`` has them."""
    scenarios = list(scenarios)
    outcomes = outcomes or run_all(scenarios)
    rows = []
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
                     outcome.verdict, reason, crypto_text, explainer_text))
    return Table(("scenario", "checks", "OpenSSL (the handshake)", "reason", "cryptography", "explainer"), rows)


@dataclass(frozen=True, repr=False)
class Disagreement(Shown):
    """One scenario where OpenSSL and cryptography decide differently, and why."""

    scenario: str
    openssl_accepts: bool
    cryptography_accepts: bool
    why: str

    def __str__(self) -> str:
        return (f"{self.scenario}: OpenSSL {_accepts(self.openssl_accepts)}, "
                f"cryptography {_accepts(self.cryptography_accepts)}\n    {self.why}")


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
