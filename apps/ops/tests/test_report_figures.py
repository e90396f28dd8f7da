"""The headline figures (report.json `figures`, report.md, report.html, `radiology-ops figures`) from small run
folders: phases one after the other from T0 + 1 s (runfolder.write_phases), a load from T0 + 2 s."""

from __future__ import annotations

import json

import pytest
from radiology_ops.cli import main
from radiology_ops.report import build_report, collect
from radiology_ops.report_figures import iso
from radiology_ops.report_stages import is_stage_one
from runfolder import (
    ALL,
    ROLLBACK_DONE,
    RUN_ID,
    STAGE,
    T0,
    cutover_steps,
    failure,
    write_json,
    write_load,
    write_phases,
    write_run,
    write_state_end,
)

# cutover_steps(): freeze T0+5 (1.0), migrate T0+6 (3.0) and T0+9 (6.0), gates T0+15 (4.0), switch T0+19 (0.4),
# unfreeze T0+19.4 (0.5), watch T0+19.9 (30.0), then the rollback's plays from T0+49.9.
ROLLBACK_AT = T0 + 49.9
SWITCH_FIRST = [  # the rollback switching users to the legacy first
    ("rollback-preflight", ALL, 0.8),
    ("rollback-freeze", ["app1", "app2"], 0.6),
    ("rollback-switch", ["web1"], 0.4),
    ("carry-back", ["app1"], 1.2),
    ("rollback-verify", ["legacy1"], 1.0),
    ("rollback-verify", ["app1"], 0.9),
    ("rollback-unfreeze", ["legacy1"], 0.3),
    ("rollback-watch", ["localhost"], 5.0),
]


def figures_of(run_dir):
    return collect(run_dir)["figures"]


def stamp(epoch: float) -> str:
    return iso(float(int(epoch)))


def rolled_back_cutover(run_dir, rollback, **load):
    write_phases(run_dir, "cutover", cutover_steps(watch="failed", rollback=rollback), failed=True)
    write_run(run_dir)
    write_state_end(run_dir, "legacy")
    if load:
        write_load(run_dir, **load)


def test_every_figure_has_start_end_seconds_and_text(tmp_path):
    rolled_back_cutover(tmp_path, ROLLBACK_DONE, seconds=60)
    figs = figures_of(tmp_path)
    assert list(figs) == [
        "write_freeze",
        "user_errors",
        "user_errors_after_switch",
        "rollback_writes_refused",
        "rollback_wall",
        "rollback_history_verify",
        "tasks_missing_for_readers",
        "switch",
        "rollback_switch",
        "rows_per_second",
    ]
    for name, fig in figs.items():
        assert {"start", "end", "seconds", "text"} <= set(fig), name


def test_write_freeze_is_the_freeze_of_the_final_state(tmp_path):
    rolled_back_cutover(tmp_path, ROLLBACK_DONE)
    report = collect(tmp_path)
    freeze, fig = report["final_state"]["freeze"], report["figures"]["write_freeze"]
    assert fig["seconds"] == freeze["seconds"] and fig["text"] == freeze["text"]
    assert [w["opened_by"] for w in fig["windows"]] == ["freeze", "rollback-freeze"]
    assert fig["start"] == iso(T0 + 5) and fig["end"] == iso(ROLLBACK_AT + 0.8 + 0.6 + 1.2 + 1.0 + 0.9 + 0.4 + 0.3)


def test_user_errors_from_the_first_failed_answer_seen_to_the_last(tmp_path):
    # runfolder.write_load: the failed request of a second is sent at its start and answered 20 ms later
    rolled_back_cutover(tmp_path, ROLLBACK_DONE, failed_at=(20, 21, 25))
    fig = figures_of(tmp_path)["user_errors"]
    assert fig["start"] == iso(T0 + 2 + 20.02) and fig["end"] == iso(T0 + 2 + 25.02)
    assert fig["seconds"] == pytest.approx(5.0) and fig["failed"] == 3 and fig["seconds_with_failures"] == 3
    assert fig["requests"] == 40 * 20 and "3 of 800 requests failed: first to last failed answer" in fig["text"]


