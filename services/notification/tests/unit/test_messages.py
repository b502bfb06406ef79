"""Which messages each event calls for, to whom, with which facts.

Events are the documented examples of docs/events/asyncapi.yaml, so the plan is tested against the
payloads intake and routing really publish.
"""

from __future__ import annotations

import copy
import dataclasses
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from notification.domain.directory import Directory, directory_from_data
from notification.domain.messages import (
    CHANNELS,
    CITIZEN,
    CITIZEN_MESSAGES,
    EMAIL,
    FIELDS,
    OFFICER,
    OFFICER_MESSAGES,
    SMS,
    SUPERVISOR,
    Dossier,
    DossierUnknown,
    Message,
    Options,
    citizen_context,
    dossier_from_received,
    format_date,
    format_time,
    plan,
    subscribed,
    webhook_body,
)
from notification.domain.samples import SAMPLES

REPO = Path(__file__).resolve().parents[4]
ASYNCAPI = REPO / "docs/events/asyncapi.yaml"
HCM = ZoneInfo("Asia/Ho_Chi_Minh")
OPTIONS = Options(zone=HCM)

COMMUNE, DISTRICT, POLICE = "000.00.08.H38", "000.10.00.H38", "CA.H38.08"
DIRECTORY: Directory = directory_from_data(
    {
        "agencies": {
            COMMUNE: {
                "name": {
                    "vi": "Ủy ban nhân dân xã Thạch Bình",
                    "en": "Thach Binh Commune People's Committee",
                },
                "officers": ["motcua@thachbinh.gov.vn", "tuphap@thachbinh.gov.vn"],
                "supervisors": ["chutich@thachbinh.gov.vn"],
            },
            DISTRICT: {
                "name": {"vi": "Văn phòng UBND huyện Thạch Hà"},
                "officers": ["vanphong@thachha.gov.vn"],
                "supervisors": ["chanhvanphong@thachha.gov.vn", "phochanh@thachha.gov.vn"],
            },
            POLICE: {
                "name": {"vi": "Công an xã Thạch Bình", "en": "Thach Binh Commune Police"},
                "officers": ["ca@thachbinh.gov.vn"],
                "supervisors": ["truongca@thachbinh.gov.vn"],
            },
        }
    }
)

PROCEDURE_VI = (
    "Liên thông thủ tục hành chính về đăng ký khai sinh, đăng ký thường trú, cấp thẻ bảo hiểm y tế"
    " cho trẻ em dưới 6 tuổi"
)
PROCEDURE_EN = (
    "Inter-agency bundle: birth registration, permanent residence registration and"
    " health-insurance card for a child under 6"
)
LOOKUP_URL = "https://motcua.example/lookup/000.00.08.H38-250702-0001"
LOOKUP_LINK = LOOKUP_URL + "?t=mJ0x4Qd2VbT7hLs9KcE1wA"  # the example's link, with its secret


@cache
def _examples() -> dict[str, dict[str, Any]]:
    """`<message name>/<example name>` -> CloudEvent payload."""
    spec = yaml.safe_load(ASYNCAPI.read_text(encoding="utf-8"))
    return {
        f"{name}/{example['name']}": example["payload"]
        for name, message in spec["components"]["messages"].items()
        for example in message.get("examples", [])
    }


def example(key: str) -> dict[str, Any]:
    """A fresh copy of one documented event, free to change."""
    return copy.deepcopy(_examples()[key])


def received_dossier(**changes: Any) -> Dossier:
    return dataclasses.replace(
        dossier_from_received(example("dossierReceived/birthBundle")["data"]), **changes
    )


def with_applicant(**applicant: Any) -> Dossier:
    base = received_dossier().applicant
    return received_dossier(applicant={**base, **applicant})


def citizen_messages(
    key: str, dossier: Dossier | None = None, options: Options = OPTIONS
) -> list[Message]:
    return plan(example(key), dossier or received_dossier(), DIRECTORY, options)


def recipients(messages: list[Message]) -> list[tuple[str, str, str]]:
    return [(m.channel, m.audience, m.recipient) for m in messages]


# --- the tables agree with each other ---------------------------------------------------------


