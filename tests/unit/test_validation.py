"""Bad input is refused before Ansible connects to any host, with a message naming the variable.

The hosts are an unreachable loopback port: a host whose input passes every check goes on to
connect and is reported UNREACHABLE (proving the checks passed); a host with bad input must fail
in the first play and never be contacted. Every case is a host of one inventory, so one
`ansible-playbook` run checks them all (seconds, not minutes); cases about the whole run (groups,
tags) get runs of their own.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from shipyard import ROOT

PLAYBOOK = ROOT / "playbooks" / "provision.yml"
ANSIBLE = str(Path(sys.executable).parent / "ansible-playbook")
PASSWORD = "a-long-enough-test-password"
GOOD_USER = {"name": "reports", "password": PASSWORD, "databases": ["app"]}
UNREACHABLE = {
    "ansible_host": "127.0.0.1",
    "ansible_port": 1,
    "ansible_ssh_common_args": "-o ConnectTimeout=2",
    "vault_app_db_password": PASSWORD,
    # Many test hosts share the web group: as a fleet's would, their uploads need a shared mount.
    "django_app_shared_mount": "/mnt/shared",
}

# (case id, host variables, a fragment the message must contain). Grouped by class; the note of
# the input-safety issue counts them.
BAD = {
    "booleans": [
        ("bool-word", {"base_firewall_enabled": "maybe"}, "base_firewall_enabled"),
        ("bool-list", {"base_admin_passwordless_sudo": [True]}, "base_admin_passwordless_sudo"),
        ("bool-number", {"base_unattended_upgrades": "2"}, "base_unattended_upgrades"),
    ],
    "ports and numbers": [
        ("port-word", {"base_ssh_port": "twenty-two"}, "base_ssh_port"),
        ("port-zero", {"base_ssh_port": 0}, "base_ssh_port=0 is not a TCP port"),
        ("port-high", {"base_ssh_port": 70000}, "base_ssh_port=70000 is not a TCP port"),
        ("port-negative", {"base_ssh_port": -22}, "base_ssh_port=-22 is not a TCP port"),
        ("ports-zero", {"base_firewall_allowed_tcp_ports": [80, 0]}, "lists 0 is not a TCP port"),
        ("ports-high", {"base_firewall_allowed_tcp_ports": [65536]}, "lists 65536 is not a TCP"),
        ("ports-word", {"base_firewall_allowed_tcp_ports": ["http"]}, "base_firewall_allowed_tcp"),
        ("pg-port", {"postgresql_port": 0}, "postgresql_port=0 is not a TCP port"),
        ("my-port", {"db_engine": "mysql", "mysql_port": 99999}, "mysql_port=99999 is not a TCP"),
        ("buffers-neg", {"postgresql_shared_buffers_mb": -1}, "postgresql_shared_buffers_mb=-1"),
        ("buffers-word", {"postgresql_shared_buffers_mb": "lots"}, "postgresql_shared_buffers_mb"),
    ],
    "lists and mappings given as strings": [
        ("ports-csv", {"base_firewall_allowed_tcp_ports": "80,443"}, "must be a YAML list"),
        ("packages-str", {"base_packages": "htop"}, "base_packages='htop' must be a YAML list"),
        ("keys-str", {"base_admin_authorized_keys": "ssh-ed25519 AAAA"}, "must be a YAML list"),
        ("pyext-str", {"python_extra_packages": "libpq-dev"}, "python_extra_packages='libpq-dev'"),
        ("git-extra-list", {"git_config_extra": ["pull.rebase"]}, "git_config_extra"),
        ("tools-str", {"linters_python_tools": "ruff==0.1"}, "linters_python_tools='ruff==0.1'"),
        ("nets-str", {"postgresql_allowed_networks": "10.0.0.0/8"}, "postgresql_allowed_networks="),
        (
            "hosts-str",
            {"db_engine": "mysql", "mysql_allowed_hosts": "10.%"},
            "mysql_allowed_hosts=",
        ),
        ("cas-str", {"base_extra_ca_files": "/etc/ssl/ca.crt"}, "base_extra_ca_files='/etc/ssl"),
        ("pgusers-map", {"postgresql_users": {"name": "x"}}, "postgresql_users"),
    ],
    "addresses and networks": [
        ("net-no-prefix", {"postgresql_allowed_networks": ["10.0.0.0"]}, "lists 10.0.0.0, which"),
        ("net-octet", {"postgresql_allowed_networks": ["10.0.0.256/24"]}, "lists 10.0.0.256/24"),
        ("net-host-bits", {"postgresql_allowed_networks": ["10.0.0.1/8"]}, "lists 10.0.0.1/8"),
        ("net-prefix", {"postgresql_allowed_networks": ["10.0.0.0/33"]}, "lists 10.0.0.0/33"),
        ("net-v6-prefix", {"postgresql_allowed_networks": ["fd00::/129"]}, "lists fd00::/129"),
        ("net-word", {"postgresql_allowed_networks": ["anywhere"]}, "lists anywhere, which"),
        ("listen-port", {"postgresql_listen_addresses": ["127.0.0.1:5432"]}, "127.0.0.1:5432"),
        ("listen-net", {"postgresql_listen_addresses": ["10.0.0.0/8"]}, "lists 10.0.0.0/8: give"),
        ("listen-octet", {"postgresql_listen_addresses": ["300.1.1.1"]}, "lists 300.1.1.1: give"),
        ("bind-port", {"db_engine": "mysql", "mysql_bind_address": "127.0.0.1:3306"}, "mysql_bi"),
        ("bind-net", {"db_engine": "mysql", "mysql_bind_address": "0.0.0.0/0"}, "0.0.0.0/0 must"),
        ("bind-name", {"db_engine": "mysql", "mysql_bind_address": "localhostt"}, "localhostt"),
        ("hosts-any", {"db_engine": "mysql", "mysql_allowed_hosts": ["%"]}, "'%' (anyone)"),
    ],
    "anchored names (trailing newline)": [
        ("nl-user", {"base_admin_user": "admin\n"}, "base_admin_user"),
        ("nl-db", {"app_db_name": "app\n"}, "app_db_name"),
        ("nl-tz", {"base_timezone": "Etc/UTC\n"}, "base_timezone"),
        ("nl-locale", {"base_locale": "en_US.UTF-8\n"}, "base_locale"),
        ("nl-branch", {"git_default_branch": "main\n"}, "git_default_branch"),
        ("nl-tool", {"linters_python_tools": ["ruff==0.1\n"]}, "linters_python_tools"),
        ("nl-version", {"postgresql_version": "15\n"}, "postgresql_version"),
        ("nl-name", {"git_user_name": "Ada\nLovelace"}, "git_user_name"),
    ],
    "formats and names": [
        ("tz", {"base_timezone": "Europe/Atlantis"}, "base_timezone=Europe/Atlantis is not a tim"),
        ("locale", {"base_locale": "english"}, "base_locale=english is not a UTF-8 locale"),
        ("user-case", {"base_admin_user": "Admin"}, "base_admin_user=Admin must be"),
        ("user-space", {"base_admin_user": "ad min"}, "base_admin_user=ad min must be"),
        ("proxy-noscheme", {"base_apt_proxy": "cache:3142"}, "base_apt_proxy=cache:3142 must"),
        ("proxy-nohost", {"base_apt_proxy": "http://:3142"}, "base_apt_proxy=http://:3142 must"),
        ("proxy-ftp", {"base_apt_proxy": "ftp://cache"}, "base_apt_proxy=ftp://cache must"),
        ("package-shell", {"base_packages": ["htop; id"]}, "base_packages lists"),
        (
            "pyext-shell",
            {"python_extra_packages": ["libpq-dev && id"]},
            "python_extra_packages lis",
        ),
        ("email", {"git_user_email": "nobody"}, "git_user_email"),
        ("branch", {"git_default_branch": "-x"}, "git_default_branch"),
        ("unpinned", {"linters_python_tools": ["ruff"]}, "linters_python_tools must pin"),
        ("unpinned-range", {"linters_python_tools": ["ruff>=1"]}, "linters_python_tools must pin"),
        ("command-shell", {"linters_commands": ["ruff; id"]}, "linters_commands lists"),
        ("db-dash", {"app_db_name": "my-app"}, "app_db_name=my-app"),
        ("db-upper", {"app_db_user": "App"}, "app_db_user=App"),
        ("key-word", {"base_admin_authorized_keys": ["not a key"]}, "base_admin_authorized_keys"),
        ("key-empty", {"base_admin_authorized_keys": [""]}, "base_admin_authorized_keys has an"),
        ("ciphers-empty", {"base_ssh_ciphers": []}, "base_ssh_ciphers must list"),
        ("ciphers-csv", {"base_ssh_ciphers": ["aes128-ctr,aes256-ctr"]}, "base_ssh_ciphers must"),
        ("ca-missing", {"base_extra_ca_files": ["/nonexistent/ca.crt"]}, "/nonexistent/ca.crt, w"),
        ("pg-version", {"postgresql_version": "15.4"}, "postgresql_version=15.4 must be"),
        ("pg-version-word", {"postgresql_version": "latest"}, "postgresql_version=latest must"),
    ],
    "system accounts": [
        ("admin-root", {"base_admin_user": "root"}, "base_admin_user=root must be"),
        ("admin-www", {"base_admin_user": "www-data"}, "base_admin_user=www-data must be"),
        ("admin-postgres", {"base_admin_user": "postgres"}, "base_admin_user=postgres must be"),
        ("admin-nobody", {"base_admin_user": "nobody"}, "base_admin_user=nobody must be"),
        ("group-sudo", {"base_ssh_login_group": "sudo"}, "the login group cannot be one of the"),
        ("group-shadow", {"base_ssh_login_group": "shadow"}, "the login group cannot be one of"),
        ("group-docker", {"base_ssh_login_group": "docker"}, "the login group cannot be one of"),
        ("login-postgres", {"base_ssh_login_users": ["postgres"]}, "no system account can be a"),
    ],
    "folders that must be the role's own": [
        ("venv-usr", {"linters_venv": "/usr"}, "linters_venv=/usr must be an absolute folder"),
        ("venv-usr-local", {"linters_venv": "/usr/local/"}, "linters_venv=/usr/local/ must be"),
        ("venv-etc", {"linters_venv": "/etc/linters"}, "linters_venv=/etc/linters must be"),
        ("venv-relative", {"linters_venv": "opt/linters"}, "linters_venv=opt/linters must be"),
        ("venv-dotdot", {"linters_venv": "/opt/x/../../usr"}, "linters_venv=/opt/x/../../usr"),
        ("bin-proc", {"linters_bin_dir": "/proc/self"}, "linters_bin_dir=/proc/self must be"),
    ],
    "reserved database names": [
        ("pg-user-postgres", {"app_db_user": "postgres"}, "app_db_user=postgres: database"),
        ("pg-db-postgres", {"app_db_name": "postgres"}, "app_db_name=postgres: database"),
        ("pg-db-template", {"app_db_name": "template1"}, "app_db_name=template1: database"),
        ("pg-user-public", {"app_db_user": "public"}, "app_db_user=public: database"),
        ("pg-user-builtin", {"app_db_user": "pg_monitor"}, "app_db_user=pg_monitor: database"),
        (
            "pg-extra-admin",
            {"postgresql_users": [{**GOOD_USER, "name": "postgres"}]},
            "postgresql_users=postgres",
        ),
        (
            "pg-extra-db",
            {"postgresql_databases": [{"name": "template0", "owner": "app"}]},
            "postgresql_databases=template0",
        ),
        (
            "pg-extra-grant",
            {"postgresql_users": [{**GOOD_USER, "databases": ["postgres"]}]},
            "postgresql_users databases=postgres",
        ),
        (
            "pg-extra-is-app",
            {"postgresql_users": [{**GOOD_USER, "name": "app"}]},
            "postgresql_users lists app",
        ),
        (
            "pg-extra-short",
            {"postgresql_users": [{**GOOD_USER, "password": "short"}]},
            "postgresql_users lists reports",
        ),
        ("my-db-mysql", {"db_engine": "mysql", "app_db_name": "mysql"}, "app_db_name=mysql"),
        ("my-user-root", {"db_engine": "mysql", "app_db_user": "root"}, "app_db_user=root"),
        ("my-db-schema", {"db_engine": "mysql", "app_db_name": "information_schema"}, "=informa"),
        ("my-db-sys", {"db_engine": "mysql", "app_db_name": "sys"}, "app_db_name=sys"),
        (
            "my-extra-root",
            {"db_engine": "mysql", "mysql_users": [{**GOOD_USER, "name": "root"}]},
            "mysql_users=root",
        ),
        (
            "my-extra-grant",
            {"db_engine": "mysql", "mysql_users": [{**GOOD_USER, "databases": ["mysql"]}]},
            "mysql_users databases=mysql",
        ),
        (
            "my-extra-db",
            {"db_engine": "mysql", "mysql_databases": [{"name": "performance_schema"}]},
            "mysql_databases=performance_schema",
        ),
    ],
    "unknown variables (typos)": [
        ("typo-engine", {"db_engin": "mysql"}, "db_engin is not an input of any Shipyard role (d"),
        ("typo-tz", {"base_timezon": "Etc/UTC"}, "base_timezon is not an input"),
        ("typo-port", {"postgresql_prot": 5433}, "postgresql_prot is not an input"),
        ("typo-bind", {"mysql_bind_adress": "0.0.0.0"}, "(did you mean mysql_bind_address?)"),
        ("typo-secret", {"app_db_pasword": "x" * 20}, "(did you mean app_db_password?)"),
        ("typo-unrelated", {"linters_everything": True}, "linters_everything is not an input"),
    ],
    "engine and secrets": [
        ("engine-oracle", {"db_engine": "oracle"}, "db_engine=oracle is not an engine"),
        ("engine-case", {"db_engine": "MySQL"}, "db_engine=MySQL is not an engine"),
        (
            "password-short",
            {"vault_app_db_password": "tiny-pw-42"},
            "app_db_password is empty or sho",
        ),
        ("password-empty", {"vault_app_db_password": ""}, "app_db_password is empty or shorter"),
        ("password-newline", {"vault_app_db_password": f"{PASSWORD}\nx"}, "app_db_password=<hid"),
    ],
}
CASES = [(f"{cls}/{case}", v, m) for cls, rows in BAD.items() for case, v, m in rows]

# Values at the edge of what is allowed: each must pass every check.
GOOD = {
    "port-max": {"base_ssh_port": 65535, "base_firewall_allowed_tcp_ports": [1, 65535]},
    "port-str": {"base_ssh_port": "2222"},
    "long-names": {"app_db_name": "a" * 63, "app_db_user": "u" * 63, "base_admin_user": "d" * 32},
    "bool-strings": {
        "base_unattended_upgrades": "false",
        "base_admin_passwordless_sudo": "no",
        "base_firewall_enabled": "False",
    },
    "networks": {
        "postgresql_allowed_networks": ["10.0.0.0/8", "192.168.1.7/32", "fd00::/8"],
        "postgresql_listen_addresses": ["localhost", "10.1.2.3", "::1"],
    },
    "mysql": {
        "db_engine": "mysql",
        "mysql_bind_address": "0.0.0.0",
        "mysql_allowed_hosts": ["10.0.0.%", "app.example.com"],
        "mysql_users": [GOOD_USER],
    },
    "extras": {
        "postgresql_users": [GOOD_USER],
        "postgresql_databases": [{"name": "reports", "owner": "reports"}],
        "postgresql_version": "17",
        "postgresql_shared_buffers_mb": 0,
        "base_timezone": "America/Argentina/Buenos_Aires",
        "base_locale": "C.UTF-8",
        "git_config_extra": {"pull.rebase": "true"},
    },
}


WEB_HOST = {"vault_django_app_secret_key": "s" * 40}
# The inputs of the roles only web hosts get (playbooks/group_vars/all/roles.yml).
WEB_ROLE_INPUTS = ("python_", "git_", "linters_", "nginx_", "django_app_")


def host_name(case: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", case.lower()).strip("-")


def run_playbook(
    tmp_path: Path,
    hosts: dict,
    args: list[str] = (),
    groups=("db",),
    facts: Path | None = None,
    children: dict | None = None,
) -> str:
    """ansible-playbook over the shared layer and an inventory of `hosts` (name: vars), every
    host in `groups`, or with the `children` groups given whole."""
    children = children or {g: {"hosts": hosts} for g in groups}
    inventory = {"all": {"vars": UNREACHABLE, "children": children}}
    if not groups:  # hosts in no group at all
        inventory["all"]["hosts"] = hosts
    (tmp_path / "hosts.yml").write_text(json.dumps(inventory))
    env = {
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
        # One JSON line per failure for failures() to read (ansible.cfg shows YAML to people).
        "ANSIBLE_CALLBACK_RESULT_FORMAT": "json",
        "PATH": "/usr/bin:/bin",
        # A fact cache of the test's own: the checks remember inputs that passed there.
        "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(facts or tmp_path / "facts"),
    }
    proc = subprocess.run(
        [ANSIBLE, "-i", str(ROOT / "inventory" / "shared"), "-i", str(tmp_path), str(PLAYBOOK),
         *args],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=1200,  # a hang guard only
    )  # fmt: skip
    return proc.stdout + proc.stderr


def failures(output: str) -> dict[str, str]:
    """host -> the message of its failed task."""
    found = {}
    pattern = r"^(?:fatal: \[(\S+)\]: FAILED!|failed: \[(\S+)\] \(item=.*?\)) => (\{.*\})$"
    for host, loop_host, payload in re.findall(pattern, output, re.M):
        found.setdefault(host or loop_host, json.loads(payload).get("msg", ""))
    return found


@pytest.fixture(scope="module")
def bad_run(tmp_path_factory):
    """One run with every bad case as a host, plus one good host the gate must hold back. A case
    of a web role (the developer's tools, the app) is a web host, the others db hosts: each host
    gets the roles whose input it breaks."""
    hosts = {host_name(case): {**WEB_HOST, **values} for case, values, _ in CASES}
    hosts["good-bystander"] = dict(WEB_HOST)
    web = {n for n, v in hosts.items() if any(k.startswith(WEB_ROLE_INPUTS) for k in v)}
    children = {
        "web": {"hosts": {n: v for n, v in hosts.items() if n in web}},
        "db": {"hosts": {n: v for n, v in hosts.items() if n not in web}},
    }
    return run_playbook(tmp_path_factory.mktemp("bad"), {}, children=children)


# One playbook run serves every test that reads it: under xdist (`inv test`) they go to one worker.
@pytest.mark.xdist_group("bad_run")
@pytest.mark.parametrize(("case", "values", "message"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_by_name_before_connecting(bad_run, case, values, message):
    msg = failures(bad_run).get(host_name(case))
    assert msg is not None, f"{case} was not refused"
    assert message in msg
    assert "Traceback" not in msg


@pytest.mark.xdist_group("bad_run")
def test_no_host_is_contacted_when_any_input_is_bad(bad_run):
    assert "UNREACHABLE" not in bad_run
    assert "Nothing was changed on any host: the inputs of" in bad_run
    # Its own input was fine: it is held back by the gate, not by a check of its own.
    assert failures(bad_run)["good-bystander"].startswith("Nothing was changed on any host")


@pytest.mark.xdist_group("bad_run")
def test_secrets_never_appear_in_the_messages(bad_run):
    assert "a-long-enough-test-password" not in bad_run
    assert "tiny-pw-42" not in bad_run


def test_there_are_at_least_sixty_bad_inputs():
    assert len(CASES) >= 60
    assert len({host_name(c) for c, _, _ in CASES}) == len(CASES)


def test_edge_values_pass_every_check(tmp_path):
    out = run_playbook(tmp_path, {host_name(k): v for k, v in GOOD.items()})
    assert failures(out) == {}, failures(out)
    for name in GOOD:
        assert f"fatal: [{host_name(name)}]: UNREACHABLE!" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-e", "base_firewall_enabled=maybe"], "base_firewall_enabled"),
        (["-e", "db_engin=mysql"], "db_engin is not an input of any Shipyard role"),
        (["-e", "base_ssh_port=0"], "base_ssh_port=0 is not a TCP port"),
        (
            ["--tags", "basee"],
            "--tags/--skip-tags basee: not a tag of this playbook; use backup, base,",
        ),
        (["--skip-tags", "apache"], "--tags/--skip-tags apache: not a tag"),
    ],
)
def test_bad_command_line_is_refused(tmp_path, args, message):
    out = run_playbook(tmp_path, {"h1": {}}, args)
    assert message in out
    assert "UNREACHABLE" not in out


def test_command_line_booleans_as_strings_pass(tmp_path):
    args = ["-e", "base_unattended_upgrades=false", "-e", "base_admin_passwordless_sudo=no"]
    args += ["-e", "base_firewall_enabled=false", "--tags", "base,database"]
    out = run_playbook(tmp_path, {"h1": {}}, args)
    assert failures(out) == {}
    assert "fatal: [h1]: UNREACHABLE!" in out


@pytest.mark.parametrize(
    ("groups", "message"),
    [
        (("webservers", "db"), "the group(s) webservers, which Shipyard does not provision"),
        (("web",), "The db group has no host"),
        ((), "belong to no group: put each under db, web, lb"),
    ],
)
def test_inventory_groups_must_be_the_known_ones(tmp_path, groups, message):
    out = run_playbook(tmp_path, {"h1": {}}, groups=groups)
    assert message in out
    assert "UNREACHABLE" not in out


# The app's name becomes a system user, a group, /srv/<name> and units <name>@.service: an
# account the system, the other roles or the connection rely on is refused before any host is
# contacted (a web host's run: these need the web group).
APP_NAMES = {
    "app-root": ({"django_app_name": "root"}, "django_app_name=root is an account"),
    "app-admin": ({"django_app_name": "admin"}, "django_app_name=admin is the admin user"),
    "app-admin-renamed": (
        {"django_app_name": "ops", "base_admin_user": "ops"},
        "django_app_name=ops is the admin user (base_admin_user)",
    ),
    "app-connecting": (
        {"django_app_name": "deploy", "ansible_user": "deploy"},
        "django_app_name=deploy is the user Ansible connects as",
    ),
    "app-postgres": ({"django_app_name": "postgres"}, "django_app_name=postgres is an account"),
    "app-mysql": ({"django_app_name": "mysql"}, "django_app_name=mysql is an account"),
    "app-www-data": ({"django_app_name": "www-data"}, "django_app_name=www-data is an account"),
    "app-nobody": ({"django_app_name": "nobody"}, "django_app_name=nobody is an account"),
    "app-unit-postgresql": ({"django_app_name": "postgresql"}, "or unit template"),
    "app-unit-user": ({"django_app_name": "user"}, "django_app_name=user is an account or unit"),
    "app-hosts": (
        {"django_app_hosts": ["https://app.example.com/"]},
        "which inventory/shared sets to django_app_hosts",
    ),
}


@pytest.fixture(scope="module")
def app_name_run(tmp_path_factory):
    hosts = {name: {**WEB_HOST, **values} for name, (values, _) in APP_NAMES.items()}
    hosts["good-web-host"] = dict(WEB_HOST)
    return run_playbook(tmp_path_factory.mktemp("names"), hosts, groups=("db", "web"))


@pytest.mark.xdist_group("app_name_run")
@pytest.mark.parametrize("case", APP_NAMES)
def test_an_app_name_that_is_an_account_shipyard_relies_on_is_refused(app_name_run, case):
    msg = failures(app_name_run).get(case)
    assert msg is not None, f"{case} was not refused"
    assert APP_NAMES[case][1] in msg
    assert "Choose a name of the app's own" in msg or "django_app_hosts" in msg


@pytest.mark.xdist_group("app_name_run")
def test_no_host_is_contacted_when_an_app_name_is_refused(app_name_run):
    assert "UNREACHABLE" not in app_name_run
    assert failures(app_name_run)["good-web-host"].startswith("Nothing was changed on any host")


def test_a_web_host_with_a_name_of_its_own_passes(tmp_path):
    out = run_playbook(tmp_path, {"web1": {**WEB_HOST, "django_app_name": "notes"}},
                       groups=("db", "web"))  # fmt: skip
    assert failures(out) == {}, failures(out)
    assert "fatal: [web1]: UNREACHABLE!" in out


FLEET = {
    "db": {"hosts": {"db1": {"private_address": "10.0.0.2"}}},
    "web": {"hosts": {"web1": {"private_address": "10.0.0.3"},
                      "web2": {"private_address": "10.0.0.4"}}},
    "lb": {"hosts": {"lb1": {"private_address": "10.0.0.5"}}},
}  # fmt: skip


def fleet_children(**changes) -> dict:
    """FLEET, every host with the web hosts' inputs, each named host's values changed."""
    children = json.loads(json.dumps(FLEET))
    for group in children.values():
        for name, values in group["hosts"].items():
            values.update(WEB_HOST, **changes.get(name, {}))
    return children


def test_a_fleets_shape_is_checked_before_any_host_is_touched(tmp_path):
    """A private address that is a name, and a balancer that is also one of several web hosts."""
    children = fleet_children(web2={"private_address": "web2.internal"})
    children["web"]["hosts"]["lb1"] = children["lb"]["hosts"]["lb1"]
    out = run_playbook(tmp_path, {}, children=children)
    assert (
        "each host's private_address (by default its ansible_host) is the IP address the others"
        " reach it on: web2 (web2.internal) is not an IP address"
    ) in out
    assert "The host(s) lb1 are in the lb and the web group while the environment has other" in out
    assert "UNREACHABLE" not in out


def test_several_web_hosts_with_shared_folders_need_a_shared_mount(tmp_path):
    out = run_playbook(tmp_path, {}, children=fleet_children(web1={"django_app_shared_mount": ""}))
    msg = failures(out).get("web1", "")
    assert "django_app_shared_dirs (media) with 2 web hosts" in msg, failures(out)
    assert "set django_app_shared_mount to that path" in msg
    assert "shared_dirs" not in failures(out).get("web2", ""), "web2 names its shared mount"


def test_role_map_is_read_from_one_place():
    mapping = yaml.safe_load((ROOT / "playbooks/group_vars/all/roles.yml").read_text())
    assert set(mapping["shipyard_roles"]) == {"all", "db", "web", "lb", "backup"}


def test_inputs_that_passed_are_checked_again_once_they_change(tmp_path):
    """A re-run with the inputs and rules of a run that passed skips the checks (the verdict is
    known); any change to an input brings them back."""
    facts = tmp_path / "facts"
    first = run_playbook(tmp_path, {"h1": {"base_ssh_port": 22}}, facts=facts)
    assert "Check real types, ports, sizes and one-line strings of" in first
    again = run_playbook(tmp_path, {"h1": {"base_ssh_port": 22}}, facts=facts)
    assert "Check real types, ports, sizes and one-line strings of" not in again
    assert "fatal: [h1]: UNREACHABLE!" in again
    changed = run_playbook(tmp_path, {"h1": {"base_ssh_port": 0}}, facts=facts)
    assert failures(changed)["h1"].startswith("base_ssh_port=0 is not a TCP port")


# ---- a fleet: hosts with equal inputs are checked once -----------------------------------------
def hosts_checked(output: str) -> set[str]:
    """The hosts a role's own checks ran on (the results of base's timezone check)."""
    block = output.split("TASK [base : Check base_timezone]", 1)[1].split("\nTASK [", 1)[0]
    return set(re.findall(r"^(?:ok|fatal|failed|skipping): \[([^\]]+)\]", block, re.M))


def test_web_hosts_with_equal_inputs_are_checked_once_for_all(tmp_path):
    hosts = {f"web{i}": dict(WEB_HOST) for i in range(6)}
    hosts["odd"] = {**WEB_HOST, "base_ssh_port": 2222}
    out = run_playbook(tmp_path, hosts, groups=("db", "web"))
    assert hosts_checked(out) == {"web0", "odd"}, "one check per set of equal inputs"
    assert failures(out) == {}, "every host passed its checks (and then was unreachable)"
    assert out.count("UNREACHABLE!") == 7


def test_a_host_whose_equal_inputs_were_refused_is_refused_too(tmp_path):
    bad = {**WEB_HOST, "base_ssh_port": 0}
    out = run_playbook(tmp_path, {"web0": bad, "web1": bad, "web2": dict(WEB_HOST)},
                       groups=("db", "web"))  # fmt: skip
    found = failures(out)
    assert "base_ssh_port=0 is not a TCP port" in found["web0"]
    assert found["web1"].startswith("The inputs of web1 are those of web0, which were refused")
    assert found["web2"].startswith("Nothing was changed on any host")
    assert "UNREACHABLE" not in out


def test_secrets_of_equal_length_still_tell_hosts_apart(tmp_path):
    """The fact cache keeps a secret's length only; the hosts of one run are told apart by the
    whole value: a secret with a newline is refused beside one of the same length that passes."""
    # Equal lengths in the database URL too (urlencoded: %0A and %20).
    hosts = {"db0": {"vault_app_db_password": f"{PASSWORD}\nx"},
             "db1": {"vault_app_db_password": f"{PASSWORD} x"}}  # fmt: skip
    found = failures(run_playbook(tmp_path, hosts))
    assert "app_db_password=<hid" in found["db0"]
    assert found["db1"].startswith("Nothing was changed on any host")