def test_user_errors_of_an_older_summary_span_the_seconds_with_a_failure(tmp_path):
    rolled_back_cutover(tmp_path, ROLLBACK_DONE, failed_at=(20, 21, 25))
    path = tmp_path / "load" / "summary.json"
    summary = json.loads(path.read_text())
    del summary["failures_seen"]
    write_json(path, summary)
    fig = figures_of(tmp_path)["user_errors"]
    assert fig["start"] == iso(T0 + 2 + 20) and fig["end"] == iso(T0 + 2 + 26)
    assert fig["seconds"] == pytest.approx(6.0) and "in 3 second(s) of the load" in fig["text"]


def test_user_errors_after_the_switch_leave_out_the_failures_before_it(tmp_path):
    # the switch starts at T0 + 19, the load at T0 + 2: its seconds 10 and 30 fall before and after the switch
    rolled_back_cutover(tmp_path, ROLLBACK_DONE, failed_at=(10, 30, 33))
    figs = figures_of(tmp_path)
    assert figs["user_errors"]["seconds"] == pytest.approx(23.0)
    after = figs["user_errors_after_switch"]
    assert after["start"] == iso(T0 + 2 + 30.02) and after["end"] == iso(T0 + 2 + 33.02)
    assert after["seconds"] == pytest.approx(3.0) and after["failed"] == 2
    assert "2 failed answers seen from the switch on" in after["text"]


def test_user_errors_after_the_switch_need_one_and_the_requests(tmp_path):
    rolled_back_cutover(tmp_path, ROLLBACK_DONE, failed_at=(10,))
    after = "user_errors_after_switch"
    assert figures_of(tmp_path)[after]["text"] == f"none: 0 requests failed from {iso(T0 + 19)} (the switch) on"
    (tmp_path / "load" / "requests.csv").unlink()
    assert figures_of(tmp_path)[after]["reason"] == "not measured (a load without its requests.csv)"
    write_phases(tmp_path, "cutover", [step for step in cutover_steps() if step[0] != "switch"])
    assert figures_of(tmp_path)[after]["reason"] == "no switch phase ran in this run"


def test_user_errors_of_a_load_without_a_failure_are_zero(tmp_path):
    rolled_back_cutover(tmp_path, ROLLBACK_DONE, seconds=30)
    fig = figures_of(tmp_path)["user_errors"]
    assert fig["seconds"] == 0.0 and fig["failed"] == 0 and fig["start"] is None
    assert fig["text"] == "none: 0 of 600 requests failed"


def test_user_errors_without_a_load_are_not_measured_and_say_why(tmp_path):
    rolled_back_cutover(tmp_path, ROLLBACK_DONE)
    fig = figures_of(tmp_path)["user_errors"]
    assert fig["seconds"] is None and fig["failed"] is None
    assert fig["reason"] == "not measured (no load ran during this run)" == fig["text"]


def test_an_automatic_rollback_in_the_old_order_misses_no_task_for_readers(tmp_path):
    rolled_back_cutover(tmp_path, ROLLBACK_DONE)
    figs = figures_of(tmp_path)
    tasks = figs["tasks_missing_for_readers"]
    assert tasks["seconds"] == 0.0 and tasks["order"] == "carry-back first"
    assert tasks["text"] == "none: carry-back ended before rollback-switch started"
    # from the start of rollback-freeze (rollback-preflight runs after every cutover) to the end of rollback-watch
    wall = figs["rollback_wall"]
    assert wall["first_phase"] == "rollback-freeze" and wall["last_phase"] == "rollback-watch"
    assert wall["start"] == iso(ROLLBACK_AT + 0.8) and wall["seconds"] == pytest.approx(0.6 + 1.2 + 1.9 + 0.4 + 0.3 + 5)
    refused = figs["rollback_writes_refused"]
    assert refused["start"] == iso(ROLLBACK_AT + 0.8) and refused["seconds"] == pytest.approx(0.6 + 1.2 + 1.9 + 0.7)
    assert figs["switch"]["seconds"] == pytest.approx(0.4) and figs["switch"]["start"] == iso(T0 + 19)
    assert figs["rollback_switch"]["seconds"] == pytest.approx(0.4)


