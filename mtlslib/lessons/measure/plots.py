"""The measurements as charts: every function takes the rows a measuring function returned and
returns a :class:`~mtlslib.display.chart.Chart`, which a notebook shows once, as the cell's value,
an SVG picture that carries its text alternative (title, axes, series) for the reading edition."""

from __future__ import annotations

import statistics
from typing import Iterable, Sequence

from mtlslib.display.chart import GUIDE, NOTE, Chart
from mtlslib.errors import FigureError

from .network import NetworkConfig, NetworkSummary
from .timing import ConnectionKind, LatencySample, group_by_config
from .traffic import Traffic

__all__ = ["plot_latencies", "plot_network", "plot_traffic"]


def plot_latencies(samples: Iterable[LatencySample]) -> Chart:
    """Left: the latency distributions of TLS and mutual TLS 1.3 (the first key type measured)
    overlaid; right: every configuration as a box plot. Returns the ``Chart``."""
    samples = list(samples)
    if not samples:
        raise FigureError("no latency samples to plot: give the result of handshake_latencies()")
    groups = group_by_config(samples)
    first_key = next(iter(groups)).key_type
    pair = [c for c in groups if c.tls_version == "1.3" and c.key_type == first_key]
    if not pair:
        raise FigureError(f"no TLS 1.3 samples with {first_key} keys (the first key type measured) to draw the "
                          "distributions of: measure TLS 1.3 first")
    chart = Chart(1100, 420, 2, ratios=(1, 1.3))
    left, right = chart.panels
    pair_ms = [s * 1000 for config in pair for s in groups[config]]
    # The slowest few (a thread that had to wait for the processor) would stretch the axis and
    # squash the shapes; they are piled into the last bin instead.
    high = statistics.quantiles(pair_ms, n=20, method="inclusive")[-1] if len(pair_ms) > 1 else max(pair_ms) * 1.1
    low = min(pair_ms) - (high - min(pair_ms)) * 0.05
    width = (high - low) / 50
    tallest = 0
    for config in pair:
        counts = [0] * 50
        for seconds in groups[config]:
            counts[min(int((min(seconds * 1000, high) - low) / width), 49)] += 1
        tallest = max(tallest, *counts)
        for index, count in enumerate(counts):
            if count:
                left.rect(low + index * width, low + (index + 1) * width, 0, count, colour=_colour(config),
                          opacity=0.6, label=config.label)
    # Headroom above the tallest bar for the legend.
    left.x.limits, left.y.limits, left.y.whole = (low - width, high + width), (0, tallest * 1.4), True
    left.x.label = ("milliseconds (connect, handshake, first answer;\n"
                    "the slowest 5% of these connections piled on the right)")
    left.y.label, left.title = "connections", "TLS 1.3 against mutual TLS 1.3"
    configs = list(groups)
    right.y_categories([c.label for c in configs])
    for row, config in enumerate(configs):
        values = [s * 1000 for s in groups[config]]
        if len(values) > 1:
            p5, *_, p95 = statistics.quantiles(values, n=20, method="inclusive")
            first, median, third = statistics.quantiles(values, n=4, method="inclusive")
        else:
            p5 = first = median = third = p95 = values[0]
        right.line([p5, first], [row, row], colour="black", width=1)
        right.line([third, p95], [row, row], colour="black", width=1)
        for end in (p5, p95):
            right.line([end, end], [row - 0.15, row + 0.15], colour="black", width=1)
        right.rect(first, third, row - 0.3, row + 0.3, colour=_colour(config), opacity=0.6, edge="black")
        right.line([median, median], [row - 0.3, row + 0.3], colour="black", width=2)
    right.x.label = "milliseconds (line: median; box: middle half;\nwhiskers: from the fastest 5% to the slowest 5%)"
    right.title = "Every configuration"
    return chart


def _colour(config: ConnectionKind) -> str:
    return "#d97706" if config.mutual else "#2563eb"


def plot_traffic(rows: Sequence[Traffic]) -> Chart:
    """Bytes each side sent during the handshake, one group of bars per row. Returns the ``Chart``."""
    if not rows:
        raise FigureError("no traffic rows to plot: give the result of handshake_traffic() for each capture")
    chart = Chart(700, 170 + 48 * len(rows))
    (panel,) = chart.panels
    panel.y_categories([f"{r.label} ({r.round_trips} RTT)" for r in rows])
    width = 0.38
    for row, traffic in enumerate(rows):
        for offset, sent, name, colour in ((-width, traffic.client_bytes, "client sent", "#d97706"),
                                           (0, traffic.server_bytes, "server sent", "#2563eb")):
            panel.rect(0, sent, row + offset, row + offset + width, colour=colour, label=name)
            panel.text(sent, row + offset + width / 2, f"{sent:,}", dx=3, size=10, middle=True)
    panel.x.limits = (0, max(max(r.client_bytes, r.server_bytes) for r in rows) * 1.18)
    panel.x.label = "bytes on the wire before application data"
    panel.legend_at = "below"  # clear of the bars, whichever is longest
    return chart


def plot_network(summaries: Sequence[NetworkSummary]) -> Chart:
    """Median time to the first answer against the round-trip time, one line per configuration,
    over grey guides at 1, 2 and 3 round trips. Returns the ``Chart``."""
    if not summaries:
        raise FigureError("nothing to plot: give the result of summarize_network()")
    lines: dict[NetworkConfig, list[tuple[float, float]]] = {}
    for row in summaries:
        lines.setdefault(row.config, []).append((row.rtt_ms, row.median_ms))
    longest = max(row.rtt_ms for row in summaries)
    chart = Chart(700, 420)
    (panel,) = chart.panels
    # The guides reach a little past the last measurement, so that their labels stand clear of its markers.
    reach = longest * 1.1 or 1.0
    for n in (1, 2, 3):
        panel.line([0, reach], [0, n * reach], colour=GUIDE, width=0.8)
        panel.text(reach, n * reach, f"{n} x RTT", dx=4, size=10, colour=NOTE, middle=True)
    for config, points in lines.items():
        points.sort()
        # Lines that coincide are the point of the figure: the line styles keep each one visible.
        panel.line([x for x, _ in points], [y for _, y in points], colour=_colour(config),
                   dash=":" if config.resumed else ("-" if config.tls_version == "1.3" else "--"),
                   marker="o" if config.tls_version == "1.3" else "s", label=config.label)
    panel.x.label = "round-trip time added by the relay (ms)"
    panel.y.label = "median ms, connect to first answer"
    panel.title = "Waiting grows with the round-trip time; computing does not"
    panel.x.limits = (-0.05 * reach, reach * 1.16)  # room on the right for the guides' labels
    panel.legend_at = "upper left"
    return chart
