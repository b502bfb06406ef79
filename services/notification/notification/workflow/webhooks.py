"""Webhook subscribers: subscribe, list, show, remove, re-drive after a suspension."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from typing import Any

from motcua_kit.auth import Officer
from motcua_kit.db import UnitOfWork
from motcua_kit.errors import ApiError, Problem, not_found

from notification.adapters import repository as repo
from notification.adapters.egress import Refused
from notification.adapters.webhook import WebhookPoster
from notification.domain.masking import mask_url


def subscribe(
    uow: UnitOfWork, poster: WebhookPoster, officer: Officer, body: dict[str, Any]
) -> dict[str, Any]:
    """The secret is shown in this answer only; it signs every delivery to the subscriber and is
    stored encrypted. The URL must reach a public address (checked again at every delivery)."""
    try:
        poster.guard.check_subscription(body["url"])
    except Refused as exc:
        raise ApiError(
            422,
            "url_refused",
            "Địa chỉ nhận webhook không được chấp nhận",
            problems=[Problem("url", exc.code, exc.message)],
        ) from None
    secret = body.get("secret") or secrets.token_urlsafe(32)
    row = repo.create_subscriber(
        uow,
        {
            "id": uuid.uuid4(),
            "name": body["name"],
            "url": body["url"],
            "event_types": sorted(set(body["event_types"])),
            "secret_encrypted": poster.secrets.seal(secret),
            "created_by": officer.id,
        },
    )
    return {**public_view(row), "secret": secret}


def seal_clear_secrets(uow: UnitOfWork, poster: WebhookPoster) -> int:
    """Encrypt the secrets still stored in clear (rows from before migration 002)."""
    rows = repo.clear_secrets(uow)
    for row in rows:
        repo.store_sealed_secret(uow, row["id"], poster.secrets.seal(row["secret_clear"]))
    return len(rows)


def subscriber_list(uow: UnitOfWork) -> dict[str, Any]:
    return {"subscribers": [public_view(row) for row in repo.subscribers(uow)]}


def show_subscriber(uow: UnitOfWork, subscriber_id: str) -> dict[str, Any]:
    return public_view(_existing(uow, subscriber_id))


def delete_subscriber(uow: UnitOfWork, subscriber_id: str, now: datetime) -> dict[str, Any]:
    _existing(uow, subscriber_id, lock=True)
    repo.hold_deliveries(uow, subscriber_id, now)  # nothing more goes out to it
    row = repo.update_subscriber(uow, subscriber_id, state="deleted")
    assert row is not None
    return public_view(row)


def redrive(uow: UnitOfWork, officer: Officer, subscriber_id: str, now: datetime) -> dict[str, Any]:
    """The subscriber is back: resume it, and send what was held or given up while it was down."""
    before = _existing(uow, subscriber_id, lock=True)
    subscriber_id = str(before["id"])  # as stored, not as typed in the URL
    row = repo.update_subscriber(
        uow,
        subscriber_id,
        state="active",
        consecutive_failures=0,
        suspended_at=None,
        last_error=None,
    )
    assert row is not None
    released = repo.release_deliveries(uow, subscriber_id, now)
    uow.emit(
        "notification.webhook_resumed",
        subscriber_id,
        {
            "subscriber_id": subscriber_id,
            "was": before["state"],
            "released": released,
            "by": officer.as_actor(),
            "at": now.isoformat(),
        },
    )
    return {**public_view(row), "released": released}


def public_view(row: dict[str, Any]) -> dict[str, Any]:
    """A subscriber as the API shows it: never its secret."""
    return {
        "id": str(row["id"]),
        "name": row["name"],
        "url": row["url"],
        "url_masked": mask_url(row["url"]),
        "event_types": list(row["event_types"]),
        "state": row["state"],
        "consecutive_failures": row["consecutive_failures"],
        "last_error": row["last_error"],
        "suspended_at": row["suspended_at"].isoformat() if row["suspended_at"] else None,
        "created_at": row["created_at"].isoformat(),
    }


def _existing(uow: UnitOfWork, subscriber_id: str, lock: bool = False) -> dict[str, Any]:
    try:
        uuid.UUID(subscriber_id)
    except ValueError:
        raise not_found("Không tìm thấy bên nhận webhook") from None
    row = repo.subscriber(uow, subscriber_id, lock=lock)
    if row is None:
        raise not_found("Không tìm thấy bên nhận webhook")
    return row
