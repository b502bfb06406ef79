"""Numbered migrations: names checked, applied once, a failing file leaves nothing behind."""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg
import pytest
from motcua_kit.migrate import KIT_MIGRATIONS, discover, migrate_service
from motcua_kit.testing import PG_URL, drop_database

REPO = Path(__file__).resolve().parents[2]


def write(directory: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")
    return directory


@pytest.mark.parametrize(
    "names",
    [
        ["1_short_number.sql"],
        ["001_Capitals.sql"],
        ["001-dash.sql"],
        ["001_first.sql", "003_gap.sql"],
        ["002_no_first.sql"],
        ["001_twice.sql", "001_again.sql"],
    ],
)
def test_bad_names_and_gaps_are_refused(tmp_path, names):
    write(tmp_path, {name: "SELECT 1;" for name in names})
    with pytest.raises(ValueError):
        discover("svc", tmp_path)


def test_good_names_are_ordered(tmp_path):
    write(tmp_path, {"002_second.sql": "", "001_first.sql": "", "notes.txt": ""})
    found = discover("svc", tmp_path)
    assert [(m.component, m.version, m.path.name) for m in found] == [
        ("svc", 1, "001_first.sql"),
        ("svc", 2, "002_second.sql"),
    ]


def test_the_repository_migrations_are_valid():
    assert discover("kit", KIT_MIGRATIONS)
    assert discover("intake", REPO / "services" / "intake" / "migrations")


@pytest.fixture
def database_url():
    url = f"{PG_URL}/motcua_test_migrate_{uuid.uuid4().hex[:8]}"
    yield url
    drop_database(url)


@pytest.mark.integration
def test_applied_once_then_nothing_to_do(tmp_path, database_url):
    write(tmp_path, {"001_things.sql": "CREATE TABLE things (id int PRIMARY KEY);"})

    first = migrate_service(database_url, "svc", tmp_path)
    second = migrate_service(database_url, "svc", tmp_path)

    assert [(m.component, m.path.name) for m in first] == [
        ("kit", "001_outbox_inbox.sql"),
        ("kit", "002_commands_and_timers.sql"),
        ("kit", "003_outbox_published_index.sql"),
        ("kit", "004_retention_indexes.sql"),
        ("kit", "005_audit.sql"),
        ("svc", "001_things.sql"),
    ]
    assert second == []
    write(tmp_path, {"002_more.sql": "ALTER TABLE things ADD COLUMN name text;"})
    assert [m.path.name for m in migrate_service(database_url, "svc", tmp_path)] == ["002_more.sql"]


@pytest.mark.integration
def test_failing_migration_is_rolled_back_and_not_recorded(tmp_path, database_url):
    write(
        tmp_path,
        {
            "001_ok.sql": "CREATE TABLE ok (id int);",
            "002_broken.sql": "CREATE TABLE half (id int); SELECT no_such_column FROM ok;",
        },
    )
    with pytest.raises(psycopg.errors.UndefinedColumn):
        migrate_service(database_url, "svc", tmp_path)

    with psycopg.connect(database_url) as conn:
        recorded = conn.execute(
            "SELECT version FROM schema_migrations WHERE component = 'svc'"
        ).fetchall()
        half = conn.execute("SELECT to_regclass('half')").fetchone()
    assert recorded == [(1,)]
    assert half == (None,)
