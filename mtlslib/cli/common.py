"""What the commands share: exit statuses, the course PKI's names, the seed warning."""

from __future__ import annotations

import sys
from typing import NamedTuple, Sequence

from mtlslib.display import shorten
from mtlslib.pki import CertificateAuthority, IssuedCertificate

__all__ = ["DEFAULT_CLIENT_NAMES", "DEFAULT_P12_PASSWORD", "DEFAULT_SERVER_NAMES", "EXIT_BAD_INPUT", "EXIT_BROKEN_PIPE",
           "EXIT_INTERRUPTED", "HANDSHAKE_SEED", "ISSUING_CA_NAME", "ROOT_CA_NAME", "CoursePki", "build_pki",
           "warn_about_seed"]

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130  # the shell's convention for "stopped by SIGINT"
EXIT_BROKEN_PIPE = 141  # and for "the reader of my output went away" (SIGPIPE)

ROOT_CA_NAME = "Course Root CA"
ISSUING_CA_NAME = "Course Issuing CA"
DEFAULT_SERVER_NAMES = ("localhost", "127.0.0.1")
DEFAULT_CLIENT_NAMES = ("alice@example.test",)
# Browsers and the macOS keychain refuse to import a PKCS#12 file without a password, so the
# default is a password, and a well-known one: these files are for a course, not for secrets.
DEFAULT_P12_PASSWORD = "mtlslib"
# The handshake command is a demonstration: a fixed seed shows the same certificates every run.
HANDSHAKE_SEED = "mtlslib handshake"


def warn_about_seed(seed: str | None) -> None:
    if seed is not None:
        print(f"warning: --seed {shorten(seed, 40)!r} derives every private key from the seed, so the keys are public: "
              "these certificates are for the course only and must never be trusted anywhere else (the CA only "
              "vouches for reserved names such as .test and .example)", file=sys.stderr)


class CoursePki(NamedTuple):
    root: CertificateAuthority
    issuing: CertificateAuthority
    server: IssuedCertificate
    clients: list[IssuedCertificate]


def build_pki(seed: str | None, key_type: str, server_names: Sequence[str],
               client_names: Sequence[str]) -> CoursePki:
    """A root CA, one issuing CA under it, one server certificate for all ``server_names`` and one
    client certificate per client name: the shape of a small real deployment."""
    root = CertificateAuthority.create(ROOT_CA_NAME, seed=seed, key_type=key_type)
    issuing = root.create_intermediate(ISSUING_CA_NAME)
    return CoursePki(root, issuing, issuing.issue_server(*server_names),
                      [issuing.issue_client(name) for name in client_names])
