"""Real X.509 certificates for the course, made with ``cryptography``.

Three nouns, in the spirit of trustme:

* :class:`CertificateAuthority` -- a root or intermediate CA that issues certificates and CRLs;
* :class:`IssuedCertificate` -- a leaf certificate with its private key and chain;
* :func:`describe` -- a short human-readable summary of any certificate.

Everything lives in memory as PEM bytes; files are written only when asked (``write``).

Profiles are right by default: server certificates carry the serverAuth extended key usage only,
client certificates clientAuth only, key usage follows the key type, every certificate has a
subjectAltName, subject and authority key identifiers, and CAs a critical basicConstraints. Every
certificate made with the defaults passes OpenSSL's ``VERIFY_X509_STRICT`` checks.

With a ``seed``, keys, serial numbers, dates and signatures are derived from it, so the same code
makes byte-identical certificates on every run (fingerprints in notebooks stay stable). Without a
seed, keys and serials are fresh and random, as in real life.
"""

from __future__ import annotations

import datetime as _dt
import ssl
from functools import cached_property
from typing import Iterable, Sequence, Union

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mtlslib.display import shorten
from mtlslib.errors import CertificateLoadError, ProfileError

from .files import Password, load_pem_pair
from .issued import CertificateAndKey, IssuedCertificate
from .keys import Seed, SeedStream, check_key_type, new_private_key, serial_number, sign
from .names import (
    authority_key_identifier_for,
    ca_subject,
    extension,
    general_name,
    is_reserved,
    leaf_subject,
    reserved_names_constraints,
)

__all__ = ["VALIDITY_PRESETS", "CertificateAuthority", "Validity", "check_path_length", "leaf_key_usage",
           "validity_window"]

_UTC = _dt.timezone.utc

# Valid certificates span decades so that a class never meets an expired course certificate;
# the broken-on-purpose presets sit far in the past and far in the future for the same reason.
VALIDITY_PRESETS: dict[str, tuple[_dt.datetime, _dt.datetime]] = {
    "valid": (_dt.datetime(2025, 1, 1, tzinfo=_UTC), _dt.datetime(2075, 1, 1, tzinfo=_UTC)),
    "expired": (_dt.datetime(2000, 1, 1, tzinfo=_UTC), _dt.datetime(2001, 1, 1, tzinfo=_UTC)),
    "not-yet-valid": (_dt.datetime(2090, 1, 1, tzinfo=_UTC), _dt.datetime(2095, 1, 1, tzinfo=_UTC)),
}

# Seeded revocations and CRLs carry this date, so a seeded CRL is byte-identical on every run.
_SEEDED_REVOCATION_DATE = _dt.datetime(2025, 6, 1, tzinfo=_UTC)

_SEEDED_CRL_NEXT_UPDATE = VALIDITY_PRESETS["valid"][1]

Validity = Union[str, tuple[_dt.datetime, _dt.datetime]]


def check_path_length(path_length) -> None:
    if path_length is not None and (isinstance(path_length, bool) or not isinstance(path_length, int)
                                    or path_length < 0):
        raise ProfileError(
            f"path_length must be None (no limit) or a whole number >= 0 of intermediates allowed "
            f"below this CA, not {path_length!r}"
        )


def validity_window(validity: Validity) -> tuple[_dt.datetime, _dt.datetime]:
    if isinstance(validity, str):
        try:
            return VALIDITY_PRESETS[validity]
        except KeyError:
            raise ProfileError(
                f"unknown validity {validity!r}; use one of {', '.join(VALIDITY_PRESETS)} "
                "or a (not_before, not_after) pair of datetimes"
            ) from None
    try:
        not_before, not_after = validity
    except (TypeError, ValueError):
        raise ProfileError(f"validity must be a preset name or a (not_before, not_after) pair, "
                           f"not {validity!r}") from None
    if not (isinstance(not_before, _dt.datetime) and isinstance(not_after, _dt.datetime)):
        raise ProfileError("validity dates must be datetime objects")
    if not_before.tzinfo is None or not_after.tzinfo is None:
        raise ProfileError("validity dates must be timezone-aware (e.g. datetime(..., tzinfo=timezone.utc))")
    if not_after <= not_before:
        raise ProfileError(f"validity ends ({not_after}) before it starts ({not_before})")
    return not_before, not_after


def leaf_key_usage(key, server: bool) -> x509.KeyUsage:
    # keyEncipherment only makes sense for RSA key transport (TLS 1.2 RSA key exchange, server side).
    encipher = server and isinstance(key, rsa.RSAPrivateKey)
    return x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=encipher,
        data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
        encipher_only=False, decipher_only=False,
    )


