"""Read the folders, files and links a role manages, in one remote call (roles/common/tasks/
paths.yml runs it with `python3 -c`): for each path its type, owner, group and mode, a file's
SHA-1 and a link's target. An entry `unit:NAME` asks for a systemd unit instead: whether it is
active and enabled (so a role starts a service only when it is not); `user:NAME` for an account:
its home and shell, or null; `memory:cgroup` for the memory limit of PID 1's cgroup (v1 or v2,
the smallest limit up its path; 0 for none: a container's /proc/meminfo shows the whole machine);
`text:PATH` for a small file's text too (a block in a user's ~/.bashrc). A
path may start with ~user/. Reads only: safe in --check.
Prints a JSON mapping of path to state (null for a path that does not exist)."""

import grp
import hashlib
import json
import os
import pwd
import stat
import subprocess
import sys


def name_of(table, number: int) -> str:
    try:
        return table(number)[0]
    except KeyError:
        return str(number)  # an id with no name: never equal to a wanted name


def state_of(path: str) -> dict | None:
    try:
        st = os.lstat(path)
    except OSError:
        return None
    found = {
        "owner": name_of(pwd.getpwuid, st.st_uid),
        "group": name_of(grp.getgrgid, st.st_gid),
        "mode": f"{stat.S_IMODE(st.st_mode):04o}",
    }
    if stat.S_ISLNK(st.st_mode):
        found.update(state="link", src=os.readlink(path))
    elif stat.S_ISDIR(st.st_mode):
        found.update(state="directory")
    elif stat.S_ISREG(st.st_mode):
        with open(path, "rb") as f:
            found.update(state="file", sha1=hashlib.sha1(f.read()).hexdigest())
    else:
        found.update(state="other")
    return found


def unit_state(name: str) -> dict:
    def answer(verb: str) -> str:
        cmd = ["systemctl", verb, name]
        try:
            return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()
        except OSError:  # no systemd at all: nothing runs
            return ""

    return {"state": "unit", "active": answer("is-active") == "active",
            "enabled": answer("is-enabled") == "enabled"}  # fmt: skip


def user_state(name: str) -> dict | None:
    try:
        account = pwd.getpwnam(name)
    except KeyError:
        return None
    return {"state": "user", "home": account.pw_dir, "shell": account.pw_shell}


def memory_limit() -> dict:
    limit = 0
    with open("/proc/1/cgroup") as f:
        lines = f.read().splitlines()
    for line in lines:
        if ":memory:" in line:  # cgroup v1
            base, name = "/sys/fs/cgroup/memory", "memory.limit_in_bytes"
            path = line.split(":memory:")[1]
        elif line.startswith("0::"):  # v2
            base, name, path = "/sys/fs/cgroup", "memory.max", line[3:]
        else:
            continue
        while True:  # up the path: a parent's limit binds too
            try:
                with open(f"{base}{path}/{name}") as f:
                    value = f.read().strip()
            except OSError:
                value = ""
            if value.isdigit() and (limit == 0 or int(value) < limit):
                limit = int(value)
            if not path or path == "/":
                break
            path = path.rsplit("/", 1)[0]
    return {"state": "memory", "bytes": limit}


def read(entry: str) -> dict | None:
    if entry == "memory:cgroup":
        return memory_limit()
    if entry.startswith("unit:"):
        return unit_state(entry[5:])
    if entry.startswith("user:"):
        return user_state(entry[5:])
    if entry.startswith("text:"):
        path = os.path.expanduser(entry[5:])
        found = state_of(path)
        if found is None or found["state"] != "file":
            return None
        with open(path, encoding="utf-8", errors="replace") as f:
            return {**found, "state": "text", "text": f.read()}
    return state_of(os.path.expanduser(entry))


print(json.dumps({entry: read(entry) for entry in json.loads(sys.argv[1])}))
