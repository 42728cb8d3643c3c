"""INSECURE on purpose: certificate checks with the bugs that broke real verifiers, and the
certificates that exploit them.

Each bug is reproduced in a few lines of plain Python, small enough to read in a notebook cell,
next to its correct counterpart:

* Apple's "goto fail" (CVE-2014-1266): :func:`check_signature_goto_fail`, correct :func:`check_signature`;
* GnuTLS's error code read as success (CVE-2014-0092): :func:`issuer_signed_gnutls`;
* a leaf certificate used as a CA (CVE-2002-0862, CVE-2015-1793):
  :func:`verify_chain_ignoring_basic_constraints`, correct :func:`verify_chain`;
* a NUL byte in a name (CVE-2009-2408, Python's CVE-2013-4238): :func:`hostname_matches_c_string`,
  correct :func:`hostname_matches`.

The broken and the correct versions repeat each other on purpose, line for line but for the one
missing check (``verify_chain`` and ``verify_chain_ignoring_basic_constraints``, say): a shared
helper would hide exactly the line a student is meant to find.

The attack certificates are real X.509 certificates (:class:`AttackCertificate`), built with
``cryptography``'s builders: :func:`forged_signature`, :func:`unverifiable_signature`,
:func:`leaf_as_ca` and :func:`nul_byte_name`. :meth:`AttackCertificate.real_verdicts` puts each one
in front of the real verifiers, OpenSSL (in a TLS handshake on 127.0.0.1) and ``cryptography``'s
path validator, for comparison with the broken check.

None of this verifies anything in the safe modules; it exists to be broken and fixed.
"""

from __future__ import annotations

import datetime as _dt
import enum
import re
from dataclasses import dataclass
from typing import Sequence

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, SignatureAlgorithmOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from mtlslib.display import Shown
from mtlslib.errors import ProfileError, UsageError
from mtlslib.pki import (
    VALIDITY_PRESETS,
    CertificateAuthority,
    IssuedCertificate,
    SeedStream,
    authority_key_identifier_for,
    extension,
    leaf_key_usage,
    load_pem_certificates,
    new_private_key,
    serial_number,
    sign,
)
from mtlslib.tls import handshake

__all__ = ["AttackCertificate", "check_signature", "check_signature_goto_fail", "dns_names", "forged_signature",
           "hostname_matches", "hostname_matches_c_string", "in_validity_period", "is_ca", "issuer_signed_gnutls",
           "leaf_as_ca", "MAX_CHAIN_LENGTH", "nul_byte_name", "RealVerdicts", "SignatureCheck",
           "unverifiable_signature", "verify_chain", "verify_chain_ignoring_basic_constraints"]

# Longer chains than this are refused: no real hierarchy needs more, and a loop must end.
MAX_CHAIN_LENGTH = 8


# --------------------------------------------------------------------------------------------
# The building blocks: each one correct


class SignatureCheck(enum.IntEnum):
    """C-style results of checking one link of a chain: 0 means success, anything else an error."""

    OK = 0
    WRONG_ISSUER_NAME = 1
    ALGORITHM_MISMATCH = 2
    BAD_SIGNATURE = 3


def _signing_key_type(cert: x509.Certificate):
    """The kind of public key that can verify ``cert``'s signature."""
    parameters = cert.signature_algorithm_parameters
    if isinstance(parameters, ec.ECDSA):
        return ec.EllipticCurvePublicKey
    if isinstance(parameters, (padding.PKCS1v15, padding.PSS)):
        return rsa.RSAPublicKey
    if cert.signature_algorithm_oid == SignatureAlgorithmOID.ED25519:
        return ed25519.Ed25519PublicKey
    return None


def issuer_name_step(cert: x509.Certificate, issuer: x509.Certificate) -> SignatureCheck:
    """Does ``cert`` name ``issuer`` as its issuer?"""
    return SignatureCheck.OK if cert.issuer == issuer.subject else SignatureCheck.WRONG_ISSUER_NAME


def algorithm_step(cert: x509.Certificate, issuer: x509.Certificate) -> SignatureCheck:
    """Is ``cert`` signed with an algorithm that ``issuer``'s key type can have made?"""
    key_type = _signing_key_type(cert)
    if key_type is not None and isinstance(issuer.public_key(), key_type):
        return SignatureCheck.OK
    return SignatureCheck.ALGORITHM_MISMATCH


