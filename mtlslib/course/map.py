"""The collection itself: which notebooks exist, what each one teaches, what it takes.

Read from the notebooks themselves, so the map in the start notebook never drifts from the
chapters that are really there.
"""

from __future__ import annotations

import json
import math
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Chapter", "chapters", "course_map"]

# A reader's pace, for the time estimate: prose read at 180 words a minute, half a minute to run
# and read each code cell's output, five minutes per exercise.
WORDS_PER_MINUTE, MINUTES_PER_CODE_CELL, MINUTES_PER_EXERCISE = 180, 0.5, 5

# What a chapter uses beyond Python and mtlslib, recognised in its code.
_NEEDS = (
    (re.compile(r"\b(\w+_diagram|side_by_side)\b"), "graphviz (dot)"),
    (re.compile(r"\b(curl|openssl_s_client)\("), "curl and openssl (optional: skipped when missing)"),
)


@dataclass(frozen=True)
class Chapter:
    notebook: str
    title: str
    goal: str
    minutes: int  # estimated time to work through it
    needs: tuple[str, ...]


def _chapter(notebook: Path) -> Chapter:
    cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
    sources = [("".join(c.get("source", "")), c) for c in cells]
    markdown = next((s for s, c in sources if c.get("cell_type") == "markdown"), "")
    paragraphs = [p.strip() for p in markdown.split("\n\n") if p.strip()]
    title = next((p.lstrip("# ").splitlines()[0] for p in paragraphs if p.startswith("# ")), notebook.stem)
    opening = next((" ".join(p.split()) for p in paragraphs if not p.startswith("#")), "")
    goal = re.split(r"(?<=[.!?])\s", opening, maxsplit=1)[0]  # the first sentence says what you will do
    # Answers for teachers (cells tagged "teacher") are not in the edition a student works through.
    words = sum(len(s.split()) for s, c in sources
                if c.get("cell_type") == "markdown" and "teacher" not in c.get("metadata", {}).get("tags", []))
    code = [s for s, c in sources if c.get("cell_type") == "code"]
    exercises = sum(1 for _, c in sources if c.get("metadata", {}).get("nbgrader", {}).get("solution"))
    minutes = words / WORDS_PER_MINUTE + MINUTES_PER_CODE_CELL * len(code) + MINUTES_PER_EXERCISE * exercises
    all_code = "\n".join(code)
    needs = tuple(need for pattern, need in _NEEDS if pattern.search(all_code))
    return Chapter(notebook.name, title, goal, 5 * max(1, math.ceil(minutes / 5)), needs)


def chapters(notebook_dir: str | Path = ".") -> list[Chapter]:
    """The chapters in ``notebook_dir`` (numbered ``NN_name.ipynb``), in reading order."""
    return [_chapter(p) for p in sorted(Path(notebook_dir).glob("[0-9][0-9]_*.ipynb"))]


def course_map(notebook_dir: str | Path = ".") -> str:
    """The learning path as text: file, title, estimated time, what it teaches and needs."""
    lines = []
    items = chapters(notebook_dir)
    for chapter in items:
        lines.append(f"{chapter.notebook}  ~{chapter.minutes} min  {chapter.title}")
        lines.extend(textwrap.wrap(chapter.goal, width=92, initial_indent="    ", subsequent_indent="    "))
        if chapter.needs:
            lines.append("    needs: " + "; ".join(chapter.needs))
    total = sum(c.minutes for c in items)
    lines.append(f"\nIn all: {len(items)} chapters, about {total // 60} h {total % 60:02d} min at a reader's pace.")
    return "\n".join(lines)
