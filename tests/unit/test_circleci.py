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
from shipyard import ROOT, images

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
    ("roles", "role", tasks.ROLES),  # the postgresql and mysql roles: both engines
    ("roles", "os", list(images.SUPPORTED)),
])  # fmt: skip
def test_the_matrices_cover_every_engine_role_and_platform(job, parameter, values):
    matrix = _invocations()[job]["matrix"]["parameters"]
    assert sorted(matrix[parameter]) == sorted(values)


def test_the_app_tests_run_beside_each_engines_service_container():
    for engine, image in (("postgresql", "cimg/postgres"), ("mariadb", "cimg/mariadb")):
        images = [c["image"] for c in PIPELINE["executors"][engine]["docker"]]
        assert images[0].startswith("cimg/python") and images[1].startswith(image)
