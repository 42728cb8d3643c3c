"""The x509-limbo corpus: public path-validation test vectors, and three verifiers run on them.

C2SP/x509-limbo (Apache License 2.0) is a suite of certificate-path validation cases: for each, a
trust store, the presented chain, a validation time, the expected peer name and the expected
result. This module loads a JSON snapshot of it and runs each case through

* :func:`explain_case`: this course's explainer (:mod:`mtlslib.verification`), either profile;
* :func:`cryptography_verdict`: ``cryptography``'s ``PolicyBuilder`` verifier;
* :func:`openssl_verdict`: OpenSSL itself, through ``openssl verify`` with the settings Python's
  ``ssl`` uses (purpose, host name or IP, security level 2, CRLs when the case has some);

and :func:`measure` counts how often two verdicts agree. ``python -m mtlslib.verification.limbo CORPUS.json``
prints the agreement table.
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import json
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

from cryptography import x509
from cryptography.x509 import verification

from mtlslib.errors import CertificateLoadError, MtlsLibError

from .explain import Explanation, explain

__all__ = ["Agreement", "CORPUS", "cryptography_verdict", "explain_case", "LimboCase", "load_cases", "measure",
           "openssl_verdict"]

# One `openssl verify` on a small chain takes milliseconds; this only stops a hung process.
OPENSSL_TIMEOUT = 20.0
# The snapshot vendored with the course (208 core cases, with its licence beside it).
CORPUS = Path(__file__).resolve().parents[2] / "tests" / "data" / "x509-limbo-core.json"


@dataclass(frozen=True)
class LimboCase:
    """One validation case: verify ``peer`` (with ``intermediates``) against ``trusted``."""

    id: str
    description: str
    kind: str  # "server" or "client"
    trusted: tuple[x509.Certificate, ...]
    intermediates: tuple[x509.Certificate, ...]
    peer: x509.Certificate
    time: _dt.datetime | None
    name: str | None
    crls: tuple[x509.CertificateRevocationList, ...]
    max_depth: int | None
    expected_valid: bool
    features: tuple[str, ...] = ()

    @property
    def chain(self) -> list[x509.Certificate]:
        return [self.peer, *self.intermediates]


def _certificates(pems: Sequence[str]) -> tuple[x509.Certificate, ...]:
    with warnings.catch_warnings():
        # Some cases carry a zero or negative serial on purpose; cryptography warns on loading it.
        warnings.simplefilter("ignore")
        return tuple(x509.load_pem_x509_certificate(pem.encode()) for pem in pems)


def load_cases(path=CORPUS) -> list[LimboCase]:
    """The cases of a limbo JSON file (``{"testcases": [...]}``); by default the course's copy."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CertificateLoadError(f"{path}: no such file (the x509-limbo JSON corpus)") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise CertificateLoadError(f"{path}: not a limbo JSON file ({error})") from None
    cases = []
    for raw in document.get("testcases", []):
        name = raw.get("expected_peer_name")
        cases.append(LimboCase(
            id=raw["id"], description=raw.get("description", ""), kind=raw["validation_kind"].lower(),
            trusted=_certificates(raw["trusted_certs"]), intermediates=_certificates(raw["untrusted_intermediates"]),
            peer=_certificates([raw["peer_certificate"]])[0],
            time=_dt.datetime.fromisoformat(raw["validation_time"]) if raw.get("validation_time") else None,
            name=name["value"] if name else None,
            crls=tuple(x509.load_pem_x509_crl(pem.encode()) for pem in raw.get("crls", [])),
            max_depth=raw.get("max_chain_depth"), expected_valid=raw["expected_result"] == "SUCCESS",
            features=tuple(raw.get("features", [])),
        ))
    return cases


def explain_case(case: LimboCase, profile: str = "webpki") -> Explanation:
    """The explainer's reading of ``case``."""
    return explain(case.chain, case.trusted, purpose=case.kind, name=case.name if case.kind == "server" else None,
                   at=case.time, crls=case.crls, profile=profile, max_depth=case.max_depth,
                   crl_check="leaf" if case.crls else None)


def cryptography_verdict(case: LimboCase) -> bool | None:
    """``cryptography``'s verdict (True: valid), or None when it refuses the inputs themselves
    (for example an expected name it does not consider a DNS name)."""
    builder = verification.PolicyBuilder().store(verification.Store(list(case.trusted)))
    if case.time is not None:
        builder = builder.time(case.time)
    if case.max_depth is not None:
        builder = builder.max_chain_depth(case.max_depth)
    try:
        if case.kind == "server":
            try:
                subject = verification.IPAddress(ipaddress.ip_address(case.name))
            except ValueError:
                subject = verification.DNSName(case.name)
            verifier = builder.build_server_verifier(subject)
        else:
            verifier = builder.build_client_verifier()
    except (ValueError, TypeError):
        return None
    try:
        verifier.verify(case.peer, list(case.intermediates))
    except verification.VerificationError:
        return False
    except (ValueError, TypeError):
        return None
    return True


