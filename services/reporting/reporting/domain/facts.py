"""What an event says about a dossier or a step, in the terms reports count in. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from motcua_kit.workcal import WorkCalendar

VN = ZoneInfo("Asia/Ho_Chi_Minh")
TIMELINESS = ("early", "on_time", "late")
OPEN_STEP = ("assigned", "accepted", "awaiting_supplement")


def instant(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def when(event: dict[str, Any]) -> datetime:
    """When it happened: the data's own `at` where it has one, else the event's time."""
    at = instant(event["data"].get("at")) or instant(event["time"])
    assert at is not None
    return at


def local_day(at: datetime) -> date:
    """Reports count by the day in Vietnam, not in UTC (a dossier at 06:30 is today's)."""
    return at.astimezone(VN).date()


def unit_of(code: str) -> str:
    """The receiving unit is the first part of the dossier code: `<unit>-YYMMDD-NNNN`."""
    return code.rsplit("-", 2)[0]


@dataclass(frozen=True)
class Received:
    code: str
    unit: str
    procedure_code: str
    procedure_name: str
    field: str
    field_name: dict[str, str]
    channel: str
    return_method: str
    received_at: datetime
    due_at: datetime


def received(data: dict[str, Any]) -> Received:
    procedure = data.get("procedure") or {}
    name = procedure.get("name") or {}
    received_at, due_at = instant(data["received_at"]), instant(data["due_at"])
    assert received_at is not None and due_at is not None
    return Received(
        code=data["code"],
        unit=data.get("unit") or unit_of(data["code"]),
        procedure_code=str(procedure.get("code") or ""),
        procedure_name=str(name.get("vi") or "") if isinstance(name, dict) else str(name or ""),
        field=str(procedure.get("field") or ""),
        field_name=dict(procedure.get("field_name") or {}),
        channel=str(data.get("channel") or "desk"),
        return_method=str(data.get("return_method") or "desk"),
        received_at=received_at,
        due_at=due_at,
    )


def processing_days(
    calendar: WorkCalendar, received_at: datetime, finished_at: datetime, paused: float
) -> float:
    """Working days from reception to result, less the days the clock was stopped for supplements."""
    return round(max(0.0, calendar.working_days_between(received_at, finished_at) - paused), 4)


def timeliness(value: Any) -> str:
    return value if value in TIMELINESS else "on_time"
