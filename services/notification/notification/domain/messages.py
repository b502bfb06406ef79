"""Which messages an event calls for, to whom, on which channels, with which facts.

Pure: the event, what is known of its dossier and the directory in; messages out. Rendering and
sending belong to the workflow and adapters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from notification.domain.directory import Directory

EMAIL, SMS, WEBHOOK = "email", "sms", "webhook"
CITIZEN, OFFICER, SUPERVISOR, OPERATOR, SUBSCRIBER = (
    "citizen",
    "officer",
    "supervisor",
    "operator",
    "subscriber",
)
LANGUAGES = ("vi", "en")

# event type -> the citizen's message
CITIZEN_MESSAGES = {
    "dossier.received": "receipt",
    "dossier.supplement_requested": "supplement_request",
    "dossier.refused": "refusal",
    "dossier.rescheduled": "apology",
    "dossier.result_ready": "result_ready",
    "dossier.returned": "evaluation_invite",
}
# event type -> (message, who in the agency, where the agency code is in the event's data)
OFFICER_MESSAGES = {
    "step.assigned": ("task_assigned", OFFICER, ("agency",)),
    "step.reassigned": ("task_assigned", OFFICER, ("agency",)),
    "step.reminder": ("step_reminder", OFFICER, ("agency",)),
    "step.overdue": ("overdue_escalation", SUPERVISOR, ("escalate_to", "agency")),
}
OPERATOR_MESSAGES = ("webhook_suspended",)

CHANNELS: dict[str, tuple[str, ...]] = {
    **{kind: (EMAIL, SMS) for kind in CITIZEN_MESSAGES.values()},
    **{kind: (EMAIL,) for kind, _, _ in OFFICER_MESSAGES.values()},
    "webhook_suspended": (EMAIL,),
}

_CITIZEN = ("code", "applicant_name", "procedure_name", "lookup_url")
CITIZEN_KEYS = ("pin", "link")  # what of `data.lookup` opens the dossier: never to subscribers
_STEP = ("code", "agency_name", "task", "due_date", "due_time", "step_id")
FIELDS: dict[str, tuple[str, ...]] = {
    "receipt": (*_CITIZEN, "received_date", "due_date", "due_time", "pin"),
    "supplement_request": (*_CITIZEN, "reason", "missing"),
    "refusal": (*_CITIZEN, "reason"),
    "apology": (*_CITIZEN, "reason", "new_date", "previous_date", "agency_name"),
    "result_ready": (*_CITIZEN, "return_method", "electronic", "result_reference"),
    "evaluation_invite": (*_CITIZEN, "returned_date"),
    "task_assigned": (*_STEP, "procedure_name"),
    "step_reminder": _STEP,
    "overdue_escalation": (*_STEP, "overdue_since"),
    "webhook_suspended": ("subscriber_id", "subscriber_name", "url", "failures", "last_error"),
}


class DossierUnknown(LookupError):
    """A citizen's message for a dossier whose reception has not reached us yet (try later)."""


@dataclass(frozen=True)
class Dossier:
    """What notification keeps of a dossier, from its `dossier.received`."""

    code: str
    unit: str | None = None
    applicant: dict[str, Any] = field(default_factory=dict)
    procedure_name: dict[str, str] = field(default_factory=dict)
    return_method: str | None = None
    lookup_url: str | None = None


@dataclass(frozen=True)
class Message:
    kind: str
    channel: str
    audience: str
    recipient: str
    language: str
    context: dict[str, Any]
    urgent: bool = False


@dataclass(frozen=True)
class Options:
    zone: ZoneInfo
    default_language: str = "vi"
    urgent: frozenset[str] = frozenset()


def dossier_from_received(data: dict[str, Any]) -> Dossier:
    lookup = data.get("lookup") or {}
    return Dossier(
        code=data["code"],
        unit=data.get("unit"),
        applicant=dict(data.get("applicant") or {}),
        procedure_name=dict((data.get("procedure") or {}).get("name") or {}),
        return_method=data.get("return_method"),
        # The citizen's link opens the dossier without the PIN (its secret `t`); older events
        # (contract < 1.4.0) carry only the plain address.
        lookup_url=lookup.get("link") or lookup.get("url"),
    )


def plan(
    event: dict[str, Any], dossier: Dossier | None, directory: Directory, options: Options
) -> list[Message]:
    """The messages `event` calls for (none for most events). Raises DossierUnknown for a
    citizen's message about a dossier not yet received here."""
    event_type, data = event["type"], event["data"]
    if event_type in CITIZEN_MESSAGES:
        if dossier is None:
            raise DossierUnknown(data.get("code") or event.get("subject"))
        return _citizen_messages(CITIZEN_MESSAGES[event_type], data, dossier, directory, options)
    if event_type in OFFICER_MESSAGES:
        kind, audience, path = OFFICER_MESSAGES[event_type]
        agency = _dig(data, path)
        recipients = (
            directory.officers(agency) if audience == OFFICER else directory.supervisors(agency)
        )
        context = _step_context(kind, data, dossier, directory, "vi", options.zone)
        return [
            Message(kind, EMAIL, audience, address, "vi", context, kind in options.urgent)
            for address in recipients
        ]
    return []


