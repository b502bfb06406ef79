"""The reference agency adapter (services/routing/adapter/agency_adapter.py) keeps the documented
contract (docs/events/asyncapi.yaml): its replies are `agency.reply` messages, published where and
how the document says, and the queue it reads is the one the operator's provisioning creates."""

from __future__ import annotations

import importlib.util
import json
import re
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator, FormatChecker
from motcua_kit.events import new_event
from motcua_kit.workcal import VN_TZ, WorkCalendar
from referencing import Registry
from referencing.jsonschema import DRAFT7
from routing import provision, workflow
from routing.domain import route as r
from routing.domain.agencies import registry_from_data

REPO = Path(__file__).resolve().parents[4]
SPEC = REPO / "docs" / "events" / "asyncapi.yaml"
AGENCIES = registry_from_data(
    json.loads((REPO / "services/routing/routing/data/agencies.json").read_text("utf-8"))
)
CALENDAR = WorkCalendar.from_file(REPO / "deploy" / "calendar.json")
AGENCY, USER = "CA.H38.08", "agency-ca-h38-08"
CODE = "000.00.08.H38-250707-0001"
MONDAY = datetime(2025, 7, 7, 11, 0, tzinfo=VN_TZ)
HANDED_BY = {"id": "officer-4", "name": "Nguyễn Văn Hùng", "unit": "000.00.08.H38"}


def load_adapter() -> ModuleType:
    path = REPO / "services" / "routing" / "adapter" / "agency_adapter.py"
    spec = importlib.util.spec_from_file_location("agency_adapter", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


adapter = load_adapter()


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    loaded = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def resolve(doc: dict[str, Any], ref: str) -> Any:
    node: Any = doc
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def problems(doc: dict[str, Any], message_ref: str, event: dict[str, Any]) -> list[str]:
    registry = Registry().with_resource("urn:contract", DRAFT7.create_resource(doc))
    schema = {"$ref": f"urn:contract{message_ref}/payload"}
    checker = Draft7Validator(schema, registry=registry, format_checker=FormatChecker())
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in checker.iter_errors(event)
    ]


def reply_problems(doc: dict[str, Any], event: dict[str, Any]) -> list[str]:
    return problems(doc, doc["channels"]["agency.reply"]["publish"]["message"]["$ref"], event)


def task() -> dict[str, Any]:
    """A `task.assigned` for the police step of the birth bundle, as routing sends it."""
    catalogue = json.loads(
        (REPO / "services/intake/intake/data/procedures.json").read_text("utf-8")
    )
    route = next(p for p in catalogue["procedures"] if p["code"] == "2.000986")["route"]
    first, *later = r.plan_route(CODE, "000.00.08.H38", route, AGENCIES)
    done = replace(first, status=r.COMPLETED)
    police, _ = r.assign_ready([done, *later], MONDAY, CALENDAR, HANDED_BY)
    assert police.step.agency_code == AGENCY
    return new_event("routing", "task.assigned", CODE, workflow.step_data(police.step))


MISSING = [{"document_code": None, "description": "Giấy tờ chứng minh chỗ ở hợp pháp"}]
REPLIES: dict[str, dict[str, Any]] = {
    # as the adapter's main() answers every task
    "accept": {"officer_name": f"Hệ thống {AGENCY}"},
    "complete": {
        "result_reference": f"{AGENCY}/{CODE}",
        "note": "Đã giải quyết",
        "officer_name": f"Hệ thống {AGENCY}",
    },
    # the other actions an agency's system may take
    "request_supplement": {"missing": MISSING, "reason": "Chưa xác minh được nơi ở"},
    "refuse": {"reason": "Địa chỉ không thuộc địa bàn quản lý", "officer_id": "ca-01"},
    "return": {"reason": "Giấy khai sinh ghi sai tên cha"},
}


def test_the_task_the_adapter_reads_is_a_documented_task(doc: dict[str, Any]) -> None:
    [ref] = [
        m["$ref"]
        for m in doc["channels"]["agency.{agency}.tasks"]["subscribe"]["message"]["oneOf"]
        if resolve(doc, m["$ref"])["name"] == "task.assigned"
    ]
    assert problems(doc, ref, task()) == []


