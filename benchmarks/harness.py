"""Side-by-side timing: each benchmark races a contestant against a reference in one process.

The two run interleaved, round after round, alternating who goes first, so that whatever drifts
during a run (CPU frequency, other processes, caches) slows both alike. The figure of merit is a
ratio, which travels between machines far better than milliseconds do: the median, over all
rounds, of contestant time / reference time *within the same round*. Pairing rounds this way
keeps a burst of background load, which hits both halves of a round, out of the ratio.
"""

from __future__ import annotations

import gc
import statistics
import textwrap
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Callable, Iterable

# A setup yields the two callables to time, (contestant, reference), and tears down afterwards.
Pair = tuple[Callable[[], object], Callable[[], object]]
Setup = Callable[[], AbstractContextManager[Pair]]


@dataclass(frozen=True)
class Benchmark:
    name: str
    description: str
    contestant: str
    reference: str
    target: float | None  # the highest acceptable contestant/reference ratio; None: reported only
    setup: Setup
    repeats: int
    warmup: int


@dataclass(frozen=True)
class Measurement:
    benchmark: Benchmark
    contestant_times: tuple[float, ...]  # seconds, one per round
    reference_times: tuple[float, ...]

    @property
    def ratio(self) -> float:
        return statistics.median(c / r for c, r in zip(self.contestant_times, self.reference_times))

    @property
    def contestant_median(self) -> float:
        return statistics.median(self.contestant_times)

    @property
    def reference_median(self) -> float:
        return statistics.median(self.reference_times)

    @property
    def passed(self) -> bool:
        return self.benchmark.target is None or self.ratio <= self.benchmark.target


REGISTRY: list[Benchmark] = []


def benchmark(name: str, *, description: str, contestant: str, reference: str, target: float | None,
              repeats: int = 1000, warmup: int = 50) -> Callable[[Setup], Setup]:
    """Register ``setup``: a context-manager factory yielding ``(contestant, reference)``."""

    def register(setup: Setup) -> Setup:
        REGISTRY.append(Benchmark(name, description, contestant, reference, target, setup, repeats, warmup))
        return setup

    return register


# Garbage is collected every this many rounds, outside the timed calls: never inside one side's
# timing and not the other's, and never allowed to pile up into one long pause.
_COLLECT_EVERY = 25


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(bench: Benchmark, repeats: int | None = None) -> Measurement:
    repeats = repeats or bench.repeats
    contestant_times: list[float] = []
    reference_times: list[float] = []
    with bench.setup() as (contestant, reference):
        for _ in range(bench.warmup):
            contestant()
            reference()
        gc.collect()
        # What is alive now (modules, contexts, certificates, servers) stays alive: frozen, it is
        # left out of every collection below, which keeps them short and alike.
        gc.freeze()
        gc.disable()
        try:
            for round_ in range(repeats):
                if round_ % _COLLECT_EVERY == 0:
                    gc.collect()
                # Whoever runs second may find caches warm, or a server thread still finishing.
                if round_ % 2:
                    reference_times.append(_timed(reference))
                    contestant_times.append(_timed(contestant))
                else:
                    contestant_times.append(_timed(contestant))
                    reference_times.append(_timed(reference))
        finally:
            gc.enable()
            gc.unfreeze()
    return Measurement(bench, tuple(contestant_times), tuple(reference_times))


_COLUMNS = "{:<28} {:>24} {:>24} {:>7} {:>8}  {}"


def report(measurements: Iterable[Measurement], print_: Callable[[str], None] = print) -> list[Measurement]:
    """Print one table row per measurement as it arrives, then what each benchmark measures."""
    header = _COLUMNS.format("benchmark", "contestant (median)", "reference (median)", "ratio", "target", "result")
    print_(header)
    print_("-" * len(header))
    done: list[Measurement] = []
    for m in measurements:
        b = m.benchmark
        print_(_COLUMNS.format(b.name, f"{b.contestant} {_ms(m.contestant_median)}",
                               f"{b.reference} {_ms(m.reference_median)}", f"{m.ratio:.2f}x",
                               "-" if b.target is None else f"<={b.target:.2f}x",
                               "REPORTED" if b.target is None else "PASS" if m.passed else "MISS"))
        done.append(m)
    print_("")
    for m in done:
        b = m.benchmark
        print_(textwrap.fill(f"{b.name}: {b.description} ({len(m.contestant_times)} rounds)", width=len(header),
                             subsequent_indent="    "))
    return done


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f} ms"
