"""A scripted month at one desk, as the events intake, routing and notification would publish.

Used by test_reporting_counts.py, which works out by hand what the reports must say of it.
Every time is fixed and past, in Vietnam (UTC+7); each event's `time` is the moment it happened,
and intake's and notification's `at` says the same. June 2025 has no public holiday: its
working days are Monday-Friday, 07:00-11:30 and 13:30-17:00 (8 hours a day).

The unit 000.00.99.H38 exists only here. Two fields (ho-tich: procedure 2.000986, 3 working
days, a step at the commune then one at the police; chung-thuc: 2.000815, the same day), two
agencies (the commune, 000.00.99.H38, and the police, CA.H38.08):

    K  ho-tich, desk, received Mon 26/5 09:00, result Tue 27/5 10:00 early: all in May
    H  ho-tich, desk, received Wed 28/5 09:00 (due Mon 2/6 09:00), result Mon 2/6 08:00 on time:
       carried over into June and finished in it
    A  ho-tich, desk, received Mon 2/6 09:00 (due Thu 5/6 09:00), result Wed 4/6 10:00 early,
       electronic; returned; evaluated very satisfied
    B  ho-tich, online, received Tue 3/6 09:00 (due Fri 6/6 09:00), result Fri 6/6 08:30 on time;
       returned; evaluated satisfied
    C  ho-tich, desk, received Wed 4/6 09:00 (due Mon 9/6 09:00), result Tue 10/6 15:00 late,
       electronic
    D  ho-tich, online, received Thu 5/6 09:00 (due Tue 10/6 09:00), no result: overdue; its second
       step, held by CA.H38.08, due Tue 10/6 10:00, is open, at risk (0.83), then overdue
    E  chung-thuc, online, received Mon 9/6 09:00 (due 17:00), supplement requested 10:00,
       supplemented Tue 10/6 09:00 (0.875 working days paused, due 16:00), result 14:30 on time,
       electronic; evaluated dissatisfied
    F  chung-thuc, online, received Tue 10/6 09:00, refused 10:00
    G  chung-thuc, online, received Wed 11/6 09:00, withdrawn 09:30; its step cancelled 09:30:05
    I  chung-thuc, desk, received Thu 26/6 09:00 (due 17:00), supplement requested 11:00: waiting
    L  ho-tich, desk, received Mon 30/6 09:00 (due Thu 3/7 09:00), result Wed 2/7 10:00 early:
       in progress, within its time, when June ends
    J  ho-tich, online, received Tue 1/7 06:30 (Mon 30/6 23:30 UTC), result Wed 2/7 10:00 early,
       evaluated dissatisfied 3/7: July's, not June's (days are Vietnam's)

Steps completed (day, agency, timeliness): K 1.1 26/5 commune early; A 1.1 2/6 commune early,
A 2.1 3/6 police early; B 1.1 4/6 commune on time, B 2.1 6/6 police on time; C 1.1 5/6 commune on
time, C 2.1 10/6 police late; D 1.1 6/6 commune late. Notifications: receipts of K (May), A, B
(the SMS failed), C; A's result by SMS, sent then delivered; two operator e-mails on 12/6.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from motcua_kit.events import new_event

REPO = Path(__file__).resolve().parents[4]
ASYNCAPI = REPO / "docs" / "events" / "asyncapi.yaml"
VN = ZoneInfo("Asia/Ho_Chi_Minh")
NAMESPACE = uuid.UUID("6f1d3c52-2a8e-4c1b-9d7e-5b0a4f2e8c61")  # ids stable from run to run

UNIT = "000.00.99.H38"
POLICE = "CA.H38.08"
OFFICER = {"id": "officer-99", "name": "Đỗ Thị Hoa", "unit": UNIT}
POLICE_OFFICER = {"id": "ca-09", "name": "Lê Văn Nam", "unit": POLICE}

BIRTH_TASK = {"vi": "Đăng ký khai sinh", "en": "Birth registration"}
RESIDENCE_TASK = {"vi": "Đăng ký thường trú cho trẻ", "en": "Permanent residence"}
COPY_TASK = {
    "vi": "Đối chiếu bản sao với bản chính, ghi lời chứng, ký, đóng dấu, vào sổ chứng thực",
    "en": "Compare copy with original, certify, sign, seal and record",
}
HO_TICH = {
    "code": "2.000986",
    "version": 1,
    "name": {
        "vi": "Liên thông thủ tục hành chính về đăng ký khai sinh, đăng ký thường trú, cấp thẻ bảo"
        " hiểm y tế cho trẻ em dưới 6 tuổi",
        "en": "Inter-agency bundle: birth registration, permanent residence registration and"
        " health-insurance card for a child under 6",
    },
    "field": "ho-tich",
    "field_name": {"vi": "Hộ tịch", "en": "Civil status"},
    "processing_days": 3,
    "route": {
        "stages": [
            {"steps": [{"agency_kind": "UBND_XA", "role": "lead", "days": 1, "task": BIRTH_TASK}]},
            {
                "steps": [
                    {
                        "agency_kind": "CONG_AN_XA",
                        "role": "coordinating",
                        "days": 2,
                        "task": RESIDENCE_TASK,
                    }
                ]
            },
        ]
    },
}
CHUNG_THUC = {
    "code": "2.000815",
    "version": 1,
    "name": {
        "vi": "Cấp bản sao có chứng thực từ bản chính giấy tờ, văn bản do cơ quan, tổ chức có thẩm"
        " quyền của Việt Nam; cơ quan, tổ chức có thẩm quyền của nước ngoài; cơ quan, tổ chức có"
        " thẩm quyền của Việt Nam liên kết với cơ quan, tổ chức có thẩm quyền của nước ngoài cấp"
        " hoặc chứng nhận",
        "en": "Certified copy from an original document issued or certified by a competent"
        " Vietnamese or foreign authority",
    },
    "field": "chung-thuc",
    "field_name": {"vi": "Chứng thực", "en": "Certification"},
    "processing_days": 0,
    "route": {
        "stages": [
            {"steps": [{"agency_kind": "UBND_XA", "role": "lead", "days": 0, "task": COPY_TASK}]}
        ]
    },
}


def vn(text: str) -> datetime:
    """'2025-06-02 09:00' (or with seconds), in Vietnam."""
    return datetime.fromisoformat(text).replace(tzinfo=VN)


def utc(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


@cache
def _examples() -> dict[str, dict[str, Any]]:
    doc = yaml.safe_load(ASYNCAPI.read_text(encoding="utf-8"))
    found = {}
    for message in doc["components"]["messages"].values():
        examples = message.get("examples") or []
        if examples and message["name"] not in found:
            found[message["name"]] = examples[0]["payload"]["data"]
    return found


def example(event_type: str) -> dict[str, Any]:
    """A fresh copy of the AsyncAPI example's `data` of `event_type`."""
    return copy.deepcopy(_examples()[event_type])


