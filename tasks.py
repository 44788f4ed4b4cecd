"""Shipyard's tasks: `inv --list` (or `./shipyard --list`) shows them.

Thin wrappers: the logic lives in src/shipyard, where it is unit-tested.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from invoke import Collection, Context, Exit

from shipyard import ROOT, STATE, arguments, boxes, host, images, playbooks
from shipyard.arguments import task
from shipyard.shell import ShipyardError

# The tools (ansible-playbook, molecule, ruff...) live beside the interpreter running `inv`.
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"


ENV_HELP = "Environment (a folder of inventory/): local (the default), staging, production."


def _ansible(c: Context, argv: list[str], **kw):
    """Run Ansible from the project root so ansible.cfg applies; the vault password and the SSH
    key come from SHIPYARD_VAULT_PASSWORD and SHIPYARD_SSH_KEY_FILE when set (shipyard/ci.py)."""
    from shipyard import ci

    env = {
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_FORCE_COLOR": "1",
        "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(STATE / "facts"),  # the state folder's facts
        **ci.ansible_env(os.environ),
    }
    if os.environ.get(ci.SSH_KEY):
        argv = [*argv, "--private-key", os.environ[ci.SSH_KEY]]
    with c.cd(str(ROOT)):
        return c.run(shlex.join(argv), env=env, echo=True, pty=sys.stdout.isatty(), **kw)


def _local_boxes_ready() -> str:
    """Docker, the apt cache and an up-to-date local inventory; return the apt proxy URL."""
    host.ensure_docker()
    host.ensure_apt_cache()
    boxes.write_inventory(boxes.running())
    return host.apt_proxy_for_boxes()


@task(
    kinds={"os": "os", "name": "box", "db": "db"},
    help={
        "os": f"Operating system of the box: {', '.join(images.SUPPORTED)}.",
        "name": "Box name (default: the --os value).",
        "db": f"Database engine of the box: {', '.join(boxes.DB_ENGINES)} (default: postgresql,"
        " or what the box had).",
        "provision": "Provision the box after starting it (default: yes).",
    },
)
def up(c, os="debian12", name="", db="", provision=True):
    """Start a sandbox box, provision it, and print how to SSH in."""
    host.ensure_docker()
    host.ensure_apt_cache()
    box = boxes.start(name or os, os)
    if db:
        boxes.set_db_engine(box.name, db)
    _local_boxes_ready()
    if provision:
        _ansible(c, playbooks.command("provision", "local", limit=box.name))
        _ansible(c, playbooks.command("deploy", "local", limit=box.name))
    print(f"\nBox {box.name} ({box.os}) is up. SSH in with:\n  {box.ssh_command()}")
    if provision:
        http = f"http://localhost:{box.http_port}/"
        print(
            f"The sample app: {box.url()}api/  (HTTP {http} redirects there; the certificate is"
            " self-signed: curl -k, or accept it in the browser)"
        )


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
    if env in ("", "local") and not here:
        _local_boxes_ready()
        if not boxes.running():
            raise ShipyardError("no sandbox box is running: start one with `inv up`")
    argv = playbooks.command(
        "provision", env, here=here, check=check, limit=limit, tags=tags, verbose=verbose
    )
    _ansible(c, argv)


def _env_ready(env: str, preflight: bool = False) -> None:
    """The sandbox's boxes, or for a real environment (deploy, rollback) the preflight checks:
    vault password, SSH key, pinned host keys, every host answering with its pinned key."""
    from shipyard import ci

    if env in ("", "local"):
        _local_boxes_ready()
    elif preflight:
        ci.preflight(env)


@task(
    kinds={"env": "env"},
    help={"env": "A real environment (a folder of inventory/): staging, production."},
)
def preflight(c, env=""):
    """Check what a deploy needs before it touches a host: secrets, SSH key, pinned host keys."""
    from shipyard import ci

    hosts = ci.preflight(env)
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
    from shipyard import ci
    from shipyard import deploy as d

    _env_ready(env)
    want = commit or d.git(ROOT, "rev-parse", "HEAD")
    for line in ci.smoke(env or "local", want):
        print(f"smoke: {line}")


@task(
    kinds={"env": "env", "ref": "ref", "source": "dir", "limit": "limit"},
    help={
        "env": ENV_HELP,
        "ref": "The git commit, branch or tag to deploy (default: HEAD).",
        "allow_dirty": "Deploy the working tree even with uncommitted changes in the app's folder.",
        "source": "Deploy this Django project folder (a git checkout) instead of the inventory's.",
        "limit": "Only these web hosts (ansible --limit).",
        "verbose": "Ansible verbosity (repeat: -v -v).",
    },
    incrementable=["verbose"],
)
def deploy(c, env="", ref="HEAD", allow_dirty=False, source="", limit="", verbose=0):
    """Deploy the app to an environment's web hosts: build, migrate, probe, then switch."""
    from shipyard import deploy as d

    _env_ready(env, preflight=True)
    argv = playbooks.command(
        "deploy",
        env,
        extra_vars=d.deploy_vars(ref, allow_dirty, source),
        limit=limit,
        verbose=verbose,
    )
    _ansible(c, argv)


