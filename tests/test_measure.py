"""mtlslib.lessons.measure: the counts and timings behind the TLS-against-mutual-TLS chapter, the
exact text each result prints, and the package's errors for every mistake."""

from __future__ import annotations

import datetime as dt
import statistics

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from IPython.lib.pretty import pretty

from mtlslib.errors import FigureError, ProfileError, UsageError
from mtlslib.lessons import measure
from mtlslib.pki import CertificateAuthority
from mtlslib.tls import capture_handshake, server_context

TLS13 = measure.HandshakeConfig(False, "1.3", "ecdsa-p256")
MTLS13 = measure.HandshakeConfig(True, "1.3", "ecdsa-p256")
MTLS12 = measure.HandshakeConfig(True, "1.2", "rsa-2048")


# -- what every result prints ----------------------------------------------------------------

# Each result and the exact text chapter 6 prints for it (its stored outputs depend on these).
PRINTED = [
    (measure.LatencySummary(TLS13, 150, 1.23456, 1.1, 1.5),
     "TLS 1.3 ECDSA P-256      median 1.235 ms  (10% under 1.100 ms, 90% under 1.500 ms; 150 connections)"),
    (measure.MtlsRatio("1.3", "ed25519", 1.0, 1.25),
     "TLS 1.3 Ed25519      mTLS/TLS = 1.25x  (1.250 ms against 1.000 ms: +250 microseconds)"),
    (measure.SignatureCost("rsa-2048", 1234.56, 45.6, 200),
     "RSA-2048     sign  1234.6 us   verify    45.6 us   (medians of 200 runs)"),
    (measure.IssuanceTiming("ecdsa-p256", 300, 1.5),
     "ECDSA P-256    300 certificates in 1.50 s: 5.00 ms each, 200 per second"),
    (measure.CrlSize(100, 4321, 6000), "  100 revoked:   4,321 bytes (DER),   6,000 bytes as PEM"),
    (measure.Traffic(False, "1.2", (("ClientHello", 200),), (("ServerHello", 90),), 250, 3100, 2),
     "TLS 1.2   client 1 messages   250 bytes | server 1 messages  3100 bytes | 2 round trips"),
    (measure.Traffic(True, "1.3", (("ClientHello", 200),), (("ServerHello", 100), ("Finished", 52)), 300, 400, 1),
     "mTLS 1.3  client 1 messages   300 bytes | server 2 messages   400 bytes | 1 round trip"),
    (measure.TrafficChange("client", "Certificate", 612, None), "client Certificate         +612 B  (a new message)"),
    (measure.TrafficChange("server", "NewSessionTicket", 1200, 900), "server NewSessionTicket    +300 B  (was 900 B)"),
    (measure.Attempt("laptop-b", False, "alert", "certificate revoked"),
     "REFUSED  laptop-b\n    client saw: alert\n    server saw: certificate revoked"),
]


@pytest.mark.parametrize("result, text", PRINTED, ids=lambda item: type(item).__name__)
def test_every_result_prints_one_way(result, text):
    assert str(result) == text
    assert pretty(result) == text  # what a notebook cell ending with the result shows
    assert not hasattr(result, "line")


def test_each_module_has_one_responsibility():
    assert {"handshake_latencies", "signature_costs", "time_issuance"} <= set(measure.timing.__all__)
    assert {"handshake_traffic", "compare_traffic", "crl_sizes"} <= set(measure.traffic.__all__)
    assert set(measure.plots.__all__) == {"plot_latencies", "plot_network", "plot_traffic"}
    assert set(measure.fleet.__all__) == {"Attempt", "crl_checking_context", "issue_short_lived", "try_client"}


@pytest.fixture(scope="module")
def ed25519_pki():
    """Ed25519 everywhere: signature sizes, and so byte counts, are the same on every run."""
    root = CertificateAuthority.create("Measure Root CA", seed="measure", key_type="ed25519")
    issuing = root.create_intermediate("Measure Issuing CA")
    return root, issuing, issuing.issue_server("localhost"), issuing.issue_client("alice@example.test")


@pytest.fixture(scope="module")
def traffic(ed25519_pki):
    root, _issuing, server, alice = ed25519_pki
    return measure.compare_traffic(server, alice, trust=root)