@dataclass(frozen=True)
class Dossier:
    code: str
    procedure: dict[str, Any]
    channel: str
    received_at: datetime
    due_at: datetime

    @property
    def field(self) -> str:
        return str(self.procedure["field"])


class Script:
    """Events in the order they happened: `(source, CloudEvent)` pairs."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.dossiers: dict[str, Dossier] = {}

    def __len__(self) -> int:
        return len(self.events)

    def in_order(self) -> list[tuple[str, dict[str, Any]]]:
        return sorted(self.events, key=lambda pair: datetime.fromisoformat(pair[1]["time"]))

    def add(
        self, source: str, event_type: str, at: datetime, data: dict[str, Any]
    ) -> dict[str, Any]:
        subject = data.get("code") or data.get("id") or ""
        event = new_event(source, event_type, subject, data)
        event["time"] = at.astimezone(UTC).isoformat().replace("+00:00", "Z")
        event["id"] = str(uuid.uuid5(NAMESPACE, f"{len(self.events)} {event_type} {subject}"))
        self.events.append((source, event))
        return event

    # --- intake ----------------------------------------------------------------------------

    def received(
        self,
        letter: str,
        code: str,
        procedure: dict[str, Any],
        channel: str,
        received_at: datetime,
        due_at: datetime,
    ) -> dict[str, Any]:
        dossier = Dossier(code, procedure, channel, received_at, due_at)
        self.dossiers[letter] = dossier
        data = example("dossier.received")
        data.update(
            code=code,
            unit=UNIT,
            procedure=copy.deepcopy(procedure),
            channel=channel,
            return_method="online" if channel == "online" else "desk",
            received_at=received_at.isoformat(),
            due_at=due_at.isoformat(),
            received_by=OFFICER,
            lookup={"url": f"https://motcua.example/lookup/{code}", "pin": "482913"},
        )
        return self.add("intake", "dossier.received", received_at, data)

    def transition(
        self,
        event_type: str,
        letter: str,
        at: datetime,
        due_at: datetime | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """A later dossier event (supplement, refusal, result…) with its `at` and appointment."""
        dossier = self.dossiers[letter]
        data = example(event_type)
        data.update(
            code=dossier.code,
            unit=UNIT,
            at=utc(at),
            due_at=(due_at or dossier.due_at).isoformat(),
            actor=OFFICER,
            **extra,
        )
        return self.add("intake", event_type, at, data)

    def result(
        self,
        letter: str,
        at: datetime,
        timeliness: str,
        electronic: bool,
        due_at: datetime | None = None,
    ) -> dict[str, Any]:
        return self.transition(
            "dossier.result_ready",
            letter,
            at,
            due_at,
            timeliness=timeliness,
            electronic=electronic,
            result_reference=f"{letter}-{at:%d%m}/2025",
        )

    def evaluated(self, letter: str, at: datetime, ratings: dict[str, str]) -> dict[str, Any]:
        data = example("dossier.evaluated")
        data.update(code=self.dossiers[letter].code, at=utc(at), ratings=ratings)
        return self.add("intake", "dossier.evaluated", at, data)

    # --- routing ---------------------------------------------------------------------------

    def step(
        self,
        event_type: str,
        letter: str,
        stage: int,
        agency: str,
        assigned_at: datetime,
        due_at: datetime,
        at: datetime,
        **extra: Any,
    ) -> dict[str, Any]:
        dossier = self.dossiers[letter]
        lead = stage == 1
        data = example(event_type)
        data.update(
            step_id=f"{dossier.code}/{stage}.1",
            code=dossier.code,
            stage=stage,
            index=1,
            attempt=1,
            agency=agency,
            role="lead" if lead else "coordinating",
            task=(BIRTH_TASK if lead else RESIDENCE_TASK)
            if dossier.field == "ho-tich"
            else COPY_TASK,
            assigned_at=assigned_at.isoformat(),
            due_at=due_at.isoformat(),
            **extra,
        )
        if "actor" in data:
            data["actor"] = OFFICER if agency == UNIT else POLICE_OFFICER
        if "at" in data:
            data["at"] = at.isoformat()
        if "escalate_to" in data:
            data["escalate_to"] = {"agency": agency, "role": "supervisor"}
        return self.add("routing", event_type, at, data)

    def handled(
        self,
        letter: str,
        stage: int,
        agency: str,
        assigned_at: datetime,
        due_at: datetime,
        completed_at: datetime,
        timeliness: str,
    ) -> None:
        """A step assigned, accepted a quarter of an hour later, and completed."""
        days = 1 if stage == 1 else 2
        self.step(
            "step.assigned", letter, stage, agency, assigned_at, due_at, assigned_at, days=days
        )
        accepted = assigned_at + timedelta(minutes=15)
        self.step("step.accepted", letter, stage, agency, assigned_at, due_at, accepted)
        self.step(
            "step.completed",
            letter,
            stage,
            agency,
            assigned_at,
            due_at,
            completed_at,
            timeliness=timeliness,
            result_reference=f"{letter}{stage}-{completed_at:%d%m}",
        )

    # --- notification ----------------------------------------------------------------------

    def notification(
        self,
        event_type: str,
        about: dict[str, Any] | None,
        message: str,
        channel: str,
        at: datetime,
        audience: str = "citizen",
    ) -> dict[str, Any]:
        """A message about the event `about` (None: an operator's message about no dossier)."""
        data = example(event_type)
        data.update(
            id=str(uuid.uuid5(NAMESPACE, f"message {len(self.events)}")),
            code=about["data"]["code"] if about else None,
            event_id=about["id"] if about else f"webhook_suspended:{len(self.events)}",
            event_type=about["type"] if about else "notification.webhook_suspended",
            message=message,
            channel=channel,
            audience=audience,
            at=utc(at),
        )
        return self.add("notification", event_type, at, data)


def code(day: str, number: int = 1) -> str:
    """`<unit>-YYMMDD-NNNN` for a day '2025-06-02'."""
    return f"{UNIT}-{day[2:4]}{day[5:7]}{day[8:10]}-{number:04d}"


def june() -> Script:
    """The month described in the module docstring."""
    s = Script()
    ratings_a = {
        "overall": "very_satisfied",
        "on_time": "very_satisfied",
        "staff_attitude": "very_satisfied",
    }

    # K: all in May.
    k = s.received(
        "K", code("2025-05-26"), HO_TICH, "desk", vn("2025-05-26 09:00"), vn("2025-05-29 09:00")
    )
    s.notification("notification.sent", k, "receipt", "email", vn("2025-05-26 09:00:05"))
    s.handled(
        "K",
        1,
        UNIT,
        vn("2025-05-26 09:00"),
        vn("2025-05-27 09:00"),
        vn("2025-05-26 16:00"),
        "early",
    )
    s.result("K", vn("2025-05-27 10:00"), "early", electronic=False)
    s.evaluated("K", vn("2025-05-28 10:00"), {"overall": "very_satisfied"})

    # H: received in May, finished on 2 June, on time.
    s.received(
        "H", code("2025-05-28"), HO_TICH, "desk", vn("2025-05-28 09:00"), vn("2025-06-02 09:00")
    )
    s.result("H", vn("2025-06-02 08:00"), "on_time", electronic=False)

    # A: early, electronic, returned, very satisfied.
    a = s.received(
        "A", code("2025-06-02"), HO_TICH, "desk", vn("2025-06-02 09:00"), vn("2025-06-05 09:00")
    )
    s.notification("notification.sent", a, "receipt", "email", vn("2025-06-02 09:00:05"))
    s.handled(
        "A",
        1,
        UNIT,
        vn("2025-06-02 09:00"),
        vn("2025-06-03 09:00"),
        vn("2025-06-02 15:00"),
        "early",
    )
    s.handled(
        "A",
        2,
        POLICE,
        vn("2025-06-02 15:00"),
        vn("2025-06-04 15:00"),
        vn("2025-06-03 16:00"),
        "early",
    )
    a_result = s.result("A", vn("2025-06-04 10:00"), "early", electronic=True)
    s.notification("notification.sent", a_result, "result_ready", "sms", vn("2025-06-04 10:00:05"))
    s.notification(
        "notification.delivered", a_result, "result_ready", "sms", vn("2025-06-04 10:00:20")
    )
    s.transition("dossier.returned", "A", vn("2025-06-04 14:00"), method="desk", timeliness="early")
    s.evaluated("A", vn("2025-06-05 10:00"), ratings_a)

    # B: online, on time, returned, satisfied; its receipt by SMS failed.
    b = s.received(
        "B", code("2025-06-03"), HO_TICH, "online", vn("2025-06-03 09:00"), vn("2025-06-06 09:00")
    )
    s.notification("notification.sent", b, "receipt", "email", vn("2025-06-03 09:00:05"))
    s.notification("notification.failed", b, "receipt", "sms", vn("2025-06-03 09:02"))
    s.handled(
        "B",
        1,
        UNIT,
        vn("2025-06-03 09:00"),
        vn("2025-06-04 09:00"),
        vn("2025-06-04 08:00"),
        "on_time",
    )
    s.handled(
        "B",
        2,
        POLICE,
        vn("2025-06-04 08:00"),
        vn("2025-06-06 08:00"),
        vn("2025-06-06 07:30"),
        "on_time",
    )
    s.result("B", vn("2025-06-06 08:30"), "on_time", electronic=False)
    s.transition(
        "dossier.returned", "B", vn("2025-06-06 10:00"), method="online", timeliness="on_time"
    )
    s.evaluated(
        "B",
        vn("2025-06-09 14:00"),
        {
            "overall": "satisfied",
            "on_time": "satisfied",
            "staff_attitude": "very_satisfied",
            "online_service": "satisfied",
        },
    )

    # C: late (the police's step was late), electronic.
    c = s.received(
        "C", code("2025-06-04"), HO_TICH, "desk", vn("2025-06-04 09:00"), vn("2025-06-09 09:00")
    )
    s.notification("notification.sent", c, "receipt", "email", vn("2025-06-04 09:00:05"))
    s.handled(
        "C",
        1,
        UNIT,
        vn("2025-06-04 09:00"),
        vn("2025-06-05 09:00"),
        vn("2025-06-05 08:00"),
        "on_time",
    )
    s.handled(
        "C",
        2,
        POLICE,
        vn("2025-06-05 08:00"),
        vn("2025-06-09 08:00"),
        vn("2025-06-10 11:00"),
        "late",
    )
    s.result("C", vn("2025-06-10 15:00"), "late", electronic=True)

    # D: overdue and open, held by the police.
    s.received(
        "D", code("2025-06-05"), HO_TICH, "online", vn("2025-06-05 09:00"), vn("2025-06-10 09:00")
    )
    s.handled(
        "D", 1, UNIT, vn("2025-06-05 09:00"), vn("2025-06-06 09:00"), vn("2025-06-06 10:00"), "late"
    )
    d_assigned, d_due = vn("2025-06-06 10:00"), vn("2025-06-10 10:00")
    s.step("step.assigned", "D", 2, POLICE, d_assigned, d_due, d_assigned, days=2)
    s.step("step.accepted", "D", 2, POLICE, d_assigned, d_due, vn("2025-06-06 11:00"))
    s.step(
        "step.at_risk",
        "D",
        2,
        POLICE,
        d_assigned,
        d_due,
        vn("2025-06-09 10:00"),
        lateness_risk=0.83,
        backlog=4,
    )
    s.step("step.overdue", "D", 2, POLICE, d_assigned, d_due, d_due)

    # E: supplemented, then on time; dissatisfied.
    s.received(
        "E",
        code("2025-06-09"),
        CHUNG_THUC,
        "online",
        vn("2025-06-09 09:00"),
        vn("2025-06-09 17:00"),
    )
    s.transition(
        "dossier.supplement_requested",
        "E",
        vn("2025-06-09 10:00"),
        status="awaiting_supplement",
        reason="Bản chính bị rách, không đối chiếu được",
    )
    e_due = vn("2025-06-10 16:00")
    s.transition(
        "dossier.supplemented",
        "E",
        vn("2025-06-10 09:00"),
        e_due,
        status="received",
        paused_working_days=0.875,
    )
    s.result("E", vn("2025-06-10 14:30"), "on_time", electronic=True, due_at=e_due)
    s.evaluated(
        "E",
        vn("2025-06-11 08:00"),
        {
            "overall": "dissatisfied",
            "on_time": "satisfied",
            "staff_attitude": "satisfied",
            "total_time": "dissatisfied",
            "mood": "dissatisfied",  # not a criterion: ignored
        },
    )

    # F: refused. G: withdrawn, its step cancelled.
    s.received(
        "F",
        code("2025-06-10"),
        CHUNG_THUC,
        "online",
        vn("2025-06-10 09:00"),
        vn("2025-06-10 17:00"),
    )
    s.transition(
        "dossier.refused",
        "F",
        vn("2025-06-10 10:00"),
        status="refused",
        reason="Bản chính đã bị tẩy xóa",
    )
    s.received(
        "G",
        code("2025-06-11"),
        CHUNG_THUC,
        "online",
        vn("2025-06-11 09:00"),
        vn("2025-06-11 17:00"),
    )
    g_assigned = vn("2025-06-11 09:00")
    s.step("step.assigned", "G", 1, UNIT, g_assigned, vn("2025-06-11 17:00"), g_assigned, days=0)
    s.transition(
        "dossier.withdrawn",
        "G",
        vn("2025-06-11 09:30"),
        status="withdrawn",
        reason="Công dân không cần nữa",
    )
    s.add(
        "routing",
        "route.cancelled",
        vn("2025-06-11 09:30:05"),
        {
            "code": code("2025-06-11"),
            "at": vn("2025-06-11 09:30:05").isoformat(),
            "reason": "dossier.withdrawn",
        },
    )

    # Two operator e-mails on 12 June, about no dossier.
    s.notification(
        "notification.sent", None, "webhook_suspended", "email", vn("2025-06-12 10:00"), "operator"
    )
    s.notification(
        "notification.sent", None, "webhook_suspended", "email", vn("2025-06-12 15:00"), "operator"
    )

    # I: still waiting for the citizen's supplement.
    s.received(
        "I", code("2025-06-26"), CHUNG_THUC, "desk", vn("2025-06-26 09:00"), vn("2025-06-26 17:00")
    )
    s.transition(
        "dossier.supplement_requested",
        "I",
        vn("2025-06-26 11:00"),
        status="awaiting_supplement",
        reason="Thiếu bản chính để đối chiếu",
    )

    # L: in progress within its time when June ends. J: July's (06:30 in Vietnam, 23:30 UTC on 30/6).
    s.received(
        "L", code("2025-06-30"), HO_TICH, "desk", vn("2025-06-30 09:00"), vn("2025-07-03 09:00")
    )
    s.received(
        "J", code("2025-07-01"), HO_TICH, "online", vn("2025-07-01 06:30"), vn("2025-07-03 17:00")
    )
    s.result("L", vn("2025-07-02 10:00"), "early", electronic=False)
    s.result("J", vn("2025-07-02 10:00"), "early", electronic=True)
    s.evaluated("J", vn("2025-07-03 09:00"), {"overall": "dissatisfied"})
    return s
