"""Exercises: the reader writes a function, a check cell calls a checker that explains mistakes.

The convention, shared by every chapter:

* an exercise is a *function* the reader completes in a code cell, its body between
  ``### BEGIN SOLUTION`` and ``### END SOLUTION`` (the nbgrader markers; the cell carries
  ``metadata.nbgrader.solution = true``);
* the next cell calls a checker from ``mtlslib.exercises.<chapter>``, passing the function;
* in the student edition (``make student``) the solution becomes ``raise NotImplementedError()``,
  and the checker answers with :class:`ExerciseNotDone` naming what to write, instead of a bare
  ``NameError`` or ``AssertionError``.

Checkers use :func:`attempt` to call the reader's function, :func:`expect` for each property they
check (with an explanation of what is wrong), and :func:`well_done` to say what succeeded.
"""

from __future__ import annotations

import os
import ssl
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from ..errors import ExerciseIncorrect, ExerciseNotDone, MtlsLibError
from ..pki import CertificateAuthority, SslFiles

__all__ = ["ExerciseIncorrect", "ExerciseNotDone", "attempt", "default_roots_are", "expect", "well_done"]




def attempt(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call the reader's ``function``; a missing body becomes a clear :class:`ExerciseNotDone`."""
    name = getattr(function, "__name__", "the function")
    if not callable(function):
        raise ExerciseIncorrect(f"expected a function to check, got {type(function).__name__}: "
                                "pass the function itself, without calling it")
    try:
        return function(*args, **kwargs)
    except NotImplementedError:
        raise ExerciseNotDone(
            f"{name}() is not written yet: in the cell above, replace `raise NotImplementedError()` "
            "with your code, run that cell, then run this check again"
        ) from None
    except MtlsLibError:
        raise
    except Exception as error:
        raise ExerciseIncorrect(f"{name}() raised {type(error).__name__}: {error}") from error


def expect(condition: bool, explanation: str) -> None:
    """Fail with ``explanation`` (what is wrong and a hint) unless ``condition`` holds."""
    if not condition:
        raise ExerciseIncorrect(explanation)


def well_done(message: str) -> None:
    print(f"\u2714 {message}")


@contextmanager
def default_roots_are(ca: CertificateAuthority) -> Iterator[None]:
    """While inside, OpenSSL's default trust store (the "system roots") is ``ca`` alone.

    ``load_default_certs()``, ``set_default_verify_paths()`` and ``create_default_context()`` without
    ``cadata`` read the file and folder named by OpenSSL's environment variables at the moment they are
    called, so a context the reader's function makes inside the block trusts ``ca`` exactly when it
    trusts the system's roots: a checker can then try a certificate from ``ca`` for real.
    """
    defaults = ssl.get_default_verify_paths()
    names = (defaults.openssl_cafile_env, defaults.openssl_capath_env)
    saved = {name: os.environ.get(name) for name in names}
    with SslFiles(**{"public-roots.pem": ca.cert_pem}) as paths:
        os.environ[defaults.openssl_cafile_env] = paths["public-roots.pem"]
        os.environ[defaults.openssl_capath_env] = str(Path(paths["public-roots.pem"]).parent)  # no hashed links
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
