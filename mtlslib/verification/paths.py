"""Path building: from the leaf, through issuers, to a trust anchor.

Two ways, as real verifiers differ:

* :func:`build_openssl`: OpenSSL's greedy construction: trusted issuers first, then presented
  ones, no backtracking, and (without partial chains) a path ends only at a self-signed anchor;
* :func:`build_all`: every path to an anchor, depth-first, as the web PKI's path builders
  (cryptography's, browsers') search, with the dead end that went furthest when none exists.

An issuer candidate has the subject the child names as issuer, an authority key identifier that
does not rule it out, and a key of the kind the child's signature needs. Every search is bounded
(:data:`MAX_PATH_LENGTH`, :data:`MAX_PATHS`, :data:`MAX_CANDIDATES`), so that a crafted
certificate graph cannot keep it busy forever. A search stopped by one of these bounds ends in an
``undecided`` path that says which bound, unless no chain of issuers from the leaf reaches an
anchor at all: then no path exists, and the dead end says why.
"""

from __future__ import annotations

from dataclasses import dataclass

from .certificate import Cert, Question, issuer_label

__all__ = ["MAX_CANDIDATES", "MAX_PATHS", "MAX_PATH_LENGTH", "OPENSSL_DEFAULT_DEPTH", "Path", "Store", "build_all",
           "build_openssl"]

# OpenSSL's default verify depth (the "default" X509_VERIFY_PARAM): at most 100 intermediates
# between the leaf and the anchor. Python's ssl cannot change it, so it is the openssl profile's
# limit unless Settings.max_depth says otherwise; one more and OpenSSL refuses the chain as
# "certificate chain too long".
OPENSSL_DEFAULT_DEPTH = 100
# Path builders and name-constraint checkers all stop somewhere, so that a crafted certificate
# graph (x509-limbo has several) cannot keep them busy forever. This one follows any path OpenSSL
# accepts by default: the leaf, 100 intermediates and the anchor.
MAX_PATH_LENGTH = OPENSSL_DEFAULT_DEPTH + 2
MAX_PATHS = 64
MAX_CANDIDATES = 1000  # issuer candidates examined

_SELF_SIGNED, _SELF_SIGNED_IN_CHAIN = "self-signed certificate", "self-signed certificate in certificate chain"
_NO_LOCAL_ISSUER, _NO_ISSUER = "unable to get local issuer certificate", "unable to get issuer certificate"
_TOO_LONG = "certificate chain too long"


@dataclass
class Path:
    """A path, leaf first; ``complete`` when it ends at a trust anchor, else why it stopped."""

    certs: list[Cert]
    complete: bool
    problem: str = ""  # why chain building stopped, when incomplete
    openssl: str | None = None
    undecided: bool = False  # stopped at one of this verifier's bounds: a path it did not follow may exist


@dataclass
class Store:
    """The certificates a path may use: the trust anchors and the presented intermediates."""

    anchors: list[Cert]
    untrusted: list[Cert]


def _is_anchor_end(question: Question, cert: Cert) -> bool:
    """Whether the path may stop at ``cert``."""
    if not cert.trusted:
        return False
    return question.webpki or question.settings.partial_chain or cert.self_signed


def _candidates(question: Question, store: Store, cert: Cert, path: list[Cert]) -> list[Cert]:
    used = {c.der for c in path}
    pool = store.anchors if cert.trusted and not question.webpki else [*store.anchors, *store.untrusted]
    found = [c for c in pool if c.der not in used and c.subject == cert.issuer
             and cert.akid_matches(c) and cert.key_matches_signature(c)]
    if not question.webpki:
        # OpenSSL prefers an issuer valid at the verification time.
        found.sort(key=lambda c: not question.time_ok(c))
    return found


def _self_signed_end(path: list[Cert]) -> Path:
    if len(path) == 1:
        return Path(list(path), False, "the leaf signed itself and is not in the trust store", _SELF_SIGNED)
    return Path(list(path), False, f"'{path[-1].label}' signed itself and is not in the trust store",
                _SELF_SIGNED_IN_CHAIN)


def _missing_issuer(path: list[Cert]) -> Path:
    current = path[-1]
    return Path(list(path), False, f"no certificate named '{issuer_label(current)}' (the issuer of "
                                   f"'{current.label}') in the presented chain or the trust store", _NO_LOCAL_ISSUER)


