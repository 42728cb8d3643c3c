"""The Diffie-Hellman figures draw the data they are given: the measured points and fitted curves,
the group law's points on the real curve, every point of the curve modulo p."""

from __future__ import annotations

import math
import re
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mtlslib.display.chart import Chart, Panel
from mtlslib.insecure.toy_dh import CurvePoint, Measurement, ToyCurve, attack_costs, fit_growth
from mtlslib.insecure.toy_dh.figures import (
    FigureError,
    _lowest_root,
    _real_sum,
    curve_over_field_figure,
    curve_over_reals_figure,
    discrete_log_figure,
)

CURVE = ToyCurve(2, 2, 17)


def _measurements(method: str, slope: float) -> tuple[Measurement, ...]:
    return tuple(Measurement(method, bits, 2 ** bits, 2 ** bits, 2.0 ** (-25 + slope * bits))
                 for bits in range(8, 21, 4))


def _points(panel: Panel) -> set[tuple[float, float]]:
    return {(x, y) for mark in panel.marks if mark.kind == "points" for x, y in zip(mark.xs, mark.ys)}


def _drawn(chart: Chart) -> str:
    svg = chart.svg()
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    return svg


def test_discrete_log_figure_plots_each_measurement_and_its_fit():
    brute, shanks = _measurements("brute force", 1.0), _measurements("baby-step giant-step", 0.5)
    chart = discrete_log_figure(brute, shanks, extend_to=48)
    (panel,) = chart.panels
    assert _points(panel) == {(m.bits, m.seconds) for m in brute + shanks}
    fitted = [mark for mark in panel.marks if mark.kind == "line" and mark.dash == "--"]
    assert len(fitted) == 2
    for line, series in zip(fitted, (brute, shanks)):
        assert line.xs[-1] == 48 and line.ys[-1] == pytest.approx(fit_growth(series).seconds(48))
    assert [mark.label for mark in panel.legend()][:2] == [
        "brute force: measured", "brute force, fitted: time x 2^1.00 per extra bit"]
    assert panel.y.scale == "log" and "2^1.00 per extra bit" in _drawn(chart)


def test_discrete_log_figure_adds_the_extrapolation_panel():
    costs = attack_costs()
    speeds = {"ffdhe2048": 1e5, "X25519": 1e7}
    chart = discrete_log_figure(_measurements("brute force", 1.0), costs=costs, speeds=speeds)
    assert len(chart.panels) == 2
    bars = [mark for mark in chart.panels[1].marks if mark.kind == "rect"]
    assert [bar.xs[1] for bar in bars] == pytest.approx([c.log10_years(speeds[c.target]) for c in costs])
    assert chart.panels[1].categories == [f"{c.target}\n{c.method}" for c in costs]
    assert ">10\u00b9<" in _drawn(chart)  # the exponent axis labels its ticks as powers: 10¹, 10¹⁰, ...


def test_discrete_log_figure_refuses_what_it_cannot_draw():
    with pytest.raises(FigureError, match="at least one"):
        discrete_log_figure()
    with pytest.raises(FigureError, match="at least one"):
        discrete_log_figure(())
    with pytest.raises(FigureError, match="speeds="):
        discrete_log_figure(_measurements("brute force", 1.0), costs=attack_costs())


@given(st.floats(-0.7, 3.0), st.floats(-0.7, 3.0))
@settings(deadline=None)
def test_the_real_group_law_lands_on_the_curve(x1, x2):
    first = (x1, math.sqrt(x1 ** 3 + 2 * x1 + 2))
    second = (x2, -math.sqrt(x2 ** 3 + 2 * x2 + 2))
    if abs(x1 - x2) < 1e-3:
        return
    _, x3, y3 = _real_sum(CURVE, first, second)
    assert y3 ** 2 == pytest.approx(x3 ** 3 + 2 * x3 + 2, rel=1e-6, abs=1e-6)
    _, x4, y4 = _real_sum(CURVE, first, first)
    assert y4 ** 2 == pytest.approx(x4 ** 3 + 2 * x4 + 2, rel=1e-6, abs=1e-6)


def test_the_real_curve_starts_at_its_lowest_root():
    for curve in (CURVE, ToyCurve(-2, 1, 17), ToyCurve(0, 7, 17)):
        root = _lowest_root(curve)
        assert abs(root ** 3 + curve.a * root + curve.b) < 1e-9
        assert all(x ** 3 + curve.a * x + curve.b < 0 for x in (root - 0.01, root - 1, root - 10))


def test_curve_over_reals_marks_points_on_the_curve():
    chart = curve_over_reals_figure(CURVE)
    assert len(chart.panels) == 2
    for panel in chart.panels:
        points = _points(panel)
        assert len(points) in (3, 4)
        for x, y in points:
            assert y ** 2 == pytest.approx(x ** 3 + 2 * x + 2, rel=1e-9)
    assert "over the real numbers" in _drawn(chart)


def test_curve_over_reals_refuses_impossible_points():
    with pytest.raises(FigureError, match="no real point"):
        curve_over_reals_figure(CURVE, p_x=-5)
    with pytest.raises(FigureError, match="different"):
        curve_over_reals_figure(CURVE, p_x=1, q_x=1)


def test_curve_over_field_shows_every_point_with_its_multiple():
    generator = CURVE.point(5, 1)
    chart = curve_over_field_figure(CURVE, generator)
    (panel,) = chart.panels
    assert _points(panel) == {(p.x, p.y) for p in CURVE.points()}
    labels = {mark.words: (mark.xs[0], mark.ys[0]) for mark in panel.marks if mark.kind == "text"}
    assert labels["1G"] == (5, 1) and labels["2G"] == (CURVE.multiply(2, generator).x, CURVE.multiply(2, generator).y)
    assert len(labels) == len(CURVE.points())
    assert ">2G</text>" in _drawn(chart)


def test_curve_over_field_refuses_a_point_off_the_curve():
    with pytest.raises(FigureError, match="not a finite point"):
        curve_over_field_figure(CURVE, CurvePoint(5, 2))


def test_the_figures_show_as_one_svg_and_need_no_plotting_stack():
    script = ("import sys\nfrom mtlslib.insecure.toy_dh import ToyCurve\n"
              "from mtlslib.insecure.toy_dh.figures import curve_over_reals_figure\n"
              "from mtlslib.lessons.measure import plot_traffic\n"
              "data, metadata = curve_over_reals_figure(ToyCurve(2, 2, 17))._repr_mimebundle_()\n"
              "print('matplotlib' in sys.modules or 'numpy' in sys.modules, sorted(data), sorted(metadata))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.stdout.split("\n")[0] == "False ['image/svg+xml', 'text/plain'] ['image/svg+xml']", done.stderr


def test_the_log_axis_labels_powers_of_ten_with_superscripts():
    chart = discrete_log_figure(_measurements("brute force", 1.0), extend_to=48)
    labels = re.findall(r'text-anchor="end"[^>]*>([^<]+)</text>', chart.svg())
    assert labels and all(re.fullmatch("10\u207b?[\u2070\u00b9\u00b2\u00b3\u2074-\u2079]+", text) for text in labels), labels
