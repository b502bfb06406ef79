"""routing's SQL: the only place that knows its tables. Every function takes the worker's UnitOfWork."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from motcua_kit.db import UnitOfWork
from psycopg.types.json import Jsonb

from routing.domain.route import Step

_STEP_COLUMNS = (
    "id, dossier_code, stage, idx, attempt, agency_code, role, days, task_vi, task_en, status, "
    "assigned_at, due_at, accepted_at, completed_at, paused_at, remaining_seconds, handed_by, "
    "received_by, result_reference, note"
)


def insert_route(
    uow: UnitOfWork, code: str, unit: str, procedure: dict[str, Any], appointment_at: datetime
) -> bool:
    """False if the route exists already (the dossier was routed before)."""
    row = uow.fetchone(
        "INSERT INTO routes (dossier_code, unit, procedure_code, procedure, appointment_at, status) "
        "VALUES (%s, %s, %s, %s, %s, 'open') ON CONFLICT DO NOTHING RETURNING dossier_code",
        (code, unit, procedure["code"], Jsonb(procedure), appointment_at),
    )
    return row is not None


def route(uow: UnitOfWork, code: str, for_update: bool = False) -> dict[str, Any] | None:
    lock = " FOR UPDATE" if for_update else ""
    return uow.fetchone(f"SELECT * FROM routes WHERE dossier_code = %s{lock}", (code,))  # noqa: S608


def set_route_status(uow: UnitOfWork, code: str, status: str, at: datetime) -> None:
    uow.execute(
        "UPDATE routes SET status = %s, ended_at = %s WHERE dossier_code = %s",
        (status, at if status != "open" else None, code),
    )


def set_appointment(uow: UnitOfWork, code: str, appointment_at: datetime) -> None:
    uow.execute(
        "UPDATE routes SET appointment_at = %s WHERE dossier_code = %s", (appointment_at, code)
    )


def _step(row: dict[str, Any]) -> Step:
    row = dict(row)
    row["index"] = row.pop("idx")
    return Step(**row)


def steps(uow: UnitOfWork, code: str) -> list[Step]:
    rows = uow.fetchall(
        f"SELECT {_STEP_COLUMNS} FROM steps WHERE dossier_code = %s ORDER BY stage, idx",  # noqa: S608
        (code,),
    )
    return [_step(r) for r in rows]


def step(uow: UnitOfWork, step_id: str) -> Step | None:
    row = uow.fetchone(f"SELECT {_STEP_COLUMNS} FROM steps WHERE id = %s", (step_id,))  # noqa: S608
    return _step(row) if row else None


def _values(s: Step) -> tuple[Any, ...]:
    return (
        s.id, s.dossier_code, s.stage, s.index, s.attempt, s.agency_code, s.role, s.days,
        s.task_vi, s.task_en, s.status, s.assigned_at, s.due_at, s.accepted_at,
        s.completed_at, s.paused_at, s.remaining_seconds,
        Jsonb(dict(s.handed_by)) if s.handed_by else None,
        Jsonb(dict(s.received_by)) if s.received_by else None,
        s.result_reference, s.note,
    )  # fmt: skip


_PLACEHOLDERS = ", ".join(["%s"] * 21)


def archive_steps(uow: UnitOfWork, earlier: Sequence[Step]) -> None:
    for s in earlier:
        uow.execute(
            f"INSERT INTO archived_steps ({_STEP_COLUMNS}) VALUES ({_PLACEHOLDERS}) "  # noqa: S608
            "ON CONFLICT DO NOTHING",
            _values(s),
        )


def archived(uow: UnitOfWork, code: str) -> list[Step]:
    rows = uow.fetchall(
        f"SELECT {_STEP_COLUMNS} FROM archived_steps WHERE dossier_code = %s",  # noqa: S608
        (code,),
    )
    return [_step(r) for r in rows]


def save_steps(uow: UnitOfWork, changed: Sequence[Step]) -> None:
    uow.execute_many(
        f"INSERT INTO steps ({_STEP_COLUMNS}) VALUES ({_PLACEHOLDERS}) "  # noqa: S608
        "ON CONFLICT (id) DO UPDATE SET attempt = EXCLUDED.attempt, "
        "agency_code = EXCLUDED.agency_code, status = EXCLUDED.status, "
        "assigned_at = EXCLUDED.assigned_at, due_at = EXCLUDED.due_at, "
        "accepted_at = EXCLUDED.accepted_at, completed_at = EXCLUDED.completed_at, "
        "paused_at = EXCLUDED.paused_at, remaining_seconds = EXCLUDED.remaining_seconds, "
        "handed_by = EXCLUDED.handed_by, received_by = EXCLUDED.received_by, "
        "result_reference = EXCLUDED.result_reference, note = EXCLUDED.note",
        [_values(s) for s in changed],
    )


def lock_route_steps(uow: UnitOfWork, code: str) -> list[Step]:
    """The route's steps, locked: actions on one dossier are serialised."""
    uow.execute("SELECT 1 FROM routes WHERE dossier_code = %s FOR UPDATE", (code,))
    return steps(uow, code)