@task(
    kinds={"env": "env", "to": "release", "limit": "limit"},
    help={
        "env": ENV_HELP,
        "to": "The release to go back to (`inv releases` lists them; default: the one before).",
        "limit": "Only these web hosts (ansible --limit).",
        "verbose": "Ansible verbosity (repeat: -v -v).",
    },
    incrementable=["verbose"],
)
def rollback(c, env="", to="", limit="", verbose=0):
    """Put the previous good release (or --to RELEASE) back live, health-gated like a deploy."""
    from shipyard import deploy as d

    _env_ready(env, preflight=True)
    argv = playbooks.command(
        "rollback", env, extra_vars=d.rollback_vars(to), limit=limit, verbose=verbose
    )
    _ansible(c, argv)


def _report(env: str, host: str, what: str) -> None:
    """Ask each web host's release tool (or only `host`'s) and print its answer as text."""
    from shipyard import deploy as d

    _env_ready(env)
    hosts = d.web_hosts(env)
    for h in [d.pick(hosts, host)] if host else hosts:
        answer = d.query(h, what)
        if what == "releases":
            print(f"{h.name}:\n{d.releases_table(answer)}")
        else:
            print(d.status_line(h.name, answer))


@task(kinds={"env": "env", "host_": "host"}, help={"env": ENV_HELP, "host": "Only this web host."})
def releases(c, env="", host_=""):
    """List the app's releases on each web host: id, commit, state, which one is current."""
    _report(env, host_, "releases")


@task(kinds={"env": "env", "host_": "host"}, help={"env": ENV_HELP, "host": "Only this web host."})
def status(c, env="", host_=""):
    """Show each web host's live release, its health and its uptime."""
    _report(env, host_, "status")


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
    from shipyard import deploy as d

    _env_ready(env)
    h = d.pick(d.web_hosts(env), host_)
    remote = ["journalctl", "--no-pager", "-u", f"{h.app}@*", "-n", str(int(lines))]
    with c.cd(str(ROOT)):  # an environment's pinned known_hosts is a path relative to it
        c.run(
            shlex.join(h.command(*remote, *(["-f"] if follow else []), tty=follow)),
            pty=follow,
            warn=True,
        )


@task(
    kinds={"env": "env", "host_": "host"},
    help={"env": ENV_HELP, "host": "The web host (default: the first)."},
)
def manage(c, env="", host_=""):
    """Run a manage.py command in the live release: inv manage -- createsuperuser."""
    from shipyard import deploy as d

    # What follows `--` on the command line, as typed (Invoke keeps it out of task arguments).
    args = sys.argv[sys.argv.index("--") + 1 :] if "--" in sys.argv else []
    if not args:
        raise ShipyardError("give the command after --, e.g. `inv manage -- showmigrations`")
    _env_ready(env)
    h = d.pick(d.web_hosts(env), host_)
    with c.cd(str(ROOT)):  # an environment's pinned known_hosts is a path relative to it
        result = c.run(
            shlex.join(h.tool("manage", *args, tty=True)), pty=sys.stdin.isatty(), warn=True
        )
    if result.exited:
        raise Exit(code=result.exited)


