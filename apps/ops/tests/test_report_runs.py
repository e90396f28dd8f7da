"""The report of each kind of run, from run folders as the playbooks leave them: it says what was measured, where
users are (state-end.json only), how long writes were frozen and, after a failure, what to do next."""

from __future__ import annotations

import json

import pytest
from radiology_ops.report import build_report
from runfolder import (
    ALL,
    CUTOVER_START,
    ROLLBACK_DONE,
    ROLLBACK_NOOP,
    RUN_ID,
    STAGE,
    cutover_steps,
    failure,
    this_runs_lock,
    write_json,
    write_load,
    write_phases,
    write_run,
    write_state_end,
)


def built(run_dir):
    paths = build_report(run_dir)
    report = json.loads(paths["report.json"].read_text())
    return report, paths["report.md"].read_text(), paths["report.html"].read_text()


def test_cutover_with_its_own_load_gives_the_measured_figures(tmp_path):
    write_phases(tmp_path, "cutover", cutover_steps())
    write_run(tmp_path, load={"users": 100, "folder": "load"})
    write_state_end(tmp_path, "imaging", legacy_frozen=True)
    summary = write_load(tmp_path, failed_at=(20, 21))
    report, md, html = built(tmp_path)
    final = report["final_state"]
    assert final["failed_requests"] == 2 and final["requests_under_load"] == summary["requests"]
    assert final["verdict"] == "failed" and "2 request(s) failed under load" in final["reasons"]
    assert f"failed requests under load: 2 of {summary['requests']:,}" in md
    assert f"failed requests under load: 2 of {summary['requests']:,}" in html
    assert "A load of 100 users ran during this run into load/ (run.json)." in md
    assert final["serving_backend"] == "imaging" and "imaging, writable" in final["users"]["text"]
    # freeze started 5 s after T0 (after three preflight plays) and the unfreeze ended 14.9 s later
    (window,) = final["freeze"]["windows"]
    assert window["seconds"] == pytest.approx(14.9, abs=0.01) and window["end_at_latest"] is False
    assert "Write freeze for users: 2026-11-29 13:00:05 UTC → 13:00:19 UTC (14.9 s; freeze → end of the unfreeze" in md
    assert "load/summary.json" not in report["missing"]


def test_cutover_without_a_load_says_its_load_figures_were_not_measured(tmp_path):
    write_phases(tmp_path, "cutover", cutover_steps())
    write_run(tmp_path)
    write_state_end(tmp_path, "imaging", legacy_frozen=True)
    report, md, html = built(tmp_path)
    final = report["final_state"]
    assert final["verdict"] == "success" and final["now_next"] is None
    assert final["failed_requests"] is None and final["requests_under_load"] is None
    for text in (md, html):
        assert "failed requests under load: not measured (no load ran during this run)" in text
        assert "under load: 0" not in text
    assert "No load ran during this run (run.json): its figures are not measured." in md
    assert report["missing"] == ["verify.json", "api-diff.json", "watch.json"]
    for text in (
        "**Verdict: SUCCESS**",
        "- Serving backend: imaging, writable (read 2026-11-29T13:05:00Z; web1 → imaging release "
        "1.0.0-5e6e7e04-imaging)",
        f"- Run: cutover {RUN_ID} by alice@ctl01, started 2026-11-29T13:00:00.000000Z; change id: CHG-123",
        "- Artifact: 1.0.0-5e6e7e04; releases: legacy 1.0.0-5e6e7e04-legacy, imaging 1.0.0-5e6e7e04-imaging",
        f"- Backup: pg_dump `db1:/var/backups/radiology/imaging-{RUN_ID}.dump`",
        "lock: free",
    ):
        assert text in md, text
    assert "DRY RUN" not in md


