"""Certificates broken on purpose, for the chapter on breaking verification. INSECURE BY DESIGN.

Everything here is built with ``cryptography``'s builders directly, never through the safe
profiles of :mod:`mtlslib.pki` (whose defaults refuse to make most of these); names, validity
windows, signing and the DER reader come from pki's public helpers. Each function makes
one classic mistake, and its docstring says which check a correct verifier fails it on:

* a leaf that signs itself, or one with a common name and no subjectAltName;
* a "CA" that is not one (``CA:FALSE``, or no basicConstraints at all), and one that breaks the
  path length its parent allows;
* a CA whose name constraints the leaf violates, a leaf with an unknown critical extension;
* a leaf signed by the wrong key, an RSA-1024 key, a SHA-1 signature;
* a client certificate with no extended key usage, and a certificate paired with a key that is
  not its own.

Keys, serial numbers and ECDSA signatures (RFC 6979) are derived from a label, so every
certificate here is byte-identical from one run to the next. Nothing in the safe modules imports
this one.
"""

from __future__ import annotations

import hashlib
import ipaddress
from typing import Iterable, Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID

from mtlslib.errors import ProfileError
from mtlslib.pki import (
    CertificateAuthority,
    IssuedCertificate,
    ca_subject,
    encode,
    general_name,
    leaf_subject,
    read_tlvs,
    sign,
    validity_window,
)

__all__ = ["build_certificate", "common_name_only", "derived_key", "empty_name_constraints_ca", "issue_leaf",
           "name_constrained_ca", "not_a_ca", "paired_with_wrong_key", "PRIVATE_CRITICAL_EXTENSION",
           "self_signed_leaf", "sha1_signed", "signed_by_wrong_key", "sub_ca", "weak_rsa",
           "with_unknown_critical_extension", "without_extended_key_usage", "without_subject"]

# An OID under a private enterprise arc: no verifier anywhere knows what it means.
PRIVATE_CRITICAL_EXTENSION = x509.ObjectIdentifier("1.3.6.1.4.1.55738.666.1")

_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_PURPOSES = {"server": ExtendedKeyUsageOID.SERVER_AUTH, "client": ExtendedKeyUsageOID.CLIENT_AUTH}


def _digest(label: str) -> bytes:
    return hashlib.sha256(b"mtlslib insecure certificates\x00" + label.encode()).digest()


def derived_key(label: str) -> ec.EllipticCurvePrivateKey:
    """An ECDSA P-256 key derived from ``label``: the same label gives the same key every run."""
    scalar = int.from_bytes(_digest("key " + label) + _digest("key2 " + label), "big") % (_P256_ORDER - 1) + 1
    return ec.derive_private_key(scalar, ec.SECP256R1())


def _serial(label: str) -> int:
    return int.from_bytes(_digest("serial " + label)[:19], "big") | (1 << 150)


def _san_entry(identity: str) -> x509.GeneralName:
    """A subjectAltName entry: pki's :func:`~mtlslib.pki.general_name` for every name it accepts."""
    try:
        return general_name(identity)
    except ProfileError:
        return _permissive_general_name(identity)


def _permissive_general_name(identity: str) -> x509.GeneralName:
    # Deliberately permissive, and used only for the names pki.general_name refuses (a double
    # wildcard, a space or a control character in a name...): a broken certificate must be able to
    # carry exactly the name a verifier is to be tested on, taken as it is.
    try:
        return x509.IPAddress(ipaddress.ip_address(identity))
    except ValueError:
        pass
    if "@" in identity:
        return x509.RFC822Name(identity)
    if "://" in identity:
        return x509.UniformResourceIdentifier(identity)
    return x509.DNSName(identity)


def build_certificate(subject: x509.Name, public_key, signing_key, *, issuer: x509.Name | None = None,
                      extensions: Iterable[tuple[x509.ExtensionType, bool]] = (), validity="valid",
                      label: str, issuer_public_key=None) -> x509.Certificate:
    """One certificate exactly as described, with no profile applied: ``extensions`` is a list of
    ``(extension, critical)`` pairs, taken as they are. ``issuer`` defaults to ``subject``
    (self-issued). The key identifiers come from ``public_key`` and ``issuer_public_key``
    (default: the signing key's) unless ``extensions`` brings its own."""
    not_before, not_after = validity_window(validity)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer if issuer is not None else subject)
               .public_key(public_key).serial_number(_serial(label))
               .not_valid_before(not_before).not_valid_after(not_after))
    given = set()
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
        given.add(type(extension))
    if x509.SubjectKeyIdentifier not in given:
        builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    if x509.AuthorityKeyIdentifier not in given:
        authority = issuer_public_key if issuer_public_key is not None else signing_key.public_key()
        builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(authority), critical=False)
    return sign(builder, signing_key, deterministic=True)


