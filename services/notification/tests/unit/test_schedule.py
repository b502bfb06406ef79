"""Retry schedule, SMS quiet hours (Asia/Ho_Chi_Minh) and per-channel rate limits."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from notification.domain.schedule import (
    QuietHours,
    next_attempt,
    parse_durations,
    parse_rate_limits,
)

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
CHANNELS = ("email", "sms", "webhook")


def local(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2025, 7, day, hour, minute, second, tzinfo=HCM)


# --- parse_durations -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [
        ("1m,5m,15m,1h", (60, 300, 900, 3600)),
        ("30s", (30,)),
        ("30", (30,)),
        ("0", (0,)),
        ("1.5m", (90,)),
        ("0.5h, 2h", (1800, 7200)),
        (" 10s , 5 m ,1h ", (10, 300, 3600)),
    ],
)
def test_parse_durations_reads_seconds_minutes_and_hours(
    raw: str, seconds: tuple[int, ...]
) -> None:
    assert parse_durations(raw, "EMAIL_RETRY") == tuple(timedelta(seconds=s) for s in seconds)


@pytest.mark.parametrize("raw", ["", "5x", "1d", "-1m", "1m,,5m", "m", "5 minutes", "1M", "1m;5m"])
def test_parse_durations_rejects_bad_input_naming_the_setting(raw: str) -> None:
    with pytest.raises(ValueError, match=r"^SMS_RETRY: ") as error:
        parse_durations(raw, "SMS_RETRY")
    assert "30s, 5m or 2h" in str(error.value)


def test_parse_durations_error_quotes_the_bad_part() -> None:
    with pytest.raises(ValueError, match=r"'2d'"):
        parse_durations("1m,2d,1h", "WEBHOOK_RETRY")


# --- next_attempt ----------------------------------------------------------------------------

SCHEDULE = parse_durations("1m,5m,15m,1h", "EMAIL_RETRY")
NOW = datetime(2025, 7, 2, 2, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("retries_made", "delay"),
    [
        (1, timedelta(minutes=1)),
        (2, timedelta(minutes=5)),
        (3, timedelta(minutes=15)),
        (4, timedelta(hours=1)),
    ],
)
def test_next_attempt_follows_the_schedule(retries_made: int, delay: timedelta) -> None:
    assert next_attempt(NOW, retries_made, SCHEDULE) == NOW + delay


@pytest.mark.parametrize("retries_made", [5, 6, 100])
def test_next_attempt_is_none_once_the_schedule_is_spent(retries_made: int) -> None:
    assert next_attempt(NOW, retries_made, SCHEDULE) is None


def test_an_empty_schedule_never_retries() -> None:
    assert next_attempt(NOW, 1, ()) is None


def test_next_attempt_counts_failures_from_one() -> None:
    with pytest.raises(ValueError):
        next_attempt(NOW, 0, SCHEDULE)


# --- QuietHours ------------------------------------------------------------------------------

NIGHT = QuietHours(time(21), time(7), HCM)
LUNCH = QuietHours(time(12), time(13, 30), HCM)


def test_parse_reads_a_window_crossing_midnight() -> None:
    assert QuietHours.parse("21:00-07:00", HCM) == NIGHT


@pytest.mark.parametrize(
    ("raw", "start", "end"),
    [
        ("12:00-13:30", time(12), time(13, 30)),
        (" 21:00 - 07:00 ", time(21), time(7)),
        ("7:00-9:00", time(7), time(9)),
        ("21:00:30-07:00:15", time(21, 0, 30), time(7, 0, 15)),
        ("22:00-6:30", time(22), time(6, 30)),
    ],
)
def test_parse_reads_hh_mm_and_hh_mm_ss(raw: str, start: time, end: time) -> None:
    assert QuietHours.parse(raw, HCM) == QuietHours(start, end, HCM)


def test_parse_reads_a_one_digit_hour_with_seconds() -> None:
    assert QuietHours.parse("7:00:00-9:00:00", HCM) == QuietHours(time(7), time(9), HCM)


@pytest.mark.parametrize("raw", ["", "   "])
def test_parse_of_nothing_is_no_quiet_hours(raw: str) -> None:
    assert QuietHours.parse(raw, HCM) is None


@pytest.mark.parametrize(
    "raw",
    ["21-07", "21:00", "21:00-", "21:00 to 07:00", "9pm-7am", "21:0-07:00", "21:00-07:00-08:00"],
)
def test_parse_rejects_what_is_not_a_window(raw: str) -> None:
    with pytest.raises(ValueError, match=r"^SMS_QUIET_HOURS: .* is not a window like 21:00-07:00"):
        QuietHours.parse(raw, HCM)


@pytest.mark.parametrize("raw", ["25:00-07:00", "21:60-07:00", "21:00-07:00:61"])
def test_parse_rejects_impossible_times(raw: str) -> None:
    with pytest.raises(ValueError):
        QuietHours.parse(raw, HCM)


def test_parse_rejects_an_empty_window() -> None:
    with pytest.raises(ValueError, match="SMS_QUIET_HOURS: start and end are the same time"):
        QuietHours.parse("21:00-21:00", HCM)


@pytest.mark.parametrize(
    ("at", "inside"),
    [
        (local(2, 20, 59, 59), False),
        (local(2, 21), True),
        (local(2, 23, 30), True),
        (local(3, 0), True),
        (local(3, 6, 59, 59), True),
        (local(3, 7), False),
        (local(3, 12), False),
    ],
)
def test_a_window_crossing_midnight(at: datetime, inside: bool) -> None:
    assert NIGHT.contains(at) is inside


@pytest.mark.parametrize(
    ("at", "inside"),
    [
        (local(2, 11, 59, 59), False),
        (local(2, 12), True),
        (local(2, 13, 29, 59), True),
        (local(2, 13, 30), False),
        (local(2, 23), False),
        (local(2, 0), False),
    ],
)
def test_a_same_day_window(at: datetime, inside: bool) -> None:
    assert LUNCH.contains(at) is inside


def test_contains_judges_by_local_time_not_utc() -> None:
    # 14:30 UTC is 21:30 in Hà Nội; 23:30 UTC is 06:30 the next morning there.
    assert NIGHT.contains(datetime(2025, 7, 2, 14, 30, tzinfo=UTC))
    assert NIGHT.contains(datetime(2025, 7, 2, 23, 30, tzinfo=UTC))
    assert not NIGHT.contains(datetime(2025, 7, 2, 13, 59, tzinfo=UTC))  # 20:59 local


def test_release_late_evening_is_seven_the_next_morning() -> None:
    released = NIGHT.release(local(2, 23, 30))
    assert released == local(3, 7)
    assert (released.date(), released.time(), released.utcoffset()) == (
        local(3, 7).date(),
        time(7),
        timedelta(hours=7),
    )


def test_release_right_at_the_window_start() -> None:
    assert NIGHT.release(local(2, 21)) == local(3, 7)


def test_release_after_midnight_is_seven_the_same_morning() -> None:
    assert NIGHT.release(local(3, 5)) == local(3, 7)
    assert NIGHT.release(local(3, 0)) == local(3, 7)


def test_release_outside_the_window_is_the_moment_itself() -> None:
    at = local(2, 15, 42, 7)
    assert NIGHT.release(at) is at
    assert NIGHT.release(local(3, 7)) == local(3, 7)


def test_release_of_a_same_day_window_is_its_end() -> None:
    assert LUNCH.release(local(2, 12, 15)) == local(2, 13, 30)
    assert LUNCH.release(local(2, 13, 30)) == local(2, 13, 30)


def test_release_of_a_utc_moment_is_the_same_instant_in_utc() -> None:
    at = datetime(2025, 7, 2, 16, 30, tzinfo=UTC)  # 23:30 local
    released = NIGHT.release(at)
    assert released == datetime(2025, 7, 3, 0, 0, tzinfo=UTC)
    assert released.tzinfo is UTC
    assert released.astimezone(HCM).replace(tzinfo=None) == datetime(2025, 7, 3, 7, 0)


def test_release_keeps_the_seconds_of_the_window_end() -> None:
    hours = QuietHours.parse("21:00:00-07:00:30", HCM)
    assert hours is not None
    assert hours.release(local(2, 22)) == local(3, 7, 0, 30)


# --- parse_rate_limits -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "limits"),
    [
        ("email=600,sms=120", {"email": 600, "sms": 120}),
        ("webhook=30", {"webhook": 30}),
        (" email = 600 , sms=0 ", {"email": 600, "sms": 0}),
        ("email=1,email=2", {"email": 2}),
        ("", {}),
        ("sms=5,", {"sms": 5}),
    ],
)
def test_parse_rate_limits(raw: str, limits: dict[str, int]) -> None:
    assert parse_rate_limits(raw, CHANNELS) == limits


@pytest.mark.parametrize(
    "raw", ["fax=10", "email", "email=", "email=abc", "email=-1", "email=1.5", "=5", "email:600"]
)
def test_parse_rate_limits_rejects_bad_entries(raw: str) -> None:
    with pytest.raises(ValueError, match=r"^RATE_LIMITS: .*email, sms, webhook") as error:
        parse_rate_limits(raw, CHANNELS)
    assert repr(raw.strip()) in str(error.value)
