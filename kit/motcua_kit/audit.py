"""The tamper-evident audit trail: who did what to which dossier, when and from where.

    audit.record(uow, code, "dossier.received", officer.audit_actor(), officer.origin(), now, {...})

A record is appended in the caller's transaction, so it commits with the change it records (a
consumer's inbox makes a redelivered event append nothing). The records of one chain (a
dossier's code, `unit:<code>` for reads not about one dossier) are hash-chained
(`motcua_kit.audit_chain`); appends to a chain are serialised by a transaction-level advisory
lock (SELECT ... FOR UPDATE would need the UPDATE privilege the table must not grant). The
database refuses UPDATE, DELETE and TRUNCATE of records (migration kit 005).

Checkpoints: every `AUDIT_CHECKPOINT_SECONDS` each service writes the heads of the chains that
changed to `audit_checkpoints` and publishes them as an `audit.checkpoint` event (outbox), so
that other systems hold the evidence. Verification recomputes every chain and compares it with
the heads and the checkpoints:

    python -m motcua_kit.audit verify --database-url URL [--database-url URL ...]
"""

from __future__ import annotations

import argparse
import itertools
import sys
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from nameko.timer import Timer
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from motcua_kit.audit_chain import (
    GENESIS,
    Break,
    as_json,
    checkpoint_hash,
    checkpoint_problems,
    checkpointed_breaks,
    first_break,
    head_break,
    record_hash,
)
from motcua_kit.config import setting
from motcua_kit.db import UnitOfWork

LOCKS = 7_406_205  # advisory lock class of the audit trail (two-key form: class, hashtext(chain))
CHECKPOINT_LOCK = 0  # second key of the checkpoint writer's lock
CHECKPOINT_EVENT = "audit.checkpoint"
CHECKPOINT_HEADS = 1000  # heads per checkpoint (an event stays small); the rest go in the next


# --- who acts, and from where -----------------------------------------------------------------


@dataclass(frozen=True)
class By:
    """Who acts (subject, name, unit, agency, roles, issuer) and from where (client address
    and request id, or the event that caused the action)."""

    actor: dict[str, Any]
    origin: dict[str, Any] = field(default_factory=dict)


def by_officer(officer: Any) -> By:
    """An officer of a verified token (`motcua_kit.auth.Officer`)."""
    return By(officer.audit_actor(), officer.origin())


def by_event(event: Mapping[str, Any], actor: Mapping[str, Any], **origin: Any) -> By:
    """The sender an event names, the event itself as where the action came from."""
    return By(
        dict(actor),
        {"event_id": event.get("id"), "source": event.get("source"), **origin},
    )


_acting: weakref.WeakKeyDictionary[UnitOfWork, By] = weakref.WeakKeyDictionary()


def acting(uow: UnitOfWork, by: By) -> None:
    """Name who acts in this transaction, for the records made deep in a workflow."""
    _acting[uow] = by


def attributed(uow: UnitOfWork, fallback: By) -> By:
    return _acting.get(uow, fallback)


# --- appending ----------------------------------------------------------------------------------


def record(
    uow: UnitOfWork,
    chain: str,
    action: str,
    actor: Mapping[str, Any],
    origin: Mapping[str, Any],
    at: datetime | None,
    details: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Append one record to `chain` in the caller's transaction; returns it. `at` None: the
    database's time of the transaction (reads, whose use cases have no clock of their own)."""
    # The lock is held to the end of the transaction: the next append to this chain reads the
    # head this one writes. A statement of its own, so that the read below sees that head.
    uow.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (LOCKS, chain))
    head = uow.fetchone(
        "SELECT now() AS now, h.seq, h.hash FROM (SELECT 1) AS one LEFT JOIN LATERAL ("
        " SELECT seq, hash FROM audit_records WHERE chain = %s ORDER BY seq DESC LIMIT 1"
        ") AS h ON true",
        (chain,),
    )
    assert head is not None
    at = at or head["now"]
    fields: dict[str, Any] = {
        "chain": chain,
        "seq": int(head["seq"]) + 1 if head["seq"] else 1,
        "at": at,
        "actor": as_json(dict(actor)),
        "origin": as_json(dict(origin)),
        "action": action,
        "details": as_json(dict(details or {})),
        "prev_hash": head["hash"] or GENESIS,
    }
    fields["hash"] = record_hash(fields)
    uow.execute(
        "WITH appended AS ("
        " INSERT INTO audit_records (chain, seq, at, actor, origin, action, details, prev_hash,"
        " hash) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING chain, seq, hash) "
        "INSERT INTO audit_heads (chain, seq, hash) SELECT chain, seq, hash FROM appended "
        "ON CONFLICT (chain) DO UPDATE SET seq = EXCLUDED.seq, hash = EXCLUDED.hash",
        (
            chain,
            fields["seq"],
            at,
            Jsonb(fields["actor"]),
            Jsonb(fields["origin"]),
            action,
            Jsonb(fields["details"]),
            fields["prev_hash"],
            fields["hash"],
        ),
    )
    return fields