# -- configurations ------------------------------------------------------------------------


def test_a_configuration_is_named_after_what_it_measures():
    assert MTLS13.label == "mTLS 1.3 ECDSA P-256"
    assert measure.HandshakeConfig(False, "1.2", "rsa-2048").label == "TLS 1.2 RSA-2048"


@pytest.mark.parametrize("version, key_type", [("1.1", "ecdsa-p256"), ("1.3", "dsa-1024")])
def test_a_configuration_refuses_what_it_cannot_measure(version, key_type):
    with pytest.raises(UsageError, match="1.1|dsa-1024") as raised:
        measure.HandshakeConfig(True, version, key_type)
    assert not isinstance(raised.value, ProfileError)


@pytest.mark.parametrize("config_class", [measure.HandshakeConfig, measure.NetworkConfig])
def test_every_configuration_speaks_the_course_s_tls_versions(config_class):
    # One ConnectionKind for both: "TLSv1.2", as SSLSocket.version() says it, is the same key as "1.2".
    config = config_class(True, "TLSv1.2")
    assert isinstance(config, measure.ConnectionKind)
    assert config.tls_version == "1.2"
    assert config == config_class(True, "1.2") and hash(config) == hash(config_class(True, "1.2"))
    assert config.label.startswith("mTLS 1.2")
    with pytest.raises(UsageError, match="TLSv1.1"):
        config_class(False, "TLSv1.1")


# -- latency -------------------------------------------------------------------------------


def test_latencies_are_one_row_per_connection_in_configuration_order():
    configs = (MTLS13, TLS13)
    samples = measure.handshake_latencies(configs, count=4, warmup=1)
    assert [(s.config, s.round) for s in samples] == [(c, r) for c in configs for r in range(4)]
    assert all(0 < s.seconds < 5 for s in samples)


def test_latencies_time_with_the_heap_frozen_and_leave_it_as_they_found_it(monkeypatch):
    import gc

    seen = []
    real_one_connection = measure.timing._one_connection

    def spy(*args):
        seen.append(gc.get_freeze_count())
        return real_one_connection(*args)

    monkeypatch.setattr(measure.timing, "_one_connection", spy)
    measure.handshake_latencies((TLS13,), count=3, warmup=1)
    assert seen[0] == 0 and all(count > 0 for count in seen[1:]), seen  # the warm-up unfrozen, the timed ones frozen
    assert gc.get_freeze_count() == 0, "the heap was left frozen"
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        measure.handshake_latencies((TLS13,), count=1, warmup=0)
        assert gc.get_freeze_count() >= frozen, "a caller's frozen heap was thawed"
    finally:
        gc.unfreeze()


def test_latencies_need_a_positive_count_and_a_configuration():
    with pytest.raises(UsageError, match="count"):
        measure.handshake_latencies((TLS13,), count=0)
    with pytest.raises(UsageError, match="configs is empty"):
        measure.handshake_latencies((), count=1)


def _samples(config, milliseconds):
    return [measure.LatencySample(config, i, ms / 1000) for i, ms in enumerate(milliseconds)]


def test_summaries_and_ratios_are_computed_from_the_samples():
    samples = _samples(TLS13, [1, 2, 3, 4, 100]) + _samples(MTLS13, [2, 4, 6, 8, 9])
    tls, mtls = measure.summarize_latencies(samples)
    assert (tls.config, tls.count, tls.median_ms) == (TLS13, 5, pytest.approx(3))
    assert mtls.median_ms == pytest.approx(6)
    assert tls.p10_ms == pytest.approx(statistics.quantiles([1, 2, 3, 4, 100], n=10)[0])
    (ratio,) = measure.mtls_ratios(samples)
    assert (ratio.tls_version, ratio.key_type) == ("1.3", "ecdsa-p256")
    assert ratio.ratio == pytest.approx(2.0)
    assert ratio.extra_ms == pytest.approx(3.0)
    assert "2.00x" in str(ratio)


def test_grouping_samples_keeps_their_order_and_refuses_none():
    samples = _samples(MTLS12, [2, 3]) + _samples(TLS13, [1])
    assert measure.timing.group_by_config(samples) == {MTLS12: [0.002, 0.003], TLS13: [0.001]}
    with pytest.raises(UsageError, match="no latency samples"):
        measure.timing.group_by_config([])


