"""The student edition: ``make student`` (``python -m mtlslib.course.student SRC_DIR DEST_DIR``).

Copies every chapter with the solutions removed and every output cleared. A solution region
(``### BEGIN SOLUTION`` ... ``### END SOLUTION``) becomes ``# YOUR CODE HERE`` and
``raise NotImplementedError()`` at the same indentation, as nbgrader's ClearSolutions does;
``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS`` regions are dropped.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

__all__ = ["clear_solutions", "student_notebook", "write_student_edition"]

_SOLUTION = re.compile(r"^([ \t]*)### BEGIN SOLUTION[^\n]*\n.*?^[ \t]*### END SOLUTION[^\n]*(\n|$)", re.S | re.M)
_HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS[^\n]*\n.*?^[ \t]*### END HIDDEN TESTS[^\n]*(\n|$)", re.S | re.M)


def clear_solutions(source: str) -> str:
    """``source`` with each solution region replaced by a stub that raises NotImplementedError."""
    source = _SOLUTION.sub(lambda m: f"{m.group(1)}# YOUR CODE HERE\n{m.group(1)}raise NotImplementedError()\n",
                           source)
    return _HIDDEN.sub("", source).rstrip("\n")


def student_notebook(notebook: dict) -> dict:
    """A copy of an instructor notebook (nbformat JSON) for students."""
    cells = []
    for cell in notebook["cells"]:
        cell = dict(cell)
        source = "".join(cell.get("source", ""))
        cell["source"] = clear_solutions(source)
        if cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
        cells.append(cell)
    return {**notebook, "cells": cells}


def write_student_edition(source_dir: Path, destination: Path) -> list[Path]:
    destination.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted(Path(source_dir).glob("[0-9][0-9]_*.ipynb")):
        target = destination / path.name
        target.write_text(json.dumps(student_notebook(json.loads(path.read_text(encoding="utf-8"))),
                                     indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print("usage: python -m mtlslib.course.student NOTEBOOK_DIR DESTINATION_DIR", file=sys.stderr)
        return 2
    for path in write_student_edition(Path(argv[0]), Path(argv[1])):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