def record_by(
    uow: UnitOfWork,
    chain: str,
    action: str,
    by: By,
    at: datetime | None,
    details: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    return record(uow, chain, action, by.actor, by.origin, at, details)


# --- reading one chain --------------------------------------------------------------------------


def trail(uow: UnitOfWork, chain: str) -> dict[str, Any]:
    """A chain's records, oldest first, and whether it verifies now (records, head, checkpoints).

    Under the chain's lock, so that no append commits between reading the records and the head.
    """
    uow.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (LOCKS, chain))
    records = uow.fetchall(
        "SELECT chain, seq, at, actor, origin, action, details, prev_hash, hash "
        "FROM audit_records WHERE chain = %s ORDER BY seq",
        (chain,),
    )
    head = uow.fetchone("SELECT seq, hash FROM audit_heads WHERE chain = %s", (chain,))
    checkpoints = uow.fetchall(
        "SELECT c.seq, c.at, jsonb_path_query_array(c.heads, '$[*] ? (@.chain == $c)',"
        " jsonb_build_object('c', %s::text)) AS heads FROM audit_checkpoints c"
        " WHERE c.heads @> %s ORDER BY c.seq",  # each with this chain's head only
        (chain, Jsonb([{"chain": chain}])),
    )
    found = chain_break(chain, records, head, checkpoints)
    return {
        "chain": chain,
        "verified": found is None,
        "problem": found.sentence if found else None,
        "records": [
            {
                "seq": r["seq"],
                "at": r["at"].isoformat(),
                "action": r["action"],
                "actor": r["actor"],
                "origin": r["origin"],
                "details": r["details"],
                "hash": r["hash"],
            }
            for r in records
        ],
    }


def chain_break(
    chain: str,
    records: Sequence[Mapping[str, Any]],
    head: Mapping[str, Any] | None,
    checkpoints: Sequence[Mapping[str, Any]] = (),
) -> Break | None:
    """The first problem of one chain: its links, then its head, then its checkpoints."""
    found = first_break(chain, records) or head_break(chain, records, head)
    if found is not None:
        return found
    hash_at = {(chain, int(r["seq"])): r["hash"] for r in records}
    return checkpointed_breaks(checkpoints, hash_at).get(chain)


# --- checkpoints ----------------------------------------------------------------------------------


def checkpoint(
    uow: UnitOfWork, now: datetime, limit: int = CHECKPOINT_HEADS
) -> dict[str, Any] | None:
    """Record and publish the heads of the chains changed since the last checkpoint.

    One writer at a time across replicas: the others find the lock taken and do nothing. The
    checkpoint row, the heads marked as checkpointed and the event commit together.
    """
    locked = uow.fetchone(
        "SELECT pg_try_advisory_xact_lock(%s, %s) AS got", (LOCKS, CHECKPOINT_LOCK)
    )
    if not locked or not locked["got"]:
        return None
    heads = uow.fetchall(
        "SELECT chain, seq, hash FROM audit_heads WHERE seq > checkpointed_seq "
        "ORDER BY chain LIMIT %s",
        (limit,),
    )
    if not heads:
        return None
    previous = uow.fetchone("SELECT seq, hash FROM audit_checkpoints ORDER BY seq DESC LIMIT 1")
    seq = int(previous["seq"]) + 1 if previous else 1
    prev_hash = previous["hash"] if previous else GENESIS
    listed = [{"chain": h["chain"], "seq": int(h["seq"]), "hash": h["hash"]} for h in heads]
    digest = checkpoint_hash(seq, now, listed, prev_hash)
    uow.execute(
        "INSERT INTO audit_checkpoints (seq, at, heads, prev_hash, hash) VALUES (%s, %s, %s, %s, %s)",
        (seq, now, Jsonb(listed), prev_hash, digest),
    )
    uow.execute_many(
        "UPDATE audit_heads SET checkpointed_seq = greatest(checkpointed_seq, %s) WHERE chain = %s",
        [(h["seq"], h["chain"]) for h in listed],
    )
    data = {
        "checkpoint": seq,
        "at": now.isoformat(),
        "heads": listed,
        "prev_hash": prev_hash,
        "hash": digest,
    }
    uow.emit(CHECKPOINT_EVENT, f"checkpoint/{seq}", data)
    return data


