"""Working-day calendar: deadlines in working days (ngày làm việc) for one-stop desks.

Rules (see docs/domain.md, "Working days and deadlines"):

* A working day is Monday-Friday, minus Vietnamese public holidays (``holidays`` package,
  ``country_holidays("VN")``, including the observed/substitute days it knows), minus the
  operator's extra ``days_off``, plus the operator's ``makeup_workdays`` (làm bù, even on a
  Saturday). A date listed in both operator lists is an error.
* All datetimes must be timezone-aware (naive input raises ``ValueError``); results are in the
  calendar's tz. Office hours are local wall-clock sessions (default 07:00-11:30, 13:30-17:00,
  so a day is 8 hours). A session is half-open: 17:00 itself is after hours.
* ``working_start(t)``: ``t`` itself if inside a session on a working day, else the next opening.
* ``add_working_days(start, n)`` adds ``n x day_length`` of office time counted from
  ``working_start(start)``: Monday 10:00 + 3 -> Thursday 10:00. A sum landing exactly on a
  session close stays there: Monday 07:00 + 3 -> Wednesday 17:00 (not Thursday 07:00).
  ``n == 0`` means "within the same working day": the close of ``working_start(start)``'s day.
* ``cutoff`` (per-procedure, local wall-clock, e.g. 15:00): a start on a working day at or after
  the cut-off counts from the next working day's opening (days=0, 15:30 -> next day 17:00).
* ``working_days_between(a, b)``: office time between ``a`` and ``b`` divided by the day
  length (lunch, nights, weekends and holidays excluded); negative when ``b < a``.
* ``holiday_name(d)``: the public-holiday name (Vietnamese), else the operator's note for an
  extra day off; ``None`` for ordinary days, plain weekends and make-up working days.

Holidays and working days are computed once per year and cached, so adding days costs a few
bisections per year crossed rather than a loop over every day.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import MAXYEAR, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import holidays

__all__ = ["DEFAULT_OFFICE_HOURS", "VN_TZ", "OfficeHours", "WorkCalendar"]

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

# Pinned so names do not depend on the server's locale (the package's default follows it).
_HOLIDAY_LANGUAGE = "vi"
_DEFAULT_DAY_OFF_NAME = "Ngày nghỉ"
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_FILE_LISTS = ("days_off", "makeup_workdays")


@dataclass(frozen=True)
class OfficeHours:
    """Daily office sessions as local wall-clock (start, end) pairs, in order, not overlapping."""

    sessions: tuple[tuple[time, time], ...] = (
        (time(7, 0), time(11, 30)),
        (time(13, 30), time(17, 0)),
    )

    def __post_init__(self) -> None:
        if not self.sessions:
            raise ValueError("office hours need at least one session")
        previous_end: time | None = None
        for start, end in self.sessions:
            if start.tzinfo is not None or end.tzinfo is not None:
                raise ValueError("office hours are local wall-clock times: no tzinfo")
            if not start < end:
                raise ValueError(f"session {start}-{end} must end after it starts")
            if previous_end is not None and start < previous_end:
                raise ValueError(f"session {start}-{end} overlaps or precedes the previous one")
            previous_end = end

    @property
    def day_length(self) -> timedelta:
        return sum((_span(start, end) for start, end in self.sessions), timedelta())

    @property
    def opening(self) -> time:
        return self.sessions[0][0]

    @property
    def closing(self) -> time:
        return self.sessions[-1][1]

    def elapsed(self, t: time) -> timedelta:
        """Office time from the day's opening up to wall-clock ``t`` (0 before, full after)."""
        total = timedelta()
        for start, end in self.sessions:
            total += _span(start, min(max(t, start), end))
        return total

    def time_at(self, offset: timedelta) -> time:
        """Wall-clock time after ``offset`` (0 < offset <= day_length) of office time.

        Uses ``<=`` so an offset ending exactly at a session's close stays at that close.
        """
        remaining = offset
        for start, end in self.sessions:
            length = _span(start, end)
            if remaining <= length:
                return (datetime.combine(date.min, start) + remaining).time()
            remaining -= length
        raise ValueError(f"offset {offset} exceeds the day length {self.day_length}")


DEFAULT_OFFICE_HOURS = OfficeHours()


def _span(start: time, end: time) -> timedelta:
    return datetime.combine(date.min, end) - datetime.combine(date.min, start)


