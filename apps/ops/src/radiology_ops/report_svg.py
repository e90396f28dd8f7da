"""The inline SVG plot of the report: latency p50/p99 and errors per second, with phase markers.

Phase labels sit above the plot, each starting just right of its marker line (ending just left of it near the
right edge), on the lowest row where it touches no other label: short phases next to each other (a switch of
0.4 s right after the gates) get rows of their own, and the plot moves down to make room. Labels are set in a
monospace font, so their width is known here and `layout_labels` can promise that no two boxes intersect.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape
from typing import Any

WIDTH = 1000
LEFT, RIGHT, TOP, BOTTOM = 64, 64, 56, 44
PLOT_H = 260
LABEL_FONT = 11
LABEL_FAMILY = "ui-monospace,Menlo,Consolas,'DejaVu Sans Mono',monospace"
LABEL_CHAR_W = 0.62 * LABEL_FONT  # a monospace character advances 0.6 em; 0.62 leaves a margin
LABEL_ASCENT, LABEL_DESCENT = 10.0, 3.0  # the box of a line of 11 px text around its baseline
LABEL_ROW = 14.0  # baseline to baseline: boxes 13 px high never touch
LABEL_GAP = 6.0  # free space between two labels on one row
LABEL_OFFSET = 3.0  # between a marker line and its label
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


@dataclass(frozen=True)
class LabelBox:
    """Where one phase label is drawn: its text box (x0..x1, y0..y1), row and how its text is anchored."""

    text: str
    line_x: float
    x0: float
    x1: float
    y0: float
    y1: float
    row: int
    anchor: str  # "start": the text begins at x0; "end": it ends at x1

    @property
    def text_x(self) -> float:
        return self.x0 if self.anchor == "start" else self.x1

    @property
    def baseline(self) -> float:
        return self.y1 - LABEL_DESCENT

    def intersects(self, other: LabelBox) -> bool:
        return self.x0 < other.x1 and other.x0 < self.x1 and self.y0 < other.y1 and other.y0 < self.y1


def label_width(text: str) -> float:
    return len(text) * LABEL_CHAR_W


def plot_top(rows: int) -> float:
    """The y of the plot's top edge when the labels need `rows` rows above it."""
    # the highest row's box ends 4 px below the top of the picture
    return max(float(TOP), 6 + LABEL_DESCENT + (rows - 1) * LABEL_ROW + LABEL_ASCENT + 4)


def layout_labels(labels: list[tuple[str, float]]) -> tuple[list[LabelBox], float]:
    """Boxes for labels given as (text, x of the marker line), and the y of the plot's top edge below them.

    Row 0 is just above the plot; a label takes the lowest row where it keeps LABEL_GAP from every other label.
    """
    placed: list[tuple[str, float, float, float, str, int]] = []
    rows: list[list[tuple[float, float]]] = []
    for text, line_x in sorted(labels, key=lambda label: label[1]):
        width = label_width(text)
        x0, anchor = line_x + LABEL_OFFSET, "start"
        if x0 + width > WIDTH - 2:
            x0, anchor = line_x - LABEL_OFFSET - width, "end"
        if x0 < 2:
            x0, anchor = 2.0, "start"
        x1 = x0 + width
        row = next(
            (i for i, taken in enumerate(rows) if all(x1 + LABEL_GAP <= a or x0 >= b + LABEL_GAP for a, b in taken)),
            len(rows),
        )
        if row == len(rows):
            rows.append([])
        rows[row].append((x0, x1))
        placed.append((text, line_x, x0, x1, anchor, row))
    top = plot_top(len(rows))
    boxes = []
    for text, line_x, x0, x1, anchor, row in placed:
        baseline = top - 6 - LABEL_DESCENT - row * LABEL_ROW
        boxes.append(LabelBox(text, line_x, x0, x1, baseline - LABEL_ASCENT, baseline + LABEL_DESCENT, row, anchor))
    return boxes, top