def signature_step(cert: x509.Certificate, issuer: x509.Certificate) -> SignatureCheck:
    """Does ``issuer``'s public key verify the signature on ``cert``?"""
    try:
        cert.verify_directly_issued_by(issuer)
    except InvalidSignature:
        return SignatureCheck.BAD_SIGNATURE
    except (ValueError, TypeError):
        return SignatureCheck.ALGORITHM_MISMATCH
    return SignatureCheck.OK


def check_signature(cert: x509.Certificate, issuer: x509.Certificate) -> SignatureCheck:
    """``SignatureCheck.OK`` if ``issuer`` signed ``cert``, else the first step that failed."""
    if (err := issuer_name_step(cert, issuer)) != SignatureCheck.OK:
        return err
    if (err := algorithm_step(cert, issuer)) != SignatureCheck.OK:
        return err
    if (err := signature_step(cert, issuer)) != SignatureCheck.OK:
        return err
    return SignatureCheck.OK


def is_ca(cert: x509.Certificate) -> bool:
    """Whether ``cert`` may issue certificates: basicConstraints with CA:TRUE (a certificate
    without the extension is not a CA)."""
    constraints = extension(cert, x509.BasicConstraints)
    return constraints is not None and constraints.ca


def in_validity_period(cert: x509.Certificate, at: _dt.datetime | None = None) -> bool:
    at = at or _dt.datetime.now(_dt.timezone.utc)
    return cert.not_valid_before_utc <= at <= cert.not_valid_after_utc


def dns_names(cert: x509.Certificate) -> list[str]:
    """The DNS names in ``cert``'s subjectAltName, exactly as encoded (a NUL byte included)."""
    san = extension(cert, x509.SubjectAlternativeName)
    return san.get_values_for_type(x509.DNSName) if san is not None else []


def hostname_matches(san_name: str, hostname: str) -> bool:
    """Whether the certificate name ``san_name`` is ``hostname`` (no wildcards in this toy)."""
    if "\x00" in san_name:  # no DNS name contains a NUL byte: this name was made to deceive
        return False
    return san_name.lower() == hostname.lower()


def verify_chain(chain: Sequence[x509.Certificate], roots: Sequence[x509.Certificate],
                 at: _dt.datetime | None = None) -> bool:
    """Whether ``chain[0]`` (the leaf) leads to one of ``roots``: every certificate in date, each
    signed by the next, and every issuer a CA."""
    candidates = [*chain[1:], *roots]
    cert = chain[0]
    for _ in range(MAX_CHAIN_LENGTH):
        if not in_validity_period(cert, at):
            return False
        if cert in roots:
            return True
        issuer = next((c for c in candidates if check_signature(cert, c) == SignatureCheck.OK), None)
        if issuer is None or not is_ca(issuer):
            return False
        cert = issuer
    return False


# --------------------------------------------------------------------------------------------
# The bugs


def check_signature_goto_fail(cert: x509.Certificate, issuer: x509.Certificate) -> SignatureCheck:
    """Apple's SecureTransport in 2014 (CVE-2014-1266), in Python: one line too many."""
    if (err := issuer_name_step(cert, issuer)) != SignatureCheck.OK:
        return err
    if (err := algorithm_step(cert, issuer)) != SignatureCheck.OK:
        return err
    return err  # the copied line: it is not under the `if`, and err is OK here
    if (err := signature_step(cert, issuer)) != SignatureCheck.OK:
        return err
    return SignatureCheck.OK


GNUTLS_ERROR = -1
"""The negative error code of :func:`issuer_signed_gnutls` (GnuTLS's are negative numbers too)."""


def issuer_signed_gnutls(cert: x509.Certificate, issuer: x509.Certificate) -> int:
    """GnuTLS in 2014 (CVE-2014-0092), in Python: callers read the result as true/false,
    but the error path returns a negative error code, and -1 is true."""
    try:
        cert.verify_directly_issued_by(issuer)
    except InvalidSignature:
        return 0  # the signature is wrong: false
    except (ValueError, TypeError):
        return GNUTLS_ERROR  # the signature could not even be checked: an error code, not 0
    return 1


def verify_chain_ignoring_basic_constraints(chain: Sequence[x509.Certificate], roots: Sequence[x509.Certificate],
                                            at: _dt.datetime | None = None) -> bool:
    """Internet Explorer in 2002 (CVE-2002-0862), OpenSSL's alternative chains in 2015
    (CVE-2015-1793): every signature and date checked, but never whether an issuer is a CA."""
    candidates = [*chain[1:], *roots]
    cert = chain[0]
    for _ in range(MAX_CHAIN_LENGTH):
        if not in_validity_period(cert, at):
            return False
        if cert in roots:
            return True
        issuer = next((c for c in candidates if check_signature(cert, c) == SignatureCheck.OK), None)
        if issuer is None:
            return False
        cert = issuer
    return False