_CA_KEY_USAGE = x509.KeyUsage(
    digital_signature=True, content_commitment=False, key_encipherment=False,
    data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
    encipher_only=False, decipher_only=False,
)


def _has_reserved_constraints(certificate: x509.Certificate) -> bool:
    try:
        return extension(certificate, x509.NameConstraints) == reserved_names_constraints()
    except ValueError:  # a CA broken on purpose (empty name constraints...): not one of ours
        return False


class CertificateAuthority(CertificateAndKey):
    """A certificate authority: a root (``create``) or an intermediate (``create_intermediate``).

    >>> ca = CertificateAuthority.create("Course Root CA", seed="demo")
    >>> server = ca.issue_server("localhost", "127.0.0.1")
    >>> client = ca.issue_client("alice@example.test")
    """

    def __init__(self, certificate: x509.Certificate, private_key, *, parent: "CertificateAuthority | None" = None,
                 seed_stream: SeedStream | None = None, chain: Iterable[x509.Certificate] = (),
                 reserved_names_only: bool | None = None):
        self.certificate = certificate
        self.private_key = private_key
        self.parent = parent
        self._stream = seed_stream
        self._is_root = parent is None and certificate.issuer == certificate.subject
        # The intermediates between this CA and the root, nearest first; a loaded intermediate has
        # no parent object, so it keeps the ones that followed it in its file.
        self.chain = parent.chain_for_issued if parent is not None else tuple(chain)
        # Known when this class made the certificate; read from it (once, when first needed) otherwise.
        self._reserved_only = reserved_names_only
        self._issued = 0
        self._revoked: list[x509.RevokedCertificate] = []

    # -- creation -------------------------------------------------------------------------

    @classmethod
    def create(cls, name: str, *, seed: Seed | None = None, key_type: str = "ecdsa-p256",
               validity: Validity = "valid", path_length: int | None = None,
               organization: str | None = None, reserved_names_only: bool | None = None) -> "CertificateAuthority":
        """A new self-signed root CA called ``name``.

        ``seed`` makes everything it issues reproducible; ``path_length`` limits how many
        intermediates may follow (``None``: no limit).

        A seed makes the keys public: anyone who knows it rebuilds this CA's private key. So a seeded
        CA is confined to reserved names (``reserved_names_only`` defaults to ``seed is not None``): it
        carries critical name constraints that allow only ``.test``, ``.example``, ``.invalid``,
        ``.localhost``, ``example.com/.net/.org`` DNS names and email addresses and loopback
        addresses, so verifiers refuse anything it might sign for a real internet name, and it refuses
        to issue such names itself.
        """
        reserved_names_only = seed is not None if reserved_names_only is None else reserved_names_only
        subject = ca_subject(name, organization)
        window = validity_window(validity)
        check_path_length(path_length)
        stream = SeedStream.from_user_seed(seed).child(f"root {name}") if seed is not None else None
        key = new_private_key(key_type, stream and stream.child("key"))
        public_key = key.public_key()
        key_identifier = x509.SubjectKeyIdentifier.from_public_key(public_key)
        cert = cls._ca_certificate(subject, public_key, key_identifier, subject, key,
                                   x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(key_identifier),
                                   window, path_length, stream,
                                   reserved_names_constraints() if reserved_names_only else None)
        return cls._with_key_identifier(cls(cert, key, seed_stream=stream, reserved_names_only=reserved_names_only),
                                        key_identifier)

    def create_intermediate(self, name: str, *, key_type: str | None = None, validity: Validity = "valid",
                            path_length: int | None = 0, organization: str | None = None) -> "CertificateAuthority":
        """A CA certified by this one (default path length 0: it may only issue leaves)."""
        # Every check comes before _next_stream: a refused request must not shift what a seeded
        # CA issues next.
        subject = ca_subject(name, organization if organization is not None else self._organization)
        window = validity_window(validity)
        check_path_length(path_length)
        key_type = check_key_type(key_type or self.key_type)
        stream = self._next_stream(f"intermediate {name}")
        key = new_private_key(key_type, stream and stream.child("key"))
        public_key = key.public_key()
        key_identifier = x509.SubjectKeyIdentifier.from_public_key(public_key)
        cert = self._ca_certificate(subject, public_key, key_identifier, self.certificate.subject,
                                    self.private_key, self.authority_key_identifier, window, path_length, stream)
        return self._with_key_identifier(CertificateAuthority(cert, key, parent=self, seed_stream=stream,
                                                              reserved_names_only=self.reserved_names_only),
                                         key_identifier)

    @staticmethod
    def _with_key_identifier(ca: "CertificateAuthority", key_identifier) -> "CertificateAuthority":
        # Known already: spares parsing the new certificate's extensions back to find it.
        ca.authority_key_identifier = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(key_identifier)
        return ca

    @staticmethod
    def _ca_certificate(subject, public_key, key_identifier, issuer_name, issuer_key, authority_key_identifier,
                        window, path_length, stream, name_constraints=None) -> x509.Certificate:
        not_before, not_after = window
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject).issuer_name(issuer_name).public_key(public_key)
            .serial_number(serial_number(stream))
            .not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
            .add_extension(_CA_KEY_USAGE, critical=True)
            .add_extension(key_identifier, critical=False)
            .add_extension(authority_key_identifier, critical=False)
        )
        if name_constraints is not None:  # RFC 5280: name constraints are always critical
            builder = builder.add_extension(name_constraints, critical=True)
        return sign(builder, issuer_key, deterministic=stream is not None)

    @property
    def reserved_names_only(self) -> bool:
        """Whether this CA, or one above it, is confined to reserved names (see :meth:`create`)."""
        if self._reserved_only is None:
            self._reserved_only = ((self.parent is not None and self.parent.reserved_names_only)
                                   or _has_reserved_constraints(self.certificate))
        return self._reserved_only

    # -- issuing ---------------------------------------------------------------------------

    def issue_server(self, *hostnames_or_ips: str, key_type: str | None = None, validity: Validity = "valid",
                     client_auth: bool = False, common_name: str | None = None) -> "IssuedCertificate":
        """A server certificate for the given DNS names and/or IP addresses (extended key usage
        serverAuth; ``client_auth=True`` makes it dual-use)."""
        if not hostnames_or_ips:
            raise ProfileError("issue_server needs at least one hostname or IP address, e.g. issue_server('localhost')")
        usages = [ExtendedKeyUsageOID.SERVER_AUTH] + ([ExtendedKeyUsageOID.CLIENT_AUTH] if client_auth else [])
        return self._issue_leaf(hostnames_or_ips, usages, key_type, validity, common_name, server=True)

    def issue_client(self, identity: str, *more_identities: str, key_type: str | None = None,
                     validity: Validity = "valid", server_auth: bool = False,
                     common_name: str | None = None) -> "IssuedCertificate":
        """A client certificate for ``identity`` (a DNS name, email address, URI such as a SPIFFE ID,
        or IP address), extended key usage clientAuth (``server_auth=True`` makes it dual-use)."""
        usages = [ExtendedKeyUsageOID.CLIENT_AUTH] + ([ExtendedKeyUsageOID.SERVER_AUTH] if server_auth else [])
        return self._issue_leaf((identity, *more_identities), usages, key_type, validity, common_name, server=False)

    def _issue_leaf(self, identities: Sequence[str], usages, key_type, validity, common_name, server: bool):
        # Every check comes before _next_stream: a refused request must not shift what a seeded
        # CA issues next.
        names = [general_name(i) for i in identities]
        outside = [i for i, n in zip(identities, names) if self.reserved_names_only and not is_reserved(n)]
        if outside:
            raise ProfileError(
                f"{self.name} is confined to reserved names (its seed makes its key public), so it will not "
                f"vouch for {shorten(outside[0], 60)}: use a name under .test or .example (or loopback addresses), "
                "or make a CA without a seed")
        key_type = check_key_type(key_type or self.key_type)
        not_before, not_after = validity_window(validity)
        subject = leaf_subject(common_name or None, identities[0], self._organization)
        stream = self._next_stream(("server " if server else "client ") + " ".join(identities))
        key = new_private_key(key_type, stream and stream.child("key"))
        public_key = key.public_key()
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject).issuer_name(self.certificate.subject).public_key(public_key)
            .serial_number(serial_number(stream))
            .not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(leaf_key_usage(key, server), critical=True)
            .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
            # An empty subject makes the SAN the only name, and RFC 5280 then wants it critical.
            .add_extension(x509.SubjectAlternativeName(names), critical=len(subject) == 0)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(self.authority_key_identifier, critical=False)
        )
        cert = sign(builder, self.private_key, deterministic=stream is not None)
        return IssuedCertificate(cert, key, chain=self.chain_for_issued, issuer=self)

    @property
    def chain_for_issued(self) -> tuple[x509.Certificate, ...]:
        """What a certificate issued by this CA sends after itself: this CA and the
        intermediates above it, never the root (the verifier already has it)."""
        return () if self._is_root else (self.certificate, *self.chain)

    @cached_property
    def authority_key_identifier(self) -> x509.AuthorityKeyIdentifier:
        """The authorityKeyIdentifier of what this CA signs
        (:func:`~mtlslib.pki.names.authority_key_identifier_for`)."""
        return authority_key_identifier_for(self.certificate)

    def _next_stream(self, label: str) -> SeedStream | None:
        # Numbered so that issuing the same name twice gives two different certificates.
        self._issued += 1
        return self._stream.child(f"{self._issued} {label}") if self._stream is not None else None

    @cached_property
    def _organization(self) -> str | None:
        values = self.certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
        return values[0].value if values else None

    # -- trust and revocation --------------------------------------------------------------

    @property
    def root(self) -> "CertificateAuthority":
        """The self-signed root at the top of this CA's hierarchy."""
        return self if self.parent is None else self.parent.root

    @property
    def name(self) -> str:
        return self.certificate.subject.rfc4514_string()

    def configure_trust(self, ctx: ssl.SSLContext) -> None:
        """Make ``ctx`` trust this CA as an anchor (see :mod:`mtlslib.pki.trust`: an intermediate is
        trusted as itself, so ``ctx`` also gets OpenSSL's partial-chain flag)."""
        ctx.load_verify_locations(cadata=self.cert_pem.decode())
        if not self._is_root:
            ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN

    def revoke(self, certificate: "IssuedCertificate | x509.Certificate",
               reason: x509.ReasonFlags | None = None) -> None:
        """Put ``certificate`` (one this CA issued) on this CA's CRL; revoking it again changes nothing."""
        cert = certificate.certificate if isinstance(certificate, IssuedCertificate) else certificate
        # The signature, not just the issuer name: two CAs may well share a name.
        try:
            cert.verify_directly_issued_by(self.certificate)
        except (ValueError, TypeError, InvalidSignature):
            raise ProfileError(
                f"{cert.subject.rfc4514_string() or '(empty subject)'} (issuer {cert.issuer.rfc4514_string()}) "
                f"was not signed by this CA ({self.name}); revoke it with the CA that issued it"
            ) from None
        if cert.serial_number in self.revoked_serials:
            return
        date = _SEEDED_REVOCATION_DATE if self._stream is not None else _dt.datetime.now(_UTC).replace(microsecond=0)
        entry = x509.RevokedCertificateBuilder().serial_number(cert.serial_number).revocation_date(date)
        if reason is not None:
            entry = entry.add_extension(x509.CRLReason(reason), critical=False)
        self._revoked.append(entry.build())

    @property
    def revoked_serials(self) -> tuple[int, ...]:
        return tuple(r.serial_number for r in self._revoked)

    @property
    def crl(self) -> x509.CertificateRevocationList:
        """A CRL listing every certificate revoked so far (empty if none), signed by this CA."""
        if self._stream is not None:
            last_update, next_update = _SEEDED_REVOCATION_DATE, _SEEDED_CRL_NEXT_UPDATE
        else:
            last_update = _dt.datetime.now(_UTC).replace(microsecond=0) - _dt.timedelta(minutes=1)
            next_update = last_update + _dt.timedelta(days=7)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.certificate.subject)
            .last_update(last_update).next_update(next_update)
            .add_extension(x509.CRLNumber(len(self._revoked) + 1), critical=False)
            .add_extension(self.authority_key_identifier, critical=False)
        )
        for entry in self._revoked:
            builder = builder.add_revoked_certificate(entry)
        return sign(builder, self.private_key, deterministic=self._stream is not None)

    @property
    def crl_pem(self) -> bytes:
        return self.crl.public_bytes(serialization.Encoding.PEM)

    def _default_stem(self) -> str:
        return "root-ca" if self._is_root else "issuing-ca"

    @classmethod
    def load(cls, cert_file, key_file, *, password: Password = None) -> "CertificateAuthority":
        """A CA from its PEM certificate and key files, e.g. to issue more certificates from a CA
        written earlier.

        An intermediate keeps the certificates that follow it in ``cert_file`` (as :meth:`write`
        leaves them) and hands them on to what it issues; its root is not known, so trust the
        root separately rather than through :meth:`configure_trust`.
        """
        cert, key, chain = load_pem_pair(cert_file, key_file, password)
        constraints = extension(cert, x509.BasicConstraints)
        if constraints is None or not constraints.ca:
            raise CertificateLoadError(f"{cert_file}: this certificate is not a CA (basicConstraints CA:TRUE missing)")
        return cls(cert, key, chain=chain)