def test_the_backup_the_cutover_took_is_named_with_its_label_size_and_how_to_restore_it(tmp_path):
    write_phases(tmp_path, "cutover", cutover_steps())
    write_run(tmp_path, backup="db1: pgBackRest incr backup; db1:/var/backups/radiology/imaging-x.dump")
    write_state_end(tmp_path, "imaging", legacy_frozen=True)
    label = "20261130-120102F_20261130-130001I"
    pgbackrest = {"stanza": "radiology", "label": label, "type": "incr", "database_bytes": 30_618_419,
                  "stored_bytes": 524_288, "started": 1_795_006_801, "stopped": 1_795_006_803,
                  "lsn_start": "0/5000028", "lsn_stop": "0/5000138"}  # fmt: skip
    write_json(tmp_path / "backup.json", {"host": "db1", "pgbackrest": pgbackrest, "dump": "/var/backups/x.dump"})
    report, md, html = built(tmp_path)
    assert "backup.json" not in report["missing"] and report["backup"]["pgbackrest"]["label"] == label
    line = (
        f"Backup: pgBackRest incr backup `{label}` of stanza radiology on db1: database 29.2 MiB, stored 0.5 MiB, "
        f"2 s (restore: `pgbackrest --stanza=radiology --set={label} restore`); pg_dump `db1:/var/backups/x.dump`"
    )
    assert f"- {line}" in md
    assert f"<code>{label}</code>" in html


def test_a_backup_record_without_a_label_is_a_problem_not_a_backup(tmp_path):
    write_phases(tmp_path, "cutover", cutover_steps())
    write_run(tmp_path, backup_json=False)
    write_state_end(tmp_path, "imaging", legacy_frozen=True)
    assert "backup.json" in built(tmp_path)[0]["missing"]
    write_json(tmp_path / "backup.json", {"host": "db1", "pgbackrest": {"type": "incr"}, "dump": None})
    report, md, _ = built(tmp_path)
    assert report["backup"] is None
    assert any("has no label" in p for p in report["problems"])
    assert any("names neither a pgBackRest backup nor a dump" in p for p in report["problems"])
    assert "planned, but no backup.json says it was taken" in md


def test_a_load_named_in_run_json_that_left_nothing_is_not_a_zero(tmp_path):
    write_phases(tmp_path, "cutover", cutover_steps())
    write_run(tmp_path, load={"users": 100, "folder": "load"}, change_id=None)
    write_state_end(tmp_path, "imaging", legacy_frozen=True)
    report, md, _ = built(tmp_path)
    assert report["final_state"]["failed_requests_text"] == (
        "not measured (run.json says a load of 100 users ran into load/, which holds no results)"
    )
    assert "load/summary.json" in report["missing"] and "change id: none given" in md


def test_rollback_says_the_legacy_serves_from_the_end_state(tmp_path):
    write_phases(tmp_path, "rollback", ROLLBACK_DONE)
    write_run(tmp_path, "rollback", backup=None)
    write_state_end(tmp_path, "legacy", imaging_frozen=True)
    report, md, html = built(tmp_path)
    final = report["final_state"]
    assert final["verdict"] == "success" and final["rolled_back"] is True and final["serving_backend"] == "legacy"
    assert md.startswith("# Rollback report:") and "<h1>Rollback report:" in html
    assert "Serving backend: legacy, writable" in md and "unknown" not in md.split("## Phases")[0]
    (window,) = final["freeze"]["windows"]
    assert (window["opened_by"], window["closed_by"]) == ("rollback-freeze", "end of the rollback-unfreeze phase")
    assert window["seconds"] == pytest.approx(4.4, abs=0.01)
    assert "Backup: none taken in this run" in md
    assert report["missing"] == ["verify-rollback.json", "verify-rollback-history.json", "watch-rollback.json"]


def test_the_carry_back_of_a_rollback_is_in_the_headline_with_each_step_s_time(tmp_path):
    write_phases(tmp_path, "rollback", ROLLBACK_DONE)
    write_run(tmp_path, "rollback", backup=None)
    write_state_end(tmp_path, "legacy")
    assert "carried back" not in built(tmp_path)[1]  # a run that carried nothing back says nothing about it
    steps = {  # in the order they ran, as the playbook keeps them (not sorted)
        "freeze-barrier": {"ok": True, "waited_s": 0.7, "step_seconds": 0.754},
        "export-tasks": {"ok": True, "tasks": 13626, "step_seconds": 3.219},
        "push-tasks": {
            "ok": True,
            "result": {"received": 13626, "inserted": 80, "updated": 13546},
            "step_seconds": 4.8,
        },
    }
    write_json(tmp_path / "carry-back.json", {"ok": True, "error": None, "failed_step": None, "steps": steps})
    report, md, html = built(tmp_path)
    line = (
        "Tasks carried back to the legacy: 13,626 task rows (80 new to the legacy, 13,546 replaced) in 8.8 s: "
        "freeze-barrier 0.8 s, export-tasks 3.2 s, push-tasks 4.8 s"
    )
    assert f"- {line}" in md and line in html
    assert report["carry_back"]["steps"]["push-tasks"]["result"]["inserted"] == 80
    failed = {"ok": False, "error": "writes still in flight after 30 s", "failed_step": "freeze-barrier"}
    barrier_only = {"freeze-barrier": {"ok": False, "step_seconds": 30.1}}
    write_json(tmp_path / "carry-back.json", {**failed, "steps": barrier_only})
    assert (
        "Tasks carried back to the legacy: failed at freeze-barrier: writes still in flight after 30 s; steps ran in "
        "30.1 s: freeze-barrier 30.1 s"
    ) in built(tmp_path)[1]
    write_json(tmp_path / "carry-back.json", {"ok": True, "steps": []})
    report, md, _ = built(tmp_path)
    assert report["carry_back"] is None and "carried back" not in md
    assert "carry-back.json: no steps" in report["problems"]


