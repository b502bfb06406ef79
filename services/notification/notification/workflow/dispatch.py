"""Sending: claim due deliveries, send them concurrently, record each outcome.

Claims are committed before anything is sent (a lease, not a lock held while a slow SMTP server
thinks), and outcomes are recorded only for deliveries still leased to us. A sender that dies
between handing a message over and recording it leaves the lease to run out; the delivery is
then sent again *with the same id* (Message-ID, SMS `$id`/Idempotency-Key, X-Motcua-Delivery),
so the far end can recognise the repeat: docs/delivery-guarantees.md.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import eventlet
import psycopg
from motcua_kit.db import UnitOfWork

from notification import metrics
from notification.adapters import repository as repo
from notification.adapters.email import Envelope
from notification.adapters.sms import TextMessage
from notification.adapters.webhook import Call
from notification.domain import outcome, simulator
from notification.domain.masking import mask
from notification.domain.messages import EMAIL, SMS, WEBHOOK
from notification.domain.outcome import Outcome
from notification.domain.schedule import next_attempt
from notification.providers import ChannelSet
from notification.settings import ALL_CHANNELS, Settings
from notification.templates import Templates
from notification.workflow.planning import queue_operator_notice

log = logging.getLogger(__name__)


BACKLOG_SECONDS = 10.0  # a timer worker hands over to the next tick after this long


def dispatch_backlog(
    uow: UnitOfWork,
    channels: ChannelSet,
    templates: Templates,
    settings: Settings,
    now: Callable[[], datetime],
) -> int:
    """Rounds one after another while they come back full, so a backlog drains as fast as the
    channels and rate limits allow instead of one batch per timer tick."""
    started, attempted = time.monotonic(), 0
    while True:
        count = dispatch(uow, channels, templates, settings, now)
        attempted += count
        if count < settings.batch or time.monotonic() - started > BACKLOG_SECONDS:
            return attempted


def dispatch(
    uow: UnitOfWork,
    channels: ChannelSet,
    templates: Templates,
    settings: Settings,
    now: Callable[[], datetime],
) -> int:
    """One round: returns how many deliveries were attempted."""
    claimed = repo.claim(
        uow, now(), settings.rate_limits, ALL_CHANNELS, settings.batch, settings.lease
    )
    webhook_ids = [d["recipient"] for d in claimed if d["channel"] == WEBHOOK]
    subscribers = repo.subscribers_by_id(uow, webhook_ids) if webhook_ids else {}
    uow.commit()  # the claims (and their leases) stand before we talk to the outside world
    if not claimed:
        return 0
    pool = eventlet.GreenPool(settings.concurrency)
    outcomes = list(pool.imap(lambda d: attempt(channels, d, subscribers), claimed))
    finished = now()
    # The messages are out: losing the database now would mean sending them all again once the
    # leases run out. Keep the outcomes and try to record them for up to half a lease.
    waited, pause = 0.0, 0.5
    while True:
        try:
            record_all(uow, templates, settings, claimed, outcomes, finished)
            uow.commit()
            return len(claimed)
        except psycopg.OperationalError:
            uow.finish(commit=False)  # drop the lost connection; the next use takes a new one
            if waited + pause > settings.lease.total_seconds() / 2:
                log.exception("could not record %s outcomes; they will be sent again", len(claimed))
                return len(claimed)
            log.warning("database unavailable, recording %s outcomes again", len(claimed))
            eventlet.sleep(pause)
            waited, pause = waited + pause, min(pause * 2, 5.0)


def record_all(
    uow: UnitOfWork,
    templates: Templates,
    settings: Settings,
    claimed: list[dict[str, Any]],
    outcomes: list[Outcome],
    finished: datetime,
) -> None:
    pairs = list(zip(claimed, outcomes, strict=True))
    succeeded = [(d, r) for d, r in pairs if r.succeeded]
    # Pipeline mode: statements that need no answer travel together.
    with uow.conn.pipeline():
        if succeeded:
            try:
                with uow.conn.transaction():
                    record_succeeded(uow, succeeded, finished)
                pairs = [(d, r) for d, r in pairs if not r.succeeded]
            except psycopg.OperationalError:
                raise  # the connection is gone: all of them again, on a new one
            except Exception:
                log.exception("could not record %s outcomes together", len(succeeded))
        for delivery, result in pairs:
            try:
                with uow.conn.transaction():  # one bad record must not undo the others
                    record(uow, templates, settings, delivery, result, finished)
            except psycopg.OperationalError:
                raise
            except Exception:
                log.exception("could not record the outcome of delivery %s", delivery["id"])


def record_succeeded(
    uow: UnitOfWork, succeeded: list[tuple[dict[str, Any], Outcome]], now: datetime
) -> None:
    """The common case, in a few statements for the whole round instead of a few each."""
    recorded = repo.finish_succeeded(
        uow, [(d, r.status, r.detail, r.provider_id) for d, r in succeeded], now
    )
    for delivery, result in succeeded:
        if str(delivery["id"]) not in recorded:
            continue  # the lease ran out and another sender owns it now
        metrics.SENT.labels(delivery["channel"], delivery["message"]).inc()
        _emit(uow, "notification.sent", delivery, result.status, now)
        if delivery["channel"] == WEBHOOK:
            repo.reset_failures(uow, delivery["recipient"])


def attempt(
    channels: ChannelSet, delivery: dict[str, Any], subscribers: dict[str, dict[str, Any]]
) -> Outcome:
    """Send one delivery; never raises (an unexpected error is a temporary failure)."""
    channel, delivery_id = delivery["channel"], str(delivery["id"])
    try:
        if channel == WEBHOOK:
            subscriber = subscribers.get(delivery["recipient"])
            if subscriber is None or subscriber["state"] == "deleted":
                return outcome.permanent("the subscriber was removed")
            simulated = simulator.simulate(WEBHOOK, subscriber["url"])
            if simulated:
                return simulated
            event = json.loads(delivery["body"])
            return channels.webhook.send(
                Call(
                    delivery_id,
                    subscriber["url"],
                    channels.webhook.signing_secret(subscriber),
                    event,
                )
            )
        simulated = simulator.simulate(channel, delivery["recipient"])
        if simulated:
            return simulated
        if channel == EMAIL:
            envelope = Envelope(
                delivery_id, delivery["recipient"], delivery["subject"] or "", delivery["body"]
            )
            return channels.email.send(envelope)
        if channel == SMS:
            text = TextMessage(
                delivery_id,
                delivery["recipient"],
                delivery["body"],
                delivery["segments"] or 1,
                delivery["encoding"] or "",
            )
            return channels.sms.send(text)
        return outcome.permanent(f"no channel {channel}")
    except Exception as exc:
        log.exception("sending delivery %s failed unexpectedly", delivery_id)
        return outcome.temporary(f"{type(exc).__name__}: {exc}"[:500])


def record(
    uow: UnitOfWork,
    templates: Templates,
    settings: Settings,
    delivery: dict[str, Any],
    result: Outcome,
    now: datetime,
) -> None:
    channel, template = delivery["channel"], delivery["message"]
    if result.status in (outcome.SENT, outcome.DELIVERED):
        state: dict[str, Any] = {
            "state": result.status,
            "sent_at": now,
            "provider_id": result.provider_id,
            "last_error": None,
            "deferred_reason": None,
        }
        if result.status == outcome.DELIVERED:
            state["delivered_at"] = now
        if repo.finish(uow, delivery, result.status, result.detail, now, **state):
            metrics.SENT.labels(channel, template).inc()
            _emit(uow, "notification.sent", delivery, result.status, now)
    elif result.status == outcome.TEMPORARY:
        retry_at = next_attempt(
            now, delivery["attempts"] - delivery["schedule_from"], settings.schedule
        )
        if retry_at is None:
            _fail(uow, delivery, "exhausted", result, now)
        else:
            retry_at = settings.not_before(
                channel, delivery["audience"], delivery["urgent"], retry_at
            )
            if repo.finish(
                uow,
                delivery,
                result.status,
                result.detail,
                now,
                state="failed_temporary",
                next_attempt_at=retry_at,
                last_error=result.detail,
            ):
                metrics.FAILED.labels(channel, template, "temporary").inc()
                metrics.RETRIED.labels(channel, template).inc()
    else:
        _fail(uow, delivery, "permanent", result, now)
    if channel == WEBHOOK:
        _subscriber_health(uow, templates, settings, delivery["recipient"], result, now)


def _fail(
    uow: UnitOfWork, delivery: dict[str, Any], failure: str, result: Outcome, now: datetime
) -> None:
    if repo.finish(
        uow,
        delivery,
        result.status,
        result.detail,
        now,
        state="failed_permanent",
        failure=failure,
        failed_at=now,
        last_error=result.detail,
    ):
        metrics.FAILED.labels(delivery["channel"], delivery["message"], failure).inc()
        _emit(uow, "notification.failed", delivery, "failed_permanent", now, failure, result.detail)
        log.warning(
            "delivery %s failed (%s): %s",
            delivery["id"],
            failure,
            result.detail,
            extra={"dossier": delivery["dossier_code"]},
        )


def _emit(
    uow: UnitOfWork,
    event_type: str,
    delivery: dict[str, Any],
    state: str,
    now: datetime,
    failure: str | None = None,
    error: str | None = None,
) -> None:
    """What reporting and other systems learn: never the address or the text itself."""
    data: dict[str, Any] = {
        "id": str(delivery["id"]),
        "code": delivery["dossier_code"],
        "event_id": delivery["event_id"],
        "event_type": delivery["event_type"],
        "message": delivery["message"],
        "channel": delivery["channel"],
        "audience": delivery["audience"],
        "state": state,
        "attempts": delivery["attempts"],
        "at": now.isoformat(),
    }
    if failure:
        # A far end often quotes the address in its refusal ("<anh@…>: Recipient rejected").
        data["failure"] = failure
        data["error"] = (error or "").replace(
            delivery["recipient"], mask(delivery["channel"], delivery["recipient"])
        )
    uow.emit(event_type, delivery["dossier_code"] or str(delivery["id"]), data)


def _subscriber_health(
    uow: UnitOfWork,
    templates: Templates,
    settings: Settings,
    subscriber_id: str,
    result: Outcome,
    now: datetime,
) -> None:
    """Count consecutive failures; past WEBHOOK_SUSPEND_AFTER suspend it and tell the operator."""
    if result.succeeded:
        repo.reset_failures(uow, subscriber_id)
        return
    subscriber = repo.count_failure(uow, subscriber_id, result.detail)
    if subscriber is not None and subscriber["state"] == "suspended":
        # In flight when it was suspended (same round, or queued as it happened): held with the
        # others, not retried against a subscriber we stopped calling.
        repo.hold_deliveries(uow, subscriber_id, now)
        return
    if subscriber is None or subscriber["state"] != "active":
        return
    if subscriber["consecutive_failures"] < settings.suspend_after:
        return
    repo.update_subscriber(uow, subscriber_id, state="suspended", suspended_at=now)
    held = repo.hold_deliveries(uow, subscriber_id, now)
    metrics.WEBHOOKS_SUSPENDED_TOTAL.inc()
    facts = {
        "subscriber_id": subscriber_id,
        "subscriber_name": subscriber["name"],
        "url": subscriber["url"],
        "failures": subscriber["consecutive_failures"],
        "last_error": result.detail,
    }
    uow.emit(
        "notification.webhook_suspended",
        subscriber_id,
        {**facts, "held": held, "at": now.isoformat()},
    )
    queue_operator_notice(
        uow,
        templates,
        settings,
        "webhook_suspended",
        f"webhook_suspended:{subscriber_id}:{now.isoformat()}",
        facts,
        now,
    )
    log.error("webhook subscriber %s suspended after %s failures", subscriber_id, facts["failures"])
