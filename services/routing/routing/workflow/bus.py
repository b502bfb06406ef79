"""Replies from agencies on the bus: trusted only as the broker authenticated them."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from marshmallow import Schema, ValidationError
from motcua_kit import audit
from motcua_kit.db import UnitOfWork
from motcua_kit.errors import ApiError, PermanentError
from motcua_kit.workcal import WorkCalendar

from routing import metrics
from routing.adapters import repository as repo
from routing.domain.agencies import Registry
from routing.domain.route import ASSIGNED, COMPLETED, Step
from routing.providers import Policy
from routing.schemas import CompleteSchema, ReasonSchema, SupplementRequestSchema
from routing.workflow.actions import act

log = logging.getLogger(__name__)

# --- replies from agencies on the bus --------------------------------------------------------

REPLY_ACTIONS = ("accept", "complete", "request_supplement", "refuse", "return")
# A reply's data is checked with the same schemas as the worklist's HTTP requests.
REPLY_SCHEMAS: dict[str, type[Schema]] = {
    "accept": Schema,
    "complete": CompleteSchema,
    "request_supplement": SupplementRequestSchema,
    "refuse": ReasonSchema,
    "return": ReasonSchema,
}
REPLY_FIELDS = {name: set(schema().fields) for name, schema in REPLY_SCHEMAS.items()}


class ReplyTooEarly(Exception):
    """A reply the step's state allows only after another one (a `complete` before its
    `accept`): not refused but retried (CONSUMER_RETRY_DELAYS), so the other is applied first.
    Replies are not handled in the order sent: a backlog is taken by several workers at once, and
    an `accept` whose first try failed (the database was away) comes back after its `complete`."""


def _applied_already(s: Step, action: str, data: Mapping[str, Any]) -> bool:
    """The same reply again (an agency's system that crashed before acknowledging its task
    answers it again): an accept of this hand-over, or the same completion."""
    if action == "accept":
        return s.accepted_at is not None
    if action == "complete":
        return s.status == COMPLETED and s.result_reference == data.get("result_reference")
    return False


def bus_reply(
    uow: UnitOfWork,
    registry: Registry,
    calendar: WorkCalendar,
    policy: Policy,
    event: Mapping[str, Any],
    user_id: str | None,
    now: datetime,
) -> None:
    """A reply counts only from the agency whose RabbitMQ user the broker validated."""
    agency = registry.by_amqp_user(user_id) if user_id else None
    if agency is None:
        metrics.REJECTED_REPLIES.labels("unknown_sender").inc()
        raise PermanentError(f"reply from unknown or unvalidated user {user_id!r}")
    data = event["data"]
    action, step_id = data.get("action"), data.get("step_id")
    if action not in REPLY_ACTIONS or not isinstance(step_id, str):
        metrics.REJECTED_REPLIES.labels("malformed").inc()
        raise PermanentError(f"reply needs step_id and an action among {REPLY_ACTIONS}")
    if repo.step(uow, step_id) is None:
        metrics.REJECTED_REPLIES.labels("unknown_step").inc()
        raise PermanentError(f"reply for unknown step {step_id}")
    actor = {
        "id": data.get("officer_id") or agency.code,
        "name": data.get("officer_name") or agency.name_vi,
        "unit": agency.code,
    }
    # The reply is the origin; the sender is the agency the broker authenticated (its login).
    by = audit.by_event(event, {**actor, "agency": agency.code}, amqp_user=user_id)
    audit.acting(uow, by)
    try:
        body = REPLY_SCHEMAS[action]().load(
            {k: v for k, v in data.items() if k in REPLY_FIELDS[action]}
        )
        act(uow, registry, calendar, policy, actor, agency.code, step_id, action, body, now)
    except ApiError as exc:
        stale = exc.code in ("invalid_step_status", "route_closed")
        current = repo.step(uow, step_id) if stale else None
        if current is not None and current.agency_code == agency.code:
            if _applied_already(current, action, data):
                log.info("reply already applied: %s of %s", action, step_id)
                return
            if action == "complete" and current.status == ASSIGNED:
                raise ReplyTooEarly(f"complete of {step_id} before its accept") from exc
        metrics.REJECTED_REPLIES.labels(exc.code).inc()
        raise PermanentError(f"{exc.code}: {exc.message}") from exc
    except ValidationError as exc:
        metrics.REJECTED_REPLIES.labels("invalid").inc()
        raise PermanentError(f"invalid reply: {exc.messages}") from exc
