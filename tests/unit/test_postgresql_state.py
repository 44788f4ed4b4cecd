"""plugins/filter/shipyard_postgresql.py: what the PostgreSQL role hands to its modules after one
read of the server. An item it leaves out is never changed, so a wrong "same" would leave a server
unconverged (a role without its password, a database PUBLIC can connect to): each case is checked
both ways. The SCRAM secret below was made by PostgreSQL 15 (`CREATE ROLE ... PASSWORD`)."""

from __future__ import annotations

import importlib.util
import json

import pytest

from shipyard import ROOT

_spec = importlib.util.spec_from_file_location(
    "shipyard_postgresql", ROOT / "plugins" / "filter" / "shipyard_postgresql.py"
)
pg = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pg)

SECRET = (
    "SCRAM-SHA-256$4096:JOezM/3Nt+WR5lqpYf5KRQ==$1Tb9te2VtgywfbZjEnny6+HLLhdL0HCk7B47tuA8nqg="
    ":YwfsJakfP+ZPTC8E8+0If+if/3KlDjKnyD4FpRiu0mw="
)
USERS = [{"name": "app", "password": "correct horse", "databases": ["app"]}]
DATABASES = [{"name": "app", "owner": "app"}]
ROLE = {"super": False, "createdb": False, "createrole": False, "password": SECRET}


def converged() -> dict:
    return {
        "roles": {"app": dict(ROLE), "dev": {**ROLE, "createdb": True, "password": None}},
        "databases": {"app": {"owner": "app", "connect": ["app"]},
                      "dev": {"owner": "dev", "connect": ["PUBLIC", "dev"]}},
    }  # fmt: skip


def todo(state, developer="dev") -> dict:
    return pg.postgresql_todo(json.dumps(state), USERS, DATABASES, developer)


NOTHING = {"users": [], "databases": [], "public": [], "grants": [],
           "developer_role": False, "developer_database": False}  # fmt: skip


def test_a_converged_server_needs_nothing():
    assert todo(converged()) == NOTHING


@pytest.mark.parametrize(
    ("password", "verifies"),
    [("correct horse", True), ("correct horsf", False), ("", False), ("corrèct horse", False)],
)
def test_a_password_is_the_same_only_when_it_verifies_against_the_scram_secret(password, verifies):
    assert pg.scram_verifies(SECRET, password) is verifies


@pytest.mark.parametrize("secret", [None, "", "md5" + "0" * 32, "SCRAM-SHA-256$bad", SECRET[:-4]])
def test_an_md5_missing_or_malformed_secret_never_verifies(secret):
    assert pg.scram_verifies(secret, "correct horse") is False


def change(path: str, value) -> dict:
    state = converged()
    *keys, last = path.split(".")
    target = state
    for key in keys:
        target = target[key]
    if value is KeyError:
        del target[last]
    else:
        target[last] = value
    return state


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("roles.app", KeyError, {"users": ["app"]}),
        ("roles.app.password", SECRET.replace("1Tb9", "1Tb8"), {"users": ["app"]}),
        ("roles.app.super", True, {"users": ["app"]}),
        ("roles.app.createdb", True, {"users": ["app"]}),
        ("roles.app.createrole", True, {"users": ["app"]}),
        (
            "databases.app",
            KeyError,
            {"databases": ["app"], "public": ["app"], "grants": [["app", "app"]]},
        ),
        ("databases.app.owner", "postgres", {"databases": ["app"]}),
        ("databases.app.connect", ["PUBLIC", "app"], {"public": ["app"]}),
        ("databases.app.connect", [], {"grants": [["app", "app"]]}),
        ("roles.dev", KeyError, {"developer_role": True}),
        ("roles.dev.createdb", False, {"developer_role": True}),
        ("databases.dev", KeyError, {"developer_database": True}),
        ("databases.dev.owner", "postgres", {"developer_database": True}),
    ],
)
def test_each_difference_is_handed_to_its_module(path, value, expected):
    assert todo(change(path, value)) == {**NOTHING, **expected}


def test_without_a_developer_nothing_of_theirs_is_done():
    state = converged()
    del state["roles"]["dev"], state["databases"]["dev"]
    assert todo(state, developer="") == NOTHING


@pytest.mark.parametrize("answer", ["", None])
def test_no_answer_from_the_server_hands_every_item_to_the_modules(answer):
    assert pg.postgresql_todo(answer, USERS, DATABASES, "dev") == {
        "users": ["app"], "databases": ["app"], "public": ["app"], "grants": [["app", "app"]],
        "developer_role": True, "developer_database": True,
    }  # fmt: skip
