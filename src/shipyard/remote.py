"""Database dumps to and from an environment's db host: `inv db.backup` / `inv db.restore`.

They run as small playbooks (playbooks/db-backup.yml, db-restore.yml), so they reach a host
exactly as provisioning does: one route, with the environment's user, key, ssh arguments,
known_hosts and become settings, never a connection built a second way. The database name is
checked here and again in the playbook with the rule the database roles use.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import yaml

from . import ROOT, playbooks
from .shell import ShipyardError

COMMON_VARS = ROOT / "roles" / "common" / "vars" / "main.yml"


@cache
def _name_rule() -> tuple[str, list[str], str]:
    data = yaml.safe_load(COMMON_VARS.read_text())
    return (
        data["__common_db_identifier"],
        data["__common_db_reserved_names"],
        data["__common_db_reserved_prefix"],
    )


def db_identifier() -> str:
    """The database roles' pattern for names (roles/common/vars/main.yml)."""
    return _name_rule()[0]


def check_database(name: str) -> None:
    """The database roles' rule for names: a plain identifier that is not the engine's own."""
    identifier, reserved, prefix = _name_rule()
    if not re.match(identifier, name) or name in reserved or name.startswith(prefix):
        raise ShipyardError(
            f"--database {name!r}: give a lower-case SQL identifier (a-z, 0-9, _; at most 63"
            f" characters) that is not one of the engines' own ({', '.join(reserved)},"
            f" {prefix}*), such as app_copy"
        )


def backup_command(env: str, host: str, database: str, output: str) -> tuple[list[str], Path]:
    """The playbook run that writes a dump of `database` (default: the app's) to a local file."""
    if database:
        check_database(database)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    name = f"{env or 'local'}-{host or 'db'}-{database or 'app'}-{stamp}.dump"
    target = Path(output).resolve() if output else ROOT / "backups" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    extra = {"shipyard_database": database, "shipyard_output": str(target), "shipyard_stamp": stamp}
    argv = playbooks.command("db-backup", env, limit=host, extra_vars=extra)
    return argv, target


def restore_command(
    env: str, dump: str, host: str, database: str, from_backup_host: bool = False,
    backup_host: str = "", workdir: Path | None = None,
) -> list[str]:  # fmt: skip
    """The playbook run that loads a dump into `database` (default: the app's): a local file, or
    with `from_backup_host` the newest copy of the db host's backups on the backup host."""
    check_restore(dump, database, from_backup_host, backup_host)
    if from_backup_host:
        name = dump.removesuffix(".dump.gz")
        extra = {"shipyard_database": database, "shipyard_from_backup_host": True,
                 "shipyard_backup_name": "" if name == "newest" else name,
                 "shipyard_backup_host": backup_host, "shipyard_workdir": str(workdir),
                 "shipyard_stamp": time.strftime("%Y%m%d-%H%M%S")}  # fmt: skip
        return playbooks.command("db-restore", env, limit=host, extra_vars=extra)
    path = Path(dump)
    extra = {
        "shipyard_database": database,
        "shipyard_dump": str(path.resolve()),
        "shipyard_stamp": time.strftime("%Y%m%d-%H%M%S"),
    }
    return playbooks.command("db-restore", env, limit=host, extra_vars=extra)


def check_restore(dump: str, database: str, from_backup_host: bool, backup_host: str) -> None:
    """`inv db.restore`'s arguments, checked before any environment is made ready (pure)."""
    if database:
        check_database(database)
    if from_backup_host:
        # FILE names a backup on the backup host: `newest`, or one `inv status` showed.
        name = dump.removesuffix(".dump.gz")
        if name != "newest" and not re.fullmatch(
            r"(postgresql|mysql)-[a-z0-9_]+-\d{8}T\d{6}Z-[A-Za-z0-9._-]+", name
        ):
            raise ShipyardError(
                f"FILE {dump!r}: with --from-backup-host, give `newest` or a backup's name on the"
                " backup host, such as postgresql-app-20261130T031500Z-20261129T101500Z-a1b2c3d"
            )
        return
    if backup_host:
        raise ShipyardError("--backup-host goes with --from-backup-host")
    if not Path(dump).is_file():
        raise ShipyardError(f"no dump file {dump!r}: give the path `inv db.backup` printed")


def backup(env: str, host: str, database: str, output: str) -> Path:
    """`inv db.backup`: run the backup playbook; return the local file written."""
    from . import ansible, environments

    environments.ready(env)
    argv, path = backup_command(env, host, database, output)
    ansible.playbook(argv)
    return path


def restore(
    env: str, dump: str, host: str, database: str, from_backup_host: bool = False,
    backup_host: str = "",
) -> None:  # fmt: skip
    """`inv db.restore`: run the restore playbook."""
    from . import ansible, environments

    check_restore(dump, database, from_backup_host, backup_host)
    environments.ready(env)
    with workdir() as folder:
        ansible.playbook(
            restore_command(env, dump, host, database, from_backup_host, backup_host, folder)
        )


def drill_command(env: str, host: str, backup_host: str, folder: Path) -> list[str]:
    """The playbook run of `inv db.drill` (playbooks/db-drill.yml)."""
    extra = {"shipyard_backup_host": backup_host, "shipyard_workdir": str(folder)}
    return playbooks.command("db-drill", env, limit=host, extra_vars=extra)


def drill(env: str, host: str, backup_host: str) -> None:
    """`inv db.drill`: restore the newest off-host backup into a scratch database and check it."""
    from . import ansible, environments

    environments.ready(env)
    with workdir() as folder:
        ansible.playbook(drill_command(env, host, backup_host, folder))


@contextmanager
def workdir():
    """A folder of this machine's own (0700) that a backup passes through, removed after."""
    from . import STATE

    STATE.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="offhost-", dir=STATE))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
