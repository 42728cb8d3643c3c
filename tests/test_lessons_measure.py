"""mtlslib.lessons.measure: every result prints one way, and mistakes raise the package's errors."""

from __future__ import annotations

import pytest
from IPython.lib.pretty import pretty

from mtlslib.errors import FigureError, ProfileError, UsageError
from mtlslib.lessons.measure import (
    Attempt,
    CrlSize,
    HandshakeConfig,
    IssuanceTiming,
    LatencySample,
    LatencySummary,
    MtlsRatio,
    NetworkEstimate,
    SignatureCost,
    Traffic,
    TrafficChange,
    crl_checking_context,
    fleet,
    plot_latencies,
    plots,
    timing,
    traffic,
)
from mtlslib.lessons.measure.timing import group_by_config
from mtlslib.pki import CertificateAuthority

TLS13 = HandshakeConfig(False, "1.3", "ecdsa-p256")
MTLS12 = HandshakeConfig(True, "1.2", "rsa-2048")

# Each result and the exact text chapter 6 prints for it (its stored outputs depend on these).
PRINTED = [
    (LatencySummary(TLS13, 150, 1.23456, 1.1, 1.5),
     "TLS 1.3 ECDSA P-256      median 1.235 ms  (10% under 1.100 ms, 90% under 1.500 ms; 150 connections)"),
    (MtlsRatio("1.3", "ed25519", 1.0, 1.25),
     "TLS 1.3 Ed25519      mTLS/TLS = 1.25x  (1.250 ms against 1.000 ms: +250 microseconds)"),
    (NetworkEstimate(MTLS12, 20, 4, 3.04), "mTLS 1.2 RSA-2048        4 x 20 ms + 3.0 ms of computing = 83.0 ms"),
    (SignatureCost("rsa-2048", 1234.56, 45.6), "RSA-2048     sign  1234.6 us   verify    45.6 us"),
    (IssuanceTiming("ecdsa-p256", 300, 1.5), "ECDSA P-256    300 certificates in 1.50 s: 5.00 ms each, 200 per second"),
    (CrlSize(100, 4321, 6000), "  100 revoked:   4,321 bytes (DER),   6,000 bytes as PEM"),
    (Traffic(False, "1.2", (("ClientHello", 200),), (("ServerHello", 90),), 250, 3100, 2),
     "TLS 1.2   client 1 messages   250 bytes | server 1 messages  3100 bytes | 2 round trips"),
    (TrafficChange("client", "Certificate", 612, None), "client Certificate         +612 B  (a new message)"),
    (TrafficChange("server", "NewSessionTicket", 1200, 900), "server NewSessionTicket    +300 B  (was 900 B)"),
    (Attempt("laptop-b", False, "alert", "certificate revoked"),
     "REFUSED  laptop-b\n    client saw: alert\n    server saw: certificate revoked"),
]


@pytest.mark.parametrize("result, text", PRINTED, ids=lambda item: type(item).__name__)
def test_every_result_prints_one_way(result, text):
    assert str(result) == text
    assert pretty(result) == text  # what a notebook cell ending with the result shows
    assert not hasattr(result, "line")


def test_a_traffic_change_knows_its_growth():
    assert TrafficChange("server", "NewSessionTicket", 1200, 900).added_bytes == 300
    assert TrafficChange("client", "Certificate", 612, None).added_bytes == 612


def test_grouping_samples_keeps_their_order_and_refuses_none():
    samples = [LatencySample(MTLS12, 0, 0.002), LatencySample(TLS13, 0, 0.001), LatencySample(MTLS12, 1, 0.003)]
    assert group_by_config(samples) == {MTLS12: [0.002, 0.003], TLS13: [0.001]}
    with pytest.raises(UsageError, match="no latency samples"):
        group_by_config([])


def test_a_latency_figure_needs_samples_it_can_draw():
    with pytest.raises(FigureError, match="no latency samples"):
        plot_latencies([])
    with pytest.raises(FigureError, match="TLS 1.3"):
        plot_latencies([LatencySample(MTLS12, 0, 0.002)])


def test_a_bad_configuration_is_a_usage_error_not_a_profile_error():
    with pytest.raises(UsageError) as raised:
        HandshakeConfig(True, "1.1")
    assert not isinstance(raised.value, ProfileError)


def test_a_crl_given_as_text_is_a_usage_error():
    ca = CertificateAuthority.create("Measure CRL CA", seed="lessons measure")
    with pytest.raises(UsageError, match="PEM CRL as bytes"):
        crl_checking_context(ca.issue_server("localhost"), ca, crl=ca.crl_pem.decode())
    assert crl_checking_context(ca.issue_server("localhost"), [ca], crl=ca.crl_pem).cert_store_stats()["crl"] == 1


def test_each_module_has_one_responsibility():
    assert {"handshake_latencies", "signature_costs", "time_issuance"} <= set(timing.__all__)
    assert {"handshake_traffic", "compare_traffic", "crl_sizes"} <= set(traffic.__all__)
    assert set(plots.__all__) == {"plot_latencies", "plot_traffic"}
    assert set(fleet.__all__) == {"Attempt", "crl_checking_context", "issue_short_lived", "try_client"}
