"""Charts drawn as SVG by hand: the course's few kinds of figure (lines, points, bars, boxes,
labels) on linear or logarithmic axes, with their text alternative.

A :class:`Chart` is a row of :class:`Panel` objects. Marks are given in data coordinates and
drawn when the chart is shown: in a notebook a cell that ends with a chart shows it once, as an
SVG picture whose ``aria-label`` says in words what it shows (titles, axes, categories, series),
which is also the ``alt`` the reading edition writes. Text stays text, a chart weighs a few
kilobytes, and drawing one takes a millisecond: no plotting stack to import. The same chart
draws the same SVG on every run, so nbval can compare it.

Text is not measured (SVG has no font metrics before it is shown); room for labels is reserved
with an average character width, generous for the sans-serif faces browsers pick.
"""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass
from typing import Callable, Literal, Sequence

from mtlslib.errors import FigureError

from .axes import Axis, superscript

__all__ = ["AXIS", "Chart", "FAINT", "GUIDE", "INK", "Mark", "NOTE", "Panel", "superscript"]

# The palette the course's charts share (their data colours are their own).
INK, NOTE, AXIS, GUIDE, FAINT = "#111827", "#4b5563", "#6b7280", "#9ca3af", "#d1d5db"
_GRID = "#e5e7eb"
_FONT = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif"
_CHARACTER = 0.6  # average width of a character, in ems
_DASHES = {None: None, "-": None, "--": "6 4", ":": "1.5 3"}
_MARKERS = (None, "o", "s")
_LEGEND_PLACES = ("upper right", "upper left", "lower right", "lower left", "below")
_ID = "CHART-ID"  # stands for the chart's name until the drawing is complete


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _width(text: str, size: float) -> float:
    return max((len(line) for line in text.split("\n")), default=0) * size * _CHARACTER


@dataclass(frozen=True)
class Mark:
    """One thing drawn in a panel, in data coordinates: what the chart shows, readable by tests.

    ``kind`` is "line" (a polyline), "points", "rect" (xs = (x0, x1), ys = (y0, y1)), "hline" (at
    ys[0], across the panel) or "text" (``words`` at (xs[0], ys[0]); xs[0] None: the left edge).
    """

    kind: Literal["line", "points", "rect", "hline", "text"]
    xs: tuple
    ys: tuple
    colour: str
    label: str = ""
    words: str = ""
    dash: str | None = None
    width: float = 1.6
    marker: str | None = None
    opacity: float = 1.0
    edge: str | None = None
    size: float = 11.0
    offset: tuple[float, float] = (0.0, 0.0)  # pixels right and up, for text
    middle: bool = False  # text centred vertically on its point


