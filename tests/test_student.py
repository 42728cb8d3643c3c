"""The student edition: solutions removed, outputs cleared, and every exercise check, run on the
blank copy, fails with a message that tells the student what to write (not a NameError)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from mtlslib.course.student import TEACHER_TAG, clear_solutions, student_notebook, write_student_edition
from mtlslib.errors import UsageError

pytestmark = pytest.mark.usefixtures("jupyter_kernels")

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def _has_exercises(path: Path) -> bool:
    cells = json.loads(path.read_text())["cells"]
    return any(c.get("metadata", {}).get("nbgrader", {}).get("solution") for c in cells)


WITH_EXERCISES = [p.name for p in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")) if _has_exercises(p)]


def test_clear_solutions_keeps_the_signature_and_indentation():
    source = ("def shared_secret(p, a, B):\n"
              "    \"\"\"Return the shared secret.\"\"\"\n"
              "    ### BEGIN SOLUTION\n"
              "    return pow(B, a, p)\n"
              "    ### END SOLUTION\n"
              "\n"
              "### BEGIN HIDDEN TESTS\n"
              "assert shared_secret(23, 6, 19) == 2\n"
              "### END HIDDEN TESTS\n")
    assert clear_solutions(source) == ("def shared_secret(p, a, B):\n"
                                       "    \"\"\"Return the shared secret.\"\"\"\n"
                                       "    # YOUR CODE HERE\n"
                                       "    raise NotImplementedError()")


def test_student_edition_has_no_solution_and_no_output(tmp_path):
    written = write_student_edition(NOTEBOOKS, tmp_path).written
    assert [p.name for p in written] == sorted(p.name for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    for path in written:
        notebook = json.loads(path.read_text())
        for cell in notebook["cells"]:
            source = "".join(cell["source"])
            assert "### BEGIN SOLUTION" not in source and "HIDDEN TESTS" not in source
            assert TEACHER_TAG not in cell.get("metadata", {}).get("tags", [])
            if cell["cell_type"] == "code":
                assert cell["outputs"] == [] and cell["execution_count"] is None


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", WITH_EXERCISES)
def test_every_check_fails_helpfully_on_the_blank_copy(tmp_path, name):
    (student,) = [p for p in write_student_edition(NOTEBOOKS, tmp_path).written if p.name == name]
    notebook = nbformat.read(student, as_version=4)
    NotebookClient(notebook, timeout=60, allow_errors=True, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    checks = [c for c in notebook.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade")]
    assert checks, f"{name} has solution cells but no check cells (metadata.nbgrader.grade)"
    for cell in checks:
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert errors, f"{name}: a check passed on the blank copy:\n{cell.source}"
        assert errors[0].ename == "ExerciseNotDone", (
            f"{name}: a check failed with {errors[0].ename}: {errors[0].evalue} instead of saying what to write")
        assert "not written yet" in errors[0].evalue


def test_a_students_work_is_never_overwritten(tmp_path):
    first = write_student_edition(NOTEBOOKS, tmp_path)
    mine = first.written[1]
    mine.write_text("my answers")  # the student's own work, even if it is not a notebook any more
    missing = first.written[2]
    missing.unlink()
    again = write_student_edition(NOTEBOOKS, tmp_path)
    assert mine.read_text() == "my answers"
    assert again.written == (missing,)  # only what was missing comes back
    assert mine in again.kept and len(again.kept) == len(first.written) - 1
    assert "never overwritten" in str(again)
    assert not list(tmp_path.glob(".new-*"))  # no temporary file left behind


def test_teacher_cells_are_dropped_from_the_student_edition():
    notebook = {"cells": [
        {"cell_type": "markdown", "metadata": {}, "source": "Question: why?"},
        {"cell_type": "markdown", "metadata": {"tags": [TEACHER_TAG]}, "source": "Answer: because."},
    ], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    assert [c["source"] for c in student_notebook(notebook)["cells"]] == ["Question: why?"]


def test_bad_folders_are_refused_with_one_line(tmp_path):
    with pytest.raises(UsageError, match="no chapters"):
        write_student_edition(tmp_path, tmp_path / "out")
    (tmp_path / "file").write_text("x")
    with pytest.raises(UsageError, match="not a folder"):
        write_student_edition(NOTEBOOKS, tmp_path / "file")
    run = subprocess.run([sys.executable, "-m", "mtlslib.course.student", str(tmp_path), str(tmp_path / "o")],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and "Traceback" not in run.stderr


def test_make_lab_opens_the_student_edition_and_make_lab_teacher_the_full_one():
    root = NOTEBOOKS.parent
    lab = subprocess.run(["make", "-n", "lab"], cwd=root, capture_output=True, text=True, timeout=60).stdout
    assert "mtlslib.course.student notebooks student" in lab
    assert "--ServerApp.root_dir=student" in lab and "notebooks/" not in lab.split("jupyter", 1)[1]
    teacher = subprocess.run(["make", "-n", "lab-teacher"], cwd=root, capture_output=True, text=True,
                             timeout=60).stdout
    assert "notebooks/00_start_here.ipynb" in teacher
    assert "jupyter trust notebooks/" in teacher  # its stored SVG pictures show without running the cells
