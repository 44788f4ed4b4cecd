"""Read the folders, files and links a role manages, in one remote call (roles/common/tasks/
paths.yml runs it with `python3 -c`): for each path its type, owner, group and mode, a file's
SHA-1 and a link's target. Reads only: safe in --check. Prints a JSON mapping of path to state
(null for a path that does not exist)."""

import grp
import hashlib
import json
import os
import pwd
import stat
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


print(json.dumps({path: state_of(path) for path in json.loads(sys.argv[1])}))
