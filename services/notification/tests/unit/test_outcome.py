"""What an HTTP status says about a delivery."""

from __future__ import annotations

import pytest
from notification.domain import outcome
from notification.domain.outcome import (
    DELIVERED,
    PERMANENT,
    SENT,
    TEMPORARY,
    Outcome,
    from_http_status,
)


@pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
def test_2xx_is_delivered(status: int) -> None:
    assert from_http_status(status, "ignored body") == Outcome(DELIVERED, f"HTTP {status}")


@pytest.mark.parametrize("status", [408, 425, 429, 500, 502, 503, 504, 599])
def test_timeouts_throttling_and_5xx_are_temporary(status: int) -> None:
    assert from_http_status(status, "Service Unavailable") == Outcome(
        TEMPORARY, f"HTTP {status}: Service Unavailable"
    )


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 409, 410, 413, 422, 301, 100])
def test_other_statuses_are_permanent(status: int) -> None:
    assert from_http_status(status, "Gone") == Outcome(PERMANENT, f"HTTP {status}: Gone")


def test_the_detail_is_cut_to_500_characters() -> None:
    result = from_http_status(503, "x" * 1000)
    assert result.detail == "HTTP 503: " + "x" * 490
    assert len(from_http_status(404, "y" * 1000).detail) == 500


def test_only_sent_and_delivered_succeed() -> None:
    assert outcome.sent().succeeded
    assert outcome.delivered().succeeded
    assert not outcome.temporary("busy").succeeded
    assert not outcome.permanent("no such mailbox").succeeded


def test_the_constructors() -> None:
    assert outcome.sent("250 OK", "msg-1") == Outcome(SENT, "250 OK", "msg-1")
    assert outcome.delivered("DELIVRD", "sms-9") == Outcome(DELIVERED, "DELIVRD", "sms-9")
    assert outcome.temporary("451") == Outcome(TEMPORARY, "451", None)
    assert outcome.permanent("550") == Outcome(PERMANENT, "550", None)
    assert [SENT, DELIVERED, TEMPORARY] == ["sent", "delivered", "temporary"]
    assert PERMANENT == "permanent"
