"""The control slip (Form 05) at `GET /dossiers/<code>/route`: every hand-over with its mark.

Each step's due instant is moved in routing's database before the step is finished, so the marks
do not depend on when the suite runs: early (a day before the due day), on time (on the due day,
before the instant), late (after it).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from motcua_kit.workcal import VN_TZ

pytestmark = pytest.mark.integration

COMMUNE, POLICE, INSURANCE = "000.00.08.H38", "CA.H38.08", "BHXH.H38"


@pytest.fixture
def agencies_file(worklist_agencies_file):
    return worklist_agencies_file


def test_slip_marks_early_on_time_and_late_in_working_days(platform, routing_sql, work_calendar):
    code = platform.submit()["code"]
    platform.wait_step(f"{code}/1.1", "assigned")

    def set_step(step, **columns):
        assignments = ", ".join(f"{column} = %s" for column in columns)
        routing_sql(f"UPDATE steps SET {assignments} WHERE id = %s", (*columns.values(), step))  # noqa: S608

    now = datetime.now(VN_TZ)
    # The commune had the file for a week and finishes three days before its due day: early.
    set_step(f"{code}/1.1", assigned_at=now - timedelta(days=7), due_at=now + timedelta(days=3))
    platform.finish(f"{code}/1.1", COMMUNE)
    # The police is due at the end of today: on time. Insurance was due an hour ago: late.
    end_of_today = datetime.combine(now.date(), time(23, 59, 59), tzinfo=VN_TZ)
    set_step(f"{code}/2.1", due_at=end_of_today)
    set_step(f"{code}/2.2", due_at=now - timedelta(hours=1))

    open_rows = {r["step_id"][-3:]: r for r in platform.route(code)["rows"]}
    assert open_rows["2.2"]["timeliness"] == "late", "an open step past its due instant"
    assert open_rows["2.1"]["timeliness"] is None, "an open step on time has no mark yet"

    platform.finish(f"{code}/2.1", POLICE)
    platform.finish(f"{code}/2.2", INSURANCE)

    slip = platform.route(code)
    assert (slip["status"], slip["form"]) == ("completed", "05")
    rows = {r["step_id"][-3:]: r for r in slip["rows"]}
    assert {k: r["timeliness"] for k, r in rows.items()} == {
        "1.1": "early",
        "2.1": "on_time",
        "2.2": "late",
    }
    assert [rows[k]["timeliness_vi"] for k in ("1.1", "2.1", "2.2")] == [
        "Trước hạn",
        "Đúng hạn",
        "Quá hạn",
    ]
    commune = rows["1.1"]
    week = work_calendar.working_days_between(
        datetime.fromisoformat(commune["handed_at"]), datetime.fromisoformat(commune["finished_at"])
    )
    assert commune["working_days_taken"] == round(week, 2)
    assert commune["working_days_taken"] <= 6, "a week has no more than five working days"
    assert commune["handed_by"]["unit"] == COMMUNE, "the desk handed the file"
    assert commune["received_by"]["unit"] == COMMUNE
    assert rows["2.2"]["handed_by"]["unit"] == COMMUNE, "the commune handed it on"
    assert rows["2.2"]["received_by"]["unit"] == INSURANCE
    assert rows["2.2"]["agency_name"] == "Bảo hiểm xã hội tỉnh Hà Tĩnh"
