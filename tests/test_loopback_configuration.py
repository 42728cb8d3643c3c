"""mtlslib.tls: one meaning for trust, one vocabulary for TLS versions, one description of a
connection (ConnectionSpec) shared by handshake() and capture_handshake(); all on real handshakes."""

from __future__ import annotations

import ssl
import sys
import threading

import pytest

from mtlslib.errors import MtlsLibError, UsageError
from mtlslib.tls import ConnectionSpec, capture_handshake, client_context, handshake, server_context, tls_version_name


# --------------------------------------------------------------------------------------------
# Trust means one thing: the anchors of mtlslib.pki.trust_anchors, each of which ends a path


def test_trust_is_the_anchor_itself_root_or_intermediate(ca, issuing_ca, other_ca, server_cert, client_cert):
    by_root = handshake(server_cert, client_cert, trust=ca)
    by_intermediate = handshake(server_cert, client_cert, trust=issuing_ca)
    by_stranger = handshake(server_cert, client_cert, trust=other_ca)

    assert by_root.ok and by_intermediate.ok, (str(by_root), str(by_intermediate))
    assert not by_stranger.ok
    assert "unable to get local issuer certificate" in by_stranger.client_saw.error


def test_an_intermediate_anchor_does_not_trust_its_root_or_siblings(ca, issuing_ca):
    sibling = ca.create_intermediate("Test Sibling CA")
    result = handshake(sibling.issue_server("localhost"), trust=issuing_ca)
    assert not result.ok, "trusting an intermediate must not mean trusting its root"
    assert result.client_saw.alert_sent == "unknown ca"


def test_trust_may_mix_kinds_in_one_list(ca, issuing_ca, other_ca, server_cert, client_cert):
    mixed = [other_ca.cert_pem, other_ca.certificate, issuing_ca]
    assert handshake(server_cert, client_cert, trust=mixed).ok
    assert handshake(server_cert, client_cert, trust=[other_ca, ca.cert_pem.decode()]).ok
    assert not handshake(server_cert, client_cert, trust=[other_ca.certificate, other_ca.cert_pem]).ok


def test_trust_may_be_an_x509_certificate_or_an_issued_certificate(ca, issuing_ca, server_cert, client_cert):
    assert handshake(server_cert, client_cert, trust=ca.certificate).ok
    assert handshake(server_cert, client_cert, trust=issuing_ca.certificate).ok
    pinned = handshake(server_cert, trust=server_cert)  # pinning the server's own certificate
    assert pinned.ok, str(pinned)


def test_every_trust_store_mtlslib_builds_ends_paths_at_any_anchor(ca, server_cert):
    for ctx in (client_context(ca), server_context(server_cert, trust=ca, mutual=True)):
        assert ctx.verify_flags & ssl.VERIFY_X509_PARTIAL_CHAIN
    assert not server_context(server_cert).verify_flags & ssl.VERIFY_X509_PARTIAL_CHAIN  # no trust store


@pytest.mark.parametrize("bad", [42, [["nested"]], b"not pem at all"])
def test_trust_that_is_not_trust_is_refused_clearly(server_cert, bad):
    with pytest.raises(MtlsLibError, match="trust"):
        handshake(server_cert, trust=bad)


# --------------------------------------------------------------------------------------------
# One vocabulary for TLS versions


@pytest.mark.parametrize("given", ["1.2", "TLSv1.2", "TLS 1.2", ssl.TLSVersion.TLSv1_2])
def test_every_way_of_saying_a_version_is_accepted(ca, server_cert, given):
    assert tls_version_name(given) == "1.2"
    result = handshake(server_cert, trust=ca, tls_version=given)
    assert result.ok and result.tls_version == "1.2"
    assert str(result).startswith("TLS handshake OK: TLS 1.2, ")
    ctx = client_context(ca, tls_version=given)
    assert ctx.minimum_version == ctx.maximum_version == ssl.TLSVersion.TLSv1_2


@pytest.mark.parametrize("bad", ["1.1", "TLSv1.0", "SSLv3", "", 13, ssl.TLSVersion.TLSv1_1])
def test_an_unknown_version_is_a_usage_error_naming_it(ca, server_cert, bad):
    with pytest.raises(UsageError, match=r"tls_version .* give '1.2' or '1.3'") as caught:
        server_context(server_cert, tls_version=bad)
    assert repr(bad) in str(caught.value)
    with pytest.raises(UsageError):
        handshake(server_cert, trust=ca, tls_version=bad)


def test_both_versions_are_allowed_without_a_version(ca, server_cert):
    assert handshake(server_cert, trust=ca, tls_version=None).tls_version == "1.3"


# --------------------------------------------------------------------------------------------
# One description of a connection