def _leaf_extensions(names: Sequence[str], purposes: Sequence[str] | None, *, san: bool = True):
    extensions = [
        (x509.BasicConstraints(ca=False, path_length=None), True),
        (x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                       data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                       encipher_only=False, decipher_only=False), True),
    ]
    if purposes:
        extensions.append((x509.ExtendedKeyUsage([_PURPOSES[p] for p in purposes]), False))
    if san:
        extensions.append((x509.SubjectAlternativeName([_san_entry(n) for n in names]), False))
    return extensions


def _ca_extensions(path_length: int | None, *, basic_constraints: bool | None = True):
    """``basic_constraints``: True for CA:TRUE, False for CA:FALSE, None for no extension at all."""
    extensions = []
    if basic_constraints is not None:
        extensions.append((x509.BasicConstraints(ca=basic_constraints,
                                                 path_length=path_length if basic_constraints else None), True))
        extensions.append((x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         key_cert_sign=bool(basic_constraints), crl_sign=bool(basic_constraints),
                                         encipher_only=False, decipher_only=False), True))
    return extensions


def issue_leaf(issuer: CertificateAuthority, *names: str, purposes: Sequence[str] | None = ("server",),
               common_name: str | None = None, san: bool = True, validity="valid",
               extra_extensions: Iterable[tuple[x509.ExtensionType, bool]] = (),
               key=None, label: str | None = None) -> IssuedCertificate:
    """A leaf signed by ``issuer``'s key, whatever ``issuer`` is (even a "CA" that is not one).

    ``purposes``: extended key usages ("server", "client"; ``None`` leaves the extension out).
    ``san=False`` leaves out the subjectAltName, so only the common name names the holder.
    """
    if not names:
        raise ProfileError("issue_leaf needs at least one name, e.g. issue_leaf(ca, 'localhost')")
    label = label or f"leaf {' '.join(names)} by {issuer.certificate.subject.rfc4514_string()}"
    key = key if key is not None else derived_key(label)
    extensions = [*_leaf_extensions(names, purposes, san=san), *extra_extensions]
    cert = build_certificate(leaf_subject(common_name, names[0], None), key.public_key(), issuer.private_key,
                             issuer=issuer.certificate.subject,
                             extensions=extensions, validity=validity, label=label)
    return IssuedCertificate(cert, key, chain=issuer.chain_for_issued)


# --------------------------------------------------------------------------------------------
# Leaves


def self_signed_leaf(*names: str, purposes: Sequence[str] = ("server",)) -> IssuedCertificate:
    """A leaf that signs itself: nobody vouches for it. Fails chain building
    ("self-signed certificate") unless the verifier trusts this very certificate."""
    label = "self-signed " + " ".join(names)
    key = derived_key(label)
    cert = build_certificate(leaf_subject(None, names[0], None), key.public_key(), key,
                             extensions=_leaf_extensions(names, purposes), label=label)
    return IssuedCertificate(cert, key)


def common_name_only(issuer: CertificateAuthority, common_name: str, *,
                     purposes: Sequence[str] = ("server",)) -> IssuedCertificate:
    """A leaf whose only name is its subject common name, with no subjectAltName: the way
    certificates looked before 2000. Browsers and ``cryptography`` refuse it; OpenSSL falls back
    to the common name unless told not to (``hostname_checks_common_name = False``)."""
    return issue_leaf(issuer, common_name, purposes=purposes, san=False, label=f"cn-only {common_name}")


def without_subject(issuer: CertificateAuthority, *names: str) -> IssuedCertificate:
    """A leaf with an empty subject and its names in a critical subjectAltName only: unusual but
    valid (RFC 5280 4.2.1.6), like badssl.com's "no-subject"."""
    label = "no-subject " + " ".join(names)
    key = derived_key(label)
    extensions = [*_leaf_extensions(names, ("server",), san=False),
                  (x509.SubjectAlternativeName([_san_entry(n) for n in names]), True)]
    cert = build_certificate(x509.Name([]), key.public_key(), issuer.private_key, issuer=issuer.certificate.subject,
                             extensions=extensions, label=label)
    return IssuedCertificate(cert, key, chain=issuer.chain_for_issued)


