"""Quiet hours: a citizen's SMS waits for the end of the window (the email does not); an urgent
message does not wait."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from motcua_kit.testing import eventually
from notification_helpers import received_data

pytestmark = pytest.mark.integration
VN = ZoneInfo("Asia/Ho_Chi_Minh")


def window(ending_in: float) -> str:
    """A quiet window that began an hour ago and ends `ending_in` seconds from now (local time)."""
    now = datetime.now(VN)
    start, end = now - timedelta(hours=1), now + timedelta(seconds=ending_in)
    return f"{start:%H:%M:%S}-{end:%H:%M:%S}"


def test_quiet_hours_defer_the_sms_until_the_window_ends(
    make_notification, publisher, smtp, gateway, deliveries
):
    make_notification(SMS_QUIET_HOURS=window(ending_in=4))
    data = publisher.event("intake", "dossier.received", received_data())["data"]
    code = data["code"]

    smtp.wait_for(1)  # the email is not held back
    sms = eventually(
        lambda: next((r for r in deliveries(code) if r["channel"] == "sms"), None), "an SMS row"
    )
    assert sms["state"] == "pending"
    assert sms["deferred_reason"] == "quiet_hours"
    wait = (sms["next_attempt_at"] - sms["created_at"]).total_seconds()
    assert 2 < wait <= 5, wait
    time.sleep(1)
    assert gateway.calls("/sms") == []  # still quiet

    [call] = gateway.wait_for(1, "/sms", timeout=10)
    assert code in call["body"]
    sent = eventually(
        lambda: next(r for r in deliveries(code) if r["channel"] == "sms")["sent_at"], "sent_at"
    )
    assert sent >= sms["next_attempt_at"]


def test_an_urgent_message_ignores_quiet_hours(make_notification, publisher, gateway, deliveries):
    make_notification(SMS_QUIET_HOURS=window(ending_in=3600), URGENT_MESSAGES="receipt")
    code = publisher.event("intake", "dossier.received", received_data())["data"]["code"]

    [call] = gateway.wait_for(1, "/sms")
    assert code in call["body"]
    [sms] = [r for r in deliveries(code) if r["channel"] == "sms"]
    assert sms["deferred_reason"] is None and sms["urgent"] is True
