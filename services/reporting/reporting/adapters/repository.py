"""reporting's SQL: the archive, the facts per dossier and step, and the daily aggregates."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from motcua_kit.db import UnitOfWork
from psycopg.types.json import Jsonb

from reporting.domain.facts import Received

PROJECTIONS = (
    "dossiers",
    "fields",
    "steps",
    "evaluations",
    "daily_dossiers",
    "daily_steps",
    "daily_notifications",
)


# --- the archive -------------------------------------------------------------------------------


def archive(uow: UnitOfWork, event: dict[str, Any], source: str) -> bool:
    """Keep the event; False if it was already kept (a redelivery)."""
    row = uow.fetchone(
        "INSERT INTO events (id, source, type, subject, time, payload)"
        " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING RETURNING seq",
        (event["id"], source, event["type"], event.get("subject"), event["time"], Jsonb(event)),
    )
    return row is not None


def sequence(uow: UnitOfWork, event_id: str) -> None:
    """Number an event once its effects hold their row locks: of two events touching the same
    rows, the one applied first gets the lower `seq`, so a rebuild applies them in that order."""
    uow.execute(
        "UPDATE events SET seq = nextval(pg_get_serial_sequence('events', 'seq')) WHERE id = %s",
        (event_id,),
    )


def archived(uow: UnitOfWork, after_seq: int, limit: int) -> list[dict[str, Any]]:
    return uow.fetchall(
        "SELECT seq, payload FROM events WHERE seq > %s ORDER BY seq LIMIT %s", (after_seq, limit)
    )


def clear_projections(uow: UnitOfWork) -> None:
    uow.execute(f"TRUNCATE {', '.join(PROJECTIONS)}")


def last_applied(uow: UnitOfWork) -> dict[str, Any] | None:
    """The event applied last: when it happened and when it reached reporting."""
    return uow.fetchone("SELECT time, archived_at FROM events ORDER BY seq DESC LIMIT 1")


def events_by_type(uow: UnitOfWork) -> list[dict[str, Any]]:
    return uow.fetchall("SELECT type, count(*) AS n FROM events GROUP BY type")


# --- dossiers ----------------------------------------------------------------------------------


def add_dossier(uow: UnitOfWork, r: Received) -> bool:
    row = uow.fetchone(
        "INSERT INTO dossiers (code, unit, procedure_code, procedure_name, field, channel,"
        " return_method, received_at, due_at, original_due_at, status, status_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'received', %s)"
        " ON CONFLICT (code) DO NOTHING RETURNING code",
        (
            r.code,
            r.unit,
            r.procedure_code,
            r.procedure_name,
            r.field,
            r.channel,
            r.return_method,
            r.received_at,
            r.due_at,
            r.due_at,
            r.received_at,
        ),
    )
    return row is not None


def name_field(uow: UnitOfWork, r: Received) -> None:
    uow.execute(
        "INSERT INTO fields (code, name_vi, name_en) VALUES (%s, %s, %s)"
        " ON CONFLICT (code) DO UPDATE SET name_vi = EXCLUDED.name_vi, name_en = EXCLUDED.name_en",
        (r.field, r.field_name.get("vi") or r.field, r.field_name.get("en") or ""),
    )


def field_names(uow: UnitOfWork) -> dict[str, dict[str, str]]:
    rows = uow.fetchall("SELECT code, name_vi, name_en FROM fields")
    return {row["code"]: {"vi": row["name_vi"], "en": row["name_en"]} for row in rows}


def dossier(uow: UnitOfWork, code: str) -> dict[str, Any] | None:
    return uow.fetchone("SELECT * FROM dossiers WHERE code = %s FOR UPDATE", (code,))


def set_status(uow: UnitOfWork, code: str, status: str, at: datetime) -> None:
    """Only a later event moves the status: events may be applied out of order."""
    uow.execute(
        "UPDATE dossiers SET status = %s, status_at = %s WHERE code = %s AND status_at <= %s",
        (status, at, code, at),
    )


def update_dossier(uow: UnitOfWork, code: str, **values: Any) -> None:
    assignments = ", ".join(f"{column} = %({column})s" for column in values)
    uow.execute(
        f"UPDATE dossiers SET {assignments} WHERE code = %(code)s",  # noqa: S608 (fixed names)
        {**values, "code": code},
    )


def add_to_dossier(uow: UnitOfWork, code: str, **increments: Any) -> None:
    assignments = ", ".join(f"{column} = {column} + %({column})s" for column in increments)
    uow.execute(
        f"UPDATE dossiers SET {assignments} WHERE code = %(code)s",  # noqa: S608 (fixed names)
        {**increments, "code": code},
    )


def count_day(uow: UnitOfWork, day: date, dossier: dict[str, Any], **counts: float) -> None:
    """Add to the dossier's day row (its unit, procedure, field and channel)."""
    columns = list(counts)
    uow.execute(
        f"INSERT INTO daily_dossiers (day, unit, procedure_code, field, channel, {', '.join(columns)})"  # noqa: S608
        f" VALUES (%(day)s, %(unit)s, %(procedure_code)s, %(field)s, %(channel)s,"
        f" {', '.join('%(' + c + ')s' for c in columns)})"
        " ON CONFLICT (day, unit, procedure_code, field, channel) DO UPDATE SET "
        + ", ".join(f"{c} = daily_dossiers.{c} + EXCLUDED.{c}" for c in columns),
        {
            "day": day,
            "unit": dossier["unit"],
            "procedure_code": dossier["procedure_code"],
            "field": dossier["field"],
            "channel": dossier["channel"],
            **counts,
        },
    )