def test_a_rollback_by_hand_with_the_legacy_active_only_lifts_a_leftover_freeze(tmp_path):
    steps = [("rollback-preflight", ALL, 0.8), *[(name, [], 0.1) for name in ("rollback-freeze", "carry-back")]]
    steps += [("rollback-verify", [], 0.1), ("rollback-verify", [], 0.1), ("rollback-switch", [], 0.1)]
    steps += [("rollback-unfreeze", ["legacy1"], 0.3), ("rollback-watch", ["localhost"], 5.0), ("done", ALL, 0.5)]
    write_phases(tmp_path, "rollback", steps)
    write_run(tmp_path, "rollback", backup=None)
    write_state_end(tmp_path, "legacy", imaging_frozen=True)
    report, md, _ = built(tmp_path)
    final = report["final_state"]
    assert final["verdict"] == "success" and final["rolled_back"] is False and final["freeze"]["windows"] == []
    assert "Rolled back: no" in md and "Write freeze for users: none: writes were never frozen" in md


def test_a_rollback_without_its_end_state_does_not_guess(tmp_path):
    write_phases(tmp_path, "rollback", ROLLBACK_DONE)
    write_run(tmp_path, "rollback")
    report, md, html = built(tmp_path)
    final = report["final_state"]
    assert final["serving_backend"] is None
    assert "Serving backend: not read at the end of the run — run `make status` (playbooks/status.yml)" in md
    assert "run <code>make status</code>" in html
    assert "state-end.json not found" in md and "state-end.json" in report["missing"]


def test_dry_run(tmp_path):
    skipped = [("freeze", [], 0.1), ("migrate", [], 0.1), ("migrate", [], 0.1)]
    steps = [*CUTOVER_START, *skipped, ("gates", ["app1"], 2.0), ("switch", ["web1"], 0.3)]
    steps += [("unfreeze", [], 0.1), ("watch", [], 0.1), *ROLLBACK_NOOP, ("done", ALL, 0.5)]
    write_phases(tmp_path, "cutover", steps)
    write_run(tmp_path, check_mode=True, backup=None)
    write_state_end(tmp_path, "legacy")
    report, md, html = built(tmp_path)
    final = report["final_state"]
    assert final["verdict"] == "success" and final["dry_run"] is True and final["state_problems"] == []
    assert "- DRY RUN (--check): nothing was changed" in md
    assert '<li class="dry">DRY RUN (--check): nothing was changed</li>' in html
    assert "Write freeze for users: none: writes were never frozen (a dry run freezes nothing)" in md
    assert "watch.json" not in report["missing"]