def without_extended_key_usage(issuer: CertificateAuthority, identity: str) -> IssuedCertificate:
    """A leaf with no extended key usage at all: RFC 5280 reads that as "any purpose", so OpenSSL
    accepts it for a client or a server; the CA/Browser Forum rules (and limbo) want one."""
    return issue_leaf(issuer, identity, purposes=None, label=f"no-eku {identity}")


def with_unknown_critical_extension(issuer: CertificateAuthority, *names: str) -> IssuedCertificate:
    """A leaf carrying a critical extension no verifier knows. RFC 5280: a verifier that does not
    understand a critical extension must reject the certificate ("unhandled critical extension")."""
    extension = (x509.UnrecognizedExtension(PRIVATE_CRITICAL_EXTENSION, b"\x05\x00"), True)  # DER NULL
    return issue_leaf(issuer, *names, extra_extensions=[extension], label="critical " + " ".join(names))


def signed_by_wrong_key(issuer: CertificateAuthority, *names: str) -> IssuedCertificate:
    """A leaf that names ``issuer`` as its issuer (name and key identifier) but was signed by some
    other key: chain building finds the issuer, the signature check fails
    ("certificate signature failure")."""
    label = "forged " + " ".join(names)
    key = derived_key(label)
    forger = derived_key("forger " + label)
    cert = build_certificate(leaf_subject(None, names[0], None), key.public_key(), forger,
                             issuer=issuer.certificate.subject,
                             extensions=_leaf_extensions(names, ("server",)), label=label,
                             issuer_public_key=issuer.certificate.public_key())
    return IssuedCertificate(cert, key, chain=issuer.chain_for_issued)


def weak_rsa(issuer: CertificateAuthority, *names: str, bits: int = 1024) -> IssuedCertificate:
    """A leaf with a ``bits``-bit RSA key (1024: factorable by a well-funded attacker). OpenSSL at
    its default security level refuses to even load it ("ee key too small"); a verifier at
    security level 2 refuses it ("EE certificate key too weak")."""
    # cryptography cannot seed RSA generation; a fresh key changes nothing the chapter prints.
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return issue_leaf(issuer, *names, key=key, label=f"rsa-{bits} " + " ".join(names))


def paired_with_wrong_key(certificate: IssuedCertificate) -> IssuedCertificate:
    """``certificate`` with a private key that is not its own: ``load_cert_chain`` refuses the
    pair ("key values mismatch") before any handshake."""
    label = "wrong key for " + certificate.certificate.subject.rfc4514_string()
    return IssuedCertificate(certificate.certificate, derived_key(label), chain=certificate.chain)


# --------------------------------------------------------------------------------------------
# SHA-1: cryptography refuses to sign with it, so the signature is made by hand


_ECDSA_WITH_SHA1 = bytes.fromhex("300906072a8648ce3d0401")  # AlgorithmIdentifier { ecdsa-with-SHA1 }


def sha1_signed(issuer: CertificateAuthority, *names: str) -> IssuedCertificate:
    """A leaf whose signature uses SHA-1 (ECDSA with SHA-1), broken for certificates since the
    SHAttered collision (2017). OpenSSL at security level 2 refuses it ("ca md too weak" when
    loading it, "CA signature digest algorithm too weak" when verifying it).

    ``issuer`` must have an ECDSA key. The certificate is built with SHA-256, then its
    signature algorithm is rewritten to ecdsa-with-SHA1 and the to-be-signed part signed again.
    """
    if not isinstance(issuer.private_key, ec.EllipticCurvePrivateKey):
        raise ProfileError("sha1_signed needs an issuer with an ECDSA key (key_type='ecdsa-p256')")
    template = issue_leaf(issuer, *names, label="sha1 " + " ".join(names))
    (tbs,) = read_tlvs(template.certificate.tbs_certificate_bytes)
    fields = [field.encoding for field in read_tlvs(tbs.content)]
    # TBSCertificate: [0] version, serialNumber, signature (the AlgorithmIdentifier), ...
    fields[2] = _ECDSA_WITH_SHA1
    new_tbs = encode(0x30, b"".join(fields))
    signature = issuer.private_key.sign(new_tbs, ec.ECDSA(hashes.SHA1(), deterministic_signing=True))
    der = encode(0x30, new_tbs + _ECDSA_WITH_SHA1 + encode(0x03, b"\x00" + signature))
    return IssuedCertificate(x509.load_der_x509_certificate(der), template.private_key, chain=template.chain)


