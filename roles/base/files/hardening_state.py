"""Read what the base role's hardening manages, in one remote call (tasks/state.yml runs it with
`python3 -c`): each file's SHA-1, whether a few lines are in place, each sysctl's value and whether
this host may write it, the SSH login group's members, and whether fail2ban runs. Reads only:
safe in --check."""

import contextlib
import grp
import hashlib
import json
import os
import subprocess
import sys

wanted = json.loads(sys.argv[1])
state = {"files": {}, "dirs": {}, "lines": {}, "sysctls": {}, "group": None, "fail2ban": {}}
for path in wanted["files"]:
    # A folder a package makes (fail2ban's): missing before the first run installs it.
    state["dirs"][path] = os.path.isdir(os.path.dirname(path))
    try:
        with open(path, "rb") as f:
            state["files"][path] = hashlib.sha1(f.read()).hexdigest()
    except OSError:
        state["files"][path] = None
for path, line in wanted["lines"].items():  # a line that must be in a file of the package's
    try:
        with open(path) as f:
            state["lines"][path] = line in f.read().splitlines()
    except OSError:
        state["lines"][path] = None  # no such file (yet)
for name in wanted["sysctls"]:
    path = "/proc/sys/" + name.replace(".", "/")
    try:
        with open(path) as f:
            value = " ".join(f.read().split())
    except OSError:
        value = None
    # access() answers EROFS for a read-only /proc/sys, as in a container started without it.
    state["sysctls"][name] = {"value": value, "writable": os.access(path, os.W_OK)}
with contextlib.suppress(KeyError):
    state["group"] = grp.getgrnam(wanted["group"]).gr_mem
state["fail2ban"]["installed"] = os.path.exists("/usr/bin/fail2ban-server")
for check in ("is-active", "is-enabled"):
    run = subprocess.run(["systemctl", check, "-q", "fail2ban"], capture_output=True)
    state["fail2ban"][check] = run.returncode == 0
print(json.dumps(state))
