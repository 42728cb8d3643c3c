"""The x509-limbo corpus: public path-validation test vectors, and three verifiers run on them.

C2SP/x509-limbo (Apache License 2.0) is a suite of certificate-path validation cases: for each, a
trust store, the presented chain, a validation time, the expected peer name and the expected
result. This module loads a JSON snapshot of it and runs each case through

* :func:`explain_case`: this course's explainer (:mod:`mtlslib.verification`), either profile;
* :meth:`LimboCase.cryptography_verdict`: ``cryptography``'s ``PolicyBuilder`` verifier;
* :meth:`LimboCase.openssl_verdict`: OpenSSL itself, through ``openssl verify`` with the settings
  Python's ``ssl`` uses (purpose, host name or IP, security level 2, CRLs when the case has some);

(both from :mod:`mtlslib.verification.reference`) and :func:`measure` counts how often two
verdicts agree. ``python -m mtlslib.verification.limbo CORPUS.json`` prints the agreement table.
"""

from __future__ import annotations

import datetime as _dt
import json
import shutil
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

from cryptography import x509

from mtlslib.display import Shown
from mtlslib.errors import CertificateLoadError, MtlsLibError

from .explain import explain
from .model import Explanation
from .reference import Verdict, cryptography_verdict, openssl_verdict

__all__ = ["Agreement", "CORPUS", "explain_case", "LimboCase", "load_cases", "measure"]
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

    @property
    def expected_name(self) -> str | None:
        """The name a server is checked against (client cases check none)."""
        return self.name if self.kind == "server" else None

    def cryptography_verdict(self) -> Verdict:
        """``cryptography``'s verdict on this case (``accepted`` None when it refuses the inputs
        themselves, for example an expected name it does not consider a DNS name)."""
        return cryptography_verdict(self.chain, self.trusted, purpose=self.kind, name=self.expected_name,
                                    at=self.time, max_depth=self.max_depth)

    def openssl_verdict(self, openssl: str | None = None) -> Verdict:
        """OpenSSL's verdict on this case and its reason, from ``openssl verify``."""
        return openssl_verdict(self.chain, self.trusted, purpose=self.kind, name=self.expected_name, at=self.time,
                               crls=self.crls, max_depth=self.max_depth, openssl=openssl)


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
    """The explainer's reading of ``case``, as the verifier the suite is held against is set up: Python's
    default context (no partial chains, the common-name fallback on) under the openssl profile."""
    return explain(case.chain, case.trusted, purpose=case.kind, name=case.expected_name,
                   at=case.time, crls=case.crls, profile=profile, max_depth=case.max_depth,
                   crl_check="leaf" if case.crls else None, partial_chain=False, cn_fallback=True)


@dataclass
class Agreement(Shown):
    """How often the explainer's verdict matched a reference verdict; prints as one line."""

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

    def __str__(self) -> str:
        total = self.decided + len(self.undecided)
        return (f"{self.reference:<34} agree {len(self.agree):>3}  disagree {len(self.disagree):>3}  "
                f"undecided {len(self.undecided):>3}  of {total:>3}  ({self.rate:.1%} of decided)")


def measure(cases: Iterable, verdicts: Callable[[object], Verdict | bool | None],
            explanations: Callable[[object], Explanation], reference: str) -> Agreement:
    """Compare the explainer with ``verdicts`` case by case: a :class:`~.reference.Verdict`, or
    True/False (None: no reference verdict for that case)."""
    result = Agreement(reference)
    for case in cases:
        expected = verdicts(case)
        if isinstance(expected, Verdict):
            expected = expected.accepted
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
        measure(cases, LimboCase.cryptography_verdict, lambda c: webpki[c.id], "webpki profile vs cryptography"),
    ]
    if shutil.which("openssl"):
        rows.append(measure(cases, LimboCase.openssl_verdict, lambda c: openssl_profile[c.id],
                            "openssl profile vs openssl verify"))
    print(f"{len(cases)} cases")
    for row in rows:
        print(row)
        for identifier in row.disagree:
            print(f"    disagree: {identifier}")
        for identifier in row.undecided:
            print(f"    undecided: {identifier}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
