"""What an explanation is made of: the verifier's settings, one check, and the whole explanation.

An :class:`Explanation` prints itself: ``print(explanation)`` shows every check as a table (``>>``
marks the first failure, ``[OpenSSL: ...]`` gives OpenSSL's words for a failure) followed by the
verdict; ``print(explanation.problems)`` shows only the rows that did not simply pass;
``explanation.conclusion`` is the verdict in one line. In Jupyter the explanation displays as an
HTML table (:attr:`Explanation.as_table`).
"""

from __future__ import annotations

import datetime as _dt
import ssl
from dataclasses import dataclass

from cryptography import x509

from mtlslib.display import Shown, Table
from mtlslib.errors import UsageError

__all__ = ["FAIL", "IGNORED", "NOTE", "NOT_APPLICABLE", "PASS", "PROFILES", "PURPOSES", "UNDECIDED", "Check",
           "Explanation", "Problems", "Settings", "format_time"]

PROFILES = ("openssl", "webpki")
PURPOSES = ("server", "client")
CRL_CHECKS = (None, "auto", "leaf", "chain")

PASS, FAIL, IGNORED, NOTE, UNDECIDED, NOT_APPLICABLE = "pass", "FAIL", "ignored", "note", "undecided", "n/a"

# The verdicts, and what Explanation.valid makes of them.
VALID, INVALID = "valid", "invalid"
_VALIDITY = {VALID: True, INVALID: False}


def format_time(moment: _dt.datetime) -> str:
    """A time as the tables show it: to the minute, or to the second when the seconds are not zero."""
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC" if moment.second else f"{moment:%Y-%m-%d %H:%M} UTC"


# --------------------------------------------------------------------------------------------
# Settings: what kind of verifier is being explained


@dataclass(frozen=True)
class Settings:
    """How the verifier being explained is configured.

    The defaults are the client and server contexts mtlslib makes (:mod:`mtlslib.tls.contexts`):
    OpenSSL's rules as Python's ``ssl`` applies them, any certificate in the trust store ends the path
    (as the course means by "trust", :mod:`mtlslib.pki.trust`), and names come from the SAN only.
    :meth:`of_context` reads them from any other context.

    ``verify=False`` is ``CERT_NONE``; ``check_hostname=False`` skips the name; ``cn_fallback`` is
    ``hostname_checks_common_name``; ``partial_chain`` is ``VERIFY_X509_PARTIAL_CHAIN`` (any
    certificate in the trust store may end the path); ``crl_check`` is ``None``, ``"leaf"``
    (``VERIFY_CRL_CHECK_LEAF``) or ``"chain"`` (``VERIFY_CRL_CHECK_CHAIN``), or ``"auto"``: leaf
    checking when CRLs are given; ``security_level`` is OpenSSL's (2: keys of at least 112-bit
    strength, no SHA-1); ``max_depth`` caps the number of intermediates (``None``: OpenSSL's default
    verify depth, 100, in the openssl profile, which Python's ``ssl`` cannot change; no cap in the
    webpki profile). Paths longer than :data:`~.paths.MAX_PATH_LENGTH` certificates are undecided.

    A value it cannot use raises :class:`~mtlslib.errors.UsageError`.
    """

    profile: str = "openssl"
    verify: bool = True
    check_hostname: bool = True
    cn_fallback: bool = False
    partial_chain: bool = True
    crl_check: str | None = "auto"
    security_level: int = 2
    max_depth: int | None = None

    def __post_init__(self):
        if self.profile not in PROFILES:
            raise UsageError(f"unknown profile {self.profile!r}; choose one of: {', '.join(PROFILES)}")
        if self.crl_check not in CRL_CHECKS:
            raise UsageError(f"crl_check must be None, 'auto', 'leaf' or 'chain', not {self.crl_check!r}")
        if isinstance(self.security_level, bool) or not isinstance(self.security_level, int) \
                or not 0 <= self.security_level <= 5:
            raise UsageError(f"security_level must be 0 to 5 (OpenSSL's levels), not {self.security_level!r}")
        if self.max_depth is not None and (isinstance(self.max_depth, bool) or not isinstance(self.max_depth, int)
                                           or self.max_depth < 0):
            raise UsageError(f"max_depth must be None or a whole number of intermediates >= 0, not {self.max_depth!r}")

    @classmethod
    def of_context(cls, ctx: ssl.SSLContext, **overrides) -> "Settings":
        """The settings an ``ssl.SSLContext`` verifies its peer with."""
        if not isinstance(ctx, ssl.SSLContext):
            raise UsageError(f"Settings.of_context needs an ssl.SSLContext, not {type(ctx).__name__}")
        flags = ctx.verify_flags
        crl_check = ("chain" if flags & ssl.VERIFY_CRL_CHECK_CHAIN == ssl.VERIFY_CRL_CHECK_CHAIN
                     else "leaf" if flags & ssl.VERIFY_CRL_CHECK_LEAF else None)
        values = dict(
            profile="openssl", verify=ctx.verify_mode != ssl.CERT_NONE, check_hostname=ctx.check_hostname,
            cn_fallback=ctx.hostname_checks_common_name, partial_chain=bool(flags & ssl.VERIFY_X509_PARTIAL_CHAIN),
            crl_check=crl_check, security_level=ctx.security_level,
        )
        values.update(overrides)
        return cls(**values)