class Panel:
    """One plotting area: marks in data coordinates, two axes, a title and a legend.

    ``square`` makes one unit as long on both axes (linear axes); ``margin`` is the share of the
    data's range left free on each side of a fitted axis; ``legend_at`` is "upper right",
    "upper left", "lower right", "lower left" or "below" (under the x axis's label).
    """

    def __init__(self) -> None:
        self.title = ""
        self.x, self.y = Axis(), Axis()
        self.categories: list[str] = []
        self.grid = False
        self.square = False
        self.margin = 0.05
        self.legend_at = "upper right"
        self.marks: list[Mark] = []

    # --- marks ----------------------------------------------------------------------------------

    def line(self, xs: Sequence[float], ys: Sequence[float], *, colour: str, dash: str | None = None,
             width: float = 1.6, label: str = "", marker: str | None = None, opacity: float = 1.0) -> None:
        """A polyline through the points (``dash``: '--' or ':'), with ``marker`` ('o' or 's') on each."""
        if dash not in _DASHES or marker not in _MARKERS:
            raise FigureError(f"a line's dash is one of '-', '--', ':' and its marker 'o' or 's', "
                              f"not {dash!r}/{marker!r}")
        self._add(Mark("line", tuple(xs), tuple(ys), colour, label, dash=dash, width=width, marker=marker,
                       opacity=opacity))

    def scatter(self, xs: Sequence[float], ys: Sequence[float], *, colour: str, label: str = "") -> None:
        self._add(Mark("points", tuple(xs), tuple(ys), colour, label, marker="o"))

    def rect(self, x0: float, x1: float, y0: float, y1: float, *, colour: str, opacity: float = 1.0,
             label: str = "", edge: str | None = None) -> None:
        """A filled rectangle between data coordinates: a bar, a histogram bin, a box."""
        self._add(Mark("rect", (x0, x1), (y0, y1), colour, label, opacity=opacity, edge=edge))

    def hline(self, y: float, *, colour: str = GUIDE, dash: str | None = None, width: float = 0.8,
              label: str = "") -> None:
        """A horizontal line across the whole panel at ``y`` (the y axis makes room for it)."""
        if dash not in _DASHES:
            raise FigureError(f"a line's dash is one of '-', '--', ':', not {dash!r}")
        self._add(Mark("hline", (), (y,), colour, label, dash=dash, width=width))

    def text(self, x: float | None, y: float, words: str, *, dx: float = 0, dy: float = 0, colour: str = INK,
             size: float = 11, middle: bool = False) -> None:
        """``words`` at data point (x, y) moved by (dx, dy) pixels (dy up); x=None: the panel's left edge.
        Like an annotation, it does not widen the axes, and it may stand outside the plotting area."""
        self.marks.append(Mark("text", (x,), (y,), colour, words=words, size=size, offset=(dx, dy), middle=middle))

    def y_categories(self, names: Sequence[str]) -> None:
        """Name the rows y = 0, 1, ... (top to bottom), as horizontal bars and boxes use them."""
        self.categories = list(names)
        self.y.ticks, self.y.tick_labels, self.y.inverted = list(range(len(names))), self.categories, True
        self.y.limits = (-0.6, len(names) - 0.4)

    def _add(self, mark: Mark) -> None:
        self.x.values.extend(mark.xs)
        self.y.values.extend(mark.ys)
        self.marks.append(mark)

    def legend(self) -> list[Mark]:
        """The legend's rows: the first mark of each label, in the order they were drawn (the bars
        of one series may all carry its label)."""
        rows: dict[str, Mark] = {}
        for mark in self.marks:
            if mark.label:
                rows.setdefault(mark.label, mark)
        return list(rows.values())

    # --- words --------------------------------------------------------------------------------

    def describe(self) -> str:
        parts = []
        for name, axis in (("x", self.x), ("y", self.y)):
            label = " ".join(axis.label.split())
            if label:
                says_so = axis.scale == "linear" or "log scale" in label
                parts.append(f"{name} axis: {label}" + ("" if says_so else " (log scale)"))
        if self.categories:
            parts.append("y categories: " + ", ".join(f'"{" ".join(c.split())}"' for c in self.categories))
        series = self.legend()
        if series:
            parts.append("series: " + ", ".join(f'"{" ".join(mark.label.split())}"' for mark in series))
        return "; ".join(parts)

    # --- drawing ------------------------------------------------------------------------------

    def _svg(self, left: float, top: float, width: float, height: float, name: str) -> str:
        """The panel's SVG in the box (left, top, width, height), room for its labels included;
        ``name`` tells its clipping path from any other on the page."""
        if self.legend_at not in _LEGEND_PLACES:
            raise FigureError(f"a legend goes {', '.join(map(repr, _LEGEND_PLACES))}, not {self.legend_at!r}")
        xspan, yspan = self.x.span(self.margin), self.y.span(self.margin)
        xticks, yticks = self.x.tick_marks(xspan), self.y.tick_marks(yspan)
        tick_width = max((_width(label, 11) for _, label in yticks), default=0)
        x0 = left + tick_width + 12 + (18 if self.y.label else 0)
        y0 = top + (24 if self.title else 6)
        x_lines = self.x.label.count("\n") + 1 if self.x.label else 0
        x1 = left + width - 10
        y1 = top + height - 20 - 15 * x_lines - (len(self.legend()) * 17 + 16 if self.legend_at == "below" else 0)
        if self.square and self.x.scale == self.y.scale == "linear":
            unit = min((x1 - x0) / (xspan[1] - xspan[0]), (y1 - y0) / (yspan[1] - yspan[0]))
            spare = (x1 - x0) - unit * (xspan[1] - xspan[0])
            x0, x1 = x0 + spare / 2, x1 - spare / 2
            y1 = y0 + unit * (yspan[1] - yspan[0])
        area = (x0, y0, x1, y1)

        def place(x, y):
            """A data point's pixels; None where it cannot be placed (0 or below on a log axis)."""
            if (x is not None and not self.x.valid(x)) or not self.y.valid(y):
                return None
            return (self.x.position(x, xspan, x0, x1) if x is not None else x0,
                    self.y.position(y, yspan, y1, y0))

        out = [f'<clipPath id="{name}"><rect x="{_number(x0)}" y="{_number(y0)}" width="{_number(x1 - x0)}" '
               f'height="{_number(y1 - y0)}"/></clipPath>']
        for value, label in xticks:
            px = _number(self.x.position(value, xspan, x0, x1))
            if self.grid:
                out.append(f'<line x1="{px}" x2="{px}" y1="{_number(y0)}" y2="{_number(y1)}" stroke="{_GRID}"/>')
            out.append(f'<line x1="{px}" x2="{px}" y1="{_number(y1)}" y2="{_number(y1 + 4)}" stroke="{AXIS}"/>')
            out.append(_text(float(px), y1 + 16, label, size=11, colour=NOTE, anchor="middle"))
        for value, label in yticks:
            py = self.y.position(value, yspan, y1, y0)
            if self.grid:
                out.append(f'<line x1="{_number(x0)}" x2="{_number(x1)}" y1="{_number(py)}" y2="{_number(py)}" '
                           f'stroke="{_GRID}"/>')
            out.append(f'<line x1="{_number(x0 - 4)}" x2="{_number(x0)}" y1="{_number(py)}" y2="{_number(py)}" '
                       f'stroke="{AXIS}"/>')
            out.append(_text(x0 - 7, py, label, size=11, colour=NOTE, anchor="end", middle=True))
        out.append(f'<g clip-path="url(#{name})">')
        out += [_draw(mark, place, area) for mark in self.marks if mark.kind != "text"]
        out.append("</g>")
        # The frame before the labels: a label that reaches past the area is never struck through.
        out.append(f'<rect x="{_number(x0)}" y="{_number(y0)}" width="{_number(x1 - x0)}" '
                   f'height="{_number(y1 - y0)}" fill="none" stroke="{AXIS}"/>')
        out += [_draw(mark, place, area) for mark in self.marks if mark.kind == "text"]
        if self.title:
            out.append(_text((x0 + x1) / 2, top + 14, self.title, size=13, anchor="middle", weight="600"))
        if self.x.label:
            out.append(_text((x0 + x1) / 2, y1 + 34, self.x.label, size=12, anchor="middle"))
        if self.y.label:
            out.append(f'<g transform="translate({_number(left + 12)},{_number((y0 + y1) / 2)}) rotate(-90)">'
                       + _text(0, 0, self.y.label, size=12, anchor="middle") + "</g>")
        out.append(self._legend_svg(area))
        return "".join(out)

    def _legend_svg(self, area: tuple[float, float, float, float]) -> str:
        rows = self.legend()
        if not rows:
            return ""
        x0, y0, x1, y1 = area
        width = max(_width(mark.label, 11) for mark in rows) + 40
        height = len(rows) * 17 + 8
        if self.legend_at == "below":
            left, top = (x0 + x1 - width) / 2, y1 + 22 + 15 * (self.x.label.count("\n") + 1 if self.x.label else 0)
        else:
            vertical, horizontal = self.legend_at.split()
            left = x1 - width - 8 if horizontal == "right" else x0 + 8
            top = y0 + 8 if vertical == "upper" else y1 - height - 8
        out = [f'<rect x="{_number(left)}" y="{_number(top)}" width="{_number(width)}" height="{height}" '
               f'fill="white" fill-opacity="0.9" stroke="{_GRID}" rx="3"/>']
        for row, mark in enumerate(rows):
            cy, key = top + 12 + row * 17, left + 8
            if mark.kind == "rect":
                out.append(f'<rect x="{_number(key)}" y="{_number(cy - 5)}" width="20" height="10" '
                           f'fill="{mark.colour}"' + (f' fill-opacity="{mark.opacity}"' if mark.opacity != 1 else "")
                           + "/>")
            elif mark.kind == "points":
                out.append(_marker("o", key + 10, cy, 4, mark.colour))
            else:
                out.append(f'<line x1="{_number(key)}" x2="{_number(key + 20)}" y1="{_number(cy)}" '
                           f'y2="{_number(cy)}" stroke="{mark.colour}" stroke-width="1.6"{_dash(mark.dash)}/>')
                if mark.marker:
                    out.append(_marker(mark.marker, key + 10, cy, 3.5, mark.colour))
            out.append(_text(key + 26, cy, " ".join(mark.label.split()), size=11, middle=True))
        return "".join(out)


