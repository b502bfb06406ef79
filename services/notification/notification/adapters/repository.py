"""notification's SQL: dossiers it knows, deliveries (the log and the queue), attempts, subscribers."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from motcua_kit.db import UnitOfWork
from psycopg.types.json import Jsonb

from notification.domain.messages import Dossier

ACTIVE_STATES = ("pending", "failed_temporary", "sending")
CLAIM_LOCK = "motcua.notification.claim"


# --- dossiers ----------------------------------------------------------------------------------


def save_dossier(uow: UnitOfWork, dossier: Dossier, received_at: str | None) -> None:
    uow.execute(
        "INSERT INTO dossiers (code, unit, applicant, procedure_name, return_method, lookup_url,"
        " units, received_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (code) DO UPDATE SET unit = EXCLUDED.unit, applicant = EXCLUDED.applicant,"
        " procedure_name = EXCLUDED.procedure_name, return_method = EXCLUDED.return_method,"
        " lookup_url = EXCLUDED.lookup_url, received_at = EXCLUDED.received_at,"
        " units = ARRAY(SELECT DISTINCT unnest(dossiers.units || EXCLUDED.units))",
        (
            dossier.code,
            dossier.unit,
            Jsonb(dossier.applicant),
            Jsonb(dossier.procedure_name),
            dossier.return_method,
            dossier.lookup_url,
            [dossier.unit] if dossier.unit else [],
            received_at,
        ),
    )


def add_unit(uow: UnitOfWork, code: str, unit: str) -> None:
    """Remember that `unit` holds (or held) a step of the dossier: its officers may read the log."""
    uow.execute(
        "INSERT INTO dossiers (code, units) VALUES (%s, ARRAY[%s]) ON CONFLICT (code) DO UPDATE"
        " SET units = dossiers.units || EXCLUDED.units WHERE NOT %s = ANY (dossiers.units)",
        (code, unit, unit),
    )


def load_dossier(uow: UnitOfWork, code: str) -> Dossier | None:
    row = uow.fetchone("SELECT * FROM dossiers WHERE code = %s", (code,))
    if row is None or row["applicant"] is None:
        return None
    return Dossier(
        code=row["code"],
        unit=row["unit"],
        applicant=row["applicant"],
        procedure_name=row["procedure_name"] or {},
        return_method=row["return_method"],
        lookup_url=row["lookup_url"],
    )


def dossier_units(uow: UnitOfWork, code: str) -> list[str] | None:
    row = uow.fetchone("SELECT units FROM dossiers WHERE code = %s", (code,))
    return None if row is None else list(row["units"])


# --- deliveries --------------------------------------------------------------------------------


def insert_delivery(uow: UnitOfWork, row: dict[str, Any]) -> bool:
    """Add a delivery unless this event already has one for this recipient and channel."""
    columns = [
        "id",
        "event_id",
        "event_type",
        "dossier_code",
        "message",
        "channel",
        "audience",
        "recipient",
        "language",
        "subject",
        "body",
        "urgent",
        "segments",
        "encoding",
        "state",
        "next_attempt_at",
        "deferred_reason",
        "created_at",
        "updated_at",
    ]
    # Every column is written, so a missing value would be NULL, not the column's default.
    values = {"id": uuid.uuid4(), "state": "pending", "urgent": False, **row}
    values.setdefault("updated_at", values["created_at"])
    inserted = uow.fetchone(
        f"INSERT INTO deliveries ({', '.join(columns)}) VALUES "  # noqa: S608 (fixed names)
        f"({', '.join('%(' + c + ')s' for c in columns)}) "
        "ON CONFLICT (event_id, recipient, channel) DO NOTHING RETURNING id",
        {c: values.get(c) for c in columns},
    )
    return inserted is not None


def claim(
    uow: UnitOfWork,
    now: datetime,
    limits: dict[str, int],
    channels: tuple[str, ...],
    batch: int,
    lease: timedelta,
) -> list[dict[str, Any]]:
    """Due deliveries, marked `sending` under a lease, within each channel's per-minute budget.

    One advisory lock serialises claims across replicas so the budget holds for all of them; a
    delivery whose sender died (lease passed) is claimed again.
    """
    uow.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (CLAIM_LOCK,))
    claimed: list[dict[str, Any]] = []
    for channel in channels:
        budget = batch
        if channel in limits:
            used = uow.fetchone(
                "SELECT count(*) AS n FROM delivery_attempts WHERE channel = %s AND started_at > %s",
                (channel, now - timedelta(minutes=1)),
            )
            budget = min(batch, limits[channel] - int(used["n"] if used else 0))
        if budget <= 0:
            continue
        rows = uow.fetchall(
            "UPDATE deliveries SET state = 'sending', attempts = attempts + 1,"
            " lease_until = %(lease)s, updated_at = %(now)s WHERE id IN ("
            " SELECT id FROM deliveries WHERE channel = %(channel)s AND next_attempt_at <= %(now)s"
            " AND (state IN ('pending', 'failed_temporary')"
            "      OR (state = 'sending' AND lease_until < %(now)s))"
            " ORDER BY next_attempt_at LIMIT %(n)s FOR UPDATE SKIP LOCKED) RETURNING *",
            {"lease": now + lease, "now": now, "channel": channel, "n": budget},
        )
        if rows:
            uow.execute(
                "INSERT INTO delivery_attempts (delivery_id, attempt, channel, started_at)"
                " SELECT d, a, %s, %s FROM unnest(%s::uuid[], %s::int[]) AS t(d, a)",
                (channel, now, [r["id"] for r in rows], [r["attempts"] for r in rows]),
            )
        claimed.extend(rows)
    return claimed


def finish(
    uow: UnitOfWork, delivery: dict[str, Any], status: str, detail: str, now: datetime, **state: Any
) -> bool:
    """Record an attempt's outcome; False if the lease was lost and another sender owns it now."""
    uow.execute(
        "UPDATE delivery_attempts SET finished_at = %s, outcome = %s, detail = %s"
        " WHERE delivery_id = %s AND attempt = %s",
        (now, status, detail[:1000], delivery["id"], delivery["attempts"]),
    )
    assignments = ", ".join(f"{column} = %({column})s" for column in state)
    updated = uow.fetchone(
        f"UPDATE deliveries SET {assignments}, lease_until = NULL, updated_at = %(now)s"  # noqa: S608
        " WHERE id = %(id)s AND attempts = %(attempts)s AND state = 'sending' RETURNING id",
        {**state, "now": now, "id": delivery["id"], "attempts": delivery["attempts"]},
    )
    return updated is not None


