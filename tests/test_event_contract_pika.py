"""The published event contract, seen from outside the platform: a consumer with nothing but pika
(in its own process: no nameko, no kombu) and the CloudEvents SDK receives intake's events, and
each of them matches docs/events/asyncapi.yaml."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any
from uuid import uuid4

import pytest
from cloudevents.core.bindings.rabbitmq import RabbitMQMessage, from_rabbitmq_event

pytestmark = pytest.mark.integration

BIRTH = {
    "applicant": {
        "name": "Nguyễn Thị Ánh",
        "citizen_id": "042199001234",
        "phone": "0912345678",
        "email": "anh@example.vn",
        "address": "Thôn 1, xã Thạch Bình, tỉnh Hà Tĩnh",
    },
    "procedure_code": "2.000986",
    "documents": [{"code": "to-khai-lien-thong"}, {"code": "giay-chung-sinh"}],
    "channel": "desk",
    "return_method": "post",
}


def cloud_event(message: dict[str, Any]) -> Any:
    """The CloudEvents SDK's reading of an AMQP message (structured mode, by its content type)."""
    properties = message["properties"]
    return from_rabbitmq_event(
        RabbitMQMessage(
            headers={}, content_type=properties["content_type"], body=message["body"].encode()
        )
    )


def test_dossier_received_reaches_a_plain_pika_consumer(
    intake, make_token, pika_consumer, event_contract
):
    unit = f"T{uuid4().hex[:6]}"
    consumer = pika_consumer("dossier.#", count=1)

    reply = intake.post("/dossiers", json=BIRTH, token=make_token("reception", unit=unit))
    assert reply.status_code == 201, reply.text
    [message] = consumer.messages()

    code, pin = reply.json()["code"], reply.json()["lookup"]["pin"]
    event = cloud_event(message)
    assert event.get_specversion() == "1.0"
    assert event.get_source() == "/motcua/intake"
    assert event.get_type() == "dossier.received" == message["routing_key"]
    assert event.get_subject() == code
    assert event.get_dataschema() == "https://motcua.example/schemas/events/dossier.received/v1"
    assert event.get_time().utcoffset().total_seconds() == 0
    assert message["exchange"] == "intake.events"
    assert message["properties"] == {
        "content_type": "application/cloudevents+json",
        "content_encoding": "utf-8",
        "message_id": event.get_id(),
        "type": "dossier.received",
        "delivery_mode": 2,
    }
    data = event.get_data()
    assert data["code"] == code and data["unit"] == unit
    assert data["procedure"]["code"] == "2.000986" and data["procedure"]["processing_days"] == 3
    assert data["applicant"] == BIRTH["applicant"]
    assert data["documents"] == [{**d, "copies": 1} for d in BIRTH["documents"]]
    assert (data["channel"], data["return_method"]) == ("desk", "post")
    assert data["lookup"]["pin"] == pin
    assert (
        data["lookup"]["link"] == reply.json()["lookup"]["link"]
    )  # the citizen's link, x-sensitive

    # The raw body, as any consumer sees it, against the published schema.
    assert event_contract(json.loads(message["body"])) == []


def test_every_dossier_event_matches_its_schema(intake, make_token, pika_consumer, event_contract):
    """One dossier through its whole life, one refused, one withdrawn: 8 event types.

    The queue takes every routing key: whatever intake publishes must be a contract event."""
    token = make_token("reception", unit=f"T{uuid4().hex[:6]}")
    consumer = pika_consumer("#", count=10)

    def post(url: str, body: dict[str, Any], auth: str | None = token) -> dict[str, Any]:
        reply = intake.post(url, json=body, token=auth)
        assert reply.status_code in (200, 201), f"{url}: {reply.text}"
        return dict(reply.json())

    # Without a route (intake's test catalogue): the desk itself marks the result (issue 18).
    first = post("/dossiers", {**BIRTH, "procedure_code": "9.000986"})
    code = first["code"]
    post(
        f"/dossiers/{code}/supplement-request",
        {
            "reason": "Thiếu giấy chứng nhận kết hôn của cha mẹ",
            "missing": [
                {"document_code": "giay-chung-nhan-ket-hon", "description": "Bản chụp GCN kết hôn"}
            ],
        },
    )
    post(f"/dossiers/{code}/supplements", {"documents": [{"code": "giay-chung-nhan-ket-hon"}]})
    post(f"/dossiers/{code}/result", {"result_reference": "125/2025/TP-KS", "electronic": True})
    post(f"/dossiers/{code}/return", {"method": "post", "note": "Gửi qua bưu điện"})
    post(
        f"/lookup/{code}/evaluation",
        {"pin": first["lookup"]["pin"], "ratings": {"overall": "very_satisfied"}},
        auth=None,
    )
    refused = post("/dossiers", BIRTH)["code"]
    post(f"/dossiers/{refused}/refusal", {"reason": "Trẻ đã được đăng ký khai sinh"})
    withdrawn = post("/dossiers", BIRTH)["code"]
    post(f"/dossiers/{withdrawn}/withdrawal", {"reason": "Công dân xin rút hồ sơ"})

    messages = consumer.messages()
    strays = [
        (m["routing_key"], m["properties"]["message_id"], m["body"][:60])
        for m in messages
        if not m["routing_key"].startswith("dossier.")
    ]
    assert strays == [], "messages on intake.events that are not dossier events"
    events = [cloud_event(m) for m in messages]
    assert Counter(e.get_type() for e in events) == {
        "dossier.received": 3,
        "dossier.supplement_requested": 1,
        "dossier.supplemented": 1,
        "dossier.result_ready": 1,
        "dossier.returned": 1,
        "dossier.evaluated": 1,
        "dossier.refused": 1,
        "dossier.withdrawn": 1,
    }
    for message, event in zip(messages, events, strict=True):
        assert event.get_subject() == event.get_data()["code"]
        assert message["routing_key"] == event.get_type()
        assert message["properties"]["message_id"] == event.get_id()
        problems = event_contract(json.loads(message["body"]))
        assert problems == [], f"{event.get_type()}: {problems}"
    assert len({e.get_id() for e in events}) == 10
