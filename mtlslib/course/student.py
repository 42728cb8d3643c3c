"""The student edition: ``make student`` (``python -m mtlslib.course.student SRC_DIR DEST_DIR``).

``make lab`` opens this edition, never the committed one (which holds the solutions, the executed
answers and the teachers' answers). Every chapter is copied with the solutions removed, every output
cleared and every cell tagged ``teacher`` (answers to "check your understanding") dropped. A chapter
that already exists in DEST_DIR is the student's own work and is never overwritten: only missing
chapters are written, each created exclusively (a file that appears meanwhile is left alone). A solution region
(``### BEGIN SOLUTION`` ... ``### END SOLUTION``) becomes ``# YOUR CODE HERE`` and
``raise NotImplementedError()`` at the same indentation, as nbgrader's ClearSolutions does;
``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS`` regions are dropped.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mtlslib.errors import UsageError

from .command import edition_command

__all__ = ["TEACHER_TAG", "Edition", "clear_solutions", "student_notebook", "write_student_edition"]

TEACHER_TAG = "teacher"
"""Cells with this tag (answers for teachers) exist only in the full edition."""

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
        if TEACHER_TAG in cell.get("metadata", {}).get("tags", []):
            continue
        cell = dict(cell)
        source = "".join(cell.get("source", ""))
        cell["source"] = clear_solutions(source)
        if cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
        cells.append(cell)
    return {**notebook, "cells": cells}


@dataclass(frozen=True)
class Edition:
    """What :func:`write_student_edition` did: the chapters it wrote and the ones it kept as they were."""

    written: tuple[Path, ...]
    kept: tuple[Path, ...]

    def __str__(self) -> str:
        lines = [f"wrote {path}" for path in self.written]
        lines += [f"kept {path} (your work: never overwritten; delete or rename it to get a fresh copy)"
                  for path in self.kept]
        return "\n".join(lines)


def write_student_edition(source_dir: Path, destination: Path) -> Edition:
    """Write the student copy of every chapter of ``source_dir`` that ``destination`` does not have yet."""
    source_dir, destination = Path(source_dir), Path(destination)
    chapters = sorted(source_dir.glob("[0-9][0-9]_*.ipynb"))
    if not chapters:
        raise UsageError(f"{source_dir}: no chapters (NN_name.ipynb) in it; give the course's notebooks folder")
    if destination.exists() and not destination.is_dir():
        raise UsageError(f"{destination}: exists and is not a folder; give a folder for the student edition")
    destination.mkdir(parents=True, exist_ok=True)
    written, kept = [], []
    for path in chapters:
        target = destination / path.name
        text = json.dumps(student_notebook(json.loads(path.read_text(encoding="utf-8"))),
                          indent=1, ensure_ascii=False) + "\n"
        if _create_whole(target, text):
            written.append(target)
        else:
            kept.append(target)
    return Edition(tuple(written), tuple(kept))


def _create_whole(target: Path, text: str) -> bool:
    """Create ``target`` holding ``text``, unless it exists; never a half-written file.

    The text goes to a temporary file beside it first, then a hard link gives it its name: linking
    fails if the name is taken, so an existing file (the student's work) is never replaced.
    """
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=target.parent, prefix=".new-",
                                     suffix=".ipynb", delete=False) as file:
        file.write(text)
    try:
        os.link(file.name, target)
    except FileExistsError:
        return False
    except OSError:  # a file system without hard links: create exclusively, then write
        try:
            with open(target, "x", encoding="utf-8") as exclusive:
                exclusive.write(text)
        except FileExistsError:
            return False
    finally:
        os.unlink(file.name)
    return True


def main(argv: list[str] | None = None) -> int:
    return edition_command(argv, "student", "DESTINATION_DIR", write_student_edition)


if __name__ == "__main__":
    sys.exit(main())