# --------------------------------------------------------------------------------------------
# Issuers that are not what they claim


def _wrap_ca(cert: x509.Certificate, key, parent: CertificateAuthority) -> CertificateAuthority:
    return CertificateAuthority(cert, key, parent=parent)


def not_a_ca(parent: CertificateAuthority, name: str, *, basic_constraints: bool = True) -> CertificateAuthority:
    """A certificate used as an issuer although it is not a CA: ``CA:FALSE`` (a leaf acting as a
    CA, the bug behind CVE-2002-0862 and CVE-2015-1793), or with ``basic_constraints=False`` no
    basicConstraints extension at all. Verifiers refuse what it signs ("invalid CA certificate").

    Returned as a :class:`~mtlslib.pki.CertificateAuthority` so that :func:`issue_leaf` can sign
    with it, which is exactly the mistake.
    """
    label = f"not-a-ca {name} {basic_constraints}"
    key = derived_key(label)
    extensions = _ca_extensions(None, basic_constraints=False if basic_constraints else None)
    cert = build_certificate(ca_subject(name, None), key.public_key(), parent.private_key,
                             issuer=parent.certificate.subject,
                             extensions=extensions, label=label)
    return _wrap_ca(cert, key, parent)


def sub_ca(parent: CertificateAuthority, name: str, *, path_length: int | None = None) -> CertificateAuthority:
    """A CA under ``parent`` whatever ``parent`` allows: under an intermediate with path length 0
    it breaks the limit ("path length constraint exceeded")."""
    label = f"sub-ca {name} under {parent.certificate.subject.rfc4514_string()}"
    key = derived_key(label)
    cert = build_certificate(ca_subject(name, None), key.public_key(), parent.private_key,
                             issuer=parent.certificate.subject,
                             extensions=_ca_extensions(path_length), label=label)
    return _wrap_ca(cert, key, parent)


def name_constrained_ca(parent: CertificateAuthority, name: str, *, permitted: Sequence[str] = (),
                        excluded: Sequence[str] = ()) -> CertificateAuthority:
    """An intermediate CA allowed to certify only names under ``permitted`` and none under
    ``excluded`` (DNS names or IP networks such as ``10.0.0.0/8``), in a critical nameConstraints
    extension. The CA itself is sound; what it signs outside its subtree is refused
    ("permitted subtree violation")."""
    def subtree(text: str) -> x509.GeneralName:
        if "/" in text:
            return x509.IPAddress(ipaddress.ip_network(text))
        return x509.DNSName(text)

    label = f"constrained {name} {permitted} {excluded}"
    key = derived_key(label)
    constraints = x509.NameConstraints(permitted_subtrees=[subtree(p) for p in permitted] or None,
                                       excluded_subtrees=[subtree(e) for e in excluded] or None)
    cert = build_certificate(ca_subject(name, None), key.public_key(), parent.private_key,
                             issuer=parent.certificate.subject,
                             extensions=[*_ca_extensions(0), (constraints, True)], label=label)
    return _wrap_ca(cert, key, parent)


def empty_name_constraints_ca(parent: CertificateAuthority, name: str) -> CertificateAuthority:
    """A CA whose critical nameConstraints extension is an empty SEQUENCE: neither permitted nor
    excluded subtrees. OpenSSL reads it as "no constraint"; cryptography refuses to parse it; the
    CA/Browser Forum rules forbid it. A case where verifiers part ways on the encoding itself."""
    label = f"empty-nc {name}"
    key = derived_key(label)
    empty = (x509.UnrecognizedExtension(ExtensionOID.NAME_CONSTRAINTS, b"\x30\x00"), True)  # SEQUENCE {}
    cert = build_certificate(ca_subject(name, None), key.public_key(), parent.private_key,
                             issuer=parent.certificate.subject,
                             extensions=[*_ca_extensions(0), empty], label=label)
    return _wrap_ca(cert, key, parent)
