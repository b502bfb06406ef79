"""The event contract, docs/events/asyncapi.yaml: a well-formed AsyncAPI document whose schemas
accept the events the kit builds and reject broken ones."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator, FormatChecker
from motcua_kit.events import CONTENT_TYPE, new_event, parse_event
from referencing import Registry
from referencing.jsonschema import DRAFT7

SPEC = Path(__file__).resolve().parents[2] / "docs" / "events" / "asyncapi.yaml"
DOC_URI = "urn:motcua:asyncapi"
EVENT_TYPES = (
    "dossier.received",
    "dossier.supplement_requested",
    "dossier.supplemented",
    "dossier.refused",
    "dossier.withdrawn",
    "dossier.result_ready",
    "dossier.returned",
    "dossier.evaluated",
)

FORMATS = FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _rfc3339(value: object) -> bool:
    """RFC 3339: a date, 'T', a time and an offset (no naive local times on the bus)."""
    return not isinstance(value, str) or (
        "T" in value and datetime.fromisoformat(value).tzinfo is not None
    )


@FORMATS.checks("uuid", raises=ValueError)
def _uuid(value: object) -> bool:
    return not isinstance(value, str) or bool(uuid.UUID(value))


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    loaded = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"only local references are used: {ref}"
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def message_ref(doc: dict[str, Any], event_type: str) -> str:
    return str(doc["channels"][event_type]["subscribe"]["message"]["$ref"])


def validator(doc: dict[str, Any], event_type: str) -> Draft7Validator:
    """The whole-event (envelope + data) validator of one event type's message."""
    registry = Registry().with_resource(DOC_URI, DRAFT7.create_resource(doc))
    schema = {"$ref": f"{DOC_URI}{message_ref(doc, event_type)}/payload"}
    return Draft7Validator(schema, registry=registry, format_checker=FORMATS)


def errors(doc: dict[str, Any], event: dict[str, Any], event_type: str | None = None) -> list[str]:
    found = validator(doc, event_type or event["type"]).iter_errors(event)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in found]


def walk(node: Any, path: str = "#") -> Any:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, f"{path}/{index}")


# --- realistic events, as desk.py builds their data ------------------------------------------

UNIT = "000.00.08.H38"
CODE = f"{UNIT}-250702-0001"
OFFICER = {"id": "officer-1", "name": "Trần Văn Bình", "unit": UNIT}
TRANSITION = {
    "code": CODE,
    "unit": UNIT,
    "at": "2025-07-03T03:00:00.050000+00:00",
    "due_at": "2025-07-07T09:15:04.498000+07:00",
    "actor": OFFICER,
}
DATA: dict[str, dict[str, Any]] = {
    "dossier.received": {
        "code": CODE,
        "unit": UNIT,
        "procedure": {
            "code": "2.000986",
            "version": 1,
            "name": {"vi": "Liên thông khai sinh, thường trú, BHYT", "en": "Birth bundle"},
            "field": "ho-tich",
            "processing_days": 3,
            "route": {
                "stages": [
                    {
                        "steps": [
                            {
                                "agency_kind": "UBND_XA",
                                "role": "lead",
                                "days": 1,
                                "task": {"vi": "Đăng ký khai sinh", "en": "Register the birth"},
                            }
                        ]
                    }
                ]
            },
        },
        "channel": "desk",
        "return_method": "post",
        "received_at": "2025-07-02T09:15:04.498000+07:00",
        "due_at": "2025-07-07T09:15:04.498000+07:00",
        "applicant": {
            "name": "Nguyễn Thị Ánh",
            "citizen_id": "042199001234",
            "phone": "0912345678",
            "email": None,
            "address": "Thôn 1, xã Thạch Bình, tỉnh Hà Tĩnh",
        },
        "documents": [{"code": "to-khai-lien-thong", "copies": 1}],
        "received_by": OFFICER,
        "lookup": {"url": f"https://desk.example/lookup/{CODE}", "pin": "048213"},
    },
    "dossier.supplement_requested": {
        **TRANSITION,
        "status": "awaiting_supplement",
        "reason": "Thiếu giấy chứng nhận kết hôn",
        "missing": [{"document_code": None, "description": "Giấy chứng nhận kết hôn của cha mẹ"}],
    },
    "dossier.supplemented": {
        **TRANSITION,
        "status": "in_progress",
        "documents": [{"code": "giay-chung-nhan-ket-hon", "copies": 2}],
        "note": None,
        "paused_working_days": 1.25,
    },
    "dossier.refused": {**TRANSITION, "status": "refused", "reason": "Không thuộc thẩm quyền"},
    "dossier.withdrawn": {**TRANSITION, "status": "withdrawn", "reason": "Công dân xin rút"},
    "dossier.result_ready": {
        **TRANSITION,
        "status": "result_ready",
        "result_reference": "125/2025/TP-KS",
        "electronic": False,
        "note": "Bản giấy",
        "timeliness": "on_time",
    },
    "dossier.returned": {
        **TRANSITION,
        "status": "returned",
        "method": "online",
        "note": None,
        "timeliness": "late",
    },
    "dossier.evaluated": {
        "code": CODE,
        "at": "2025-07-08T03:00:00+00:00",
        "ratings": {"overall": "satisfied", "staff_attitude": "very_satisfied"},
        "comment": None,
    },
}


def example(event_type: str, **data_changes: Any) -> dict[str, Any]:
    data = {**copy.deepcopy(DATA[event_type]), **data_changes}
    return new_event("intake", event_type, CODE, data)


# --- the document --------------------------------------------------------------------------


