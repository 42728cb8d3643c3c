"""The collection itself: which notebooks exist and what each one teaches.

Read from the notebooks' own opening cells, so the map in the start notebook never drifts from
the chapters that are really there.
"""

from __future__ import annotations

import json
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Chapter", "chapters", "course_map"]


@dataclass(frozen=True)
class Chapter:
    notebook: str
    title: str
    goal: str


def _opening(notebook: Path) -> tuple[str, str]:
    cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
    markdown = next(("".join(c["source"]) for c in cells if c.get("cell_type") == "markdown"), "")
    paragraphs = [p.strip() for p in markdown.split("\n\n") if p.strip()]
    title = next((p.lstrip("# ").splitlines()[0] for p in paragraphs if p.startswith("# ")), notebook.stem)
    opening = next((" ".join(p.split()) for p in paragraphs if not p.startswith("#")), "")
    goal = re.split(r"(?<=[.!?])\s", opening, maxsplit=1)[0]  # the first sentence says what you will do
    return title, goal


def chapters(notebook_dir: str | Path = ".") -> list[Chapter]:
    """The chapters in ``notebook_dir`` (numbered ``NN_name.ipynb``), in reading order."""
    found = sorted(p for p in Path(notebook_dir).glob("[0-9][0-9]_*.ipynb"))
    return [Chapter(p.name, *_opening(p)) for p in found]


def course_map(notebook_dir: str | Path = ".") -> str:
    """The chapters as a short text map: file, title, and what the reader will be able to do."""
    lines = []
    for chapter in chapters(notebook_dir):
        lines.append(f"{chapter.notebook}  {chapter.title}")
        lines.extend(textwrap.wrap(chapter.goal, width=92, initial_indent="    ", subsequent_indent="    "))
    return "\n".join(lines)
