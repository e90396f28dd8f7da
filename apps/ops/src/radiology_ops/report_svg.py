"""The inline SVG plot of the report: latency p50/p99 and errors per second, with phase markers."""

from __future__ import annotations

import math
from html import escape
from typing import Any

WIDTH, HEIGHT = 1000, 360
LEFT, RIGHT, TOP, BOTTOM = 64, 64, 56, 44
COLORS = {
    "p50": "#2563eb",
    "p99": "#ea580c",
    "failed": "#dc2626",
    "frozen": "#a3a3a3",
    "switch": "#7c3aed",
    "rollback": "#be123c",
    "flip": "#7c3aed",
    "phase": "#64748b",
}


def _nice(value: float) -> float:
    """A round axis maximum at or above value."""
    if value <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(value))
    return next(m * exp for m in (1, 2, 2.5, 5, 10) if m * exp >= value)


def render_plot(series: list[dict[str, Any]], markers: list[dict[str, Any]]) -> str:
    points = [p for p in series if p.get("t") is not None]
    span = max([p["t"] + 1 for p in points] + [m["t"] for m in markers] + [1.0])
    lat_max = _nice(max([p.get("p99") or 0 for p in points] + [1.0]))
    err_max = _nice(max([(p.get("failed") or 0) + (p.get("frozen") or 0) for p in points] + [1]))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(t: float) -> float:
        return LEFT + plot_w * t / span

    def y_lat(v: float) -> float:
        return TOP + plot_h * (1 - v / lat_max)

    def y_err(v: float) -> float:
        return TOP + plot_h * (1 - v / err_max)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" '
        f'aria-label="request latency and errors per second through the run" font-family="sans-serif" '
        f'font-size="11">',
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#fafafa" stroke="#d4d4d4"/>',
    ]
    for i in range(5):
        v = lat_max * i / 4
        out.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y_lat(v):.1f}" y2="{y_lat(v):.1f}" stroke="#e5e5e5"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y_lat(v) + 4:.1f}" text-anchor="end">{v:g}</text>')
        e = err_max * i / 4
        out.append(f'<text x="{LEFT + plot_w + 6}" y="{y_err(e) + 4:.1f}" fill="{COLORS["failed"]}">{e:g}</text>')
    for i in range(7):
        t = span * i / 6
        out.append(f'<text x="{x(t):.1f}" y="{TOP + plot_h + 16}" text-anchor="middle">{t:.0f}s</text>')
    out.append(
        f'<text x="14" y="{TOP + plot_h / 2}" transform="rotate(-90 14 {TOP + plot_h / 2})" '
        f'text-anchor="middle">latency ms</text>'
    )
    out.append(
        f'<text x="{WIDTH - 12}" y="{TOP + plot_h / 2}" transform="rotate(90 {WIDTH - 12} {TOP + plot_h / 2})" '
        f'text-anchor="middle" fill="{COLORS["failed"]}">errors / frozen per second</text>'
    )
    bar_w = max(1.0, plot_w / span * 0.8)
    for p in points:
        failed, frozen = p.get("failed") or 0, p.get("frozen") or 0
        if frozen:
            out.append(
                f'<rect x="{x(p["t"]):.1f}" y="{y_err(failed + frozen):.1f}" width="{bar_w:.1f}" '
                f'height="{y_err(failed) - y_err(failed + frozen):.1f}" fill="{COLORS["frozen"]}" opacity="0.6"/>'
            )
        if failed:
            out.append(
                f'<rect x="{x(p["t"]):.1f}" y="{y_err(failed):.1f}" width="{bar_w:.1f}" '
                f'height="{TOP + plot_h - y_err(failed):.1f}" fill="{COLORS["failed"]}"/>'
            )
    for key in ("p50", "p99"):
        coords = [f"{x(p['t'] + 0.5):.1f},{y_lat(p[key]):.1f}" for p in points if p.get(key) is not None]
        if coords:
            out.append(f'<polyline points="{" ".join(coords)}" fill="none" stroke="{COLORS[key]}" stroke-width="1.6"/>')
    for i, m in enumerate(markers):
        color = COLORS.get(m["kind"], COLORS["phase"])
        heavy = m["kind"] != "phase"
        out.append(
            f'<line x1="{x(m["t"]):.1f}" x2="{x(m["t"]):.1f}" y1="{TOP}" y2="{TOP + plot_h}" stroke="{color}" '
            f'stroke-width="{2 if heavy else 1}" stroke-dasharray="{"" if heavy else "4 3"}"/>'
        )
        label_y = TOP - 6 - (i % 3) * 13
        weight = "bold" if heavy else "normal"
        out.append(
            f'<text x="{x(m["t"]) + 2:.1f}" y="{label_y}" fill="{color}" font-weight="{weight}">'
            f"{escape(m['phase'])}</text>"
        )
    legend = [("p50", "latency p50"), ("p99", "latency p99"), ("failed", "failed/s"), ("frozen", "frozen/s")]
    for i, (key, label) in enumerate(legend):
        lx = LEFT + i * 120
        out.append(
            f'<rect x="{lx}" y="{HEIGHT - 16}" width="12" height="8" fill="{COLORS[key]}"/>'
            f'<text x="{lx + 16}" y="{HEIGHT - 8}">{label}</text>'
        )
    if not points:
        out.append(
            f'<text x="{LEFT + plot_w / 2}" y="{TOP + plot_h / 2}" text-anchor="middle" fill="#737373">'
            f"no load data in this run</text>"
        )
    out.append("</svg>")
    return "\n".join(out)
