"""From an event to deliveries: what to send, rendered, written before anything is sent."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from jinja2 import TemplateError
from motcua_kit.db import UnitOfWork
from motcua_kit.errors import PermanentError

from notification import metrics
from notification.adapters import repository as repo
from notification.adapters.webhook import encode
from notification.domain.directory import Directory
from notification.domain.messages import (
    OPERATOR,
    SMS,
    SUBSCRIBER,
    WEBHOOK,
    Dossier,
    DossierUnknown,
    Message,
    dossier_from_received,
    plan,
    subscribed,
    webhook_body,
)
from notification.domain.sms import count_segments, unaccent
from notification.settings import Settings
from notification.templates import Templates

log = logging.getLogger(__name__)


class NotYetReceived(RuntimeError):
    """The dossier's reception has not reached notification yet: the consumer tries again later."""


def handle_event(
    uow: UnitOfWork,
    templates: Templates,
    directory: Directory,
    settings: Settings,
    event: dict[str, Any],
    now: datetime,
) -> int:
    """Queue every message and webhook call `event` calls for; returns how many were new."""
    data = event["data"]
    code = data.get("code") or event.get("subject")
    dossier: Dossier | None
    if event["type"] == "dossier.received":
        dossier = dossier_from_received(data)
        repo.save_dossier(uow, dossier, data.get("received_at"))
    else:
        if event["type"].startswith("step.") and code and data.get("agency"):
            repo.add_unit(uow, code, data["agency"])
        dossier = repo.load_dossier(uow, code) if code else None
    try:
        messages = plan(event, dossier, directory, settings.options)
    except DossierUnknown:
        raise NotYetReceived(f"dossier {code} not received here yet") from None
    queued = sum(queue_message(uow, templates, settings, event, m, code, now) for m in messages)
    return queued + queue_webhooks(uow, event, code, now)


def queue_message(
    uow: UnitOfWork,
    templates: Templates,
    settings: Settings,
    event: dict[str, Any],
    message: Message,
    code: str | None,
    now: datetime,
) -> bool:
    try:
        rendered = templates.render(
            message.kind, message.channel, message.language, message.context
        )
    except TemplateError as exc:  # the templates passed their check at start: the data is odd
        raise PermanentError(f"{message.kind}/{message.channel}: {exc}") from exc
    body, segments, encoding = rendered.body, None, None
    if message.channel == SMS:
        if settings.sms_unaccented:
            body = unaccent(body)
        counted = count_segments(body)
        segments, encoding = counted.count, counted.encoding
    due = settings.not_before(message.channel, message.audience, message.urgent, now)
    deferred = "quiet_hours" if due > now else None
    inserted = repo.insert_delivery(
        uow,
        {
            "event_id": event["id"],
            "event_type": event["type"],
            "dossier_code": code,
            "message": message.kind,
            "channel": message.channel,
            "audience": message.audience,
            "recipient": message.recipient,
            "language": message.language,
            "subject": rendered.subject,
            "body": body,
            "urgent": message.urgent,
            "segments": segments,
            "encoding": encoding,
            "next_attempt_at": due,
            "deferred_reason": deferred,
            "created_at": now,
        },
    )
    if inserted and deferred:
        metrics.DEFERRED.labels(message.channel, deferred).inc()
    return inserted


def queue_webhooks(uow: UnitOfWork, event: dict[str, Any], code: str | None, now: datetime) -> int:
    interested = [s for s in repo.subscribers(uow) if subscribed(s["event_types"], event["type"])]
    if not interested:
        return 0
    body = encode(webhook_body(event)).decode("utf-8")
    queued = 0
    for subscriber in interested:
        queued += repo.insert_delivery(
            uow,
            {
                "event_id": event["id"],
                "event_type": event["type"],
                "dossier_code": code,
                "message": event["type"],
                "channel": WEBHOOK,
                "audience": SUBSCRIBER,
                "recipient": str(subscriber["id"]),
                "body": body,
                "state": "held" if subscriber["state"] == "suspended" else "pending",
                "next_attempt_at": now,
                "created_at": now,
            },
        )
    return queued


def queue_operator_notice(
    uow: UnitOfWork,
    templates: Templates,
    settings: Settings,
    kind: str,
    key: str,
    context: dict[str, Any],
    now: datetime,
) -> None:
    """Tell the operator (OPERATOR_EMAIL) about something only an operator can fix."""
    if not settings.operator_email:
        log.warning("no OPERATOR_EMAIL set: the operator is not emailed about %s", kind)
        return
    message = Message(kind, "email", OPERATOR, settings.operator_email, "vi", context, True)
    event = {"id": key, "type": f"notification.{kind}"}
    queue_message(uow, templates, settings, event, message, None, now)
