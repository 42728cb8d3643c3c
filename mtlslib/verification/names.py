"""Names: does the leaf carry the expected name, and does every name below a CA obey its name constraints?

* :func:`name_checks`: the host name or IP address a client expects of a server (subjectAltName;
  OpenSSL's common-name fallback is a note), or the identity a server's application expects of a
  client (any subjectAltName entry, compared exactly);
* :func:`name_constraint_checks`: RFC 5280's nameConstraints, for DNS names, IP addresses, email
  addresses, URIs and directory names, applied to the leaf and every CA below the constraining one.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import replace

from cryptography import x509
from cryptography.x509.oid import ExtensionOID, NameOID

from mtlslib.pki import is_ip_address

from .certificate import Cert, Question
from .model import FAIL, IGNORED, NOT_APPLICABLE, NOTE, PASS, Check

__all__ = ["DNS_NAME", "MAX_NAME_CHECKS", "name_checks", "name_constraint_checks"]

DNS_NAME = re.compile(r"(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*")
# Names reserved for examples and tests (RFC 2606, RFC 6761): never a public suffix.
_RESERVED_SUFFIXES = ("example", "test", "invalid", "localhost", "example.com", "example.net", "example.org")
MAX_NAME_CHECKS = 1 << 20  # names times constraints
_NC_TYPES = {x509.DNSName: "DNS", x509.IPAddress: "IP", x509.RFC822Name: "email",
             x509.UniformResourceIdentifier: "URI", x509.DirectoryName: "DN"}


# --------------------------------------------------------------------------------------------
# Matching the expected name


def _wildcard_matches(pattern: str, host: str) -> bool:
    """RFC 6125 wildcard: ``*`` is the whole leftmost label and stands for exactly one label."""
    if not pattern.startswith("*.") or "*" in pattern[1:]:
        return False
    rest = pattern[2:]
    if rest.count(".") < 1:  # "*.com": a wildcard over a whole top-level domain matches nothing
        return False
    host_first, _, host_rest = host.partition(".")
    return bool(host_first) and host_rest == rest


def _dns_match(pattern: str, host: str) -> bool:
    pattern, host = pattern.lower().rstrip("."), host.lower().rstrip(".")
    if "*" in pattern:
        return not host.startswith("xn--") and _wildcard_matches(pattern, host)
    return pattern == host


def _common_names(cert: x509.Certificate) -> list[str]:
    return [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]


def name_checks(question: Question) -> list[Check]:
    leaf, settings = question.leaf, question.settings
    where = question.where(leaf)
    san = leaf.san
    if question.webpki and question.purpose == "client" and san is None:
        return [Check("name", where, FAIL, "no subjectAltName: a client certificate must name its holder there")]
    if question.name is None:
        return [Check("name", where, NOT_APPLICABLE, "no expected name given")]
    if question.purpose == "client":
        return [_match_client_identity(question, where, san)]
    check = _match_name(question, where, san)
    if not settings.check_hostname and settings.verify and check.status == FAIL:
        return [replace(check, status=IGNORED, reason=check.reason + " (check_hostname is False)")]
    return [check]


def _match_client_identity(question: Question, where: str, san) -> Check:
    """A client's identity: any subjectAltName entry, compared exactly. This is the
    application's authorization check; OpenSSL compares no names for clients."""
    values = [str(g.value) for g in san] if san is not None else []
    if question.name in values:
        return Check("name", where, PASS, f"{question.name} is in the subjectAltName (checked by the application)")
    return Check("name", where, FAIL, f"{question.name} is not in the subjectAltName ({', '.join(values) or 'none'}); "
                 "this is the application's check, OpenSSL compares no client names")


