"""The certificate's plot, drawn on the server as SVG (no script): speed made good over time, the speed
limit as a dashed line and the flagged fixes as red marks."""

from __future__ import annotations

import datetime

from django.utils.html import escape

WIDTH, HEIGHT, LEFT, BOTTOM, TOP, RIGHT = 800, 240, 48, 28, 10, 10


def _label(seconds: float, dated: bool) -> str:
    if dated:
        return datetime.datetime.fromtimestamp(seconds, datetime.UTC).strftime("%Y-%m-%d %H:%M")
    return f"day {int(seconds // 86400)} {int(seconds % 86400 // 3600):02d}:{int(seconds % 3600 // 60):02d}"


def speed_svg(plot: dict, flagged: list[dict], dated: bool) -> str:
    """SVG markup (numbers and escaped labels only)."""
    t, v = plot.get("t") or [], plot.get("v") or []
    limit = float(plot.get("limit") or 8.7)
    if not t:
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" class="nav-plot" viewBox="0 0 {WIDTH} 40" role="img" '
            'aria-label="No speed to plot"><text x="10" y="25">No speed to plot (fewer than two fixes in order).</text></svg>'
        )
    t0, t1 = min(t), max(t)
    span = max(t1 - t0, 1.0)
    vmax = min(max(max(v), limit), 3 * limit) * 1.1  # a spike is clipped at the top, the rest stays legible
    w, h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(s):
        return LEFT + (s - t0) / span * w

    def y(value):
        return TOP + h - min(value, vmax) / vmax * h

    # A gap in the data breaks the line: steps longer than the gap threshold and three bins.
    gap = max(float(plot.get("gap") or 300.0), 3 * span / max(len(t), 1))
    lines, current = [], []
    for i, (a, value) in enumerate(zip(t, v, strict=True)):
        if current and a - t[i - 1] > gap:
            lines.append(current)
            current = []
        current.append(f"{x(a):.1f},{y(value):.1f}")
    lines.append(current)
    polylines = "".join(
        f'<polyline points="{" ".join(line)}" fill="none" stroke="#246" stroke-width="1"/>' for line in lines
    )
    marks = []
    for f in flagged:
        if f.get("t") is None or not (t0 <= f["t"] <= t1):
            continue
        yy = y(f["speed"]) if f.get("speed") is not None else TOP + h
        title = escape(", ".join(f["flags"]))
        marks.append(
            f'<circle cx="{x(f["t"]):.1f}" cy="{yy:.1f}" r="2.5" class="flag"><title>{title}</title></circle>'
        )
    ticks = []
    for frac in (0, 0.5, 1):
        s = t0 + frac * span
        anchor = "start" if frac == 0 else ("end" if frac == 1 else "middle")
        ticks.append(
            f'<text x="{x(s):.1f}" y="{HEIGHT - 8}" text-anchor="{anchor}">{escape(_label(s, dated))}</text>'
        )
    for value in (0, limit, vmax / 1.1):
        ticks.append(f'<text x="{LEFT - 4}" y="{y(value) + 4:.1f}" text-anchor="end">{value:.1f}</text>')
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="nav-plot" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="Speed made good over time (m/s); flagged fixes in red" font-size="11">'
        f'<rect x="{LEFT}" y="{TOP}" width="{w}" height="{h}" fill="none" stroke="#999"/>'
        f'<line x1="{LEFT}" x2="{LEFT + w}" y1="{y(limit):.1f}" y2="{y(limit):.1f}" stroke="#c60" stroke-dasharray="4 3"/>'
        f"{polylines}"
        f'<g fill="#c00">{"".join(marks)}</g>{"".join(ticks)}'
        f'<text x="{LEFT + 4}" y="{TOP + 12}">m/s (limit {limit:g}, dashed)</text></svg>'
    )
