"""The front-door bench, run for real with tiny counts: structure of its output, never its timings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from radiology_ops import bench_frontdoor as bench

REQUESTS = 5


def test_role_settings_are_read_from_the_role() -> None:
    role = bench.load_role_settings()
    assert role.source == bench.ROLE_DEFAULTS
    assert role.tls_protocols and all(p.startswith("TLSv") for p in role.tls_protocols)
    assert "\n" not in role.tls_ciphers and role.tls_ciphers
    assert 4 <= role.bcrypt_cost <= 31


def test_bad_role_settings_are_refused(tmp_path: Path) -> None:
    defaults = tmp_path / "main.yml"
    defaults.write_text("nginx_tls_protocols: [TLSv1.3]\nnginx_tls_ciphers: x\nnginx_auth_basic_bcrypt_cost: '5'\n")
    with pytest.raises(bench.BenchError, match="nginx_auth_basic_bcrypt_cost"):
        bench.load_role_settings(defaults)


def test_bcrypt_hash_has_the_cost_asked() -> None:
    assert bench.bcrypt_hash("pw", 4).startswith("$2b$04$")


def test_schedule_interleaves_every_mode_equally() -> None:
    plan = list(bench.schedule(25, 10))
    for mode in bench.MODES:
        assert sum(size for m, size in plan if m is mode) == 25
    # Each round starts one mode later than the one before.
    assert [plan[i][0] for i in (0, 4, 8)] == list(bench.MODES[:3])


def test_the_bench_measures_all_four_modes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bench.json"
    argv = ["--requests", str(REQUESTS), "--warmup", "1", "--batch", "2", "--rows", "300", "--json", str(out)]
    assert bench.main(argv) == 0
    printed = capsys.readouterr().out
    for number, mode in enumerate(bench.MODES, 1):
        assert f"{number}  {mode.label}" in printed
    for name in ("2/1", "4/3", "4/1"):
        assert f"{name}  " in printed
    assert "bcrypt cost" in printed

    report = json.loads(out.read_text())
    role = bench.load_role_settings()
    assert report["auth"]["bcrypt_cost"] == role.bcrypt_cost
    assert report["auth"]["crypt_verify_ms"] > 0
    assert report["tls"]["protocol"] in role.tls_protocols
    assert list(report["modes"]) == [m.key for m in bench.MODES]
    for mode in bench.MODES:
        figures = report["modes"][mode.key]
        assert figures["requests"] == REQUESTS
        assert set(figures) >= {"median_ms", "p95_ms", "requests_per_second", "connections_opened"}
        # A kept-alive mode opens no connection while measured; the others one per request.
        assert figures["connections_opened"] == (0 if mode.keepalive else REQUESTS)
    assert set(report["ratios"]) == {"2/1", "4/3", "4/1"}
