"""Settings the service would refuse are said before it starts, all at once, in plain words."""

from __future__ import annotations

from pathlib import Path

from notification.service import check_config

GOOD = {
    "EMAIL_TRANSPORT": "smtp",
    "SMS_TRANSPORT": "http",
    "SMS_GATEWAY_URL": "http://127.0.0.1:9/sms",
    "RATE_LIMITS": "email=600,sms=120",
    "SMS_QUIET_HOURS": "21:00-07:00",
}


def test_a_good_config_has_no_problems() -> None:
    assert check_config(GOOD) == []


def test_every_bad_setting_is_named(tmp_path: Path) -> None:
    recipients = tmp_path / "recipients.json"
    recipients.write_text("{not json", encoding="utf-8")
    problems = check_config(
        {
            **GOOD,
            "SMS_GATEWAY_URL": "",
            "SMTP_TLS": "maybe",
            "RETRY_SCHEDULE": "soon",
            "TEMPLATES_DIR": str(tmp_path / "missing"),
            "RECIPIENTS_FILE": str(recipients),
        }
    )
    text = "\n".join(problems)
    assert len(problems) == 4, problems  # channels (first error), policy, templates, recipients
    assert "SMTP_TLS" in text or "SMS_GATEWAY_URL" in text
    assert "RETRY_SCHEDULE" in text
    assert "TEMPLATES_DIR" in text
    assert "RECIPIENTS_FILE" in text
