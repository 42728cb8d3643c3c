"""pyproject.toml declares what mtlslib imports at run time, and the version lives in one place."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

import mtlslib

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# Import names that differ from their distribution names.
DISTRIBUTION = {"latex2mathml": "latex2mathml", "bs4": "beautifulsoup4"}


def _third_party_imports() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (ROOT / "mtlslib").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in ("mtlslib", "__future__"):
                    found.setdefault(top, set()).add(path.relative_to(ROOT).as_posix())
    return found


def _declared(requirements) -> set[str]:
    return {re.split(r"[<>=!~ \[;]", requirement, maxsplit=1)[0].lower() for requirement in requirements}


def test_every_run_time_import_is_declared():
    declared = _declared(PYPROJECT["project"]["dependencies"])
    extras = {name for group in PYPROJECT["project"]["optional-dependencies"].values() for name in _declared(group)}
    missing = {name: sorted(files) for name, files in _third_party_imports().items()
               if DISTRIBUTION.get(name, name).lower() not in declared | extras}
    assert not missing, f"imported by mtlslib but not declared in pyproject.toml: {missing}"


def test_optional_imports_say_how_to_install_them():
    reading = (ROOT / "mtlslib" / "course" / "reading.py").read_text()
    assert "mtlslib[reading]" in reading


def test_the_version_lives_in_one_place():
    assert PYPROJECT["project"]["dynamic"] == ["version"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "mtlslib.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", mtlslib.__version__)
    hits = [path for path in ROOT.glob("**/*.py") if ".venv" not in path.parts
            and re.search(r"__version__\s*=", path.read_text())]
    assert [path.relative_to(ROOT).as_posix() for path in hits] == ["mtlslib/__init__.py"]


def test_binder_and_jupyterhub_images_get_the_python_the_course_is_tested_on():
    # repo2docker reads runtime.txt as "python-X.Y" and otherwise picks its own default Python,
    # which moves with every repo2docker release: pin it to a version this suite runs on.
    runtime = (ROOT / "runtime.txt").read_text().strip()
    match = re.fullmatch(r"python-(\d+)\.(\d+)", runtime)
    assert match, f"runtime.txt must read python-X.Y, not {runtime!r}"
    version = tuple(int(part) for part in match.groups())
    requires = re.search(r">=\s*(\d+)\.(\d+)", PYPROJECT["project"]["requires-python"])
    minimum = tuple(int(part) for part in requires.groups())
    assert version >= minimum
    assert f"Python {version[0]}.{version[1]}" in (ROOT / "README.md").read_text()
