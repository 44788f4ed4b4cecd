"""The CircleCI pipeline (.circleci/config.yml): valid against CircleCI's published schema, and
shaped as the README says (every step a Shipyard task; deploys from main only, after the tests;
production after the approval)."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import tasks
from shipyard import ROOT, images, suite

CONFIG = ROOT / ".circleci" / "config.yml"
PIPELINE = yaml.safe_load(CONFIG.read_text())
WORKFLOW = PIPELINE["workflows"]["deliver"]["jobs"]
TEST_JOBS = {"lint", "unit", "app-tests", "roles", "e2e"}


def _invocations() -> dict[str, dict]:
    """Each workflow entry by its name (a job's `name:`, else the job itself)."""
    found = {}
    for entry in WORKFLOW:
        job, params = next(iter(entry.items())) if isinstance(entry, dict) else (entry, {})
        params = params or {}
        found[params.get("name", job)] = {"job": job, **params}
    return found


def _run_steps() -> list[str]:
    steps = [s for job in PIPELINE["jobs"].values() for s in job["steps"]]
    steps += [s for cmd in PIPELINE["commands"].values() for s in cmd["steps"]]
    runs = [s["run"] for s in steps if isinstance(s, dict) and "run" in s]
    return [r if isinstance(r, str) else r["command"] for r in runs]


def test_the_config_is_valid_against_circlecis_schema():
    check = Path(sys.executable).parent / "check-jsonschema"
    proc = subprocess.run(
        [str(check), "--builtin-schema", "vendor.circle-ci", str(CONFIG)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_schema_check_catches_a_broken_config(tmp_path):
    """The check above can fail: a job with no steps is refused."""
    broken = tmp_path / "config.yml"
    broken.write_text(CONFIG.read_text().replace("steps:", "stepz:", 1))
    check = Path(sys.executable).parent / "check-jsonschema"
    proc = subprocess.run([str(check), "--builtin-schema", "vendor.circle-ci", str(broken)],
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode != 0


def test_every_run_step_calls_an_existing_shipyard_task():
    known = set(tasks.ns.task_names)
    commands = [
        line.strip()
        for run in _run_steps()
        for line in run.splitlines()
        if line.strip() and not line.strip().startswith(("set ", "#"))
    ]
    assert commands
    for command in commands:
        words = shlex.split(re.sub(r"<<[^>]*>>", "X", command.split("|")[0]))
        if words[0] == "sudo":
            words = words[1:]
        assert words[0] == "./shipyard", f"a step runs something else than a task: {command}"
        assert words[1] in known or words[1] == "--list", f"no task {words[1]}: {command}"


def test_deploys_run_from_main_only_after_every_test_job():
    jobs = _invocations()
    for name in ("deploy-staging", "hold", "deploy-production"):
        assert jobs[name]["filters"] == {"branches": {"only": "main"}}, name
    assert set(jobs["deploy-staging"]["requires"]) == TEST_JOBS
    assert set(jobs) >= TEST_JOBS


def test_production_waits_for_the_approval_after_staging():
    jobs = _invocations()
    assert jobs["hold"]["type"] == "approval"
    assert jobs["hold"]["requires"] == ["deploy-staging"]
    assert jobs["deploy-production"]["requires"] == ["hold"]
    assert jobs["deploy-production"]["env"] == "production"
    assert jobs["deploy-staging"]["env"] == "staging"


def test_deploys_of_one_environment_never_overlap_and_use_the_secrets_context():
    jobs = _invocations()
    groups = {jobs[n]["serial-group"] for n in ("deploy-staging", "deploy-production")}
    assert len(groups) == 2
    assert all(
        jobs[n]["context"] == "shipyard-deploy" for n in ("deploy-staging", "deploy-production")
    )


def test_the_deploy_job_deploys_the_built_commit_and_smoke_tests_it():
    runs = "\n".join(_run_steps())
    assert '--ref "$CIRCLE_SHA1"' in runs
    assert '--commit "$CIRCLE_SHA1"' in runs
    steps = PIPELINE["jobs"]["deploy"]["steps"]
    assert any("add_ssh_keys" in s for s in steps if isinstance(s, dict))


@pytest.mark.parametrize(("job", "parameter", "values"), [
    ("app-tests", "engine", ["postgresql", "mariadb"]),
    ("roles", "role", suite.ROLES),  # the postgresql and mysql roles: both engines
    ("roles", "os", list(images.SUPPORTED)),
])  # fmt: skip
def test_the_matrices_cover_every_engine_role_and_platform(job, parameter, values):
    matrix = _invocations()[job]["matrix"]["parameters"]
    assert sorted(matrix[parameter]) == sorted(values)


def test_the_app_tests_run_beside_each_engines_service_container():
    for engine, image in (("postgresql", "cimg/postgres"), ("mariadb", "cimg/mariadb")):
        images = [c["image"] for c in PIPELINE["executors"][engine]["docker"]]
        assert images[0].startswith("cimg/python") and images[1].startswith(image)


# ---- what each job's executor has, against what its commands need ------------------------------
# The python3 of CircleCI's machine images (their release notes; `python3 --version` there).
MACHINE_PYTHON = {"ubuntu-2004": (3, 8), "ubuntu-2204": (3, 10), "ubuntu-2404": (3, 12)}
# ansible-core's own floor (its package metadata: Requires-Python), which ./shipyard checks too.
CONTROLLER_PYTHON = (3, 11)


def _executors_of(job: str) -> list[dict]:
    """The executors a job runs on: its own, or each one a matrix gives its executor parameter."""
    name = PIPELINE["jobs"][job]["executor"]
    if name.startswith("<<"):
        parameter = re.search(r"parameters\.([\w-]+)", name).group(1)
        names = _invocations()[job]["matrix"]["parameters"][parameter]
    else:
        names = [name]
    return [PIPELINE["executors"][n] for n in names]


def _job_steps(job: str) -> list[str]:
    return [
        s["run"] if isinstance(s["run"], str) else s["run"]["command"]
        for s in PIPELINE["jobs"][job]["steps"]
        if isinstance(s, dict) and "run" in s
    ]


def test_every_machine_executor_has_a_python_the_controller_supports():
    machines = {
        n: e["machine"]["image"] for n, e in PIPELINE["executors"].items() if "machine" in e
    }
    assert machines, "the roles and e2e jobs need a machine executor (Docker)"
    for name, image in machines.items():
        release = image.split(":")[0]
        assert release in MACHINE_PYTHON, f"{name}: add {release}'s python3 to MACHINE_PYTHON"
        assert MACHINE_PYTHON[release] >= CONTROLLER_PYTHON, (
            f"executor {name} ({image}) has Python {MACHINE_PYTHON[release]}: ansible-core 2.19"
            f" needs {CONTROLLER_PYTHON} or newer"
        )


def test_docker_executors_run_a_python_the_controller_supports():
    for name, executor in PIPELINE["executors"].items():
        if "docker" in executor:
            image = executor["docker"][0]["image"]
            version = tuple(int(x) for x in image.split(":")[1].split(".")[:2])
            assert version >= CONTROLLER_PYTHON, f"{name}: {image}"


def test_a_job_that_builds_mysqlclient_installs_its_headers_first(monkeypatch):
    """cimg/python has no MySQL headers nor pkg-config: pip's build of mysqlclient failed."""
    from shipyard import app

    checked = 0
    for job in PIPELINE["jobs"]:
        if not any("app.test" in run for run in _job_steps(job)):
            continue
        for executor in _executors_of(job):
            url = executor["docker"][0].get("environment", {}).get("DATABASE_URL", "")
            monkeypatch.setenv("DATABASE_URL", url)
            needed = app.build_packages()
            if not url.startswith("mysql"):
                assert needed == []
                continue
            assert {"pkg-config", "default-libmysqlclient-dev"} <= set(needed)
            runs = _job_steps(job)
            deps = [i for i, r in enumerate(runs) if r.strip() == "./shipyard app.deps"]
            first_build = next(i for i, r in enumerate(runs) if "app.test" in r)
            assert deps and deps[0] < first_build, f"{job}: install the headers before app.test"
            checked += 1
    assert checked == 1  # the MariaDB app-tests job


def test_machine_jobs_build_and_use_the_toolkit_as_the_same_user():
    """A venv is bound to its interpreter: root's python3 under sudo is not the job user's."""
    for job, spec in PIPELINE["jobs"].items():
        runs = _job_steps(job)
        if not any(r.startswith("sudo ./shipyard") for r in runs):
            continue
        toolkit = next(s for s in spec["steps"] if s == "toolkit" or "toolkit" in s)
        assert isinstance(toolkit, dict) and toolkit["toolkit"] == {"sudo": True}, job