def record_action(
    uow: UnitOfWork, s: Step, action: str, actor: Any, at: datetime, details: dict[str, Any]
) -> None:
    uow.execute(
        "INSERT INTO step_actions (step_id, dossier_code, action, actor, at, details) "
        "VALUES (%s, %s, %s, %s, %s, %s)",
        (s.id, s.dossier_code, action, Jsonb(actor) if actor else None, at, Jsonb(details)),
    )


def agency_tasks(uow: UnitOfWork, agency_code: str) -> list[Step]:
    rows = uow.fetchall(
        f"SELECT {_STEP_COLUMNS} FROM steps WHERE agency_code = %s "  # noqa: S608
        "AND status IN ('assigned', 'accepted', 'awaiting_supplement') ORDER BY due_at",
        (agency_code,),
    )
    return [_step(r) for r in rows]


def open_and_overdue_by_agency(uow: UnitOfWork, now: datetime) -> list[dict[str, Any]]:
    return uow.fetchall(
        "SELECT agency_code, count(*) AS open, count(*) FILTER (WHERE due_at < %s) AS overdue "
        "FROM steps WHERE status IN ('assigned', 'accepted', 'awaiting_supplement') "
        "GROUP BY agency_code",
        (now,),
    )


# --- an agency's workload (for the lateness risk) ----------------------------------------------


def held_steps(uow: UnitOfWork) -> list[Step]:
    """Every step an agency holds with its clock running (assigned or accepted)."""
    rows = uow.fetchall(
        f"SELECT {_STEP_COLUMNS} FROM steps WHERE status IN ('assigned', 'accepted')"  # noqa: S608
    )
    return [_step(r) for r in rows]


def open_step_counts(uow: UnitOfWork, agency_codes: Sequence[str]) -> dict[str, int]:
    """How many open steps (assigned, accepted, awaiting supplements) each agency holds."""
    rows = uow.fetchall(
        "SELECT agency_code, count(*) AS n FROM steps WHERE agency_code = ANY(%s) "
        "AND status IN ('assigned', 'accepted', 'awaiting_supplement') GROUP BY agency_code",
        (list(agency_codes),),
    )
    return {r["agency_code"]: int(r["n"]) for r in rows}


def recent_completions(
    uow: UnitOfWork, agency_codes: Sequence[str], limit: int
) -> dict[str, list[tuple[datetime, datetime]]]:
    """Each agency's last ``limit`` completed steps: (assigned_at, completed_at), latest first."""
    rows = uow.fetchall(
        "SELECT agency_code, assigned_at, completed_at FROM ("
        " SELECT agency_code, assigned_at, completed_at, row_number() OVER ("
        "  PARTITION BY agency_code ORDER BY completed_at DESC) AS n"
        " FROM steps WHERE agency_code = ANY(%s) AND status = 'completed'"
        " AND assigned_at IS NOT NULL AND completed_at IS NOT NULL"
        ") recent WHERE n <= %s ORDER BY agency_code, completed_at DESC",
        (list(agency_codes), limit),
    )
    found: dict[str, list[tuple[datetime, datetime]]] = {}
    for r in rows:
        found.setdefault(r["agency_code"], []).append((r["assigned_at"], r["completed_at"]))
    return found


def at_risk_raised(uow: UnitOfWork, s: Step) -> bool:
    """Was `step.at_risk` raised for this hand-over (the step's current attempt) already?"""
    row = uow.fetchone(
        "SELECT 1 FROM step_actions WHERE dossier_code = %s AND step_id = %s "
        "AND action = 'at_risk' AND (details->>'attempt')::int = %s LIMIT 1",
        (s.dossier_code, s.id, s.attempt),
    )
    return row is not None


def set_apology(uow: UnitOfWork, code: str, apology: dict[str, Any]) -> None:
    uow.execute("UPDATE routes SET apology = %s WHERE dossier_code = %s", (Jsonb(apology), code))


def supplement_requested_before(uow: UnitOfWork, code: str) -> bool:
    """The law allows one supplement request per dossier, whichever agency asks."""
    row = uow.fetchone(
        "SELECT 1 FROM step_actions WHERE dossier_code = %s AND action = 'supplement_requested' "
        "LIMIT 1",
        (code,),
    )
    return row is not None
