from __future__ import annotations

import json

import pytest
from motcua_kit.events import MalformedEvent, new_event, parse_event


def test_new_event_is_a_cloudevent_in_plain_json():
    event = new_event("intake", "dossier.received", "U-251126-0001", {"code": "U-251126-0001"})
    assert event["specversion"] == "1.0"
    assert event["source"] == "/motcua/intake"
    assert event["subject"] == "U-251126-0001"
    assert event["time"].endswith("Z")
    assert parse_event(json.dumps(event).encode()) == event


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"specversion": "1.0"}', "missing CloudEvents attributes"),
        (b"\xff\xfe", "not JSON"),
    ],
)
def test_malformed_bodies_say_why(body, why):
    with pytest.raises(MalformedEvent, match=why):
        parse_event(body)


def test_data_must_be_an_object():
    event = new_event("intake", "x", "s", {})
    event["data"] = "text"
    with pytest.raises(MalformedEvent, match="data must be a JSON object"):
        parse_event(event)