def openssl_verdict(case: LimboCase, openssl: str | None = None) -> tuple[bool, str]:
    """OpenSSL's verdict and its reason, from ``openssl verify`` run the way Python's ``ssl``
    verifies: the purpose, the host name (or IP address), security level 2, CRLs checked for the
    leaf when the case has some, and no system trust store.

    One difference remains: Python's ``ssl`` refuses partial wildcards such as ``ba*.example.com``
    (``X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS``), which ``openssl verify`` has no option for."""
    from cryptography.hazmat.primitives.serialization import Encoding

    openssl = openssl or shutil.which("openssl")
    if openssl is None:
        raise MtlsLibError("the openssl command-line tool is not installed")

    def pem(items) -> bytes:
        return b"".join(item.public_bytes(Encoding.PEM) for item in items)

    with tempfile.TemporaryDirectory(prefix="mtlslib-limbo-") as directory:
        def write(name: str, data: bytes) -> str:
            path = os.path.join(directory, name)
            Path(path).write_bytes(data)
            return path

        command = [openssl, "verify", "-no-CApath", "-no-CAstore", "-auth_level", "2",
                   "-purpose", "sslserver" if case.kind == "server" else "sslclient"]
        command += ["-CAfile", write("trusted.pem", pem(case.trusted))] if case.trusted else ["-no-CAfile"]
        if case.intermediates:
            command += ["-untrusted", write("intermediates.pem", pem(case.intermediates))]
        if case.kind == "server" and case.name:
            try:
                ipaddress.ip_address(case.name)
                command += ["-verify_ip", case.name]
            except ValueError:
                command += ["-verify_hostname", case.name]
        if case.time is not None:
            command += ["-attime", str(int(case.time.timestamp()))]
        if case.crls:
            command += ["-crl_check", "-CRLfile", write("crls.pem", pem(case.crls))]
        if case.max_depth is not None:
            command += ["-verify_depth", str(case.max_depth)]
        command.append(write("peer.pem", pem([case.peer])))
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            output, _ = process.communicate(timeout=OPENSSL_TIMEOUT)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
        lines = [line.replace(directory + os.sep, "") for line in output.strip().splitlines()]
        errors = [line.split(":", 1)[1].strip() for line in lines if line.startswith("error ")]
        reason = errors[0] if errors else (lines[-1] if lines else "")
        return process.returncode == 0, reason


@dataclass
class Agreement:
    """How often the explainer's verdict matched a reference verdict."""

    reference: str
    agree: list[str] = field(default_factory=list)
    disagree: list[str] = field(default_factory=list)
    undecided: list[str] = field(default_factory=list)
    no_reference: list[str] = field(default_factory=list)

    @property
    def decided(self) -> int:
        return len(self.agree) + len(self.disagree)

    @property
    def rate(self) -> float:
        """Agreement among the cases the explainer decided (undecided ones are counted apart)."""
        return len(self.agree) / self.decided if self.decided else 0.0

    def line(self) -> str:
        total = self.decided + len(self.undecided)
        return (f"{self.reference:<34} agree {len(self.agree):>3}  disagree {len(self.disagree):>3}  "
                f"undecided {len(self.undecided):>3}  of {total:>3}  ({self.rate:.1%} of decided)")


def measure(cases: Iterable, verdicts: Callable[[object], bool | None], explanations: Callable[[object], Explanation],
            reference: str) -> Agreement:
    """Compare the explainer with ``verdicts`` (True/False, None: no reference verdict) case by case."""
    result = Agreement(reference)
    for case in cases:
        expected = verdicts(case)
        identifier = getattr(case, "id", getattr(case, "name", repr(case)))
        if expected is None:
            result.no_reference.append(identifier)
            continue
        explanation = explanations(case)
        if explanation.valid is None:
            result.undecided.append(identifier)
        elif explanation.valid == expected:
            result.agree.append(identifier)
        else:
            result.disagree.append(identifier)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if len(argv) != 1:
        print("usage: python -m mtlslib.verification.limbo CORPUS.json", file=sys.stderr)
        return 2
    try:
        cases = load_cases(argv[0])
    except MtlsLibError as error:
        print(f"mtlslib.verification.limbo: {error}", file=sys.stderr)
        return 2
    webpki = {c.id: explain_case(c, "webpki") for c in cases}
    openssl_profile = {c.id: explain_case(c, "openssl") for c in cases}
    rows = [
        measure(cases, lambda c: c.expected_valid, lambda c: webpki[c.id], "webpki profile vs limbo expected"),
        measure(cases, cryptography_verdict, lambda c: webpki[c.id], "webpki profile vs cryptography"),
    ]
    if shutil.which("openssl"):
        rows.append(measure(cases, lambda c: openssl_verdict(c)[0], lambda c: openssl_profile[c.id],
                            "openssl profile vs openssl verify"))
    print(f"{len(cases)} cases")
    for row in rows:
        print(row.line())
        for identifier in row.disagree:
            print(f"    disagree: {identifier}")
        for identifier in row.undecided:
            print(f"    undecided: {identifier}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
