"""`npm test` (Vitest) passes, and `vite build` gives relocatable static files for a given API base."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

FRONTEND = Path(__file__).resolve().parent.parent


def test_vitest_unit_tests_pass(node_modules, npm, node_env):
    result = subprocess.run(
        [npm, "test"], check=False, cwd=FRONTEND, capture_output=True, text=True, timeout=300, env=node_env
    )
    assert result.returncode == 0, result.stdout + result.stderr
    passed = re.search(r"Tests\s+(\d+) passed", result.stdout)
    assert passed and int(passed.group(1)) >= 40, result.stdout


def build(npm, env, out_dir, api_base):
    env = {**env, "REACT_APP_API_BASE": api_base, "REACT_APP_BUILD_ID": "test-build-7"}
    return subprocess.run(
        [npm, "run", "build", "--", "--outDir", str(out_dir)],
        check=False,
        cwd=FRONTEND,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def test_build_is_static_relocatable_and_names_its_api_base(node_modules, npm, node_env, tmp_path):
    out = tmp_path / "dist"
    result = build(npm, node_env, out, "/imaging/api/v1/")
    assert result.returncode == 0, result.stdout + result.stderr

    info = json.loads((out / "build-info.json").read_text(encoding="utf-8"))
    assert info["api_base"] == "/imaging/api/v1"
    assert info["build_id"] == "test-build-7"

    index = (out / "index.html").read_text(encoding="utf-8")
    assets = re.findall(r'(?:src|href)="([^"]+)"', index)
    # No data: URLs: nginx's Content-Security-Policy (default-src 'self') blocks them.
    assert assets and not [a for a in assets if a.startswith("data:")], index
    local = assets
    assert all(a.startswith("./") for a in local), f"asset paths must be relative: {local}"
    for asset in local:
        assert (out / asset).is_file(), asset

    scripts = list((out / "assets").glob("*.js"))
    styles = list((out / "assets").glob("*.css"))
    assert len(scripts) == 1 and len(styles) == 1
    bundle = scripts[0].read_text(encoding="utf-8")
    assert "/imaging/api/v1" in bundle
    assert "127.0.0.1:8000" not in bundle, "the .env default leaked into a build with an explicit API base"
    # Nothing is loaded from another host: no URL in the page or the stylesheet, no remote import in the code.
    assert not re.search(r"https?://", index)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", styles[0].read_text(encoding="utf-8"))
    assert not re.search(r"import\(\s*['\"]https?://", bundle)


def test_build_refuses_a_relative_api_base(node_modules, npm, node_env, tmp_path):
    result = build(npm, node_env, tmp_path / "dist", "api/v1")
    assert result.returncode != 0
    assert "neither an absolute path nor an http(s) URL" in result.stdout + result.stderr
    assert not (tmp_path / "dist" / "index.html").exists()