def test_a_rollback_switching_first_leaves_readers_without_tasks_until_carry_back_ends(tmp_path):
    rolled_back_cutover(tmp_path, SWITCH_FIRST)
    figs = figures_of(tmp_path)
    tasks = figs["tasks_missing_for_readers"]
    switch_at = ROLLBACK_AT + 0.8 + 0.6
    assert tasks["start"] == iso(switch_at) and tasks["end"] == iso(switch_at + 0.4 + 1.2)
    assert tasks["seconds"] == pytest.approx(1.6) and tasks["order"] == "switch first"
    assert figs["rollback_switch"]["start"] == iso(switch_at)


def test_a_failed_carry_back_after_the_switch_leaves_the_window_open(tmp_path):
    steps = [*SWITCH_FIRST[:3], ("carry-back", ["app1"], 1.2, "failed", [failure("app1", "Export", "no db")])]
    rolled_back_cutover(tmp_path, steps)
    tasks = figures_of(tmp_path)["tasks_missing_for_readers"]
    assert tasks["start"] == iso(ROLLBACK_AT + 1.4) and tasks["end"] is None and tasks["seconds"] is None
    assert "end not determined: the carry-back phase failed" in tasks["text"]


def test_a_rollback_unfreeze_that_failed_leaves_the_refused_writes_open(tmp_path):
    steps = [*ROLLBACK_DONE[:6], ("rollback-unfreeze", ["legacy1"], 0.3, "failed", [failure("legacy1", "x", "y")])]
    rolled_back_cutover(tmp_path, steps)
    fig = figures_of(tmp_path)["rollback_writes_refused"]
    assert fig["end"] is None and fig["seconds"] is None and "the rollback-unfreeze phase failed" in fig["text"]


def test_a_cutover_without_a_rollback_has_no_rollback_figures(tmp_path):
    write_phases(tmp_path, "cutover", cutover_steps())
    write_run(tmp_path)
    write_state_end(tmp_path, "imaging", legacy_frozen=True)
    figs = figures_of(tmp_path)
    for name in ("rollback_writes_refused", "rollback_wall", "tasks_missing_for_readers", "rollback_switch"):
        assert figs[name]["seconds"] is None and figs[name]["start"] is None, name
        assert "no rollback" in figs[name]["reason"] or "no rollback-switch" in figs[name]["reason"], name
    assert figs["switch"]["seconds"] == pytest.approx(0.4)


def test_a_standalone_rollback_counts_its_wall_from_rollback_preflight(tmp_path):
    write_phases(tmp_path, "rollback", [("preflight", ["app1"], 0.5), *ROLLBACK_DONE])
    write_run(tmp_path, "rollback")
    write_state_end(tmp_path, "legacy")
    figs = figures_of(tmp_path)
    wall = figs["rollback_wall"]
    assert wall["first_phase"] == "rollback-preflight" and wall["start"] == iso(T0 + 1.5)
    assert wall["seconds"] == pytest.approx(sum(step[2] for step in ROLLBACK_DONE))
    assert figs["switch"]["seconds"] is None and figs["switch"]["reason"] == "no switch phase ran in this run"


def test_the_history_verified_after_the_unfreeze_has_its_own_figure_outside_the_wall(tmp_path):
    steps = [*ROLLBACK_DONE, ("rollback-verify-history", ["legacy1"], 24.0)]
    write_phases(tmp_path, "rollback", [("preflight", ["app1"], 0.5), *steps])
    write_run(tmp_path, "rollback")
    write_state_end(tmp_path, "legacy")
    figs = figures_of(tmp_path)
    wall = figs["rollback_wall"]
    assert wall["last_phase"] == "rollback-watch"
    assert wall["seconds"] == pytest.approx(sum(step[2] for step in ROLLBACK_DONE))
    history = figs["rollback_history_verify"]
    assert history["seconds"] == pytest.approx(24.0) and history["start"] == wall["end"]
    # Its rows per second apart from the verification of the tasks before the unfreeze.
    tasks = {"command": "verify", "ok": True, "rows_verified": 40, "seconds": 0.5}
    write_json(tmp_path / "verify-rollback.json", tasks)
    write_json(
        tmp_path / "verify-rollback-history.json",
        {"command": "verify", "ok": True, "rows_verified": 1_600_000, "seconds": 20.0},
    )
    stages = {s["label"]: s for s in figures_of(tmp_path)["rows_per_second"]["stages"]}
    assert stages["rollback verify"]["rows"] == 40
    assert stages["rollback history-verify"]["rows"] == 1_600_000
    assert stages["rollback history-verify"]["rows_per_second"] == 80_000
    assert history["text"] == "24.0 s: the rollback-verify-history phase (ok)"


