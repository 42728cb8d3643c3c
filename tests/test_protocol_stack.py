"""The protocol-stack figure and its text come from one table; ALPN is negotiated for real."""

from __future__ import annotations

import pytest

from mtlslib import CertificateAuthority
from mtlslib.errors import UsageError
from mtlslib.lessons.protocol_stack import STACKS, negotiate_alpn, protocol_stack_diagram, protocol_stack_text


def test_figure_and_text_name_the_same_layers():
    source, text = protocol_stack_diagram().source, protocol_stack_text()
    for name, alpn, layers in STACKS:
        assert f'{name}  (ALPN \\"{alpn}\\")' in source and f'{name} (ALPN "{alpn}")' in text
        for layer, _ in layers:
            assert layer in source and layer in text
    assert "CRYPTO frames, no TLS records" in text


@pytest.fixture(scope="module")
def pki():
    ca = CertificateAuthority.create("Course Root CA", seed="alpn")
    return ca, ca.issue_server("localhost")


@pytest.mark.parametrize("offers, accepts, chosen", [
    (["h2", "http/1.1"], ["h2", "http/1.1"], "h2"),
    (["http/1.1", "h2"], ["h2", "http/1.1"], "h2"),  # the server's preference wins
    (["http/1.1"], ["h2", "http/1.1"], "http/1.1"),
    ([], ["h2"], None),
    (["h3"], ["h2"], None),
])
def test_alpn_is_chosen_by_a_real_handshake(pki, offers, accepts, chosen):
    ca, server = pki
    assert negotiate_alpn(server, ca, client_offers=offers, server_accepts=accepts) == chosen


def test_a_server_needs_a_protocol(pki):
    ca, server = pki
    with pytest.raises(UsageError):
        negotiate_alpn(server, ca, client_offers=["h2"], server_accepts=[])
