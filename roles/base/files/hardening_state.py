"""Read what the base role manages beyond its small files, in one remote call (tasks/state.yml runs
it with `python3 -c`): each hardening file's SHA-1, whether a few lines are in place, each
sysctl's value and whether this host may write it, the SSH login group's members, whether fail2ban
runs, the timezone, the locales generated, the admin's account and authorized keys, and the
firewall's `ufw status verbose` when it is managed. Reads only: safe in --check."""

import contextlib
import grp
import hashlib
import json
import os
import pwd
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
# What the timezone, locale_gen, user and authorized_key modules would otherwise each be asked.
# The zone /etc/localtime links to, as named (UTC, not the Etc/UTC it links on to).
state["timezone"] = os.readlink("/etc/localtime") if os.path.islink("/etc/localtime") else None
locales = subprocess.run(["locale", "-a"], capture_output=True, text=True, check=False).stdout
state["locales"] = [line.lower().replace("-", "") for line in locales.split()]
state["admin"] = None
with contextlib.suppress(KeyError):
    admin = pwd.getpwnam(wanted["admin"])
    try:
        sudo = grp.getgrnam("sudo").gr_mem
    except KeyError:
        sudo = []
    authorized = []  # the module writes (and fixes modes) only when a key is missing
    keys_file = os.path.join(admin.pw_dir, ".ssh", "authorized_keys")
    with contextlib.suppress(OSError), open(keys_file) as f:
        authorized = [line.strip() for line in f]
    in_sudo = wanted["admin"] in sudo
    state["admin"] = {"shell": admin.pw_shell, "sudo": in_sudo, "authorized": authorized}
state["ufw"] = ""
if wanted.get("ufw"):  # tasks/firewall.yml compares its rules with this text
    ufw = ["ufw", "status", "verbose"]
    with contextlib.suppress(OSError):  # not installed yet (--check on a fresh host)
        state["ufw"] = subprocess.run(ufw, capture_output=True, text=True, check=False).stdout
print(json.dumps(state))
