"""Issue 3's promise: the birth bundle runs across three agencies, from the desk back to the desk.

The commune (worklist) registers the birth; then, in parallel, the commune police (on the bus:
the reference pika adapter in its own process) and social insurance (worklist). intake and routing
run in the same vhost, each with its own database.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

COMMUNE, POLICE, INSURANCE = "000.00.08.H38", "CA.H38.08", "BHXH.H38"


def test_birth_bundle_from_reception_to_result(platform, bus_agencies, start_adapter, routing_tap):
    adapter = start_adapter(bus_agencies[POLICE], work_seconds=0.2)
    tap = routing_tap("step.#", "route.#")
    code = platform.submit()["code"]

    platform.wait_step(f"{code}/1.1", "assigned")
    assert platform.wait_dossier(code, "in_progress")["current_step"]["agency"] == COMMUNE
    platform.finish(f"{code}/1.1", COMMUNE)

    # The police's own system takes its task from the bus, accepts and completes it.
    police = platform.wait_step(f"{code}/2.1", "completed")
    assert police["agency_code"] == POLICE
    assert police["received_by"]["unit"] == POLICE
    assert police["result_reference"] == f"{POLICE}/{code}"
    assert adapter.process.poll() is None, "the adapter keeps serving"
    assert platform.dossier(code)["status"] == "in_progress", "insurance has not finished"

    platform.finish(f"{code}/2.2", INSURANCE)

    dossier = platform.wait_dossier(code, "result_ready")
    completed = tap.wait_for("route.completed", code)
    assert {r["agency"] for r in completed["data"]["results"]} == {COMMUNE, POLICE, INSURANCE}
    [ready] = [a for a in platform.history(code) if a["action"] == "result_ready"]
    assert f"{POLICE}/{code}" in ready["details"]["result_reference"]
    assert ready["actor"]["id"] == "routing"
    assert dossier["result_at"] is not None
    assert dossier["current_step"] is None, "no agency holds a dossier whose result is ready"
    assert [r["status"] for r in platform.route(code)["rows"]] == ["completed"] * 3