def progress(run_dir, lines):
    (run_dir / "progress.log").write_text("".join(f"{line}\n" for line in lines))


def test_rows_per_second_of_each_stage_from_the_evidence_there_is(tmp_path):
    rolled_back_cutover(tmp_path, ROLLBACK_DONE)
    progress(
        tmp_path,
        [
            f"legacy1 {stamp(T0 + 6)} snapshot started (pid 1)",
            f"legacy1 {stamp(T0 + 6)} snapshot examinations 3000 rows",
            f"legacy1 {stamp(T0 + 8)} snapshot done 3000 rows in 1.5s",
            f"app1 {stamp(T0 + 10)} load started (pid 2)",
            f"app1 {stamp(T0 + 11)} load done 3000 rows in 0.6s",
            f"{stamp(T0 + 17)} api-diff started (pid 3)",  # on the controller: no host; requests, not rows
            f"{stamp(T0 + 18)} api-diff done 579 requests in 1.0s",
            f"legacy1 {stamp(ROLLBACK_AT + 4)} snapshot started (pid 4)",
            f"legacy1 {stamp(ROLLBACK_AT + 4)} snapshot failed: the service did not answer",
        ],
    )
    write_json(
        tmp_path / "load.json", {"command": "load", "ok": True, "rows": 3000, "seconds": 0.5, "rows_per_second": 9000}
    )
    write_json(tmp_path / "verify.json", {"command": "verify", "ok": True, "rows_verified": 3000, "seconds": 0.25})
    write_json(tmp_path / "snapshot" / "rollback-x.duckdb.meta.json", {"counts": {"examinations": 40, "reports": 2}})
    fig = figures_of(tmp_path)["rows_per_second"]
    stages = {s["label"]: s for s in fig["stages"]}
    assert list(stages) == ["snapshot", "load", "verify", "rollback snapshot", "rollback verify"]
    snap = stages["snapshot"]
    assert snap["rows"] == 3000 and snap["seconds"] == 1.5 and snap["rows_per_second"] == 2000
    assert snap["start"] == stamp(T0 + 6) and snap["end"] == stamp(T0 + 8) and snap["seconds_from"] == "progress.log"
    assert "time to 0.1 s from progress.log" in snap["text"]
    load = stages["load"]  # load.json's seconds (the whole command), its own rows_per_second kept beside
    assert load["seconds"] == 0.5 and load["rows_per_second"] == 6000 and load["evidence_rows_per_second"] == 9000
    assert load["sources"] == ["load.json", "progress.log"] and load["start"] == stamp(T0 + 10)
    verify = stages["verify"]
    assert verify["rows_per_second"] == 12000 and verify["start"] is None and verify["sources"] == ["verify.json"]
    assert stages["rollback snapshot"]["text"] == "failed: the service did not answer"
    assert stages["rollback snapshot"]["rows"] == 42  # from snapshot/rollback-*.meta.json
    assert stages["rollback verify"]["text"] == "not recorded" and stages["rollback verify"]["seconds"] is None
    assert fig["seconds"] == pytest.approx(1.5 + 0.5 + 0.25) and fig["start"] == stamp(T0 + 6)


def test_rows_per_second_not_recorded_when_the_run_folder_has_no_evidence(tmp_path):
    write_phases(tmp_path, "cutover", cutover_steps())
    write_run(tmp_path)
    write_state_end(tmp_path, "imaging", legacy_frozen=True)
    fig = figures_of(tmp_path)["rows_per_second"]
    assert [(s["label"], s["text"]) for s in fig["stages"]] == [
        ("snapshot", "not recorded"),
        ("load", "not recorded"),
        ("verify", "not recorded"),
    ]
    assert fig["seconds"] is None and fig["start"] is None


