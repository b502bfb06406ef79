"""A service killed while a message is with the gateway: the delivery is not lost, and the second
attempt carries the same id, so a gateway that deduplicates (as the adapter asks it to, with
`Idempotency-Key` and `$id`) sends the citizen one SMS."""

from __future__ import annotations

import json

import pytest
from motcua_kit.testing import eventually
from notification_helpers import received_data

pytestmark = pytest.mark.integration


def test_killed_mid_send_the_delivery_is_sent_again_with_the_same_id(
    make_notification, publisher, gateway, deliveries, smtp
):
    gateway.program("/sms", [200], delay=3)  # the gateway holds each request 3 s
    first = make_notification(SEND_LEASE_SECONDS=2)
    data = received_data()
    data["applicant"]["email"] = None
    code = publisher.event("intake", "dossier.received", data)["data"]["code"]

    eventually(
        lambda: [r for r in deliveries(code) if r["state"] == "sending"], "a delivery in flight"
    )
    first.container.kill()  # mid-send: the outcome is never recorded
    gateway.program("/sms", [200])
    make_notification(SEND_LEASE_SECONDS=2)

    [row] = eventually(
        lambda: [r for r in deliveries(code) if r["state"] == "sent"], "the SMS sent", timeout=15
    )
    assert row["attempts"] == 2
    calls = gateway.wait_for(2, "/sms")
    ids = {json.loads(c["body"])["id"] for c in calls}
    keys = {
        next(v for k, v in c["headers"].items() if k.lower() == "idempotency-key") for c in calls
    }
    assert ids == keys == {str(row["id"])}
    assert len(deliveries(code)) == 1
