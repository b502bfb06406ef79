"""Lateness risk (beyond the law): an estimate from the agency's backlog and recent pace."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from motcua_kit.db import UnitOfWork
from motcua_kit.workcal import WorkCalendar

from routing import metrics
from routing.adapters import repository as repo
from routing.domain import route as steps_rules
from routing.domain.agencies import Registry
from routing.domain.deadlines import lateness_risk
from routing.domain.route import HELD, Step
from routing.providers import Policy
from routing.workflow.engine import SYSTEM, iso, schedule_risk_check, step_data

log = logging.getLogger(__name__)

RECENT_COMPLETIONS = 20  # an agency's recent pace: its last completed steps

# --- lateness risk (beyond the law: an estimate from the agency's backlog and pace) -------------


@dataclass(frozen=True)
class Workload:
    """An agency's desk: the open steps it holds and its recent working days per finished step."""

    open_steps: int
    recent_days: tuple[float, ...]

    def backlog(self, s: Step) -> int:
        """The open steps the agency holds besides ``s`` (counted in ``open_steps`` if open)."""
        return max(self.open_steps - (1 if s.status in steps_rules.OPEN else 0), 0)


def workloads(
    uow: UnitOfWork, calendar: WorkCalendar, agency_codes: Sequence[str]
) -> dict[str, Workload]:
    """Each agency's workload: open steps, and its last completed steps in working days."""
    codes = sorted(set(agency_codes))
    if not codes:
        return {}
    counts = repo.open_step_counts(uow, codes)
    recent = repo.recent_completions(uow, codes, RECENT_COMPLETIONS)
    return {
        code: Workload(
            counts.get(code, 0),
            tuple(calendar.working_days_between(a, b) for a, b in recent.get(code, [])),
        )
        for code in codes
    }


def step_risk(s: Step, load: Workload, now: datetime, calendar: WorkCalendar) -> float | None:
    """The risk (0..1) that a held step finishes late; None unless its clock runs (held)."""
    if s.status not in HELD or s.due_at is None:
        return None
    return lateness_risk(now, s.due_at, load.backlog(s), load.recent_days, calendar)


def rounded(risk: float | None) -> float | None:
    return None if risk is None else round(risk, 2)


def check_risk(
    uow: UnitOfWork, calendar: WorkCalendar, policy: Policy, step_id: str, now: datetime
) -> None:
    """The `step.risk_check` timer: warn the holder's supervisor before the step is due.

    Raised once per hand-over (step and attempt), while the step is held and not yet due; the
    next check is armed until then. Once due, `step.overdue` speaks instead.
    """
    s = repo.step(uow, step_id)
    if s is None or s.status not in HELD or s.due_at is None or now >= s.due_at:
        return
    if repo.at_risk_raised(uow, s):
        return
    load = workloads(uow, calendar, [s.agency_code])[s.agency_code]
    risk = step_risk(s, load, now, calendar)
    if risk is None or risk < policy.risk_threshold:
        schedule_risk_check(uow, policy, s, now)
        return
    details = {"attempt": s.attempt, "lateness_risk": round(risk, 2), "backlog": load.backlog(s)}
    repo.record_action(uow, s, "at_risk", SYSTEM, now, details)
    data = {
        **step_data(s),
        "at": iso(now),
        "lateness_risk": details["lateness_risk"],
        "backlog": details["backlog"],
        "escalate_to": {"agency": s.agency_code, "role": "supervisor"},
    }
    uow.emit("step.at_risk", s.dossier_code, data)


def at_risk_by_agency(
    uow: UnitOfWork, calendar: WorkCalendar, policy: Policy, now: datetime
) -> dict[str, int]:
    """Held steps not yet due whose lateness risk is at least the threshold, per agency."""
    held = [s for s in repo.held_steps(uow) if s.due_at is not None and now < s.due_at]
    loads = workloads(uow, calendar, [s.agency_code for s in held])
    counts: dict[str, int] = {}
    for s in held:
        risk = step_risk(s, loads[s.agency_code], now, calendar)
        if risk is not None and risk >= policy.risk_threshold:
            counts[s.agency_code] = counts.get(s.agency_code, 0) + 1
    return counts


def refresh_gauges(
    uow: UnitOfWork, registry: Registry, calendar: WorkCalendar, policy: Policy, now: datetime
) -> None:
    """The per-agency step gauges, at scrape time; an agency with nothing open reads 0."""
    rows = {r["agency_code"]: r for r in repo.open_and_overdue_by_agency(uow, now)}
    at_risk = at_risk_by_agency(uow, calendar, policy, now)
    for code in sorted(set(registry.agencies) | set(rows)):
        row = rows.get(code, {})
        metrics.OPEN_STEPS.labels(code).set(row.get("open", 0))
        metrics.OVERDUE_STEPS.labels(code).set(row.get("overdue", 0))
        metrics.STEPS_AT_RISK.labels(code).set(at_risk.get(code, 0))