def test_a_connection_spec_resolves_its_defaults_once(ca, other_ca, server_cert, client_cert):
    spec = ConnectionSpec(server_cert, client_cert, trust=ca, tls_version="TLSv1.2").resolved()
    assert (spec.mutual, spec.client_trust, spec.server_trust, spec.tls_version) == (True, ca, ca, "1.2")

    one_way = ConnectionSpec(server_cert, trust=ca).resolved()
    assert (one_way.mutual, one_way.client_trust, one_way.server_trust) == (False, ca, None)

    split = ConnectionSpec(server_cert, client_cert, trust=ca, server_trust=other_ca).resolved()
    assert (split.client_trust, split.server_trust) == (ca, other_ca)
    # An empty list is a (wrong) trust store, not "no trust given": it is not replaced by trust=.
    with pytest.raises(UsageError, match="empty"):
        ConnectionSpec(server_cert, trust=ca, client_trust=[]).resolved().client_context()


@pytest.mark.parametrize("spec, message", [
    (dict(), "the client needs something to trust"),
    (dict(client_trust="CA"), None),
    (dict(client_trust="CA", mutual=True), "mutual-TLS server needs something to trust"),
])
def test_a_connection_spec_names_what_is_missing(server_cert, spec, message):
    if message is None:
        assert ConnectionSpec(server_cert, **spec).resolved().mutual is False
    else:
        with pytest.raises(UsageError, match=message):
            ConnectionSpec(server_cert, **spec).resolved()


def test_handshake_and_capture_take_the_same_spec(ca, server_cert, client_cert):
    spec = ConnectionSpec(server_cert, client_cert, trust=ca, tls_version="1.2")
    by_spec, by_keywords = handshake(spec), handshake(server_cert, client_cert, trust=ca, tls_version="1.2")
    trace = capture_handshake(spec)
    for result in (by_spec, by_keywords, trace.result):
        assert (result.ok, result.mutual, result.tls_version, result.group) == (True, True, "1.2", "x25519")
        assert result.server_saw.peer_identity == "alice@example.test"
    assert trace.tls_version_requested == "1.2" and trace.trust == {"client": ca, "server": ca}
    with pytest.raises(UsageError, match="server must be an IssuedCertificate"):
        handshake(ca.cert_pem, trust=ca)


def test_captures_that_reuse_contexts_each_record_only_their_own_connection(ca, server_cert, client_cert):
    # The same spec twice in a row, then four at once from threads: capture_handshake() reuses
    # one pair of contexts for all of them, and each trace must still hold exactly one connection.
    def one() -> tuple:
        trace = capture_handshake(server_cert, client_cert, trust=ca, tls_version="1.3", tickets=False)
        randoms = {line.split()[1] for line in trace.keylog.splitlines() if line and not line.startswith("#")}
        names = [e.name for e in trace.client_events if e.direction == "sent"]
        return trace.result.ok, len(randoms), names.count("ClientHello"), len(trace.conversation.checks)

    first, second = one(), one()
    results: list[tuple] = []
    threads = [threading.Thread(target=lambda: results.append(one())) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert [first, second, *results] == [(True, 1, 1, 4)] * 6
    # A trace with tickets gets a context of its own: its server sends them.
    with_tickets = capture_handshake(server_cert, client_cert, trust=ca, tls_version="1.3")
    assert "NewSessionTicket" in [e.name for e in with_tickets.server_events]


def test_a_capture_that_fails_gives_its_contexts_back(ca, server_cert, client_cert, monkeypatch):
    # The client cannot even make its socket: the error reaches the caller, and the contexts it had
    # borrowed are free again, without its message callbacks or its key log.
    capture_module = sys.modules["mtlslib.tls.capture"]
    real_dial = capture_module.dial

    def no_socket(host, timeout):
        monkeypatch.setattr(capture_module, "dial", real_dial)  # only the first one fails
        raise OSError("no socket today")

    monkeypatch.setattr(capture_module, "dial", no_socket)
    with pytest.raises(OSError, match="no socket today"):
        capture_handshake(server_cert, client_cert, trust=ca, tickets=False)
    done: list = []
    thread = threading.Thread(target=lambda: done.append(capture_handshake(server_cert, client_cert, trust=ca,
                                                                           tickets=False)))
    thread.start()
    thread.join(30)
    assert done, "the second capture waited for contexts the failed one never gave back"
    (trace,) = done
    keylog_randoms = {line.split()[1] for line in trace.keylog.splitlines() if line and not line.startswith("#")}
    assert trace.result.ok and len(keylog_randoms) == 1
    assert [e.name for e in trace.client_events if e.direction == "sent"].count("ClientHello") == 1