def test_failed_before_the_switch_says_fix_and_run_again(tmp_path):
    cause = failure("app1", "Gate: no difference between the two services", "gate api-diff failed: 3 difference(s)")
    steps = [*CUTOVER_START, ("freeze", ["legacy1", "app1", "app2"], 1.0), ("migrate", ["legacy1"], 3.0)]
    steps += [("migrate", ["app1"], 6.0), ("gates", ["app1"], 4.0, "failed", [cause])]
    steps += [("switch", [], 0.1), ("unfreeze", [], 0.1), ("watch", [], 0.1), *ROLLBACK_NOOP]
    steps += [("done", ALL, 0.5, "failed", [failure("localhost", "Fail with the reason", "gate api-diff failed")])]
    write_phases(tmp_path, "cutover", steps, failed=True)
    write_run(tmp_path)
    write_state_end(tmp_path, "legacy")
    report, md, html = built(tmp_path)
    final = report["final_state"]
    assert final["stage"] == "before-switch" and final["rolled_back"] is False
    line = (
        "Users now: legacy, writable (read 2026-11-29T13:05:00Z; web1 → legacy release 1.0.0-5e6e7e04-legacy). "
        "Next: fix the cause named in the failed phase gates on app1: gate api-diff failed: 3 difference(s) — and "
        "run cutover.yml again."
    )
    assert final["now_next"] == line and f"- {line}" in md
    assert '<li class="next">Users now: legacy, writable' in html
    (window,) = final["freeze"]["windows"]  # the abort in the gates play gave the legacy its writes back
    assert window["end_at_latest"] is True and window["seconds"] == pytest.approx(14.0, abs=0.01)
    assert "at the latest (14.0 s at most; the legacy unfrozen by the abort in the failed gates phase)" in md


def test_rolled_back_says_keep_the_evidence_and_run_again_later(tmp_path):
    write_phases(tmp_path, "cutover", cutover_steps(watch="failed", rollback=ROLLBACK_DONE, done="failed"), failed=True)
    write_run(tmp_path, load={"users": 100, "folder": "load"})
    write_state_end(tmp_path, "legacy", imaging_frozen=True)
    write_load(tmp_path, seconds=60)
    report, md, _ = built(tmp_path)
    final = report["final_state"]
    assert final["stage"] == "rolled-back" and final["rolled_back"] is True and final["state_problems"] == []
    assert final["now_next"].startswith("Users now: legacy, writable")
    assert final["now_next"].endswith(
        "Next: keep this run folder as evidence, investigate the failure (phase watch on localhost: post-switch "
        "watch: 5xx), and run cutover.yml again later."
    )
    first, second = final["freeze"]["windows"]
    assert (first["opened_by"], second["opened_by"]) == ("freeze", "rollback-freeze")
    assert second["closed_by"] == "end of the rollback-unfreeze phase"
    assert final["freeze"]["seconds"] == pytest.approx(first["seconds"] + second["seconds"])
    assert "Write freeze for users: 2 windows, " in md and "Rolled back: yes" in md


def test_failed_during_the_rollback_with_the_lock_held_says_status_runbook_and_takeover(tmp_path):
    verify_failed = failure("app1", "Gate: the data in PostgreSQL equals the snapshot", "rollback verification failed")
    rollback = [*ROLLBACK_DONE[:4], ("rollback-verify", ["app1"], 0.9, "failed", [verify_failed])]
    rollback += [("rollback-switch", [], 0.1), ("rollback-unfreeze", [], 0.1), ("rollback-watch", [], 0.1)]
    write_phases(tmp_path, "cutover", cutover_steps(watch="failed", rollback=rollback, done="failed"), failed=True)
    write_run(tmp_path)
    write_state_end(tmp_path, "imaging", imaging_frozen=True, legacy_frozen=True, lock=this_runs_lock())
    report, md, html = built(tmp_path)
    final = report["final_state"]
    assert final["stage"] == "during-rollback" and final["lock_is_this_run"] is True
    assert final["now_next"] == (
        "Users now: imaging, read-only (writes frozen on app1, app2) (read 2026-11-29T13:05:00Z; web1 → imaging "
        "release 1.0.0-5e6e7e04-imaging). Next: run `make status` (playbooks/status.yml) and follow the runbook's "
        f"rollback section. The run's lock is still held: the next run takes it over with "
        f"`-e radiology_lock_takeover={RUN_ID}`."
    )
    assert f"<code>-e radiology_lock_takeover={RUN_ID}</code>" in html
    assert "t0k" not in json.dumps(report)  # the lock's token stays out of the report
    second = final["freeze"]["windows"][1]
    assert second["end"] is None
    assert "end not determined: users still could not write when the end state was read" in md


