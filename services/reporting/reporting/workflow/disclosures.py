"""Reads of reports an officer takes away (exports, the late list): recorded in the audit trail,
in the chain of the reader's unit (`unit:<code>`), with what was asked for."""

from __future__ import annotations

from typing import Any

from motcua_kit import audit
from motcua_kit.auth import Officer
from motcua_kit.db import UnitOfWork


def disclosed(
    uow: UnitOfWork, officer: Officer, report: str, filters: dict[str, Any], period: Any = None
) -> None:
    details: dict[str, Any] = {"report": report, "filters": filters}
    if period is not None:
        details["period"] = {"first": str(period.first), "last": str(period.last)}
    audit.record_by(
        uow, f"unit:{officer.unit}", "read.report", audit.by_officer(officer), None, details
    )
