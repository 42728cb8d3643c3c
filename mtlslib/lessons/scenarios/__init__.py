"""Breaking verification: real scenarios run against OpenSSL and cryptography."""

from .catalogue import (
    CATALOGUE,
    SCENARIOS,
    CryptographyVerdict,
    Expected,
    Outcome,
    Scenario,
    Setup,
    client_ctx,
    disagreement_table,
    exchange,
    run_all,
    server_ctx,
    show,
    summary_table,
)

__all__ = [
    "CATALOGUE",
    "CryptographyVerdict",
    "Expected",
    "Outcome",
    "SCENARIOS",
    "Scenario",
    "Setup",
    "client_ctx",
    "disagreement_table",
    "exchange",
    "run_all",
    "server_ctx",
    "show",
    "summary_table",
]