def test_every_message_kind_has_channels_fields_and_a_sample() -> None:
    kinds = set(CITIZEN_MESSAGES.values()) | {kind for kind, _, _ in OFFICER_MESSAGES.values()}
    assert kinds | {"webhook_suspended"} == set(FIELDS) == set(CHANNELS) == set(SAMPLES)


@pytest.mark.parametrize("kind", sorted(FIELDS))
def test_each_sample_has_exactly_the_fields_of_its_kind(kind: str) -> None:
    assert set(SAMPLES[kind]) == set(FIELDS[kind])


def test_citizens_hear_by_email_and_sms_officers_by_email() -> None:
    for kind in CITIZEN_MESSAGES.values():
        assert CHANNELS[kind] == (EMAIL, SMS)
    for kind, _, _ in OFFICER_MESSAGES.values():
        assert CHANNELS[kind] == (EMAIL,)
    assert CHANNELS["webhook_suspended"] == (EMAIL,)


# --- the dossier as received --------------------------------------------------------------------


def test_dossier_from_received_keeps_what_later_messages_need() -> None:
    assert dossier_from_received(example("dossierReceived/birthBundle")["data"]) == Dossier(
        code="000.00.08.H38-250702-0001",
        unit=COMMUNE,
        applicant={
            "name": "Nguyễn Thị Ánh",
            "citizen_id": "042199001234",
            "phone": "0912345678",
            "email": "anh@example.vn",
            "address": "Thôn 1, xã Thạch Bình, tỉnh Hà Tĩnh",
        },
        procedure_name={"vi": PROCEDURE_VI, "en": PROCEDURE_EN},
        return_method="desk",
        lookup_url=LOOKUP_LINK,  # the citizen's messages carry the link that needs no PIN
    )


def test_dossier_from_received_of_an_event_before_the_link_keeps_the_address() -> None:
    data = example("dossierReceived/birthBundle")["data"]
    del data["lookup"]["link"]  # contract < 1.4.0
    assert dossier_from_received(data).lookup_url == LOOKUP_URL


def test_dossier_from_received_of_a_bare_event() -> None:
    assert dossier_from_received({"code": "X-1"}) == Dossier(code="X-1")
    assert dossier_from_received(
        {"code": "X-1", "applicant": None, "procedure": None, "lookup": None}
    ) == Dossier(code="X-1")


# --- citizen messages ---------------------------------------------------------------------------


def test_receipt_goes_to_the_applicant_by_email_and_sms() -> None:
    messages = citizen_messages("dossierReceived/birthBundle")
    context = {
        "code": "000.00.08.H38-250702-0001",
        "applicant_name": "Nguyễn Thị Ánh",
        "procedure_name": PROCEDURE_VI,
        "lookup_url": LOOKUP_LINK,
        "received_date": "02/07/2025",
        "due_date": "07/07/2025",
        "due_time": "09:15",
        "pin": "482913",
    }
    assert messages == [
        Message("receipt", EMAIL, CITIZEN, "anh@example.vn", "vi", context, False),
        Message("receipt", SMS, CITIZEN, "0912345678", "vi", context, False),
    ]


@pytest.mark.parametrize(
    ("key", "kind", "extra"),
    [
        (
            "dossierSupplementRequested/missingMarriageCertificate",
            "supplement_request",
            {
                "reason": "Thiếu giấy chứng nhận kết hôn của cha mẹ",
                "missing": ["Bản chụp giấy chứng nhận kết hôn"],
            },
        ),
        (
            "dossierRefused/refused",
            "refusal",
            {"reason": "Trẻ đã được đăng ký khai sinh tại nơi khác"},
        ),
        (
            "dossierRescheduled/rescheduled",
            "apology",
            {
                "reason": "Cơ sở dữ liệu dân cư gián đoạn, chưa xác minh được nơi thường trú",
                "new_date": "14/07/2025",
                "previous_date": "10/07/2025",
                "agency_name": "Công an xã Thạch Bình",  # the actor's unit, not the receiving desk
            },
        ),
        (
            "dossierResultReady/resultReady",
            "result_ready",
            {"return_method": "desk", "electronic": True, "result_reference": "125/2025/TP-KS"},
        ),
        # returned at 08:00 UTC: 15:00 the same day in Hà Nội
        ("dossierReturned/returned", "evaluation_invite", {"returned_date": "07/07/2025"}),
    ],
)
def test_each_citizen_event_calls_for_its_message(
    key: str, kind: str, extra: dict[str, Any]
) -> None:
    messages = citizen_messages(key)
    context = {
        "code": "000.00.08.H38-250702-0001",
        "applicant_name": "Nguyễn Thị Ánh",
        "procedure_name": PROCEDURE_VI,
        "lookup_url": LOOKUP_LINK,
        **extra,
    }
    assert messages == [
        Message(kind, EMAIL, CITIZEN, "anh@example.vn", "vi", context),
        Message(kind, SMS, CITIZEN, "0912345678", "vi", context),
    ]


