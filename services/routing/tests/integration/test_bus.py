"""Agencies on the bus: a reply counts only from the agency that holds the step, as the broker
authenticated it. Two bus agencies here: the commune police and a second, test-only one.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from pika.exceptions import ChannelClosedByBroker

pytestmark = pytest.mark.integration

POLICE, INSURANCE = "CA.H38.08", "BHXH.H38"
OTHER = "CA.TEST.2"


@pytest.fixture
def agencies_file(make_agencies_file):
    def add_second_bus_agency(data):
        data["agencies"].append(
            {
                "code": OTHER,
                "name": {"vi": "Công an xã thử nghiệm", "en": "Test commune police"},
                "level": "central-vertical",
                "parent": "CA.H38",
                "mode": "bus",
                "kind": "CONG_AN_XA",
                "amqp_user": "agency-test-2",
            }
        )

    return make_agencies_file(add_second_bus_agency)


@pytest.fixture
def systems(bus_agencies, open_agency_system):
    return {code: open_agency_system(agency) for code, agency in bus_agencies.items()}


def test_a_reply_under_another_agencys_user_is_refused_by_the_broker(platform, systems):
    code = platform.at_stage_two()
    step = f"{code}/2.1"
    other, police = systems[OTHER], systems[POLICE]

    with pytest.raises(ChannelClosedByBroker) as refused:
        other.publish(step, "refuse", police.agency.user, reason="Giả mạo công an xã")
    assert refused.value.reply_code == 406 and "PRECONDITION_FAILED" in refused.value.reply_text

    # Barrier: the police's own reply, published afterwards, is handled; the forged one never was.
    police.reply(step, "accept", officer_name="Trực ban")
    accepted = platform.wait_step(step, "accepted")
    assert accepted["received_by"] == {"id": POLICE, "name": "Trực ban", "unit": POLICE}
    assert platform.route(code)["status"] == "open"


def test_replies_from_no_holder_are_dead_lettered_and_routing_keeps_working(
    platform, systems, start_adapter, bus_agencies, open_agency_system
):
    code = platform.at_stage_two()
    step = f"{code}/2.1"
    name = "motcua_routing_rejected_replies_total"
    before = {r: platform.metric(name, reason=r) for r in ("not_step_holder", "unknown_sender")}

    # Properly authenticated, but the step is the commune police's, not this agency's.
    other = systems[OTHER]
    forged = other.reply(step, "complete", result_reference="GIA-MAO")
    # No user_id at all (a user with rights on the exchange, not an agency's system).
    guest = SimpleNamespace(user="guest", amqp_uri=platform.amqp_uri.replace("pyamqp", "amqp"))
    nameless = open_agency_system(guest).publish(step, "accept", None)

    dead: dict = {}

    def dead_lettered():
        dead.update({m.properties["message_id"]: m for m in platform.dead_letters("routing.dlq")})
        return forged["id"] in dead and nameless["id"] in dead

    platform.eventually(dead_lettered, "both replies in routing.dlq")
    assert dead[forged["id"]].headers["x-motcua-reason"] == "rejected"
    assert "not_step_holder" in dead[forged["id"]].headers["x-motcua-error"]
    assert dead[forged["id"]].headers["x-motcua-user-id"] == other.agency.user
    assert dead[nameless["id"]].headers["x-motcua-reason"] == "rejected"
    assert platform.metric(name, reason="not_step_holder") == before["not_step_holder"] + 1
    assert platform.metric(name, reason="unknown_sender") == before["unknown_sender"] + 1
    assert platform.step(step)["status"] == "assigned"

    # routing keeps working: the police's own system does the step, insurance finishes the route.
    start_adapter(bus_agencies[POLICE])
    assert platform.wait_step(step, "completed")["result_reference"] == f"{POLICE}/{code}"
    platform.finish(f"{code}/2.2", INSURANCE)
    platform.wait_dossier(code, "result_ready")