def _draw(mark: Mark, place: Callable, area: tuple[float, float, float, float]) -> str:
    """One mark's SVG; ``place(x, y)`` gives a data point's pixels, ``area`` the plotting area's corners."""
    if mark.kind == "text":
        point = place(mark.xs[0], mark.ys[0])
        if point is None:
            return ""
        return _text(point[0] + mark.offset[0], point[1] - mark.offset[1], mark.words, size=mark.size,
                     colour=mark.colour, middle=mark.middle)
    if mark.kind == "hline":
        point = place(None, mark.ys[0])
        if point is None:
            return ""
        py = _number(point[1])
        return (f'<line x1="{_number(area[0])}" x2="{_number(area[2])}" y1="{py}" y2="{py}" stroke="{mark.colour}" '
                f'stroke-width="{mark.width}"{_dash(mark.dash)}/>')
    if mark.kind == "rect":
        corners = place(mark.xs[0], mark.ys[0]), place(mark.xs[1], mark.ys[1])
        if None in corners:
            return ""
        (ax, ay), (bx, by) = corners
        return (f'<rect x="{_number(min(ax, bx))}" y="{_number(min(ay, by))}" width="{_number(abs(bx - ax))}" '
                f'height="{_number(abs(by - ay))}" fill="{mark.colour}"'
                + (f' fill-opacity="{mark.opacity}"' if mark.opacity != 1 else "")
                + (f' stroke="{mark.edge}" stroke-width="1"' if mark.edge else "") + "/>")
    pixels = [place(x, y) for x, y in zip(mark.xs, mark.ys)]
    out = []
    if mark.kind == "line":
        # A point that cannot be placed (0 on a log axis) breaks the line there.
        path = " ".join(f"{'L' if i and pixels[i - 1] else 'M'}{_number(p[0])},{_number(p[1])}"
                        for i, p in enumerate(pixels) if p)
        out.append(f'<path d="{path}" fill="none" stroke="{mark.colour}" stroke-width="{mark.width}"{_dash(mark.dash)}'
                   + (f' opacity="{mark.opacity}"' if mark.opacity != 1 else "") + ' stroke-linejoin="round"/>')
    if mark.marker:
        radius = 4 if mark.kind == "points" else 3.5
        out += [_marker(mark.marker, p[0], p[1], radius, mark.colour) for p in pixels if p]
    return "".join(out)


