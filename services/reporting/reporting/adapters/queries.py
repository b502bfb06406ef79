"""reporting's read queries. Filters are whitelisted column names; values are parameters."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from motcua_kit.db import UnitOfWork

DAILY_SUMS = (
    "received",
    "supplement_requested",
    "refused",
    "withdrawn",
    "completed_early",
    "completed_on_time",
    "completed_late",
    "processing_days",
    "electronic_results",
    "returned",
)
# filter name -> column, in daily_dossiers and dossiers alike
DOSSIER_FILTERS = {"unit": "unit", "procedure": "procedure_code", "field": "field"}


def _where(filters: dict[str, Any], alias: str = "") -> tuple[str, dict[str, Any]]:
    prefix = f"{alias}." if alias else ""
    clauses, params = [], {}
    for name, column in DOSSIER_FILTERS.items():
        if filters.get(name):
            clauses.append(f"{prefix}{column} = %(f_{name})s")
            params[f"f_{name}"] = filters[name]
    clause, scope = _units_clause(filters, prefix)
    return "".join(f" AND {c}" for c in clauses) + clause, {**params, **scope}


def _units_clause(filters: dict[str, Any], prefix: str = "") -> tuple[str, dict[str, Any]]:
    """The caller's scope: `units` (a list) when the caller oversees only some units."""
    if filters.get("units") is None:
        return "", {}
    return f" AND {prefix}unit = ANY (%(f_units)s)", {"f_units": list(filters["units"])}


def daily_by_field(
    uow: UnitOfWork, start: date, end: date, filters: dict[str, Any]
) -> list[dict[str, Any]]:
    """Per field: what happened in [start, end), what was carried over from before `start`."""
    where, params = _where(filters)
    in_period = ", ".join(
        f"coalesce(sum({c}) FILTER (WHERE day >= %(start)s), 0) AS {c}" for c in DAILY_SUMS
    )
    return uow.fetchall(
        f"SELECT field, {in_period},"  # noqa: S608 (column names are constants)
        " coalesce(sum(received) FILTER (WHERE day >= %(start)s AND channel = 'online'), 0)"
        "   AS received_online,"
        " coalesce(sum(received - refused - withdrawn - completed_early - completed_on_time"
        "   - completed_late) FILTER (WHERE day < %(start)s), 0) AS carried_over"
        f" FROM daily_dossiers WHERE day < %(end)s{where} GROUP BY field ORDER BY field",
        {"start": start, "end": end, **params},
    )


def open_by_field(
    uow: UnitOfWork, end: datetime, now: datetime, filters: dict[str, Any]
) -> list[dict[str, Any]]:
    """Dossiers not finished at `end`: paused for supplements, within their time, or overdue
    (as of `end`, or now if the period runs to today)."""
    where, params = _where(filters)
    cutoff = min(end, now)
    return uow.fetchall(
        "SELECT field, count(*) AS in_progress,"
        " count(*) FILTER (WHERE status = 'awaiting_supplement') AS awaiting_supplement,"
        " count(*) FILTER (WHERE status <> 'awaiting_supplement' AND due_at < %(cutoff)s)"
        "   AS in_progress_overdue"
        " FROM dossiers WHERE received_at < %(end)s"
        f" AND (ended_at IS NULL OR ended_at >= %(end)s){where}"  # noqa: S608
        " GROUP BY field",
        {"end": end, "cutoff": cutoff, **params},
    )


def steps_by_agency(
    uow: UnitOfWork, start: date, end: date, filters: dict[str, Any]
) -> list[dict[str, Any]]:
    clauses, params = ["day >= %(start)s", "day < %(end)s"], {"start": start, "end": end}
    if filters.get("unit"):
        clauses.append("unit = %(unit)s")
        params["unit"] = filters["unit"]
    if filters.get("agency"):
        clauses.append("agency = %(agency)s")
        params["agency"] = filters["agency"]
    scope, scope_params = _units_clause(filters)
    return uow.fetchall(
        "SELECT agency, sum(completed_early) AS early, sum(completed_on_time) AS on_time,"
        " sum(completed_late) AS late FROM daily_steps"
        f" WHERE {' AND '.join(clauses)}{scope} GROUP BY agency ORDER BY agency",  # noqa: S608
        {**params, **scope_params},
    )


