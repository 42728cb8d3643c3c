"""How long a path explain() follows, and what it says past its bounds.

OpenSSL's default verify depth is 100 intermediates (Python's ssl cannot change it): a chain of up
to 102 certificates (leaf, 100 intermediates, root) verifies, one more is "certificate chain too
long". explain() follows any path OpenSSL accepts by default, and where one of its own bounds stops
the search (the path length, the candidates examined, the paths found) its verdict is undecided
and says which bound, never invalid with a reason that is not true.
"""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from mtlslib.cli import main
from mtlslib.pki import CertificateAuthority
from mtlslib.tls import handshake
from mtlslib.verification import explain, paths

LONGER_THAN = f"the path is longer than {paths.MAX_PATH_LENGTH} certificates, the most this verifier follows"


@pytest.fixture(scope="module")
def ladder():
    """A root and 101 intermediates, each issuing the next (no path length limit)."""
    root = CertificateAuthority.create("Ladder Root", seed="ladder")
    cas = [root]
    for number in range(1, 102):
        cas.append(cas[-1].create_intermediate(f"Ladder CA {number}", path_length=None))
    return cas


def test_the_limits_are_openssls_default_depth():
    assert paths.OPENSSL_DEFAULT_DEPTH == 100 and paths.MAX_PATH_LENGTH == 102


def test_a_19_certificate_chain_is_valid_in_explain_handshake_and_the_command_line(ladder, tmp_path, capsys):
    root, leaf = ladder[0], ladder[17].issue_server("localhost")
    assert len(leaf.chain) == 17
    explanation = explain(leaf, root, name="localhost")
    assert explanation.valid is True and len(explanation.path) == 19, explanation.conclusion
    assert handshake(leaf, None, trust=root).ok
    (tmp_path / "chain.pem").write_bytes(leaf.chain_pem)
    (tmp_path / "root.pem").write_bytes(root.cert_pem)
    assert main(["explain", str(tmp_path / "chain.pem"), "--trust", str(tmp_path / "root.pem"),
                 "--name", "localhost"]) == 0
    assert capsys.readouterr().out.rstrip().endswith("valid: every check passed")


def test_102_certificates_are_valid_and_103_are_too_long_as_openssl_says(ladder):
    root = ladder[0]
    longest = ladder[100].issue_server("localhost")
    assert explain(longest, root, name="localhost").valid is True
    too_long = ladder[101].issue_server("localhost")
    result = handshake(too_long, None, trust=root)
    assert not result.ok and "certificate chain too long" in str(result)
    explanation = explain(too_long, root, name="localhost")
    assert explanation.valid is False and explanation.first_failure.openssl == "certificate chain too long"
    assert explanation.first_failure.reason.endswith("more than 100 intermediate(s) needed (OpenSSL's default "
                                                     "verify depth)")


@pytest.mark.parametrize("settings", [{"profile": "webpki"}, {"max_depth": 200}])
def test_past_the_longest_path_followed_the_verdict_is_undecided(ladder, settings):
    explanation = explain(ladder[101].issue_server("localhost"), ladder[0], name="localhost", **settings)
    assert explanation.valid is None, explanation.conclusion
    assert explanation.checks[0].status == "undecided" and explanation.checks[0].reason.endswith(LONGER_THAN)


def test_the_command_line_exits_3_past_the_longest_path(ladder, tmp_path, capsys):
    leaf = ladder[101].issue_server("localhost")
    (tmp_path / "chain.pem").write_bytes(leaf.chain_pem)
    (tmp_path / "root.pem").write_bytes(ladder[0].cert_pem)
    arguments = ["explain", str(tmp_path / "chain.pem"), "--trust", str(tmp_path / "root.pem"), "--name", "localhost"]
    assert main([*arguments, "--profile", "webpki"]) == 3
    assert LONGER_THAN in capsys.readouterr().out
    assert main(arguments) == 1  # what OpenSSL itself decides
    assert "certificate chain too long" in capsys.readouterr().out


# --------------------------------------------------------------------------------------------
# The search's other bounds


def reissued(ca: CertificateAuthority, issuer: CertificateAuthority, not_before: dt.datetime,
             not_after: dt.datetime) -> x509.Certificate:
    """Another certificate for ``ca``'s name and key, from ``issuer``, valid from ``not_before`` to ``not_after``."""
    original = ca.certificate
    builder = (x509.CertificateBuilder().subject_name(original.subject).issuer_name(issuer.certificate.subject)
               .public_key(original.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(not_before).not_valid_after(not_after))
    for extension in original.extensions:
        builder = builder.add_extension(extension.value, extension.critical)
    return builder.sign(issuer.private_key, hashes.SHA256())


@pytest.fixture(scope="module")
def two_ways():
    """A leaf whose issuing CA is presented twice, expired first: the first path a search finds is
    invalid, the second valid (the "chain of pain")."""
    root = CertificateAuthority.create("Two Ways Root", seed="two ways")
    issuing = root.create_intermediate("Two Ways Issuing CA")
    leaf = issuing.issue_server("localhost")
    expired = reissued(issuing, root, dt.datetime(2020, 1, 1, tzinfo=dt.UTC), dt.datetime(2021, 1, 1, tzinfo=dt.UTC))
    return [leaf.certificate, expired, issuing.certificate], root


def test_without_the_bounds_the_search_finds_the_valid_path(two_ways):
    chain, root = two_ways
    assert explain(chain, root, name="localhost", profile="webpki").valid is True


@pytest.mark.parametrize("bound, value, words", [
    ("MAX_PATHS", 1, "stopped after 1 paths to a trust anchor, none of them valid, the most this verifier examines"),
    ("MAX_CANDIDATES", 2, "gave up after examining 2 candidate issuers, the most this verifier examines"),
])
def test_a_search_stopped_by_a_bound_is_undecided_not_invalid(two_ways, monkeypatch, bound, value, words):
    chain, root = two_ways
    monkeypatch.setattr(paths, bound, value)
    explanation = explain(chain, root, name="localhost", profile="webpki")
    assert explanation.valid is None, explanation
    assert explanation.checks[0].status == "undecided" and words in explanation.checks[0].reason


def test_a_bound_does_not_hide_that_no_path_exists(two_ways, monkeypatch):
    # Nothing leads to this root at all: however far the search had gone, no path was there to find.
    chain, _ = two_ways
    monkeypatch.setattr(paths, "MAX_CANDIDATES", 2)
    stranger = CertificateAuthority.create("Two Ways Stranger Root", seed="stranger")
    explanation = explain(chain, stranger, name="localhost", profile="webpki")
    assert explanation.valid is False and explanation.first_failure.step == "chain"


def test_under_a_bound_the_leafs_own_failure_still_decides(two_ways, monkeypatch):
    chain, root = two_ways
    monkeypatch.setattr(paths, "MAX_CANDIDATES", 2)
    explanation = explain(chain, root, name="www.example.test", profile="webpki")
    assert explanation.valid is False and explanation.first_failure.step == "name"