def _match_name(question: Question, where: str, san) -> Check:
    name, webpki = question.name, question.webpki
    if is_ip_address(name):
        address = ipaddress.ip_address(name)
        ips = [g.value for g in san if isinstance(g, x509.IPAddress)] if san is not None else []
        if address in ips:
            return Check("name", where, PASS, f"IP address {name} is in the subjectAltName")
        return Check("name", where, FAIL, f"IP address {name} is not among the subjectAltName IP addresses "
                     f"({', '.join(map(str, ips)) or 'none'})", "IP address mismatch")
    if webpki and not DNS_NAME.fullmatch(name.lower().rstrip(".")):
        return Check("name", where, FAIL, f"{name!r} is not a valid DNS name")
    dns = [g.value for g in san if isinstance(g, x509.DNSName)] if san is not None else []
    for pattern in dns:
        if _dns_match(pattern, name):
            if "*" in pattern and webpki:
                suffix = pattern[2:].lower()
                if not any(suffix == s or suffix.endswith("." + s) for s in _RESERVED_SUFFIXES):
                    return Check("name", where, NOTE, f"{name} matches the wildcard {pattern}; like cryptography, "
                                 "the explainer does not consult the public suffix list (browsers refuse a "
                                 "wildcard over a public suffix such as *.co.uk)")
            return Check("name", where, PASS, f"{name} matches subjectAltName DNS:{pattern}")
    if dns:
        return Check("name", where, FAIL, f"{name} is not among the subjectAltName DNS names "
                     f"({', '.join(dns)})", "Hostname mismatch")
    common_names = _common_names(question.leaf.cert)
    if webpki or not question.settings.cn_fallback:
        why = "no DNS name in a subjectAltName" + (f"; the common name {common_names[0]!r} does not count"
                                                  if common_names else "")
        return Check("name", where, FAIL, why, "Hostname mismatch" if not webpki else None)
    for cn in common_names:
        if _dns_match(cn, name):
            return Check("name", where, NOTE, f"no DNS subjectAltName: matched the common name {cn!r} instead "
                         "(OpenSSL's fallback; browsers and cryptography refuse)")
    return Check("name", where, FAIL, f"no DNS subjectAltName, and the common name "
                 f"({', '.join(common_names) or 'none'}) is not {name}", "Hostname mismatch")


# --------------------------------------------------------------------------------------------
# Name constraints


def _dns_in_subtree(name: str, base: str) -> bool:
    name, base = name.lower().rstrip("."), base.lower()
    if not base:
        return True
    if base.startswith("."):
        return name.endswith(base)
    return name == base or name.endswith("." + base)


def _wildcard_may_enter(name: str, base: str) -> bool:
    """Whether some host a wildcard ``name`` matches lies in ``base`` (CVE-2025-61727)."""
    if not name.startswith("*."):
        return _dns_in_subtree(name, base)
    rest = name[2:].lower()
    base = base.lower().lstrip(".")
    return _dns_in_subtree(rest, base) or (base.count(".") == rest.count(".") + 1 and base.endswith("." + rest))


def _email_in_subtree(address: str, base: str) -> bool:
    local, _, domain = address.rpartition("@")
    if "@" in base:  # one mailbox: the local part is case-sensitive, the domain is not
        base_local, _, base_domain = base.rpartition("@")
        return local == base_local and domain.lower() == base_domain.lower()
    if base.startswith("."):
        return domain.lower().endswith(base.lower())
    return domain.lower() == base.lower()


def _uri_host(uri: str) -> str | None:
    match = re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/?#]*@)?(\[[^\]]*\]|[^:/?#]*)", uri)
    return match.group(1) if match else None


def _dn_in_subtree(name: x509.Name, base: x509.Name) -> bool:
    rdns, prefix = list(name.rdns), list(base.rdns)
    return len(rdns) >= len(prefix) and rdns[:len(prefix)] == prefix


def _name_in_subtree(kind: str, value, base) -> bool:
    if kind == "DNS":
        return _dns_in_subtree(value, base)
    if kind == "IP":
        return value.version == base.version and value in base
    if kind == "email":
        return _email_in_subtree(value, base)
    if kind == "URI":
        host = _uri_host(value)
        return host is not None and _dns_in_subtree(host, base)
    if kind == "DN":
        return _dn_in_subtree(value, base)
    return False


def _within(question: Question, kind: str, value, base, *, excluded: bool) -> bool:
    if kind == "DNS" and question.webpki and value.startswith("*."):
        # A wildcard stands for many names: excluded if any of them could be excluded
        # (CVE-2025-61727), permitted only if all of them are.
        return _wildcard_may_enter(value, base) if excluded else _dns_in_subtree(value[2:], base)
    return _name_in_subtree(kind, value, base)


def _subtree_text(general: x509.GeneralName) -> str:
    kind = _NC_TYPES.get(type(general), type(general).__name__)
    value = general.value.rfc4514_string() if isinstance(general, x509.DirectoryName) else general.value
    return f"{kind}:{value}"


def _show(kind: str, value) -> str:
    if isinstance(value, x509.Name):
        return f"DN:{value.rfc4514_string() or '(empty)'}"
    return f"{kind}:{value}"


def _subject_names(question: Question, cert: Cert) -> list[tuple[str, object]]:
    names: list[tuple[str, object]] = []
    san = cert.san
    if san is not None:
        for general in san:
            kind = _NC_TYPES.get(type(general))
            names.append((kind or type(general).__name__, general.value))
    if len(cert.subject):
        names.append(("DN", cert.subject))
    for attribute in cert.subject.get_attributes_for_oid(NameOID.EMAIL_ADDRESS):
        names.append(("email", str(attribute.value)))
    has_dns = san is not None and any(isinstance(g, x509.DNSName) for g in san)
    if cert is question.leaf and not has_dns and not question.webpki:
        # OpenSSL also holds the leaf's host-name-looking common name to DNS constraints when it has no
        # DNS SAN (NAME_CONSTRAINTS_check_CN, for the end-entity certificate only).
        names += [("DNS", cn) for cn in _common_names(cert.cert) if _openssl_takes_for_dns(cn)]
    return names


