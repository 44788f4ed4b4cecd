"""roles/common/tasks/paths.yml's two halves on real files of this machine: the probe
(roles/common/files/paths_state.py, run as the task runs it) and the filter that picks what
differs (plugins/filter/shipyard_paths.py). A path the filter leaves out is never written, so a
wrong "same" would leave a host unconverged: each case is checked both ways."""

from __future__ import annotations

import importlib.util
import json
import os
import pwd
import subprocess
import sys

import pytest

from shipyard import ROOT

_spec = importlib.util.spec_from_file_location(
    "shipyard_paths", ROOT / "plugins" / "filter" / "shipyard_paths.py"
)
paths = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(paths)

PROBE = ROOT / "roles" / "common" / "files" / "paths_state.py"
ME = pwd.getpwuid(os.getuid()).pw_name


def probe(*wanted: str) -> str:
    """The probe's answer, run as the task runs it: `python3 -c SOURCE JSON`."""
    out = subprocess.run(
        [sys.executable, "-c", PROBE.read_text(), json.dumps(list(wanted))],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return out.stdout


def to_change(tmp_path, *wanted: dict) -> list[str]:
    """The paths of `wanted` (owned by whoever runs the test) the filter would write."""
    entries = [{"owner": ME, "group": _group(), **w} for w in wanted]
    found = probe(*(e["path"] for e in entries))
    return [e["path"] for e in paths.paths_to_change(entries, found)]


def _group() -> str:
    import grp

    return grp.getgrgid(os.getgid()).gr_name


def test_a_file_as_wanted_is_left_and_a_changed_one_is_written(tmp_path):
    f = tmp_path / "a.conf"
    f.write_text("x = 1\n")
    f.chmod(0o644)
    assert to_change(tmp_path, {"path": str(f), "content": "x = 1\n"}) == []
    assert to_change(tmp_path, {"path": str(f), "content": "x = 2\n"}) == [str(f)]
    assert to_change(tmp_path, {"path": str(f), "content": "x = 1"}) == [str(f)]  # no newline


def test_a_mode_or_owner_that_differs_is_fixed(tmp_path):
    f = tmp_path / "sudoers"
    f.write_text("rule\n")
    f.chmod(0o644)
    assert to_change(tmp_path, {"path": str(f), "content": "rule\n", "mode": "0440"}) == [str(f)]
    f.chmod(0o440)
    assert to_change(tmp_path, {"path": str(f), "content": "rule\n", "mode": "0440"}) == []
    other = {"path": str(f), "content": "rule\n", "mode": "0440", "owner": "nobody"}
    assert to_change(tmp_path, other) == [str(f)]


def test_missing_folders_and_files_are_made_in_order(tmp_path):
    d = tmp_path / "app"
    wanted = [{"path": str(d), "state": "directory"}, {"path": str(d / "c"), "content": ""}]
    assert to_change(tmp_path, *wanted) == [str(d), str(d / "c")]
    d.mkdir(mode=0o755)
    d.chmod(0o755)
    assert to_change(tmp_path, *wanted) == [str(d / "c")]
    d.chmod(0o700)
    assert to_change(tmp_path, wanted[0]) == [str(d)]


def test_a_file_not_forced_is_left_once_it_exists(tmp_path):
    f = tmp_path / "app.conf"
    wanted = {"path": str(f), "content": "503\n", "force": False}
    assert to_change(tmp_path, wanted) == [str(f)]
    f.write_text("the deploy's own\n")
    assert to_change(tmp_path, wanted) == []


def test_links_and_absent_paths(tmp_path):
    link = tmp_path / "enabled.conf"
    wanted = {"path": str(link), "state": "link", "src": "/etc/site.conf"}
    assert to_change(tmp_path, wanted) == [str(link)]
    link.symlink_to("/etc/other.conf")
    assert to_change(tmp_path, wanted) == [str(link)]
    link.unlink()
    link.symlink_to("/etc/site.conf")
    assert to_change(tmp_path, wanted) == []
    assert to_change(tmp_path, {"path": str(link), "state": "absent"}) == [str(link)]
    assert to_change(tmp_path, {"path": str(tmp_path / "none"), "state": "absent"}) == []


def test_a_folder_where_a_file_is_wanted_is_a_difference(tmp_path):
    folder = tmp_path / "x"
    folder.mkdir()
    assert to_change(tmp_path, {"path": str(folder), "content": ""}) == [str(folder)]


def test_defaults_and_bad_states():
    entry = paths.normalized({"path": "/etc/x", "mode": 644})
    assert (entry["state"], entry["owner"], entry["group"], entry["mode"]) == (
        "file", "root", "root", "0644",
    )  # fmt: skip
    assert paths.normalized({"path": "/d", "state": "directory"})["mode"] == "0755"
    with pytest.raises(ValueError, match="state 'dir' is not file"):
        paths.normalized({"path": "/d", "state": "dir"})


def test_files_at_pairs_paths_with_contents():
    assert paths.files_at(["/a", "/b"], ["1", "2"]) == [
        {"path": "/a", "content": "1"}, {"path": "/b", "content": "2"},
    ]  # fmt: skip
    with pytest.raises(ValueError):
        paths.files_at(["/a"], [])


def test_the_probe_reads_an_account_and_a_path_under_a_users_home(tmp_path):
    """`user:NAME` answers an account's home and shell (none for no such account), and `~user/`
    is that account's home: what the app role and the git role decide from."""
    me = pwd.getpwuid(os.getuid())
    found = json.loads(probe(f"user:{ME}", "user:no-such-account-here", f"~{ME}"))
    assert found[f"user:{ME}"] == {"state": "user", "home": me.pw_dir, "shell": me.pw_shell}
    assert found["user:no-such-account-here"] is None
    assert found[f"~{ME}"]["state"] == "directory"


def test_the_probe_says_a_unit_is_neither_active_nor_enabled_when_systemd_does_not_know_it():
    """`unit:NAME` is what the nginx and PostgreSQL roles start a service on: a unit this machine
    has not (no systemd here at all) must never read as running, or the start would be skipped."""
    found = json.loads(probe("unit:shipyard-no-such.service"))["unit:shipyard-no-such.service"]
    assert found == {"state": "unit", "active": False, "enabled": False}


def test_the_probe_reads_a_small_files_text_with_its_owner_and_mode(tmp_path):
    f = tmp_path / ".bashrc"
    f.write_text("# BEGIN block\nexport X=1\n# END block\n")
    f.chmod(0o600)
    found = json.loads(probe(f"text:{f}", f"text:{tmp_path}/none"))
    assert found[f"text:{f}"]["text"] == f.read_text()
    assert (found[f"text:{f}"]["owner"], found[f"text:{f}"]["mode"]) == (ME, "0600")
    assert found[f"text:{tmp_path}/none"] is None
