"""Which of a role's folders, files and links differ from what a host has, as a Jinja filter.

roles/common/tasks/paths.yml reads every path a role manages in one remote call
(roles/common/files/paths_state.py) and writes only what this filter returns, so a converged host
pays one call for all of a role's paths instead of one or two per path. Pure: unit-tested in
tests/unit/test_paths.py.

A wanted path is {"path", "state": "file" (the default), "directory", "link" or "absent",
"content" (a file's text), "src" (a link's target), "owner", "group" (both "root" by default),
"mode" (a file's or folder's, "0644" and "0755" by default), "force" (false: a file written
only when missing, then left to whoever owns it), "validate" (a command that checks a file's new
version first, %s its path)}.
"""

from __future__ import annotations

import hashlib
import json

DEFAULT_MODE = {"file": "0644", "directory": "0755"}


def normalized(wanted: dict) -> dict:
    """The wanted path with its defaults filled in and its mode as four octal digits."""
    entry = {"state": "file", "owner": "root", "group": "root", **wanted}
    kind = entry["state"]
    if kind not in ("file", "directory", "link", "absent"):
        raise ValueError(f"{entry['path']}: state {kind!r} is not file, directory, link or absent")
    if kind in DEFAULT_MODE:
        entry["mode"] = f"{int(str(entry.get('mode', DEFAULT_MODE[kind])), 8):04o}"
    return entry


def differs(entry: dict, found: dict | None) -> bool:
    kind = entry["state"]
    if kind == "absent":
        return found is not None
    if found is None or found["state"] != kind:
        return True
    if kind == "file" and entry.get("force", True) is False:
        return False  # there already, and not the role's to keep
    if kind == "link":
        return found["src"] != entry["src"]
    if kind == "file":
        sha1 = hashlib.sha1(entry.get("content", "").encode()).hexdigest()
        if found["sha1"] != sha1:
            return True
    return any(found[key] != entry[key] for key in ("owner", "group", "mode"))


def paths_to_change(wanted: list, probe_output: str | dict) -> list[dict]:
    """The wanted paths (defaults filled in) that the probe found missing or different, in the
    order given (a folder before the files in it)."""
    found = json.loads(probe_output) if isinstance(probe_output, str) else probe_output
    entries = [normalized(w) for w in wanted]
    return [e for e in entries if differs(e, found.get(e["path"]))]


def files_at(paths: list, contents: list) -> list[dict]:
    """Wanted files from a list of paths and a list of their contents (a lookup's answer), in
    order: `dests | shipyard_files_at(query('ansible.builtin.file', *sources))`."""
    pairs = zip(paths, contents, strict=True)  # a ValueError if one list is longer
    return [{"path": path, "content": content} for path, content in pairs]


class FilterModule:
    def filters(self):
        return {"shipyard_paths_to_change": paths_to_change, "shipyard_files_at": files_at}
