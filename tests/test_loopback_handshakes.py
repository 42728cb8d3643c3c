"""mtlslib.tls.handshake: real handshakes on loopback that succeed or fail, and what each side saw.

Every handshake here is real (OpenSSL through ``ssl``); nothing is mocked.
"""

from __future__ import annotations

import ssl

import pytest

from mtlslib.display import Shown
from mtlslib.errors import PurposeError, UsageError
from mtlslib.pki import KEY_TYPES, CertificateAuthority, IssuedCertificate
from mtlslib.tls import HandshakeResult, PeerView, client_context, handshake, run_between, server_context


# --------------------------------------------------------------------------------------------
# Certificates


@pytest.fixture(scope="module")
def leaf_ca():
    # Unseeded: seeded RSA keys are derived in pure Python and take seconds each.
    return CertificateAuthority.create("Loopback Test Root CA")


@pytest.fixture(scope="module")
def leaves(leaf_ca):
    """A server and a client certificate of every key type, from one CA."""
    return {
        key_type: (leaf_ca.issue_server("localhost", "127.0.0.1", key_type=key_type),
                   leaf_ca.issue_client(f"{key_type}@example.test", key_type=key_type))
        for key_type in KEY_TYPES
    }


# --------------------------------------------------------------------------------------------
# Successful handshakes


@pytest.mark.parametrize("mutual", [True, False], ids=["mutual", "server-auth"])
@pytest.mark.parametrize("key_type", KEY_TYPES)
@pytest.mark.parametrize("tls_version", ["1.3", "1.2"])
def test_handshake_succeeds_for_every_key_type_and_version(leaf_ca, leaves, key_type, tls_version, mutual):
    server, client = leaves[key_type]
    assert server.key_type == client.key_type == key_type

    result = handshake(server, client if mutual else None, trust=leaf_ca, tls_version=tls_version)

    assert isinstance(result, HandshakeResult)
    assert result.ok, str(result)
    assert result.mutual is mutual
    assert result.tls_version == tls_version
    if tls_version == "1.3":
        assert result.cipher.startswith("TLS_")
    else:
        assert result.cipher.startswith("ECDHE-" + ("RSA" if key_type.startswith("rsa") else "ECDSA"))
    assert result.group == "x25519"  # OpenSSL 3's first choice of key-exchange group
    assert result.duration > 0

    client_saw, server_saw = result.client_saw, result.server_saw
    assert (client_saw.role, server_saw.role) == ("client", "server")
    assert client_saw.handshake_done and server_saw.handshake_done
    assert client_saw.peer_subject == "CN=localhost"
    assert client_saw.peer_names == ("DNS:localhost", "IP:127.0.0.1")
    assert client_saw.peer_identity == "localhost"
    if mutual:
        assert server_saw.peer_subject == f"CN={key_type}@example.test"
        assert server_saw.peer_names == (f"email:{key_type}@example.test",)
        assert server_saw.peer_identity == f"{key_type}@example.test"
    else:
        assert (server_saw.peer_subject, server_saw.peer_names, server_saw.peer_identity) == (None, (), None)
    for view in (client_saw, server_saw):
        assert (view.error, view.alert_sent, view.alert_received) == (None, None, None)


def test_str_of_a_successful_result_reads_as_a_report(ca, server_cert, client_cert):
    result = handshake(server_cert, client_cert, trust=ca)

    head, client_line, server_line = str(result).splitlines()
    assert head.startswith("mutual TLS handshake OK: TLS 1.3, TLS_")
    assert "key exchange x25519" in head and head.endswith(" ms")
    assert client_line == "  client saw: verified server certificate CN=localhost [DNS:localhost, IP:127.0.0.1]"
    assert server_line == ("  server saw: verified client certificate CN=alice@example.test "
                           "[email:alice@example.test]")


def test_server_auth_only_result_says_no_client_certificate(ca, server_cert):
    result = handshake(server_cert, trust=ca, tls_version="1.2")

    assert result.ok and not result.mutual
    assert str(result).startswith("TLS handshake OK: TLS 1.2")
    assert str(result.server_saw) == "no client certificate"


def test_a_result_shows_in_a_notebook_as_its_text(ca, server_cert):
    from IPython.lib.pretty import pretty

    result = handshake(server_cert, trust=ca)
    assert isinstance(result, Shown) and pretty(result) == str(result)


def test_trust_may_be_given_as_pem(ca, server_cert, client_cert, other_ca):
    as_bytes = handshake(server_cert, client_cert, trust=ca.cert_pem)
    as_text = handshake(server_cert, client_cert, trust=ca.cert_pem.decode())
    as_list = handshake(server_cert, client_cert, trust=[other_ca, ca])

    assert as_bytes.ok and as_text.ok and as_list.ok