def open_by_agency(
    uow: UnitOfWork, now: datetime, filters: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Per agency: dossiers it holds a step of now, and those whose step is past due."""
    clauses, params = ["open"], {"now": now}
    for name in ("unit", "agency"):
        if (filters or {}).get(name):
            clauses.append(f"{name} = %({name})s")
            params[name] = (filters or {})[name]
    scope, scope_params = _units_clause(filters or {})
    return uow.fetchall(
        "SELECT agency, count(DISTINCT code) AS open, count(DISTINCT code) FILTER"
        " (WHERE status <> 'awaiting_supplement' AND due_at < %(now)s) AS overdue"
        f" FROM steps WHERE {' AND '.join(clauses)}{scope} GROUP BY agency ORDER BY agency",  # noqa: S608
        {**params, **scope_params},
    )


def late_or_at_risk(
    uow: UnitOfWork, now: datetime, risk: float, filters: dict[str, Any], limit: int
) -> list[dict[str, Any]]:
    """Open dossiers past their appointment, or holding a step past its due time or at risk;
    with the agencies that hold them. Oldest appointment first."""
    where, params = _where(filters, "d")
    agency = ""
    if filters.get("agency"):
        agency = " AND %(f_agency)s = ANY (array_agg(s.agency) FILTER (WHERE s.open))"
        params["f_agency"] = filters["agency"]
    return uow.fetchall(
        "SELECT d.code, d.unit, d.procedure_code, d.procedure_name, d.field, d.status,"
        " d.received_at, d.due_at,"
        " coalesce(jsonb_agg(jsonb_build_object('agency', s.agency, 'step_id', s.step_id,"
        "   'task', s.task, 'due_at', s.due_at, 'at_risk', s.at_risk, 'status', s.status)"
        "   ORDER BY s.step_id) FILTER (WHERE s.open), '[]') AS held_by,"
        " bool_or(s.open AND s.status <> 'awaiting_supplement' AND s.due_at < %(now)s)"
        "   AS step_overdue,"
        " max(s.at_risk) FILTER (WHERE s.open) AS risk"
        " FROM dossiers d LEFT JOIN steps s ON s.code = d.code AND s.open"
        f" WHERE d.ended_at IS NULL AND d.status <> 'awaiting_supplement'{where}"  # noqa: S608
        " GROUP BY d.code"
        " HAVING (d.due_at < %(now)s"
        "   OR bool_or(s.open AND s.status <> 'awaiting_supplement' AND s.due_at < %(now)s)"
        f"   OR max(s.at_risk) FILTER (WHERE s.open) >= %(risk)s){agency}"
        " ORDER BY d.due_at, d.code LIMIT %(limit)s",
        {"now": now, "risk": risk, "limit": limit, **params},
    )


def _evaluation_filters(filters: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    where, params = _where(filters)
    if filters.get("agency"):
        where += " AND %(f_agency)s = ANY (agencies)"
        params["f_agency"] = filters["agency"]
    return where, params


def rating_counts(
    uow: UnitOfWork, start: datetime, end: datetime, filters: dict[str, Any]
) -> list[dict[str, Any]]:
    """Answers per criterion and level: in all (`scope` all), per unit and per agency."""
    where, params = _evaluation_filters(filters)
    return uow.fetchall(
        "WITH r AS (SELECT e.unit, e.agencies, kv.key AS criterion, kv.value AS level"
        " FROM evaluations e, jsonb_each_text(e.ratings) kv"
        f" WHERE e.at >= %(start)s AND e.at < %(end)s{where})"
        " SELECT 'all' AS scope, '' AS key, criterion, level, count(*) AS n FROM r"
        " GROUP BY criterion, level"
        " UNION ALL SELECT 'unit', unit, criterion, level, count(*) FROM r"
        " GROUP BY unit, criterion, level"
        " UNION ALL SELECT 'agency', agency, criterion, level, count(*)"
        " FROM r, unnest(r.agencies) AS agency GROUP BY agency, criterion, level",
        {"start": start, "end": end, **params},
    )


def overall_counts(
    uow: UnitOfWork, start: datetime, end: datetime, filters: dict[str, Any]
) -> list[dict[str, Any]]:
    """Evaluations per overall rating (all that the index and the dashboard need)."""
    where, params = _evaluation_filters(filters)
    return uow.fetchall(
        "SELECT overall AS level, count(*) AS n FROM evaluations"
        f" WHERE at >= %(start)s AND at < %(end)s{where} GROUP BY overall",
        {"start": start, "end": end, **params},
    )


def completed_by_day(
    uow: UnitOfWork, start: date, end: date, filters: dict[str, Any]
) -> list[dict[str, Any]]:
    where, params = _where(filters)
    return uow.fetchall(
        "SELECT day, sum(completed_early) AS early, sum(completed_on_time) AS on_time,"
        " sum(completed_late) AS late, sum(received) AS received FROM daily_dossiers"
        f" WHERE day >= %(start)s AND day < %(end)s{where} GROUP BY day ORDER BY day",  # noqa: S608
        {"start": start, "end": end, **params},
    )


def notifications(uow: UnitOfWork, start: date, end: date) -> list[dict[str, Any]]:
    return uow.fetchall(
        "SELECT channel, outcome, sum(n) AS n FROM daily_notifications"
        " WHERE day >= %s AND day < %s GROUP BY channel, outcome ORDER BY channel, outcome",
        (start, end),
    )
