"""Breaking verification: real scenarios run against OpenSSL and cryptography.

- :mod:`.model`: :class:`Scenario`, its :class:`Setup`, and what a run reports (:class:`Outcome`,
  :class:`Expected`);
- :mod:`.contexts`: the deliberately misconfigurable ``ssl`` contexts the scenarios use;
- :mod:`.setups` and :mod:`.catalogue`: every scenario's certificates and contexts, and the
  :data:`CATALOGUE` of them;
- :mod:`.report`: one scenario in full (:func:`examine`, :func:`show`) and tables over the catalogue.
"""

from .catalogue import CATALOGUE, SCENARIOS, run_all
from .contexts import client_ctx, server_ctx, unverified_client_ctx
from .model import Expected, Outcome, Scenario, Setup, exchange
from .report import Disagreement, Disagreements, ScenarioReport, disagreement_table, examine, show, summary_table

__all__ = [
    "CATALOGUE",
    "Disagreement",
    "Disagreements",
    "Expected",
    "Outcome",
    "SCENARIOS",
    "Scenario",
    "ScenarioReport",
    "Setup",
    "client_ctx",
    "disagreement_table",
    "examine",
    "exchange",
    "run_all",
    "server_ctx",
    "show",
    "summary_table",
    "unverified_client_ctx",
]