def two_stage_cutover(run_dir):
    """cutover_steps(stage=STAGE): stage T0+5 (2.0) and T0+7 (8.0), freeze T0+15, migrate T0+16 and T0+19, gates
    T0+25, with the evidence of both stages: stage 1's full load of 3,000 rows, stage 2's delta of 25."""
    write_phases(run_dir, "cutover", cutover_steps(stage=STAGE))
    write_run(run_dir)
    write_state_end(run_dir, "imaging", legacy_frozen=True)
    progress(
        run_dir,
        [
            f"legacy1 {stamp(T0 + 5)} stage-snapshot started (pid 1)",
            f"legacy1 {stamp(T0 + 7)} stage-snapshot done 3000 rows in 1.5s",
            f"app1 {stamp(T0 + 8)} stage-load started (pid 2)",
            f"app1 {stamp(T0 + 12)} stage-load done 3000 rows in 4.0s",
            f"app1 {stamp(T0 + 12)} stage-verify started (pid 3)",
            f"app1 {stamp(T0 + 14)} stage-verify done 3000 rows in 2.0s",
            f"legacy1 {stamp(T0 + 16)} snapshot started (pid 4)",
            f"legacy1 {stamp(T0 + 17)} snapshot done 3010 rows in 0.8s",
            f"app1 {stamp(T0 + 20)} load started (pid 5)",
            f"app1 {stamp(T0 + 21)} load done 25 rows in 0.3s",
            f"app1 {stamp(T0 + 25)} verify started (pid 6)",
            f"app1 {stamp(T0 + 28)} verify done 3010 rows in 2.6s",
        ],
    )
    write_json(run_dir / "load-stage.json", {"command": "load", "ok": True, "rows": 3000, "seconds": 4.0})
    delta = {"examinations": {"added": 10, "changed": 5, "deleted": 0}, "analysis_tasks": {"added": 10}}
    write_json(
        run_dir / "load.json",
        {"command": "load", "ok": True, "mode": "delta", "delta": delta, "rows": 25, "seconds": 0.25},
    )
    write_json(run_dir / "verify-stage.json", {"command": "verify", "ok": True, "rows_verified": 3000, "seconds": 2.0})
    write_json(run_dir / "verify.json", {"command": "verify", "ok": True, "rows_verified": 3010, "seconds": 2.5})
    snapshots = run_dir / "snapshot"
    write_json(snapshots / f"{RUN_ID}-stage.duckdb.meta.json", {"counts": {"examinations": 2000, "reports": 1000}})
    write_json(snapshots / f"{RUN_ID}.duckdb.meta.json", {"counts": {"examinations": 2010, "reports": 1000}})


