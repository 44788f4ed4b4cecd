"""Shipyard's tasks: `inv --list` (or `./shipyard --list`) shows them.

A table of contents: each task declares its arguments (their kinds are checked before the body
runs, src/shipyard/arguments.py) and calls one function in src/shipyard, where the logic lives
and is unit-tested. Errors become Invoke's `Exit` in one place (arguments.task).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from invoke import Collection

import shipyard.app
import shipyard.bench
import shipyard.deploy
import shipyard.environments
import shipyard.images
import shipyard.pipeline
import shipyard.preflight
import shipyard.remote
import shipyard.smoke
import shipyard.suite
import shipyard.workspace
from shipyard import ROOT, arguments, boxes, images
from shipyard.arguments import task
from shipyard.shell import git

# The tools (ansible-playbook, molecule, ruff...) live beside the interpreter running `inv`.
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"


def after_dashes() -> list[str]:
    """What follows `--` on the command line, as typed (Invoke keeps it out of task arguments):
    the command of `inv manage -- ...` and `inv ssh -- ...`."""
    return sys.argv[sys.argv.index("--") + 1 :] if "--" in sys.argv else []


ENV_HELP = "Environment (a folder of inventory/): local (the default), staging, production."


@task(
    kinds={"os": "os", "name": "box", "db": "db", "web": "web", "share": "dir"},
    help={
        "os": f"Operating system of the box: {', '.join(images.SUPPORTED)}.",
        "name": "Box name (default: the --os value).",
        "db": f"Database engine of the box: {', '.join(boxes.DB_ENGINES)} (default: postgresql,"
        " or what the box had).",
        "web": "Start a fleet instead: a db box, this many web boxes and a load balancer (lb).",
        "provision": "Provision the box after starting it (default: yes).",
        "share": "A folder of this machine to work on in the box (in the admin's home, with its"
        " owner's uid); given when the box starts.",
    },
)
def up(c, os="debian12", name="", db="", web=0, provision=True, share=""):
    """Start a sandbox box (or a fleet: --web N), provision it, deploy the app, print the URL."""
    if web:
        shipyard.environments.up_fleet(os, int(web), db, provision, name, share)
    else:
        shipyard.environments.up(os, name, db, provision, share)


@task(kinds={"name": "box"}, help={"name": "Remove only this box (default: all sandbox boxes)."})
def down(c, name=""):
    """Remove sandbox boxes."""
    removed = boxes.remove(name or None)
    boxes.write_inventory(boxes.running())
    print(f"removed: {', '.join(removed) or 'nothing'}")


@task(
    kinds={"env": "env", "limit": "limit", "tags": "tags"},
    help={
        "env": ENV_HELP,
        "here": "Provision the machine this runs on, over a local connection (run as root).",
        "check": "Dry run: report what would change, change nothing.",
        "limit": "Only these hosts or groups (ansible --limit).",
        "tags": "Only these roles or purposes (ansible --tags), e.g. base,git.",
        "verbose": "Ansible verbosity (repeat: -v -v).",
    },
    incrementable=["verbose"],
)
def provision(c, env="", here=False, check=False, limit="", tags="", verbose=0):
    """Provision an environment's hosts (or this machine with --here)."""
    shipyard.environments.provision(env, here, check, limit, tags, verbose)


@task(
    kinds={"env": "env"},
    help={"env": "A real environment (a folder of inventory/): staging, production."},
)
def preflight(c, env=""):
    """Check what a deploy needs before it touches a host: secrets, SSH key, pinned host keys."""
    hosts = shipyard.preflight.check(env)
    print(f"shipyard: ready to deploy to {env}: {', '.join(hosts)} answer with their pinned keys")


@task(
    kinds={"env": "env", "commit": "commit"},
    help={
        "env": ENV_HELP,
        "commit": "The commit that must be live (CI: $CIRCLE_SHA1; default: this checkout's HEAD).",
    },
)
def smoke(c, env="", commit=""):
    """Smoke-test the live site: health, the release id against the commit, an API round trip."""
    shipyard.environments.ready(env)
    for line in shipyard.smoke.check(env or "local", commit or git(ROOT, "rev-parse", "HEAD")):
        print(f"smoke: {line}")


