"""What mutual TLS costs, measured: time, messages, bytes, round trips, and running a fleet.

Every measuring function returns *tidy* results, a list of small frozen dataclasses (one row per
observation or per configuration) whose ``str()`` is one readable line, and every plotting
function takes those rows and returns a ``Chart`` (an SVG picture), so that a notebook cell is one line
and the numbers stay available for checking.

- :mod:`.timing`: handshake latencies, signature costs, issuing certificates;
- :mod:`.traffic`: handshake messages, bytes and round trips, CRL sizes;
- :mod:`.network`: a relay that adds real round trips on loopback, and connections timed through it;
- :mod:`.fleet`: revoking with CRLs and short-lived certificates, each seen in a real handshake;
- :mod:`.plots`: the figures.
"""

from .fleet import Attempt, crl_checking_context, issue_short_lived, try_client
from .network import (
    NETWORK_CONFIGS,
    DelayRelay,
    HandshakeMessages,
    NetworkConfig,
    NetworkSample,
    NetworkSummary,
    RoundTrips,
    network_latencies,
    network_table,
    resumption_messages,
    round_trips_waited,
    summarize_network,
)
from .plots import plot_latencies, plot_network, plot_traffic
from .timing import (
    DEFAULT_CONFIGS,
    ConnectionKind,
    HandshakeConfig,
    IssuanceTiming,
    LatencySample,
    LatencySummary,
    MtlsRatio,
    SignatureCost,
    handshake_latencies,
    median_us,
    mtls_ratios,
    signature_costs,
    summarize_latencies,
    time_issuance,
)
from .traffic import CrlSize, Traffic, TrafficChange, compare_traffic, crl_sizes, handshake_traffic

__all__ = [
    "Attempt",
    "ConnectionKind",
    "CrlSize",
    "DEFAULT_CONFIGS",
    "DelayRelay",
    "HandshakeConfig",
    "HandshakeMessages",
    "IssuanceTiming",
    "LatencySample",
    "LatencySummary",
    "MtlsRatio",
    "NETWORK_CONFIGS",
    "NetworkConfig",
    "NetworkSample",
    "NetworkSummary",
    "RoundTrips",
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
    "network_latencies",
    "network_table",
    "plot_latencies",
    "plot_network",
    "plot_traffic",
    "resumption_messages",
    "round_trips_waited",
    "median_us",
    "signature_costs",
    "summarize_latencies",
    "summarize_network",
    "time_issuance",
    "try_client",
]