@pytest.mark.parametrize("action", REPLIES)
def test_every_reply_the_adapter_builds_validates(doc: dict[str, Any], action: str) -> None:
    given = task()
    event = adapter.reply(AGENCY, given, action, **REPLIES[action])
    assert reply_problems(doc, event) == []
    assert event["subject"] == given["subject"] == CODE
    assert event["data"]["step_id"] == given["data"]["step_id"]
    assert event["source"] == f"/agencies/{AGENCY}"


@pytest.mark.parametrize(
    ("action", "field"),
    [
        ("complete", "result_reference"),
        ("request_supplement", "missing"),
        ("request_supplement", "reason"),
        ("refuse", "reason"),
        ("return", "reason"),
    ],
)
def test_a_reply_without_a_required_field_fails(
    doc: dict[str, Any], action: str, field: str
) -> None:
    fields = {k: v for k, v in REPLIES[action].items() if k != field}
    assert reply_problems(doc, adapter.reply(AGENCY, task(), action, **fields)) != []


def test_a_malformed_reply_fails(doc: dict[str, Any]) -> None:
    event = adapter.reply(AGENCY, task(), "accept")
    assert reply_problems(doc, {**event, "data": {"action": "accept"}}) != [], "no step_id"
    assert reply_problems(doc, adapter.reply(AGENCY, task(), "approve")) != []
    assert reply_problems(doc, {k: v for k, v in event.items() if k != "id"}) != []


class Channel:
    """Records what the adapter publishes (pika's BlockingChannel.basic_publish signature)."""

    def __init__(self) -> None:
        self.published: list[dict[str, Any]] = []

    def basic_publish(self, **kwargs: Any) -> None:
        self.published.append(kwargs)


def published_reply() -> tuple[dict[str, Any], dict[str, Any]]:
    channel = Channel()
    event = adapter.reply(AGENCY, task(), "accept")
    adapter.publish(channel, USER, event)
    [sent] = channel.published
    return event, sent


def test_replies_are_published_as_documented_with_the_agency_user_as_user_id(
    doc: dict[str, Any],
) -> None:
    event, sent = published_reply()
    reply_binding = doc["channels"]["agency.reply"]["bindings"]["amqp"]
    assert sent["exchange"] == reply_binding["exchange"]["name"] == "routing.replies"
    assert sent["mandatory"] is True
    assert json.loads(sent["body"]) == event
    properties = sent["properties"]
    assert properties.user_id == USER == AGENCIES.agency(AGENCY).amqp_user
    assert properties.message_id == event["id"]
    assert properties.type == event["type"] == "agency.reply"
    assert (properties.content_type, properties.content_encoding) == (
        doc["defaultContentType"],
        "utf-8",
    )
    assert properties.delivery_mode == 2


def test_replies_use_the_routing_key_routing_binds(doc: dict[str, Any]) -> None:
    _, sent = published_reply()
    assert sent["routing_key"] == "agency.reply" and "agency.reply" in doc["channels"]


class Management(provision.Management):
    """The RabbitMQ management API as provision() calls it, recorded instead of sent."""

    def __init__(self) -> None:
        super().__init__("http://guest:guest@127.0.0.1:15672", "/")
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def put(self, path: str, body: dict[str, Any]) -> None:
        self.calls.append(("PUT", path, body))

    def post(self, path: str, body: dict[str, Any]) -> None:
        self.calls.append(("POST", path, body))


def test_provisioning_gives_the_agency_the_documented_queue_and_permissions(
    doc: dict[str, Any],
) -> None:
    management = Management()
    given = provision.provision(management, AGENCIES, {AGENCY: "secret"})
    assert given == {AGENCY: "secret"}
    queue = doc["channels"]["agency.{agency}.tasks"]["bindings"]["amqp"]["queue"]["name"]
    mine = queue.replace("{agency}", AGENCY)
    assert ("PUT", f"/queues/%2F/{mine}", {"durable": True}) in management.calls
    bind = ("POST", f"/bindings/%2F/e/{workflow.TASKS_EXCHANGE}/q/{mine}", {"routing_key": AGENCY})
    assert bind in management.calls
    [permissions] = [
        body for _, path, body in management.calls if path == f"/permissions/%2F/{USER}"
    ]
    replies = doc["channels"]["agency.reply"]["bindings"]["amqp"]["exchange"]["name"]
    assert permissions == {
        "configure": "^$",
        "write": f"^{re.escape(replies)}$",
        "read": f"^{re.escape(mine)}$",
    }