def test_each_side_can_trust_a_different_ca(leaf_ca, other_ca):
    server = leaf_ca.issue_server("localhost")
    client = other_ca.issue_client("bob@example.test")

    result = handshake(server, client, client_trust=leaf_ca, server_trust=other_ca)
    assert result.ok, str(result)
    assert result.server_saw.peer_identity == "bob@example.test"

    swapped = handshake(server, client, client_trust=other_ca, server_trust=leaf_ca)
    assert not swapped.ok
    assert swapped.client_saw.error.startswith("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
    assert swapped.client_saw.alert_sent == swapped.server_saw.alert_received == "unknown ca"


def test_a_changed_certificate_is_not_served_from_the_context_cache(ca):
    good = handshake(ca.issue_server("localhost"), trust=ca)
    expired = handshake(ca.issue_server("localhost", validity="expired"), trust=ca)

    assert good.ok
    assert not expired.ok and "certificate has expired" in expired.client_saw.error


def test_a_certificate_paired_with_another_key_is_not_served_from_the_context_cache(ca):
    server, stranger = ca.issue_server("localhost"), ca.issue_server("localhost")
    assert handshake(server, trust=ca).ok
    mismatched = IssuedCertificate(server.certificate, stranger.private_key, chain=server.chain)
    with pytest.raises(ssl.SSLError, match="KEY_VALUES_MISMATCH"):
        handshake(mismatched, trust=ca)
    again = IssuedCertificate(server.certificate, server.private_key, chain=server.chain)  # equal content
    assert handshake(again, trust=ca).ok


# --------------------------------------------------------------------------------------------
# Failures: what each side saw, with OpenSSL's reason


@pytest.mark.parametrize("tls_version", ["1.3", "1.2"])
def test_expired_server_certificate(ca, client_cert, tls_version):
    expired = ca.issue_server("localhost", validity="expired")

    result = handshake(expired, client_cert, trust=ca, tls_version=tls_version)

    assert not result.ok
    assert (result.tls_version, result.cipher) == (None, None)
    assert not result.client_saw.handshake_done and not result.server_saw.handshake_done
    assert result.client_saw.error == (
        "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate has expired")
    assert result.client_saw.alert_sent == "certificate expired"
    assert result.server_saw.alert_received == "certificate expired"
    assert "alert certificate expired" in result.server_saw.error
    text = str(result)
    assert text.startswith("mutual TLS handshake FAILED")
    assert "client saw: handshake not completed; error: [SSL: CERTIFICATE_VERIFY_FAILED]" in text
    assert "_ssl.c" not in text  # CPython's source location is noise for a reader


@pytest.mark.parametrize("tls_version", ["1.3", "1.2"])
@pytest.mark.parametrize("stranger", ["server", "client"])
def test_a_certificate_from_an_unknown_ca_is_refused_by_the_side_that_checks_it(ca, other_ca, server_cert,
                                                                                client_cert, stranger, tls_version):
    if stranger == "server":
        result = handshake(other_ca.issue_server("localhost"), client_cert, trust=ca, tls_version=tls_version)
        checker, refused = result.client_saw, result.server_saw
    else:
        result = handshake(server_cert, other_ca.issue_client("mallory@example.test"), trust=ca,
                           tls_version=tls_version)
        checker, refused = result.server_saw, result.client_saw

    assert not result.ok
    assert checker.error == (
        "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate")
    assert checker.alert_sent == "unknown ca" and not checker.handshake_done
    assert "TLSV1_ALERT_UNKNOWN_CA" in refused.error  # the reason code: the wording differs between OpenSSL builds
    assert refused.alert_received == "unknown ca"
    if stranger == "client":
        # TLS 1.3: the client finished its side (and verified the server) before the server refused it.
        assert refused.handshake_done is (tls_version == "1.3")


def test_mutual_without_client_certificate_tls13_fails_on_the_round_trip(ca, server_cert):
    result = handshake(server_cert, None, trust=ca, mutual=True, tls_version="1.3")

    assert not result.ok and result.mutual
    client_saw, server_saw = result.client_saw, result.server_saw
    assert client_saw.handshake_done  # its handshake "succeeded"...
    assert client_saw.peer_identity == "localhost"
    assert result.tls_version == "1.3"
    # ...and the refusal arrives with its first read
    assert client_saw.reason == "TLSV13_ALERT_CERTIFICATE_REQUIRED"
    assert client_saw.alert_received == "certificate required"
    assert server_saw.reason == "PEER_DID_NOT_RETURN_A_CERTIFICATE"
    assert server_saw.alert_sent == "certificate required"
    assert not server_saw.handshake_done


def test_mutual_without_client_certificate_tls12_fails_in_the_handshake(ca, server_cert):
    result = handshake(server_cert, None, trust=ca, mutual=True, tls_version="1.2")

    assert not result.ok
    assert not result.client_saw.handshake_done
    assert result.tls_version is None
    # The reason code, not its wording: OpenSSL 3.5 says "ssl/tls alert" where 3.0 says "sslv3 alert".
    assert result.client_saw.error.startswith("[SSL: SSLV3_ALERT_HANDSHAKE_FAILURE] ")
    assert result.client_saw.alert_received == "handshake failure"
    assert result.server_saw.reason == "PEER_DID_NOT_RETURN_A_CERTIFICATE"
    assert result.server_saw.alert_sent == "handshake failure"


def test_refusals_are_reported_the_same_way_every_time(ca, server_cert):
    # A server that closes right after its alert, with the client's request still unread, makes
    # the kernel send a reset; the client then used to report "EOF occurred" now and then.
    errors = {handshake(server_cert, None, trust=ca, mutual=True).client_saw.reason for _ in range(40)}
    assert errors == {"TLSV13_ALERT_CERTIFICATE_REQUIRED"}


@pytest.mark.parametrize("tls_version", ["1.3", "1.2"])
def test_wrong_server_hostname(ca, server_cert, client_cert, tls_version):
    result = handshake(server_cert, client_cert, trust=ca, server_hostname="example.com", tls_version=tls_version)

    assert not result.ok
    assert result.client_saw.error == ("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
                                       "Hostname mismatch, certificate is not valid for 'example.com'.")
    assert result.client_saw.alert_sent == "bad certificate"
    assert result.server_saw.alert_received == "bad certificate"


def test_client_contexts_never_match_the_common_name(ca):
    assert client_context(ca).hostname_checks_common_name is False


@pytest.mark.parametrize("tls_version", ["1.2", "1.3"])
def test_a_server_named_only_in_its_common_name_is_refused(ca, tls_version):
    from mtlslib.insecure.certificates import common_name_only

    cn_only = common_name_only(ca, "localhost")
    result = handshake(cn_only, trust=ca, server_hostname="localhost", tls_version=tls_version)
    assert not result.ok
    assert result.client_saw.error == ("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
                                       "Hostname mismatch, certificate is not valid for 'localhost'.")
    # The same certificate with OpenSSL's default, the common-name fallback, is accepted: the
    # refusal above is client_context's setting, not a broken certificate.
    lenient = client_context(ca, tls_version=tls_version)
    lenient.hostname_checks_common_name = True
    assert run_between(server_context(cn_only), lenient)[0].ok


def test_right_ip_address_as_server_hostname(ca, server_cert):
    assert handshake(server_cert, trust=ca, server_hostname="127.0.0.1").ok
    assert not handshake(server_cert, trust=ca, server_hostname="127.0.0.2").ok


def test_client_only_certificate_as_server_raises_purpose_error(ca, client_cert):
    not_a_server = ca.issue_client("svc.example.test")

    with pytest.raises(PurposeError, match="not a server certificate.*check_purpose=False"):
        handshake(not_a_server, client_cert, trust=ca)
    with pytest.raises(PurposeError):
        server_context(not_a_server)


def test_server_only_certificate_as_client_raises_purpose_error(ca, server_cert):
    with pytest.raises(PurposeError, match="not a client certificate"):
        client_context(ca, certificate=server_cert)


@pytest.mark.parametrize("tls_version", ["1.3", "1.2"])
def test_without_the_purpose_check_the_client_refuses_it(ca, client_cert, tls_version):
    not_a_server = ca.issue_client("localhost")

    result = handshake(not_a_server, client_cert, trust=ca, check_purpose=False, tls_version=tls_version)

    assert not result.ok
    assert result.client_saw.error == (
        "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unsuitable certificate purpose")
    assert result.client_saw.alert_sent == "unsupported certificate"
    assert result.server_saw.alert_received == "unsupported certificate"


def test_configuration_mistakes_raise_usage_errors(ca, server_cert):
    with pytest.raises(UsageError, match="trust=ca"):
        handshake(server_cert)
    with pytest.raises(UsageError, match="'1.1'.*'1.2' or '1.3'"):
        handshake(server_cert, trust=ca, tls_version="1.1")
    with pytest.raises(UsageError, match="needs trust="):
        server_context(server_cert, mutual=True)
    with pytest.raises(UsageError, match="not int"):
        client_context(42)


def test_peer_view_str_when_nothing_was_seen():
    view = PeerView("server", error="timed out waiting for the peer")
    assert str(view) == "handshake not completed; error: timed out waiting for the peer"
    assert view.peer_identity is None
