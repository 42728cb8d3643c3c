"""The command line both editions share: ``python -m mtlslib.course.MODULE NOTEBOOK_DIR OUT_DIR``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

from mtlslib.errors import MtlsLibError

__all__ = ["edition_command"]


def edition_command(argv: list[str] | None, module: str, out_dir: str, build: Callable[[Path, Path], object]) -> int:
    """Run ``build(notebook_dir, out_dir)`` and print what it returns. A wrong number of arguments
    prints the usage, a failure one line naming the problem; both exit with status 2."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print(f"usage: python -m mtlslib.course.{module} NOTEBOOK_DIR {out_dir}", file=sys.stderr)
        return 2
    try:
        print(build(Path(argv[0]), Path(argv[1])))
    except (MtlsLibError, OSError) as error:
        print(f"mtlslib.course.{module}: error: {error}", file=sys.stderr)
        return 2
    return 0
