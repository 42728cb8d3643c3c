"""Reference verdicts: what real verifiers decide about a chain, to hold the explainer (and the lessons) against.

* :func:`cryptography_verdict`: ``cryptography``'s verifier (``cryptography.x509.verification``,
  the web PKI's rules, as ``PolicyBuilder`` applies them);
* :func:`openssl_verdict`: OpenSSL's, from ``openssl verify`` run the way Python's ``ssl``
  verifies (purpose, host name or IP, security level 2, CRLs for the leaf, no system store);
* :func:`handshake_verdict`: OpenSSL's again, but from a real TLS handshake on 127.0.0.1 (the
  client's view of a server certificate), for when the certificate comes with its key.

Each returns a :class:`Verdict`: ``accepted`` is True, False, or None when the verifier does not
apply (for example an expected name cryptography does not take as a DNS name), and ``reason`` is
the verifier's own words, made readable: cryptography's internal structures
(``AlgorithmIdentifier { oid: ... }``) become names, and the certificate it repeats is left out.
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import verification

from mtlslib.display import Shown
from mtlslib.errors import MtlsLibError, UsageError
from mtlslib.pki import IssuedCertificate, Trust, certificate_pem, is_ip_address, oid_name, trust_anchors
from mtlslib.tls import handshake

from .explain import load_crls, presented_chain
from .model import PURPOSES

__all__ = ["OPENSSL_TIMEOUT", "Verdict", "cryptography_verdict", "handshake_verdict", "openssl_verdict",
           "readable_cryptography_error"]

# One `openssl verify` on a small chain takes milliseconds; this only stops a hung process.
OPENSSL_TIMEOUT = 20.0


@dataclass(frozen=True)
class Verdict(Shown):
    """A verifier's decision: ``accepted`` True or False, or None when it does not apply; and why.

    ``str(verdict)`` is ``"accepts"``, ``"refuses: <reason>"`` or ``"not applicable: <reason>"``.
    """

    accepted: bool | None
    reason: str = ""

    def __str__(self) -> str:
        if self.accepted is None:
            return f"not applicable: {self.reason}"
        return ("accepts" if self.accepted else "refuses") + (f": {self.reason}" if self.reason else "")


def _check_arguments(purpose: str, name: str | None, max_depth: int | None) -> None:
    if purpose not in PURPOSES:
        raise UsageError(f"purpose must be 'server' or 'client', not {purpose!r}")
    if name is not None and not isinstance(name, str):
        raise UsageError(f"name must be a DNS name or IP address string, not {name!r}")
    if max_depth is not None and (isinstance(max_depth, bool) or not isinstance(max_depth, int) or max_depth < 0):
        raise UsageError(f"max_depth must be None or a whole number >= 0, not {max_depth!r}")


def _anchors(trust) -> tuple[x509.Certificate, ...]:
    if trust is None or (isinstance(trust, (list, tuple)) and not trust):
        return ()
    return trust_anchors(trust)


# --------------------------------------------------------------------------------------------
# cryptography


def cryptography_verdict(chain, trust: Trust | None, *, purpose: str = "server", name: str | None = None,
                         at: _dt.datetime | None = None, max_depth: int | None = None) -> Verdict:
    """What ``cryptography``'s verifier decides about ``chain`` (leaf first; the same forms as
    :func:`~mtlslib.verification.explain` takes) with ``trust`` as its store.

    ``purpose="server"`` needs the expected ``name`` (a DNS name or IP address); ``"client"``
    checks no name. ``at`` defaults to now; ``max_depth`` caps the intermediates.
    """
    _check_arguments(purpose, name, max_depth)
    leaf, *intermediates = presented_chain(chain)
    anchors = _anchors(trust)
    if not anchors:
        return Verdict(None, "cryptography's verifier needs at least one trust anchor")
    if purpose == "server" and name is None:
        return Verdict(None, "cryptography's server verifier needs the expected name")
    try:
        builder = verification.PolicyBuilder().store(verification.Store(list(anchors)))
        if at is not None:
            builder = builder.time(at)
        if max_depth is not None:
            builder = builder.max_chain_depth(max_depth)
        if purpose == "server":
            subject = (verification.IPAddress(ipaddress.ip_address(name)) if is_ip_address(name)
                       else verification.DNSName(name))
            verifier = builder.build_server_verifier(subject)
        else:
            verifier = builder.build_client_verifier()
    except (ValueError, TypeError) as error:
        return Verdict(None, f"cryptography cannot take these inputs ({error})")
    try:
        verifier.verify(leaf, intermediates)
    except verification.VerificationError as error:
        return Verdict(False, readable_cryptography_error(error))
    except (ValueError, TypeError) as error:
        return Verdict(None, f"cryptography cannot take these inputs ({error})")
    return Verdict(True)


_CURVES = {value.dotted_string: attribute.lower() for attribute, value in vars(ec.EllipticCurveOID).items()
           if isinstance(value, x509.ObjectIdentifier)}
_OID = re.compile(r"ObjectIdentifier \{ oid: ([0-9.]+) \}")
_HASHED = re.compile(r"(RsaPss|Rsa|EcDsa|Dsa)With(Sha\d+|Sha3_\d+|Md5)")
_FAMILIES = {"RsaPss": "RSA-PSS", "Rsa": "RSA", "EcDsa": "ECDSA", "Dsa": "DSA"}
_IP_BYTES = re.compile(r"\[(\d{1,3}(?:, \d{1,3}){3,31})\]")


def _algorithm_text(inside: str) -> str:
    """A name for the inside of a Rust ``AlgorithmIdentifier { ... }``."""
    params = inside.split("params: ", 1)[-1]
    variant = re.match(r"\w+", params)
    variant = variant.group(0) if variant else ""
    found = _OID.search(params)
    if variant == "Ec":
        if "SpecifiedCurve" in params:
            return "an EC key with explicit curve parameters"
        curve = found.group(1) if found else "?"
        return f"an EC key on curve {_CURVES.get(curve, curve)}"
    if variant == "Dsa":
        return "a DSA key"
    if variant == "Other" and found:
        return oid_name(found.group(1))
    hashed = _HASHED.fullmatch(variant)
    if hashed:
        return f"{_FAMILIES[hashed.group(1)]} with {hashed.group(2).upper().replace('_', '-')}"
    return variant or "an unknown algorithm"


def _replace_algorithm_identifiers(text: str) -> str:
    while (start := text.find("AlgorithmIdentifier {")) >= 0:
        depth, end = 0, len(text)
        for index in range(start, len(text)):
            depth += {"{": 1, "}": -1}.get(text[index], 0)
            if text[index] == "}" and depth == 0:
                end = index + 1
                break
        text = text[:start] + _algorithm_text(text[start + len("AlgorithmIdentifier {"):end - 1]) + text[end:]
    return text


def _ip_text(match: re.Match) -> str:
    octets = bytes(int(b) for b in match.group(1).split(", ") if int(b) < 256)
    if len(octets) in (4, 16):
        return str(ipaddress.ip_address(octets))
    if len(octets) in (8, 32):
        half = len(octets) // 2
        try:
            return str(ipaddress.ip_network(f"{ipaddress.ip_address(octets[:half])}/"
                                            f"{ipaddress.ip_address(octets[half:])}", strict=False))
        except ValueError:
            return f"{ipaddress.ip_address(octets[:half])} mask {ipaddress.ip_address(octets[half:])}"
    return match.group(0)


def readable_cryptography_error(error: Exception | str) -> str:
    """cryptography's verification error in words: without "validation failed: ", without the
    certificate it repeats ("(encountered processing <Certificate(...)>)"), with algorithm names
    and IP addresses instead of Rust debug structures and byte lists."""
    text = str(error).split(" (encountered processing", 1)[0].removeprefix("validation failed: ")
    text = _replace_algorithm_identifiers(text)
    return _IP_BYTES.sub(_ip_text, text)


# --------------------------------------------------------------------------------------------
# OpenSSL


def openssl_verdict(chain, trust: Trust | None, *, purpose: str = "server", name: str | None = None,
                    at: _dt.datetime | None = None, crls=(), max_depth: int | None = None,
                    partial_chain: bool = False, openssl: str | None = None) -> Verdict:
    """OpenSSL's verdict on ``chain`` (leaf first) and its reason, from ``openssl verify`` run the
    way Python's ``ssl`` verifies: the purpose, the host name (or IP address), security level 2,
    CRLs checked for the leaf when some are given, and no system trust store. ``partial_chain``
    lets any trust anchor end the path (``VERIFY_X509_PARTIAL_CHAIN``, as mtlslib's contexts set);
    ``openssl`` is the command (default: the one on ``PATH``).

    One difference remains: Python's ``ssl`` refuses partial wildcards such as ``ba*.example.com``
    (``X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS``), which ``openssl verify`` has no option for."""
    _check_arguments(purpose, name, max_depth)
    leaf, *intermediates = presented_chain(chain)
    anchors = _anchors(trust)
    crl_list = load_crls(crls) if crls else []
    openssl = openssl or shutil.which("openssl")
    if openssl is None:
        raise MtlsLibError("the openssl command-line tool is not installed")
    with tempfile.TemporaryDirectory(prefix="mtlslib-verify-") as directory:
        def write(file_name: str, data: bytes) -> str:
            path = os.path.join(directory, file_name)
            Path(path).write_bytes(data)
            return path

        def pem(certificates) -> bytes:
            return b"".join(certificate_pem(c) for c in certificates)

        command = [openssl, "verify", "-no-CApath", "-no-CAstore", "-auth_level", "2",
                   "-purpose", "sslserver" if purpose == "server" else "sslclient"]
        command += ["-CAfile", write("trusted.pem", pem(anchors))] if anchors else ["-no-CAfile"]
        if intermediates:
            command += ["-untrusted", write("intermediates.pem", pem(intermediates))]
        if purpose == "server" and name:
            command += ["-verify_ip" if is_ip_address(name) else "-verify_hostname", name]
        if at is not None:
            command += ["-attime", str(int(at.timestamp()))]
        if crl_list:
            crl_pem = b"".join(crl.public_bytes(Encoding.PEM) for crl in crl_list)
            command += ["-crl_check", "-CRLfile", write("crls.pem", crl_pem)]
        if max_depth is not None:
            command += ["-verify_depth", str(max_depth)]
        if partial_chain:
            command.append("-partial_chain")
        command.append(write("peer.pem", pem([leaf])))
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            output, _ = process.communicate(timeout=OPENSSL_TIMEOUT)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
        lines = [line.replace(directory + os.sep, "") for line in output.strip().splitlines()]
    if process.returncode == 0:
        return Verdict(True)
    errors = [line.split(":", 1)[1].strip() for line in lines if line.startswith("error ")]
    return Verdict(False, errors[0] if errors else (lines[-1] if lines else "openssl verify failed"))


def handshake_verdict(certificate: IssuedCertificate, trust: Trust, *, name: str = "localhost",
                      check_purpose: bool = True) -> Verdict:
    """What a client decides about the server ``certificate`` in a real TLS handshake on 127.0.0.1
    (Python's ``ssl``, that is OpenSSL, with mtlslib's client context trusting ``trust`` and
    expecting ``name``): accepted, or refused with the client's error."""
    if not isinstance(certificate, IssuedCertificate):
        raise UsageError(f"handshake_verdict needs an IssuedCertificate (a certificate with its key), "
                         f"not {type(certificate).__name__}")
    result = handshake(certificate, trust=trust, server_hostname=name, check_purpose=check_purpose)
    error = result.client_saw.error
    return Verdict(True) if error is None else Verdict(False, error)
