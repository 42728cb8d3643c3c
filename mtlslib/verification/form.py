"""The web PKI's form rules: how a certificate must be written (RFC 5280 and the CA/Browser Forum).

Only the ``"webpki"`` profile runs these: serial numbers, key identifiers, which extensions must
(not) be critical, and the shape of the leaf's subjectAltName. A trust anchor is checked only for
what verifiers read from it (its key identifiers).
"""

from __future__ import annotations

import re
import warnings

from cryptography import x509
from cryptography.x509.oid import ExtensionOID

from .certificate import Cert, Question
from .model import FAIL, PASS, Check
from .names import DNS_NAME

__all__ = ["form_checks"]

_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)*")


def form_checks(question: Question, certs: list[Cert]) -> list[Check]:
    checks = []
    for position, cert in enumerate(certs):
        problem = _form_problem(question, cert, position, certs)
        if problem:
            checks.append(Check("form", question.where(cert), FAIL, problem))
    if not checks:
        checks.append(Check("form", "all", PASS, "serial numbers, key identifiers and extensions are as "
                            "RFC 5280 and the CA/Browser Forum require"))
    return checks


def _key_identifier_problem(cert: Cert, position: int, is_anchor: bool) -> str | None:
    aki = cert.aki
    if cert.critical(ExtensionOID.AUTHORITY_KEY_IDENTIFIER):
        return "authorityKeyIdentifier must not be critical"
    if cert.critical(ExtensionOID.SUBJECT_KEY_IDENTIFIER):
        return "subjectKeyIdentifier must not be critical"
    if not is_anchor and not cert.self_issued and (aki is None or aki.key_identifier is None):
        return "no authorityKeyIdentifier: every certificate but a root needs one"
    if is_anchor and cert.self_issued and aki is not None:
        if aki.key_identifier is None or aki.authority_cert_issuer or aki.authority_cert_serial_number is not None:
            return "a root's authorityKeyIdentifier must hold only a key identifier"
        if cert.ski is not None and aki.key_identifier != cert.ski:
            return "the root's authorityKeyIdentifier differs from its subjectKeyIdentifier"
    if position > 0 and cert.ski is None:
        return "a CA without subjectKeyIdentifier"
    return None


def _form_problem(question: Question, cert: Cert, position: int, certs: list[Cert]) -> str | None:
    """The first way ``cert`` breaks the RFC 5280 / CA/Browser Forum profile, if any."""
    c = cert.cert
    is_anchor = cert.trusted and position == len(certs) - 1
    problem = _key_identifier_problem(cert, position, is_anchor)
    if problem or is_anchor:
        return problem
    if c.version != x509.Version.v3:
        return "a version 1 certificate: no extensions, so nothing says what it may do"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cryptography warns about non-positive serials: a finding here
        serial = c.serial_number
    if serial <= 0:
        return f"serial number {serial}: must be positive"
    if serial.bit_length() > 159:
        return "serial number longer than 20 bytes"
    if c.issuer == x509.Name([]) or (position > 0 and not len(c.subject)):
        return "an empty issuer or CA subject"
    policy_constraints = cert.extension(ExtensionOID.POLICY_CONSTRAINTS)
    if policy_constraints is not None and not cert.critical(ExtensionOID.POLICY_CONSTRAINTS):
        return "policyConstraints must be critical"
    aia = [e for e in cert.extensions if e.oid == ExtensionOID.AUTHORITY_INFORMATION_ACCESS]
    if aia and aia[0].critical:
        return "authorityInformationAccess must not be critical"
    if position == 0:
        return _leaf_form_problem(question, cert)
    return None


def _leaf_form_problem(question: Question, cert: Cert) -> str | None:
    c, san = cert.cert, cert.san
    if san is None:
        return "no subjectAltName: the web PKI finds names only there" if question.purpose == "server" else None
    critical = cert.critical(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    if len(c.subject) and critical:
        return "subjectAltName is critical although the subject is not empty"
    if not len(c.subject) and not critical:
        return "the subject is empty, so subjectAltName must be critical"
    for general in san:
        if isinstance(general, x509.DNSName):
            bare = general.value[2:] if general.value.startswith("*.") else general.value
            if not DNS_NAME.fullmatch(bare.lower()):
                return f"subjectAltName DNS:{general.value} is not a valid DNS name"
        if isinstance(general, x509.RFC822Name) and not _EMAIL.fullmatch(general.value):
            return f"subjectAltName email:{general.value} is not a valid address"
    return None