@task(
    kinds={"env": "env", "ref": "ref", "source": "dir", "limit": "limit", "batch": "batch"},
    help={
        "env": ENV_HELP,
        "ref": "The git commit, branch or tag to deploy (default: HEAD).",
        "allow_dirty": "Deploy the working tree even with uncommitted changes in the app's folder.",
        "source": "Deploy this Django project folder (a git checkout) instead of the inventory's.",
        "limit": "Only these web hosts (ansible --limit).",
        "batch": "How many web hosts switch at a time (default 1: one after the other).",
        "verbose": "Ansible verbosity (repeat: -v -v).",
    },
    incrementable=["verbose"],
)
def deploy(c, env="", ref="HEAD", allow_dirty=False, source="", limit="", batch=1, verbose=0):
    """Deploy the app to the web hosts: build on all, migrate once, then switch batch by batch."""
    shipyard.deploy.deploy(env, ref, allow_dirty, source, limit, int(batch), verbose)


@task(
    kinds={"env": "env", "to": "release", "limit": "limit", "batch": "batch"},
    help={
        "env": ENV_HELP,
        "to": "The release to go back to (`inv releases` lists them; default: the one before).",
        "limit": "Only these web hosts (ansible --limit).",
        "batch": "How many web hosts switch at a time (default 1: one after the other).",
        "verbose": "Ansible verbosity (repeat: -v -v).",
    },
    incrementable=["verbose"],
)
def rollback(c, env="", to="", limit="", batch=1, verbose=0):
    """Put the previous good release (or --to RELEASE) back live, rolling like a deploy."""
    shipyard.deploy.rollback(env, to, limit, int(batch), verbose)


@task(kinds={"env": "env", "host_": "host"}, help={"env": ENV_HELP, "host": "Only this web host."})
def releases(c, env="", host_=""):
    """List the app's releases on each web host: id, commit, state, which one is current."""
    shipyard.deploy.report(env, host_, "releases")


@task(kinds={"env": "env", "host_": "host"}, help={"env": ENV_HELP, "host": "Only this web host."})
def status(c, env="", host_=""):
    """Show each web host's live release, its health and its uptime."""
    shipyard.deploy.report(env, host_, "status")


@task(
    kinds={"env": "env", "lines": "lines", "host_": "host"},
    help={
        "env": ENV_HELP,
        "follow": "Keep printing new lines (Ctrl-C stops).",
        "lines": "How many recent lines (default 100).",
        "host": "The web host (default: the first).",
    },
)
def logs(c, env="", follow=False, lines=100, host_=""):
    """Show the app's gunicorn logs (both slots) from a web host."""
    shipyard.deploy.logs(env, host_, int(lines), follow)


@task(
    kinds={"env": "env", "host_": "host"},
    help={"env": ENV_HELP, "host": "The web host (default: the first)."},
)
def manage(c, env="", host_=""):
    """Run a manage.py command in the live release: inv manage -- createsuperuser."""
    shipyard.deploy.manage(env, host_, after_dashes())


@task(
    kinds={"env": "env", "name": "box", "host_": "host"},
    help={
        "env": ENV_HELP,
        "name": "The sandbox box (default: the only one running).",
        "host": "The host of a real environment (-e), by its inventory name.",
    },
)
def ssh(c, env="", name="", host_=""):
    """Log in to a box or host as its admin user, or run one command: inv ssh -- uptime."""
    shipyard.workspace.ssh(env, host_ or name, after_dashes())


@task(
    kinds={"env": "env", "name": "box", "host_": "host"},
    help={
        "env": ENV_HELP,
        "name": "Only this sandbox box (or, with -e, --host).",
        "host": "Only this host of a real environment (-e).",
        "install": "Keep the blocks in ~/.ssh/shipyard/ and include them from ~/.ssh/config.",
    },
)
def ssh_config(c, env="", name="", host_="", install=False):
    """Print an OpenSSH config block per box (or host), for ssh and IDEs to open it by name."""
    print(shipyard.workspace.ssh_config(env, host_ or name, install), end="")


@task(help={"force": "Rebuild even when the cached image matches its recipe."})
def images_(c, force=False):
    """Build the sandbox base images (Debian 12 and 13) unless cached; save them for a CI cache."""
    for name in shipyard.images.build_all(force=force):
        print(f"{name} ready")


@task()
def lint(c):
    """Lint everything: yamllint, ansible-lint (production profile), ruff."""
    shipyard.suite.lint()


@task(
    kinds={"only": "suites", "role": "role", "os": "os", "junit": "path"},
    extra_kinds={
        "suites": arguments.choices(lambda: shipyard.suite.SUITES, "suites"),
        "role": arguments.choice(lambda: shipyard.suite.ROLES, "a role with a Molecule scenario"),
    },
    help={
        "only": f"Run only these suites, comma-separated: {', '.join(shipyard.suite.SUITES)}.",
        "role": f"Run only this role's Molecule scenario: {', '.join(shipyard.suite.ROLES)}.",
        "os": f"Run the Molecule scenarios on this platform only: {', '.join(images.SUPPORTED)}.",
        "junit": "Also write the pytest suites' JUnit XML results into this folder (CI).",
    },
)
def test(c, only="", role="", os="", junit=""):
    """Run the whole test suite: lint, unit tests, the sample app, Molecule roles, e2e boxes."""
    shipyard.suite.run_suites(
        only.split(",") if only else list(shipyard.suite.SUITES), role, os, junit
    )


