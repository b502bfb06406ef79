"""The audit trail on the real PostgreSQL: appends chain and verify, concurrent appends stay
contiguous, the database refuses changes (even to a superuser), and `verify` names each of the
four tamperings done to a copy of a database, and a recomputed chain a checkpoint contradicts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import eventlet
import psycopg
import pytest
from motcua_kit import audit, db, migrate
from motcua_kit.audit_chain import record_hash
from motcua_kit.db import UnitOfWork
from motcua_kit.testing import PG_URL, create_migrated_database, drop_database, sql_runner
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
T0 = datetime(2026, 3, 2, 1, 2, 3, 4, tzinfo=UTC)
OFFICER = {
    "id": "u-7",
    "name": "Lê Thị Hồng Nhung",
    "unit": "000.00.08.H38",
    "agency": "000.00.08.H38",
    "roles": ["reception"],
    "issuer": "https://idp.example",
}
ORIGIN = {"client": "10.0.0.7", "request_id": "req-1"}


@pytest.fixture
def database() -> Iterator[str]:
    """A fresh migrated database of this test's own (it is copied as a template below)."""
    url = create_migrated_database("audit", MIGRATIONS)
    yield url
    drop_database(url)


@contextmanager
def pool_of(url: str, size: int = 4) -> Iterator[ConnectionPool]:
    pool = ConnectionPool(url, min_size=1, max_size=size, kwargs={"autocommit": False})
    try:
        yield pool
    finally:
        pool.close()


def transaction(pool: ConnectionPool) -> AbstractContextManager[UnitOfWork]:
    return db.transaction(pool, "audit-test")


def fill(url: str, chains: dict[str, int]) -> None:
    """Real records through `audit.record`, one transaction each."""
    with pool_of(url) as pool:
        for chain, count in chains.items():
            for n in range(count):
                with transaction(pool) as uow:
                    audit.record(
                        uow,
                        chain,
                        f"step.{n}",
                        OFFICER,
                        ORIGIN,
                        T0 + timedelta(minutes=n),
                        {"n": n, "note": "Bổ sung giấy chứng sinh"},
                    )


@contextmanager
def copy_of(url: str) -> Iterator[str]:
    """CREATE DATABASE ... TEMPLATE: the tampering is done to a copy, never the original."""
    name = f"motcua_test_audit_copy_{uuid.uuid4().hex[:8]}"
    source = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    with psycopg.connect(f"{PG_URL}/postgres", autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(str(source))
            )
        )
    copy = f"{PG_URL}/{name}"
    try:
        yield copy
    finally:
        drop_database(copy)


def tamper(url: str, *statements: tuple[str, Any]) -> None:
    """As a superuser who first disables the append-only triggers by name."""
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        conn.execute("ALTER TABLE audit_records DISABLE TRIGGER audit_records_append_only")
        for statement, params in statements:
            conn.execute(statement, params)
        conn.execute("ALTER TABLE audit_records ENABLE ALWAYS TRIGGER audit_records_append_only")


def breaks(url: str) -> list[tuple[str, int, str]]:
    with psycopg.connect(url) as conn:
        verdict = audit.verify_database(conn, "copy")
    return [(b.chain, b.seq, b.kind) for b in verdict.breaks]


def rows(url: str, chain: str) -> list[dict[str, Any]]:
    return sql_runner(url)("SELECT * FROM audit_records WHERE chain = %s ORDER BY seq", (chain,))


# --- appending and verifying -------------------------------------------------------------------