def finish_succeeded(
    uow: UnitOfWork, succeeded: list[tuple[dict[str, Any], str, str, str | None]], now: datetime
) -> set[str]:
    """`finish` for many handed-over deliveries at once: (delivery, status, detail, provider id)
    each, status `sent` or `delivered`. Returns the ids still leased to us, now recorded."""
    ids = [d["id"] for d, _, _, _ in succeeded]
    attempts = [d["attempts"] for d, _, _, _ in succeeded]
    statuses = [status for _, status, _, _ in succeeded]
    uow.execute(
        "UPDATE delivery_attempts a SET finished_at = %s, outcome = v.status, detail = v.detail"
        " FROM unnest(%s::uuid[], %s::int[], %s::text[], %s::text[]) AS v(id, attempt, status,"
        " detail) WHERE a.delivery_id = v.id AND a.attempt = v.attempt",
        (now, ids, attempts, statuses, [detail[:1000] for _, _, detail, _ in succeeded]),
    )
    rows = uow.fetchall(
        "UPDATE deliveries d SET state = v.status, sent_at = %(now)s, provider_id = v.provider_id,"
        " delivered_at = CASE WHEN v.status = 'delivered' THEN %(now)s ELSE d.delivered_at END,"
        " last_error = NULL, deferred_reason = NULL, lease_until = NULL, updated_at = %(now)s"
        " FROM unnest(%(ids)s::uuid[], %(attempts)s::int[], %(statuses)s::text[],"
        " %(providers)s::text[]) AS v(id, attempt, status, provider_id)"
        " WHERE d.id = v.id AND d.attempts = v.attempt AND d.state = 'sending' RETURNING d.id",
        {
            "now": now,
            "ids": ids,
            "attempts": attempts,
            "statuses": statuses,
            "providers": [provider for _, _, _, provider in succeeded],
        },
    )
    return {str(row["id"]) for row in rows}


def mark_delivered(uow: UnitOfWork, key: str, now: datetime) -> dict[str, Any] | None:
    """An SMS delivery report: `key` is our delivery id or the gateway's id for it."""
    return uow.fetchone(
        "UPDATE deliveries SET state = 'delivered', delivered_at = %(now)s, updated_at = %(now)s"
        " WHERE channel = 'sms' AND state IN ('sent', 'sending')"
        " AND (provider_id = %(key)s OR id::text = %(key)s) RETURNING *",
        {"key": key, "now": now},
    )


def mark_undelivered(uow: UnitOfWork, key: str, error: str, now: datetime) -> dict[str, Any] | None:
    return uow.fetchone(
        "UPDATE deliveries SET state = 'failed_permanent', failure = 'undelivered',"
        " last_error = %(error)s, failed_at = %(now)s, updated_at = %(now)s"
        " WHERE channel = 'sms' AND state IN ('sent', 'sending')"
        " AND (provider_id = %(key)s OR id::text = %(key)s) RETURNING *",
        {"key": key, "error": error[:1000], "now": now},
    )


def deliveries_of(uow: UnitOfWork, code: str) -> list[dict[str, Any]]:
    return uow.fetchall(
        "SELECT * FROM deliveries WHERE dossier_code = %s ORDER BY created_at, channel", (code,)
    )


