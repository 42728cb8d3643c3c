"""mtlslib.display.chart: the SVG it draws is well formed, puts each mark where its data says, labels
its axes with round numbers, names its clipping paths from its content, and refuses what it cannot draw."""

from __future__ import annotations

import math
import re
from xml.etree import ElementTree

import pytest

from mtlslib.display.chart import Chart
from mtlslib.errors import FigureError

SVG = "{http://www.w3.org/2000/svg}"


def _tree(chart: Chart) -> ElementTree.Element:
    return ElementTree.fromstring(chart.svg())


def _circles(chart: Chart) -> list[tuple[float, float]]:
    return [(float(c.get("cx")), float(c.get("cy"))) for c in _tree(chart).iter(f"{SVG}circle")]


def _texts(chart: Chart) -> list[str]:
    return ["".join(t.itertext()) for t in _tree(chart).iter(f"{SVG}text")]


def test_points_land_where_their_data_says_on_a_linear_axis():
    chart = Chart(400, 300)
    (panel,) = chart.panels
    panel.scatter([0, 5, 10], [0, 5, 10], colour="#000")
    (x0, y0), (x1, y1), (x2, y2) = _circles(chart)
    assert x0 < x1 < x2 and y0 > y1 > y2  # right and up (SVG's y grows downward)
    assert x1 - x0 == pytest.approx(x2 - x1, abs=0.1) and y0 - y1 == pytest.approx(y1 - y2, abs=0.1)
    assert all(0 < x < 400 and 0 < y < 300 for x, y in _circles(chart))


def test_a_log_axis_spaces_powers_of_ten_evenly():
    chart = Chart(400, 300)
    (panel,) = chart.panels
    panel.y.scale = "log"
    panel.scatter([1, 2, 3], [1e-3, 1, 1e3], colour="#000")
    (_, low), (_, middle), (_, high) = _circles(chart)
    assert low - middle == pytest.approx(middle - high, abs=0.1)
    assert {"10^-3", "10^0", "10^3"} <= set(_texts(chart))


def test_categories_run_from_the_top_down():
    chart = Chart(400, 300)
    (panel,) = chart.panels
    panel.y_categories(["first", "second"])
    panel.rect(0, 10, -0.3, 0.3, colour="#111")
    panel.rect(0, 20, 0.7, 1.3, colour="#222")
    bars = [r for r in _tree(chart).iter(f"{SVG}rect") if r.get("fill") in ("#111", "#222")]
    first, second = sorted(bars, key=lambda r: r.get("fill"))
    assert float(first.get("y")) < float(second.get("y"))
    assert float(second.get("width")) == pytest.approx(2 * float(first.get("width")), abs=0.2)
    assert {"first", "second"} <= set(_texts(chart))


@pytest.mark.parametrize("low, high", [(0, 1), (0, 0.3), (-7, 123), (3, 3.5), (1000, 250_000)])
def test_linear_ticks_are_round_numbers_inside_the_axis(low, high):
    chart = Chart(400, 300)
    (panel,) = chart.panels
    panel.x.limits = (low, high)
    ticks = panel.x.tick_marks((low, high))
    assert 3 <= len(ticks) <= 11
    for value, label in ticks:
        assert low - 1e-9 <= value <= high + 1e-9
        assert re.fullmatch(r"-?[\d,]+(\.\d{1,2})?", label), label  # never 0.30000000000000004


def test_text_is_escaped_and_multiline_labels_keep_every_line():
    chart = Chart(400, 300, title="a <b> & c")
    (panel,) = chart.panels
    panel.scatter([1], [1], colour="#000", label='"quoted" & <tagged>')
    panel.x.label = "first line\nsecond line"
    texts = _texts(chart)
    assert "a <b> & c" in texts and '"quoted" & <tagged>' in texts and "first linesecond line" in texts
    assert _tree(chart).get("aria-label").startswith("a <b> & c.")


def test_the_same_chart_draws_the_same_picture_and_another_chart_other_names():
    def chart(value: float) -> Chart:
        made = Chart(300, 200, 2)
        for panel in made.panels:
            panel.line([0, 1], [0, value], colour="#000")
        return made

    assert chart(1).svg() == chart(1).svg()
    names = [set(re.findall(r'clipPath id="([^"]+)"', chart(v).svg())) for v in (1, 2)]
    assert len(names[0]) == 2 and not names[0] & names[1]


def test_lines_can_be_dashed_and_marked():
    chart = Chart(400, 300)
    (panel,) = chart.panels
    panel.line([0, 1, 2], [0, 1, 4], colour="#123456", dash="--", marker="s", label="squares")
    svg = chart.svg()
    assert re.search(r'<path d="M[\d.]+,[\d.]+ L[\d.]+,[\d.]+ L[\d.]+,[\d.]+" fill="none" stroke="#123456" '
                     r'stroke-width="1.6" stroke-dasharray="6 4"', svg)
    assert svg.count('fill="#123456"/>') == 3 + 1  # a square on each point, and one in the legend


def test_a_chart_refuses_what_it_cannot_draw():
    with pytest.raises(FigureError, match="one or more panels"):
        Chart(300, 200, 0)
    with pytest.raises(FigureError, match="width ratio"):
        Chart(300, 200, 2, ratios=(1,))
    chart = Chart(300, 200)
    chart.panels[0].x.scale = "symlog"
    with pytest.raises(FigureError, match="'linear' or 'log'"):
        chart.svg()


def test_an_empty_log_axis_still_has_a_range():
    chart = Chart(300, 200)
    (panel,) = chart.panels
    panel.y.scale = "log"
    panel.scatter([1, 2], [0, -5], colour="#000")  # no positive value to place on the log axis
    low, high = panel.y.span(panel.margin)
    assert 0 < low < high and math.isfinite(high)
    assert _tree(chart).get("role") == "img"
