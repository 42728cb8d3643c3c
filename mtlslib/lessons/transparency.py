"""Certificate Transparency, read from real web certificates.

A publicly trusted TLS certificate carries Signed Certificate Timestamps (SCTs, RFC 6962): each is a
log's signed promise that it has published the (pre)certificate. They travel in a non-critical
extension, OID 1.3.6.1.4.1.11129.2.4.2, which ``cryptography`` decodes as
:class:`~cryptography.x509.PrecertificateSignedCertificateTimestamps`. The real chains are copies
from x509-limbo (Apache License 2.0, ``data/real-chains/``); the course's own certificates have no SCT.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import resources
from typing import Mapping

from cryptography import x509

from mtlslib.display import Shown, Table
from mtlslib.errors import UsageError
from mtlslib.pki import KEY_USAGE_NAMES, extension, key_type_of, load_pem_certificates, oid_name, san_entries

__all__ = ["REAL_HOSTS", "SctSummary", "certificate_table", "real_chain", "signed_certificate_timestamps", "valid_at"]

# A moment (UTC) at which x509-limbo found each chain valid: check them "as of" then.
_VALID_AT = {"google.com": "2026-02-02T08:36:39", "cloudflare.com": "2026-03-12T20:59:52",
              "docs.python.org": "2026-01-13T13:03:47"}
REAL_HOSTS = tuple(_VALID_AT)


def _known(host: str) -> str:
    if host not in _VALID_AT:
        raise UsageError(f"no real chain for {host!r}; the course has: {', '.join(REAL_HOSTS)}")
    return host


def real_chain(host: str) -> list[x509.Certificate]:
    """The chain ``host`` served when it was collected: its certificate first, then the intermediates."""
    data = resources.files("mtlslib.lessons").joinpath("data", "real-chains", f"{_known(host)}-chain.pem")
    return load_pem_certificates(data.read_bytes())


def valid_at(host: str) -> datetime:
    return datetime.fromisoformat(_VALID_AT[_known(host)]).replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class SctSummary(Shown):
    """One SCT, the fields a reader can check without the log's public key."""

    version: str
    log_id: bytes  # SHA-256 of the log's public key (RFC 6962, 3.2)
    timestamp: datetime  # when the log saw the precertificate, UTC
    entry_type: str
    signature: str

    def __str__(self) -> str:
        when = self.timestamp.replace(tzinfo=None).isoformat(sep=" ", timespec="milliseconds")
        return f"{self.version}  log {self.log_id[:8].hex(':')}...  {when} UTC  {self.entry_type}, {self.signature}"


def signed_certificate_timestamps(certificate: x509.Certificate) -> list[SctSummary]:
    """The SCTs embedded in ``certificate`` (an empty list when it carries none)."""
    scts = extension(certificate, x509.PrecertificateSignedCertificateTimestamps)
    return [SctSummary(sct.version.name, sct.log_id, sct.timestamp.replace(tzinfo=timezone.utc),
                       sct.entry_type.name.lower(),
                       f"{sct.signature_algorithm.name}-{sct.signature_hash_algorithm.name.upper()}")
            for sct in scts or ()]


def _names(values: tuple[str, ...], shown: int = 3) -> str:
    if not values:
        return "(none)"
    return ", ".join(values[:shown]) + (f", ... ({len(values)} in all)" if len(values) > shown else "")


def _rows(cert: x509.Certificate) -> dict[str, str]:
    key_usage = extension(cert, x509.KeyUsage)
    eku = extension(cert, x509.ExtendedKeyUsage)
    access = extension(cert, x509.AuthorityInformationAccess)
    points = extension(cert, x509.CRLDistributionPoints)
    policies = extension(cert, x509.CertificatePolicies)
    constraints = extension(cert, x509.BasicConstraints)
    scts = signed_certificate_timestamps(cert)
    days = (cert.not_valid_after_utc - cert.not_valid_before_utc).total_seconds() / 86400
    return {
        "subject": cert.subject.rfc4514_string() or "(empty)",
        "subjectAltName": _names(san_entries(cert)),
        "issuer": cert.issuer.rfc4514_string(),
        "validity": f"{days:.0f} days, from {cert.not_valid_before_utc:%Y-%m-%d}",
        "public key": key_type_of(cert.public_key()),
        "signed with": oid_name(cert.signature_algorithm_oid),
        "key usage": ", ".join(name for field, name in KEY_USAGE_NAMES.items()
                               if key_usage is not None and getattr(key_usage, field)) or "(none)",
        "extended key usage": ", ".join(oid_name(oid) for oid in eku) if eku else "(none)",
        "CA": "(no basicConstraints)" if constraints is None else str(constraints.ca),
        "OCSP, CA issuers (AIA)": _names(tuple(d.access_location.value for d in access)) if access else "(none)",
        "CRL distribution points": _names(tuple(n.value for p in points for n in p.full_name or ()))
        if points else "(none)",
        "certificate policies": _names(tuple(p.policy_identifier.dotted_string for p in policies))
        if policies else "(none)",
        "SCTs (Certificate Transparency)": f"{len(scts)}, from {len({s.log_id for s in scts})} logs" if scts
        else "none",
    }


def certificate_table(certificates: Mapping[str, x509.Certificate], title: str = "") -> Table:
    """Certificates side by side, one row per field (names from the SAN, never from the subject)."""
    if not certificates:
        raise UsageError("give at least one certificate to show")
    columns = {label: _rows(cert) for label, cert in certificates.items()}
    fields = next(iter(columns.values()))
    return Table(["field", *columns], [[field, *(rows[field] for rows in columns.values())] for field in fields],
                 title, numbers_right=False)
