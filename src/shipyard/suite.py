"""The test suite (`inv test`): its tiers in order, cheapest first, and what each needs.

lint (yamllint, ansible-lint, ruff) -> unit (pure logic and the input checks, no box) -> app (the
sample app's tests) -> roles (a Molecule scenario per role, Debian 12 and 13) -> e2e (real boxes
driven through the `inv` commands users type). The CircleCI jobs run the same tiers one by one.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from . import ROOT, app, host, images
from .shell import run

SUITES = ("lint", "unit", "app", "roles", "e2e")
ROLES = sorted(p.parent.parent.name for p in (ROOT / "roles").glob("*/molecule/default"))


def lint() -> None:
    """yamllint, ansible-lint (production profile), ruff (every Python file, with or without the
    .py suffix: pyproject.toml's extend-include)."""
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")}
    for argv in (
        ["yamllint", "--strict", "."],
        ["ansible-lint"],
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
    ):
        run(*argv, echo=True, capture=False, cwd=ROOT, env=env)


def junit_option(folder: str, suite: str) -> list[str]:
    """pytest's option for JUnit XML results in `folder` (CircleCI shows them), or nothing."""
    if not folder:
        return []
    path = Path(folder).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return [f"--junit-xml={path / f'{suite}.xml'}"]


def app_tests(junit: str = "") -> None:
    python = app.ensure_venv()
    run(str(python), "-m", "pytest", "-q", *junit_option(junit, "app"), echo=True, capture=False,
        cwd=app.APP)  # fmt: skip


def boxes_env() -> dict[str, str]:
    """Docker, the base images and the apt cache ready; the environment Molecule and pytest need."""
    host.ensure_docker()
    host.ensure_apt_cache()
    for os_ in images.SUPPORTED.values():
        images.ensure_image(os_)
    return {**os.environ, "SHIPYARD_APT_PROXY": host.apt_proxy_for_boxes(),
            "ANSIBLE_FORCE_COLOR": "1"}  # fmt: skip


def run_suites(wanted: list[str], role: str = "", os_name: str = "", junit: str = "") -> None:
    """Run the suites in `wanted` (names from SUITES), in SUITES' order."""
    python = sys.executable
    if "lint" in wanted:
        lint()
    if "unit" in wanted:
        run(python, "-m", "pytest", "-q", "tests/unit", *junit_option(junit, "unit"), echo=True,
            capture=False, cwd=ROOT)  # fmt: skip
    if "app" in wanted:
        app_tests(junit)
    if not {"roles", "e2e"} & set(wanted):
        return
    env = boxes_env()
    if "roles" in wanted:
        platform = ["--platform-name", os_name] if os_name else []
        for name in [role] if role else ROLES:
            molecule = str(Path(python).parent / "molecule")
            run(molecule, "test", *platform, echo=True, capture=False, env=env,
                cwd=ROOT / "roles" / name)  # fmt: skip
    if "e2e" in wanted:
        # --durations: where the slowest tier's time goes, in every run's log (CI's too).
        run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--durations=30", "tests/e2e",
            *junit_option(junit, "e2e"), echo=True, capture=False, env=env, cwd=ROOT)  # fmt: skip
