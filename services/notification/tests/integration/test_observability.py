"""What operators see: `/metrics` counts what was sent and shows what is still waiting, and how
long the oldest has waited, per channel; `/health` answers 200 when database and broker are up."""

from __future__ import annotations

import time

import pytest
from motcua_kit.testing import eventually
from notification_helpers import received_data
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.integration


def scrape(api) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """GET /metrics, parsed: (sample name, sorted labels) -> value."""
    reply = api.get("/metrics")
    assert reply.status_code == 200, reply.text
    assert reply.headers["Content-Type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(reply.text)
        for sample in family.samples
    }


def value(samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def test_metrics_count_sent_and_age_the_waiting(
    make_notification, publisher, gateway, smtp, deliveries
):
    gateway.program("/sms", [503])  # the SMS fails for now and waits for its retry
    api = make_notification(RETRY_SCHEDULE="1m")
    sent_before = scrape(api).get(
        ("motcua_notification_sent_total", (("channel", "email"), ("template", "receipt"))), 0.0
    )
    code = publisher.event("intake", "dossier.received", received_data())["data"]["code"]

    eventually(
        lambda: (
            {(r["channel"], r["state"]) for r in deliveries(code)}
            == {("email", "sent"), ("sms", "failed_temporary")}
        ),
        "the email sent and the SMS waiting",
    )
    time.sleep(0.3)  # the age of the waiting SMS grows past rounding
    samples = scrape(api)
    sent = value(samples, "motcua_notification_sent_total", channel="email", template="receipt")
    assert sent - sent_before == 1
    assert value(samples, "motcua_notification_pending", channel="sms") == 1
    assert value(samples, "motcua_notification_pending", channel="email") == 0
    age = value(samples, "motcua_notification_oldest_pending_age_seconds", channel="sms")
    assert 0.3 <= age < 30
    assert value(samples, "motcua_notification_oldest_pending_age_seconds", channel="email") == 0
    assert len(gateway.calls("/sms")) == 1 and len(smtp.messages()) == 1


def test_health_answers_ok(notification):
    reply = notification.get("/health")
    assert reply.status_code == 200
    assert reply.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}