def _openssl_takes_for_dns(common_name: str) -> bool:
    """OpenSSL's cn2dnsid: letters, digits and '_', with '-' and '.' inside, and at least two labels
    (a one-label name such as ``CN=sometld`` is not taken for a DNS name)."""
    return (_OPENSSL_CN_DNS.fullmatch(common_name) is not None and "." in common_name
            and ".." not in common_name and ".-" not in common_name and "-." not in common_name)


_OPENSSL_CN_DNS = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?")


def _malformed_subtree(subtrees) -> str | None:
    for general in subtrees:
        if isinstance(general, x509.DNSName):
            base = general.value
            if base.startswith(".") or "*" in base or (base and not DNS_NAME.fullmatch(base.lower())):
                return f"name constraint DNS:{base} is not a valid DNS name"
        if isinstance(general, x509.RFC822Name) and ("*" in general.value.split("@")[-1]):
            return f"name constraint email:{general.value} is not a valid address or domain"
    return None


def _constraint_problem(question: Question, subjects, permitted, excluded):
    """None if every name of ``subjects`` is allowed, else (status, reason, OpenSSL's reason)."""
    names_per_subject = [(s, _subject_names(question, s)) for s in subjects]
    work = sum(len(names) for _, names in names_per_subject) * (len(permitted) + len(excluded))
    if work > MAX_NAME_CHECKS:
        return (FAIL, f"{work} name-constraint comparisons: more than verifiers agree to do (a denial-of-service "
                      "pattern)", None)
    unsupported = {type(g).__name__ for g in permitted + excluded if type(g) not in _NC_TYPES}
    for subject, names in names_per_subject:
        for kind, value in names:
            if kind in unsupported:
                return (FAIL, f"the CA constrains {kind} names, a form verifiers cannot process, and "
                              f"'{subject.label}' has one: RFC 5280 says to reject it",
                        "unsupported name constraint type")
            if kind not in _NC_TYPES.values():
                continue
            for general in excluded:
                if _NC_TYPES.get(type(general)) == kind and _within(question, kind, value, general.value,
                                                                     excluded=True):
                    return (FAIL, f"{_show(kind, value)} of '{subject.label}' is inside the excluded subtree "
                                  f"{_subtree_text(general)}", "excluded subtree violation")
            same_kind = [g for g in permitted if _NC_TYPES.get(type(g)) == kind]
            if same_kind and not any(_within(question, kind, value, g.value, excluded=False) for g in same_kind):
                return (FAIL, f"{_show(kind, value)} of '{subject.label}' is outside the permitted subtree(s) "
                              f"{', '.join(_subtree_text(g) for g in same_kind)}", "permitted subtree violation")
    return None


def name_constraint_checks(question: Question, certs: list[Cert]) -> list[Check]:
    checks = []
    leaf = question.leaf
    if question.webpki and leaf.extension(ExtensionOID.NAME_CONSTRAINTS) is not None and not leaf.is_ca:
        checks.append(Check("name constraints", question.where(leaf), FAIL,
                            "nameConstraints in an end-entity certificate: only CAs may carry them"))
    for position, ca in enumerate(certs[1:], 1):
        constraints = ca.extension(ExtensionOID.NAME_CONSTRAINTS)
        if constraints is None:
            continue
        where = question.where(ca)
        permitted = list(constraints.permitted_subtrees or [])
        excluded = list(constraints.excluded_subtrees or [])
        if question.webpki:
            malformed = _malformed_subtree(permitted + excluded)
            if malformed:
                checks.append(Check("name constraints", where, FAIL, malformed))
                continue
        # RFC 5280 6.1.3: constraints apply to the leaf and to every CA below that is not self-issued.
        subjects = [c for i, c in enumerate(certs[:position]) if i == 0 or not c.self_issued]
        problem = _constraint_problem(question, subjects, permitted, excluded)
        if problem is None:
            summary = ", ".join([f"permits {_subtree_text(g)}" for g in permitted] +
                                [f"excludes {_subtree_text(g)}" for g in excluded]) or "constrains nothing"
            checks.append(Check("name constraints", where, PASS, f"{summary}: every name below complies"))
        else:
            checks.append(Check("name constraints", where, *problem))
    return checks
