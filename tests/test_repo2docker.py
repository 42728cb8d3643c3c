"""Binder and JupyterHub images, built by repo2docker, give students the course and nothing else.

repo2docker reads the repository's root (or a ``binder/`` or ``.binder/`` folder, which would then
replace the root files): ``runtime.txt`` (``python-X.Y``) picks the Python and the pip-based Python
build pack, ``apt.txt`` lists Debian packages, ``requirements.txt`` is installed with ``pip install
--no-cache-dir -r requirements.txt`` (after the whole repository is copied in, because it holds ``-e
.``), and the executable ``postBuild`` runs last. It reads no other requirements file, so the test tools
in requirements-test.txt stay out of the image. The last test builds that environment for real: a fresh
virtual environment from requirements.txt alone, postBuild, and the student's start page executed in it.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TEST_TOOLS = {"pytest", "nbval", "pytest-timeout", "hypothesis", "trustme", "playwright", "nbgrader",
              "axe-playwright-python"}
# Import names of the test tools, for the chapters' imports.
TEST_IMPORTS = {"pytest", "nbval", "pytest_timeout", "hypothesis", "trustme", "playwright", "nbgrader",
                "axe_playwright_python"}


def _requirements(name: str) -> list[str]:
    lines = (ROOT / name).read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def _pinned(lines: list[str]) -> dict[str, str]:
    pins = {}
    for line in lines:
        if line in ("-e .", "-r requirements.txt"):
            continue
        match = re.fullmatch(r"([A-Za-z0-9._-]+)==([A-Za-z0-9.]+)", line)
        assert match, f"not pinned to one version: {line!r}"
        pins[match[1].lower()] = match[2]
    return pins


def test_repo2docker_reads_the_root_files_with_its_pip_build_pack():
    # A binder/ folder would make repo2docker ignore the root files; these files would switch it to
    # another build pack (conda, pipenv, nix, R, Docker) or install something else.
    for other in ("binder", ".binder", "environment.yml", "environment.yaml", "Pipfile", "Pipfile.lock",
                  "setup.py", "requirements3.txt", "install.R", "DESCRIPTION", "default.nix", "Dockerfile",
                  "Project.toml"):
        assert not (ROOT / other).exists(), f"{other} changes what repo2docker builds"
    assert re.fullmatch(r"python-\d+\.\d+", (ROOT / "runtime.txt").read_text().strip())
    assert "graphviz" in _requirements("apt.txt")
    post_build = ROOT / "postBuild"
    assert post_build.stat().st_mode & stat.S_IXUSR, "repo2docker runs postBuild only if it is executable"
    assert post_build.read_text().startswith("#!")


def test_requirements_txt_holds_the_course_and_requirements_test_txt_the_tools():
    course, tests = _requirements("requirements.txt"), _requirements("requirements-test.txt")
    assert "-e ." in course, "requirements.txt must install mtlslib (the chapters import it)"
    assert tests[0] == "-r requirements.txt", "make test installs the course first, then the tools"
    course_pins, test_pins = _pinned(course), _pinned(tests)
    assert not TEST_TOOLS & course_pins.keys(), "a test tool in requirements.txt would go into every student's image"
    assert not course_pins.keys() & test_pins.keys(), "pin each package in one file only"
    assert {"pytest", "nbval", "pytest-timeout", "hypothesis", "playwright", "nbgrader"} <= test_pins.keys()


def _imports(source: str) -> set[str]:
    # IPython magics and shell lines are not Python.
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
    names = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_no_chapter_and_no_mtlslib_module_imports_a_test_tool():
    found = {}
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] == "code":
                for name in _imports("".join(cell["source"])) & TEST_IMPORTS:
                    found.setdefault(name, set()).add(path.name)
    for path in (ROOT / "mtlslib").rglob("*.py"):
        for name in _imports(path.read_text()) & TEST_IMPORTS:
            found.setdefault(name, set()).add(path.relative_to(ROOT).as_posix())
    assert not found, f"these import test tools, which students do not install: {found}"


@pytest.mark.timeout(900)
def test_a_fresh_environment_from_requirements_txt_opens_the_start_page(tmp_path):
    """What repo2docker does, in a fresh virtual environment: about a minute, most of it pip."""
    repo = tmp_path / "repo"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", ".ipynb_checkpoints")
    for folder in ("mtlslib", "notebooks"):
        shutil.copytree(ROOT / folder, repo / folder, ignore=ignore)
    for name in ("pyproject.toml", "README.md", "requirements.txt", "postBuild"):
        shutil.copy2(ROOT / name, repo / name)
    env = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", env], check=True, timeout=120)
    # Nothing from this test run's environment: its own bin first, no PYTHONPATH, no user-wide Jupyter.
    environment = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    environment.update(PATH=f"{env / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
                       JUPYTER_CONFIG_DIR=str(tmp_path / "jupyter-config"),
                       JUPYTER_DATA_DIR=str(tmp_path / "jupyter-data"))

    def run(*command: str | Path, timeout: int) -> str:
        done = subprocess.run(command, cwd=repo, env=environment, capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, f"{' '.join(map(str, command))}:\n{(done.stdout + done.stderr)[-4000:]}"
        return done.stdout

    # pip put in by this interpreter's own: some Pythons (Debian's) leave out ensurepip, which `venv`
    # would need to install it (pip's --python needs pip 22.3 or newer, which make test-setup installs).
    run(sys.executable, "-m", "pip", "--python", env / "bin" / "python", "install", "--quiet",
        "--disable-pip-version-check", "pip", timeout=300)
    run(env / "bin" / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--no-cache-dir", "-r", "requirements.txt", timeout=600)
    installed = run(env / "bin" / "python", "-m", "pip", "list", "--format=freeze", "--disable-pip-version-check",
                    timeout=60)
    names = {line.split("==")[0].lower() for line in installed.splitlines()}
    assert not names & TEST_TOOLS, f"requirements.txt pulls in test tools: {names & TEST_TOOLS}"
    run(repo / "postBuild", timeout=120)
    start = repo / "student" / "00_start_here.ipynb"
    run(env / "bin" / "jupyter", "nbconvert", "--log-level=WARN", "--to", "notebook", "--execute", "--inplace",
        "--ExecutePreprocessor.extra_arguments=['--log-level=ERROR']", start, timeout=300)
    cells = json.loads(start.read_text())["cells"]
    outputs = [output for cell in cells if cell["cell_type"] == "code" for output in cell["outputs"]]
    assert not [output for output in outputs if output["output_type"] == "error"]
    readiness = "".join(outputs[0].get("text", ""))
    assert readiness.rstrip().endswith("Ready."), readiness
    assert "### BEGIN SOLUTION" not in start.read_text()