def test_a_ratio_needs_both_halves_of_a_pair():
    assert measure.mtls_ratios(_samples(MTLS13, [1, 2])) == []
    with pytest.raises(UsageError, match="no latency samples"):
        measure.summarize_latencies([])


def test_the_latency_figure_has_the_distributions_and_every_configuration():
    samples = _samples(TLS13, [1, 1.2, 1.1]) + _samples(MTLS13, [2, 2.5, 2.2])
    left, right = measure.plot_latencies(samples).panels
    assert [mark.label for mark in left.legend()] == [TLS13.label, MTLS13.label]
    # The histogram counts every connection (the slowest piled into the last bin): three of each kind.
    bins = [mark for mark in left.marks if mark.kind == "rect"]
    assert sum(bin_.ys[1] for bin_ in bins) == 6
    assert right.categories == [TLS13.label, MTLS13.label]
    # Each box spans the middle half of its row's samples, and its median line sits inside it.
    boxes = [mark for mark in right.marks if mark.kind == "rect"]
    assert [box.xs for box in boxes] == [pytest.approx((1.05, 1.15)), pytest.approx((2.1, 2.35))]
    medians = [mark for mark in right.marks if mark.kind == "line" and mark.width == 2]
    assert [median.xs[0] for median in medians] == pytest.approx([1.1, 2.2])
    with pytest.raises(FigureError, match="no latency samples"):
        measure.plot_latencies([])
    with pytest.raises(FigureError, match="TLS 1.3"):
        measure.plot_latencies(_samples(MTLS12, [2]))


# -- messages, bytes, round trips ------------------------------------------------------------


def test_tls13_has_one_round_trip_with_or_without_a_client_certificate(traffic):
    tls13, mtls13, tls12, mtls12 = traffic
    assert [t.label for t in traffic] == ["TLS 1.3", "mTLS 1.3", "TLS 1.2", "mTLS 1.2"]
    assert (tls13.round_trips, mtls13.round_trips) == (1, 1)
    assert (tls12.round_trips, mtls12.round_trips) == (2, 2)


def test_tls12_sends_two_flights_each_way_and_tls13_one_from_the_server(traffic):
    _tls13, mtls13, tls12, mtls12 = traffic
    assert [sender for sender, _ in mtls13.flights] == ["client", "server", "client"]
    assert mtls13.flights[2] == ("client", ("ChangeCipherSpec", "Certificate", "CertificateVerify", "Finished"))
    assert [sender for sender, _ in mtls12.flights] == ["client", "server", "client", "server"]
    assert mtls12.flights[1][1][-1] == "ServerHelloDone"
    assert mtls12.flights[2] == ("client", ("Certificate", "ClientKeyExchange", "CertificateVerify",
                                            "ChangeCipherSpec", "Finished"))
    assert mtls12.flights[3] == ("server", ("NewSessionTicket", "ChangeCipherSpec", "Finished"))
    # without a client certificate the same flights, less the client's two messages and the request
    assert tls12.flights[2] == ("client", ("ClientKeyExchange", "ChangeCipherSpec", "Finished"))
    assert measure.Traffic(False, "1.3", (), (), 0, 0, 1).flights == ()


def test_mutual_tls_adds_certificate_request_certificate_and_certificate_verify(traffic):
    tls13, mtls13, tls12, mtls12 = traffic
    assert tls13.messages("client") == ("ClientHello", "Finished")
    assert mtls13.messages("client") == ("ClientHello", "Certificate", "CertificateVerify", "Finished")
    assert "CertificateRequest" not in tls13.messages("server")
    assert mtls13.messages("server") == ("ServerHello", "EncryptedExtensions", "CertificateRequest", "Certificate",
                                         "CertificateVerify", "Finished")
    assert [(change.sender, change.message, change.was) for change in mtls13.changes_from(tls13)] == [
        ("client", "Certificate", None), ("client", "CertificateVerify", None), ("server", "CertificateRequest", None)]
    assert mtls12.messages("client") == ("ClientHello", "Certificate", "ClientKeyExchange", "CertificateVerify",
                                         "Finished")


