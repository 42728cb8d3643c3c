"""How long the collection takes under nbval, against the floor of empty notebooks.

``python benchmarks/notebooks.py [--rounds N]`` runs, side by side and alternately, the chapters
under ``pytest --nbval`` (exactly as ``make test`` does) and the same number of one-cell notebooks
run the same way (the floor: kernel start-up and nbval's own cost). It prints the median ratio
(target: at most 2x the floor) and each chapter's own time (target: under 5 s on a 2-core machine).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
SANITIZE = NOTEBOOKS / "nbval-sanitize.cfg"
RATIO_TARGET, CHAPTER_TARGET = 2.0, 5.0


def _nbval(paths: list[Path], report: Path) -> float:
    """Wall time of one ``pytest --nbval`` run over ``paths``; per-cell times go to ``report``."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval", "--nbval-current-env",
               "--nbval-sanitize-with", str(SANITIZE), "--nbval-cell-timeout=60", f"--junitxml={report}",
               *map(str, paths)]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"nbval failed, so the timing would mean nothing:\n{done.stdout[-2000:]}")
    return elapsed


def _per_notebook(report: Path) -> dict[str, float]:
    totals: dict[str, float] = defaultdict(float)
    for case in ET.parse(report).iter("testcase"):
        # nbval names each cell's test case after its notebook's path, dotted: "notebooks.01_x.ipynb".
        notebook = case.get("classname", "")
        totals[notebook.removeprefix("notebooks.").rsplit(".", 1)[0] + ".ipynb"] += float(case.get("time", 0))
    return dict(totals)


def _floor_notebooks(directory: Path, count: int) -> list[Path]:
    paths = []
    for index in range(count):
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1)", execution_count=1,
                                                                               outputs=[nbformat.v4.new_output(
                                                                                   "stream", name="stdout",
                                                                                   text="1\n")])])
        notebook.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
        path = directory / f"{index:02d}_empty.ipynb"
        nbformat.write(notebook, path)
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="alternate rounds of each (default 3: a median of three)")
    args = parser.parse_args(argv)
    chapters = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    collection_times, floor_times, per_chapter = [], [], defaultdict(list)
    with tempfile.TemporaryDirectory(prefix="mtls-benchmark-") as scratch:
        floor = _floor_notebooks(Path(scratch), len(chapters))
        report = Path(scratch) / "report.xml"
        for _ in range(args.rounds):
            collection_times.append(_nbval(chapters, report))
            for name, seconds in _per_notebook(report).items():
                per_chapter[name].append(seconds)
            floor_times.append(_nbval(floor, report))
    collection, floor_time = statistics.median(collection_times), statistics.median(floor_times)
    ratio = collection / floor_time
    print(f"{len(chapters)} chapters under nbval: {collection:.1f} s; {len(chapters)} one-cell notebooks: "
          f"{floor_time:.1f} s; ratio {ratio:.2f}x (target <= {RATIO_TARGET:.0f}x) "
          f"{'PASS' if ratio <= RATIO_TARGET else 'MISS'}")
    slow = []
    for name in sorted(per_chapter):
        seconds = statistics.median(per_chapter[name])
        slow += [name] if seconds > CHAPTER_TARGET else []
        print(f"  {name:<42} {seconds:5.1f} s")
    print(f"slowest chapter under {CHAPTER_TARGET:.0f} s: {'PASS' if not slow else 'MISS: ' + ', '.join(slow)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