class WorkCalendar:
    """Working days and office-time arithmetic for deadlines; see the module docstring."""

    def __init__(
        self,
        *,
        days_off: Iterable[date] = (),
        makeup_workdays: Iterable[date] = (),
        office_hours: OfficeHours = DEFAULT_OFFICE_HOURS,
        tz: ZoneInfo = VN_TZ,
        use_public_holidays: bool = True,
    ) -> None:
        # A Mapping[date, str] for days_off is accepted too: its values name the days off.
        self._days_off: dict[date, str] = (
            dict(days_off) if isinstance(days_off, Mapping) else dict.fromkeys(days_off, "")
        )
        self._makeup = frozenset(makeup_workdays)
        clash = sorted(self._makeup & self._days_off.keys())
        if clash:
            listed = ", ".join(d.isoformat() for d in clash)
            raise ValueError(f"dates both off and make-up working days: {listed}")
        self.office_hours = office_hours
        self.tz = tz
        self.use_public_holidays = use_public_holidays
        self._holidays_by_year: dict[int, Mapping[date, str]] = {}
        self._workdays_by_year: dict[int, tuple[int, ...]] = {}

    # --- construction from the operator file -------------------------------------------------

    @classmethod
    def from_file(cls, path: str | Path, **kwargs: Any) -> WorkCalendar:
        """Load ``calendar.json``; ``kwargs`` go to the constructor (office_hours, tz, ...)."""
        days_off, makeup = _load_calendar_file(Path(path))
        return cls(days_off=days_off, makeup_workdays=makeup, **kwargs)

    # --- days ----------------------------------------------------------------------------------

    def is_working_day(self, d: date) -> bool:
        if d in self._makeup:
            return True
        if d.weekday() >= 5 or d in self._days_off:
            return False
        return d not in self._public_holidays(d.year)

    def holiday_name(self, d: date) -> str | None:
        if d in self._makeup:
            return None
        name = self._public_holidays(d.year).get(d)
        if name is None and d in self._days_off:
            name = self._days_off[d] or _DEFAULT_DAY_OFF_NAME
        return name

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after ``d``."""
        return self._nth_working_day_after(d, 1)

    # --- instants ------------------------------------------------------------------------------

    def working_start(self, instant: datetime) -> datetime:
        local = self._local(instant)
        day = local.date()
        if self.is_working_day(day):
            for start, end in self.office_hours.sessions:
                if local.time() < end:
                    return local if local.time() >= start else self._at(day, start)
        return self._opening_of(self.next_working_day(day))

    def add_working_days(
        self, start: datetime, days: int, *, cutoff: time | None = None
    ) -> datetime:
        if days < 0:
            raise ValueError(f"days must be >= 0, got {days}")
        begin = self.working_start(self._apply_cutoff(self._local(start), cutoff))
        if days == 0:
            return self._at(begin.date(), self.office_hours.closing)
        return self.add_working_time(begin, days * self.office_hours.day_length)

    def add_working_time(self, start: datetime, amount: timedelta) -> datetime:
        """Add office time (e.g. the time left on a clock stopped for a supplement).

        A zero amount gives working_start(start); a sum landing at a close stays at that close.
        """
        if amount < timedelta(0):
            raise ValueError(f"amount must be >= 0, got {amount}")
        begin = self.working_start(self._local(start))
        if amount == timedelta(0):
            return begin
        length = self.office_hours.day_length
        target = self.office_hours.elapsed(begin.time()) + amount
        whole_days = -(-target // length) - 1
        day = begin.date()
        if whole_days:
            day = self._nth_working_day_after(day, whole_days)
        return self._at(day, self.office_hours.time_at(target - whole_days * length))

    def working_days_between(self, a: datetime, b: datetime) -> float:
        start, end = self._local(a), self._local(b)
        if end < start:
            return -self.working_days_between(b, a)
        whole = self._count_working_days(start.date(), end.date())
        office = (
            whole * self.office_hours.day_length
            + self._elapsed_on_working_day(end)
            - self._elapsed_on_working_day(start)
        )
        return office / self.office_hours.day_length

    # --- internals -----------------------------------------------------------------------------

    def _local(self, instant: datetime) -> datetime:
        if instant.tzinfo is None or instant.utcoffset() is None:
            raise ValueError(f"naive datetime {instant.isoformat()}: a timezone is required")
        return instant.astimezone(self.tz)

    def _at(self, d: date, t: time) -> datetime:
        return datetime.combine(d, t, tzinfo=self.tz)

    def _opening_of(self, d: date) -> datetime:
        return self._at(d, self.office_hours.opening)

    def _apply_cutoff(self, local: datetime, cutoff: time | None) -> datetime:
        if cutoff is None:
            return local
        if cutoff.tzinfo is not None:
            raise ValueError("cutoff is a local wall-clock time: no tzinfo")
        day = local.date()
        if self.is_working_day(day) and local.time() >= cutoff:
            return self._opening_of(self.next_working_day(day))
        return local

    def _elapsed_on_working_day(self, local: datetime) -> timedelta:
        if not self.is_working_day(local.date()):
            return timedelta()
        return self.office_hours.elapsed(local.time())

    def _public_holidays(self, year: int) -> Mapping[date, str]:
        if not self.use_public_holidays:
            return {}
        cached = self._holidays_by_year.get(year)
        if cached is None:
            found = holidays.country_holidays("VN", years=year, language=_HOLIDAY_LANGUAGE)
            cached = self._holidays_by_year[year] = dict(found)
        return cached

    def _workdays(self, year: int) -> tuple[int, ...]:
        """Sorted ordinals of the year's working days, computed once per year."""
        cached = self._workdays_by_year.get(year)
        if cached is None:
            first, last = date(year, 1, 1).toordinal(), date(year, 12, 31).toordinal()
            cached = tuple(
                o for o in range(first, last + 1) if self.is_working_day(date.fromordinal(o))
            )
            self._workdays_by_year[year] = cached
        return cached

    def _nth_working_day_after(self, d: date, n: int) -> date:
        """The ``n``-th (n >= 1) working day strictly after ``d``, crossing years as needed."""
        year = d.year
        position = bisect_right(self._workdays(year), d.toordinal()) + n - 1
        while year <= MAXYEAR:
            workdays = self._workdays(year)
            if position < len(workdays):
                return date.fromordinal(workdays[position])
            position -= len(workdays)
            year += 1
        raise ValueError(f"no working day {n} after {d.isoformat()} within the calendar range")

    def _count_working_days(self, start: date, end: date) -> int:
        """Working days in [start, end), start <= end."""
        total = 0
        for year in range(start.year, end.year + 1):
            workdays = self._workdays(year)
            low = bisect_left(workdays, start.toordinal()) if year == start.year else 0
            high = bisect_left(workdays, end.toordinal()) if year == end.year else len(workdays)
            total += high - low
        return total


