"""Pictures for the Diffie-Hellman chapter, drawn from numbers computed here.

Every function returns a :class:`~mtlslib.display.chart.Chart`: a cell that ends with the call
shows it once, as an SVG picture whose ``aria-label`` says what it shows (titles, axes, series).
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

from mtlslib.display.chart import AXIS, FAINT, GUIDE, INK, NOTE, Chart, superscript
from mtlslib.errors import FigureError

from .attacks import AttackCost, Measurement, fit_growth
from .curves import CurvePoint, ToyCurve

__all__ = ["curve_over_field_figure", "curve_over_reals_figure", "discrete_log_figure", "FigureError"]

_COLOURS = ("#1d4ed8", "#dc2626", "#059669", "#7c3aed")


def _between(low: float, high: float, count: int) -> list[float]:
    return [low + (high - low) * i / (count - 1) for i in range(count)]


# --- discrete logarithms ------------------------------------------------------------------------

def discrete_log_figure(*series: Sequence[Measurement], extend_to: int = 64,
                        costs: Sequence[AttackCost] = (), speeds: Mapping[str, float] | None = None) -> Chart:
    """Measured search times against group size, each with its fitted growth curve, extended to
    ``extend_to`` bits; and, if ``costs`` and ``speeds`` are given, a second panel with the years
    each attack would take at the speed measured here (operation count / operations per second)."""
    if not series or not all(series):
        raise FigureError("discrete_log_figure needs at least one non-empty series of measurements")
    if costs and speeds is None:
        raise FigureError("pass speeds= (operations per second for each group) to draw the costs")
    panels = 2 if costs else 1
    chart = Chart(620 * panels, 420, panels)
    left = chart.panels[0]
    left.title = "Discrete logarithm, measured here and extended"
    left.x.label, left.y.label = "size of the prime p (bits)", "seconds to find the secret (worst case)"
    left.y.scale = "log"
    for colour, measurements in zip(_COLOURS, series):
        fit, method = fit_growth(measurements), measurements[0].method
        bits = [m.bits for m in measurements]
        left.scatter(bits, [m.seconds for m in measurements], colour=colour, label=f"{method}: measured")
        line = _between(min(bits), extend_to, 100)
        left.line(line, [fit.seconds(b) for b in line], colour=colour, dash="--",
                  label=f"{method}, fitted: time x 2^{fit.slope:.2f} per extra bit")
    for seconds, name in ((1.0, "a second"), (3600.0, "an hour"), (365.25 * 86400, "a year")):
        left.hline(seconds, colour=GUIDE)
        left.text(None, seconds, name, dx=3, dy=3, size=10, colour=NOTE)
    left.legend_at = "lower right"
    if costs:
        right = chart.panels[1]
        right.title = "Extrapolated: operations / measured speed"
        years = [c.log10_years(speeds[c.target]) for c in costs]
        right.y_categories([f"{c.target}\n{c.method}" for c in costs])
        for index, (cost, value) in enumerate(zip(costs, years)):
            colour = _COLOURS[0] if cost.target == costs[0].target else _COLOURS[2]
            right.rect(1, value, index - 0.4, index + 0.4, colour=colour)
            right.text(value, index, f"{superscript(round(value))} years", dx=3, size=10, middle=True)
        # The bars are exponents (years = 10^value), themselves spanning 20 to 600: a log axis keeps
        # the short bars visible next to the long ones. A decade more than the longest: room for its label.
        right.x.scale, right.x.limits = "log", (1, max(years) * 10)
        right.x.formatter = lambda value: superscript(f"{value:g}")
        right.x.label = "years needed, at the speed measured here (log scale of the exponent)"
    return chart


# --- elliptic curves ----------------------------------------------------------------------------

def _real_y(curve: ToyCurve, x: float) -> float:
    value = x ** 3 + curve.a * x + curve.b
    if value < 0:
        raise FigureError(f"there is no real point of {curve} with x = {x}")
    return math.sqrt(value)


def _real_sum(curve: ToyCurve, first: tuple[float, float], second: tuple[float, float]) -> tuple[float, float, float]:
    """(slope, x, y) of first + second on the curve over the reals: the same formulas as modulo p."""
    (x1, y1), (x2, y2) = first, second
    slope = (3 * x1 * x1 + curve.a) / (2 * y1) if first == second else (y2 - y1) / (x2 - x1)
    x3 = slope * slope - x1 - x2
    return slope, x3, -(y1 + slope * (x3 - x1))


def _lowest_root(curve: ToyCurve) -> float:
    """The smallest real x with x^3 + ax + b = 0: where the curve's real points begin."""
    def f(x: float) -> float:
        return x ** 3 + curve.a * x + curve.b
    bound = 1 + max(abs(curve.a), abs(curve.b))  # Cauchy: every root lies within it
    step = bound / 2000
    low = -bound
    while f(low + step) < 0:
        low += step
    high = low + step
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if f(middle) < 0 else (low, middle)
    return high


