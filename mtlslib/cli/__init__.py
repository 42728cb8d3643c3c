"""The command line: ``python -m mtlslib COMMAND`` (or ``mtlslib COMMAND`` once installed).

    python -m mtlslib pki pki/                  # root CA, issuing CA, server and client files
    python -m mtlslib serve pki/ --mtls         # HTTPS on 127.0.0.1 that names its client
    python -m mtlslib handshake --mtls --tls 1.2
    python -m mtlslib explain server.pem --trust root-ca.pem --name localhost

Each subcommand is a module of this package with two functions, ``add_command(subparsers)``
declaring its options and ``run(args)`` doing the work and returning the exit status, so a new
option touches one module.

Bad input (a missing or damaged file, DER where PEM belongs, a wrong password, a key that is not
the certificate's, an address that is not loopback, a port in use) ends with one line on stderr
that names the file or address, and exit status 2. Only errors mtlslib raises on purpose and the
operating-system errors of the step that failed are caught: anything else is a bug and should
show its traceback.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
from pathlib import Path
from typing import Sequence

from mtlslib import __version__
from mtlslib.errors import MtlsLibError

from . import explain, handshake, make_pki, serve
from .common import DEFAULT_P12_PASSWORD, EXIT_BAD_INPUT, EXIT_BROKEN_PIPE, EXIT_INTERRUPTED

__all__ = ["DEFAULT_P12_PASSWORD", "build_parser", "main"]


class _Parser(argparse.ArgumentParser):
    """argparse, but a mistake on the command line is one line on stderr (and exit status 2)."""

    def error(self, message: str):
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    # Python 3.11 would call a `python -m` run "__main__.py"; name it the way the reader typed it.
    prog = "mtlslib" if Path(sys.argv[0]).name == "mtlslib" else "python -m mtlslib"
    parser = _Parser(
        prog=prog, description="Certificates, an HTTPS server and handshakes for the TLS and mutual TLS course. "
                               "Everything stays on 127.0.0.1.")
    parser.add_argument("--version", action="version", version=f"mtlslib {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in (make_pki, serve, handshake, explain):
        command.add_command(subparsers)
    return parser


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that Python's own flush at exit does not fail a second time."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status = args.run(args)
        sys.stdout.flush()  # here, where a full disk or a closed pipe can still be reported
        return status
    except MtlsLibError as error:
        message = " ".join(str(error).splitlines())
        print(f"{parser.prog} {args.command}: error: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        # The reader went away (`... | head -1`): stop quietly, as command-line tools do.
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except OSError as error:
        if error.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO):
            raise
        _silence_stdout()
        print(f"{parser.prog} {args.command}: error: cannot write the output ({error.strerror})", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"{parser.prog} {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
