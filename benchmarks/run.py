"""Benchmarks of mtlslib against trustme and bare ``ssl``: ``python benchmarks/run.py [--quick]``.

Prints one row per benchmark: each side's median time, their ratio and the target ratio. A
missed target is reported, not enforced: the exit status is 0 unless something crashes. New
benchmarks go in ``cases.py`` (see :func:`harness.benchmark`).
"""

from __future__ import annotations

import argparse
import os
import platform
import ssl
import sys
import time

import cases  # noqa: F401  (registering the benchmarks is what importing it does)
from harness import REGISTRY, measure, report

QUICK_FRACTION = 5


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time mtlslib against trustme and bare ssl, side by side.")
    parser.add_argument("--quick", action="store_true",
                        help=f"1/{QUICK_FRACTION} of the rounds: a rough figure in a few seconds")
    parser.add_argument("-k", metavar="TEXT", default="", help="only the benchmarks whose name contains TEXT")
    args = parser.parse_args(argv)
    selected = [b for b in REGISTRY if args.k.lower() in b.name.lower()]
    if not selected:
        parser.error(f"no benchmark name contains {args.k!r}; there are: {', '.join(b.name for b in REGISTRY)}")

    cpus = os.cpu_count() or 1
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    print(f"Python {platform.python_version()}, {ssl.OPENSSL_VERSION}, {cpus} CPUs"
          + (f", load average {load:.1f}" if load is not None else ""))
    if load is not None and load > cpus / 2:
        print("note: the machine is busy; ratios are paired round by round, but expect more noise than usual")
    print()

    started = time.perf_counter()
    rounds = (lambda b: max(20, b.repeats // QUICK_FRACTION)) if args.quick else (lambda b: b.repeats)
    measurements = report(measure(b, rounds(b)) for b in selected)
    missed = [m.benchmark.name for m in measurements if not m.passed]
    targeted = [m for m in measurements if m.benchmark.target is not None]
    print(f"\n{len(targeted) - len(missed)} of {len(targeted)} targets met in "
          f"{time.perf_counter() - started:.0f} s" + (f"; missed: {', '.join(missed)}" if missed else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
