"""Phase labels on the report's plot never overlap: checked geometrically, on the boxes of the layout and on the
<text> elements of the SVG the report actually wrote."""

from __future__ import annotations

import itertools
import re

from radiology_ops.report import build_report
from radiology_ops.report_svg import LABEL_ASCENT, LABEL_DESCENT, WIDTH, LabelBox, label_width, layout_labels
from runfolder import ROLLBACK_DONE, cutover_steps, write_load, write_phases, write_run, write_state_end

LABEL = re.compile(
    r'<text class="phase-label" x="(?P<x>[\d.]+)" y="(?P<y>[\d.]+)" text-anchor="(?P<anchor>start|end)"[^>]*>'
    r"(?P<text>[^<]*)</text>"
)


def boxes_in(svg: str) -> list[tuple[str, float, float, float, float]]:
    """(text, x0, x1, y0, y1) of every phase label, from the SVG alone."""
    out = []
    for m in LABEL.finditer(svg):
        x, y, width = float(m["x"]), float(m["y"]), label_width(m["text"])
        x0 = x if m["anchor"] == "start" else x - width
        out.append((m["text"], x0, x0 + width, y - LABEL_ASCENT, y + LABEL_DESCENT))
    return out


def overlapping(boxes: list[tuple[str, float, float, float, float]]) -> list[tuple[str, str]]:
    return [
        (a[0], b[0])
        for a, b in itertools.combinations(boxes, 2)
        if a[1] < b[2] and b[1] < a[2] and a[3] < b[4] and b[3] < a[4]
    ]


def test_labels_of_many_short_phases_in_a_long_run_do_not_overlap(tmp_path):
    # A cutover that rolls back: 19 plays in about a minute, drawn over a 10-minute load: switch (0.4 s) right
    # after the gates, unfreeze right after the switch, eight rollback plays within 10 s.
    write_phases(tmp_path, "cutover", cutover_steps(watch="failed", rollback=ROLLBACK_DONE, done="failed"), failed=True)
    write_run(tmp_path, load={"users": 100, "folder": "load"})
    write_state_end(tmp_path, "legacy", imaging_frozen=True)
    write_load(tmp_path, seconds=600)
    html = build_report(tmp_path)["report.html"].read_text()
    svg = html[html.index("<svg") : html.index("</svg>")]
    boxes = boxes_in(svg)
    names = [b[0] for b in boxes]
    assert {"gates", "switch", "unfreeze", "rollback-switch", "rollback-unfreeze"} <= set(names)
    assert names.count("preflight") == 1 and names.count("rollback-verify") == 1  # one label per run of plays
    assert overlapping(boxes) == []
    plot_top = float(re.search(r'<rect x="64" y="([\d.]+)"', svg)[1])
    width, height = (float(v) for v in re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', svg).groups())
    for _, x0, x1, y0, y1 in boxes:
        assert x0 >= 0 and x1 <= width and y0 >= 0 and y1 < plot_top <= height


def test_layout_gives_labels_at_one_spot_rows_of_their_own():
    at_once = [(name, 500.0) for name in ("gates", "switch", "unfreeze", "watch", "rollback-preflight", "freeze")]
    near_the_edge = [("rollback-unfreeze", WIDTH - 5.0), ("rollback-watch", WIDTH - 4.0), ("done", WIDTH - 3.0)]
    spread = [(f"p{i}", 64.0 + 150 * i) for i in range(3)]
    boxes, top = layout_labels(at_once + near_the_edge + spread)
    assert not [(a.text, b.text) for a, b in itertools.combinations(boxes, 2) if a.intersects(b)]
    by_text: dict[str, LabelBox] = {b.text: b for b in boxes}
    assert sorted(by_text[name].row for name, _ in at_once) == list(range(6))
    assert all(by_text[name].anchor == "end" and by_text[name].x1 <= WIDTH for name, _ in near_the_edge)
    assert {by_text[f"p{i}"].row for i in range(3)} == {0}  # labels with room to spare share the lowest row
    assert all(b.y1 < top for b in boxes) and min(b.y0 for b in boxes) >= 0
