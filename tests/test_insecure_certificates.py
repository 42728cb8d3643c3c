"""The broken certificates' building blocks: names through pki's builders (with the permissive
fallback only for names pki refuses), pki's validity presets, and the SHA-1 signature rewritten with
pki's DER reader and writer. (What verifiers make of these certificates: tests/test_scenarios.py.)"""

from __future__ import annotations

import ipaddress

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from mtlslib.errors import ProfileError
from mtlslib.insecure import certificates as broken
from mtlslib.pki import CertificateAuthority, read_tlvs


@pytest.fixture(scope="module")
def issuing():
    return CertificateAuthority.create("Broken Certificates Root", seed="broken").create_intermediate("Broken Issuing")


def _san(cert: x509.Certificate) -> list[x509.GeneralName]:
    return list(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)


def test_ordinary_names_go_through_pkis_general_name(issuing):
    leaf = broken.issue_leaf(issuing, "LocalHost", "127.0.0.1", "spiffe://a@example.test/x", "bob@example.test")
    assert _san(leaf.certificate) == [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                      x509.UniformResourceIdentifier("spiffe://a@example.test/x"),
                                      x509.RFC822Name("bob@example.test")]


@pytest.mark.parametrize("name", ["*.*.example.test", "bad name.example.test", "under_score.test"])
def test_names_pki_refuses_are_written_as_given(issuing, name):
    leaf = broken.issue_leaf(issuing, name, common_name="Odd Name")
    assert _san(leaf.certificate) == [x509.DNSName(name)]


def test_subjects_come_from_pkis_name_builders(issuing):
    long_uri = "spiffe://example.test/" + "a" * 80
    assert broken.issue_leaf(issuing, long_uri).certificate.subject == x509.Name([])  # too long for a CN
    with pytest.raises(ProfileError, match="64"):
        broken.not_a_ca(issuing, "C" * 65)
    cn = broken.issue_leaf(issuing, "localhost", common_name="Shown Name").certificate.subject
    assert cn.rfc4514_string() == "CN=Shown Name"


def test_validity_takes_pkis_presets_and_refuses_others(issuing):
    leaf = broken.issue_leaf(issuing, "localhost", validity="expired").certificate
    assert leaf.not_valid_after_utc.year < 2025
    with pytest.raises(ProfileError, match="unknown validity"):
        broken.issue_leaf(issuing, "localhost", validity="someday")


def test_sha1_signed_rewrites_both_signature_algorithm_fields(issuing):
    leaf = broken.sha1_signed(issuing, "localhost").certificate
    (certificate,) = read_tlvs(leaf.public_bytes(serialization.Encoding.DER))
    tbs, outer_algorithm, _signature = read_tlvs(certificate.content)
    inner_algorithm = read_tlvs(tbs.content)[2]
    assert inner_algorithm.encoding == outer_algorithm.encoding == bytes.fromhex("300906072a8648ce3d0401")
    assert isinstance(leaf.signature_hash_algorithm, hashes.SHA1)
    issuing.certificate.public_key().verify(leaf.signature, leaf.tbs_certificate_bytes, ec.ECDSA(hashes.SHA1()))
    assert leaf.subject.rfc4514_string() == "CN=localhost"
