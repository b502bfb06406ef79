"""What officers and operators read: the delivery log, templates and their previews; and the
SMS gateway's delivery reports."""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Any

from jinja2 import TemplateError
from motcua_kit import access, audit
from motcua_kit.access import Units
from motcua_kit.auth import Officer
from motcua_kit.db import UnitOfWork
from motcua_kit.errors import ApiError, Problem, not_found

from notification import metrics
from notification.adapters import repository as repo
from notification.domain.masking import mask
from notification.domain.messages import CHANNELS, FIELDS, LANGUAGES, SMS
from notification.domain.samples import SAMPLES
from notification.domain.sms import count_segments, unaccent
from notification.templates import Templates


def delivery_log(uow: UnitOfWork, officer: Officer, directory: Units, code: str) -> dict[str, Any]:
    """Every message about a dossier; officers of the units involved, or whoever oversees one of
    them, only (others: 404, as for a dossier that does not exist)."""
    units = repo.dossier_units(uow, code)
    seen = units is not None and any(
        access.sees_unit(officer, u, directory) or officer.agency == u for u in units
    )
    if not seen:
        raise not_found(f"Không có thông báo nào của hồ sơ {code} mà cán bộ được xem")
    # Recipients (masked) and texts are personal data: the read is recorded.
    audit.record_by(uow, code, "read.deliveries", audit.by_officer(officer), None)
    return {
        "dossier": code,
        "notifications": [_entry(row) for row in repo.deliveries_of(uow, code)],
    }


def _entry(row: dict[str, Any]) -> dict[str, Any]:
    def at(key: str) -> str | None:
        return row[key].isoformat() if row[key] else None

    return {
        "id": str(row["id"]),
        "event_type": row["event_type"],
        "template": row["message"],
        "channel": row["channel"],
        "audience": row["audience"],
        "recipient": mask(row["channel"], row["recipient"]),
        "language": row["language"],
        "state": row["state"],
        "failure": row["failure"],
        "attempts": row["attempts"],
        "segments": row["segments"],
        "deferred_reason": row["deferred_reason"],
        "last_error": row["last_error"],
        "created_at": at("created_at"),
        "next_attempt_at": at("next_attempt_at")
        if row["state"] in ("pending", "failed_temporary")
        else None,
        "sent_at": at("sent_at"),
        "delivered_at": at("delivered_at"),
        "failed_at": at("failed_at"),
    }


def template_list(templates: Templates) -> dict[str, Any]:
    return {
        "templates": [
            {
                "message": kind,
                "channel": channel,
                "language": language,
                "fields": list(FIELDS[kind]),
                "source": templates.source_of(kind, channel, language),
            }
            for kind, channel, language in templates.all_keys()
        ]
    }


def preview(
    templates: Templates, kind: str, channel: str, language: str, facts: dict[str, Any]
) -> dict[str, Any]:
    """Render with the sample facts, changed by `facts`; 422 names any fact it does not know."""
    if kind not in CHANNELS or channel not in CHANNELS[kind] or language not in LANGUAGES:
        raise not_found(f"Không có mẫu {kind}/{channel}.{language}")
    unknown = sorted(set(facts) - set(FIELDS[kind]))
    if unknown:
        raise ApiError(
            422,
            "validation_failed",
            "Dữ liệu mẫu có trường không thuộc thông báo này",
            [
                Problem(
                    f"facts.{name}",
                    "unknown_field",
                    f"'{kind}' không có trường {name}",
                    f"'{kind}' has no field {name}",
                )
                for name in unknown
            ],
        )
    try:
        rendered = templates.render(kind, channel, language, {**SAMPLES[kind], **facts})
    except TemplateError as exc:
        raise ApiError(
            422,
            "template_error",
            "Không hiển thị được mẫu với dữ liệu này",
            [Problem("facts", "template_error", str(exc))],
        ) from None
    answer: dict[str, Any] = {
        "message": kind,
        "channel": channel,
        "language": language,
        "subject": rendered.subject,
        "body": rendered.body,
    }
    if channel == SMS:
        for name, text in (("sms", rendered.body), ("unaccented", unaccent(rendered.body))):
            counted = count_segments(text)
            answer[name] = {
                "text": text,
                "encoding": counted.encoding,
                "characters": counted.units,
                "segments": counted.count,
            }
    return answer


def check_gateway_token(expected: str | None, given: str | None) -> None:
    """Delivery reports come from the SMS gateway only: it sends the shared SMS_REPORT_TOKEN."""
    if not expected or not hmac.compare_digest(expected.encode(), (given or "").encode()):
        raise ApiError(401, "unauthorized", "Thiếu hoặc sai mã xác thực của cổng SMS")


def sms_report(uow: UnitOfWork, body: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The gateway tells us what became of an SMS; unknown ids are answered 404 (it may retry)."""
    key, status = body["id"], body["status"]
    if status == "delivered":
        row = repo.mark_delivered(uow, key, now)
    else:
        row = repo.mark_undelivered(uow, key, body.get("error") or "undelivered", now)
    if row is None:
        raise not_found("Không có tin nhắn đang chờ báo cáo với mã này")
    metrics.DELIVERED.labels(status).inc()
    if status == "delivered":
        event_type = "notification.delivered"
    else:
        event_type = "notification.failed"
        metrics.FAILED.labels(SMS, row["message"], "undelivered").inc()
    uow.emit(
        event_type,
        row["dossier_code"] or str(row["id"]),
        {
            "id": str(row["id"]),
            "code": row["dossier_code"],
            "event_id": row["event_id"],
            "event_type": row["event_type"],
            "message": row["message"],
            "channel": SMS,
            "audience": row["audience"],
            "state": row["state"],
            "attempts": row["attempts"],
            "at": now.isoformat(),
            **(
                {"failure": "undelivered", "error": row["last_error"]}
                if status != "delivered"
                else {}
            ),
        },
    )
    return {"id": str(row["id"]), "state": row["state"]}


def refresh_gauges(uow: UnitOfWork, now: datetime) -> None:
    seen = set()
    for row in repo.pending_by_channel(uow, now):
        metrics.PENDING.labels(row["channel"]).set(row["pending"])
        metrics.OLDEST_PENDING_AGE.labels(row["channel"]).set(float(row["oldest_seconds"]))
        seen.add(row["channel"])
    for channel in {"email", "sms", "webhook"} - seen:
        metrics.PENDING.labels(channel).set(0)
        metrics.OLDEST_PENDING_AGE.labels(channel).set(0)
    metrics.WEBHOOKS_SUSPENDED.set(repo.count_suspended(uow))
