"""Intake's SQL: the only place that knows its tables. Every function takes the worker's UnitOfWork."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from motcua_kit.db import UnitOfWork
from psycopg.types.json import Jsonb

from intake.domain.catalogue import Procedure, procedure_from_entry
from intake.domain.dossier import Dossier

# --- catalogue -------------------------------------------------------------------------------


def procedure_versions(uow: UnitOfWork, code: str) -> list[Procedure]:
    rows = uow.fetchall("SELECT entry FROM procedures WHERE code = %s ORDER BY version", (code,))
    return [procedure_from_entry(r["entry"]) for r in rows]


def procedure_version(uow: UnitOfWork, code: str, version: int) -> Procedure | None:
    row = uow.fetchone(
        "SELECT entry FROM procedures WHERE code = %s AND version = %s", (code, version)
    )
    return procedure_from_entry(row["entry"]) if row else None


def procedures_in_force(uow: UnitOfWork, on: date) -> list[Procedure]:
    rows = uow.fetchall(
        "SELECT DISTINCT ON (code) entry FROM procedures WHERE valid_from <= %s "
        "ORDER BY code, valid_from DESC",
        (on,),
    )
    return [procedure_from_entry(r["entry"]) for r in rows]


# --- dossiers --------------------------------------------------------------------------------


def next_number(uow: UnitOfWork, unit: str, day: date) -> int:
    """The day's next running number for a unit; the row lock makes it safe under concurrency."""
    row = uow.fetchone(
        "INSERT INTO dossier_counters (unit, day, last) VALUES (%s, %s, 1) "
        "ON CONFLICT (unit, day) DO UPDATE SET last = dossier_counters.last + 1 RETURNING last",
        (unit, day),
    )
    assert row is not None
    return int(row["last"])


def insert_dossier(uow: UnitOfWork, dossier: Dossier, details: dict[str, Any]) -> None:
    uow.execute(
        "INSERT INTO dossiers (code, unit, procedure_code, procedure_version, status, channel, "
        " return_method, applicant, documents, received_at, due_at, pin_hash, received_by) "
        "VALUES (%(code)s, %(unit)s, %(procedure_code)s, %(procedure_version)s, %(status)s, "
        " %(channel)s, %(return_method)s, %(applicant)s, %(documents)s, %(received_at)s, "
        " %(due_at)s, %(pin_hash)s, %(received_by)s)",
        {
            "code": dossier.code,
            "unit": dossier.unit,
            "status": dossier.status,
            "received_at": dossier.received_at,
            "due_at": dossier.due_at,
            "procedure_code": details["procedure_code"],
            "procedure_version": details["procedure_version"],
            "channel": details["channel"],
            "return_method": details["return_method"],
            "applicant": Jsonb(details["applicant"]),
            "documents": Jsonb(details["documents"]),
            "pin_hash": details["pin_hash"],
            "received_by": Jsonb(details["received_by"]),
        },
    )


_DOSSIER_COLUMNS = (
    "code, unit, status, received_at, due_at, paused_at, remaining_seconds, resume_status, "
    "supplement_requests, result_at, returned_at"
)


def load_dossier(uow: UnitOfWork, code: str, for_update: bool = False) -> Dossier | None:
    lock = " FOR UPDATE" if for_update else ""
    row = uow.fetchone(f"SELECT {_DOSSIER_COLUMNS} FROM dossiers WHERE code = %s{lock}", (code,))  # noqa: S608
    return Dossier(**row) if row else None


def save_dossier(uow: UnitOfWork, dossier: Dossier) -> None:
    uow.execute(
        "UPDATE dossiers SET status = %s, due_at = %s, paused_at = %s, remaining_seconds = %s, "
        " resume_status = %s, supplement_requests = %s, result_at = %s, returned_at = %s "
        "WHERE code = %s",
        (
            dossier.status,
            dossier.due_at,
            dossier.paused_at,
            dossier.remaining_seconds,
            dossier.resume_status,
            dossier.supplement_requests,
            dossier.result_at,
            dossier.returned_at,
            dossier.code,
        ),
    )


def dossier_record(uow: UnitOfWork, code: str) -> dict[str, Any] | None:
    return uow.fetchone(
        "SELECT d.*, p.entry AS procedure FROM dossiers d "
        "JOIN procedures p ON p.code = d.procedure_code AND p.version = d.procedure_version "
        "WHERE d.code = %s",
        (code,),
    )


def pin_hash_of(uow: UnitOfWork, code: str) -> str | None:
    row = uow.fetchone("SELECT pin_hash FROM dossiers WHERE code = %s", (code,))
    return row["pin_hash"] if row else None


def record_action(
    uow: UnitOfWork,
    code: str,
    action: str,
    actor: dict[str, Any],
    at: datetime,
    details: dict[str, Any] | None = None,
    public: bool = True,
) -> None:
    uow.execute(
        "INSERT INTO dossier_actions (dossier_code, action, actor, at, details, public) "
        "VALUES (%s, %s, %s, %s, %s, %s)",
        (code, action, Jsonb(actor), at, Jsonb(details or {}), public),
    )


def actions(uow: UnitOfWork, code: str, public_only: bool = False) -> list[dict[str, Any]]:
    where = " AND public" if public_only else ""
    return uow.fetchall(
        f"SELECT action, actor, at, details FROM dossier_actions WHERE dossier_code = %s{where} "  # noqa: S608
        "ORDER BY id",
        (code,),
    )


