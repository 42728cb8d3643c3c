"""The checks on the certificates of a path: chain, signatures, validity, CA, critical extensions,
key usage, extended key usage and revocation.

Each function takes the :class:`~.certificate.Question` and the path (leaf first) and returns the
rows of the table it is responsible for, in order. The name checks are in :mod:`.names`, the
strength checks in :mod:`.strength`, the web PKI's form checks in :mod:`.form`.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID

from mtlslib.pki import KEY_USAGE_NAMES, oid_name

from .certificate import (
    KEY_CLASSES,
    Cert,
    Question,
    inner_signature_algorithm,
    outer_signature_algorithm,
    signature_family,
    signature_name,
)
from .model import FAIL, IGNORED, NOT_APPLICABLE, NOTE, PASS, UNDECIDED, Check, format_time
from .paths import Path

__all__ = ["ca_checks", "chain_check", "critical_checks", "eku_checks", "key_usage_checks", "revocation_checks",
           "signature_checks", "signature_problem", "validity_check"]

_KNOWN_CRITICAL = {  # what OpenSSL 3 understands when critical (X509_supported_extension)
    ExtensionOID.KEY_USAGE, ExtensionOID.SUBJECT_ALTERNATIVE_NAME, ExtensionOID.BASIC_CONSTRAINTS,
    ExtensionOID.CERTIFICATE_POLICIES, ExtensionOID.EXTENDED_KEY_USAGE, ExtensionOID.POLICY_CONSTRAINTS,
    ExtensionOID.NAME_CONSTRAINTS, ExtensionOID.POLICY_MAPPINGS, ExtensionOID.INHIBIT_ANY_POLICY,
    ExtensionOID.CRL_DISTRIBUTION_POINTS,
    x509.ObjectIdentifier("2.16.840.1.113730.1.1"),  # Netscape certificate type
    x509.ObjectIdentifier("1.3.6.1.5.5.7.1.14"),  # proxyCertInfo
    x509.ObjectIdentifier("1.3.6.1.5.5.7.1.7"), x509.ObjectIdentifier("1.3.6.1.5.5.7.1.8"),  # RFC 3779
}
_WEBPKI_KNOWN_CRITICAL = {
    ExtensionOID.KEY_USAGE, ExtensionOID.SUBJECT_ALTERNATIVE_NAME, ExtensionOID.BASIC_CONSTRAINTS,
    ExtensionOID.CERTIFICATE_POLICIES, ExtensionOID.EXTENDED_KEY_USAGE, ExtensionOID.POLICY_CONSTRAINTS,
    ExtensionOID.NAME_CONSTRAINTS, ExtensionOID.POLICY_MAPPINGS, ExtensionOID.INHIBIT_ANY_POLICY,
}
# Extensions OpenSSL itself decodes during verification: if one is damaged, its verdict depends on
# its own parser, which may accept what cryptography's refuses.
_OPENSSL_USES = {
    ExtensionOID.KEY_USAGE, ExtensionOID.SUBJECT_ALTERNATIVE_NAME, ExtensionOID.BASIC_CONSTRAINTS,
    ExtensionOID.EXTENDED_KEY_USAGE, ExtensionOID.NAME_CONSTRAINTS, ExtensionOID.AUTHORITY_KEY_IDENTIFIER,
    ExtensionOID.SUBJECT_KEY_IDENTIFIER, ExtensionOID.POLICY_CONSTRAINTS, ExtensionOID.CERTIFICATE_POLICIES,
    ExtensionOID.CRL_DISTRIBUTION_POINTS,
}
_SERVER_GATED_CRYPTO = (x509.ObjectIdentifier("2.16.840.1.113730.4.1"), x509.ObjectIdentifier("1.3.6.1.4.1.311.10.3.3"))
_EKU_NAMES = {ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth", ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth",
              ExtendedKeyUsageOID.CODE_SIGNING: "codeSigning", ExtendedKeyUsageOID.EMAIL_PROTECTION: "emailProtection",
              ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE: "anyExtendedKeyUsage",
              ExtendedKeyUsageOID.OCSP_SIGNING: "OCSPSigning", ExtendedKeyUsageOID.TIME_STAMPING: "timeStamping"}
_TWICE = "the extension appears twice"


# -- 1. chain -------------------------------------------------------------------------------


def chain_check(path: Path) -> Check:
    labels = " <- ".join(c.label for c in path.certs)
    if path.complete:
        anchor = path.certs[-1]
        how = "a trusted self-signed root" if anchor.self_signed else "a trusted certificate (partial chain)"
        return Check("chain", "path", PASS, f"{labels}: ends at {how}")
    return Check("chain", "path", UNDECIDED if path.undecided else FAIL, f"{labels}: {path.problem}", path.openssl)


# -- 2. signatures --------------------------------------------------------------------------


def signature_problem(child: x509.Certificate, issuer_key) -> tuple[str, str] | None:
    """None if ``issuer_key`` signed ``child``; else ``("bad", why)`` for a signature that does not
    verify, or ``("unsupported", what)`` for an algorithm the explainer does not implement."""
    family = signature_family(child)
    data, signature = child.tbs_certificate_bytes, child.signature
    if family is None:
        return "unsupported", f"signature algorithm {signature_name(child)}"
    if not isinstance(issuer_key, KEY_CLASSES[family]):
        return "bad", f"a {family} signature cannot come from a {type(issuer_key).__name__}"
    try:
        algorithm = child.signature_hash_algorithm
    except UnsupportedAlgorithm as error:
        return "unsupported", str(error)
    try:
        if family == "rsa":
            parameters = child.signature_algorithm_parameters
            pad = parameters if isinstance(parameters, padding.PSS) else padding.PKCS1v15()
            issuer_key.verify(signature, data, pad, algorithm)
        elif family == "ecdsa":
            issuer_key.verify(signature, data, ec.ECDSA(algorithm))
        elif family == "dsa":
            issuer_key.verify(signature, data, algorithm)
        else:
            issuer_key.verify(signature, data)
    except InvalidSignature:
        return "bad", "the signature does not verify"
    return None


def signature_checks(question: Question, certs: list[Cert]) -> list[Check]:
    checks = []
    for child, issuer in zip(certs, certs[1:]):
        where = question.where(child)
        inner, outer = inner_signature_algorithm(child.cert), outer_signature_algorithm(child.cert)
        if inner is not None and outer is not None and inner != outer:
            checks.append(Check("signature", where, FAIL, "the signature algorithm inside the signed part differs "
                                "from the one outside it", "certificate signature failure"))
            continue
        key = issuer.public_key()
        if key is None:
            checks.append(Check("signature", where, FAIL if question.webpki else UNDECIDED,
                                f"the key of '{issuer.label}' cannot be used (explicit curve parameters or an "
                                "unknown key type)", "unable to decode issuer public key"))
            continue
        problem = signature_problem(child.cert, key)
        if problem is None:
            checks.append(Check("signature", where, PASS,
                                f"{signature_name(child.cert)} signature by '{issuer.label}' verifies"))
        elif problem[0] == "bad":
            checks.append(Check("signature", where, FAIL, f"not signed by the key of '{issuer.label}', although "
                                "it names it as issuer", "certificate signature failure"))
        else:
            checks.append(Check("signature", where, UNDECIDED,
                                f"the explainer cannot check this signature ({problem[1]})"))
    anchor = certs[-1]
    if anchor.trusted:
        checks.append(Check("signature", question.where(anchor), PASS,
                            "trusted because it is in the trust store, not because of its own signature"))
    return checks


# -- 3. validity ------------------------------------------------------------------------------


def validity_check(question: Question, cert: Cert) -> Check:
    not_before, not_after = cert.cert.not_valid_before_utc, cert.cert.not_valid_after_utc
    where = question.where(cert)
    if question.at < not_before:
        return Check("validity", where, FAIL, f"not valid before {format_time(not_before)}",
                     "certificate is not yet valid")
    if not question.time_ok(cert):
        return Check("validity", where, FAIL, f"expired {format_time(not_after)}", "certificate has expired")
    return Check("validity", where, PASS, f"{format_time(not_before)} to {format_time(not_after)}")


# -- 4. CA and path length ---------------------------------------------------------------


def _ca_check(question: Question, certs: list[Cert], position: int) -> Check:
    cert = certs[position]
    where = question.where(cert)
    constraints = cert.basic_constraints
    usage = cert.key_usage
    if constraints is None:
        if not question.webpki and cert.self_signed and cert.cert.version == x509.Version.v1:
            return Check("CA", where, PASS, "a version 1 self-signed root: accepted as a CA")
        if not question.webpki and usage is not None and usage.key_cert_sign:
            return Check("CA", where, PASS, "no basicConstraints, but keyUsage allows keyCertSign "
                         "(OpenSSL accepts that as a CA)")
        return Check("CA", where, FAIL, "no basicConstraints: nothing says this certificate may act as a CA",
                     "invalid CA certificate")
    if not constraints.ca:
        return Check("CA", where, FAIL, "basicConstraints CA:FALSE: an end-entity certificate used to sign "
                     "another certificate", "invalid CA certificate")
    if question.webpki and not cert.critical(ExtensionOID.BASIC_CONSTRAINTS):
        return Check("CA", where, FAIL, "basicConstraints must be critical in a CA certificate",
                     "invalid CA certificate")
    intermediates_below = sum(1 for c in certs[1:position] if not c.self_issued)
    limit = constraints.path_length
    if limit is not None and intermediates_below > limit:
        return Check("CA", where, FAIL, f"CA:TRUE, path length {limit}: it allows {limit} CA(s) between itself "
                     f"and the leaf, this path has {intermediates_below}", "path length constraint exceeded")
    limit_text = ("no path length limit" if limit is None else
                  f"path length {limit}, {intermediates_below} CA(s) between it and the leaf")
    return Check("CA", where, PASS, f"CA:TRUE, {limit_text}")


def ca_checks(question: Question, certs: list[Cert]) -> list[Check]:
    checks = [_ca_check(question, certs, position) for position in range(1, len(certs))]
    if question.webpki and question.leaf.is_ca and len(certs) > 1:
        checks.append(Check("CA", question.where(question.leaf), FAIL, "the leaf is a CA certificate (CA:TRUE); "
                            "the web PKI forbids using one as an end entity"))
    return checks


# -- 5. critical extensions -----------------------------------------------------------------


def critical_checks(question: Question, certs: list[Cert]) -> list[Check]:
    known = _WEBPKI_KNOWN_CRITICAL if question.webpki else _KNOWN_CRITICAL
    checks = []
    for cert in certs:
        for oid, critical, why in cert.broken:
            checks.append(_broken_extension_check(question, cert, oid, critical, why))
        unknown = [e.oid for e in cert.extensions if e.critical and e.oid not in known]
        if unknown:
            names = ", ".join(oid_name(o) for o in unknown)
            checks.append(Check("extensions", question.where(cert), FAIL,
                                f"critical extension the verifier does not understand: {names}",
                                "unhandled critical extension"))
    if not checks:
        count = sum(1 for c in certs for e in c.extensions if e.critical)
        checks.append(Check("extensions", "all", PASS, f"every critical extension ({count}) is one a verifier "
                            "must understand, and does"))
    return checks


def _broken_extension_check(question: Question, cert: Cert, oid, critical: bool, why: str) -> Check:
    name = oid_name(oid)
    where = question.where(cert)
    if why == _TWICE:
        return Check("extensions", where, FAIL, f"{name} appears twice: a certificate may carry each extension "
                     "once", "unable to get local issuer certificate" if cert is question.leaf or not cert.trusted
                     else None)
    if question.webpki:
        return Check("extensions", where, FAIL, f"{name} cannot be parsed ({why})")
    if oid in _OPENSSL_USES:
        return Check("extensions", where, UNDECIDED, f"{name} cannot be parsed by cryptography ({why}); whether "
                     "OpenSSL's own parser accepts it, the explainer cannot tell")
    if critical:
        return Check("extensions", where, FAIL, f"{name} is critical and cannot be parsed ({why})",
                     "unhandled critical extension")
    return Check("extensions", where, NOTE, f"{name} cannot be parsed ({why}); it is not critical and OpenSSL "
                 "does not use it, so OpenSSL ignores it (the web PKI refuses it)")


# -- 7. key usage --------------------------------------------------------------------------


def _camel(attribute: str) -> str:
    first, *rest = attribute.split("_")
    return first + "".join(word.capitalize() for word in rest)


def _usage_text(usage: x509.KeyUsage) -> str:
    bits = [KEY_USAGE_NAMES.get(attribute, _camel(attribute))
            for attribute in ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
                              "key_agreement", "key_cert_sign", "crl_sign") if getattr(usage, attribute)]
    return "keyUsage " + (", ".join(bits) or "(empty)")


def key_usage_checks(question: Question, certs: list[Cert]) -> list[Check]:
    checks = []
    for position, cert in enumerate(certs):
        usage = cert.key_usage
        where = question.where(cert)
        if usage is None:
            continue
        if position == 0:
            allowed = ["digital_signature", "key_agreement"] + (["key_encipherment"] if question.purpose == "server"
                                                                 else [])
            if not any(getattr(usage, a) for a in allowed):
                checks.append(Check("key usage", where, FAIL, "keyUsage allows none of "
                                    f"{', '.join(_camel(a) for a in allowed)}: the key may not be used for TLS",
                                    "unsuitable certificate purpose"))
            elif question.webpki and usage.key_cert_sign and not cert.is_ca:
                checks.append(Check("key usage", where, FAIL, "keyCertSign in a certificate that is not a CA"))
            else:
                checks.append(Check("key usage", where, PASS, _usage_text(usage)))
        elif not usage.key_cert_sign:
            checks.append(Check("key usage", where, FAIL, "keyUsage lacks keyCertSign: this key may not sign "
                                "certificates", "invalid CA certificate"))
        else:
            checks.append(Check("key usage", where, PASS, _usage_text(usage)))
    return checks


# -- 8. extended key usage ------------------------------------------------------------------


def _eku_check(question: Question, certs: list[Cert], position: int) -> Check | None:
    wanted = ExtendedKeyUsageOID.SERVER_AUTH if question.purpose == "server" else ExtendedKeyUsageOID.CLIENT_AUTH
    wanted_name = _EKU_NAMES[wanted]
    accepted = (wanted, *_SERVER_GATED_CRYPTO) if question.purpose == "server" and not question.webpki else (wanted,)
    cert = certs[position]
    eku, where, webpki = cert.eku, question.where(cert), question.webpki
    if eku is None:
        if position != 0:
            return None
        if webpki and question.purpose == "server":
            return Check("purpose", where, FAIL, f"no extended key usage; the web PKI requires {wanted_name}")
        return Check("purpose", where, NOTE if not webpki else PASS, "no extended key usage: any purpose "
                     "(RFC 5280); the CA/Browser Forum rules want one")
    usages = list(eku)
    names = ", ".join(_EKU_NAMES.get(o, o.dotted_string) for o in usages)
    if webpki and position == len(certs) - 1 and cert.trusted and position > 0:
        return Check("purpose", where, FAIL, f"a root carries extended key usage ({names}); the web PKI forbids it")
    if webpki and position == 0 and ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in usages:
        return Check("purpose", where, FAIL, "anyExtendedKeyUsage in a leaf; the web PKI forbids it")
    if webpki and position == 0 and cert.critical(ExtensionOID.EXTENDED_KEY_USAGE):
        return Check("purpose", where, FAIL, "extended key usage marked critical; the web PKI forbids it")
    if any(o in usages for o in accepted):
        return Check("purpose", where, PASS, f"extended key usage {names} includes {wanted_name}")
    kind = "certificate" if position == 0 else "CA, which restricts what it signs"
    return Check("purpose", where, FAIL, f"extended key usage {names} ({kind}) lacks {wanted_name}",
                 "unsuitable certificate purpose")


def eku_checks(question: Question, certs: list[Cert]) -> list[Check]:
    return [check for position in range(len(certs)) if (check := _eku_check(question, certs, position))]


# -- 10. revocation ----------------------------------------------------------------------


def _crl_signed_by(crl: x509.CertificateRevocationList, issuer: Cert) -> bool:
    key = issuer.public_key()
    if key is None:
        return False
    try:
        return crl.is_signature_valid(key)
    except (TypeError, ValueError, UnsupportedAlgorithm):
        return False


def _revoked_entry(crl: x509.CertificateRevocationList, cert: Cert) -> x509.RevokedCertificate | None:
    serial = cert.cert.serial_number
    if serial < 0:  # RFC 5280 forbids it, OpenSSL compares it all the same; cryptography's lookup refuses it
        return next((entry for entry in crl if entry.serial_number == serial), None)
    return crl.get_revoked_certificate_by_serial_number(serial)


def _issuer_in_path(cert: Cert, certs: list[Cert]) -> Cert | None:
    index = certs.index(cert)
    return certs[index + 1] if index + 1 < len(certs) else None


def _crl_entry(question: Question, cert: Cert, certs: list[Cert]):
    issuer = _issuer_in_path(cert, certs)
    for crl in question.crls:
        if crl.issuer == cert.issuer and (issuer is None or _crl_signed_by(crl, issuer)):
            entry = _revoked_entry(crl, cert)
            if entry is not None:
                return entry
    return None


def revocation_checks(question: Question, certs: list[Cert]) -> list[Check]:
    mode = question.settings.crl_check
    if mode == "auto":
        mode = "leaf" if question.crls else None
    if mode is None:
        revoked_here = [c for c in certs[:1] if _crl_entry(question, c, certs)]
        if revoked_here:
            return [Check("revocation", question.where(revoked_here[0]), IGNORED,
                          f"serial {revoked_here[0].cert.serial_number:x} is on a CRL, but CRL checking is off "
                          "(no VERIFY_CRL_CHECK_LEAF)", "certificate revoked")]
        return [Check("revocation", "leaf", NOT_APPLICABLE,
                      "not checked: no CRL checking configured" + (" (a CRL is loaded but unused)" if question.crls
                                                                  else ""))]
    scope = certs[:1] if mode == "leaf" else [c for c in certs if not (c.trusted and c.self_signed)]
    return [_revocation_check(question, cert, certs) for cert in scope]


def _revocation_check(question: Question, cert: Cert, certs: list[Cert]) -> Check:
    where = question.where(cert)
    issuer = _issuer_in_path(cert, certs)
    if issuer is None:
        return Check("revocation", where, FAIL, "its issuer is unknown, so no CRL can be checked",
                     "unable to get certificate CRL")
    candidates = [crl for crl in question.crls if crl.issuer == cert.issuer]
    signed = [crl for crl in candidates if _crl_signed_by(crl, issuer)]
    if not signed:
        if candidates:
            return Check("revocation", where, FAIL, f"the CRL naming '{issuer.label}' is not signed by its key",
                         "CRL signature failure")
        return Check("revocation", where, FAIL, f"no CRL from '{issuer.label}' was given; revocation cannot be "
                     "checked, and the flag demands it", "unable to get certificate CRL")
    crl = signed[0]
    for extension in crl.extensions:
        if extension.oid in (ExtensionOID.ISSUING_DISTRIBUTION_POINT, ExtensionOID.DELTA_CRL_INDICATOR):
            return Check("revocation", where, UNDECIDED, f"the CRL has a {oid_name(extension.oid)} extension: "
                         "partitioned and delta CRLs are not implemented")
        if extension.critical and extension.oid != ExtensionOID.AUTHORITY_KEY_IDENTIFIER:
            return Check("revocation", where, FAIL,
                         f"the CRL has an unknown critical extension {extension.oid.dotted_string}",
                         "unhandled critical CRL extension")
    usage = issuer.key_usage
    if usage is not None and not usage.crl_sign:
        return Check("revocation", where, FAIL, f"'{issuer.label}' signed the CRL, but its keyUsage lacks cRLSign",
                     "key usage does not include CRL signing")
    if question.webpki:
        number = [e for e in crl.extensions if e.oid == ExtensionOID.CRL_NUMBER]
        if not number:
            return Check("revocation", where, FAIL, "the CRL has no CRL number (RFC 5280 requires one)")
        if number[0].critical:
            return Check("revocation", where, FAIL, "the CRL number extension must not be critical")
    last, following = crl.last_update_utc, crl.next_update_utc
    if question.at < last:
        return Check("revocation", where, FAIL, f"the CRL is not valid before {format_time(last)}",
                     "CRL is not yet valid")
    if following is not None and question.at > following:
        return Check("revocation", where, FAIL, f"the CRL expired {format_time(following)}", "CRL has expired")
    entry = _revoked_entry(crl, cert)
    if entry is not None:
        return Check("revocation", where, FAIL, f"serial {cert.cert.serial_number:x} is on the CRL of "
                     f"'{issuer.label}', revoked {format_time(entry.revocation_date_utc)}", "certificate revoked")
    return Check("revocation", where, PASS, f"not on the CRL of '{issuer.label}' ({len(crl)} revoked)")
