"""plugins/modules/radiology_read_files.py: the state files of a host in one read (real files in a temporary folder)."""

import base64

import pytest
from conftest import ROOT, load_module

module = load_module(ROOT / "plugins" / "modules" / "radiology_read_files.py")


def test_reads_content_and_markers_and_a_missing_file_is_an_answer(tmp_path):
    (tmp_path / "run.lock").write_text('{"run_id": "r1"}')
    (tmp_path / "writes.freeze").write_text("")
    files = module.read_files(
        {"lock": str(tmp_path / "run.lock"), "pending": str(tmp_path / "rollback.pending")},
        {"freeze": str(tmp_path / "writes.freeze"), "other": str(tmp_path / "none.freeze")},
        1024,
    )
    assert base64.b64decode(files["lock"]["content"]) == b'{"run_id": "r1"}' and files["lock"]["exists"]
    assert files["pending"] == {"path": str(tmp_path / "rollback.pending"), "exists": False}
    assert files["freeze"]["exists"] and not files["other"]["exists"]
    assert "content" not in files["freeze"]


def test_a_marker_that_is_a_dangling_symlink_still_exists(tmp_path):
    (tmp_path / "writes.freeze").symlink_to(tmp_path / "gone")
    assert module.read_files({}, {"freeze": str(tmp_path / "writes.freeze")}, 1024)["freeze"]["exists"]


@pytest.mark.parametrize("make", ["directory", "too large"])
def test_anything_but_a_missing_file_fails_and_names_the_path(tmp_path, make):
    path = tmp_path / "current.json"
    if make == "directory":
        path.mkdir()
    else:
        path.write_bytes(b"x" * 2048)
    with pytest.raises(OSError, match=r"current\.json"):
        module.read_files({"current": str(path)}, {}, 1024)