def add_evaluation(uow: UnitOfWork, dossier: dict[str, Any], at: datetime, ratings: Any) -> bool:
    """Keep the ratings with the dossier's facts and the agencies that held its steps."""
    row = uow.fetchone(
        "INSERT INTO evaluations (code, unit, procedure_code, field, agencies, at, overall, ratings)"
        " SELECT %(code)s, %(unit)s, %(procedure_code)s, %(field)s,"
        " coalesce((SELECT array_agg(DISTINCT agency ORDER BY agency) FROM steps"
        "   WHERE code = %(code)s), '{}'), %(at)s, %(overall)s, %(ratings)s"
        " ON CONFLICT (code) DO NOTHING RETURNING code",
        {
            "code": dossier["code"],
            "unit": dossier["unit"],
            "procedure_code": dossier["procedure_code"],
            "field": dossier["field"],
            "at": at,
            "overall": (ratings or {}).get("overall"),
            "ratings": Jsonb(ratings or {}),
        },
    )
    return row is not None


# --- steps -------------------------------------------------------------------------------------


def upsert_step(uow: UnitOfWork, values: dict[str, Any]) -> bool:
    """Record a step's state as of `status_at`; an older event does not overwrite a newer one.
    Returns False when the event was older than what is recorded."""
    row = uow.fetchone(
        "INSERT INTO steps (step_id, code, unit, agency, role, stage, attempt, status, status_at,"
        " open, assigned_at, due_at, completed_at, timeliness, task)"
        " VALUES (%(step_id)s, %(code)s, %(unit)s, %(agency)s, %(role)s, %(stage)s, %(attempt)s,"
        " %(status)s, %(status_at)s, %(open)s, %(assigned_at)s, %(due_at)s, %(completed_at)s,"
        " %(timeliness)s, %(task)s)"
        " ON CONFLICT (step_id) DO UPDATE SET agency = EXCLUDED.agency, role = EXCLUDED.role,"
        " attempt = EXCLUDED.attempt, status = EXCLUDED.status, status_at = EXCLUDED.status_at,"
        " open = EXCLUDED.open, assigned_at = coalesce(EXCLUDED.assigned_at, steps.assigned_at),"
        " due_at = coalesce(EXCLUDED.due_at, steps.due_at),"
        " completed_at = coalesce(EXCLUDED.completed_at, steps.completed_at),"
        " timeliness = coalesce(EXCLUDED.timeliness, steps.timeliness),"
        " task = coalesce(EXCLUDED.task, steps.task)"
        " WHERE steps.status_at <= EXCLUDED.status_at RETURNING step_id",
        values,
    )
    return row is not None


def mark_step(uow: UnitOfWork, step_id: str, **values: Any) -> None:
    assignments = ", ".join(f"{column} = %({column})s" for column in values)
    uow.execute(
        f"UPDATE steps SET {assignments} WHERE step_id = %(step_id)s",  # noqa: S608 (fixed names)
        {**values, "step_id": step_id},
    )


def close_steps(uow: UnitOfWork, code: str, at: datetime) -> None:
    uow.execute(
        "UPDATE steps SET open = false, status = 'closed', status_at = %s"
        " WHERE code = %s AND open AND status_at <= %s",
        (at, code, at),
    )


def count_step_day(uow: UnitOfWork, day: date, agency: str, unit: str, timeliness: str) -> None:
    column = f"completed_{timeliness}"
    uow.execute(
        f"INSERT INTO daily_steps (day, agency, unit, {column}) VALUES (%s, %s, %s, 1)"  # noqa: S608
        f" ON CONFLICT (day, agency, unit) DO UPDATE SET {column} = daily_steps.{column} + 1",
        (day, agency, unit),
    )


def count_notification(
    uow: UnitOfWork, day: date, channel: str, message: str, outcome: str
) -> None:
    uow.execute(
        "INSERT INTO daily_notifications (day, channel, message, outcome, n)"
        " VALUES (%s, %s, %s, %s, 1) ON CONFLICT (day, channel, message, outcome)"
        " DO UPDATE SET n = daily_notifications.n + 1",
        (day, channel, message, outcome),
    )
