"""The package's layout rules, checked over every module of mtlslib.

mtlslib is built in layers; each layer imports only from the layers before it:

    errors, display -> pki -> wire, tls, verification -> insecure, lessons -> exercises, course, cli

The deliberately insecure teaching code (``mtlslib.insecure``) is imported only by ``insecure``,
``lessons`` and ``exercises``. No module imports another module's underscore names or reads a
dependency's private attributes, and no file grows past 500 lines. The README states the same rules.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "mtlslib"

# What each part of the package may import from mtlslib (besides itself).
LAYERS = {
    "errors": set(),
    "display": {"errors"},
    "pki": {"errors", "display"},
    "wire": {"errors", "display", "pki"},
    "tls": {"errors", "display", "pki", "wire"},
    "verification": {"errors", "display", "pki", "wire", "tls"},
    "insecure": {"errors", "display", "pki", "wire", "tls", "verification"},
    "lessons": {"errors", "display", "pki", "wire", "tls", "verification", "insecure"},
    "exercises": {"errors", "display", "pki", "wire", "tls", "verification", "insecure", "lessons"},
    "course": {"errors", "display", "pki", "wire", "tls", "verification", "lessons"},
    "cli": {"__init__", "errors", "display", "pki", "wire", "tls", "verification"},
    "__main__": {"cli"},
    "__init__": {"errors", "display", "pki", "tls"},
}
MAY_IMPORT_INSECURE = {"insecure", "lessons", "exercises"}
MAX_LINES = 500
# CPython gives OpenSSL's message callback (every handshake message and alert, as OpenSSL sees it) no
# public name: ``SSLContext._msg_callback`` is the only way in, so exactly one module reads it.
MESSAGE_CALLBACK = "_msg_callback"
MESSAGE_CALLBACK_HOME = "tls/observe.py"


@dataclass(frozen=True)
class Import:
    source: Path
    line: int
    module: str  # absolute dotted name, e.g. mtlslib.pki.authority
    names: tuple[str, ...]


def modules() -> list[Path]:
    return sorted(path for path in PACKAGE.rglob("*.py") if "__pycache__" not in path.parts)


def dotted(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def part_of(module: str) -> str:
    """The layer a dotted mtlslib module belongs to: 'pki' for mtlslib.pki.authority, '__init__' for mtlslib."""
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 else "__init__"


def imports_of(path: Path) -> list[Import]:
    tree = ast.parse(path.read_text(), str(path))
    package = dotted(path) if path.name == "__init__.py" else dotted(path).rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            names = tuple(alias.name for alias in node.names)
            if module.startswith("mtlslib"):
                if not node.module and node.level:  # from . import x: x may be a module
                    found += [Import(path, node.lineno, f"{module}.{name}", ()) for name in names]
                else:
                    found.append(Import(path, node.lineno, module, names))
        elif isinstance(node, ast.Import):
            found += [Import(path, node.lineno, alias.name, ()) for alias in node.names
                      if alias.name.startswith("mtlslib")]
    return found


def where(item: Import) -> str:
    return f"{item.source.relative_to(PACKAGE.parent)}:{item.line}"


ALL_IMPORTS = [item for path in modules() for item in imports_of(path)]


def test_the_layer_table_names_every_part_of_the_package():
    parts = {part_of(dotted(path)) for path in modules()}
    assert parts == set(LAYERS), "a new part of mtlslib needs its place in LAYERS (and in the README)"


def test_nothing_imports_upward_or_sideways():
    wrong = []
    for item in ALL_IMPORTS:
        importer, imported = part_of(dotted(item.source)), part_of(item.module)
        if imported != importer and imported not in LAYERS[importer]:
            wrong.append(f"{where(item)} ({importer}) imports {item.module}")
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


def test_only_the_fenced_parts_import_the_insecure_code():
    wrong = [f"{where(item)} imports {item.module}" for item in ALL_IMPORTS
             if part_of(item.module) == "insecure" and part_of(dotted(item.source)) not in MAY_IMPORT_INSECURE]
    assert not wrong, "\n".join(wrong)


def test_no_module_imports_another_modules_underscore_names():
    wrong = []
    for item in ALL_IMPORTS:
        private = [name for name in item.names if name.startswith("_") and not name.startswith("__")]
        private += [piece for piece in item.module.split(".") if piece.startswith("_") and not piece.startswith("__")]
        if private:
            wrong.append(f"{where(item)}: {', '.join(private)} from {item.module}")
    assert not wrong, "\n".join(wrong)


def _private_reads(path: Path) -> list[str]:
    """Reads of ``something._name`` where ``_name`` is not defined in this module (a dependency's privates).

    IPython's display protocol (``_repr_html_``...) is public despite its underscore.
    """
    tree = ast.parse(path.read_text(), str(path))
    own = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            own.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            own.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            own.add(node.attr)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            own.add(node.target.id)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            if node.attr in own or (node.attr.startswith("_repr_") and node.attr.endswith("_")):
                continue
            found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: .{node.attr}")
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value == MESSAGE_CALLBACK:
            if path.relative_to(PACKAGE).as_posix() != MESSAGE_CALLBACK_HOME:
                found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {MESSAGE_CALLBACK}")
    return found


def test_no_reads_of_private_attributes_of_other_objects():
    wrong = [line for path in modules() for line in _private_reads(path)]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_files_stay_under_the_size_limit(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.name} has {lines} lines; split it by responsibility"


def test_every_exception_class_lives_in_errors():
    elsewhere = []
    for path in modules():
        if path.name == "errors.py" and path.parent == PACKAGE:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                bases = {getattr(base, "id", getattr(base, "attr", "")) for base in node.bases}
                if bases & {"Exception", "MtlsLibError", "ValueError", "RuntimeError", "TypeError"} or \
                        any(name.endswith("Error") for name in bases):
                    elsewhere.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {node.name}")
    assert not elsewhere, "exception classes outside mtlslib/errors.py:\n" + "\n".join(elsewhere)


def test_the_readme_states_the_layers():
    readme = (PACKAGE.parent / "README.md").read_text()
    assert "errors, display -> pki -> wire, tls, verification -> insecure, lessons -> exercises, course, cli" in readme
