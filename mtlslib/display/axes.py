"""A chart's axis: its range (given or fitted to the data), where a value falls in pixels, and
round-numbered ticks, on a linear or a logarithmic scale."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

from mtlslib.errors import FigureError

__all__ = ["Axis", "superscript"]

_SUPERSCRIPTS = str.maketrans("0123456789-", "\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079\u207b")
_STEPS = (1, 2, 2.5, 5, 10)  # a linear axis steps by one of these times a power of ten
_MOST_TICKS = 8


def superscript(exponent: int | str) -> str:
    """``10`` raised to ``exponent`` as text: ``superscript(-6)`` is '10⁻⁶'."""
    return "10" + str(exponent).translate(_SUPERSCRIPTS)


@dataclass
class Axis:
    """One axis of a panel. ``limits`` fixes its range (else it fits the data, ``margin`` of it on
    each side); ``ticks`` and ``tick_labels`` fix its ticks; ``formatter`` writes a tick's label;
    ``whole`` keeps ticks on whole numbers (counts); ``inverted`` runs it top-down or right-to-left."""

    label: str = ""
    scale: str = "linear"
    limits: tuple[float, float] | None = None
    ticks: Sequence[float] | None = None
    tick_labels: Sequence[str] | None = None
    formatter: Callable[[float], str] | None = None
    whole: bool = False
    inverted: bool = False
    values: list[float] = field(default_factory=list)  # every coordinate the marks use, for fitting

    def valid(self, value: float) -> bool:
        """Whether ``value`` can be placed: anything on a linear axis, only positive values on a log one."""
        return self.scale == "linear" or value > 0

    def span(self, margin: float) -> tuple[float, float]:
        if self.scale not in ("linear", "log"):
            raise FigureError(f"an axis is 'linear' or 'log', not {self.scale!r}")
        if self.limits is not None:
            low, high = self.limits
            if not high > low or not (self.valid(low) and self.valid(high)):
                above = " above 0 on a log axis" if self.scale == "log" else ""
                raise FigureError(f"an axis's limits go from low to high{above}, not {self.limits}")
            return self.limits
        values = [v for v in self.values if self.valid(v)]
        if not values:
            return (1.0, 10.0) if self.scale == "log" else (0.0, 1.0)
        low, high = min(values), max(values)
        if self.scale == "log":
            low, high = math.log10(low), math.log10(high)
        pad = (high - low) * margin or max(abs(low) * 0.05, 0.5)  # one value: some room around it
        low, high = low - pad, high + pad
        return (10 ** low, 10 ** high) if self.scale == "log" else (low, high)

    def position(self, value: float, span: tuple[float, float], start: float, end: float) -> float:
        """Where ``value`` falls between the pixels ``start`` (for span[0]) and ``end``."""
        low, high = span
        if self.scale == "log":
            value, low, high = math.log10(value), math.log10(low), math.log10(high)
        if self.inverted:
            start, end = end, start
        return start + (value - low) / (high - low) * (end - start)

    def tick_marks(self, span: tuple[float, float]) -> list[tuple[float, str]]:
        if self.ticks is not None:
            labels = self.tick_labels or [self.formatter(t) if self.formatter else f"{t:,g}" for t in self.ticks]
            return list(zip(self.ticks, labels))
        return self._log_ticks(span) if self.scale == "log" else self._linear_ticks(span)

    def _linear_ticks(self, span: tuple[float, float]) -> list[tuple[float, str]]:
        low, high = span
        raw = (high - low) / 6
        exponent = math.floor(math.log10(raw))
        multiple = next(m for m in _STEPS if m * 10 ** exponent >= raw * (1 - 1e-9))
        if multiple == 10:
            multiple, exponent = 1, exponent + 1
        if self.whole and multiple * 10 ** exponent < 1:
            multiple, exponent = 1, 0
        step = multiple * 10 ** exponent
        # Enough decimals for the step itself (0.25 needs two), so that no label shows float noise.
        decimals = max(0, -exponent + (1 if multiple == 2.5 else 0))
        first, last = math.ceil(low / step - 1e-9), math.floor(high / step + 1e-9)
        return [(k * step, self._label(k * step, decimals)) for k in range(first, last + 1)]

    def _log_ticks(self, span: tuple[float, float]) -> list[tuple[float, str]]:
        low, high = span
        first, last = math.ceil(math.log10(low) - 1e-9), math.floor(math.log10(high) + 1e-9)
        if last - first < 2:  # two decades or less: 1, 2 and 5 times each power, written plainly
            values = [m * 10.0 ** k for k in range(first - 1, last + 1) for m in (1, 2, 5)]
            return [(v, self.formatter(v) if self.formatter else f"{v:g}") for v in values if low <= v <= high]
        every = next(n for n in (1, 2, 3, 5, 10, 20, 25, 50, 100) if (last - first) // n + 1 <= _MOST_TICKS)
        return [(10.0 ** k, self._label(10.0 ** k, 0)) for k in range(first, last + 1) if k % every == 0]

    def _label(self, value: float, decimals: int) -> str:
        if self.formatter is not None:
            return self.formatter(value)
        if self.scale == "log":
            power = math.log10(value)
            return superscript(round(power)) if math.isclose(power, round(power)) else f"{value:g}"
        return f"{value:,.{decimals}f}"