# --------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class Check(Shown):
    """One line of the table: which check, on which certificate, its status and why.

    ``status`` is ``"pass"``, ``"FAIL"``, ``"ignored"`` (a failure this configuration does not
    enforce), ``"note"`` (passes here, fails under the other profile), ``"undecided"`` or
    ``"n/a"``. ``openssl`` is the reason OpenSSL gives for this failure, when it has one.
    """

    step: str
    certificate: str
    status: str
    reason: str
    openssl: str | None = None

    @property
    def failed(self) -> bool:
        return self.status == FAIL

    @property
    def why(self) -> str:
        """The reason, with OpenSSL's words for a failure (enforced or not)."""
        if self.openssl and self.status in (FAIL, IGNORED):
            return f"{self.reason}  [OpenSSL: {self.openssl}]"
        return self.reason

    def __str__(self) -> str:
        return f"{self.step} ({self.certificate}): {self.status}: {self.why}"


def verdict_of(checks) -> str:
    """``"invalid"`` if a check failed, else ``"undecided"`` if one could not be decided, else ``"valid"``."""
    if any(c.status == FAIL for c in checks):
        return INVALID
    if any(c.status == UNDECIDED for c in checks):
        return UNDECIDED
    return VALID


@dataclass(frozen=True)
class Explanation(Shown):
    """The checks in order, the verdict and the path they were run on (leaf first).

    ``verdict`` is ``"valid"``, ``"invalid"`` or ``"undecided"``; :attr:`valid` is the same as
    ``True``, ``False`` or ``None``. ``str(explanation)`` is the whole table and the verdict.
    """

    checks: tuple[Check, ...]
    verdict: str
    path: tuple[x509.Certificate, ...]
    purpose: str
    name: str | None
    settings: Settings

    @property
    def valid(self) -> bool | None:
        """True (every check passed or is not enforced), False (a check failed), or None when
        undecided (a check the explainer cannot decide, and no failure)."""
        return _VALIDITY.get(self.verdict)

    @property
    def first_failure(self) -> Check | None:
        return next((c for c in self.checks if c.failed), None)

    @property
    def failures(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.failed)

    @property
    def openssl_reasons(self) -> tuple[str, ...]:
        """The OpenSSL reasons of every failure, in table order (OpenSSL reports one of them)."""
        return tuple(dict.fromkeys(c.openssl for c in self.failures if c.openssl))

    @property
    def conclusion(self) -> str:
        """One line: the verdict and, if any, the first failure or what could not be decided."""
        if self.verdict == INVALID:
            first = self.first_failure
            return f"invalid: {first.step} ({first.certificate}): {first.reason}"
        if self.verdict == UNDECIDED:
            first = next(c for c in self.checks if c.status == UNDECIDED)
            return f"undecided: {first.step} ({first.certificate}): {first.reason}"
        ignored = [c for c in self.checks if c.status == IGNORED]
        if ignored:
            return (f"valid only because {len(ignored)} failing check{'s are' if len(ignored) > 1 else ' is'} "
                    "not enforced")
        notes = [c for c in self.checks if c.status == NOTE]
        if notes:
            return f"valid, with {len(notes)} note{'s' if len(notes) > 1 else ''}: {notes[0].step}: {notes[0].reason}"
        return "valid: every check passed"

    @property
    def verdict_line(self) -> str:
        """The last line of the table: the profile, the purpose and :attr:`conclusion`."""
        return f"verdict ({self.settings.profile} profile, {self.purpose} purpose): {self.conclusion}"

    @property
    def problems(self) -> "Problems":
        """The same explanation showing only the rows that did not simply pass (and how many did)."""
        return Problems(self)

    @property
    def as_table(self) -> Table:
        """Every check as a :class:`~mtlslib.display.Table`, the verdict as its title."""
        return Table(_HEADERS, _rows(self, problems_only=False), title=self.verdict_line)

    def _repr_html_(self) -> str:
        return self.as_table._repr_html_()

    def __str__(self) -> str:
        return _text(self, problems_only=False)


@dataclass(frozen=True)
class Problems(Shown):
    """An explanation showing only its rows that did not simply pass (``explanation.problems``)."""

    explanation: Explanation

    @property
    def checks(self) -> tuple[Check, ...]:
        return tuple(c for c in self.explanation.checks if c.status not in (PASS, NOT_APPLICABLE))

    @property
    def as_table(self) -> Table:
        return Table(_HEADERS, _rows(self.explanation, problems_only=True), title=self.explanation.verdict_line)

    def _repr_html_(self) -> str:
        return self.as_table._repr_html_()

    def __str__(self) -> str:
        return _text(self.explanation, problems_only=True)


# --------------------------------------------------------------------------------------------
# The text of the table

_HEADERS = ("", "#", "check", "certificate", "result", "why")


def _rows(explanation: Explanation, *, problems_only: bool) -> list[tuple[str, ...]]:
    first = explanation.first_failure
    rows = []
    for number, check in enumerate(explanation.checks, 1):
        if problems_only and check.status in (PASS, NOT_APPLICABLE):
            continue
        rows.append((">>" if check is first else "", str(number), check.step, check.certificate, check.status,
                     check.why))
    return rows


def _text(explanation: Explanation, *, problems_only: bool) -> str:
    """The table as the course has always printed it: every column left-justified (the check
    numbers too), the reason free-running after them; then the verdict."""
    rows = _rows(explanation, problems_only=problems_only)
    lines = [str(Table(_HEADERS, rows, numbers_right=False, ragged_last=True))] if rows or not problems_only else []
    if problems_only:
        passed = sum(1 for c in explanation.checks if c.status in (PASS, NOT_APPLICABLE))
        lines.append(f"({passed} other checks passed or did not apply)")
    lines.append(explanation.verdict_line)
    return "\n".join(lines)