def test_a_traffic_change_knows_its_growth():
    assert measure.TrafficChange("server", "NewSessionTicket", 1200, 900).added_bytes == 300
    assert measure.TrafficChange("client", "Certificate", 612, None).added_bytes == 612


def test_the_tls12_session_ticket_grows_by_the_client_certificate(traffic, ed25519_pki):
    alice = ed25519_pki[3]
    _tls13, _mtls13, tls12, mtls12 = traffic
    ticket_growth = dict(mtls12.server_messages)["NewSessionTicket"] - dict(tls12.server_messages)["NewSessionTicket"]
    assert ticket_growth >= len(alice.certificate.public_bytes(Encoding.DER))
    assert any(str(change).startswith("server NewSessionTicket") and "(was " in str(change)
               for change in mtls12.changes_from(tls12))


def test_the_extra_client_bytes_are_mostly_its_certificate_chain(traffic, ed25519_pki):
    _root, issuing, _server, alice = ed25519_pki
    tls13, mtls13, _tls12, _mtls12 = traffic
    chain = sum(len(c.public_bytes(Encoding.DER)) for c in (alice.certificate, issuing.certificate))
    certificate_message = dict(mtls13.client_messages)["Certificate"]
    assert chain < certificate_message < chain + 20  # plus length fields and empty extensions
    assert mtls13.client_bytes - tls13.client_bytes > certificate_message  # plus CertificateVerify and records


def test_byte_counts_cover_the_handshake_records_exactly(ed25519_pki):
    root, _issuing, server, alice = ed25519_pki
    trace = capture_handshake(server, alice, trust=root, tickets=False)
    row = measure.handshake_traffic(trace)
    # What follows the handshake on each side: the request or answer (6 bytes in a record of
    # 5 + 6 + 1 + 16), then the encrypted close_notify alert (5 + 2 + 1 + 16).
    assert len(trace.stream("client")) - row.client_bytes == (5 + 6 + 1 + 16) + (5 + 2 + 1 + 16)
    assert row.server_bytes + (5 + len(b"hello alice@example.test\n") + 1 + 16) + (5 + 2 + 1 + 16) == len(
        trace.stream("server"))


def test_byte_counts_are_the_same_on_every_capture(ed25519_pki, traffic):
    root, _issuing, server, alice = ed25519_pki
    again = measure.compare_traffic(server, alice, trust=root)
    assert [(t.client_bytes, t.server_bytes) for t in again] == [(t.client_bytes, t.server_bytes) for t in traffic]


def test_a_failed_handshake_has_no_traffic_to_count(ed25519_pki):
    root, _issuing, server, _alice = ed25519_pki
    trace = capture_handshake(server, trust=root, server_hostname="www.example.test", tickets=False)
    with pytest.raises(UsageError, match="failed"):
        measure.handshake_traffic(trace)


def test_the_traffic_figure_has_one_pair_of_bars_per_row(traffic):
    (panel,) = measure.plot_traffic(traffic).panels
    assert panel.categories == ["TLS 1.3 (1 RTT)", "mTLS 1.3 (1 RTT)", "TLS 1.2 (2 RTT)", "mTLS 1.2 (2 RTT)"]
    assert sorted(bar.xs[1] for bar in panel.marks if bar.kind == "rect") == sorted(
        [t.client_bytes for t in traffic] + [t.server_bytes for t in traffic])
    assert [mark.label for mark in panel.legend()] == ["client sent", "server sent"]
    with pytest.raises(FigureError):
        measure.plot_traffic([])


# -- cryptography ----------------------------------------------------------------------------


def test_signature_costs_time_both_operations():
    (cost,) = measure.signature_costs(("ed25519",), repeats=5)
    assert cost.key_type == "ed25519" and cost.sign_us > 0 and cost.verify_us > 0
    with pytest.raises(UsageError, match="unknown key type"):
        measure.signature_costs(("dsa",))


# -- a fleet ---------------------------------------------------------------------------------


def test_issuance_is_timed_per_certificate():
    timing = measure.time_issuance(3, "ed25519")
    assert timing.count == 3 and timing.seconds > 0
    assert timing.per_certificate_ms == pytest.approx(timing.seconds / 3 * 1000)
    assert timing.per_second == pytest.approx(3 / timing.seconds)
    with pytest.raises(UsageError, match="count"):
        measure.time_issuance(0)