def test_unknown_state_after_an_interrupted_switch_says_status_and_runbook(tmp_path):
    steps = [*CUTOVER_START, ("freeze", ["legacy1", "app1", "app2"], 1.0), ("migrate", ["legacy1"], 3.0)]
    steps += [("migrate", ["app1"], 6.0), ("gates", ["app1"], 4.0), ("switch", ["web1"], 0.4, "running")]
    write_phases(tmp_path, "cutover", steps, ended=False)
    write_run(tmp_path)
    report, md, html = built(tmp_path)
    final = report["final_state"]
    assert final["stage"] == "after-switch" and final["serving_backend"] is None
    assert final["now_next"] == (
        "Users now: not read at the end of the run — run `make status` (playbooks/status.yml). Next: the end state "
        "was not read: run `make status` (playbooks/status.yml) and follow the runbook's rollback section."
    )
    assert "from 2026-11-29 13:00:05 UTC, end not determined: the end state was not read — run `make status`" in md
    assert "serving backend: unknown" not in md.lower() and "serving backend: unknown" not in html.lower()


def test_a_lost_host_in_the_migration_leaves_the_freeze_end_undetermined(tmp_path):
    lost = failure("legacy1", "Take and fetch a consistent snapshot", "host unreachable")
    steps = [*CUTOVER_START, ("freeze", ["legacy1", "app1", "app2"], 1.0)]
    steps.append(("migrate", ["legacy1"], 3.0, "failed", [lost]))
    write_phases(tmp_path, "cutover", steps, failed=True)
    write_run(tmp_path)
    write_state_end(tmp_path, "legacy", legacy_frozen=True, unreachable=("app2",))
    report, md, _ = built(tmp_path)
    final = report["final_state"]
    (window,) = final["freeze"]["windows"]
    assert window["end"] is None and final["freeze"]["seconds"] is None
    assert "the migrate phase lost a host" in final["freeze"]["text"]
    assert final["stage"] == "before-switch" and final["state_problems"] == [
        "at the end users on legacy cannot write everywhere: read-only (writes frozen on legacy1)"
    ]
    assert final["now_next"].endswith(
        "Next: run `make status` (playbooks/status.yml) and follow the runbook's rollback section."
    )
    assert "imaging writes: writable on app1; app2 unreachable" in md


def test_a_two_stage_cutover_expects_and_lists_the_gates_of_both_stages(tmp_path):
    write_phases(tmp_path, "cutover", cutover_steps(stage=STAGE))
    write_run(tmp_path)
    write_state_end(tmp_path, "imaging", legacy_frozen=True)
    report, _, _ = built(tmp_path)
    stage_gates, gates = ["verify-stage.json", "api-diff-stage.json"], ["verify.json", "api-diff.json"]
    assert report["missing"] == [*stage_gates, *gates, "watch.json"]
    (window,) = report["final_state"]["freeze"]["windows"]  # stage 1 ran before the freeze: it froze nothing
    assert window["opened_by"] == "freeze" and window["seconds"] == pytest.approx(14.9, abs=0.01)
    for name in ("verify-stage.json", "verify.json"):
        write_json(tmp_path / name, {"command": "verify", "ok": True, "rows_verified": 3000, "seconds": 2.0})
    for name in ("api-diff-stage.json", "api-diff.json"):
        write_json(tmp_path / name, {"command": "api-diff", "ok": True, "requests": 500, "difference_count": 0})
    report, md, html = built(tmp_path)
    assert report["missing"] == ["watch.json"] and report["final_state"]["failed_gates"] == []
    assert [g["file"] for g in report["gates"]] == [
        "verify-stage.json",
        "verify.json",
        "api-diff-stage.json",
        "api-diff.json",
    ]
    assert md.index("### verify-stage.json: PASSED") < md.index("### verify.json: PASSED")
    assert "### api-diff-stage.json: PASSED" in md and "<h3>verify-stage.json " in html


def test_a_cutover_whose_stage_phase_never_ran_does_not_expect_its_gates(tmp_path):
    # an older run folder (no stage phase), and a run whose stage plays ended on every host before a task
    write_phases(tmp_path, "cutover", cutover_steps(stage=[("stage", [], 0.1), ("stage", [], 0.1)]))
    write_run(tmp_path)
    write_state_end(tmp_path, "imaging", legacy_frozen=True)
    report, _, _ = built(tmp_path)
    assert report["missing"] == ["verify.json", "api-diff.json", "watch.json"]


STAGE_VERIFY_FAILED = {
    "command": "verify",
    "ok": False,
    "check_mode": False,
    "error": "counts differ: examinations 2000 in the snapshot, 1990 in PostgreSQL",
    "rows_verified": None,
    "seconds": 0.4,
    "snapshot": f"/var/lib/radiology/migration/{RUN_ID}-stage.duckdb",
    "gates": [{"gate": "counts", "ok": False, "snapshot": {"examinations": 2000}, "postgres": {"examinations": 1990}}],
}


