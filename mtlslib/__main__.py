"""``python -m mtlslib``: the command line, see :mod:`mtlslib.cli`."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