@task(help={"force": "Rebuild even when the cached image matches its recipe."})
def images_(c, force=False):
    """Build the sandbox base images (Debian 12 and 13) unless cached; save them for a CI cache."""
    host.ensure_docker()
    for os_ in images.SUPPORTED.values():
        print(f"{images.ensure_image(os_, force=force, save=True)} ready")


@task()
def lint(c):
    """Lint everything: yamllint, ansible-lint (production profile), ruff."""
    with c.cd(str(ROOT)):
        c.run("yamllint --strict .", echo=True)
        c.run("ansible-lint", echo=True, env={"ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")})
        c.run("ruff check .", echo=True)
        c.run("ruff format --check .", echo=True)


ROLES = sorted(p.parent.parent.name for p in (ROOT / "roles").glob("*/molecule/default"))
SUITES = ("lint", "unit", "app", "roles", "e2e")


def _junit(folder: str, suite: str) -> str:
    """pytest's option for JUnit XML results in `folder` (CircleCI shows them), or nothing."""
    if not folder:
        return ""
    path = Path(folder).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return f" --junit-xml={shlex.quote(str(path / f'{suite}.xml'))}"


def _test_env() -> dict[str, str]:
    """Docker, images and the apt cache ready; the environment Molecule and pytest need."""
    host.ensure_docker()
    host.ensure_apt_cache()
    for os_ in images.SUPPORTED.values():
        images.ensure_image(os_)
    return {"SHIPYARD_APT_PROXY": host.apt_proxy_for_boxes(), "ANSIBLE_FORCE_COLOR": "1"}


@task(
    kinds={"only": "suites", "role": "role", "os": "os", "junit": "path"},
    extra_kinds={
        "suites": arguments.choices(lambda: SUITES, "suites"),
        "role": arguments.choice(lambda: ROLES, "a role with a Molecule scenario"),
    },
    help={
        "only": f"Run only these suites, comma-separated: {', '.join(SUITES)}.",
        "role": f"Run only this role's Molecule scenario: {', '.join(ROLES)}.",
        "os": f"Run the Molecule scenarios on this platform only: {', '.join(images.SUPPORTED)}.",
        "junit": "Also write the pytest suites' JUnit XML results into this folder (CI).",
    },
)
def test(c, only="", role="", os="", junit=""):
    """Run the whole test suite: lint, unit tests, the sample app, Molecule roles, e2e boxes."""
    wanted = only.split(",") if only else list(SUITES)
    if "lint" in wanted:
        lint(c)
    if "unit" in wanted:
        with c.cd(str(ROOT)):
            c.run(f"pytest -q tests/unit{_junit(junit, 'unit')}", echo=True)
    if "app" in wanted:
        app_test(c, junit)
    if not {"roles", "e2e"} & set(wanted):
        return
    env = _test_env()
    if "roles" in wanted:
        for name in [role] if role else ROLES:
            with c.cd(str(ROOT / "roles" / name)):
                platform = f" --platform-name {os}" if os else ""
                c.run(f"molecule test{platform}", echo=True, env=env, pty=sys.stdout.isatty())
    if "e2e" in wanted:
        with c.cd(str(ROOT)):
            c.run(
                f"pytest -q -p no:cacheprovider tests/e2e{_junit(junit, 'e2e')}", echo=True, env=env
            )


