"""What the PostgreSQL role must change, from one read of the server's roles, databases and CONNECT
grants, as a Jinja filter.

roles/postgresql/tasks/databases.yml reads them all in one `psql` call; the modules that create
roles and databases and grant or revoke CONNECT then run only for the items this filter names, so
a converged server pays one call instead of one per role, database and grant. A password is "the
same" only when it verifies against the stored SCRAM secret (what PostgreSQL itself checks at
login); anything else (an MD5 hash, no password, a non-ASCII password that SASLprep might change)
counts as different, and the module decides. Pure: unit-tested in
tests/unit/test_postgresql_state.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

# The attributes the role sets (role_attr_flags): NOSUPERUSER, NOCREATEROLE, and CREATEDB only for
# a developer (Django's test runner creates test databases).
APP_ROLE = {"super": False, "createdb": False, "createrole": False}
DEVELOPER_ROLE = {"super": False, "createdb": True, "createrole": False}


def scram_verifies(secret: str | None, password: str) -> bool:
    """Whether `password` matches a stored secret, `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:
    <ServerKey>` (RFC 5802/7677: the keys PostgreSQL derives with PBKDF2-HMAC-SHA-256)."""
    if not secret or not secret.startswith("SCRAM-SHA-256$") or not password.isascii():
        return False
    try:
        _, params, keys = secret.split("$")
        iterations, salt = params.split(":")
        stored_key, server_key = (base64.b64decode(k) for k in keys.split(":"))
        salted = hashlib.pbkdf2_hmac(
            "sha256", password.encode(), base64.b64decode(salt), int(iterations)
        )
    except ValueError:
        return False
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    server = hmac.new(salted, b"Server Key", "sha256").digest()
    return hmac.compare_digest(
        hashlib.sha256(client_key).digest(), stored_key
    ) and hmac.compare_digest(server, server_key)


def _role_differs(found: dict | None, wanted: dict, password: str | None) -> bool:
    if found is None or any(found[key] != value for key, value in wanted.items()):
        return True
    return password is not None and not scram_verifies(found.get("password"), password)


def postgresql_todo(
    probe: str | dict | None, users: list, databases: list, developer: str = ""
) -> dict:
    """The items to hand to the modules: `users` and `databases` (names), `public` (databases where
    PUBLIC may still connect), `grants` ([user, database] pairs missing CONNECT), and whether the
    developer's role and database need the module. With no probe answer (the server is not there
    yet, or --check on a fresh host) every item is named: the modules decide, as before."""
    if isinstance(probe, str):
        probe = json.loads(probe) if probe.strip() else None
    pairs = [[u["name"], db] for u in users for db in u.get("databases", [])]
    if not probe:
        names = [d["name"] for d in databases]
        return {"users": [u["name"] for u in users], "databases": names, "public": names,
                "grants": pairs, "developer_role": bool(developer),
                "developer_database": bool(developer)}  # fmt: skip
    roles, dbs = probe.get("roles") or {}, probe.get("databases") or {}

    def db_differs(name: str, owner: str | None) -> bool:
        return name not in dbs or (owner is not None and dbs[name]["owner"] != owner)

    def connect(name: str, missing: list | None = None) -> list:
        """Who may connect to a database (`missing` when there is no such database yet)."""
        return dbs[name]["connect"] if name in dbs else (missing or [])

    return {
        "users": [u["name"] for u in users
                  if _role_differs(roles.get(u["name"]), APP_ROLE, u.get("password"))],
        "databases": [d["name"] for d in databases if db_differs(d["name"], d.get("owner"))],
        "public": [d["name"] for d in databases if "PUBLIC" in connect(d["name"], ["PUBLIC"])],
        "grants": [[user, db] for user, db in pairs if user not in connect(db)],
        "developer_role": bool(developer)
        and _role_differs(roles.get(developer), DEVELOPER_ROLE, None),
        "developer_database": bool(developer) and db_differs(developer, developer),
    }  # fmt: skip


class FilterModule:
    def filters(self):
        return {"shipyard_postgresql_todo": postgresql_todo}