def hostname_matches_c_string(san_name: str, hostname: str) -> bool:
    """A matcher that reads names as C strings (CVE-2009-2408; Python's CVE-2013-4238)."""
    c_string = san_name.split("\x00", 1)[0]  # strcmp() and friends stop at the first NUL byte
    return c_string.lower() == hostname.lower()


# --------------------------------------------------------------------------------------------
# The certificates that exploit them


@dataclass(frozen=True)
class RealVerdicts(Shown):
    """What the real verifiers say about one certificate chain."""

    openssl: str
    """The client's view of a real TLS handshake (``ssl``, that is OpenSSL): its error, or "accepted"."""
    cryptography: str
    """``cryptography.x509.verification``'s server verifier: its error, or "accepted"."""

    @property
    def both_refuse(self) -> bool:
        return self.openssl != "accepted" and self.cryptography != "accepted"

    def __str__(self) -> str:
        return f"OpenSSL (ssl, a real handshake): {self.openssl}\ncryptography's verifier:        {self.cryptography}"


@dataclass(frozen=True)
class AttackCertificate:
    """A certificate made to fool one broken check, and the situation it is used in."""

    attack: str
    certificate: IssuedCertificate
    """What the attacker's server presents: the certificate, its chain and its key."""
    trust: CertificateAuthority
    """The CA the victim trusts."""
    hostname: str
    """The name the victim asks for."""

    @property
    def leaf(self) -> x509.Certificate:
        return self.certificate.certificate

    @property
    def chain(self) -> list[x509.Certificate]:
        """The presented certificates, leaf first."""
        return load_pem_certificates(self.certificate.chain_pem)

    @property
    def roots(self) -> list[x509.Certificate]:
        """The victim's trust store."""
        return [self.trust.root.certificate]

    def real_verdicts(self, at: _dt.datetime | None = None) -> RealVerdicts:
        """Run a real TLS handshake on 127.0.0.1 (the victim's OpenSSL checks the chain and the
        name), and ``cryptography``'s server verifier, on this certificate."""
        result = handshake(self.certificate, trust=self.trust, server_hostname=self.hostname)
        openssl = "accepted" if result.client_saw.error is None else result.client_saw.error
        verifier = (PolicyBuilder().store(Store(self.roots)).time(at or _dt.datetime.now(_dt.timezone.utc))
                    .build_server_verifier(x509.DNSName(self.hostname)))
        try:
            verifier.verify(self.leaf, self.chain[1:])
            verdict = "accepted"
        except VerificationError as error:
            verdict = _without_certificate_dump(str(error))
        return RealVerdicts(openssl, verdict)

    def __repr__(self) -> str:
        return f"<AttackCertificate {self.attack}: {self.leaf.subject.rfc4514_string()} for {self.hostname!r}>"


def _without_certificate_dump(message: str) -> str:
    # cryptography appends "(encountered processing <Certificate(...)>)", which repeats the subject
    return re.sub(r"\s*\(encountered processing <Certificate\(.*\)>\)$", "", message)


def _stream(seed, label: str) -> SeedStream | None:
    return SeedStream.from_user_seed(seed).child(label) if seed is not None else None


def _check_hostname(hostname: str) -> str:
    if not isinstance(hostname, str) or not re.fullmatch(r"[A-Za-z0-9.-]{1,253}", hostname):
        raise ProfileError(f"hostname must be a DNS name such as 'www.bank.test', not {hostname!r}")
    return hostname


