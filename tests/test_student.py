"""The student edition: solutions removed, outputs cleared, and every exercise check, run on the
blank copy, fails with a message that tells the student what to write (not a NameError)."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from mtlslib.course.student import clear_solutions, write_student_edition

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
    written = write_student_edition(NOTEBOOKS, tmp_path)
    assert [p.name for p in written] == sorted(p.name for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    for path in written:
        notebook = json.loads(path.read_text())
        for cell in notebook["cells"]:
            source = "".join(cell["source"])
            assert "### BEGIN SOLUTION" not in source and "HIDDEN TESTS" not in source
            if cell["cell_type"] == "code":
                assert cell["outputs"] == [] and cell["execution_count"] is None


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", WITH_EXERCISES)
def test_every_check_fails_helpfully_on_the_blank_copy(tmp_path, name):
    (student,) = [p for p in write_student_edition(NOTEBOOKS, tmp_path) if p.name == name]
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
