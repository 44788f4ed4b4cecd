"""The backup tool's pure parts (roles/backup/files/shipyard-backups) and `inv status`'s backups
table: which backups retention keeps, the rows a dump holds, when status calls a side an error."""

from __future__ import annotations

import datetime as dt
import importlib.machinery
import importlib.util
import json

import pytest

from shipyard import ROOT, backups

TOOL = ROOT / "roles" / "backup" / "files" / "shipyard-backups"


@pytest.fixture(scope="module")
def tool():
    loader = importlib.machinery.SourceFileLoader("shipyard_backups", str(TOOL))
    spec = importlib.util.spec_from_loader("shipyard_backups", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)  # a Monday


def name(when: dt.datetime) -> str:
    return f"postgresql-app-{when.strftime('%Y%m%dT%H%M%SZ')}-20261130T010000Z-abc1234"


def test_names_carry_engine_database_time_and_release(tool):
    found = tool.parse_base(name(NOW))
    assert (found["engine"], found["database"], found["release"]) == (
        "postgresql", "app", "20261130T010000Z-abc1234",
    )  # fmt: skip
    assert found["taken"] == NOW
    assert tool.parse_base("postgresql-app-2026-x") is None
    assert tool.parse_base(name(NOW) + "\n") is None, "a trailing newline is not a name"


def test_retention_keeps_the_newest_by_count(tool):
    hourly = [name(NOW - dt.timedelta(hours=h)) for h in range(10)]
    assert tool.to_keep(hourly, {"last": 3}, NOW) == set(hourly[:3])
    assert tool.to_keep(hourly, {"last": 0}, NOW) == {hourly[0]}, "the newest is always kept"


def test_retention_keeps_one_a_day_and_one_a_week_by_age(tool):
    daily = [name(NOW - dt.timedelta(days=d)) for d in range(40)]
    kept = tool.to_keep(daily, {"last": 1, "daily": 7, "weekly": 4}, NOW)
    days = {tool.parse_base(b)["taken"].date() for b in kept}
    assert {NOW.date() - dt.timedelta(days=d) for d in range(7)} <= days, "the last 7 days"
    older = sorted(d for d in days if (NOW.date() - d).days >= 7)
    # One per ISO week for the 4 weeks counted back from this one (Nov 30, 23, 16, 9): the newest
    # of each, its Sunday; the two newer weeks' Sundays are among the last 7 days already.
    assert older == [dt.date(2026, 11, 15), dt.date(2026, 11, 22)], older
    assert len(kept) == 9
    # Two a day: only each day's newest counts for the daily rule.
    twice = [name(NOW - dt.timedelta(hours=12 * i)) for i in range(6)]
    assert len(tool.to_keep(twice, {"last": 1, "daily": 3}, NOW)) == 3


def test_a_postgresql_dumps_rows_are_its_copy_lines(tool):
    script = [
        "SET statement_timeout = 0;\n",
        "COPY public.notes_note (id, title) FROM stdin;\n", "1\tone\n", "2\ttwo\n", "\\.\n",
        'COPY public."Odd" (id) FROM stdin;\n', "\\.\n",
    ]  # fmt: skip
    assert tool.dump_rows("postgresql", script) == {"notes_note": 2, "Odd": 0}


def test_a_mariadb_dumps_rows_are_counted_through_its_quoted_strings(tool):
    script = [
        "CREATE TABLE `notes_note` (\n",
        "INSERT INTO `notes_note` VALUES (1,'a (b)','it''s'),(2,'x\\'),(y',NULL);\n",
        "INSERT INTO `notes_note` VALUES (3,'(',\"q)\");\n",
        "CREATE TABLE `empty` (\n",
    ]
    assert tool.dump_rows("mysql", script) == {"notes_note": 3, "empty": 0}
    # mariadb-dump (Debian's MariaDB): a row per line, the statement ending with `;`.
    script = [
        "CREATE TABLE `notes_note` (\n",
        "INSERT INTO `notes_note` VALUES\n", "(1,'a;'),\n", "(2,'x\\'),(y');\n",
        "INSERT INTO `other` VALUES\n", "(7);\n",
        "/*!40000 ALTER TABLE `notes_note` ENABLE KEYS */;\n",
    ]  # fmt: skip
    assert tool.dump_rows("mysql", script) == {"notes_note": 2, "other": 1}


def test_status_errors_on_a_failed_run_or_a_backup_older_than_the_schedule(tool):
    day = 86400
    assert tool.judge(3600, day, "") == ("ok", "")
    state, why = tool.judge(2 * day, day, "")
    assert state == "error" and "2d00h old" in why and "allows 1d12h" in why
    assert tool.judge(60, day, "the backup at X failed: boom")[0] == "error"
    assert tool.judge(None, day, "")[0] == "none yet"


def test_status_table_shows_each_side_and_an_errors_reason():
    sides = [
        {"side": "db", "name": "db1", "newest": "n1", "age_s": 75, "state": "ok", "why": ""},
        {"side": "copy", "name": "db1", "newest": "", "age_s": None, "state": "error",
         "why": "the backup at X failed"},
    ]  # fmt: skip
    text = backups.table({"db1": sides, "backup1": "no backups set up here"}, True)
    assert "1m15s" in text and "ERROR" in text and "the backup at X failed" in text
    assert "backup1 no backups set up here" in text
    assert "WARNING: no backup host" in backups.table({"db1": sides[:1]}, False)
    assert "WARNING" not in text


def test_an_answer_is_the_tools_json_or_why_there_is_none():
    class Result:
        def __init__(self, exited, stdout="", stderr=""):
            self.exited, self.stdout, self.stderr = exited, stdout, stderr

    assert backups.answer_of(Result(0, json.dumps([{"side": "db"}]))) == [{"side": "db"}]
    assert backups.answer_of(Result(1, stderr="sudo: x: command not found")) == backups.NOT_SET_UP
    assert backups.answer_of(OSError("reset")).startswith("the connection failed")