def list_dossiers(
    uow: UnitOfWork, unit: str, status: str | None, limit: int
) -> list[dict[str, Any]]:
    return uow.fetchall(
        "SELECT code, status, procedure_code, received_at, due_at, applicant->>'name' AS applicant "
        "FROM dossiers WHERE unit = %s AND (%s::text IS NULL OR status = %s) "
        "ORDER BY received_at DESC LIMIT %s",
        (unit, status, status, limit),
    )


# --- idempotency, evaluation, lookup guard --------------------------------------------------


def claim_idempotency_key(
    uow: UnitOfWork, unit: str, key: str, request_hash: str
) -> dict[str, Any] | None:
    """None if this request is the first with the key; else the earlier request's row.

    A concurrent twin blocks on the primary key until the first commits, then sees its row.
    """
    inserted = uow.fetchone(
        "INSERT INTO idempotency_keys (unit, key, request_hash) VALUES (%s, %s, %s) "
        "ON CONFLICT DO NOTHING RETURNING key",
        (unit, key, request_hash),
    )
    if inserted:
        return None
    return uow.fetchone(
        "SELECT request_hash, dossier_code FROM idempotency_keys WHERE unit = %s AND key = %s",
        (unit, key),
    )


def settle_idempotency_key(uow: UnitOfWork, unit: str, key: str, code: str) -> None:
    uow.execute(
        "UPDATE idempotency_keys SET dossier_code = %s WHERE unit = %s AND key = %s",
        (code, unit, key),
    )


def insert_evaluation(
    uow: UnitOfWork, code: str, ratings: dict[str, str], comment: str | None, at: datetime
) -> bool:
    row = uow.fetchone(
        "INSERT INTO evaluations (dossier_code, ratings, comment, at) VALUES (%s, %s, %s, %s) "
        "ON CONFLICT DO NOTHING RETURNING dossier_code",
        (code, Jsonb(ratings), comment, at),
    )
    return row is not None


_NTH_FAILURE = {
    column: (
        f"SELECT at FROM lookup_failures WHERE {column} = %s"
        " AND at > now() - make_interval(secs => %s) ORDER BY at DESC OFFSET %s LIMIT 1"
    )
    for column in ("client", "dossier_code")
}


def guard_lookups(uow: UnitOfWork, code: str, client: str) -> None:
    """Serialise lookups of one dossier code and of one client until commit, so that parallel
    guesses cannot all pass the count before any failure is written (dossier first, then client:
    every transaction takes them in that order, so they cannot deadlock)."""
    uow.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('lookup-dossier:' || %s, 0)),"
        " pg_advisory_xact_lock(hashtextextended('lookup-client:' || %s, 0))",
        (code, client),
    )


def nth_recent_failure(
    uow: UnitOfWork, column: str, value: str, n: int, window_seconds: float
) -> datetime | None:
    """The time of the `n`-th newest failure within the window by that client (`column ==
    "client"`) or on that dossier code (`"dossier_code"`); None if there are fewer."""
    row = uow.fetchone(_NTH_FAILURE[column], (value, window_seconds, max(n - 1, 0)))
    return row["at"] if row else None


def record_lookup_failure(uow: UnitOfWork, client: str, code: str) -> None:
    uow.execute(
        "INSERT INTO lookup_failures (client, dossier_code) VALUES (%s, %s)", (client, code)
    )
    uow.execute("DELETE FROM lookup_failures WHERE at < now() - interval '1 day'")


def set_current_step(uow: UnitOfWork, code: str, current: dict[str, Any] | None) -> None:
    value = Jsonb(current) if current is not None else None
    uow.execute("UPDATE dossiers SET current_step = %s WHERE code = %s", (value, code))


def route_steps(uow: UnitOfWork, code: str) -> dict[str, Any]:
    """The steps routing has reported (migration 004), keyed by step id."""
    row = uow.fetchone("SELECT route_steps FROM dossiers WHERE code = %s", (code,))
    return dict(row["route_steps"] or {}) if row else {}


def set_route_steps(uow: UnitOfWork, code: str, steps: dict[str, Any]) -> None:
    uow.execute("UPDATE dossiers SET route_steps = %s WHERE code = %s", (Jsonb(steps), code))


def has_route(uow: UnitOfWork, code: str) -> bool:
    """Whether the dossier's procedure version has a route for routing (any stage)."""
    row = uow.fetchone(
        "SELECT jsonb_array_length(COALESCE(p.entry->'route'->'stages', '[]'::jsonb)) > 0 AS routed"
        " FROM dossiers d JOIN procedures p"
        " ON p.code = d.procedure_code AND p.version = d.procedure_version WHERE d.code = %s",
        (code,),
    )
    return bool(row and row["routed"])


def agencies_involved(uow: UnitOfWork, code: str) -> set[str]:
    """Every agency routing has handed the dossier to."""
    rows = uow.fetchall(
        "SELECT DISTINCT details->>'agency' AS agency FROM dossier_actions "
        "WHERE dossier_code = %s AND action = 'transferred'",
        (code,),
    )
    return {r["agency"] for r in rows if r["agency"]}


def dossiers_of_citizen(uow: UnitOfWork, citizen_id: str, limit: int) -> list[dict[str, Any]]:
    """A citizen's dossiers, newest first: what they need to follow them, no PIN."""
    return uow.fetchall(
        "SELECT d.code, d.unit, d.status, d.procedure_code, p.entry->'name' AS procedure_name,"
        " d.received_at, d.due_at FROM dossiers d JOIN procedures p"
        " ON p.code = d.procedure_code AND p.version = d.procedure_version"
        " WHERE d.applicant->>'citizen_id' = %s ORDER BY d.received_at DESC LIMIT %s",
        (citizen_id, limit),
    )