def curve_over_reals_figure(curve: ToyCurve, p_x: float = 0.0, q_x: float = 1.5) -> Chart:
    """The curve's equation drawn over the real numbers, with the group law: P + Q (the line through
    P and Q meets the curve a third time; the sum is that point's mirror) and P + P (the tangent)."""
    if p_x == q_x:
        raise FigureError("P and Q need different x-coordinates for the chord picture")
    p = (p_x, _real_y(curve, p_x))
    q = (q_x, _real_y(curve, q_x))
    chart = Chart(1000, 460, 2, title=f"y\u00b2 = x\u00b3 + {curve.a}x + {curve.b} over the real numbers")
    start = _lowest_root(curve)
    for panel, (title, first, second, names) in zip(chart.panels, (
            ("Adding two points: P + Q", p, q, ("P", "Q", "P + Q")),
            ("Doubling a point: P + P = 2P", p, p, ("P", None, "2P")))):
        slope, x3, y3 = _real_sum(curve, first, second)
        xs = _between(start, max(x3, q_x, p_x) + 0.6, 600)
        ys = [math.sqrt(max(x ** 3 + curve.a * x + curve.b, 0)) for x in xs]
        panel.hline(0, colour=FAINT)
        panel.line(xs, ys, colour=_COLOURS[0])
        panel.line(xs, [-y for y in ys], colour=_COLOURS[0])
        span = (min(first[0], x3) - 0.4, max(second[0], x3) + 0.4)
        panel.line(span, [first[1] + slope * (x - first[0]) for x in span], colour=AXIS, width=1,
                   label="line through P and Q" if names[1] else "tangent at P")
        panel.line([x3, x3], [-y3, y3], colour=_COLOURS[1], dash=":", label="mirror in the x-axis")
        third = f"third point = -({names[2]})"
        points = [(first, names[0]), ((x3, -y3), third), ((x3, y3), names[2])]
        if names[1]:
            points.insert(1, (second, names[1]))
        for (x, y), name in points:
            colour = _COLOURS[1] if name == names[2] else INK
            panel.scatter([x], [y], colour=colour)
            below = name == third  # under the line, clear of the chord and of P
            panel.text(x, y, name, dx=8 if below else 6, dy=-16 if below else 6, colour=colour, size=12)
        panel.title, panel.x.label, panel.y.label = title, "x", "y"
        panel.legend_at = "lower right"
    return chart


def curve_over_field_figure(curve: ToyCurve, generator: CurvePoint) -> Chart:
    """Every point of the curve modulo p, each labelled with k where it equals k x generator, and
    the path generator -> 2 x generator -> 3 x generator ... jumping around the grid."""
    if not curve.contains(generator) or generator.is_infinity:
        raise FigureError(f"{generator} is not a finite point of {curve}")
    points = curve.points()
    multiples = curve.multiples(generator)
    label = {point: k for k, point in enumerate(multiples, start=1)}
    chart = Chart(620, 640)
    (panel,) = chart.panels
    path = [m for m in multiples if not m.is_infinity]
    panel.line([m.x for m in path], [m.y for m in path], colour=_COLOURS[0], opacity=0.25, width=1)
    panel.scatter([pt.x for pt in points], [pt.y for pt in points], colour=_COLOURS[0])
    for point in points:
        if point in label:
            panel.text(point.x, point.y, f"{label[point]}G", dx=5, dy=5, size=10)
    panel.hline(curve.p / 2, colour=_COLOURS[1], dash=":", width=1, label="points come in pairs (x, y), (x, p - y)")
    panel.x.limits = panel.y.limits = (-0.5, curve.p - 0.5)
    panel.x.ticks = panel.y.ticks = list(range(curve.p))
    panel.grid = panel.square = True
    panel.title, panel.x.label, panel.y.label = f"{curve}: {len(points)} points + O, G = {generator}", "x", "y"
    panel.legend_at = "below"
    return chart
