"""The reports supervisors read: statistics, late dossiers, satisfaction, the 766 index."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from motcua_kit import access
from motcua_kit.access import Units
from motcua_kit.auth import Officer
from motcua_kit.db import UnitOfWork
from motcua_kit.workcal import WorkCalendar

from reporting import metrics
from reporting.adapters import queries
from reporting.adapters import repository as repo
from reporting.domain import indices, statistics
from reporting.domain.facts import VN

CRITERIA = (
    "overall",
    "convenience",
    "on_time",
    "staff_attitude",
    "total_time",
    "time_per_agency",
    "contacts",
    "agencies",
    "desk_handling",
    "publicity",
    "feedback_response",
    "online_service",
)


@dataclass(frozen=True)
class Period:
    """Days `first`..`last` inclusive, in Vietnam's time."""

    first: date
    last: date

    @property
    def end(self) -> date:
        return self.last + timedelta(days=1)

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.first, time(), tzinfo=VN)

    @property
    def end_at(self) -> datetime:
        return datetime.combine(self.end, time(), tzinfo=VN)

    @classmethod
    def asked(cls, first: date | None, last: date | None, now: datetime) -> Period:
        """The period a supervisor asked for; unsaid ends: 1 January of this year, today."""
        today = now.astimezone(VN).date()
        return cls(first or date(today.year, 1, 1), last or today)

    def as_dict(self) -> dict[str, str]:
        return {"from": self.first.isoformat(), "to": self.last.isoformat()}


def statistics_report(
    uow: UnitOfWork, period: Period, filters: dict[str, Any], now: datetime
) -> dict[str, Any]:
    daily = queries.daily_by_field(uow, period.first, period.end, filters)
    still_open = queries.open_by_field(uow, period.end_at, now, filters)
    report = statistics.statistics(daily, still_open)
    agencies = statistics.agency_rates(
        queries.steps_by_agency(uow, period.first, period.end, filters)
    )
    return {
        "period": period.as_dict(),
        "filters": _shown(filters),
        **report,
        "by_agency": agencies,
    }


def late_report(
    uow: UnitOfWork,
    calendar: WorkCalendar,
    filters: dict[str, Any],
    now: datetime,
    risk: float,
    limit: int = 500,
) -> dict[str, Any]:
    rows = queries.late_or_at_risk(uow, now, risk, filters, limit)
    items = []
    for row in rows:
        late = row["due_at"] < now
        items.append(
            {
                "code": row["code"],
                "unit": row["unit"],
                "procedure": {"code": row["procedure_code"], "name": row["procedure_name"]},
                "field": row["field"],
                "status": row["status"],
                "received_at": row["received_at"].isoformat(),
                "due_at": row["due_at"].isoformat(),
                "state": "overdue"
                if late
                else "step_overdue"
                if row["step_overdue"]
                else "at_risk",
                "overdue_working_days": round(calendar.working_days_between(row["due_at"], now), 2)
                if late
                else 0,
                "risk": row["risk"],
                "held_by": row["held_by"],
            }
        )
    return {"as_of": now.isoformat(), "filters": _shown(filters), "dossiers": items}


def satisfaction_report(uow: UnitOfWork, period: Period, filters: dict[str, Any]) -> dict[str, Any]:
    counts = queries.rating_counts(uow, period.start_at, period.end_at, filters)
    evaluations = sum(int(row["n"]) for row in _overall_of(uow, period, filters))
    return {
        "period": period.as_dict(),
        "filters": _shown(filters),
        **statistics.satisfaction(counts, evaluations, CRITERIA),
    }


def _overall_of(uow: UnitOfWork, period: Period, filters: dict[str, Any]) -> list[dict[str, Any]]:
    return queries.overall_counts(uow, period.start_at, period.end_at, filters)


def indices_report(
    uow: UnitOfWork, period: Period, filters: dict[str, Any], now: datetime
) -> dict[str, Any]:
    totals = statistics_report(uow, period, filters, now)["totals"]
    rated = statistics.overall(_overall_of(uow, period, filters))
    counts = indices.Counts(
        finished=totals["completed"],
        finished_on_time=totals["completed_early"] + totals["completed_on_time"],
        evaluations=rated["answers"],
        satisfied=rated["very_satisfied"] + rated["satisfied"],
        received=totals["received"],
        received_online=totals["received_online"],
        paid_known=0,  # no event says how a fee was paid yet
        paid_online=0,
        results=totals["completed"],
        electronic_results=totals["electronic_results"],
    )
    return {"period": period.as_dict(), "filters": _shown(filters), **indices.index(counts)}


def dashboard(
    uow: UnitOfWork, period: Period, filters: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """What the dashboard page draws."""
    stats = statistics_report(uow, period, filters, now)
    return {
        "period": period.as_dict(),
        "as_of": now.isoformat(),
        "totals": stats["totals"],
        "weekly": statistics.weekly_on_time(
            queries.completed_by_day(uow, period.first, period.end, filters)
        ),
        "by_agency": stats["by_agency"],
        "open_by_agency": [
            {"agency": r["agency"], "open": r["open"], "overdue": r["overdue"]}
            for r in queries.open_by_agency(uow, now, filters)
        ],
        "satisfaction": statistics.overall(_overall_of(uow, period, filters)),
    }


# Agencies a gauge was set for, so one whose steps all closed is set back to zero.
_gauged: set[str] = set()


def refresh_gauges(uow: UnitOfWork, now: datetime) -> None:
    seen = set()
    for row in queries.open_by_agency(uow, now):
        metrics.OPEN.labels(row["agency"]).set(row["open"])
        metrics.OVERDUE.labels(row["agency"]).set(row["overdue"])
        seen.add(row["agency"])
    for agency in _gauged - seen:
        metrics.OPEN.labels(agency).set(0)
        metrics.OVERDUE.labels(agency).set(0)
    _gauged.update(seen)
    last = repo.last_applied(uow)
    if last:
        metrics.LAG.set(max(0.0, (last["archived_at"] - last["time"]).total_seconds()))
        metrics.AGE.set(max(0.0, (now - last["time"]).total_seconds()))


def _shown(filters: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in filters.items() if v and k != "units"}


def scoped(filters: dict[str, Any], officer: Officer, units: Units) -> dict[str, Any]:
    """The filters narrowed to what the caller oversees: a unit they name must be theirs or
    below theirs (else 403); with none named, the figures cover exactly the units they oversee."""
    unit = filters.get("unit")
    if unit and not access.oversees(officer, unit, units):
        raise access.out_of_scope("Không có quyền xem báo cáo của đơn vị này")
    seen = access.overseen_units(officer, units)
    return {**filters, "units": None if seen is None else sorted(seen)}


def scope_title(filters: dict[str, Any], officer: Officer, units: Units) -> str:
    """What the figures cover, in words, for the head of an export."""
    if filters.get("unit"):
        return f"{units.name(filters['unit'])} ({filters['unit']})"
    if filters.get("units") is not None:
        below = " và các đơn vị trực thuộc" if len(filters["units"]) > 1 else ""
        return f"{units.name(officer.unit)} ({officer.unit}){below}"
    return "Tất cả đơn vị"