class CheckpointTimer(Timer):
    """nameko's timer, its interval read from `AUDIT_CHECKPOINT_SECONDS` (default 300)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(interval=300.0, **kwargs)

    def setup(self) -> None:
        self.interval = float(setting(self.container.config, "AUDIT_CHECKPOINT_SECONDS", 300))
        super().setup()


checkpoints: Callable[..., Any] = CheckpointTimer.decorator


# --- verifying a database -------------------------------------------------------------------------


@dataclass
class Verdict:
    database: str
    chains: int = 0
    records: int = 0
    checkpoints: int = 0
    problems: list[str] = field(default_factory=list)
    breaks: list[Break] = field(default_factory=list)


def verify_database(conn: psycopg.Connection[Any], name: str) -> Verdict:
    """Recompute every chain of one database, then hold the heads and checkpoints against it."""
    verdict = Verdict(name)
    # One snapshot for every query: an append committed meanwhile must not look like an insertion.
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    heads = {
        r["chain"]: r
        for r in conn.cursor(row_factory=dict_row).execute(
            "SELECT chain, seq, hash FROM audit_heads"
        )
    }
    hash_at: dict[tuple[str, int], str] = {}
    broken: dict[str, Break] = {}
    with conn.cursor(name="audit_verify", row_factory=dict_row) as cursor:
        cursor.itersize = 2000
        cursor.execute(
            "SELECT chain, seq, at, actor, origin, action, details, prev_hash, hash "
            "FROM audit_records ORDER BY chain, seq"
        )
        for chain, group in itertools.groupby(cursor, key=lambda r: str(r["chain"])):
            records = list(group)
            verdict.chains += 1
            verdict.records += len(records)
            hash_at.update({(chain, int(r["seq"])): r["hash"] for r in records})
            head = heads.pop(chain, None)  # popped first: what is left has no records
            found = first_break(chain, records) or head_break(chain, records, head)
            if found is not None:
                broken[chain] = found
    for chain, head in heads.items():  # heads whose chain has no record left
        if (gone := head_break(chain, [], head)) is not None:
            broken[chain] = gone
    checkpoint_rows = (
        conn.cursor(row_factory=dict_row)
        .execute("SELECT seq, at, heads, prev_hash, hash FROM audit_checkpoints ORDER BY seq")
        .fetchall()
    )
    verdict.checkpoints = len(checkpoint_rows)
    verdict.problems = checkpoint_problems(checkpoint_rows)
    for chain, found in checkpointed_breaks(checkpoint_rows, hash_at).items():
        broken.setdefault(chain, found)
    verdict.breaks = [broken[c] for c in sorted(broken)]
    return verdict


def verify(urls: Iterable[str]) -> tuple[int, list[str]]:
    """Exit status (0 intact, 1 broken, 2 unreachable) and one line per database or break."""
    lines: list[str] = []
    status = 0
    for url in urls:
        name = str(psycopg.conninfo.conninfo_to_dict(url).get("dbname") or url)
        try:
            with psycopg.connect(url) as conn:
                verdict = verify_database(conn, name)
        except psycopg.OperationalError as exc:
            from motcua_kit.preflight import explain_postgres

            lines.append(f"{name}: " + explain_postgres(url, exc))
            status = max(status, 2)
            continue
        except psycopg.errors.UndefinedTable:
            lines.append(f"{name}: no audit trail here: apply the migrations (kit 005_audit.sql).")
            status = max(status, 2)
            continue
        if verdict.breaks or verdict.problems:
            status = max(status, 1)
            lines += [f"{name}: {b.sentence}." for b in verdict.breaks]
            lines += [f"{name}: {p}." for p in verdict.problems]
        else:
            lines.append(
                f"{name}: {verdict.chains} chains, {verdict.records} records and "
                f"{verdict.checkpoints} checkpoints verified, none altered."
            )
    return status, lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m motcua_kit.audit", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("verify", help="recompute every chain; exit 1 if one is broken")
    check.add_argument("--database-url", action="append", required=True, dest="urls")
    args = parser.parse_args(argv)
    status, lines = verify(args.urls)
    for line in lines:
        print(line, file=sys.stdout if status == 0 else sys.stderr)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