def _attack_leaf(*, names: Sequence[str], common_name: str, issuer_name: x509.Name,
                 authority_key_identifier: x509.AuthorityKeyIdentifier, signing_key, stream, key_type: str
                 ) -> tuple[x509.Certificate, object]:
    """A server certificate, well-formed in every way but the one the attack needs (which the
    caller sets up through the issuer fields and the signing key)."""
    key = new_private_key(key_type, stream and stream.child("key"))
    not_before, not_after = VALIDITY_PRESETS["valid"]
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(issuer_name).public_key(key.public_key())
        .serial_number(serial_number(stream))
        .not_valid_before(not_before).not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(leaf_key_usage(key, server=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(authority_key_identifier, critical=False)
    )
    return sign(builder, signing_key, deterministic=stream is not None), key


def _impersonation(attack: str, ca: CertificateAuthority, hostname: str, signing_key, stream,
                   key_type: str) -> AttackCertificate:
    """A certificate for ``hostname`` that claims ``ca`` as its issuer, signed by ``signing_key``."""
    cert, key = _attack_leaf(names=[hostname], common_name=hostname, issuer_name=ca.certificate.subject,
                             authority_key_identifier=authority_key_identifier_for(ca.certificate),
                             signing_key=signing_key, stream=stream, key_type=key_type)
    return AttackCertificate(attack, IssuedCertificate(cert, key, chain=ca.chain_for_issued), ca, hostname)


def forged_signature(ca: CertificateAuthority, hostname: str, *, seed=None) -> AttackCertificate:
    """A certificate for ``hostname`` that claims ``ca`` signed it (its issuer name and authority
    key identifier are ``ca``'s), signed in fact by the attacker's own key of the same type.

    Only the signature check can tell: what "goto fail" skipped.
    """
    stream = _stream(seed, f"forged signature {_check_hostname(hostname)}")
    attacker_key = new_private_key(ca.key_type, stream and stream.child("attacker key"))
    return _impersonation("forged signature (goto fail)", ca, hostname, attacker_key, stream, ca.key_type)


def unverifiable_signature(ca: CertificateAuthority, hostname: str, *, seed=None) -> AttackCertificate:
    """Like :func:`forged_signature`, but signed with a key of another *type* than ``ca``'s (RSA
    under an ECDSA or Ed25519 CA, ECDSA under an RSA one): the signature cannot even be checked,
    which is the error path GnuTLS read as success.

    The attacker's signing key is fresh on every call even with a ``seed`` (nothing shown depends
    on it, and deriving an RSA key from a seed takes the better part of a second).
    """
    stream = _stream(seed, f"unverifiable signature {_check_hostname(hostname)}")
    other_type = "ecdsa-p256" if ca.key_type.startswith("rsa") else "rsa-2048"
    attacker_key = new_private_key(other_type, None)
    return _impersonation("unverifiable signature (GnuTLS)", ca, hostname, attacker_key, stream, ca.key_type)


def leaf_as_ca(leaf: IssuedCertificate, hostname: str, *, seed=None) -> AttackCertificate:
    """A certificate for ``hostname`` signed by ``leaf``: an ordinary server certificate (CA:FALSE)
    that the attacker legitimately owns, used as if it were a CA.

    The presented chain is the new certificate, then ``leaf`` and its own chain, so every signature
    up to the root is genuine.
    """
    if isinstance(leaf, CertificateAuthority) or (isinstance(leaf, IssuedCertificate) and is_ca(leaf.certificate)):
        raise UsageError(f"{leaf.certificate.subject.rfc4514_string()} is a CA: the attack needs a leaf "
                           "certificate, e.g. ca.issue_server('attacker.test')")
    if not isinstance(leaf, IssuedCertificate) or leaf.issuer is None:
        raise UsageError("leaf must be an IssuedCertificate made by an mtlslib CertificateAuthority "
                           "(ca.issue_server(...)), so that the victim's trust anchor is known")
    stream = _stream(seed, f"leaf as CA {_check_hostname(hostname)}")
    cert, key = _attack_leaf(names=[hostname], common_name=hostname, issuer_name=leaf.certificate.subject,
                             authority_key_identifier=authority_key_identifier_for(leaf.certificate),
                             signing_key=leaf.private_key, stream=stream, key_type=leaf.key_type)
    chain = load_pem_certificates(leaf.chain_pem)
    return AttackCertificate("leaf used as a CA", IssuedCertificate(cert, key, chain=chain),
                             leaf.issuer.root, hostname)


def nul_byte_name(ca: CertificateAuthority, hostname: str, attacker_domain: str, *,
                  seed=None) -> AttackCertificate:
    """A certificate genuinely issued by ``ca`` for the single DNS name
    ``"<hostname>\\0.<attacker_domain>"``.

    A CA that checks who controls the *registered* domain (the end of the name) finds the
    attacker; a matcher that stops at the NUL byte sees ``hostname``.
    """
    stream = _stream(seed, f"NUL byte {_check_hostname(hostname)} {_check_hostname(attacker_domain)}")
    cert, key = _attack_leaf(names=[f"{hostname}\x00.{attacker_domain}"], common_name=attacker_domain,
                             issuer_name=ca.certificate.subject,
                             authority_key_identifier=authority_key_identifier_for(ca.certificate),
                             signing_key=ca.private_key, stream=stream, key_type=ca.key_type)
    return AttackCertificate("NUL byte in a name", IssuedCertificate(cert, key, chain=ca.chain_for_issued),
                             ca, hostname)
