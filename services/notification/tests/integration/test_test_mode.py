"""Test mode: the reserved addresses and numbers (domain/simulator.py) go through the whole
delivery life cycle, delivered, refused or retried until exhausted, and nothing leaves the
platform: no SMTP message, no gateway call."""

from __future__ import annotations

import time

import pytest
from motcua_kit.testing import eventually
from notification.domain.simulator import DOMAIN
from notification_helpers import received_data

pytestmark = pytest.mark.integration

SCHEDULE_LENGTH = 4  # conftest's RETRY_SCHEDULE "0.3,0.3,0.3,0.3"


# email, phone -> the state both end in, its failure, and the attempts it took
CASES = {
    (f"delivered@{DOMAIN}", "0100000001"): ("delivered", None, 1),
    (f"permanent@{DOMAIN}", "0100000003"): ("failed_permanent", "permanent", 1),
    (f"temporary@{DOMAIN}", "0100000002"): ("failed_permanent", "exhausted", SCHEDULE_LENGTH + 1),
}


def test_reserved_recipients_are_simulated_and_never_sent(
    notification, publisher, smtp, gateway, deliveries
):
    expected = {}
    for (email, phone), outcome in CASES.items():
        data = received_data()
        data["applicant"].update(email=email, phone=phone)
        code = publisher.event("intake", "dossier.received", data)["data"]["code"]
        expected.update({(code, "email"): outcome, (code, "sms"): outcome})

    def outcomes():
        rows = [r for code in {c for c, _ in expected} for r in deliveries(code)]
        return {
            (r["dossier_code"], r["channel"]): (r["state"], r["failure"], r["attempts"])
            for r in rows
        }

    eventually(lambda: outcomes() == expected, "every simulated delivery settled")
    time.sleep(0.8)  # more than a retry interval and a dispatch round: nothing more happens
    assert outcomes() == expected
    assert smtp.messages() == []
    assert gateway.calls() == []