def _dash(dash: str | None) -> str:
    return f' stroke-dasharray="{_DASHES[dash]}"' if _DASHES[dash] else ""


class Chart:
    """A row of panels, drawn as one SVG picture ``width`` x ``height`` pixels under an optional title."""

    def __init__(self, width: int, height: int, panels: int = 1, *, title: str = "",
                 ratios: Sequence[float] | None = None) -> None:
        if panels < 1 or (ratios is not None and len(ratios) != panels):
            raise FigureError(f"a chart has one or more panels and one width ratio for each, not {panels}/{ratios}")
        self.width, self.height, self.title = width, height, title
        self.ratios = list(ratios or [1.0] * panels)
        self.panels = [Panel() for _ in range(panels)]

    def describe(self) -> str:
        """The chart in words: its title, then each panel's title, axes (with their scale),
        categories and series, as the chart itself states them."""
        sentences = [f"{self.title}."] if self.title else []
        for number, panel in enumerate(self.panels, 1):
            heading = f"Panel {number} of {len(self.panels)}" if len(self.panels) > 1 else "Plot"
            if panel.title:
                heading += f' "{panel.title}"'
            details = panel.describe()
            sentences.append(f"{heading}: {details}." if details else f"{heading}.")
        return " ".join(sentences)

    def svg(self) -> str:
        top = 28 if self.title else 0
        out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="mtlslib-chart" width="{self.width}" '
               f'height="{self.height}" viewBox="0 0 {self.width} {self.height}" role="img" '
               f'aria-label="{html.escape(self.describe())}" font-family="{html.escape(_FONT)}">',
               f'<rect width="{self.width}" height="{self.height}" fill="white"/>']
        if self.title:
            out.append(_text(self.width / 2, 18, self.title, size=14, anchor="middle", weight="600"))
        left, total = 0.0, sum(self.ratios)
        for number, (panel, ratio) in enumerate(zip(self.panels, self.ratios)):
            width = self.width * ratio / total
            out.append(panel._svg(left + 4, top + 4, width - 8, self.height - top - 8, f"{_ID}-{number}"))
            left += width
        out.append("</svg>")
        drawing = "".join(out)
        # Named from the drawing itself (rounded to the pixels it uses): the same chart gets the same
        # name on every run, and two different charts inlined in one page keep their clipping paths apart.
        return drawing.replace(_ID, "chart-" + hashlib.sha256(drawing.encode()).hexdigest()[:12])

    def __repr__(self) -> str:
        return f"<Chart {self.width}x{self.height} with {len(self.panels)} panel{'s' * (len(self.panels) > 1)}>"

    def _repr_mimebundle_(self, include=None, exclude=None) -> tuple[dict, dict]:
        # The text alternative also rides in the metadata, as a diagram's does, for the reading edition.
        return {"image/svg+xml": self.svg(), "text/plain": repr(self)}, {"image/svg+xml": {"alt": self.describe()}}


