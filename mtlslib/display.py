"""How results show themselves: one table renderer and one way to print a result.

Every result object of mtlslib prints the same way: ``str(result)`` is readable text, and in a
notebook the result displays as that text (or, for a :class:`Table`, as an HTML table), so a cell
can end with the result itself instead of calling a method to format it.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Iterable, Sequence

from mtlslib.errors import UsageError

__all__ = ["Shown", "Table", "shorten"]


class Shown:
    """Mixin: a result whose notebook display is its ``str()`` (subclasses write ``__str__``).

    IPython looks for ``_repr_pretty_`` class by class along the MRO and takes the first class's own
    ``__repr__`` when it finds one first, as on every dataclass; so each subclass gets the method in
    its own namespace.
    """

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if "_repr_pretty_" not in vars(cls):
            cls._repr_pretty_ = Shown._repr_pretty_

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(str(self))


@dataclass(frozen=True)
class Table:
    """Rows of text shown as an aligned plain-text table (``print``) or as an HTML table in Jupyter.

    Columns whose cells are all numbers are right-aligned, like in a spreadsheet (``numbers_right=False``:
    every column left-aligned). ``ragged_last=True`` lets the last column run free, its rule three
    dashes long, so that one long cell (a reason, a note) does not stretch the line under the headers.
    """

    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    title: str = ""
    numbers_right: bool = True
    ragged_last: bool = False

    def __init__(self, headers: Iterable[object], rows: Iterable[Iterable[object]], title: str = "", *,
                 numbers_right: bool = True, ragged_last: bool = False) -> None:
        object.__setattr__(self, "headers", tuple(str(h) for h in headers))
        object.__setattr__(self, "rows", tuple(tuple(str(c) for c in row) for row in rows))
        object.__setattr__(self, "title", title)
        object.__setattr__(self, "numbers_right", numbers_right)
        object.__setattr__(self, "ragged_last", ragged_last)
        for row in self.rows:
            if len(row) != len(self.headers):
                raise UsageError(f"a table row has {len(row)} cells but there are {len(self.headers)} "
                                 f"headers: {row!r}")

    def __str__(self) -> str:
        columns = list(zip(self.headers, *self.rows))
        widths = [max(len(cell) for cell in column) for column in columns]
        numeric = [self.numbers_right and all(_looks_numeric(cell) for cell in column[1:]) for column in columns]
        rules = ["-" * w for w in widths]
        if self.ragged_last:
            rules[-1] = "---"

        def line(cells: Sequence[str]) -> str:
            return "  ".join(cell.rjust(w) if right else cell.ljust(w)
                             for cell, w, right in zip(cells, widths, numeric)).rstrip()

        lines = [self.title] if self.title else []
        lines += [line(self.headers), "  ".join(rules)]
        lines += [line(row) for row in self.rows]
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        def cells(tag: str, row: Sequence[str]) -> str:
            return "".join(f"<{tag}>{html.escape(cell)}</{tag}>" for cell in row)

        caption = f"<caption>{html.escape(self.title)}</caption>" if self.title else ""
        body = "".join(f"<tr>{cells('td', row)}</tr>" for row in self.rows)
        return f"<table>{caption}<thead><tr>{cells('th', self.headers)}</tr></thead><tbody>{body}</tbody></table>"


def _looks_numeric(cell: str) -> bool:
    """Numbers (1,030 or -2.5 or 2^125.8) are right-aligned."""
    return re.fullmatch(r"-?[\d,]+(\.\d+)?|\d+\^[\d.]+", cell) is not None


def shorten(value: object, limit: int = 80) -> str:
    """``repr``-free text of a value for an error message, cut to ``limit`` characters."""
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
