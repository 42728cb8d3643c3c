"""A root, an issuing CA, a server and a client of one key type: what several test files need."""

from __future__ import annotations

from dataclasses import dataclass

from mtlslib.pki import CertificateAuthority, IssuedCertificate


@dataclass(frozen=True)
class Hierarchy:
    key_type: str
    root: CertificateAuthority
    issuing: CertificateAuthority
    server: IssuedCertificate
    client: IssuedCertificate


def build_hierarchy(key_type: str, name: str, client_identity: str, *, organization: str | None = None) -> Hierarchy:
    """Made with the defaults (no seed): ``NAME Root CA`` -> ``NAME Issuing CA`` -> server for
    localhost and 127.0.0.1, and a client for ``client_identity``."""
    root = CertificateAuthority.create(f"{name} Root CA", key_type=key_type, organization=organization)
    issuing = root.create_intermediate(f"{name} Issuing CA")
    return Hierarchy(key_type, root, issuing, issuing.issue_server("localhost", "127.0.0.1"),
                     issuing.issue_client(client_identity))
