"""Pictures for the Diffie-Hellman chapter, drawn with matplotlib from numbers computed here.

Every function returns a :class:`matplotlib.figure.Figure` made without pyplot (so a cell that
ends with the call shows it exactly once, and nothing accumulates in pyplot's list of open
figures). Jupyter shows it as a picture; its plain-text form, which nbval compares, is only
``<Figure size ... with N Axes>``, so measured timings drawn into a figure never break a test; the
output's metadata carries the figure's text alternative (titles, axes, series) for the reading edition.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullFormatter

from mtlslib.display import new_figure
from mtlslib.errors import FigureError

from .attacks import AttackCost, Measurement, fit_growth
from .curves import CurvePoint, ToyCurve

__all__ = ["curve_over_field_figure", "curve_over_reals_figure", "discrete_log_figure", "FigureError"]

_COLOURS = ("#1d4ed8", "#dc2626", "#059669", "#7c3aed")


def _new_figure(width: float, height: float, panels: int) -> tuple[Figure, list]:
    figure = new_figure(width, height)
    return figure, list(figure.subplots(1, panels, squeeze=False)[0])


# --- discrete logarithms ------------------------------------------------------------------------

def discrete_log_figure(*series: Sequence[Measurement], extend_to: int = 64,
                        costs: Sequence[AttackCost] = (), speeds: Mapping[str, float] | None = None) -> Figure:
    """Measured search times against group size, each with its fitted growth curve, extended to
    ``extend_to`` bits; and, if ``costs`` and ``speeds`` are given, a second panel with the years
    each attack would take at the speed measured here (operation count / operations per second)."""
    if not series or not all(series):
        raise FigureError("discrete_log_figure needs at least one non-empty series of measurements")
    panels = 2 if costs else 1
    figure, axes = _new_figure(6.5 * panels, 4.2, panels)
    left = axes[0]
    for colour, measurements in zip(_COLOURS, series):
        fit = fit_growth(measurements)
        bits = [m.bits for m in measurements]
        label = measurements[0].method
        left.scatter(bits, [m.seconds for m in measurements], color=colour, zorder=3, label=f"{label}: measured")
        line = np.linspace(min(bits), extend_to, 100)
        left.plot(line, [fit.seconds(b) for b in line], "--", color=colour,
                  label=f"fit: time x 2^{fit.slope:.2f} per extra bit")
    for seconds, name in ((1.0, "a second"), (3600.0, "an hour"), (365.25 * 86400, "a year")):
        left.axhline(seconds, color="#9ca3af", linewidth=0.8)
        left.annotate(name, (left.get_xlim()[0], seconds), xytext=(2, 2), textcoords="offset points",
                      fontsize=8, color="#6b7280")
    left.set_yscale("log")
    # Powers of ten written as the right panel writes them: matplotlib's default typesets each
    # label as mathtext, which costs more than drawing the rest of the figure.
    left.yaxis.set_major_formatter(FuncFormatter(_power_of_ten))
    left.yaxis.set_minor_formatter(NullFormatter())
    left.set_xlabel("size of the prime p (bits)")
    left.set_ylabel("seconds to find the secret (worst case)")
    left.set_title("Discrete logarithm, measured here and extended")
    left.legend(fontsize=8, loc="lower right")
    if costs:
        if speeds is None:
            raise FigureError("pass speeds= (operations per second for each group) to draw the costs")
        right = axes[1]
        labels = [f"{c.target}\n{c.method}" for c in costs]
        years = [c.log10_years(speeds[c.target]) for c in costs]
        right.barh(range(len(costs)), years, color=[_COLOURS[0] if c.target == costs[0].target else _COLOURS[2]
                                                    for c in costs])
        right.set_yticks(range(len(costs)), labels, fontsize=8)
        right.invert_yaxis()
        # The bars are exponents (years = 10^value), themselves spanning 20 to 600: a log axis keeps
        # the short bars visible next to the long ones.
        right.set_xscale("log")
        right.set_xlim(1, max(years) * 3)
        right.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"10^{value:g}"))
        right.set_xlabel("years needed, at the speed measured here (log scale of the exponent)")
        right.set_title("Extrapolated: operations / measured speed")
        for index, value in enumerate(years):
            right.annotate(f"10^{value:.0f} years", (value, index), xytext=(3, 0), textcoords="offset points",
                           va="center", fontsize=8)
    figure.tight_layout()
    return figure


def _power_of_ten(value: float, _position) -> str:
    """A log axis's tick label: ``10^k`` for a power of ten, the number itself otherwise."""
    if value > 0 and math.isclose(math.log10(value), round(math.log10(value))):
        return f"10^{round(math.log10(value))}"
    return f"{value:g}"


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


