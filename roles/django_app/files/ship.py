#!/usr/bin/env python3
"""Pack the app's source at a git ref for a deploy, after checking it on the controller.

Run by roles/django_app/tasks/deploy.yml on the controller (standard library and git only):
prints one JSON object (commit, release id, archive path), or one line saying what to fix and
exits 2. Checks: the folder is in a git checkout, the ref exists, the folder has no uncommitted
change (unless --allow-dirty: then the working tree is shipped, tracked files only), and the
settings module, WSGI module and requirements files exist at that commit.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


class Refused(Exception):
    pass


def git(source: Path, *args: str, check: bool = True) -> str:
    proc = subprocess.run(["git", "-C", str(source), *args], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise Refused(proc.stderr.strip() or f"git {' '.join(args)} failed")
    return proc.stdout.strip() if proc.returncode == 0 else ""


def exists_at(source: Path, commit: str, prefix: str, path: str) -> bool:
    proc = subprocess.run(
        ["git", "-C", str(source), "cat-file", "-e", f"{commit}:{prefix}{path}"],
        capture_output=True,
    )
    return proc.returncode == 0


def module_exists(source: Path, commit: str, prefix: str, module: str) -> bool:
    base = module.replace(".", "/")
    return any(exists_at(source, commit, prefix, p) for p in (f"{base}.py", f"{base}/__init__.py"))


def archive_dir() -> Path:
    """This user's folder of archives (0700). Each run removes the ones older than an hour: the
    copy to the hosts is done by then, and the deploy saves a cleanup step (an SSH-free but slow
    Ansible task). Deploys run at once from one machine (two environments, a CI runner's jobs)
    share the folder: an archive another run removed between the listing and its stat is gone,
    not an error (a test run's parallel deploys failed on it)."""
    folder = Path(tempfile.gettempdir()) / f"shipyard-ship-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    for old in folder.glob("*.tar.gz"):
        try:
            if time.time() - old.stat().st_mtime > 3600:
                old.unlink(missing_ok=True)
        except FileNotFoundError:
            continue
    return folder


def ship(args) -> dict:
    source = Path(args.source)
    if not source.is_dir():
        raise Refused(f"django_app_source={args.source}: no such folder on this machine")
    top = git(source, "rev-parse", "--show-toplevel", check=False)
    if not top:
        raise Refused(
            f"django_app_source={args.source} is not in a git checkout: the deploy ships a commit"
            " (`git init && git add -A && git commit` there first)"
        )
    prefix = git(source, "rev-parse", "--show-prefix")
    commit = git(source, "rev-parse", "--verify", "--quiet", f"{args.ref}^{{commit}}", check=False)
    if not commit:
        raise Refused(
            f"--ref {args.ref}: no such commit, branch or tag in {top} (`git log --oneline` lists"
            " commits; fetch first if it is on a remote)"
        )
    dirty = git(source, "status", "--porcelain", "--untracked-files=no", "--", ".")
    head = git(source, "rev-parse", "HEAD")
    shipped = commit
    if dirty and commit == head:
        if not args.allow_dirty:
            # git() strips the output, and with it the first line's leading status blank.
            files = ", ".join(line[2:].strip() for line in dirty.splitlines()[:5])
            raise Refused(
                f"{top} has uncommitted changes in the app's folder ({files}): commit them, or"
                " deploy the working tree on purpose with --allow-dirty"
            )
        shipped = git(source, "stash", "create") or commit  # the working tree, as a commit
    short = commit[:7] + ("-dirty" if shipped != commit else "")
    missing = []
    if not module_exists(source, shipped, prefix, args.settings_module):
        missing.append(f"django_app_settings_module={args.settings_module}")
    wsgi_module = args.wsgi_app.split(":", 1)[0]
    if not module_exists(source, shipped, prefix, wsgi_module):
        missing.append(f"django_app_wsgi_app={args.wsgi_app}")
    for req in args.requirements:
        if not exists_at(source, shipped, prefix, req):
            missing.append(f"django_app_requirements: {req}")
    if missing:
        raise Refused(
            f"not found in {prefix or './'} at {short} (of {top}): {'; '.join(missing)}. Give"
            " module paths and files relative to django_app_source, as the project has them"
        )
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    archive = archive_dir() / f"{stamp}-{short}.tar.gz"
    tree = f"{shipped}:{prefix}" if prefix else shipped
    subprocess.run(
        ["git", "-C", top, "archive", "--format=tar.gz", "-o", str(archive), tree],
        check=True,
    )
    return {
        "commit": commit,
        "short": short,
        "release": f"{stamp}-{short}",
        "archive": str(archive),
        "dirty": shipped != commit,
        "tree": git(Path(top), "rev-parse", tree),
    }


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--source", required=True)
    p.add_argument("--ref", default="HEAD")
    p.add_argument("--allow-dirty", action="store_true")
    p.add_argument("--settings-module", required=True)
    p.add_argument("--wsgi-app", required=True)
    p.add_argument("--requirements", nargs="*", default=[])
    args = p.parse_args(argv)
    try:
        print(json.dumps(ship(args)))
    except Refused as err:
        print(str(err), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