def test_records_chain_and_verify(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    fill(database, {"A-1": 3, "unit:000.00.08.H38": 2})
    chain = rows(database, "A-1")
    assert [r["seq"] for r in chain] == [1, 2, 3]
    assert chain[0]["prev_hash"] == "0" * 64
    assert [r["prev_hash"] for r in chain[1:]] == [r["hash"] for r in chain[:-1]]
    assert chain[2]["actor"]["name"] == "Lê Thị Hồng Nhung" and chain[2]["origin"] == ORIGIN
    assert all(record_hash(r) == r["hash"] for r in chain)
    assert breaks(database) == []
    assert audit.main(["verify", "--database-url", database]) == 0
    assert "2 chains, 5 records and 0 checkpoints verified" in capsys.readouterr().out


def test_a_rolled_back_change_leaves_no_record(database: str) -> None:
    with pool_of(database) as pool:
        with pytest.raises(RuntimeError), transaction(pool) as uow:
            audit.record(uow, "A-1", "dossier.received", OFFICER, ORIGIN, T0)
            raise RuntimeError("the change failed")
        with transaction(pool) as uow:
            appended = audit.record(uow, "A-1", "dossier.received", OFFICER, ORIGIN, T0)
    assert appended["seq"] == 1 and [r["seq"] for r in rows(database, "A-1")] == [1]


def test_concurrent_appends_to_one_chain_stay_contiguous(database: str) -> None:
    writers, each = 6, 8

    def write(writer: int) -> None:
        for _ in range(each):
            with transaction(pool) as uow:
                audit.record(uow, "A-busy", "read.dossier", OFFICER, ORIGIN, T0, {"w": writer})
                uow.execute("SELECT pg_sleep(0.005)")  # hold the transaction open a little

    with pool_of(database, size=writers) as pool:
        threads = [eventlet.spawn(write, w) for w in range(writers)]
        for thread in threads:
            thread.wait()
    chain = rows(database, "A-busy")
    assert [r["seq"] for r in chain] == list(range(1, writers * each + 1))
    assert len({r["details"]["w"] for r in chain}) == writers
    assert breaks(database) == []


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_records SET action = 'nothing' WHERE chain = 'A-1'",
        "DELETE FROM audit_records WHERE chain = 'A-1'",
        "TRUNCATE audit_records",
        "UPDATE audit_checkpoints SET hash = 'x'",
        "DELETE FROM audit_checkpoints",
        "TRUNCATE audit_checkpoints",
    ],
)
def test_the_database_refuses_changes_even_to_a_superuser(database: str, statement: str) -> None:
    fill(database, {"A-1": 2})
    with pool_of(database) as pool, transaction(pool) as uow:
        audit.checkpoint(uow, T0)
    with psycopg.connect(database, autocommit=True) as conn:
        assert conn.execute(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone() == (True,)
        for role in ("origin", "replica"):  # replica mode skips ordinary triggers, not these
            conn.execute(f"SET session_replication_role = {role}")
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
                conn.execute(statement)
    assert len(rows(database, "A-1")) == 2


@pytest.fixture
def service_role(database: str) -> Iterator[str]:
    """The login a service runs as in production: not the owner, granted by the migrator."""
    role = f"motcua_test_svc_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    migrate.grant_service_role(database, role)
    yield psycopg.conninfo.make_conninfo(database, user=role)
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_the_services_own_role_appends_and_can_do_nothing_else(service_role: str) -> None:
    fill(service_role, {"A-1": 2})  # records written as the service would write them
    with pool_of(service_role) as pool, transaction(pool) as uow:
        audit.checkpoint(uow, T0)
        uow.execute("UPDATE outbox_events SET published_at = now()")  # its own tables: its own
    for statement in (
        "UPDATE audit_records SET action = 'x'",
        "DELETE FROM audit_records",
        "TRUNCATE audit_records",
        "DELETE FROM audit_checkpoints",
        "ALTER TABLE audit_records DISABLE TRIGGER audit_records_append_only",
        "DROP TABLE audit_records",
    ):
        # refused by the grants and ownership, before any trigger is asked
        with (
            psycopg.connect(service_role, autocommit=True) as conn,
            pytest.raises(
                psycopg.errors.InsufficientPrivilege, match="permission denied|must be owner"
            ),
        ):
            conn.execute(statement)
    assert len(rows(service_role, "A-1")) == 2
    assert breaks(service_role) == []


# --- tampering with a copy ----------------------------------------------------------------------


@pytest.fixture
def filled(database: str) -> str:
    fill(database, {"A-1": 5, "B-2": 4})
    return database


def test_verify_names_an_altered_record(filled: str) -> None:
    with copy_of(filled) as copy:
        tamper(
            copy,
            (
                "UPDATE audit_records SET details = %s WHERE chain = 'A-1' AND seq = 3",
                (Jsonb({"n": 2, "note": "Không cần bổ sung"}),),
            ),
        )
        assert breaks(copy) == [("A-1", 3, "altered")]
        assert audit.main(["verify", "--database-url", copy]) == 1
    assert breaks(filled) == []  # the original is untouched


def test_verify_names_a_deleted_record(filled: str, capsys: pytest.CaptureFixture[str]) -> None:
    with copy_of(filled) as copy:
        tamper(copy, ("DELETE FROM audit_records WHERE chain = 'B-2' AND seq = 2", ()))
        assert breaks(copy) == [("B-2", 2, "deleted")]
        assert audit.main(["verify", "--database-url", copy]) == 1
        assert "chain B-2: record #2 is missing (deleted)" in capsys.readouterr().err


def test_verify_names_a_deleted_last_record(filled: str) -> None:
    with copy_of(filled) as copy:
        tamper(copy, ("DELETE FROM audit_records WHERE chain = 'B-2' AND seq = 4", ()))
        assert breaks(copy) == [("B-2", 4, "deleted")]


def test_verify_names_an_inserted_record(filled: str) -> None:
    """A forger makes room at #3 and writes a record with a correct hash after #2."""
    with copy_of(filled) as copy:
        second = rows(copy, "A-1")[1]
        forged: dict[str, Any] = {
            **second,
            "seq": 3,
            "action": "dossier.withdrawn",
            "prev_hash": second["hash"],
        }
        forged["hash"] = record_hash(forged)
        tamper(
            copy,
            ("UPDATE audit_records SET seq = seq + 100 WHERE chain = 'A-1' AND seq >= 3", ()),
            ("UPDATE audit_records SET seq = seq - 99 WHERE chain = 'A-1' AND seq > 100", ()),
            (
                "INSERT INTO audit_records (chain, seq, at, actor, origin, action, details,"
                " prev_hash, hash) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    "A-1",
                    3,
                    forged["at"],
                    Jsonb(forged["actor"]),
                    Jsonb(forged["origin"]),
                    forged["action"],
                    Jsonb(forged["details"]),
                    forged["prev_hash"],
                    forged["hash"],
                ),
            ),
        )
        assert breaks(copy) == [("A-1", 3, "inserted")]
        assert audit.main(["verify", "--database-url", copy]) == 1