def render_plot(series: list[dict[str, Any]], markers: list[dict[str, Any]]) -> str:
    points = [p for p in series if p.get("t") is not None]
    span = max([p["t"] + 1 for p in points] + [m["t"] for m in markers] + [1.0])
    lat_max = _nice(max([p.get("p99") or 0 for p in points] + [1.0]))
    err_max = _nice(max([(p.get("failed") or 0) + (p.get("frozen") or 0) for p in points] + [1]))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, PLOT_H

    def x(t: float) -> float:
        return LEFT + plot_w * t / span

    # One label per run of markers with the same name (a phase of several plays: preflight, migrate, ...).
    labelled = [i for i, m in enumerate(markers) if i == 0 or markers[i - 1]["phase"] != m["phase"]]
    boxes, top = layout_labels([(markers[i]["phase"], x(markers[i]["t"])) for i in labelled])
    height = top + plot_h + BOTTOM

    def y_lat(v: float) -> float:
        return top + plot_h * (1 - v / lat_max)

    def y_err(v: float) -> float:
        return top + plot_h * (1 - v / err_max)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height:.0f}" width="100%" role="img" '
        f'aria-label="request latency and errors per second through the run" font-family="sans-serif" '
        f'font-size="11">',
        f'<rect x="{LEFT}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#fafafa" stroke="#d4d4d4"/>',
    ]
    for i in range(5):
        v = lat_max * i / 4
        out.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y_lat(v):.1f}" y2="{y_lat(v):.1f}" stroke="#e5e5e5"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y_lat(v) + 4:.1f}" text-anchor="end">{v:g}</text>')
        e = err_max * i / 4
        out.append(f'<text x="{LEFT + plot_w + 6}" y="{y_err(e) + 4:.1f}" fill="{COLORS["failed"]}">{e:g}</text>')
    for i in range(7):
        t = span * i / 6
        out.append(f'<text x="{x(t):.1f}" y="{top + plot_h + 16}" text-anchor="middle">{t:.0f}s</text>')
    out.append(
        f'<text x="14" y="{top + plot_h / 2}" transform="rotate(-90 14 {top + plot_h / 2})" '
        f'text-anchor="middle">latency ms</text>'
    )
    out.append(
        f'<text x="{WIDTH - 12}" y="{top + plot_h / 2}" transform="rotate(90 {WIDTH - 12} {top + plot_h / 2})" '
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
                f'height="{top + plot_h - y_err(failed):.1f}" fill="{COLORS["failed"]}"/>'
            )
    for key in ("p50", "p99"):
        coords = [f"{x(p['t'] + 0.5):.1f},{y_lat(p[key]):.1f}" for p in points if p.get(key) is not None]
        if coords:
            out.append(f'<polyline points="{" ".join(coords)}" fill="none" stroke="{COLORS[key]}" stroke-width="1.6"/>')
    for m in markers:
        color = COLORS.get(m["kind"], COLORS["phase"])
        heavy = m["kind"] != "phase"
        out.append(
            f'<line x1="{x(m["t"]):.1f}" x2="{x(m["t"]):.1f}" y1="{top}" y2="{top + plot_h}" stroke="{color}" '
            f'stroke-width="{2 if heavy else 1}" stroke-dasharray="{"" if heavy else "4 3"}"/>'
        )
    kinds = {m["phase"]: m["kind"] for m in markers}
    for box in boxes:
        color = COLORS.get(kinds[box.text], COLORS["phase"])
        weight = "normal" if kinds[box.text] == "phase" else "bold"
        out.append(
            f'<text class="phase-label" x="{box.text_x:.1f}" y="{box.baseline:.1f}" text-anchor="{box.anchor}" '
            f'font-family="{LABEL_FAMILY}" font-size="{LABEL_FONT}" fill="{color}" font-weight="{weight}">'
            f"{escape(box.text)}</text>"
        )
    legend = [("p50", "latency p50"), ("p99", "latency p99"), ("failed", "failed/s"), ("frozen", "frozen/s")]
    for i, (key, label) in enumerate(legend):
        lx = LEFT + i * 120
        out.append(
            f'<rect x="{lx}" y="{height - 16:.0f}" width="12" height="8" fill="{COLORS[key]}"/>'
            f'<text x="{lx + 16}" y="{height - 8:.0f}">{label}</text>'
        )
    if not points:
        out.append(
            f'<text x="{LEFT + plot_w / 2}" y="{top + plot_h / 2}" text-anchor="middle" fill="#737373">'
            f"no load data in this run</text>"
        )
    out.append("</svg>")
    return "\n".join(out)
