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
    assert {"10\u207b\u00b3", "10\u2070", "10\u00b3"} <= set(_texts(chart))  # 10⁻³, 10⁰, 10³


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


@pytest.mark.parametrize("low, high", [(0, 1), (0, 0.3), (-7, 123), (3, 3.5), (1000, 250_000), (0, 3e6),
                                       (1e6, 2.5e6), (100_000, 100_001), (0, 1e-11), (0.06, 0.42)])
def test_linear_ticks_are_distinct_round_numbers_inside_the_axis(low, high):
    panel = Chart(400, 300).panels[0]
    ticks = panel.x.tick_marks((low, high))
    labels = [label for _, label in ticks]
    assert 3 <= len(ticks) <= 8 and len(set(labels)) == len(labels), labels
    for value, label in ticks:
        assert low - 1e-9 <= value <= high + 1e-9
        assert re.fullmatch(r"-?[\d,]+(\.\d+)?", label), label  # never 0.30000000000000004 nor 1e+06
        assert float(label.replace(",", "")) == pytest.approx(value, abs=(high - low) * 1e-6)


def test_counts_tick_on_whole_numbers():
    panel = Chart(400, 300).panels[0]
    panel.y.whole = True
    assert [label for _, label in panel.y.tick_marks((0, 2.2))] == ["0", "1", "2"]


@pytest.mark.parametrize("low, high, expected", [
    (2, 8, ["2", "5"]), (0.9, 60, ["1", "2", "5", "10", "20", "50"]),
    (1e-5, 1e12, ["10\u207b\u00b3", "10\u2070", "10\u00b3", "10\u2076", "10\u2079", "10\u00b9\u00b2"])])
def test_log_ticks_fill_a_short_range_and_thin_out_a_long_one(low, high, expected):
    panel = Chart(400, 300).panels[0]
    panel.y.scale = "log"
    assert [label for _, label in panel.y.tick_marks((low, high))][:len(expected)] == expected
    assert len(panel.y.tick_marks((1e-300, 1e300))) <= 8


def test_text_is_escaped_and_multiline_labels_keep_every_line():
    chart = Chart(400, 300, title="a <b> & c")
    (panel,) = chart.panels
    panel.scatter([1], [1], colour="#000", label='"quoted" & <tagged>')
    panel.x.label = "first line\nsecond line"
    texts = _texts(chart)
    assert "a <b> & c" in texts and '"quoted" & <tagged>' in texts and "first linesecond line" in texts
    assert _tree(chart).get("aria-label").startswith("a <b> & c.")


def test_the_same_drawing_gets_the_same_names_and_another_drawing_other_names():
    def chart(value: float, width: int = 300) -> Chart:
        made = Chart(width, 200, 2)
        for panel in made.panels:
            panel.line([0, 1], [0, value], colour="#000")
        return made

    def names(made: Chart) -> set[str]:
        return set(re.findall(r'clipPath id="([^"]+)"', made.svg()))

    assert chart(1).svg() == chart(1).svg()
    # A difference far below a pixel (another platform's last bit) draws the same picture, same names.
    assert chart(math.nextafter(1.0, 2.0)).svg() == chart(1).svg()
    assert len(names(chart(1))) == 2
    assert not names(chart(1)) & names(chart(2)) and not names(chart(1)) & names(chart(1, width=400))


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
    with pytest.raises(FigureError, match="dash"):
        Chart(300, 200).panels[0].line([0], [0], colour="#000", dash="-.")
    with pytest.raises(FigureError, match="marker"):
        Chart(300, 200).panels[0].line([0], [0], colour="#000", marker="x")
    for change, message in ((lambda p: setattr(p.x, "scale", "symlog"), "'linear' or 'log'"),
                            (lambda p: setattr(p, "legend_at", "top right"), "a legend goes"),
                            (lambda p: setattr(p.x, "limits", (3, 3)), "from low to high"),
                            (lambda p: (setattr(p.y, "scale", "log"), setattr(p.y, "limits", (0, 10))), "above 0")):
        chart = Chart(300, 200)
        change(chart.panels[0])
        with pytest.raises(FigureError, match=message):
            chart.svg()


def test_a_square_panel_draws_one_unit_as_long_on_both_axes():
    chart = Chart(500, 300)
    (panel,) = chart.panels
    panel.square = True
    panel.x.limits, panel.y.limits = (0, 10), (0, 5)
    panel.scatter([0, 10, 0], [0, 0, 5], colour="#000")
    (x0, y0), (x1, _), (_, y2) = _circles(chart)
    assert (x1 - x0) == pytest.approx(2 * (y0 - y2), abs=0.2)


def test_a_log_axis_leaves_out_what_it_cannot_place():
    chart = Chart(300, 200)
    (panel,) = chart.panels
    panel.y.scale = "log"
    panel.line([1, 2, 3, 4], [1, 10, 0, 100], colour="#000", marker="o")
    path = next(_tree(chart).iter(f"{SVG}path")).get("d")
    assert path.count("M") == 2 and path.count("L") == 1  # broken at the 0: two pieces
    assert len(_circles(chart)) == 3


def test_an_empty_log_axis_still_has_a_range():
    chart = Chart(300, 200)
    (panel,) = chart.panels
    panel.y.scale = "log"
    panel.scatter([1, 2], [0, -5], colour="#000")  # no positive value to place on the log axis
    low, high = panel.y.span(panel.margin)
    assert 0 < low < high and math.isfinite(high)
    assert _tree(chart).get("role") == "img"