@task(
    kinds={"os": "os", "runs": "runs"},
    help={
        "os": f"Operating system of the benchmark boxes: {', '.join(images.SUPPORTED)}.",
        "deploy": "Benchmark the deploy instead: first, code-only, same ref, rollback.",
        "fleet": "Benchmark the input checks instead: 1, 10 and 30 hosts, none reachable.",
        "runs": f"Runs of each figure (median and spread; default {shipyard.bench.RUNS}).",
    },
)
def bench(c, os="debian12", deploy=False, fleet=False, runs=shipyard.bench.RUNS):
    """Benchmark provisioning (apt floor, cold, re-run, --check), the deploy, or the checks."""
    print("\n" + shipyard.bench.measure(os, deploy, fleet, int(runs)))


@task(
    kinds={"env": "env", "host_": "host", "database": "database", "output": "path"},
    help={
        "env": ENV_HELP,
        "host": "The db host, when the environment has several.",
        "database": "Dump this database instead of the app's.",
        "output": "Where to write the dump (default: backups/<env>-<host>-<db>-<time>.dump).",
    },
)
def backup(c, env="", host_="", database="", output=""):
    """Download a dump of the app database from an environment's db host."""
    path = shipyard.remote.backup(env, host_, database, output)
    print(f"backup written: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


@task(
    kinds={
        "file": "path",
        "env": "env",
        "host_": "host",
        "database": "database",
        "backup_host": "host",
    },
    help={
        "env": ENV_HELP,
        "file": "A dump written by `inv db.backup`; with --from-backup-host, `newest` or the name"
        " of a backup there (`inv status` shows the newest).",
        "host": "The db host, when the environment has several.",
        "database": "Restore into this database instead of the app's (created when missing).",
        "from_backup_host": "Restore FILE from the db host's scheduled backups on the backup host"
        " (verified; replaces the database whole): a rebuilt db host.",
        "backup_host": "That backup host, when the environment has several.",
    },
    positional=["file"],
)
def restore(c, file, env="", host_="", database="", from_backup_host=False, backup_host=""):
    """Restore a dump (or a backup host's copy) into the app database of a db host."""
    shipyard.remote.restore(env, file, host_, database, from_backup_host, backup_host)
    if not from_backup_host:
        print(f"restored {file} into {database or 'the app database'}")


@task(
    kinds={"env": "env", "host_": "host", "backup_host": "host"},
    help={
        "env": ENV_HELP,
        "host": "The db host, when the environment has several.",
        "backup_host": "The backup host, when the environment has several.",
    },
)
def drill(c, env="", host_="", backup_host=""):
    """Prove the newest off-host backup restores: into a scratch database, rows and migrations."""
    shipyard.remote.drill(env, host_, backup_host)


@task(
    help={
        "skip_tests": "Start at the deploy jobs (the test jobs are `inv test`'s suites).",
        "approve": "Approve the production deploy without asking (CircleCI's hold job).",
    }
)
def ci(c, skip_tests=False, approve=False):
    """Run the CircleCI pipeline here, in its order: the tests, then staging, hold, production."""
    timings = shipyard.pipeline.run_locally(skip_tests, approve)
    print("\n" + shipyard.suite.timings_table(timings, "job"))


@task(kinds={"port": "port"}, help={"port": "Port on 127.0.0.1 (default 8000)."})
def serve(c, port=8000):
    """Run the sample app locally on sqlite: migrate, then Django's development server."""
    shipyard.app.serve(int(port))


@task(
    kinds={"junit": "path"},
    name="test",
    help={"junit": "Also write JUnit XML results into this folder (CI)."},
)
def app_test(c, junit=""):
    """Run the sample app's tests (sqlite; DATABASE_URL runs them on PostgreSQL or MariaDB)."""
    shipyard.suite.app_tests(junit)


@task()
def deps(c):
    """Install the system packages the app's requirements build from (mysqlclient's headers)."""
    shipyard.app.ensure_build_packages()


db = Collection("db", backup, restore, drill)
app_ = Collection("app", serve, app_test, deps)
ns = Collection(
    up,
    down,
    provision,
    deploy,
    rollback,
    preflight,
    smoke,
    ci,
    releases,
    status,
    logs,
    manage,
    ssh,
    ssh_config,
    lint,
    test,
    bench,
    db,
    app_,
)
ns.add_task(images_, name="images")