def test_every_citizen_event_type_is_covered_by_an_example() -> None:
    types = {payload["type"] for payload in _examples().values()}
    assert set(CITIZEN_MESSAGES) <= types
    assert set(OFFICER_MESSAGES) <= types


@pytest.mark.parametrize(
    ("applicant", "channels"),
    [
        ({"email": "anh@example.vn", "phone": None}, [(EMAIL, "anh@example.vn")]),
        ({"email": "", "phone": "0912345678"}, [(SMS, "0912345678")]),
        ({"email": None, "phone": None}, []),
    ],
)
def test_only_channels_with_an_address(
    applicant: dict[str, Any], channels: list[tuple[str, str]]
) -> None:
    messages = citizen_messages("dossierRefused/refused", with_applicant(**applicant))
    assert [(m.channel, m.recipient) for m in messages] == channels


def test_an_applicant_with_no_contact_details_at_all_gets_nothing() -> None:
    assert citizen_messages("dossierRefused/refused", received_dossier(applicant={})) == []


def test_the_applicant_language_is_used() -> None:
    messages = citizen_messages("dossierRescheduled/rescheduled", with_applicant(language="en"))
    assert {m.language for m in messages} == {"en"}
    assert messages[0].context["procedure_name"] == PROCEDURE_EN
    assert messages[0].context["agency_name"] == "Thach Binh Commune Police"


def test_an_english_name_missing_falls_back_to_vietnamese() -> None:
    dossier = received_dossier(
        applicant={"email": "a@example.vn", "language": "en"},
        procedure_name={"vi": "Đăng ký khai sinh"},
    )
    [message] = plan(example("dossierRefused/refused"), dossier, DIRECTORY, OPTIONS)
    assert (message.language, message.context["procedure_name"]) == ("en", "Đăng ký khai sinh")


@pytest.mark.parametrize(
    ("language", "default", "expected"),
    [
        ("fr", "vi", "vi"),
        ("fr", "en", "en"),
        (None, "en", "en"),
        ("", "vi", "vi"),
        ("vi", "en", "vi"),
    ],
)
def test_an_unknown_or_missing_language_falls_back_to_the_default(
    language: str | None, default: str, expected: str
) -> None:
    options = Options(zone=HCM, default_language=default)
    messages = citizen_messages(
        "dossierRefused/refused", with_applicant(language=language), options
    )
    assert [m.language for m in messages] == [expected, expected]


def test_urgent_kinds_are_marked() -> None:
    options = Options(zone=HCM, urgent=frozenset({"refusal"}))
    refusals = citizen_messages("dossierRefused/refused", options=options)
    receipts = citizen_messages("dossierReceived/birthBundle", options=options)
    assert [m.urgent for m in refusals] == [True, True]
    assert [m.urgent for m in receipts] == [False, False]


@pytest.mark.parametrize("event_type", sorted(CITIZEN_MESSAGES))
def test_a_citizen_event_for_an_unknown_dossier_raises(event_type: str) -> None:
    event = {"type": event_type, "subject": "SUBJ-1", "data": {"code": "000.00.08.H38-250702-0009"}}
    with pytest.raises(DossierUnknown) as error:
        plan(event, None, DIRECTORY, OPTIONS)
    assert error.value.args == ("000.00.08.H38-250702-0009",)
    assert isinstance(error.value, LookupError)


def test_dossier_unknown_names_the_subject_when_the_data_has_no_code() -> None:
    with pytest.raises(DossierUnknown, match="SUBJ-1"):
        plan({"type": "dossier.refused", "subject": "SUBJ-1", "data": {}}, None, DIRECTORY, OPTIONS)


