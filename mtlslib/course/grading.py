"""A course directory for grading with nbgrader: ``make grade-setup``
(``python -m mtlslib.course.grading NOTEBOOK_DIR COURSE_DIR``).

Every chapter with exercises (cells carrying nbgrader metadata) becomes one assignment named after
it, ``COURSE_DIR/source/NN_name/NN_name.ipynb``: the full edition, solutions included, as nbgrader
expects. ``nbgrader_config.py`` beside it makes ``nbgrader generate_assignment`` also drop the cells
tagged ``teacher`` (the answers to "check your understanding"), which nbgrader alone would release.
Nothing that exists is overwritten: the gradebook refers to the source a class was graded against,
and the teacher may have edited the configuration.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from mtlslib.errors import UsageError

from .command import edition_command
from .student import TEACHER_TAG

__all__ = ["NBGRADER_CONFIG", "GradingCourse", "graded_chapters", "write_grading_course"]

NBGRADER_CONFIG = f'''\
# nbgrader's configuration for this course, read from the directory nbgrader runs in.
from nbconvert.preprocessors import TagRemovePreprocessor
from nbgrader.converters import GenerateAssignment

c = get_config()  # nbgrader defines get_config() when it reads this file
c.CourseDirectory.course_id = "tls-mtls"

# The released copy drops the answers written for teachers (cells tagged "{TEACHER_TAG}"), then nbgrader
# does what it always does (solutions replaced by stubs, outputs cleared, checks locked).
c.GenerateAssignment.preprocessors = [TagRemovePreprocessor,
                                      *GenerateAssignment.class_traits()["preprocessors"].default()]
c.TagRemovePreprocessor.enabled = True
c.TagRemovePreprocessor.remove_cell_tags = ["{TEACHER_TAG}"]
'''


def graded_chapters(source_dir: Path) -> list[Path]:
    """The chapters of ``source_dir`` that hold at least one nbgrader cell, in course order."""
    return [path for path in sorted(Path(source_dir).glob("[0-9][0-9]_*.ipynb"))
            if any("nbgrader" in cell.get("metadata", {})
                   for cell in json.loads(path.read_text(encoding="utf-8"))["cells"])]


@dataclass(frozen=True)
class GradingCourse:
    """What :func:`write_grading_course` did: the files it wrote and the ones it kept as they were."""

    root: Path
    written: tuple[Path, ...]
    kept: tuple[Path, ...]

    @property
    def assignments(self) -> tuple[str, ...]:
        return tuple(sorted(path.name for path in (self.root / "source").iterdir() if path.is_dir()))

    def __str__(self) -> str:
        lines = [f"wrote {path}" for path in self.written]
        lines += [f"kept {path} (already there: never overwritten)" for path in self.kept]
        lines.append(f"assignments in {self.root}: {' '.join(self.assignments)}")
        return "\n".join(lines)


def write_grading_course(source_dir: Path, course_dir: Path) -> GradingCourse:
    """Write nbgrader's course directory for ``source_dir``'s chapters with exercises, adding only what is missing."""
    source_dir, course_dir = Path(source_dir), Path(course_dir)
    chapters = graded_chapters(source_dir)
    if not chapters:
        raise UsageError(f"{source_dir}: no chapter (NN_name.ipynb) with nbgrader cells; "
                         "give the course's notebooks folder")
    if course_dir.exists() and not course_dir.is_dir():
        raise UsageError(f"{course_dir}: exists and is not a folder; give a folder for the grading course")
    written, kept = [], []
    config = course_dir / "nbgrader_config.py"
    course_dir.mkdir(parents=True, exist_ok=True)
    if _create(config, NBGRADER_CONFIG.encode()):
        written.append(config)
    else:
        kept.append(config)
    for chapter in chapters:
        target = course_dir / "source" / chapter.stem / chapter.name
        target.parent.mkdir(parents=True, exist_ok=True)
        if _create(target, chapter.read_bytes()):
            written.append(target)
        else:
            kept.append(target)
    return GradingCourse(course_dir, tuple(written), tuple(kept))


def _create(path: Path, content: bytes) -> bool:
    """Create ``path`` holding ``content``, unless it exists (then False)."""
    try:
        with path.open("xb") as file:
            file.write(content)
    except FileExistsError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    return edition_command(argv, "grading", "COURSE_DIR", write_grading_course)


if __name__ == "__main__":
    sys.exit(main())