def curve_over_reals_figure(curve: ToyCurve, p_x: float = 0.0, q_x: float = 1.5) -> Figure:
    """The curve's equation drawn over the real numbers, with the group law: P + Q (the line through
    P and Q meets the curve a third time; the sum is that point's mirror) and P + P (the tangent)."""
    if p_x == q_x:
        raise FigureError("P and Q need different x-coordinates for the chord picture")
    p = (p_x, _real_y(curve, p_x))
    q = (q_x, _real_y(curve, q_x))
    figure, axes = _new_figure(10, 4.6, 2)
    roots = [r.real for r in np.roots([1, 0, curve.a, curve.b]) if abs(r.imag) < 1e-9]
    for axis, (title, first, second, names) in zip(axes, (
            ("Adding two points: P + Q", p, q, ("P", "Q", "P + Q")),
            ("Doubling a point: P + P = 2P", p, p, ("P", None, "2P")))):
        slope, x3, y3 = _real_sum(curve, first, second)
        right_end = max(x3, q_x, p_x) + 0.6
        xs = np.linspace(min(roots), right_end, 600)
        ys = np.sqrt(np.clip(xs ** 3 + curve.a * xs + curve.b, 0, None))
        axis.plot(xs, ys, color=_COLOURS[0])
        axis.plot(xs, -ys, color=_COLOURS[0])
        span = np.linspace(min(first[0], x3) - 0.4, max(second[0], x3) + 0.4, 2)
        axis.plot(span, first[1] + slope * (span - first[0]), color="#6b7280", linewidth=1,
                  label="line through P and Q" if names[1] else "tangent at P")
        axis.plot([x3, x3], [-y3, y3], ":", color=_COLOURS[1], label="mirror in the x-axis")
        third = f"third point = -({names[2]})"
        points = [(first, names[0]), ((x3, -y3), third), ((x3, y3), names[2])]
        if names[1]:
            points.insert(1, (second, names[1]))
        for (x, y), name in points:
            colour = _COLOURS[1] if name == names[2] else "#111827"
            axis.scatter([x], [y], color=colour, zorder=3)
            below = name == third  # under the line, clear of the chord and of P
            axis.annotate(name, (x, y), xytext=(8, -14) if below else (6, 6), textcoords="offset points",
                          color=colour)
        axis.axhline(0, color="#d1d5db", linewidth=0.8)
        axis.set_title(title)
        axis.set_xlabel("x")
        axis.set_ylabel("y")
        axis.legend(fontsize=8, loc="lower right")
    figure.suptitle(f"y² = x³ + {curve.a}x + {curve.b} over the real numbers")
    figure.tight_layout()
    return figure


def curve_over_field_figure(curve: ToyCurve, generator: CurvePoint) -> Figure:
    """Every point of the curve modulo p, each labelled with k where it equals k x generator, and
    the path generator -> 2 x generator -> 3 x generator ... jumping around the grid."""
    if not curve.contains(generator) or generator.is_infinity:
        raise FigureError(f"{generator} is not a finite point of {curve}")
    points = curve.points()
    multiples = curve.multiples(generator)
    label = {point: k for k, point in enumerate(multiples, start=1)}
    figure, (axis,) = _new_figure(6.2, 6.0, 1)
    path = [m for m in multiples if not m.is_infinity]
    axis.plot([m.x for m in path], [m.y for m in path], color=_COLOURS[0], alpha=0.25, linewidth=1)
    axis.scatter([pt.x for pt in points], [pt.y for pt in points], color=_COLOURS[0], zorder=3)
    for point in points:
        if point in label:
            axis.annotate(f"{label[point]}G", (point.x, point.y), xytext=(4, 4), textcoords="offset points",
                          fontsize=8)
    axis.axhline(curve.p / 2, color=_COLOURS[1], linestyle=":", linewidth=1,
                 label="points come in pairs (x, y), (x, p - y)")
    axis.set_xlim(-0.5, curve.p - 0.5)
    axis.set_ylim(-0.5, curve.p - 0.5)
    axis.set_xticks(range(curve.p))
    axis.set_yticks(range(curve.p))
    axis.grid(True, color="#e5e7eb")
    axis.set_aspect("equal")
    axis.set_xlabel("x")
    axis.set_ylabel("y")
    axis.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.08))
    axis.set_title(f"{curve}: {len(points)} points + O, G = {generator}")
    figure.tight_layout()
    return figure