def test_supplement_items_fall_back_to_the_document_code() -> None:
    event = example("dossierSupplementRequested/missingMarriageCertificate")
    event["data"]["missing"] = [
        {"document_code": "giay-chung-nhan-ket-hon", "description": None},
        {"document_code": None, "description": "Giấy tờ chứng minh chỗ ở hợp pháp"},
        {"document_code": None, "description": None},
    ]
    [message, _] = plan(event, received_dossier(), DIRECTORY, OPTIONS)
    assert message.context["missing"] == [
        "giay-chung-nhan-ket-hon",
        "Giấy tờ chứng minh chỗ ở hợp pháp",
        "",
    ]


def test_an_apology_without_an_actor_names_the_receiving_unit() -> None:
    event = example("dossierRescheduled/rescheduled")
    del event["data"]["actor"]
    [message, _] = plan(event, received_dossier(), DIRECTORY, OPTIONS)
    assert message.context["agency_name"] == "Ủy ban nhân dân xã Thạch Bình"


def test_result_ready_defaults() -> None:
    event = example("dossierResultReady/resultReady")
    del event["data"]["electronic"], event["data"]["result_reference"]
    [message, _] = plan(event, received_dossier(return_method=None), DIRECTORY, OPTIONS)
    assert (
        message.context["return_method"],
        message.context["electronic"],
        message.context["result_reference"],
    ) == ("desk", False, "")


def test_result_ready_keeps_the_return_method_chosen_at_reception() -> None:
    [message, _] = plan(
        example("dossierResultReady/resultReady"),
        received_dossier(return_method="post"),
        DIRECTORY,
        OPTIONS,
    )
    assert message.context["return_method"] == "post"


CITIZEN_EXAMPLES = {
    "receipt": "dossierReceived/birthBundle",
    "supplement_request": "dossierSupplementRequested/missingMarriageCertificate",
    "refusal": "dossierRefused/refused",
    "apology": "dossierRescheduled/rescheduled",
    "result_ready": "dossierResultReady/resultReady",
    "evaluation_invite": "dossierReturned/returned",
}


@pytest.mark.parametrize("kind", sorted(CITIZEN_MESSAGES.values()))
@pytest.mark.parametrize("language", ["vi", "en"])
def test_citizen_context_has_exactly_the_fields_of_its_kind(kind: str, language: str) -> None:
    data = example(CITIZEN_EXAMPLES[kind])["data"]
    context = citizen_context(kind, data, received_dossier(), DIRECTORY, language, HCM)
    assert set(context) == set(FIELDS[kind])
    # ... also when the event carries none of the optional facts
    bare = citizen_context(kind, {}, Dossier(code="X-1"), Directory(), language, HCM)
    assert set(bare) == set(FIELDS[kind])


# --- officer messages -----------------------------------------------------------------------------


STEP_CONTEXT = {
    "code": "000.00.08.H38-250707-0001",
    "agency_name": "Ủy ban nhân dân xã Thạch Bình",
    "task": "Đăng ký khai sinh, cấp Giấy khai sinh",
    "due_date": "08/07/2025",
    "due_time": "09:00",
    "step_id": "000.00.08.H38-250707-0001/1.1",
}


def test_an_assigned_step_goes_to_the_agency_officers() -> None:
    messages = plan(example("stepAssigned/firstStage"), received_dossier(), DIRECTORY, OPTIONS)
    context = {**STEP_CONTEXT, "procedure_name": PROCEDURE_VI}
    assert messages == [
        Message("task_assigned", EMAIL, OFFICER, "motcua@thachbinh.gov.vn", "vi", context),
        Message("task_assigned", EMAIL, OFFICER, "tuphap@thachbinh.gov.vn", "vi", context),
    ]


def test_an_assigned_step_of_an_unknown_dossier_still_goes_out() -> None:
    messages = plan(example("stepAssigned/firstStage"), None, DIRECTORY, OPTIONS)
    assert [m.context for m in messages] == [{**STEP_CONTEXT, "procedure_name": ""}] * 2