def _too_deep(max_depth: int, path: list[Cert], default: bool) -> Path:
    whose = " (OpenSSL's default verify depth)" if default else ""
    return Path(list(path), False, f"more than {max_depth} intermediate(s) needed{whose}", _TOO_LONG)


def _too_long(path: list[Cert]) -> Path:
    return Path(list(path), False, f"the path is longer than {MAX_PATH_LENGTH} certificates, the most this "
                                   "verifier follows", undecided=True)


def build_openssl(question: Question, store: Store) -> Path:
    """OpenSSL's greedy construction: trusted issuers first, then presented ones, no backtracking."""
    path = [question.leaf]
    max_depth = question.settings.max_depth
    default_depth = max_depth is None
    if default_depth:
        max_depth = OPENSSL_DEFAULT_DEPTH
    while True:
        current = path[-1]
        if _is_anchor_end(question, current):
            return Path(path, True)
        if current.self_signed and not current.trusted:
            return _self_signed_end(path)
        candidates = _candidates(question, store, current, path)
        if len(path) > max_depth + 1 and candidates:
            return _too_deep(max_depth, path, default_depth)
        if candidates and len(path) >= MAX_PATH_LENGTH:
            return _too_long(path)
        if not candidates:
            if current.trusted:
                return Path(path, False, f"'{current.label}' is in the trust store but is not self-signed, and "
                                         f"its issuer '{issuer_label(current)}' is nowhere to be found "
                                         "(partial chains are not allowed)", _NO_ISSUER)
            return _missing_issuer(path)
        path = [*path, candidates[0]]


class _Search:
    """One bounded depth-first search for every path to an anchor."""

    def __init__(self, question: Question, store: Store):
        self.question, self.store = question, store
        self.complete: list[Path] = []
        self.dead_ends: list[Path] = []
        self.stopped: Path | None = None  # where the search first met one of its bounds
        self.examined = 0

    def stop(self, path: Path) -> None:
        if self.stopped is None:
            self.stopped = path

    def walk(self, path: list[Cert]) -> None:
        self.examined += 1
        if len(self.complete) >= MAX_PATHS:
            self.stop(Path(list(path), False, f"stopped after {MAX_PATHS} paths to a trust anchor, none of them "
                                              "valid, the most this verifier examines", undecided=True))
            return
        if self.examined > MAX_CANDIDATES:
            self.stop(Path(list(path), False, f"gave up after examining {MAX_CANDIDATES} candidate issuers, the "
                                              "most this verifier examines, without reaching a trust anchor",
                           undecided=True))
            return
        current = path[-1]
        if _is_anchor_end(self.question, current):
            self.complete.append(Path(list(path), True))
            return
        max_depth = self.question.settings.max_depth
        if max_depth is not None and len(path) > max_depth + 1:
            self.dead_ends.append(_too_deep(max_depth, path, False))
            return
        candidates = _candidates(self.question, self.store, current, path)
        if not candidates:
            self.dead_ends.append(_self_signed_end(path) if current.self_signed else _missing_issuer(path))
            return
        if len(path) >= MAX_PATH_LENGTH:
            self.stop(_too_long(path))
            return
        for candidate in candidates:
            self.walk([*path, candidate])


def _anchor_reachable(question: Question, store: Store) -> bool:
    """Whether any chain of issuer candidates, repeats allowed, leads from the leaf to an anchor: if
    none does, no path exists, however long a search would run."""
    seen, frontier = {question.leaf.der}, [question.leaf]
    while frontier:
        current = frontier.pop()
        if _is_anchor_end(question, current):
            return True
        for candidate in _candidates(question, store, current, []):
            if candidate.der not in seen:
                seen.add(candidate.der)
                frontier.append(candidate)
    return False


def build_all(question: Question, store: Store) -> tuple[list[Path], Path | None]:
    """Every path to an anchor (depth-first, bounded), and the path to explain if none is valid: the
    one where the search met a bound (``undecided``), or else the dead end that went furthest."""
    search = _Search(question, store)
    search.walk([question.leaf])
    if search.stopped is not None:
        if _anchor_reachable(question, store):
            return search.complete, search.stopped
        if not search.dead_ends:  # every branch met a bound, and none could have reached an anchor
            return [], Path(search.stopped.certs, False, "no chain of issuers from the leaf reaches a trust anchor",
                            _NO_LOCAL_ISSUER)
    search.dead_ends.sort(key=lambda p: -len(p.certs))
    return search.complete, search.dead_ends[0] if search.dead_ends else None