def test_rows_per_second_of_a_two_stage_cutover_shows_stage_1_before_the_frozen_stage_2(tmp_path):
    two_stage_cutover(tmp_path)
    fig = figures_of(tmp_path)["rows_per_second"]
    stages = {s["label"]: s for s in fig["stages"]}
    assert list(stages) == [
        "stage 1 snapshot (live)",
        "stage 1 load (live)",
        "stage 1 verify (live)",
        "stage 2 snapshot (frozen)",
        "stage 2 load (frozen)",
        "stage 2 verify (frozen)",
    ]
    assert [s["stage"] for s in fig["stages"]] == [
        "stage-snapshot",
        "stage-load",
        "stage-verify",
        "snapshot",
        "load",
        "verify",
    ]
    # each stage's own evidence: stage 1's files no longer stand in for stage 2's (or the other way round)
    live, frozen = stages["stage 1 snapshot (live)"], stages["stage 2 snapshot (frozen)"]
    assert live["rows"] == 3000 and live["sources"] == [f"snapshot/{RUN_ID}-stage.duckdb.meta.json", "progress.log"]
    assert live["rows_per_second"] == 2000 and live["start"] == stamp(T0 + 5)
    assert frozen["rows"] == 3010 and frozen["sources"] == [f"snapshot/{RUN_ID}.duckdb.meta.json", "progress.log"]
    assert frozen["seconds"] == 0.8 and frozen["start"] == stamp(T0 + 16)
    live, frozen = stages["stage 1 load (live)"], stages["stage 2 load (frozen)"]
    assert live["rows"] == 3000 and live["seconds"] == 4.0 and live["rows_per_second"] == 750
    assert live["sources"] == ["load-stage.json", "progress.log"] and "mode" not in live
    assert frozen["rows"] == 25 and frozen["seconds"] == 0.25 and frozen["rows_per_second"] == 100
    assert frozen["sources"] == ["load.json", "progress.log"] and frozen["mode"] == "delta"
    live, frozen = stages["stage 1 verify (live)"], stages["stage 2 verify (frozen)"]
    assert live["rows_per_second"] == 1500 and live["sources"] == ["verify-stage.json", "progress.log"]
    assert frozen["rows_per_second"] == 1204 and frozen["sources"] == ["verify.json", "progress.log"]
    assert fig["start"] == stamp(T0 + 5) and fig["end"] == stamp(T0 + 28)
    assert fig["text"].startswith("stage 1 snapshot (live) 2,000 rows/s (3,000 rows in 1.5 s")


def test_a_two_stage_cutover_without_evidence_expects_both_stages(tmp_path):
    write_phases(tmp_path, "cutover", cutover_steps(stage=STAGE))
    write_run(tmp_path)
    write_state_end(tmp_path, "imaging", legacy_frozen=True)
    fig = figures_of(tmp_path)["rows_per_second"]
    assert [(s["label"], s["text"]) for s in fig["stages"]] == [
        ("stage 1 snapshot (live)", "not recorded"),
        ("stage 1 load (live)", "not recorded"),
        ("stage 1 verify (live)", "not recorded"),
        ("stage 2 snapshot (frozen)", "not recorded"),
        ("stage 2 load (frozen)", "not recorded"),
        ("stage 2 verify (frozen)", "not recorded"),
    ]


def test_a_stage_phase_skipped_on_every_host_keeps_the_one_stage_labels(tmp_path):
    write_phases(tmp_path, "cutover", cutover_steps(stage=[("stage", [], 0.1), ("stage", [], 0.1)]))
    write_run(tmp_path)
    write_state_end(tmp_path, "imaging", legacy_frozen=True)
    fig = figures_of(tmp_path)["rows_per_second"]
    assert [s["label"] for s in fig["stages"]] == ["snapshot", "load", "verify"]


def test_stage_1_evidence_is_told_by_its_file_name():
    for name in ("load-stage.json", "verify-stage.json", "api-diff-stage.json", f"{RUN_ID}-stage.duckdb.meta.json"):
        assert is_stage_one(name), name
    assert is_stage_one(f"snapshot/{RUN_ID}-stage.duckdb.meta.json")
    for name in ("load.json", "verify.json", "verify-rollback.json", f"{RUN_ID}.duckdb.meta.json", "stage.json"):
        assert not is_stage_one(name), name
    assert not is_stage_one("rollback-20261129T130000Z.duckdb.meta.json")


