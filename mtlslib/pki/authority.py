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
import warnings
from functools import cached_property
from pathlib import Path
from typing import Iterable, Sequence, Union

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mtlslib.errors import CertificateLoadError, ProfileError

from .describe import describe
from .files import (
    PARSE_ERRORS,
    Password,
    TemporaryPemFiles,
    certificate_pem,
    check_key_matches,
    load_pem_certificates,
    load_pem_private_key,
    password_bytes,
    private_key_pem,
    read_file,
    slug,
    write_file,
    write_private_file,
)
from .keys import (
    Seed,
    SeedStream,
    check_key_type,
    key_type_of,
    new_private_key,
    serial_number,
    sign,
)
from .names import (
    ca_subject,
    extension,
    fingerprint,
    general_name,
    leaf_subject,
    san_entries,
)

__all__ = ["VALIDITY_PRESETS", "CertificateAuthority", "IssuedCertificate", "Validity", "check_path_length",
           "leaf_key_usage", "load_pkcs12", "validity_window"]

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
        raise ProfileError(f"validity must be a preset name or a (not_before, not_after) pair, not {validity!r}") from None
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


class _HasCertificateAndKey:
    certificate: x509.Certificate
    private_key: object
    chain: tuple[x509.Certificate, ...]  # the intermediates above this certificate, nearest first; never the root

    @property
    def cert_pem(self) -> bytes:
        """This certificate alone, PEM."""
        return certificate_pem(self.certificate)

    @property
    def key_pem(self) -> bytes:
        """The private key, unencrypted PKCS#8 PEM. Treat it as a secret."""
        return private_key_pem(self.private_key)

    @property
    def chain_pem(self) -> bytes:
        """This certificate followed by its intermediates (never the root), PEM."""
        return b"".join(certificate_pem(c) for c in (self.certificate, *self.chain))

    @property
    def key_type(self) -> str:
        return key_type_of(self.private_key)

    @property
    def fingerprint(self) -> str:
        """SHA-256 fingerprint, colon-separated hex (as browsers and ``openssl x509 -fingerprint`` show)."""
        return fingerprint(self.certificate)

    @property
    def identities(self) -> tuple[str, ...]:
        """The subjectAltName entries, e.g. ``("DNS:localhost", "IP:127.0.0.1")``."""
        return san_entries(self.certificate)

    def describe(self) -> str:
        return describe(self.certificate)

    def write(self, directory, stem: str | None = None) -> tuple[Path, Path]:
        """Write ``STEM.pem`` (the chain) and ``STEM.key`` (mode 0600) into ``directory``.

        Returns the two paths. The directory is created if needed.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        stem = stem or slug(self._default_stem())
        cert_path = directory / f"{stem}.pem"
        write_file(cert_path, self.chain_pem)
        return cert_path, write_private_file(directory / f"{stem}.key", self.key_pem)

    def configure_cert(self, ctx: ssl.SSLContext) -> None:
        """Make ``ctx`` present this certificate, its chain and key."""
        with TemporaryPemFiles(cert=self.chain_pem, key=self.key_pem) as files:
            ctx.load_cert_chain(files["cert"], files["key"])

    def _default_stem(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.certificate.subject.rfc4514_string()} ({self.key_type})>"


class CertificateAuthority(_HasCertificateAndKey):
    """A certificate authority: a root (``create``) or an intermediate (``create_intermediate``).

    >>> ca = CertificateAuthority.create("Course Root CA", seed="demo")
    >>> server = ca.issue_server("localhost", "127.0.0.1")
    >>> client = ca.issue_client("alice@example.test")
    """

    def __init__(self, certificate: x509.Certificate, private_key, *, parent: "CertificateAuthority | None" = None,
                 seed_stream: SeedStream | None = None, chain: Iterable[x509.Certificate] = ()):
        self.certificate = certificate
        self.private_key = private_key
        self.parent = parent
        self._stream = seed_stream
        self._is_root = parent is None and certificate.issuer == certificate.subject
        # The intermediates between this CA and the root, nearest first; a loaded intermediate has
        # no parent object, so it keeps the ones that followed it in its file.
        self.chain = parent._chain_for_children if parent is not None else tuple(chain)
        self._issued = 0
        self._revoked: list[x509.RevokedCertificate] = []

    # -- creation -------------------------------------------------------------------------

    @classmethod
    def create(cls, name: str, *, seed: Seed | None = None, key_type: str = "ecdsa-p256",
               validity: Validity = "valid", path_length: int | None = None,
               organization: str | None = None) -> "CertificateAuthority":
        """A new self-signed root CA called ``name``.

        ``seed`` makes everything it issues reproducible; ``path_length`` limits how many
        intermediates may follow (``None``: no limit).
        """
        subject = ca_subject(name, organization)
        window = validity_window(validity)
        check_path_length(path_length)
        stream = SeedStream.from_user_seed(seed).child(f"root {name}") if seed is not None else None
        key = new_private_key(key_type, stream and stream.child("key"))
        public_key = key.public_key()
        key_identifier = x509.SubjectKeyIdentifier.from_public_key(public_key)
        cert = cls._ca_certificate(subject, public_key, key_identifier, subject, key,
                                   x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(key_identifier),
                                   window, path_length, stream)
        return cls._with_key_identifier(cls(cert, key, seed_stream=stream), key_identifier)

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
                                    self.private_key, self._authority_key_identifier, window, path_length, stream)
        return self._with_key_identifier(CertificateAuthority(cert, key, parent=self, seed_stream=stream),
                                         key_identifier)

    @staticmethod
    def _with_key_identifier(ca: "CertificateAuthority", key_identifier) -> "CertificateAuthority":
        # Known already: spares parsing the new certificate's extensions back to find it.
        ca._authority_key_identifier = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(key_identifier)
        return ca

    @staticmethod
    def _ca_certificate(subject, public_key, key_identifier, issuer_name, issuer_key, authority_key_identifier,
                        window, path_length, stream) -> x509.Certificate:
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
        return sign(builder, issuer_key, deterministic=stream is not None)

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
            .add_extension(self._authority_key_identifier, critical=False)
        )
        cert = sign(builder, self.private_key, deterministic=stream is not None)
        return IssuedCertificate(cert, key, chain=self._chain_for_children, issuer=self)

    @property
    def _chain_for_children(self) -> tuple[x509.Certificate, ...]:
        """What a certificate issued by this CA must send after itself: this CA and the
        intermediates above it, never the root (the verifier already has it)."""
        return () if self._is_root else (self.certificate, *self.chain)

    @cached_property
    def _authority_key_identifier(self) -> x509.AuthorityKeyIdentifier:
        # Verifiers match a child's AKI against this CA's SKI, so copy it rather than recompute it
        # (a CA loaded from another tool may derive its SKI differently).
        ski = extension(self.certificate, x509.SubjectKeyIdentifier)
        if ski is not None:
            return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(self.private_key.public_key())

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
            .add_extension(self._authority_key_identifier, critical=False)
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
        cert, key, chain = _load_pair(cert_file, key_file, password)
        constraints = extension(cert, x509.BasicConstraints)
        if constraints is None or not constraints.ca:
            raise CertificateLoadError(f"{cert_file}: this certificate is not a CA (basicConstraints CA:TRUE missing)")
        return cls(cert, key, chain=chain)


class IssuedCertificate(_HasCertificateAndKey):
    """A leaf certificate with its private key and the intermediates needed to verify it."""

    def __init__(self, certificate: x509.Certificate, private_key, *, chain: Iterable[x509.Certificate] = (),
                 issuer: CertificateAuthority | None = None):
        self.certificate = certificate
        self.private_key = private_key
        self.chain = tuple(chain)
        self.issuer = issuer

    def _default_stem(self) -> str:
        return slug(san_entries(self.certificate)[0].split(":", 1)[1]) if san_entries(self.certificate) else "leaf"

    def to_pkcs12(self, password: Password = None, friendly_name: str | None = None) -> bytes:
        """The key, certificate and intermediates as PKCS#12 (``.p12``) for curl and browsers."""
        password = password_bytes(password)
        encryption = (serialization.BestAvailableEncryption(password) if password
                      else serialization.NoEncryption())
        name = (friendly_name or self._default_stem()).encode()
        return pkcs12.serialize_key_and_certificates(name, self.private_key, self.certificate,
                                                     list(self.chain) or None, encryption)

    def write_pkcs12(self, path, password: Password = None) -> Path:
        """Write :meth:`to_pkcs12` to ``path`` (mode 0600: it holds the private key)."""
        return write_private_file(Path(path), self.to_pkcs12(password))

    @classmethod
    def load(cls, cert_file, key_file, *, password: Password = None) -> "IssuedCertificate":
        """A certificate (with any intermediates after it) and its key from PEM files.

        Refuses a key that does not belong to the certificate.
        """
        cert, key, chain = _load_pair(cert_file, key_file, password)
        return cls(cert, key, chain=chain)


def _load_pair(cert_file, key_file, password):
    certs = load_pem_certificates(read_file(cert_file), str(cert_file))
    key = load_pem_private_key(read_file(key_file), str(key_file), password)
    check_key_matches(certs[0], key, str(cert_file), str(key_file))
    return certs[0], key, certs[1:]


def load_pkcs12(path, password: Password = None) -> IssuedCertificate:
    """An :class:`IssuedCertificate` from a PKCS#12 file; clear errors for a wrong password."""
    data = read_file(path)
    password = password_bytes(password)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            bundle = pkcs12.load_pkcs12(data, password)
    except PARSE_ERRORS:
        raise CertificateLoadError(
            f"{path}: cannot open this PKCS#12 file: wrong password, or not a PKCS#12 file"
        ) from None
    if bundle.key is None or bundle.cert is None:
        raise CertificateLoadError(f"{path}: this PKCS#12 file holds no key and certificate pair")
    cert = bundle.cert.certificate
    check_key_matches(cert, bundle.key, str(path), str(path))
    return IssuedCertificate(cert, bundle.key, chain=[c.certificate for c in bundle.additional_certs])
