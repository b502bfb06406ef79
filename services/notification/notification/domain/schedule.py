"""When a message may be (re)tried: the retry schedule, quiet hours and the rate budget."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

UNITS = {"s": 1, "m": 60, "h": 3600, "": 1}


def parse_durations(raw: str, setting: str) -> tuple[timedelta, ...]:
    """ "1m,5m,15m,1h" -> durations; a bare number is seconds. ValueError names the setting."""
    values = []
    for part in (p.strip() for p in raw.split(",")):
        match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([smh]?)", part)
        if not match:
            raise ValueError(f"{setting}: {part!r} is not a duration like 30s, 5m or 2h")
        values.append(timedelta(seconds=float(match[1]) * UNITS[match[2]]))
    return tuple(values)


def next_attempt(
    now: datetime, retries_made: int, schedule: tuple[timedelta, ...]
) -> datetime | None:
    """After the `retries_made`-th failed attempt of the current schedule: when to try again, or
    None when the schedule is spent."""
    if retries_made < 1:
        raise ValueError("next_attempt counts failed attempts from 1")
    if retries_made > len(schedule):
        return None
    return now + schedule[retries_made - 1]


@dataclass(frozen=True)
class QuietHours:
    """A daily window (local time) in which citizens get no SMS; it may cross midnight."""

    start: time
    end: time
    zone: ZoneInfo

    @classmethod
    def parse(cls, raw: str, zone: ZoneInfo) -> QuietHours | None:
        """ "21:00-07:00" (also HH:MM:SS); empty: no quiet hours."""
        raw = raw.strip()
        if not raw:
            return None
        match = re.fullmatch(r"(\d{1,2}:\d{2}(?::\d{2})?)\s*-\s*(\d{1,2}:\d{2}(?::\d{2})?)", raw)
        if not match:
            raise ValueError(f"SMS_QUIET_HOURS: {raw!r} is not a window like 21:00-07:00")
        try:
            start, end = time.fromisoformat(_pad(match[1])), time.fromisoformat(_pad(match[2]))
        except ValueError:
            raise ValueError(f"SMS_QUIET_HOURS: {raw!r} names a time that does not exist") from None
        if start == end:
            raise ValueError("SMS_QUIET_HOURS: start and end are the same time")
        return cls(start, end, zone)

    def contains(self, at: datetime) -> bool:
        local = at.astimezone(self.zone).time()
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def release(self, at: datetime) -> datetime:
        """`at` if outside the window, else the window's end (the next morning, say)."""
        if not self.contains(at):
            return at
        local = at.astimezone(self.zone)
        end = datetime.combine(local.date(), self.end, tzinfo=self.zone)
        if end <= local:
            end += timedelta(days=1)
        return end.astimezone(at.tzinfo)


def _pad(value: str) -> str:
    """ "7:00" -> "07:00", "7:00:00" -> "07:00:00" (isoformat wants two-digit hours)."""
    return "0" + value if len(value.split(":")[0]) == 1 else value


def parse_rate_limits(raw: str, channels: tuple[str, ...]) -> dict[str, int]:
    """ "email=600,sms=120" -> attempts per minute per channel; a channel not named is unlimited."""
    limits: dict[str, int] = {}
    for part in (p.strip() for p in raw.split(",") if p.strip()):
        name, _, value = part.partition("=")
        if name.strip() not in channels or not value.strip().isdigit():
            raise ValueError(
                f"RATE_LIMITS: {part!r} is not <channel>=<per minute> with a channel of "
                + ", ".join(channels)
            )
        limits[name.strip()] = int(value)
    return limits
