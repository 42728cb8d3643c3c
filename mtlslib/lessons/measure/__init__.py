"""What mutual TLS costs, measured: time, messages, bytes, round trips, and running a fleet.

Every measuring function returns *tidy* results, a list of small frozen dataclasses (one row per
observation or per configuration) whose ``str()`` is one readable line, and every plotting
function takes those rows and returns a matplotlib ``Figure``, so that a notebook cell is one line
and the numbers stay available for checking.

- :mod:`.timing`: handshake latencies, signature costs, issuing certificates;
- :mod:`.traffic`: handshake messages, bytes and round trips, CRL sizes;
- :mod:`.fleet`: revoking with CRLs and short-lived certificates, each seen in a real handshake;
- :mod:`.plots`: the figures.
"""

from .fleet import Attempt, crl_checking_context, issue_short_lived, try_client
from .plots import plot_latencies, plot_traffic
from .timing import (
    DEFAULT_CONFIGS,
    HandshakeConfig,
    IssuanceTiming,
    LatencySample,
    LatencySummary,
    MtlsRatio,
    NetworkEstimate,
    SignatureCost,
    handshake_latencies,
    mtls_ratios,
    network_estimates,
    signature_costs,
    summarize_latencies,
    time_issuance,
)
from .traffic import (
    CrlSize,
    Traffic,
    TrafficChange,
    compare_traffic,
    crl_sizes,
    handshake_traffic,
)

__all__ = [
    "Attempt",
    "CrlSize",
    "DEFAULT_CONFIGS",
    "HandshakeConfig",
    "IssuanceTiming",
    "LatencySample",
    "LatencySummary",
    "MtlsRatio",
    "NetworkEstimate",
    "SignatureCost",
    "Traffic",
    "TrafficChange",
    "compare_traffic",
    "crl_checking_context",
    "crl_sizes",
    "handshake_latencies",
    "handshake_traffic",
    "issue_short_lived",
    "mtls_ratios",
    "network_estimates",
    "plot_latencies",
    "plot_traffic",
    "signature_costs",
    "summarize_latencies",
    "time_issuance",
    "try_client",
]
