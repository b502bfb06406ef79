"""notification's delivery policy, read once from the config (a bad value stops the start)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from motcua_kit.config import setting

from notification.domain.messages import CHANNELS, CITIZEN, LANGUAGES, SMS, Options
from notification.domain.schedule import QuietHours, parse_durations, parse_rate_limits

ALL_CHANNELS = ("email", "sms", "webhook")


@dataclass(frozen=True)
class Settings:
    options: Options
    schedule: tuple[timedelta, ...]
    quiet_hours: QuietHours | None
    rate_limits: dict[str, int]
    batch: int = 50
    concurrency: int = 10
    lease: timedelta = timedelta(minutes=5)
    suspend_after: int = 10
    operator_email: str | None = None
    sms_unaccented: bool = False

    def not_before(self, channel: str, audience: str, urgent: bool, at: datetime) -> datetime:
        """When a message may go: SMS to citizens waits out the quiet hours unless urgent."""
        if self.quiet_hours and channel == SMS and audience == CITIZEN and not urgent:
            return self.quiet_hours.release(at)
        return at


def settings_from_config(config: dict[str, Any]) -> Settings:
    try:
        zone = ZoneInfo(setting(config, "TIMEZONE", "Asia/Ho_Chi_Minh"))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"TIMEZONE {config.get('TIMEZONE')!r} is not a known time zone") from None
    language = setting(config, "DEFAULT_LANGUAGE", "vi")
    if language not in LANGUAGES:
        raise ValueError(f"DEFAULT_LANGUAGE must be one of {', '.join(LANGUAGES)}")
    urgent = frozenset(
        name.strip()
        for name in str(setting(config, "URGENT_MESSAGES", "")).split(",")
        if name.strip()
    )
    if unknown := urgent - set(CHANNELS):
        raise ValueError(f"URGENT_MESSAGES names unknown messages: {', '.join(sorted(unknown))}")
    return Settings(
        options=Options(zone=zone, default_language=language, urgent=urgent),
        schedule=parse_durations(
            str(setting(config, "RETRY_SCHEDULE", "1m,5m,15m,1h,3h,6h")), "RETRY_SCHEDULE"
        ),
        quiet_hours=QuietHours.parse(str(setting(config, "SMS_QUIET_HOURS", "")), zone),
        rate_limits=parse_rate_limits(str(setting(config, "RATE_LIMITS", "")), ALL_CHANNELS),
        batch=_positive(config, "DISPATCH_BATCH", 50),
        concurrency=_positive(config, "DISPATCH_CONCURRENCY", 10),
        lease=timedelta(seconds=_positive(config, "SEND_LEASE_SECONDS", 300)),
        suspend_after=_positive(config, "WEBHOOK_SUSPEND_AFTER", 10),
        operator_email=setting(config, "OPERATOR_EMAIL"),
        sms_unaccented=str(setting(config, "SMS_UNACCENTED", "false")).lower()
        in ("1", "true", "yes"),
    )


def _positive(config: dict[str, Any], key: str, default: int) -> int:
    raw = setting(config, key, default)
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ValueError(f"{key} must be a whole number, got {raw!r}") from None
    if value < 1:
        raise ValueError(f"{key} must be at least 1, got {value}")
    return value