def test_report_md_html_and_cli_figures_label_both_stages(tmp_path, capsys):
    two_stage_cutover(tmp_path)
    paths = build_report(tmp_path)
    md, html = paths["report.md"].read_text(), paths["report.html"].read_text()
    assert md.index("| rows/s stage 1 load (live) |") < md.index("| rows/s stage 2 load (frozen) |")
    assert "<td>rows/s stage 1 verify (live)</td>" in html and "<td>rows/s stage 2 verify (frozen)</td>" in html
    assert main(["figures", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    live = next(line for line in out.splitlines() if "rows/s stage 1 load (live)" in line)
    frozen = next(line for line in out.splitlines() if "rows/s stage 2 load (frozen)" in line)
    assert "750 rows/s" in live and "100 rows/s" in frozen


def test_report_json_md_and_html_carry_the_figures(tmp_path):
    rolled_back_cutover(tmp_path, SWITCH_FIRST, failed_at=(20, 21))
    paths = build_report(tmp_path)
    report = json.loads(paths["report.json"].read_text())
    assert report["figures"]["tasks_missing_for_readers"]["seconds"] == pytest.approx(1.6)
    md, html = paths["report.md"].read_text(), paths["report.html"].read_text()
    assert md.index("## Headline figures") < md.index("## State at the end of the run")
    assert "| tasks missing for readers | 1.6 s |" in md
    assert f"| user errors | 1.0 s | {iso(T0 + 22.02)} | {iso(T0 + 23.02)} |" in md
    assert "<h2>Headline figures</h2>" in html and "<td>tasks missing for readers</td><td class=num>1.6 s</td>" in html


def test_cli_figures_prints_aligned_lines_and_json_and_writes_nothing(tmp_path, capsys):
    cutover, rollback = tmp_path / "cutover", tmp_path / "rollback"
    rolled_back_cutover(cutover, SWITCH_FIRST, failed_at=(20, 21))
    write_phases(rollback, "rollback", [("preflight", ["app1"], 0.5), *ROLLBACK_DONE])
    write_run(rollback, "rollback")
    assert main(["figures", str(cutover), str(rollback)]) == 0
    out = capsys.readouterr().out
    assert f"{cutover}: cutover, failed" in out and f"{rollback}: rollback, success" in out
    lines = [line for line in out.splitlines() if line.startswith("  ")]
    assert len({line.index("(") for line in lines}) == 1  # one column for the details
    assert "  write freeze  " in out and f"({iso(T0 + 5)} → " in out
    assert "2 of 800 requests failed" in out and "rows/s snapshot" in out
    tasks = next(line for line in lines if "tasks missing for readers" in line)
    assert "1.6 s  (" in tasks
    assert main(["figures", "--json", str(cutover), str(rollback)]) == 0
    runs = json.loads(capsys.readouterr().out)
    assert [r["run_dir"] for r in runs] == [str(cutover), str(rollback)]
    assert runs[0]["figures"] == json.loads(json.dumps(collect(cutover)["figures"]))
    assert runs[1]["figures"]["rollback_wall"]["first_phase"] == "rollback-preflight"
    assert not (cutover / "report.json").exists()
    assert main(["figures", str(tmp_path / "nope")]) == 2
    assert "do not exist" in capsys.readouterr().err


def test_standby_lag_from_the_gate_that_waited_for_the_standbys(tmp_path, capsys):
    write_phases(tmp_path, "cutover", cutover_steps())
    write_run(tmp_path)
    write_state_end(tmp_path, "imaging", legacy_frozen=True)
    write_json(
        tmp_path / "standby.json",
        {
            "primary": "db1",
            "target_lsn": "0/3000148",
            "started_epoch": T0 + 17.25,
            "caught_up_epoch": T0 + 17.5,
            "at_start": [{"standby": "db2", "state": "streaming", "sync_state": "quorum", "behind_bytes": 81920}],
            "at_catch_up": [{"standby": "db2", "sync_state": "quorum", "replay_lag_ms": 1.4, "behind_bytes": 0}],
        },
    )
    fig = figures_of(tmp_path)["standby_lag"]
    assert fig["seconds"] == 0.0014 and fig["gate_seconds"] == 0.25 and fig["start"] == iso(T0 + 17.25)
    assert (
        fig["text"] == "db2 (quorum): 81,920 bytes behind when the gate began, replay lag 1.4 ms; the gate took 0.2 s"
    )
    assert fig["standbys"][0]["behind_bytes_at_gate"] == 81920
    assert main(["figures", str(tmp_path)]) == 0
    (line,) = [x for x in capsys.readouterr().out.splitlines() if "standby lag at the switch" in x]
    assert "1.4 ms" in line and "81,920 bytes behind" in line


def test_no_standby_lag_figure_without_a_standby(tmp_path):
    write_phases(tmp_path, "cutover", cutover_steps())
    write_run(tmp_path)
    write_state_end(tmp_path, "imaging", legacy_frozen=True)
    assert "standby_lag" not in figures_of(tmp_path)