def pending_by_channel(uow: UnitOfWork, now: datetime) -> list[dict[str, Any]]:
    return uow.fetchall(
        "SELECT channel, count(*) AS pending,"
        " coalesce(extract(epoch FROM %s - min(created_at)), 0) AS oldest_seconds"
        " FROM deliveries WHERE state IN ('pending', 'failed_temporary', 'sending', 'held')"
        " GROUP BY channel",
        (now,),
    )


# --- webhook subscribers -----------------------------------------------------------------------


def create_subscriber(uow: UnitOfWork, values: dict[str, Any]) -> dict[str, Any]:
    row = uow.fetchone(
        "INSERT INTO webhook_subscribers (id, name, url, event_types, secret_encrypted, created_by)"
        " VALUES (%(id)s, %(name)s, %(url)s, %(event_types)s, %(secret_encrypted)s,"
        " %(created_by)s)"
        " RETURNING *",
        values,
    )
    assert row is not None
    return row


def clear_secrets(uow: UnitOfWork) -> list[dict[str, Any]]:
    """Subscribers whose secret is still in clear (from before migration 002), locked."""
    return uow.fetchall(
        "SELECT id, secret_clear FROM webhook_subscribers WHERE secret_clear IS NOT NULL"
        " FOR UPDATE SKIP LOCKED"
    )


def store_sealed_secret(uow: UnitOfWork, subscriber_id: Any, sealed: str) -> None:
    uow.execute(
        "UPDATE webhook_subscribers SET secret_encrypted = %s, secret_clear = NULL WHERE id = %s",
        (sealed, subscriber_id),
    )


def subscriber(uow: UnitOfWork, subscriber_id: str, lock: bool = False) -> dict[str, Any] | None:
    query = "SELECT * FROM webhook_subscribers WHERE id = %s AND state <> 'deleted'"
    return uow.fetchone(query + " FOR UPDATE" if lock else query, (subscriber_id,))


def subscribers(uow: UnitOfWork) -> list[dict[str, Any]]:
    return uow.fetchall(
        "SELECT * FROM webhook_subscribers WHERE state <> 'deleted' ORDER BY created_at"
    )


def subscribers_by_id(uow: UnitOfWork, ids: list[str]) -> dict[str, dict[str, Any]]:
    rows = uow.fetchall("SELECT * FROM webhook_subscribers WHERE id::text = ANY(%s)", (ids,))
    return {str(row["id"]): row for row in rows}


def update_subscriber(uow: UnitOfWork, subscriber_id: str, **values: Any) -> dict[str, Any] | None:
    assignments = ", ".join(f"{column} = %({column})s" for column in values)
    return uow.fetchone(
        f"UPDATE webhook_subscribers SET {assignments} WHERE id = %(id)s RETURNING *",  # noqa: S608
        {**values, "id": subscriber_id},
    )


def count_failure(uow: UnitOfWork, subscriber_id: str, error: str) -> dict[str, Any] | None:
    return uow.fetchone(
        "UPDATE webhook_subscribers SET consecutive_failures = consecutive_failures + 1,"
        " last_error = %s WHERE id = %s RETURNING *",
        (error[:1000], subscriber_id),
    )


def hold_deliveries(uow: UnitOfWork, subscriber_id: str, now: datetime) -> int:
    """A suspended subscriber's waiting deliveries stop being tried (until a re-drive)."""
    rows = uow.fetchall(
        "UPDATE deliveries SET state = 'held', updated_at = %s WHERE channel = 'webhook'"
        " AND recipient = %s AND state IN ('pending', 'failed_temporary') RETURNING id",
        (now, subscriber_id),
    )
    return len(rows)


def release_deliveries(uow: UnitOfWork, subscriber_id: str, now: datetime) -> int:
    """Re-drive: held deliveries, and those that failed while it was down, are due again now."""
    rows = uow.fetchall(
        "UPDATE deliveries SET state = 'pending', next_attempt_at = %(now)s, failure = NULL,"
        " schedule_from = attempts, updated_at = %(now)s WHERE channel = 'webhook'"
        " AND recipient = %(id)s AND (state = 'held'"
        "   OR (state = 'failed_permanent' AND failure = 'exhausted')) RETURNING id",
        {"now": now, "id": subscriber_id},
    )
    return len(rows)


def count_suspended(uow: UnitOfWork) -> int:
    row = uow.fetchone("SELECT count(*) AS n FROM webhook_subscribers WHERE state = 'suspended'")
    return int(row["n"]) if row else 0


def reset_failures(uow: UnitOfWork, subscriber_id: str) -> None:
    uow.execute(
        "UPDATE webhook_subscribers SET consecutive_failures = 0, last_error = NULL"
        " WHERE id = %s AND consecutive_failures <> 0",
        (subscriber_id,),
    )
