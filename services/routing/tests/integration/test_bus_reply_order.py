"""Agencies' replies are not applied in the order sent: a `complete` that overtook its `accept` is
retried until the accept is applied, and the same reply twice counts once. Neither is
dead-lettered; a `complete` that contradicts the one applied still is.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

POLICE = "CA.H38.08"
REPLY_CONSUMER = "routing.on_agency_reply"


@pytest.fixture
def routing(make_routing):
    """Retries spread over 7.5 s: the test has time to send the accept the complete waits for."""
    return make_routing(CONSUMER_RETRY_DELAYS="0.5,1,2,4")


@pytest.fixture
def police(bus_agencies, open_agency_system):
    return open_agency_system(bus_agencies[POLICE])


def outcomes(platform):
    """How routing's reply consumer ended each run so far, by outcome."""
    return {
        outcome: platform.metric(
            "motcua_events_consumed_total",
            service="routing",
            consumer=REPLY_CONSUMER,
            outcome=outcome,
        )
        for outcome in ("handled", "retried", "dead_lettered")
    }


def since(platform, before, *kinds):
    now = outcomes(platform)
    return sum(now[k] - before[k] for k in kinds)


def dead_letter_errors(platform):
    """Take what waits in routing.dlq; the error each message was dead-lettered with."""
    return [m.headers["x-motcua-error"] for m in platform.dead_letters("routing.dlq")]


def outbox(routing_sql, event_type, step):
    return routing_sql(
        "SELECT payload FROM outbox_events WHERE type = %s AND payload->'data'->>'step_id' = %s",
        (event_type, step),
    )


def test_a_complete_sent_before_its_accept_is_retried_until_the_accept_is_applied(
    platform, police, routing_sql
):
    code = platform.at_stage_two()
    step = f"{code}/2.1"
    before = outcomes(platform)

    police.reply(step, "complete", result_reference=f"GKS-{code}", officer_name="Trực ban")
    platform.eventually(
        lambda: since(platform, before, "retried", "dead_lettered") >= 1,
        "the complete tried once while the step is still assigned",
    )
    assert platform.step(step)["status"] == "assigned"

    police.reply(step, "accept", officer_name="Trực ban")
    done = platform.wait_step(step, "completed")

    assert done["result_reference"] == f"GKS-{code}"
    assert done["received_by"] == {"id": POLICE, "name": "Trực ban", "unit": POLICE}
    assert done["accepted_at"] <= done["completed_at"]
    assert dead_letter_errors(platform) == []
    assert since(platform, before, "dead_lettered") == 0
    assert since(platform, before, "handled") == 2
    assert since(platform, before, "retried") >= 1
    assert len(outbox(routing_sql, "step.accepted", step)) == 1
    assert len(outbox(routing_sql, "step.completed", step)) == 1


def test_the_same_accept_and_the_same_complete_twice_are_applied_once(
    platform, police, routing_sql
):
    code = platform.at_stage_two()
    step = f"{code}/2.1"
    reference = f"GKS-{code}"
    before = outcomes(platform)

    police.reply(step, "accept", officer_name="Trực ban")
    accepted = platform.wait_step(step, "accepted")
    # The agency's system crashed before acknowledging its task and answers it again.
    police.reply(step, "accept", officer_name="Trực ban")
    police.reply(step, "complete", result_reference=reference)
    completed = platform.wait_step(step, "completed")
    police.reply(step, "complete", result_reference=reference)

    platform.eventually(
        lambda: since(platform, before, "handled", "dead_lettered") >= 4,
        "routing to be done with the four replies",
    )
    assert dead_letter_errors(platform) == []
    assert since(platform, before, "handled") == 4
    assert since(platform, before, "dead_lettered") == 0
    after = platform.step(step)
    assert after["status"] == "completed"
    assert after["accepted_at"] == accepted["accepted_at"]
    assert after["completed_at"] == completed["completed_at"]
    assert after["result_reference"] == reference
    assert len(outbox(routing_sql, "step.accepted", step)) == 1
    [event] = outbox(routing_sql, "step.completed", step)
    assert event["payload"]["data"]["result_reference"] == reference


def test_a_complete_with_another_result_after_completion_is_dead_lettered(
    platform, police, routing_sql
):
    code = platform.at_stage_two()
    step = f"{code}/2.1"
    rejected = "motcua_routing_rejected_replies_total"
    before = platform.metric(rejected, reason="invalid_step_status")

    police.reply(step, "accept")
    platform.wait_step(step, "accepted")
    police.reply(step, "complete", result_reference=f"GKS-{code}")
    platform.wait_step(step, "completed")
    other = police.reply(step, "complete", result_reference=f"GKS-{code}-SUA")

    dead = platform.eventually(lambda: platform.dead_letters("routing.dlq"), "a dead letter")
    assert [m.properties["message_id"] for m in dead] == [other["id"]]
    assert dead[0].headers["x-motcua-reason"] == "rejected"
    assert dead[0].headers["x-motcua-error"].startswith("PermanentError: invalid_step_status")
    assert dead[0].headers["x-motcua-user-id"] == police.agency.user
    assert platform.metric(rejected, reason="invalid_step_status") == before + 1
    assert platform.step(step)["result_reference"] == f"GKS-{code}"
    [event] = outbox(routing_sql, "step.completed", step)
    assert event["payload"]["data"]["result_reference"] == f"GKS-{code}"
