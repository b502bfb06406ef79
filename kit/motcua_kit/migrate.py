"""Numbered SQL migrations, per component, applied in order under an advisory lock.

Files are named `NNN_what_it_does.sql`. The kit's own migrations (outbox, inbox) are applied to
every service database as component "kit", then the service's as its own component. Each file
runs in its own transaction and is recorded in `schema_migrations`.

    python -m motcua_kit.migrate --database-url postgresql://... --service intake \
        [--grant-to motcua_intake]

`--grant-to ROLE` then gives the role the service runs as (not the owner that migrates) what it
needs and no more: reading and writing its tables, but only SELECT and INSERT on the audit trail,
so that the service's own login can neither change an audit record nor disable the triggers
that guard them (only the owner may). Run it again after each migration.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

KIT_MIGRATIONS = Path(__file__).parent / "migrations"
NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
LOCK_ID = 7_406_201  # any constant: serialises concurrent migrators of one database


@dataclass(frozen=True)
class Migration:
    component: str
    version: int
    path: Path


def discover(component: str, directory: Path) -> list[Migration]:
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = NAME.match(path.name)
        if not match:
            raise ValueError(f"{path}: migration names must look like 001_create_things.sql")
        found.append(Migration(component, int(match.group(1)), path))
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise ValueError(f"{directory}: migrations must be numbered 001, 002, ... without gaps")
    return found


def ensure_database(url: str) -> bool:
    """Create the database named in `url` if it is missing; True if it was created."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    name = info.get("dbname")
    if not name:
        raise ValueError(f"{url}: no database name")
    admin = psycopg.conninfo.make_conninfo(url, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists:
            return False
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(str(name))))
        return True


def apply(url: str, migrations: list[Migration]) -> list[Migration]:
    """Apply what is not yet applied; returns what was applied now."""
    applied_now = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_ID,))
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " component text NOT NULL, version int NOT NULL, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now(),"
                " PRIMARY KEY (component, version))"
            )
            done = {
                (row[0], row[1])
                for row in conn.execute("SELECT component, version FROM schema_migrations")
            }
            for migration in migrations:
                if (migration.component, migration.version) in done:
                    continue
                with conn.transaction():
                    conn.execute(migration.path.read_text(encoding="utf-8"))
                    conn.execute(
                        "INSERT INTO schema_migrations (component, version, name) "
                        "VALUES (%s, %s, %s)",
                        (migration.component, migration.version, migration.path.name),
                    )
                applied_now.append(migration)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_ID,))
    return applied_now


def migrate_service(url: str, service: str, directory: Path) -> list[Migration]:
    ensure_database(url)
    return apply(url, discover("kit", KIT_MIGRATIONS) + discover(service, directory))


APPEND_ONLY = ("audit_records", "audit_checkpoints")


def grant_service_role(url: str, role: str) -> None:
    """The service's own role: DML on its tables, SELECT + INSERT only on the audit trail."""
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        tables = [
            str(row[0])
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            )
        ]
        who = sql.Identifier(role)
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(who))
        conn.execute(
            sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(who)
        )
        for table in tables:
            name = sql.Identifier(table)
            if table in APPEND_ONLY:
                conn.execute(sql.SQL("REVOKE ALL ON {} FROM {}").format(name, who))
                conn.execute(sql.SQL("GRANT SELECT, INSERT ON {} TO {}").format(name, who))
            else:
                conn.execute(
                    sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON {} TO {}").format(name, who)
                )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--service", required=True)
    parser.add_argument("--dir", required=True, help="the service's migrations folder")
    parser.add_argument(
        "--grant-to", metavar="ROLE", help="the role the service runs as (see above)"
    )
    args = parser.parse_args(argv)
    try:
        done = migrate_service(args.database_url, args.service, Path(args.dir))
        if args.grant_to:
            grant_service_role(args.database_url, args.grant_to)
    except psycopg.OperationalError as exc:
        from motcua_kit.preflight import explain_postgres

        sys.stderr.write(explain_postgres(args.database_url, exc) + "\n")
        return 2
    for migration in done:
        print(f"applied {migration.component} {migration.path.name}")
    if not done:
        print(f"{args.service}: schema up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