def test_the_document_is_asyncapi_for_intake_events_over_amqp(doc: dict[str, Any]) -> None:
    assert str(doc["asyncapi"]).startswith(("2.6.", "3.0."))
    assert doc["info"]["title"] and doc["info"]["version"]
    assert doc["defaultContentType"] == CONTENT_TYPE
    for name, server in doc["servers"].items():
        assert server["protocol"] == "amqp" and server["url"], name
    assert set(doc["channels"]) == set(EVENT_TYPES)
    for event_type, channel in doc["channels"].items():
        binding = channel["bindings"]["amqp"]
        binding = resolve(doc, binding["$ref"]) if "$ref" in binding else binding
        assert binding["is"] == "routingKey"
        exchange = binding["exchange"]
        assert (exchange["name"], exchange["type"], exchange["durable"]) == (
            "intake.events",
            "topic",
            True,
        )
        message = resolve(doc, message_ref(doc, event_type))
        assert message["name"] == event_type, "one message per channel, named as the routing key"
        traits = [resolve(doc, t["$ref"]) for t in message.get("traits", [])]
        assert CONTENT_TYPE in [message.get("contentType")] + [t.get("contentType") for t in traits]
        assert "payload" in message and "examples" in message


def test_every_reference_resolves_and_schemas_stay_open(doc: dict[str, Any]) -> None:
    for path, node in walk(doc):
        if isinstance(node, dict) and "$ref" in node:
            assert resolve(doc, node["$ref"]) is not None, path
            # Draft 7 ignores keywords next to $ref: a description there would be silently lost.
            assert set(node) == {"$ref"}, f"{path}: keywords beside $ref are ignored"
        if isinstance(node, dict) and path.startswith("#/components/schemas"):
            assert node.get("additionalProperties") is not False, f"{path} must allow new fields"


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_each_message_payload_and_its_data_are_valid_json_schemas(
    doc: dict[str, Any], event_type: str
) -> None:
    payload = resolve(doc, message_ref(doc, event_type))["payload"]
    Draft7Validator.check_schema(payload)
    pinning = [p["properties"] for p in payload["allOf"] if "data" in p.get("properties", {})]
    assert len(pinning) == 1, "the payload pins one schema for `data`"
    data_schema = resolve(doc, pinning[0]["data"]["$ref"])
    Draft7Validator.check_schema(data_schema)
    assert data_schema.get("required") or data_schema.get("allOf")
    # The dataschema URI in the contract is the one the kit stamps on the events.
    pinned = [pinning[0]["dataschema"]["const"]]
    assert pinned == [new_event("intake", event_type, CODE, {})["dataschema"]]


def test_personal_data_and_secrets_are_marked(doc: dict[str, Any]) -> None:
    received = doc["components"]["schemas"]["DossierReceivedData"]["properties"]
    for field in ("applicant", "lookup"):
        assert received[field]["x-sensitive"] is True
        assert "x-sensitive" in received[field]["description"]


def test_the_documented_examples_validate(doc: dict[str, Any]) -> None:
    for event_type in EVENT_TYPES:
        for item in resolve(doc, message_ref(doc, event_type))["examples"]:
            assert errors(doc, item["payload"], event_type) == [], item["name"]


# --- events against the contract -------------------------------------------------------------


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_events_built_by_the_kit_validate(doc: dict[str, Any], event_type: str) -> None:
    event = parse_event(json.dumps(example(event_type), ensure_ascii=False).encode())
    assert errors(doc, event) == []
    assert errors(doc, example(event_type, added_in_a_later_release={"x": 1})) == []


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_every_field_the_desk_emits_is_required(doc: dict[str, Any], event_type: str) -> None:
    for field in DATA[event_type]:
        event = example(event_type)
        del event["data"][field]
        assert errors(doc, event) != [], f"{event_type} without data.{field} must fail"


@pytest.mark.parametrize(
    ("event_type", "field", "bad"),
    [
        ("dossier.received", "channel", "kiosk"),
        ("dossier.received", "return_method", "drone"),
        ("dossier.received", "received_at", "2025-07-02 09:15"),
        ("dossier.received", "documents", []),
        ("dossier.refused", "status", "returned"),
        ("dossier.supplemented", "paused_working_days", "1.25"),
        ("dossier.result_ready", "timeliness", "very_late"),
        ("dossier.result_ready", "electronic", "yes"),
        ("dossier.returned", "method", "pigeon"),
        ("dossier.evaluated", "ratings", {"overall": "meh"}),
        ("dossier.evaluated", "ratings", {"convenience": "satisfied"}),
    ],
)
def test_wrong_values_fail(doc: dict[str, Any], event_type: str, field: str, bad: Any) -> None:
    assert errors(doc, example(event_type, **{field: bad})) != []


def test_applicant_details_are_checked(doc: dict[str, Any]) -> None:
    event = example("dossier.received")
    event["data"]["applicant"]["citizen_id"] = "12345"
    assert any("citizen_id" in e for e in errors(doc, event))


def test_envelope_rules(doc: dict[str, Any]) -> None:
    event = example("dossier.refused")
    assert errors(doc, {k: v for k, v in event.items() if k != "id"}) != []
    assert errors(doc, {**event, "source": "/motcua/other"}) != []
    assert errors(doc, {**event, "time": "2025-07-03T03:00:00"}) != [], "time needs an offset"
    assert errors(doc, {**event, "id": "not-a-uuid"}) != []
    v2 = event["dataschema"].replace("/v1", "/v2")
    assert errors(doc, {**event, "dataschema": v2}) != [], "a v2 event is a different message"
    assert errors(doc, event, "dossier.withdrawn") != [], "a refusal is not a withdrawal"
