"""The Diffie-Hellman figures draw the data they are given: the measured points and fitted curves,
the group law's points on the real curve, every point of the curve modulo p."""

from __future__ import annotations

import io
import math
import re
import subprocess
import sys

import matplotlib.pyplot as plt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure

from mtlslib.insecure.toy_dh import CurvePoint, Measurement, ToyCurve, attack_costs, fit_growth
from mtlslib.insecure.toy_dh.figures import (
    FigureError,
    _power_of_ten,
    _real_sum,
    curve_over_field_figure,
    curve_over_reals_figure,
    discrete_log_figure,
)

CURVE = ToyCurve(2, 2, 17)


def _measurements(method: str, slope: float) -> tuple[Measurement, ...]:
    return tuple(Measurement(method, bits, 2 ** bits, 2 ** bits, 2.0 ** (-25 + slope * bits))
                 for bits in range(8, 21, 4))


def _scatter_points(axis) -> set[tuple[float, float]]:
    return {tuple(xy) for collection in axis.collections for xy in collection.get_offsets()}


def _renders(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def test_discrete_log_figure_plots_each_measurement_and_its_fit():
    brute, shanks = _measurements("brute force", 1.0), _measurements("baby-step giant-step", 0.5)
    figure = discrete_log_figure(brute, shanks, extend_to=48)
    (axis,) = figure.axes
    assert _scatter_points(axis) == {(m.bits, m.seconds) for m in brute + shanks}
    fitted = [line for line in axis.get_lines() if line.get_linestyle() == "--"]
    assert len(fitted) == 2
    for line, series in zip(fitted, (brute, shanks)):
        xs, ys = line.get_data()
        assert xs[-1] == 48 and ys[-1] == pytest.approx(fit_growth(series).seconds(48))
    assert any("2^1.00 per extra bit" in text.get_text() for text in axis.get_legend().get_texts())
    assert plt.get_fignums() == [] and _renders(figure).startswith(b"\x89PNG")


def test_discrete_log_figure_adds_the_extrapolation_panel():
    costs = attack_costs()
    speeds = {"ffdhe2048": 1e5, "X25519": 1e7}
    figure = discrete_log_figure(_measurements("brute force", 1.0), costs=costs, speeds=speeds)
    assert len(figure.axes) == 2
    bars = figure.axes[1].patches
    assert [bar.get_width() for bar in bars] == pytest.approx([c.log10_years(speeds[c.target]) for c in costs])
    assert _renders(figure)


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


def test_curve_over_reals_marks_points_on_the_curve():
    figure = curve_over_reals_figure(CURVE)
    assert len(figure.axes) == 2
    for axis in figure.axes:
        points = _scatter_points(axis)
        assert len(points) in (3, 4)
        for x, y in points:
            assert y ** 2 == pytest.approx(x ** 3 + 2 * x + 2, rel=1e-9)
    assert _renders(figure)


def test_curve_over_reals_refuses_impossible_points():
    with pytest.raises(FigureError, match="no real point"):
        curve_over_reals_figure(CURVE, p_x=-5)
    with pytest.raises(FigureError, match="different"):
        curve_over_reals_figure(CURVE, p_x=1, q_x=1)


def test_curve_over_field_shows_every_point_with_its_multiple():
    generator = CURVE.point(5, 1)
    figure = curve_over_field_figure(CURVE, generator)
    (axis,) = figure.axes
    assert _scatter_points(axis) == {(p.x, p.y) for p in CURVE.points()}
    labels = {text.get_text(): text.xy for text in axis.texts}
    assert labels["1G"] == (5, 1) and labels["2G"] == (CURVE.multiply(2, generator).x, CURVE.multiply(2, generator).y)
    assert len(labels) == len(CURVE.points())
    assert _renders(figure)


def test_curve_over_field_refuses_a_point_off_the_curve():
    with pytest.raises(FigureError, match="not a finite point"):
        curve_over_field_figure(CURVE, CurvePoint(5, 2))


def test_the_figures_need_no_pyplot_and_show_as_one_png():
    # Without pyplot, Jupyter's inline backend never starts: the figure draws its PNG once itself.
    script = ("import sys\nfrom mtlslib.insecure.toy_dh import ToyCurve\n"
              "from mtlslib.insecure.toy_dh.figures import curve_over_reals_figure\n"
              "from mtlslib.lessons.measure import plot_traffic\n"
              "data, metadata = curve_over_reals_figure(ToyCurve(2, 2, 17))._repr_mimebundle_()\n"
              "print('matplotlib.pyplot' in sys.modules, sorted(data), sorted(metadata['image/png']))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.stdout.split("\n")[0] == "False ['image/png'] ['alt']", done.stderr


def test_the_log_axis_labels_powers_of_ten_as_plain_text():
    figure = discrete_log_figure(_measurements("brute force", 1.0), extend_to=48)
    _renders(figure)  # the tick labels are chosen when the figure is drawn
    labels = [label.get_text() for label in figure.axes[0].get_yticklabels() if label.get_text()]
    assert labels and all(re.fullmatch(r"10\^-?\d+", text) for text in labels), labels
    values = (1e-6, 1.0, 1e12, 2e3, 0.0)
    assert [_power_of_ten(value, None) for value in values] == ["10^-6", "10^0", "10^12", "2000", "0"]