# --- calendar.json -------------------------------------------------------------------------------


def _load_calendar_file(path: Path) -> tuple[dict[date, str], dict[date, str]]:
    """Parse and validate the operator file; ValueError names the file and the bad entry."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{path}: the top level must be a JSON object")
    unknown = sorted(k for k in data if k not in _FILE_LISTS and not k.startswith("_"))
    if unknown:
        raise ValueError(f"{path}: unknown key(s) {unknown}; expected {list(_FILE_LISTS)}")
    days_off, makeup = (_parse_entries(path, key, data.get(key, [])) for key in _FILE_LISTS)
    clash = sorted(days_off.keys() & makeup.keys())
    if clash:
        listed = ", ".join(d.isoformat() for d in clash)
        raise ValueError(f"{path}: dates in both days_off and makeup_workdays: {listed}")
    return days_off, makeup


def _parse_entries(path: Path, key: str, entries: object) -> dict[date, str]:
    if not isinstance(entries, list):
        raise ValueError(f"{path}: {key!r} must be a list of {{'date', 'note'}} objects")
    parsed: dict[date, str] = {}
    for index, entry in enumerate(entries):
        where = f"{path}: {key}[{index}] {json.dumps(entry, ensure_ascii=False)}"
        d, note = _parse_entry(where, entry)
        if d in parsed:
            raise ValueError(f"{where}: date {d.isoformat()} is listed twice")
        parsed[d] = note
    return parsed


def _parse_entry(where: str, entry: object) -> tuple[date, str]:
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: each entry must be an object with 'date' and 'note'")
    raw, note = entry.get("date"), entry.get("note", "")
    if not isinstance(note, str):
        raise ValueError(f"{where}: 'note' must be a string")
    # fromisoformat alone also accepts forms like 20250502; operators should write 2025-05-02.
    if not isinstance(raw, str) or not _ISO_DATE.fullmatch(raw):
        raise ValueError(f"{where}: 'date' must be a YYYY-MM-DD string")
    try:
        return date.fromisoformat(raw), note
    except ValueError as exc:
        raise ValueError(f"{where}: invalid date {raw!r}: {exc}") from exc