def _text(x: float, y: float, words: str, *, size: float, colour: str = INK, anchor: str = "start",
          middle: bool = False, weight: str | None = None) -> str:
    lines = words.split("\n")
    attributes = (f'font-size="{size}" fill="{colour}"' + (f' text-anchor="{anchor}"' if anchor != "start" else "")
                  + (f' font-weight="{weight}"' if weight else ""))
    # Several lines: each a tspan one line below the last, the block centred on y when asked.
    first = y + (size * 0.35 if middle else 0) - (size * 1.2 * (len(lines) - 1) / 2 if middle else 0)
    if len(lines) == 1:
        return f'<text x="{_number(x)}" y="{_number(first)}" {attributes}>{html.escape(words)}</text>'
    spans = "".join(f'<tspan x="{_number(x)}" dy="{0 if i == 0 else _number(size * 1.2)}">{html.escape(line)}</tspan>'
                    for i, line in enumerate(lines))
    return f'<text x="{_number(x)}" y="{_number(first)}" {attributes}>{spans}</text>'


def _marker(kind: str, x: float, y: float, radius: float, colour: str) -> str:
    if kind == "s":
        return (f'<rect x="{_number(x - radius)}" y="{_number(y - radius)}" width="{_number(2 * radius)}" '
                f'height="{_number(2 * radius)}" fill="{colour}"/>')
    return f'<circle cx="{_number(x)}" cy="{_number(y)}" r="{_number(radius)}" fill="{colour}"/>'
