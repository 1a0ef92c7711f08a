"""The nodes page's plot: healthy copies per public version, fewest first, as server-rendered SVG.

Drawn from the health file's ``copies`` (``health.sorted_health``: already sorted), so the plot, the
at-risk list and what nodes rank by are the same numbers. Up to ``MAX_BARS`` versions get a bar each
(named in its tooltip); more are binned into ``MAX_BARS`` bars of consecutive versions in that order,
each as high as the fewest copies in it (the plot never looks healthier than the swarm is). A bar under
the at-risk line is drawn in the warning colour.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

MAX_BARS = 120
WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 10, 34  # margins for the axes' labels


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    at_risk: bool
    label: str  # the tooltip


@dataclass
class Tick:
    y: float
    value: int


@dataclass
class Plot:
    bars: list[Bar]
    ticks: list[Tick]
    threshold_y: float
    versions: int
    at_risk: int
    binned: bool
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    bottom_y: int = HEIGHT - BOTTOM
    right_x: int = WIDTH - RIGHT


def _ticks(top: int) -> list[int]:
    step = max(1, -(-top // 5))
    return list(range(0, top + 1, step))


def build(table: pa.Table, threshold: int, names: dict[str, str]) -> Plot | None:
    """The plot of ``table`` (``infohash``, ``copies``; sorted, fewest first); ``names``: infohash → the
    version's name, for the tooltips of unbinned bars. None when there is nothing to draw."""
    n = table.num_rows
    if n == 0:
        return None
    copies = table.column("copies").to_pylist() if n <= MAX_BARS else None
    infohashes = table.column("infohash").to_pylist() if n <= MAX_BARS else None
    top = max(int(table.column("copies")[n - 1].as_py()), threshold, 1)  # sorted: the last is the most
    plot_h = HEIGHT - TOP - BOTTOM
    plot_w = WIDTH - LEFT - RIGHT

    def y_of(value: float) -> float:
        return TOP + plot_h * (1 - value / top)

    bars = []
    if copies is not None:
        width = plot_w / n
        for i, (value, infohash) in enumerate(zip(copies, infohashes, strict=True)):
            label = f"{names.get(infohash, infohash[:12])}: {value} {'copy' if value == 1 else 'copies'}"
            bars.append(_bar(i * width, width, value, value < threshold, label, y_of))
    else:
        width = plot_w / MAX_BARS
        column = table.column("copies")
        for b in range(MAX_BARS):
            lo, hi = b * n // MAX_BARS, (b + 1) * n // MAX_BARS
            low = int(column[lo].as_py())
            high = int(column[hi - 1].as_py())
            span = f"{low}" if low == high else f"{low}–{high}"
            label = f"versions {lo + 1:,}–{hi:,}: {span} copies"
            bars.append(_bar(b * width, width, low, low < threshold, label, y_of))
    at_risk = sum(1 for value in (copies or []) if value < threshold) if copies is not None else None
    if at_risk is None:
        import pyarrow.compute as pc

        at_risk = int(pc.sum(pc.less(table.column("copies"), threshold)).as_py() or 0)
    return Plot(
        bars=bars,
        ticks=[Tick(y=y_of(v), value=v) for v in _ticks(top)],
        threshold_y=y_of(threshold),
        versions=n,
        at_risk=at_risk,
        binned=copies is None,
    )


def _bar(x: float, width: float, value: int, at_risk: bool, label: str, y_of) -> Bar:
    gap = min(1.0, width * 0.2)
    y = y_of(value)
    return Bar(
        x=round(LEFT + x + gap / 2, 2),
        y=round(y, 2),
        width=round(max(width - gap, 0.5), 2),
        height=round(y_of(0) - y, 2),
        at_risk=at_risk,
        label=label,
    )