def test_officer_messages_are_in_vietnamese_whatever_the_applicant_speaks() -> None:
    dossier = with_applicant(language="en")
    messages = plan(example("stepAssigned/firstStage"), dossier, DIRECTORY, OPTIONS)
    assert {m.language for m in messages} == {"vi"}
    assert messages[0].context["procedure_name"] == PROCEDURE_VI


def test_a_reassigned_step_goes_to_the_new_agency() -> None:
    messages = plan(example("stepReassigned/reassigned"), None, DIRECTORY, OPTIONS)
    assert recipients(messages) == [(EMAIL, OFFICER, "vanphong@thachha.gov.vn")]
    assert messages[0].kind == "task_assigned"
    assert messages[0].context["agency_name"] == "Văn phòng UBND huyện Thạch Hà"


def test_a_reminder_goes_to_the_agency_officers() -> None:
    messages = plan(example("stepReminder/reminder"), received_dossier(), DIRECTORY, OPTIONS)
    assert recipients(messages) == [
        (EMAIL, OFFICER, "motcua@thachbinh.gov.vn"),
        (EMAIL, OFFICER, "tuphap@thachbinh.gov.vn"),
    ]
    assert {m.kind for m in messages} == {"step_reminder"}
    assert messages[0].context == STEP_CONTEXT


def test_an_overdue_step_goes_to_the_supervisors_of_the_escalation_agency() -> None:
    event = example("stepOverdue/overdue")
    event["data"]["escalate_to"]["agency"] = DISTRICT
    messages = plan(event, received_dossier(), DIRECTORY, OPTIONS)
    assert recipients(messages) == [
        (EMAIL, SUPERVISOR, "chanhvanphong@thachha.gov.vn"),
        (EMAIL, SUPERVISOR, "phochanh@thachha.gov.vn"),
    ]
    # the late step is still named by its own agency
    assert messages[0].context == {**STEP_CONTEXT, "overdue_since": "09:00 08/07/2025"}
    assert {m.kind for m in messages} == {"overdue_escalation"}


def test_the_documented_overdue_example_reaches_the_commune_chair() -> None:
    messages = plan(example("stepOverdue/overdue"), None, DIRECTORY, OPTIONS)
    assert recipients(messages) == [(EMAIL, SUPERVISOR, "chutich@thachbinh.gov.vn")]


def test_an_overdue_step_without_escalation_goes_to_its_own_agency_supervisors() -> None:
    event = example("stepOverdue/overdue")
    del event["data"]["escalate_to"]
    event["data"]["agency"] = POLICE
    messages = plan(event, None, DIRECTORY, OPTIONS)
    assert recipients(messages) == [(EMAIL, SUPERVISOR, "truongca@thachbinh.gov.vn")]


def test_overdue_since_falls_back_to_the_due_time() -> None:
    event = example("stepOverdue/overdue")
    event["data"]["at"] = None
    event["data"]["due_at"] = "2025-07-08T03:30:00Z"
    [message] = plan(event, None, DIRECTORY, OPTIONS)
    assert message.context["overdue_since"] == "10:30 08/07/2025"


def test_urgent_officer_kinds_are_marked() -> None:
    options = Options(zone=HCM, urgent=frozenset({"overdue_escalation"}))
    overdue = plan(example("stepOverdue/overdue"), None, DIRECTORY, options)
    reminders = plan(example("stepReminder/reminder"), None, DIRECTORY, options)
    assert [m.urgent for m in overdue] == [True]
    assert [m.urgent for m in reminders] == [False, False]


def test_an_agency_with_nobody_listed_gets_nothing() -> None:
    event = example("stepAssigned/firstStage")
    event["data"]["agency"] = "BHXH.H38"
    assert plan(event, None, DIRECTORY, OPTIONS) == []


@pytest.mark.parametrize(
    "key",
    [
        "stepAssigned/firstStage",
        "stepReassigned/reassigned",
        "stepReminder/reminder",
        "stepOverdue/overdue",
    ],
)
def test_officer_context_has_exactly_the_fields_of_its_kind(key: str) -> None:
    messages = plan(example(key), received_dossier(), DIRECTORY, OPTIONS)
    assert messages
    for message in messages:
        assert set(message.context) == set(FIELDS[message.kind])


