"""The audit trail across intake and routing: a dossier's life lands in both chains with the
officers' names, reads of personal data are recorded, the chains verify, checkpoints go out as
events, and the audit view answers the dossier's own officers and supervisors only."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from motcua_kit import audit
from motcua_kit.testing import eventually, sql_runner

COMMUNE, POLICE, INSURANCE = "000.00.08.H38", "CA.H38.08", "BHXH.H38"

OTHER_COMMUNE = "000.00.09.H38"  # a commune of the same province, not involved in the dossier
NAMES = {
    ("reception", COMMUNE): "Lê Thị Hồng Nhung",
    ("supervisor", COMMUNE): "Phạm Quốc Việt",
    ("processing", COMMUNE): "Trần Minh Khoa",
    ("processing", POLICE): "Đỗ Thanh Sơn",
    ("processing", INSURANCE): "Vũ Ngọc Lan",
    ("reception", OTHER_COMMUNE): "Hoàng Văn Tú",
}
BODY = {  # the birth bundle, submitted with a token of our own
    "applicant": {
        "name": "Nguyễn Thị Ánh Tuyết",
        "citizen_id": "042199001234",
        "phone": "0912345678",
        "email": "anh.tuyet@example.vn",
        "address": "Thôn 1, xã Thạch Bình, tỉnh Hà Tĩnh",
    },
    "procedure_code": "2.000986",
    "documents": [
        {"code": "to-khai-lien-thong", "copies": 1},
        {"code": "giay-chung-sinh", "copies": 1},
    ],
    "channel": "desk",
    "return_method": "desk",
}


@pytest.fixture
def agencies_file(worklist_agencies_file: Path) -> Path:
    return worklist_agencies_file  # every step is an officer's HTTP call


@pytest.fixture
def intake_config(intake_config: dict[str, Any]) -> dict[str, Any]:
    return {**intake_config, "AUDIT_CHECKPOINT_SECONDS": 0.3}


@pytest.fixture
def token(make_token: Callable[..., str]) -> Callable[[str, str], str]:
    def make(role: str, unit: str) -> str:
        return make_token(role, unit=unit, officer=f"{role}-{unit}", name=NAMES[(role, unit)])

    return make


def trail(api: Any, code: str, bearer: str) -> dict[str, Any]:
    reply = api.get(f"/dossiers/{code}/audit", token=bearer)
    assert reply.status_code == 200, reply.text
    return reply.json()  # type: ignore[no-any-return]


def act(platform: Any, token: Callable[[str, str], str], step: str, agency: str) -> None:
    bearer = token("processing", agency)
    for action, body in (("accept", {}), ("complete", {"result_reference": f"KQ-{step}"})):
        reply = platform.routing.post(f"/steps/{step}/{action}", json=body, token=bearer)
        assert reply.status_code == 200, reply.text


def test_a_dossiers_life_is_in_both_chains_with_who_did_it(
    platform: Any,
    token: Callable[[str, str], str],
    intake_database: str,
    routing_database: str,
    routing_tap: Callable[..., Any],
) -> None:
    tap = routing_tap("audit.checkpoint", exchange="intake.events")
    reception, supervisor = token("reception", COMMUNE), token("supervisor", COMMUNE)
    submitted = platform.intake.post("/dossiers", json=BODY, token=reception)
    assert submitted.status_code == 201, submitted.text
    code = submitted.json()["code"]
    platform.wait_step(f"{code}/1.1", "assigned")
    act(platform, token, f"{code}/1.1", COMMUNE)
    platform.wait_step(f"{code}/2.1", "assigned")
    act(platform, token, f"{code}/2.1", POLICE)
    act(platform, token, f"{code}/2.2", INSURANCE)
    platform.wait_dossier(code, "result_ready")
    returned = platform.intake.post(
        f"/dossiers/{code}/return", json={"method": "desk"}, token=reception
    )
    assert returned.status_code == 200, returned.text

    # intake: the desk's actions, what routing reported, and the reads (wait_dossier read it)
    desk = trail(platform.intake, code, supervisor)
    assert desk["verified"] is True, desk["problem"]
    actions = [r["action"] for r in desk["records"]]
    assert actions[0] == "dossier.received"
    assert actions.count("step.assigned") == 3  # 1.1, then 2.1 and 2.2
    assert {"dossier.result_ready", "dossier.returned", "read.dossier"} <= set(actions)
    assert [r["seq"] for r in desk["records"]] == list(range(1, len(actions) + 1))
    received = desk["records"][0]
    assert received["actor"]["name"] == "Lê Thị Hồng Nhung"
    assert received["actor"]["roles"] == ["reception"] and received["actor"]["issuer"]
    assert received["origin"]["request_id"] and received["origin"]["client"] == "127.0.0.1"
    assert "applicant" not in received["details"]  # the trail says what, not whose data
    reported = next(r for r in desk["records"] if r["action"] == "step.assigned")
    assert reported["origin"]["event_id"] and reported["origin"]["source"] == "/motcua/routing"
    read = next(r for r in desk["records"] if r["action"] == "read.dossier")
    assert read["actor"]["roles"] == ["supervisor"] and read["origin"]["request_id"]

    # routing: the route opened for the desk's officer, every hand-over by the agencies' officers
    route = trail(platform.routing, code, supervisor)
    assert route["verified"] is True, route["problem"]
    moves = [
        (r["action"], r["details"].get("step_id"), r["actor"]["name"]) for r in route["records"]
    ]
    assert moves[0][0] == "route_opened" and moves[0][2] == "Lê Thị Hồng Nhung"
    assert route["records"][0]["origin"]["event_id"]
    for step, agency in (("1.1", COMMUNE), ("2.1", POLICE), ("2.2", INSURANCE)):
        name = NAMES[("processing", agency)]
        assert ("step.accepted", f"{code}/{step}", name) in moves
        assert ("step.completed", f"{code}/{step}", name) in moves
    assert [m[0] for m in moves].count("step.assigned") == 3
    assert "route.completed" in [m[0] for m in moves]
    accepted = next(r for r in route["records"] if r["action"] == "step.accepted")
    assert accepted["origin"]["request_id"] and accepted["actor"]["roles"] == ["processing"]

    # a checkpoint of intake went out as an event and holds the dossier's chain
    event = tap.wait_for("audit.checkpoint", "checkpoint/1", timeout=10)
    assert event["source"] == "/motcua/intake"
    assert all(set(h) == {"chain", "seq", "hash"} for h in event["data"]["heads"])

    # every chain of both databases verifies, the checkpoints included (make audit-verify)
    assert (
        audit.main(
            ["verify", "--database-url", intake_database, "--database-url", routing_database]
        )
        == 0
    )


def test_the_audit_view_answers_own_officers_and_supervisors_only(
    platform: Any, token: Callable[[str, str], str]
) -> None:
    submitted = platform.intake.post(
        "/dossiers", json=BODY, token=token("reception", COMMUNE)
    ).json()
    code = submitted["code"]
    platform.wait_step(f"{code}/1.1", "assigned")
    for api in (platform.intake, platform.routing):
        for bearer in (token("supervisor", COMMUNE), token("processing", COMMUNE)):
            assert trail(api, code, bearer)["verified"] is True
        refused = api.get(f"/dossiers/{code}/audit", token=token("reception", OTHER_COMMUNE))
        assert refused.status_code == 403, refused.text
        assert "records" not in refused.json() and "Lê Thị" not in refused.text
    # the refused reads were not recorded; the allowed ones were
    shown = trail(platform.intake, code, token("supervisor", COMMUNE))
    readers = [r["actor"]["name"] for r in shown["records"] if r["action"] == "read.audit"]
    assert readers == [NAMES[("supervisor", COMMUNE)], NAMES[("processing", COMMUNE)]]
    assert NAMES[("reception", OTHER_COMMUNE)] not in str(shown["records"])

    # the citizen's lookup still shows public milestones only
    looked = platform.intake.post(f"/lookup/{code}", json={"pin": submitted["lookup"]["pin"]})
    assert looked.status_code == 200, looked.text
    body = looked.json()
    assert "records" not in body and "hash" not in looked.text
    assert not any(m["action"].startswith("read.") for m in body["milestones"])
    assert NAMES[("supervisor", COMMUNE)] not in looked.text


def test_a_list_of_dossiers_is_recorded_in_the_units_chain(
    platform: Any, token: Callable[[str, str], str], intake_database: str
) -> None:
    code = platform.intake.post("/dossiers", json=BODY, token=token("reception", COMMUNE)).json()[
        "code"
    ]
    listed = platform.intake.get("/dossiers", token=token("supervisor", COMMUNE))
    assert listed.status_code == 200, listed.text
    rows = eventually(
        lambda: sql_runner(intake_database)(
            "SELECT actor, details FROM audit_records WHERE chain = %s AND action = 'read.list' "
            "ORDER BY seq DESC LIMIT 1",
            (f"unit:{COMMUNE}",),
        ),
        "the list read recorded",
    )
    assert code in rows[0]["details"]["codes"]
    assert rows[0]["actor"]["name"] == NAMES[("supervisor", COMMUNE)]