def test_a_crl_grows_with_every_revocation_and_seeded_sizes_repeat():
    sizes = measure.crl_sizes((10, 0, 1))
    assert [s.revoked for s in sizes] == [0, 1, 10]
    assert sizes[0].der_bytes < sizes[1].der_bytes < sizes[2].der_bytes
    assert 30 < (sizes[2].der_bytes - sizes[0].der_bytes) / 10 < 50  # a serial number and a date each
    assert measure.crl_sizes((0, 1, 10)) == sizes
    with pytest.raises(UsageError):
        measure.crl_sizes((-1,))


@pytest.fixture(scope="module")
def fleet():
    ca = CertificateAuthority.create("Fleet CA", seed="measure fleet")
    return (ca, ca.issue_server("localhost"), ca.issue_client("laptop-a@fleet.test"),
            ca.issue_client("laptop-b@fleet.test"))


def test_a_revoked_certificate_is_refused_once_the_server_has_the_new_crl():
    ca = CertificateAuthority.create("Revoking CA", seed="revoking")
    gateway, laptop_a, laptop_b = (ca.issue_server("localhost"), ca.issue_client("a@fleet.test"),
                                   ca.issue_client("b@fleet.test"))
    before = ca.crl_pem
    ca.revoke(laptop_b)
    stale = measure.try_client(measure.crl_checking_context(gateway, ca, crl=before), laptop_b, trust=ca)
    assert stale.accepted and stale.client_saw == "hello b@fleet.test"
    current = measure.crl_checking_context(gateway, ca, crl=ca.crl_pem)
    refused = measure.try_client(current, laptop_b, trust=ca)
    assert not refused.accepted
    assert "certificate revoked" in refused.server_saw and "alert certificate revoked" in refused.client_saw
    assert measure.try_client(current, laptop_a, trust=ca).accepted


def test_checking_revocation_without_a_crl_refuses_everybody(fleet):
    ca, gateway, laptop_a, _laptop_b = fleet
    attempt = measure.try_client(measure.crl_checking_context(gateway, ca, crl=None), laptop_a, trust=ca)
    assert not attempt.accepted and "unable to get certificate CRL" in attempt.server_saw


def test_a_crl_is_pem_bytes_or_a_crl_object(fleet):
    ca, gateway, _a, _b = fleet
    for crl in (ca.crl_pem, ca.crl):
        assert measure.crl_checking_context(gateway, [ca], crl=crl).cert_store_stats()["crl"] == 1
    for wrong in (ca.cert_pem, ca.crl_pem.decode()):
        with pytest.raises(UsageError, match="a CRL must be PEM bytes"):
            measure.crl_checking_context(gateway, ca, crl=wrong)


def test_a_short_lived_certificate_works_until_it_expires(fleet):
    ca, gateway, _a, _b = fleet
    mutual = server_context(gateway, trust=ca, mutual=True)
    fresh = measure.issue_short_lived(ca, "laptop-c@fleet.test", minutes=5)
    lifetime = fresh.certificate.not_valid_after_utc - fresh.certificate.not_valid_before_utc
    assert lifetime == dt.timedelta(minutes=6)  # five, plus one minute of grace for clock skew
    assert fresh.certificate.not_valid_after_utc - dt.datetime.now(dt.timezone.utc) <= dt.timedelta(minutes=5)
    assert measure.try_client(mutual, fresh, trust=ca).accepted
    ten_minutes_old = measure.issue_short_lived(ca, "laptop-c@fleet.test", minutes=5, age_minutes=10)
    expired = measure.try_client(mutual, ten_minutes_old, trust=ca)
    assert not expired.accepted and "certificate has expired" in expired.server_saw
    with pytest.raises(UsageError):
        measure.issue_short_lived(ca, "x@fleet.test", minutes=0)


def test_a_client_without_a_certificate_is_refused_by_a_mutual_server(fleet):
    ca, gateway, _a, _b = fleet
    attempt = measure.try_client(server_context(gateway, trust=ca, mutual=True), None, trust=ca)
    assert attempt.client == "no certificate"
    assert not attempt.accepted and "certificate required" in attempt.client_saw
    assert str(attempt).startswith("REFUSED  no certificate\n    client saw: ")