def _citizen_messages(
    kind: str, data: dict[str, Any], dossier: Dossier, directory: Directory, options: Options
) -> list[Message]:
    applicant = dossier.applicant
    language = applicant.get("language") or options.default_language
    if language not in LANGUAGES:
        language = options.default_language
    context = citizen_context(kind, data, dossier, directory, language, options.zone)
    addresses = {EMAIL: applicant.get("email"), SMS: applicant.get("phone")}
    return [
        Message(kind, channel, CITIZEN, str(address), language, context, kind in options.urgent)
        for channel, address in addresses.items()
        if address
    ]


def citizen_context(
    kind: str,
    data: dict[str, Any],
    dossier: Dossier,
    directory: Directory,
    language: str,
    zone: ZoneInfo,
) -> dict[str, Any]:
    base = {
        "code": dossier.code,
        "applicant_name": dossier.applicant.get("name", ""),
        "procedure_name": _text(dossier.procedure_name, language),
        "lookup_url": dossier.lookup_url or "",
    }
    if kind == "receipt":
        extra = {
            "received_date": format_date(data.get("received_at"), zone),
            "due_date": format_date(data.get("due_at"), zone),
            "due_time": format_time(data.get("due_at"), zone),
            "pin": (data.get("lookup") or {}).get("pin", ""),
        }
    elif kind == "supplement_request":
        missing = [
            item.get("description") or item.get("document_code") or ""
            for item in data.get("missing") or []
        ]
        extra = {"reason": data.get("reason") or "", "missing": missing}
    elif kind == "refusal":
        extra = {"reason": data.get("reason") or ""}
    elif kind == "apology":
        agency = (data.get("actor") or {}).get("unit") or dossier.unit or ""
        extra = {
            "reason": data.get("reason") or "",
            "new_date": format_date(data.get("due_at"), zone),
            "previous_date": format_date(data.get("previous_due_at"), zone),
            "agency_name": directory.name(agency, language),
        }
    elif kind == "result_ready":
        extra = {
            "return_method": dossier.return_method or "desk",
            "electronic": bool(data.get("electronic")),
            "result_reference": data.get("result_reference") or "",
        }
    elif kind == "evaluation_invite":
        extra = {"returned_date": format_date(data.get("at"), zone)}
    else:  # pragma: no cover - CITIZEN_MESSAGES and this function change together
        raise ValueError(f"no citizen message {kind}")
    return {**base, **extra}


def _step_context(
    kind: str,
    data: dict[str, Any],
    dossier: Dossier | None,
    directory: Directory,
    language: str,
    zone: ZoneInfo,
) -> dict[str, Any]:
    context = {
        "code": data["code"],
        "agency_name": directory.name(data["agency"], language),
        "task": _text(data.get("task") or {}, language),
        "due_date": format_date(data.get("due_at"), zone),
        "due_time": format_time(data.get("due_at"), zone),
        "step_id": data["step_id"],
    }
    if kind == "task_assigned":
        context["procedure_name"] = _text(dossier.procedure_name, language) if dossier else ""
    if kind == "overdue_escalation":
        at = data.get("at") or data.get("due_at")
        context["overdue_since"] = f"{format_time(at, zone)} {format_date(at, zone)}".strip()
    return context


def webhook_body(event: dict[str, Any]) -> dict[str, Any]:
    """The CloudEvent as subscribers get it: the citizen's lookup PIN and link are theirs alone."""
    data = event.get("data") or {}
    if isinstance(data.get("lookup"), dict):
        lookup = {k: v for k, v in data["lookup"].items() if k not in CITIZEN_KEYS}
        return {**event, "data": {**data, "lookup": lookup}}
    return event


def subscribed(event_types: list[str] | tuple[str, ...], event_type: str) -> bool:
    """`dossier.received` matches itself, `dossier.*` and `*`."""
    for pattern in event_types:
        if pattern in ("*", event_type):
            return True
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            return True
    return False


def format_date(value: str | None, zone: ZoneInfo) -> str:
    at = _parse(value)
    return at.astimezone(zone).strftime("%d/%m/%Y") if at else ""


def format_time(value: str | None, zone: ZoneInfo) -> str:
    at = _parse(value)
    return at.astimezone(zone).strftime("%H:%M") if at else ""


def _parse(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def _text(value: dict[str, str] | str, language: str) -> str:
    if isinstance(value, str):
        return value
    return value.get(language) or value.get("vi") or ""


def _dig(data: dict[str, Any], path: tuple[str, ...]) -> str:
    value: Any = data
    for key in path:
        value = (value or {}).get(key)
    return str(value or data.get("agency") or "")