@task(
    kinds={"os": "os"},
    help={
        "os": f"Operating system of the benchmark boxes: {', '.join(images.SUPPORTED)}.",
        "deploy": "Benchmark the deploy instead: first, code-only, same ref, rollback.",
    },
)
def bench(c, os="debian12", deploy=False):
    """Benchmark provisioning (cold, re-run, --check, apt floor), or the deploy with --deploy."""
    from shipyard import bench as b

    if deploy:
        return _bench_deploy(c, os)
    try:
        proxy = _local_boxes_ready()
        # Warm-up: a full run fills the apt cache and tells which packages the roles ask for.
        warm = boxes.start("bench-warmup", os)
        fresh = b.manual_packages(warm.container)
        _local_boxes_ready()
        b.provision_box(warm.name)
        packages = sorted(b.manual_packages(warm.container) - fresh)
        boxes.remove(warm.name)
        floor = b.apt_floor("bench-floor", os, packages, proxy)
        boxes.start("bench", os)
        _local_boxes_ready()
        cold, out1 = b.provision_box("bench")
        rerun, out2 = b.provision_box("bench")
        check, out3 = b.provision_box("bench", "--check")
    finally:
        for name in ("bench-warmup", "bench"):
            boxes.remove(name)
        boxes.write_inventory(boxes.running())
    changed = [b.parse_recap(o.stdout)["bench"].changed for o in (out1, out2, out3)]
    rows = [
        ("apt-get install floor (one call)", floor, "-", ""),
        ("cold provision", cold, changed[0], f"{cold / floor:.2f}x floor (goal <= 1.3x)"),
        ("idempotent re-run", rerun, changed[1], "goal < 15 s, changed=0"),
        ("--check on converged box", check, changed[2], "goal changed=0"),
    ]
    print(f"\nProvisioning benchmark, one {os} box, {len(packages)} packages requested")
    print(f"{'run':<34} {'seconds':>8} {'changed':>8}  note")
    for name, secs, chg, note in rows:
        print(f"{name:<34} {secs:>8.1f} {chg!s:>8}  {note}")


