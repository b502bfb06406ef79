"""Small DependencyProviders every service uses: the clock and the working-day calendar."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nameko.extensions import DependencyProvider

from motcua_kit.config import setting
from motcua_kit.workcal import WorkCalendar


class Clock(DependencyProvider):
    """`self.now()` — a seam so tests can fix the time of a worker."""

    def get_dependency(self, worker_ctx: Any) -> Any:
        return lambda: datetime.now(UTC)


class Calendar(DependencyProvider):
    """The working-day calendar: public holidays plus the operator's file (`CALENDAR_FILE`)."""

    def setup(self) -> None:
        path = setting(self.container.config, "CALENDAR_FILE")
        if path and Path(path).exists():
            self.calendar = WorkCalendar.from_file(path)
        elif path:
            raise RuntimeError(f"CALENDAR_FILE {path} does not exist")
        else:
            self.calendar = WorkCalendar()

    def get_dependency(self, worker_ctx: Any) -> WorkCalendar:
        return self.calendar
