"""Grading with nbgrader, as a teacher does it: ``make grade-setup`` writes the course directory, then
nbgrader's own commands (generate_assignment, autograde, generate_feedback, export) run on it for real.

Every chapter with nbgrader cells is released, and its released copy is the student edition: no
solution, no output, no answer for teachers. The solved chapters (the full edition in notebooks/) score
full marks and the released blanks score zero. Autograding executes each chapter twice (solved and
blank): all of them take over a minute on two cores, so by default it grades the first and the last
chapter with exercises (a new chapter is the last one, so it is graded as soon as it lands), and
``MTLSLIB_GRADE_ALL=1`` grades every one.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mtlslib.course.grading import NBGRADER_CONFIG, graded_chapters, write_grading_course
from mtlslib.course.student import TEACHER_TAG, student_notebook
from mtlslib.errors import UsageError

# The first test that needs the graded course directory runs the whole round (see above).
pytestmark = pytest.mark.timeout(600)

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
CHAPTERS = graded_chapters(NOTEBOOKS)
GRADED = CHAPTERS if os.environ.get("MTLSLIB_GRADE_ALL") == "1" else sorted({CHAPTERS[0], CHAPTERS[-1]})


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _points(path: Path) -> float:
    return float(sum(cell["metadata"]["nbgrader"].get("points", 0) for cell in _cells(path)
                     if cell["metadata"].get("nbgrader", {}).get("grade")))


def test_every_chapter_with_exercises_is_an_assignment():
    with_exercises = [path for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
                      if any("### BEGIN SOLUTION" in "".join(cell["source"]) for cell in _cells(path))]
    assert CHAPTERS == with_exercises
    assert all(_points(path) > 0 for path in CHAPTERS), "a chapter with exercises has no points to give"


def test_grade_setup_writes_the_course_directory_and_never_overwrites(tmp_path):
    course = write_grading_course(NOTEBOOKS, tmp_path / "grading")
    assert course.assignments == tuple(path.stem for path in CHAPTERS)
    for path in CHAPTERS:
        assert (tmp_path / "grading" / "source" / path.stem / path.name).read_bytes() == path.read_bytes()
    assert (tmp_path / "grading" / "nbgrader_config.py").read_text() == NBGRADER_CONFIG
    (tmp_path / "grading" / "nbgrader_config.py").write_text("# the teacher's own\n")
    again = write_grading_course(NOTEBOOKS, tmp_path / "grading")
    assert again.written == () and len(again.kept) == len(CHAPTERS) + 1
    assert (tmp_path / "grading" / "nbgrader_config.py").read_text() == "# the teacher's own\n"
    with pytest.raises(UsageError, match="no chapter"):
        write_grading_course(tmp_path, tmp_path / "elsewhere")


def _nbgrader(course: Path, *arguments: str) -> str:
    """Run nbgrader in ``course`` as a teacher would, with this environment's bin on PATH (nbgrader runs
    the ``alembic`` program) and no user-wide Jupyter configuration. Its log, which must hold no error:
    nbgrader only logs a configuration file that fails, and goes on without it."""
    environment = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
                   "JUPYTER_CONFIG_DIR": str(course.parent / "jupyter-config")}
    done = subprocess.run([sys.executable, "-m", "nbgrader", *arguments], cwd=course, env=environment,
                          capture_output=True, text=True, timeout=600)
    log = done.stdout + done.stderr
    assert done.returncode == 0 and "| ERROR]" not in log, f"nbgrader {' '.join(arguments)}:\n{log[-4000:]}"
    return log


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Path:
    """A course directory after a whole round: released, submitted by "solved" (the full edition) and
    "blank" (the released copy untouched), autograded, feedback written and grades exported."""
    pytest.importorskip("nbgrader", reason="nbgrader is a test tool: pip install -r requirements-test.txt")
    course = write_grading_course(NOTEBOOKS, tmp_path_factory.mktemp("nbgrader") / "grading").root
    _nbgrader(course, "generate_assignment", "*")
    for path in GRADED:
        for student, copy in (("solved", NOTEBOOKS / path.name), ("blank", course / "release" / path.stem / path.name)):
            (course / "submitted" / student / path.stem).mkdir(parents=True)
            shutil.copy(copy, course / "submitted" / student / path.stem / path.name)
    _nbgrader(course, "autograde", "*")
    _nbgrader(course, "generate_feedback", "*")
    _nbgrader(course, "export")
    return course


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda path: path.stem)
def test_the_released_chapter_is_the_student_edition(graded, path):
    released = _cells(graded / "release" / path.stem / path.name)
    for cell in released:
        assert "### BEGIN SOLUTION" not in "".join(cell["source"])
        assert TEACHER_TAG not in cell["metadata"].get("tags", [])
        assert cell.get("outputs", []) == []
    student = student_notebook(json.loads(path.read_text(encoding="utf-8")))["cells"]
    assert ["".join(cell["source"]).rstrip() for cell in released] == [
        "".join(cell["source"]).rstrip() for cell in student]


def test_solved_chapters_score_full_marks_and_blanks_zero(graded):
    with (graded / "grades.csv").open(newline="") as file:
        scores = {(row["assignment"], row["student_id"]): (float(row["score"]), float(row["max_score"]))
                  for row in csv.DictReader(file)}
    for path in GRADED:
        points = _points(path)
        assert scores[path.stem, "solved"] == (points, points), path.stem
        assert scores[path.stem, "blank"] == (0, points), path.stem


def test_feedback_shows_the_score_and_what_to_write(graded):
    for path in GRADED:
        points = _points(path)
        solved = (graded / "feedback" / "solved" / path.stem / f"{path.stem}.html").read_text()
        blank = (graded / "feedback" / "blank" / path.stem / f"{path.stem}.html").read_text()
        assert f"Score: {points} / {points}" in solved
        assert f"Score: 0.0 / {points}" in blank and "not written yet" in blank