def _bench_deploy(c, os: str) -> None:
    """A provisioned box, a copy of the sample app in a git repository of its own, four runs."""
    import tempfile

    from shipyard import bench as b
    from shipyard import deploy as d

    name = "bench-deploy"
    try:
        _local_boxes_ready()
        boxes.start(name, os)
        _local_boxes_ready()
        _ansible(c, playbooks.command("provision", "local", limit=name), hide=True)
        box = next(x for x in boxes.running() if x.name == name)
        with tempfile.TemporaryDirectory(prefix="shipyard-bench-") as tmp:
            runs = b.deploy_runs(box, d.sample_project(Path(tmp) / "notes"))
    finally:
        boxes.remove(name)
        boxes.write_inventory(boxes.running())
    print(f"\nDeploy benchmark, one {os} box (PostgreSQL, nginx), a steady HTTPS client")
    print(f"{'run':<32} {'seconds':>8} {'served':>7} {'failed':>7}  note")
    for r in runs:
        print(f"{r.name:<32} {r.seconds:>8.1f} {r.served:>7} {r.failed:>7}  {r.goal}")


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
    from shipyard import remote

    if env in ("", "local"):
        _local_boxes_ready()
    argv, path = remote.backup_command(env, host_, database, output)
    _ansible(c, argv)
    print(f"backup written: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


@task(
    kinds={"file": "file", "env": "env", "host_": "host", "database": "database"},
    help={
        "env": ENV_HELP,
        "file": "A dump written by `inv db.backup`.",
        "host": "The db host, when the environment has several.",
        "database": "Restore into this database instead of the app's (created when missing).",
    },
    positional=["file"],
)
def restore(c, file, env="", host_="", database=""):
    """Restore a dump into the app database of an environment's db host."""
    from shipyard import remote

    if env in ("", "local"):
        _local_boxes_ready()
    argv = remote.restore_command(env, file, host_, database)
    _ansible(c, argv)
    print(f"restored {file} into {database or 'the app database'}")


@task(
    help={
        "skip_tests": "Start at the deploy jobs (the test jobs are `inv test`'s suites).",
        "approve": "Approve the production deploy without asking (CircleCI's hold job).",
    }
)
def ci(c, skip_tests=False, approve=False):
    """Run the CircleCI pipeline here, in its order: the tests, then staging, hold, production."""
    import time

    from shipyard import ci as pipeline
    from shipyard import deploy as d

    timings: list[tuple[str, float]] = []
    started = time.monotonic()
    if not skip_tests:  # lint, unit, app-tests, roles, e2e: the suites of `inv test`
        test(c)
        timings.append(("lint, unit, app-tests, roles, e2e", time.monotonic() - started))
    commit = d.git(ROOT, "rev-parse", "HEAD")
    # Sandbox boxes stand in for the servers, one per environment (the two database engines).
    for env, engine in (("staging", "postgresql"), ("production", "mysql")):
        if env == "production" and not approve:  # CircleCI's hold job
            if sys.stdin.isatty():
                if input("hold: deploy to production? [y/N] ").strip().lower() != "y":
                    raise Exit("hold: not approved; production stays as it is", code=1)
            else:
                print("hold: approved (no terminal to ask; CircleCI waits for a person here)")
        begin = time.monotonic()
        name = f"ci-{env}"
        if not any(b.name == name for b in boxes.running()):
            up(c, name=name, db=engine)
        box = next(b for b in boxes.running() if b.name == name)
        pipeline.standin(env, box)
        job_env = pipeline.job_environment(env, commit, box)
        commands = pipeline.job_commands("deploy", {"env": env, "ssh-fingerprint": ""})
        print(f"\n== deploy-{env} (box {box.name} standing in; CIRCLE_SHA1={commit[:12]})")
        with c.cd(str(ROOT)):
            for command in commands:
                c.run(command, env=job_env, echo=True, pty=sys.stdout.isatty())
        timings.append((f"deploy-{env}", time.monotonic() - begin))
    print("\n| job | seconds |\n| --- | --- |")
    for job, seconds in timings:
        print(f"| {job} | {seconds:.0f} |")
    print(f"| pipeline | {time.monotonic() - started:.0f} |")


@task(kinds={"port": "port"}, help={"port": "Port on 127.0.0.1 (default 8000)."})
def serve(c, port=8000):
    """Run the sample app locally on sqlite: migrate, then Django's development server."""
    from shipyard import app

    python = app.ensure_venv()
    env = {"DEBUG": "1"}
    with c.cd(str(app.APP)):
        c.run(f"{python} manage.py migrate --noinput", env=env, echo=True)
        print(
            f"\nThe sample app: http://127.0.0.1:{port}/api/ (docs: /api/docs/, admin: /admin/)\n"
            'A user for it, in another terminal (README, "The sample app"):\n'
            "  cd app && DEBUG=1 DJANGO_SUPERUSER_PASSWORD=change-me-please .venv/bin/python "
            "manage.py createsuperuser --noinput --username ada --email ada@example.com\n",
            flush=True,
        )
        c.run(f"{python} manage.py runserver 127.0.0.1:{port}", env=env, pty=sys.stdout.isatty())


@task(
    kinds={"junit": "path"},
    name="test",
    help={"junit": "Also write JUnit XML results into this folder (CI)."},
)
def app_test(c, junit=""):
    """Run the sample app's tests (sqlite; DATABASE_URL runs them on PostgreSQL or MariaDB)."""
    from shipyard import app

    python = app.ensure_venv()
    with c.cd(str(app.APP)):
        c.run(f"{python} -m pytest -q{_junit(junit, 'app')}", echo=True)


@task()
def deps(c):
    """Install the system packages the app's requirements build from (mysqlclient's headers)."""
    from shipyard import app

    app.ensure_build_packages()


db = Collection("db", backup, restore)
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
    lint,
    test,
    bench,
    db,
    app_,
)
ns.add_task(images_, name="images")