def test_a_failed_stage_stops_the_cutover_before_anything_froze(tmp_path):
    gate = failure("app1", "Gate: counts, keys and checksums of every table", "gate verify failed on app1: counts")
    abort = failure("app1", "Stop the cutover", "stage 1 failed on app1: gate verify failed (legacy writable)")
    steps = [*CUTOVER_START, STAGE[0], (*STAGE[1], "failed", [gate, abort])]
    steps += [(name, [], 0.1) for name in ("freeze", "migrate", "migrate", "gates", "switch", "unfreeze", "watch")]
    steps += [*ROLLBACK_NOOP, ("done", ALL, 0.5, "failed", [failure("localhost", "Fail with the reason", "stage 1")])]
    write_phases(tmp_path, "cutover", steps, failed=True)
    write_run(tmp_path)
    write_state_end(tmp_path, "legacy")
    write_json(tmp_path / "load-stage.json", {"command": "load", "ok": True, "rows": 3000, "seconds": 4.0})
    write_json(tmp_path / "verify-stage.json", STAGE_VERIFY_FAILED)
    report, md, html = built(tmp_path)
    final = report["final_state"]
    assert final["failed_gates"] == ["verify-stage.json"] and "gate verify-stage.json failed" in final["reasons"]
    assert final["verdict"] == "failed" and final["stage"] == "before-switch" and final["rolled_back"] is False
    assert final["failed_phases"] == ["playbook cutover", "stage", "done"] and final["state_problems"] == []
    # the legacy took writes all along: no window opened, none closed by the stage's abort
    assert final["freeze"]["windows"] == [] and final["freeze"]["seconds"] == 0.0
    assert "Write freeze for users: none: writes were never frozen (no freeze phase ran in this run)" in md
    assert final["now_next"].endswith(
        "Next: fix the cause named in the failed phase stage on app1: stage 1 failed on app1: gate verify failed "
        "(legacy writable) — and run cutover.yml again."
    )
    assert report["missing"] == ["api-diff-stage.json", "verify.json", "api-diff.json", "watch.json"]
    assert "### verify-stage.json: FAILED" in md and "Error: counts differ" in md
    assert "<h3>verify-stage.json " in html
    stages = {s["stage"]: s for s in report["figures"]["rows_per_second"]["stages"]}
    assert stages["stage-load"]["label"] == "stage 1 load (live)" and stages["stage-load"]["rows"] == 3000
    assert stages["stage-verify"]["text"] == "not recorded" and stages["load"]["label"] == "stage 2 load (frozen)"


def test_the_warm_up_of_the_new_service_s_counts_is_in_the_headline(tmp_path):
    write_phases(tmp_path, "cutover", cutover_steps())
    write_run(tmp_path)
    write_state_end(tmp_path, "imaging", legacy_frozen=True)
    assert "shared counts" not in built(tmp_path)[1]  # a run that warmed nothing says nothing about it
    warmed = [
        {"what": "statistics exam_status", "seconds": 0.8, "answered": {"counted": 1}},
        {"what": "studies total", "seconds": 0.1, "answered": {"shared": 1}},
        {"what": "row counts", "seconds": 0.1, "answered": {"counted": 2}},
    ]
    warm = {"cache": "on", "data_version": 7, "version_moved": False, "seconds": 1.04, "warmed": warmed}
    write_json(tmp_path / "warm-counts.json", warm)
    report, md, html = built(tmp_path)
    line = (
        "New service's shared counts before the switch: 3 sets warmed in 1.0 s (3 counted, 1 shared) at data version 7"
    )
    assert f"- {line}" in md and line.replace("'", "&#x27;") in html
    assert report["warm_counts"]["data_version"] == 7
    write_json(tmp_path / "warm-counts.json", {"failed": True, "rc": 1, "stderr": "trace\nrelation missing\n"})
    assert "the warm-up failed (rc 1): relation missing" in built(tmp_path)[1]
    write_json(tmp_path / "warm-counts.json", {"cache": "on"})
    report, md, _ = built(tmp_path)
    assert report["warm_counts"] is None and "shared counts" not in md
    assert any("warm-counts.json: neither a failure nor a list" in p for p in report["problems"])
