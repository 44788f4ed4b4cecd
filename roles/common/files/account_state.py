"""Which of the names the roles would take are already someone else's on this host, in one remote
call (roles/common/tasks/account_checks.yml runs it with `python3 -c`). Reads only: safe in
--check. Prints a JSON list of problems, each naming the variable the user typed.

Each wanted entry is {"variable", "name", "as"}: "app" (the app's system user and group, and its
units NAME@.service; ours when the account's home is "home", and the unit carries "marker"),
"admin" (a login user, the admin or an SSH login user: any account of this host's may be
it, but not a system one).
"""

import grp
import json
import os
import pwd
import sys

UNIT_DIRS = ("/etc/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system")
FIRST_USER_UID = 1000  # Debian's: below it, accounts belong to the system and its packages


def lookup(table, name):
    try:
        return table(name)
    except KeyError:
        return None


def app_problems(variable, name, home, marker):
    problems = []
    user = lookup(pwd.getpwnam, name)
    group = lookup(grp.getgrnam, name)
    where = f"{variable}={name}"
    if user is not None and user.pw_dir != home:
        problems.append(
            f"{where} is the existing account {name} on this host (uid {user.pw_uid}, home"
            f" {user.pw_dir}), not one Shipyard made for this app (its home would be {home}): the"
            " role would turn it into the app's system user, without a login shell and with its"
            " home moved. Choose a name of the app's own, such as notes."
        )
    elif group is not None and (user is None or user.pw_gid != group.gr_gid):
        problems.append(
            f"{where} is the existing group {name} on this host (gid {group.gr_gid}), not the"
            " app's own: the app's files would belong to its members. Choose a name of the app's"
            " own, such as notes."
        )
    unit = f"{name}@.service"
    for folder in UNIT_DIRS:
        path = os.path.join(folder, unit)
        if not os.path.exists(path):
            continue
        with open(path, errors="replace") as f:
            ours = folder == UNIT_DIRS[0] and marker in f.read()
        if not ours:
            problems.append(
                f"{where}: the app's units would be {unit}, and {path} is already this host's"
                f" (not the app's): Shipyard's would replace it. Choose another name, such as"
                " notes."
            )
            break
    return problems


def admin_problems(variable, name):
    user = lookup(pwd.getpwnam, name)
    if user is not None and 0 < user.pw_uid < FIRST_USER_UID:
        would = (
            "give it a shell, a home and sudo"
            if variable == "base_admin_user"
            else ("let it log in over SSH")
        )
        return [
            f"{variable}={name} is the system account {name} on this host (uid {user.pw_uid}),"
            f" which a package or service owns: the role would {would}. Choose a person's login"
            " name, such as admin."
        ]
    return []


def problems(wanted):
    found = []
    for entry in wanted:
        if entry["as"] == "app":
            found += app_problems(entry["variable"], entry["name"], entry["home"], entry["marker"])
        else:
            found += admin_problems(entry["variable"], entry["name"])
    return found


if __name__ == "__main__":
    print(json.dumps(problems(json.loads(sys.argv[1]))))
