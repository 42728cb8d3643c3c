"""The real chains ship with the package; their SCTs decode; the side-by-side table names every field."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from cryptography import x509

from mtlslib import CertificateAuthority
from mtlslib.errors import UsageError
from mtlslib.lessons.transparency import (
    REAL_HOSTS,
    certificate_table,
    real_chain,
    signed_certificate_timestamps,
    valid_at,
)


@pytest.mark.parametrize("host", REAL_HOSTS)
def test_each_real_leaf_was_valid_when_collected_and_carries_scts(host):
    leaf, *intermediates = real_chain(host)
    assert intermediates and leaf.issuer == intermediates[0].subject
    assert leaf.not_valid_before_utc <= valid_at(host) <= leaf.not_valid_after_utc
    scts = signed_certificate_timestamps(leaf)
    assert len(scts) >= 2 and all(s.version == "v1" and len(s.log_id) == 32 for s in scts)
    assert all(s.entry_type == "pre_certificate" and s.timestamp.tzinfo is timezone.utc for s in scts)
    sct_extension = leaf.extensions.get_extension_for_oid(x509.ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2"))
    assert not sct_extension.critical


def test_an_sct_prints_its_log_time_and_signature():
    (first, _) = signed_certificate_timestamps(real_chain("cloudflare.com")[0])
    assert str(first) == ("v1  log 49:9c:9b:69:de:1d:7c:ec...  2026-03-12 21:59:52.178 UTC  pre_certificate, "
                          "ECDSA-SHA256")
    assert first.timestamp == datetime(2026, 3, 12, 21, 59, 52, 178000, tzinfo=timezone.utc)


def test_the_course_certificates_carry_no_sct():
    ca = CertificateAuthority.create("Course Root CA", seed="transparency")
    assert signed_certificate_timestamps(ca.issue_server("localhost").certificate) == []


def test_the_table_compares_field_by_field():
    ca = CertificateAuthority.create("Course Root CA", seed="transparency")
    table = certificate_table({"cloudflare.com": real_chain("cloudflare.com")[0],
                               "course": ca.issue_server("intranet.example.test").certificate})
    rows = {row[0]: row[1:] for row in table.rows}
    assert table.headers == ("field", "cloudflare.com", "course")
    assert rows["SCTs (Certificate Transparency)"] == ("2, from 2 logs", "none")
    assert rows["subjectAltName"][0].endswith("(5 in all)") and rows["subjectAltName"][1] == "DNS:intranet.example.test"
    assert rows["certificate policies"] == ("2.23.140.1.2.1", "(none)")


@pytest.mark.parametrize("call", [lambda: real_chain("example.com"), lambda: valid_at("example.com"),
                                  lambda: certificate_table({})])
def test_bad_arguments_are_refused(call):
    with pytest.raises(UsageError):
        call()