# --- events that call for no message ------------------------------------------------------------

SILENT = sorted(
    key
    for key, payload in _examples().items()
    if payload["type"] not in CITIZEN_MESSAGES and payload["type"] not in OFFICER_MESSAGES
)


def test_the_silent_examples_are_the_expected_event_types() -> None:
    assert {_examples()[key]["type"] for key in SILENT} == {
        "dossier.supplemented",
        "dossier.withdrawn",
        "dossier.evaluated",
        "step.accepted",
        "step.completed",
        "step.supplement_requested",
        "step.resumed",
        "step.refused",
        "step.returned",
        "step.at_risk",
        "route.completed",
        "route.refused",
        "route.cancelled",
        "route.apology_requested",
        "route.apology_issued",
        "task.assigned",
        "task.withdrawn",
        "agency.reply",
        "notification.sent",
        "notification.failed",
        "notification.delivered",
        "notification.webhook_suspended",
        "notification.webhook_resumed",
        "audit.checkpoint",
    }


@pytest.mark.parametrize("key", SILENT)
def test_other_events_call_for_no_message(key: str) -> None:
    assert plan(example(key), None, DIRECTORY, OPTIONS) == []
    assert plan(example(key), received_dossier(), DIRECTORY, OPTIONS) == []


# --- webhook body and subscriptions ---------------------------------------------------------------


def test_webhook_body_strips_the_pin_and_the_link_and_keeps_everything_else() -> None:
    event = example("dossierReceived/birthBundle")
    before = copy.deepcopy(event)
    body = webhook_body(event)
    assert body["data"]["lookup"] == {"url": LOOKUP_URL}
    assert "482913" not in repr(body) and "?t=" not in repr(body)
    expected = copy.deepcopy(before)
    del expected["data"]["lookup"]["pin"], expected["data"]["lookup"]["link"]
    assert body == expected
    assert event == before  # the event itself is untouched


def test_webhook_body_of_an_event_without_lookup_is_the_event() -> None:
    event = example("stepAssigned/firstStage")
    before = copy.deepcopy(event)
    assert webhook_body(event) == before
    assert event == before


def test_webhook_body_of_a_lookup_without_pin_or_link() -> None:
    event = example("dossierReceived/birthBundle")
    del event["data"]["lookup"]["pin"], event["data"]["lookup"]["link"]
    assert webhook_body(event) == event


def test_webhook_body_of_an_event_without_data() -> None:
    event = {"type": "x", "data": None}
    assert webhook_body(event) == {"type": "x", "data": None}


@pytest.mark.parametrize(
    ("patterns", "event_type", "expected"),
    [
        (["dossier.received"], "dossier.received", True),
        (["dossier.received"], "dossier.refused", False),
        (["dossier.*"], "dossier.received", True),
        (["dossier.*"], "dossier.result_ready", True),
        (["dossier.*"], "step.assigned", False),
        (["dossier.*"], "dossierx.received", False),
        (["dossier.*"], "dossier", False),
        (["step.*"], "step.overdue", True),
        (["*"], "route.completed", True),
        (("step.assigned", "dossier.*"), "dossier.refused", True),
        (("step.assigned", "dossier.*"), "step.reminder", False),
        ([], "dossier.received", False),
        (["dossier"], "dossier.received", False),
        (["dossier*"], "dossier.received", False),
        (["Dossier.received"], "dossier.received", False),
    ],
)
def test_subscribed(patterns: list[str], event_type: str, expected: bool) -> None:
    assert subscribed(patterns, event_type) is expected


# --- dates in the local zone ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "date", "clock"),
    [
        ("2025-07-02T02:15:04.512Z", "02/07/2025", "09:15"),
        ("2025-07-02T09:15:04.498000+07:00", "02/07/2025", "09:15"),
        ("2025-07-06T20:00:00+00:00", "07/07/2025", "03:00"),  # next day in Hà Nội
        ("2025-07-06T16:59:59Z", "06/07/2025", "23:59"),
        (None, "", ""),
        ("", "", ""),
        ("not a date", "", ""),
    ],
)
def test_dates_and_times_are_local(value: str | None, date: str, clock: str) -> None:
    assert format_date(value, HCM) == date
    assert format_time(value, HCM) == clock
