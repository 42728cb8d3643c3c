"""The measurements as matplotlib figures: every function takes the rows a measuring function
returned and returns a ``Figure`` (made without pyplot, so that a notebook shows it once, as the
cell's value), whose output carries its text alternative (title, axes, series) for the reading edition."""

from __future__ import annotations

import statistics
from typing import Iterable, Sequence

from mtlslib.display import new_figure
from mtlslib.errors import FigureError

from .network import NetworkConfig, NetworkSummary
from .timing import ConnectionKind, LatencySample, group_by_config
from .traffic import Traffic

__all__ = ["plot_latencies", "plot_network", "plot_traffic"]


def plot_latencies(samples: Iterable[LatencySample]):
    """Left: the latency distributions of TLS and mutual TLS 1.3 (the first key type measured)
    overlaid; right: every configuration as a box plot. Returns the ``Figure``."""
    samples = list(samples)
    if not samples:
        raise FigureError("no latency samples to plot: give the result of handshake_latencies()")
    groups = group_by_config(samples)
    first_key = next(iter(groups)).key_type
    pair = [c for c in groups if c.tls_version == "1.3" and c.key_type == first_key]
    if not pair:
        raise FigureError(f"no TLS 1.3 samples with {first_key} keys (the first key type measured) to draw the "
                          "distributions of: measure TLS 1.3 first")
    fig = new_figure(11, 4.2)
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.3]})
    pair_ms = [s * 1000 for config in pair for s in groups[config]]
    # The slowest few (a thread that had to wait for the processor) would stretch the axis and
    # squash the shapes; they are piled into the last bin instead.
    low = min(pair_ms) * 0.9
    high = statistics.quantiles(pair_ms, n=20)[-1] if len(pair_ms) > 1 else max(pair_ms) * 1.1
    bins = [low + (high - low) * i / 50 for i in range(51)]
    for config in pair:
        left.hist([min(s * 1000, high) for s in groups[config]], bins=bins, alpha=0.6, label=config.label,
                  color=_colour(config))
    left.set_xlabel("milliseconds (connect, handshake, first answer;\nthe slowest 5% piled on the right)")
    left.set_ylabel("connections")
    left.set_title("TLS 1.3 against mutual TLS 1.3")
    left.legend()
    configs = list(groups)
    box = right.boxplot([[s * 1000 for s in groups[c]] for c in configs], orientation="horizontal", whis=(5, 95),
                        showfliers=False, patch_artist=True, medianprops={"color": "black"})
    for patch, config in zip(box["boxes"], configs):
        patch.set_facecolor(_colour(config))
        patch.set_alpha(0.6)
    right.set_yticks(range(1, len(configs) + 1), [c.label for c in configs])
    right.invert_yaxis()
    right.set_xlabel("milliseconds (line: median; box: middle half;\nwhiskers: from the fastest 5% to the slowest 5%)")
    right.set_title("Every configuration")
    fig.tight_layout()
    return fig


def _colour(config: ConnectionKind) -> str:
    return "#d97706" if config.mutual else "#2563eb"


def plot_traffic(rows: Sequence[Traffic]):
    """Bytes each side sent during the handshake, one group of bars per row. Returns the ``Figure``."""
    if not rows:
        raise FigureError("no traffic rows to plot: give the result of handshake_traffic() for each capture")
    fig = new_figure(7, 3.2)
    ax = fig.subplots()
    positions = range(len(rows))
    width = 0.38
    client = ax.barh([p - width / 2 for p in positions], [r.client_bytes for r in rows], width,
                     label="client sent", color="#d97706")
    server = ax.barh([p + width / 2 for p in positions], [r.server_bytes for r in rows], width,
                     label="server sent", color="#2563eb")
    for bars in (client, server):
        ax.bar_label(bars, padding=3, fontsize=8)
    ax.set_yticks(list(positions), [f"{r.label} ({r.round_trips} RTT)" for r in rows])
    ax.invert_yaxis()
    ax.set_xlabel("bytes on the wire before application data")
    ax.margins(x=0.15)
    ax.legend(loc="upper right")
    fig.tight_layout()
    return fig


def plot_network(summaries: Sequence[NetworkSummary]):
    """Median time to the first answer against the round-trip time, one line per configuration,
    over grey guides at 1, 2 and 3 round trips. Returns the ``Figure``."""
    if not summaries:
        raise FigureError("nothing to plot: give the result of summarize_network()")
    lines: dict[NetworkConfig, list[tuple[float, float]]] = {}
    for row in summaries:
        lines.setdefault(row.config, []).append((row.rtt_ms, row.median_ms))
    longest = max(row.rtt_ms for row in summaries)
    fig = new_figure(7, 4.2)
    ax = fig.subplots()
    for n in (1, 2, 3):
        ax.plot([0, longest], [0, n * longest], color="#9ca3af", linewidth=0.8, zorder=0)
        ax.annotate(f"{n} x RTT", (longest, n * longest), xytext=(4, 0), textcoords="offset points",
                    va="center", fontsize=8, color="#6b7280")
    for config, points in lines.items():
        points.sort()
        # Lines that coincide are the point of the figure: the line styles keep each one visible.
        ax.plot([x for x, _ in points], [y for _, y in points], color=_colour(config),
                linestyle=":" if config.resumed else ("-" if config.tls_version == "1.3" else "--"),
                marker="o" if config.tls_version == "1.3" else "s", markersize=4, label=config.label)
    ax.set_xlabel("round-trip time added by the relay (ms)")
    ax.set_ylabel("median ms, connect to first answer")
    ax.set_title("Waiting grows with the round-trip time; computing does not")
    ax.margins(x=0.12)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