def test_verify_names_reordered_records(filled: str) -> None:
    with copy_of(filled) as copy:
        tamper(
            copy,
            ("UPDATE audit_records SET seq = 105 - seq WHERE chain = 'B-2' AND seq IN (2, 3)", ()),
            ("UPDATE audit_records SET seq = seq - 100 WHERE chain = 'B-2' AND seq > 100", ()),
        )
        assert [r["action"] for r in rows(copy, "B-2")] == ["step.0", "step.2", "step.1", "step.3"]
        assert breaks(copy) == [("B-2", 2, "reordered")]
        assert audit.main(["verify", "--database-url", copy]) == 1


# --- checkpoints --------------------------------------------------------------------------------


def test_a_checkpoint_goes_out_through_the_outbox_once_per_change(filled: str) -> None:
    with pool_of(filled) as pool:
        with transaction(pool) as uow:
            first = audit.checkpoint(uow, T0)
        with transaction(pool) as uow:
            assert audit.checkpoint(uow, T0) is None  # nothing changed since
        fill(filled, {"B-2": 1})
        with transaction(pool) as uow:
            second = audit.checkpoint(uow, T0 + timedelta(minutes=5))
    assert first is not None and second is not None
    assert [(h["chain"], h["seq"]) for h in first["heads"]] == [("A-1", 5), ("B-2", 4)]
    assert [(h["chain"], h["seq"]) for h in second["heads"]] == [("B-2", 5)]
    assert second["prev_hash"] == first["hash"]
    outbox = sql_runner(filled)(
        "SELECT type, subject, payload FROM outbox_events WHERE type = 'audit.checkpoint' "
        "ORDER BY seq"
    )
    assert [o["subject"] for o in outbox] == ["checkpoint/1", "checkpoint/2"]
    assert outbox[1]["payload"]["data"] == second
    assert breaks(filled) == []


def test_only_one_replica_writes_a_checkpoint_at_a_time(filled: str) -> None:
    with pool_of(filled) as pool, transaction(pool) as holder, transaction(pool) as other:
        assert audit.checkpoint(holder, T0) is not None
        assert audit.checkpoint(other, T0) is None  # the lock is taken: this replica skips


def test_a_recomputed_chain_is_caught_by_its_checkpoint(filled: str) -> None:
    """The forger alters #2 and recomputes every hash after it: the chain is consistent, its
    head too, but the published checkpoint still holds the old hash of #5."""
    with pool_of(filled) as pool, transaction(pool) as uow:
        audit.checkpoint(uow, T0)
    with copy_of(filled) as copy:
        chain = rows(copy, "A-1")
        chain[1]["details"] = {"n": 1, "note": "đã sửa"}
        statements = []
        for index in range(1, len(chain)):
            chain[index]["prev_hash"] = chain[index - 1]["hash"]
            chain[index]["hash"] = record_hash(chain[index])
            statements.append(
                (
                    "UPDATE audit_records SET details = %s, prev_hash = %s, hash = %s "
                    "WHERE chain = 'A-1' AND seq = %s",
                    (
                        Jsonb(chain[index]["details"]),
                        chain[index]["prev_hash"],
                        chain[index]["hash"],
                        index + 1,
                    ),
                )
            )
        statements.append(
            ("UPDATE audit_heads SET hash = %s WHERE chain = 'A-1'", (chain[-1]["hash"],))
        )
        tamper(copy, *statements)
        assert breaks(copy) == [("A-1", 5, "checkpoint")]
        with psycopg.connect(copy, row_factory=dict_row) as conn:
            sentence = audit.verify_database(conn, "copy").breaks[0].sentence
        assert "from checkpoint #1" in sentence and "at or before #5" in sentence
        assert audit.main(["verify", "--database-url", copy]) == 1


def test_the_trail_of_one_chain_says_whether_it_verifies(filled: str) -> None:
    with pool_of(filled) as pool, transaction(pool) as uow:
        audit.checkpoint(uow, T0)
        shown = audit.trail(uow, "A-1")
    assert shown["verified"] is True and [r["seq"] for r in shown["records"]] == [1, 2, 3, 4, 5]
    with copy_of(filled) as copy:
        tamper(copy, ("UPDATE audit_records SET action = 'x' WHERE chain = 'A-1' AND seq = 4", ()))
        with pool_of(copy) as copied, transaction(copied) as uow:
            shown = audit.trail(uow, "A-1")
            assert shown["verified"] is False and "#4 was altered" in shown["problem"]
            assert audit.trail(uow, "B-2")["verified"] is True


def test_unreachable_database_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert audit.main(["verify", "--database-url", "postgresql://postgres@127.0.0.1:1/x"]) == 2
    assert "PostgreSQL is not reachable" in capsys.readouterr().err
