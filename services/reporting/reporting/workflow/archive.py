"""Keeping every event and applying it; rebuilding the facts from what was kept."""

from __future__ import annotations

import logging
from typing import Any

from motcua_kit.db import UnitOfWork
from motcua_kit.workcal import WorkCalendar

from reporting import metrics
from reporting.adapters import repository as repo
from reporting.workflow.projection import project

log = logging.getLogger(__name__)


def consume_event(
    uow: UnitOfWork, calendar: WorkCalendar, source: str, event: dict[str, Any]
) -> bool:
    """Archive and apply, in one transaction; False for an event already kept."""
    if not repo.archive(uow, event, source):
        return False
    project(uow, calendar, event)
    repo.sequence(uow, event["id"])
    metrics.EVENTS.labels(source, event["type"]).inc()
    return True


def rebuild(uow: UnitOfWork, calendar: WorkCalendar, batch: int = 5000) -> int:
    """Empty the facts and apply the archive again, in the order it was applied live.

    One transaction: readers see the old tables until the new ones are complete.
    """
    repo.clear_projections(uow)
    applied, last = 0, 0
    while rows := repo.archived(uow, last, batch):
        for row in rows:
            project(uow, calendar, row["payload"])
        applied += len(rows)
        last = rows[-1]["seq"]
        log.info("rebuild: %s events applied", applied)
    return applied
