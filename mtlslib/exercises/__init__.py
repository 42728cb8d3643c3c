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

from typing import Any, Callable

from ..errors import ExerciseIncorrect, ExerciseNotDone, MtlsLibError

__all__ = ["ExerciseIncorrect", "ExerciseNotDone", "attempt", "expect", "well_done"]




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
