"""The chapters as committed: executed in order, nothing machine-specific in their outputs, the house
layout, and each one still correct when a class presses "Run All" twice in the same kernel."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from mtlslib.course import chapters, course_map

pytestmark = pytest.mark.usefixtures("jupyter_kernels")

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
CHAPTERS = sorted(p.name for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
MACHINE_PATH = re.compile(r"(/tmp/|/root/|/home/|/work/|/Users/|[A-Z]:\\\\Users)")


def _cells(name: str) -> list[dict]:
    return json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))["cells"]


def _expects_error(cell) -> bool:
    source = "".join(cell.get("source", ""))
    return "NBVAL_RAISES_EXCEPTION" in source or "raises-exception" in cell.get("metadata", {}).get("tags", [])


@pytest.mark.parametrize("name", CHAPTERS)
def test_committed_executed_in_order_with_clean_outputs(name):
    code = [c for c in _cells(name) if c["cell_type"] == "code" and "".join(c["source"]).strip()]
    counts = [c["execution_count"] for c in code]
    assert None not in counts, f"{name}: some code cells were never run, so nbval would compare nothing there"
    assert counts == list(range(1, len(code) + 1)), f"{name}: not executed top to bottom in one run"
    for cell in code:
        assert "NBVAL_SKIP" not in "".join(cell["source"]), f"{name}: a skipped cell"
        for output in cell["outputs"]:
            assert output.get("name") != "stderr", f"{name}: stderr output (a warning?) in:\n{''.join(cell['source'])}"
            if output["output_type"] == "error":
                assert _expects_error(cell), f"{name}: an unexpected error output ({output['ename']})"
            assert not MACHINE_PATH.search(json.dumps(output)), f"{name}: an output shows a path of this machine"


@pytest.mark.parametrize("name", CHAPTERS)
def test_house_layout(name):
    cells = _cells(name)
    opening = "".join(cells[0]["source"])
    assert cells[0]["cell_type"] == "markdown" and opening.startswith("# "), f"{name}: no title first"
    assert len(opening.split("\n\n")) >= 2, f"{name}: the title needs a paragraph saying what the reader will do"
    closing = "".join("".join(c["source"]) for c in cells[-3:] if c["cell_type"] == "markdown")
    if not name.startswith("00_"):
        assert "## Recap" in closing and "## Check your understanding" in closing, f"{name}: no recap/questions"


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", CHAPTERS)
def test_run_all_twice_in_the_same_kernel(name):
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = NotebookClient(notebook, timeout=60, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    with client.setup_kernel():
        for run in (1, 2):
            for index, cell in enumerate(notebook.cells):
                if cell.cell_type != "code":
                    continue
                client.execute_cell(cell, index)
                errors = [o for o in cell.outputs if o.output_type == "error"]
                assert not errors or _expects_error(cell), (
                    f"{name}, run {run}: {errors[0].ename}: {errors[0].evalue} in\n{cell.source}")


def test_the_course_map_lists_every_chapter_in_order_with_a_title_and_a_time(monkeypatch):
    # Chapter 00 prints this map without comparing it (it changes whenever any chapter does): checked here.
    monkeypatch.chdir(NOTEBOOKS.parent)
    entries = re.findall(r"^(\d\d_\S+\.ipynb)  ~(\d+) min  (.+)$", course_map("notebooks"), flags=re.MULTILINE)
    assert [notebook for notebook, _, _ in entries] == CHAPTERS
    for notebook, minutes, title in entries:
        assert int(minutes) >= 5, f"{notebook}: no reading time"
        assert title == "".join(_cells(notebook)[0]["source"]).splitlines()[0].removeprefix("# "), notebook


def test_the_readme_lists_every_chapter_with_the_course_map_s_time(monkeypatch):
    # The README's table is what a teacher reads before opening anything: it must not drift from
    # the chapters (a chapter added, or one that grew, shows here).
    monkeypatch.chdir(NOTEBOOKS.parent)
    readme = (NOTEBOOKS.parent / "README.md").read_text()
    rows = dict(re.findall(r"^\| `(\d\d_\w+)` \| .+ \| ~(\d+) min \|$", readme, flags=re.MULTILINE))
    expected = {c.notebook.removesuffix(".ipynb"): str(c.minutes) for c in chapters("notebooks")}
    assert rows == expected


def test_the_sanitizer_replaces_diagrams_first_and_leaves_charts_to_be_compared():
    # nbval compares SVG outputs. A graphviz diagram's SVG changes with graphviz's version (its DOT
    # source beside it is compared instead): the first pattern replaces it, so that the others scan a
    # few words. mtlslib's charts are the same on every run: they stay, and nbval compares them.
    from nbval.plugin import get_sanitize_patterns

    patterns = get_sanitize_patterns((NOTEBOOKS / "nbval-sanitize.cfg").read_text(encoding="utf-8"))
    regex, replace = patterns[0]
    assert replace == "<svg picture>"
    diagrams, charts = 0, 0
    for name in CHAPTERS:
        for cell in _cells(name):
            for output in cell.get("outputs", []):
                assert "image/png" not in output.get("data", {}), f"{name}: a PNG output (the course draws SVG)"
                if "image/svg+xml" in output.get("data", {}):
                    svg = "".join(output["data"]["image/svg+xml"])
                    if 'class="mtlslib-chart"' in svg.split(">", 1)[0]:
                        charts += 1
                        assert re.sub(regex, replace, svg) == svg, f"{name}: a chart was replaced"
                    else:
                        diagrams += 1
                        assert re.sub(regex, replace, svg) == "<svg picture>", f"{name}: diagram left as {svg[:60]!r}"
    assert diagrams >= 10 and charts >= 6
