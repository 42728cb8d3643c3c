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


# --------------------------------------------------------------------------------------------
# Text alternatives for figures: what a screen reader says instead of the picture (WCAG 1.1.1).

_ATTRIBUTE = re.compile(r'([a-z]+)=("(?:[^"\\]|\\.)*"|<.*?>(?=\s[a-z]+=|\s*$)|[^\s\]]+)', re.S)
_STATEMENT = re.compile(r"^\s*(?:(\w+)(?:\s*->\s*(\w+))?\s*\[(.*)\]|((?:[a-z]+=\S.*)))\s*$", re.S)
_TAG = re.compile(r"<[^>]+>")


def _dot_statements(source: str) -> list[str]:
    """The DOT source split into statements: one a line, except inside a quoted string."""
    statements, current, quoted, escaped = [], [], False, False
    for char in source:
        if char == "\n" and not quoted:
            statements.append("".join(current))
            current = []
            continue
        current.append(" " if char == "\n" else char)
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
    statements.append("".join(current))
    return [s.strip() for s in statements if s.strip()]


def _dot_value(raw: str) -> str:
    """An attribute's text: quotes and escapes removed; an HTML-like label's line breaks and
    table cells become separators and its tags are dropped."""
    if raw.startswith("<"):
        text = raw[1:-1].replace("<BR/>", " / ").replace("</TD><TD", "</TD>: <TD").replace("</TR>", "; ")
        return " ".join(html.unescape(_TAG.sub("", text)).split()).strip(" ;")
    if raw.startswith('"'):
        raw = raw[1:-1].replace('\\"', '"')
    return " ".join(raw.split())


def _dot_attributes(text: str) -> dict[str, str]:
    return {name: value for name, value in _ATTRIBUTE.findall(text)}


def _short_name(text: str) -> str:
    """A certificate box ("leaf; subject: CN=x; issuer: ...") by its heading and subject."""
    heading, _, rest = text.partition("; subject: ")
    return f"{heading} ({rest.split(';')[0]})" if rest else text


def describe_dot(source: str) -> str:
    """A text alternative for a graphviz picture, read from its DOT source.

    Written for the diagrams of :mod:`mtlslib.lessons.diagrams` (message edges run from ``client_N``
    to ``server_N``, ``dir=back`` when the server sends; a failed message carries a cross): a sequence
    diagram's messages in order, by flight, each with its sender and whether it travelled in clear
    text or encrypted; a chain's certificates and who signed whom; any other labelled box; each
    panel after its caption.
    """
    sentences: list[str] = []
    names: dict[str, str] = {}
    flight = ""
    for statement in _dot_statements(source):
        match = _STATEMENT.match(statement)
        if not match:
            continue
        node, target, attribute_text, bare = match.groups()
        attributes = _dot_attributes(attribute_text or bare or "")
        label = attributes.get("label", "")
        text = _dot_value(label)
        if bare or node == "graph":  # a graph's or a panel's caption
            if text:
                sentences.append(f"{text}:")
        elif node in ("node", "edge") or not text or attributes.get("style") == "invis":
            continue
        elif target is None:
            if node.endswith("_head") or node == "legend":
                continue
            if "flight_" in node:
                flight = text
                continue
            names[node] = _short_name(text)
            sentences.append(f"{text}.")
        elif "client_" in node and "server_" in target:
            sender, receiver = ("server", "client") if attributes.get("dir") == "back" else ("client", "server")
            failed = "\u2717" in text or attributes.get("style") == "dotted"
            how = "failed" if failed else "encrypted" if "<B>" in label else "in clear text"
            sentences.append(f"{flight + ', ' if flight else ''}{sender} to {receiver}, {how}: {text}.")
            flight = ""
        elif text == "signed":
            sentences.append(f"{names.get(node, node)} signed {names.get(target, target)}.")
        elif text != "?":  # "?" points from "no trusted issuer", which says it already
            sentences.append(f"{names.get(node, node)} to {names.get(target, target)}: {text}.")
    return " ".join(sentences) or "A diagram."
