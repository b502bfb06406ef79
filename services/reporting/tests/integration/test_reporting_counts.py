"""A scripted month gives exactly the counts, rates and index a clerk would work out by hand;
the same events again change nothing; a rebuild from the archive gives the same tables; the XLSX
and CSV files hold the same numbers. The month is described in reporting_script.py.

Expected numbers for June 2025 (1/6-30/6), worked out by hand from the script:

dossiers, per field (ho-tich: H, A, B, C, D, L; chung-thuc: E, F, G, I; K and J are not June's)
                            ho-tich              chung-thuc         total
  carried_over              1 (H)                0                  1
  received                  5 (A B C D L)        4 (E F G I)        9
  received_online           2 (B D)              3 (E F G)          5
  total                     6                    4                  10
  completed_early           1 (A)                0                  1
  completed_on_time         2 (H B)              1 (E)              3
  completed_late            1 (C)                0                  1
  completed                 4                    1                  5
  on_time_rate              3/4 = 0.75           1/1 = 1.0          4/5 = 0.8
  refused / withdrawn       0 / 0                1 (F) / 1 (G)      1 / 1
  supplement_requested      0                    2 (E I)            2
  electronic_results        2 (A C)              1 (E)              3
  returned                  2 (A B)              0                  2
  in_progress               2 (D L)              1 (I)              3
  awaiting_supplement       0                    1 (I)              1
  in_progress_overdue       1 (D: due 10/6)      0 (I is paused)    1
  in_progress_on_time       1 (L: due 3/7)       0                  1
  (total = completed + refused + withdrawn + in_progress: 6 = 4+0+0+2, 4 = 1+1+1+1, 10 = 5+1+1+3)

processing working days (work_calendar.working_days_between(received, result) minus the days
paused for supplements; 8-hour days, 07:00-11:30 and 13:30-17:00):
  H 28/5 09:00 -> 2/6 08:00:  6 h + 8 + 8 + 1 = 23 h  = 2.875
  A 2/6 09:00 -> 4/6 10:00:   6 + 8 + 3      = 17 h  = 2.125
  B 3/6 09:00 -> 6/6 08:30:   6 + 8 + 8 + 1.5 = 23.5 h = 2.9375
  C 4/6 09:00 -> 10/6 15:00:  6 + 8 + 8 + 8 + 6 = 36 h = 4.5
  E 9/6 09:00 -> 10/6 14:30:  6 + 5.5 = 11.5 h = 1.4375, minus 0.875 paused
                              (9/6 10:00 -> 10/6 09:00: 5 h + 2 h = 7 h)   = 0.5625
  average: ho-tich 12.4375 / 4 = 3.109375 -> 3.11; chung-thuc 0.5625 -> 0.56; total 13 / 5 = 2.6

steps completed in June, per agency (K's step was in May):
  000.00.99.H38  A early, B on time, C on time, D late: 4, on-time rate 3/4 = 0.75
  CA.H38.08      A early, B on time, C late:            3, on-time rate 2/3 = 0.6667

evaluations in June: A (overall very satisfied), B (satisfied), E (dissatisfied); K's (May) and
J's (July) are outside. overall 1/1/1, satisfied_rate 2/3 = 0.6667; on_time 1/2/0 (rate 1.0);
staff_attitude 2/1/0 (1.0); online_service 0/1/0 (1.0); total_time 0/0/1 (0.0); E's "mood" is no
criterion. Per agency (the agencies that held a step): A and B only, both agencies: rate 1.0.

766 index (points = min(ratio / target, 1) x max points, rounded to 2 decimals):
  on_time             4/5 = 0.8       target 1.0  x 20 = 16.0
  satisfaction        2/3 = 0.6667    target 1.0  x 18 = 12.0
  online_dossiers     5/9 = 0.5556    target 0.8  x 11 = 0.69444 x 11 = 7.64
  online_payments     unknown: ratio None, no score
  electronic_results  3/5 = 0.6       target 1.0  x 22 = 13.2
  total 16 + 12 + 7.64 + 13.2 = 48.84 of 20 + 18 + 11 + 22 = 71

late now: only D (overdue since 10/6 09:00, held by CA.H38.08 whose step was due 10/6 10:00, at
risk 0.83). Not I (paused for a supplement), not G (withdrawn), not L or J (finished).
"""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import reporting_script as script
import yaml
from motcua_kit.testing import eventually
from openpyxl import load_workbook
from prometheus_client import REGISTRY
from reporting_script import POLICE, UNIT, vn

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[4]
PYTHONPATH = "kit:services/intake:services/routing:services/notification:services/reporting"
JUNE = "from=2025-06-01&to=2025-06-30"
TABLES = (
    "dossiers",
    "fields",
    "steps",
    "evaluations",
    "daily_dossiers",
    "daily_steps",
    "daily_notifications",
)
CONSUMERS = ("on_intake_event", "on_routing_event", "on_notification_event")


def counts(**values: Any) -> dict[str, Any]:
    """A statistics row: every count zero unless given."""
    row: dict[str, Any] = dict.fromkeys(
        (
            "carried_over",
            "received",
            "received_online",
            "supplement_requested",
            "refused",
            "withdrawn",
            "completed_early",
            "completed_on_time",
            "completed_late",
            "electronic_results",
            "returned",
            "in_progress",
            "awaiting_supplement",
            "in_progress_overdue",
            "total",
            "completed",
            "in_progress_on_time",
        ),
        0,
    )
    row.update(values)
    return row


CHUNG_THUC = counts(
    received=4,
    received_online=3,
    total=4,
    completed_on_time=1,
    completed=1,
    on_time_rate=1.0,
    refused=1,
    withdrawn=1,
    supplement_requested=2,
    electronic_results=1,
    in_progress=1,
    awaiting_supplement=1,
    average_processing_days=0.56,
)
HO_TICH = counts(
    carried_over=1,
    received=5,
    received_online=2,
    total=6,
    completed_early=1,
    completed_on_time=2,
    completed_late=1,
    completed=4,
    on_time_rate=0.75,
    electronic_results=2,
    returned=2,
    in_progress=2,
    in_progress_overdue=1,
    in_progress_on_time=1,
    average_processing_days=3.11,
)
TOTALS = counts(
    carried_over=1,
    received=9,
    received_online=5,
    total=10,
    completed_early=1,
    completed_on_time=3,
    completed_late=1,
    completed=5,
    on_time_rate=0.8,
    refused=1,
    withdrawn=1,
    supplement_requested=2,
    electronic_results=3,
    returned=2,
    in_progress=3,
    awaiting_supplement=1,
    in_progress_overdue=1,
    in_progress_on_time=1,
    average_processing_days=2.6,
)
STATISTICS = {
    "period": {"from": "2025-06-01", "to": "2025-06-30"},
    "filters": {},
    "totals": TOTALS,
    "by_field": [{"field": "chung-thuc", **CHUNG_THUC}, {"field": "ho-tich", **HO_TICH}],
    "by_agency": [
        {"agency": UNIT, "completed": 4, "early": 1, "on_time": 2, "late": 1, "on_time_rate": 0.75},
        {
            "agency": POLICE,
            "completed": 3,
            "early": 1,
            "on_time": 1,
            "late": 1,
            "on_time_rate": 0.6667,
        },
    ],
}

CRITERIA = (
    "overall",
    "convenience",
    "on_time",
    "staff_attitude",
    "total_time",
    "time_per_agency",
    "contacts",
    "agencies",
    "desk_handling",
    "publicity",
    "feedback_response",
    "online_service",
)


def rated(**answers: tuple[int, int, int]) -> dict[str, Any]:
    """Every criterion: (very satisfied, satisfied, dissatisfied), zero unless given."""
    out = {}
    for criterion in CRITERIA:
        very, satisfied, dissatisfied = answers.get(criterion, (0, 0, 0))
        total = very + satisfied + dissatisfied
        out[criterion] = {
            "very_satisfied": very,
            "satisfied": satisfied,
            "dissatisfied": dissatisfied,
            "answers": total,
            "satisfied_rate": round((very + satisfied) / total, 4) if total else None,
        }
    return out


ALL_RATED = rated(
    overall=(1, 1, 1),
    on_time=(1, 2, 0),
    staff_attitude=(2, 1, 0),
    online_service=(0, 1, 0),
    total_time=(0, 0, 1),
)
AGENCY_RATED = rated(
    overall=(1, 1, 0), on_time=(1, 1, 0), staff_attitude=(2, 0, 0), online_service=(0, 1, 0)
)
SATISFACTION = {
    "period": {"from": "2025-06-01", "to": "2025-06-30"},
    "filters": {},
    "evaluations": 3,
    "criteria": ALL_RATED,
    "satisfied_rate": 0.6667,
    "by_unit": [{"unit": UNIT, "criteria": ALL_RATED, "satisfied_rate": 0.6667}],
    "by_agency": [
        {"agency": UNIT, "criteria": AGENCY_RATED, "satisfied_rate": 1.0},
        {"agency": POLICE, "criteria": AGENCY_RATED, "satisfied_rate": 1.0},
    ],
}
# (key, group, ratio, target, max points, score)
MEASURES = [
    ("on_time", "progress", 0.8, 1.0, 20, 16.0),
    ("satisfaction", "satisfaction", 0.6667, 1.0, 18, 12.0),
    ("online_dossiers", "online", 0.5556, 0.8, 11, 7.64),
    ("online_payments", "online", None, 0.8, 11, None),
    ("electronic_results", "digitisation", 0.6, 1.0, 22, 13.2),
]
NOTIFICATIONS = [
    (date(2025, 5, 26), "email", "receipt", "sent", 1),
    (date(2025, 6, 2), "email", "receipt", "sent", 1),
    (date(2025, 6, 3), "email", "receipt", "sent", 1),
    (date(2025, 6, 3), "sms", "receipt", "failed", 1),
    (date(2025, 6, 4), "email", "receipt", "sent", 1),
    (date(2025, 6, 4), "sms", "result_ready", "delivered", 1),
    (date(2025, 6, 4), "sms", "result_ready", "sent", 1),
    (date(2025, 6, 12), "email", "webhook_suspended", "sent", 2),
]
# The file layout (tình hình giải quyết TTHC): headers, and the report's key under each.
FILE_COLUMNS = (
    ("Tổng số hồ sơ", "total"),
    ("Số kỳ trước chuyển qua", "carried_over"),
    ("Số mới tiếp nhận", "received"),
    ("Trong đó: trực tuyến", "received_online"),
    ("Đã giải quyết: tổng số", "completed"),
    ("Đã giải quyết: trước hạn", "completed_early"),
    ("Đã giải quyết: đúng hạn", "completed_on_time"),
    ("Đã giải quyết: quá hạn", "completed_late"),
    ("Đang giải quyết: tổng số", "in_progress"),
    ("Đang giải quyết: chưa đến hạn", "in_progress_on_time"),
    ("Đang giải quyết: quá hạn", "in_progress_overdue"),
    ("Chờ bổ sung", "awaiting_supplement"),
    ("Yêu cầu bổ sung", "supplement_requested"),
    ("Từ chối", "refused"),
    ("Rút hồ sơ", "withdrawn"),
    ("Tỷ lệ đúng hạn (%)", "on_time_rate"),
    ("Thời gian giải quyết trung bình (ngày làm việc)", "average_processing_days"),
)


# --- helpers -----------------------------------------------------------------------------------


def consumed(outcome: str) -> float:
    """Events reporting's consumers settled with `outcome`, in this process so far."""
    return sum(
        REGISTRY.get_sample_value(
            "motcua_events_consumed_total",
            {"service": "reporting", "consumer": f"reporting.{name}", "outcome": outcome},
        )
        or 0.0
        for name in CONSUMERS
    )


def archived(sql: Callable[..., list[dict[str, Any]]]) -> int:
    return int(sql("SELECT count(*) AS n FROM events")[0]["n"])


def applied(sql: Callable[..., list[dict[str, Any]]], count: int) -> bool:
    return archived(sql) >= count


def checksums(sql: Callable[..., list[dict[str, Any]]]) -> dict[str, str | None]:
    return {
        table: sql(
            f"SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) AS sum FROM {table} t"  # noqa: S608
        )[0]["sum"]
        for table in TABLES
    }


def publish_in_order(
    publisher: Any, sql: Callable[..., Any], events: list[tuple[str, Any]]
) -> None:
    """One at a time, each applied before the next: as they happened, received first."""
    for count, (source, event) in enumerate(events, start=1):
        publisher.publish(source, event)
        eventually(partial(applied, sql, count), f"event {count} ({event['type']}) applied")


def rebuild(database_url: str) -> int:
    """`python -m reporting.rebuild`, as an operator runs it; how many events it applied."""
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "reporting.rebuild",
            "--database-url",
            database_url,
            "--calendar-file",
            "deploy/calendar.json",
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": PYTHONPATH, "PSYCOPG_WAIT_FUNC": "wait_select"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    found = re.match(r"rebuilt reporting from (\d+) archived events in [\d.]+ s$", run.stdout)
    assert found, run.stdout
    return int(found[1])


def times(value: Any) -> Any:
    """The report with every `*_at` string read as an instant (offsets differ, instants not)."""
    if isinstance(value, dict):
        return {
            k: datetime.fromisoformat(v) if k.endswith("_at") and isinstance(v, str) else times(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [times(v) for v in value]
    return value


def file_rows(report: dict[str, Any]) -> list[list[Any]]:
    """What each field's row and the total row must hold, rates in percent."""

    def cells(row: dict[str, Any]) -> list[Any]:
        return [
            round(row[key] * 100, 2) if key == "on_time_rate" else row[key]
            for _, key in FILE_COLUMNS
        ]

    return [
        [1, "Chứng thực", *cells(report["by_field"][0])],
        [2, "Hộ tịch", *cells(report["by_field"][1])],
        [None, "Tổng cộng", *cells(report["totals"])],
    ]


def number(text: str) -> Any:
    if text == "":
        return None
    value = float(text)
    return int(value) if value.is_integer() and "." not in text else value


# --- tests -------------------------------------------------------------------------------------


def test_the_script_keeps_to_the_event_contract():
    """Every scripted event is valid against docs/events/asyncapi.yaml: the month is realistic."""
    from jsonschema import Draft7Validator, FormatChecker
    from referencing import Registry
    from referencing.jsonschema import DRAFT7

    doc = yaml.safe_load(script.ASYNCAPI.read_text(encoding="utf-8"))
    registry = Registry().with_resource("urn:spec", DRAFT7.create_resource(doc))
    by_type = {m["name"]: key for key, m in doc["components"]["messages"].items()}
    for _, event in script.june().in_order():
        schema = {"$ref": f"urn:spec#/components/messages/{by_type[event['type']]}/payload"}
        validator = Draft7Validator(schema, registry=registry, format_checker=FormatChecker())
        problems = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(event)]
        assert problems == [], (event["type"], event["subject"], problems)


def test_a_scripted_month_is_counted_exactly_and_rebuilt_identically(
    make_reporting,
    publisher,
    reporting_sql,
    reporting_database_fresh,
    make_token,
    work_calendar,
):
    """The counts, rates, index and late list of a known month; redelivery and rebuild change
    nothing; the XLSX and CSV files hold the same numbers."""
    reporting = make_reporting()
    supervisor = make_token("supervisor", unit=UNIT)
    month = script.june()
    events = month.in_order()

    def get(path: str) -> Any:
        reply = reporting.get(path, token=supervisor)
        assert reply.status_code == 200, reply.text
        return reply.json()

    unsettled = consumed("retried"), consumed("dead_lettered")
    publish_in_order(publisher, reporting_sql, events)
    assert archived(reporting_sql) == len(events) == 71
    assert (consumed("retried"), consumed("dead_lettered")) == unsettled  # none out of order

    # The hand-computed processing days are the calendar's (see the module docstring).
    def days(first: str, last: str) -> float:
        return work_calendar.working_days_between(vn(first), vn(last))

    assert days("2025-05-28 09:00", "2025-06-02 08:00") == 2.875  # H
    assert days("2025-06-02 09:00", "2025-06-04 10:00") == 2.125  # A
    assert days("2025-06-03 09:00", "2025-06-06 08:30") == 2.9375  # B
    assert days("2025-06-04 09:00", "2025-06-10 15:00") == 4.5  # C
    assert days("2025-06-09 09:00", "2025-06-10 14:30") - 0.875 == 0.5625  # E, less its pause
    assert days("2025-06-09 10:00", "2025-06-10 09:00") == 0.875  # E's pause, as intake says
    facts = {
        row["code"]: row["processing_working_days"]
        for row in reporting_sql("SELECT code, processing_working_days FROM dossiers")
    }
    d = month.dossiers
    assert {letter: facts[d[letter].code] for letter in "HABCEDFGIKLJ"} == {
        "H": 2.875,
        "A": 2.125,
        "B": 2.9375,
        "C": 4.5,
        "E": 0.5625,
        "D": None,
        "F": None,
        "G": None,
        "I": None,
        "K": 1.125,  # 26/5 09:00 -> 27/5 10:00: 6 + 3 = 9 h
        "L": 2.125,  # 30/6 09:00 -> 2/7 10:00: 6 + 8 + 3 = 17 h
        "J": 1.375,  # 1/7 06:30 (07:00) -> 2/7 10:00: 8 + 3 = 11 h
    }

    statistics = get(f"/reports/statistics?{JUNE}")
    assert statistics == STATISTICS

    satisfaction = get(f"/reports/satisfaction?{JUNE}")
    assert satisfaction == SATISFACTION

    index = get(f"/reports/indices?{JUNE}")
    assert [
        (m["key"], m["group"], m["ratio"], m["target"], m["max_points"], m["score"])
        for m in index["measures"]
    ] == MEASURES
    assert index["score"] == 48.84
    assert index["max_points"] == 71
    assert index["measures"][3]["name"]["vi"] == "Tỷ lệ hồ sơ thanh toán trực tuyến"

    late = get("/reports/late")
    as_of = datetime.fromisoformat(late["as_of"])
    assert late["filters"] == {}
    assert times(late["dossiers"]) == [
        {
            "code": d["D"].code,
            "unit": UNIT,
            "procedure": {"code": "2.000986", "name": script.HO_TICH["name"]["vi"]},
            "field": "ho-tich",
            "status": "received",
            "received_at": vn("2025-06-05 09:00"),
            "due_at": vn("2025-06-10 09:00"),
            "state": "overdue",
            "overdue_working_days": round(
                work_calendar.working_days_between(vn("2025-06-10 09:00"), as_of), 2
            ),
            "risk": 0.83,
            "held_by": [
                {
                    "agency": POLICE,
                    "step_id": f"{d['D'].code}/2.1",
                    "task": "Đăng ký thường trú cho trẻ",
                    "due_at": vn("2025-06-10 10:00"),
                    "at_risk": 0.83,
                    "status": "accepted",
                }
            ],
        }
    ]
    assert get(f"/reports/late?agency={POLICE}")["dossiers"][0]["code"] == d["D"].code
    assert get(f"/reports/late?agency={UNIT}")["dossiers"] == []

    # G's step was closed by route.cancelled; D's police step is the only one open.
    assert get(f"/reports/dashboard?{JUNE}")["open_by_agency"] == [
        {"agency": POLICE, "open": 1, "overdue": 1}
    ]
    assert [
        tuple(row.values())
        for row in reporting_sql(
            "SELECT day, channel, message, outcome, n FROM daily_notifications"
            " ORDER BY day, channel, message, outcome"
        )
    ] == NOTIFICATIONS

    # A field filter gives that field's row as the totals.
    filtered = get(f"/reports/statistics?{JUNE}&field=chung-thuc")
    assert filtered["filters"] == {"field": "chung-thuc"}
    assert filtered["totals"] == CHUNG_THUC
    assert filtered["by_field"] == [{"field": "chung-thuc", **CHUNG_THUC}]

    # --- the same events again, twice: the archive (reporting's inbox) skips them ----------
    before = checksums(reporting_sql)
    assert all(before.values())
    handled = consumed("handled")
    for round_ in (1, 2):
        duplicates = consumed("duplicate")
        for source, event in events:
            publisher.publish(source, event)
        eventually(
            lambda d=duplicates: consumed("duplicate") >= d + len(events),
            f"every redelivery skipped (round {round_})",
        )
    assert consumed("handled") == handled
    assert reporting_sql("SELECT count(*) AS n FROM inbox_events") == [{"n": 0}]  # archive enough
    assert (consumed("retried"), consumed("dead_lettered")) == unsettled
    assert archived(reporting_sql) == len(events)
    assert checksums(reporting_sql) == before
    assert get(f"/reports/statistics?{JUNE}") == STATISTICS
    assert get(f"/reports/satisfaction?{JUNE}") == SATISFACTION
    assert get(f"/reports/indices?{JUNE}") == index

    # --- a rebuild from the archive, as an operator runs it --------------------------------
    reporting.container.stop()
    reporting_sql(f"TRUNCATE {', '.join(TABLES)}")
    assert checksums(reporting_sql) != before
    assert rebuild(reporting_database_fresh) == len(events)
    assert checksums(reporting_sql) == before

    reporting = make_reporting()
    assert get(f"/reports/statistics?{JUNE}") == STATISTICS
    assert get(f"/reports/satisfaction?{JUNE}") == SATISFACTION
    assert get(f"/reports/indices?{JUNE}") == index
    assert [row["code"] for row in get("/reports/late")["dossiers"]] == [d["D"].code]

    # --- the files a clerk downloads --------------------------------------------------------
    expected_rows = file_rows(STATISTICS)
    headers = ["STT", "Lĩnh vực", *(header for header, _ in FILE_COLUMNS)]

    reply = reporting.get(f"/reports/statistics.xlsx?{JUNE}", token=supervisor)
    assert reply.status_code == 200, reply.text
    assert reply.headers["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert 'filename="thong-ke-2025-06-01-2025-06-30.xlsx"' in reply.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(reply.content)).active
    assert sheet.title == "Tình hình giải quyết"
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0][0] == "BÁO CÁO TÌNH HÌNH GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH"
    assert rows[1][0] == (
        "Đơn vị: Ủy ban nhân dân xã thử nghiệm (000.00.99.H38)"
        "    Kỳ báo cáo: từ 2025-06-01 đến 2025-06-30"
    )
    assert rows[3] == headers
    assert [[None if c == "" else c for c in row] for row in rows[4:]] == expected_rows

    reply = reporting.get(f"/reports/statistics.csv?{JUNE}", token=supervisor)
    assert reply.status_code == 200, reply.text
    assert reply.headers["Content-Type"] == "text/csv; charset=utf-8"
    table = list(csv.reader(io.StringIO(reply.content.decode("utf-8-sig"))))
    assert table[0] == headers
    assert [
        [number(row[0]), row[1], *(number(cell) for cell in row[2:])] for row in table[1:]
    ] == expected_rows


def test_reports_are_for_supervisors_and_check_the_period(reporting, make_token):
    """401 without a token, 403 for a reception officer, 400 for a period that ends before it
    starts; on every report."""
    supervisor, reception = make_token("supervisor"), make_token("reception")
    for path in (
        "/reports/statistics",
        "/reports/statistics.csv",
        "/reports/statistics.xlsx",
        "/reports/late",
        "/reports/satisfaction",
        "/reports/indices",
        "/reports/dashboard",
    ):
        reply = reporting.get(path)
        assert reply.status_code == 401, (path, reply.text)
        assert reply.json()["error"] == "unauthenticated"
        reply = reporting.get(path, token=reception)
        assert reply.status_code == 403, (path, reply.text)
        assert reply.json()["error"] == "forbidden"
        reply = reporting.get(f"{path}?from=2025-06-30&to=2025-06-01", token=supervisor)
        assert reply.status_code == 400, (path, reply.text)
        assert reply.json() == {
            "error": "validation_failed",
            "message": "Dữ liệu không hợp lệ",
            "problems": [
                {
                    "field": "from",
                    "code": "period",
                    "message": "Ngày bắt đầu phải trước ngày kết thúc",
                }
            ],
        }


def test_one_dossiers_events_handled_at_once_give_the_same_facts(
    make_reporting, publisher, reporting_sql, reporting_database_fresh
):
    """Supplement and result of a dossier handled concurrently (as when catching up after a
    stop), in whatever order: the pause still comes off the processing time, the appointment is
    the last one, and a rebuild from the archive gives the same tables."""
    make_reporting()
    month = script.Script()
    due = vn("2025-06-10 16:00")
    for n in range(1, 31):
        month.received(
            f"X{n}",
            script.code("2025-06-09", n),
            script.CHUNG_THUC,
            "online",
            vn("2025-06-09 09:00"),
            vn("2025-06-09 17:00"),
        )
    for source, event in month.events:
        publisher.publish(source, event)
    eventually(lambda: archived(reporting_sql) == 30, "30 dossiers received")
    for n in range(1, 31):
        month.transition(
            "dossier.supplement_requested",
            f"X{n}",
            vn("2025-06-09 10:00"),
            status="awaiting_supplement",
            reason="Thiếu bản chính để đối chiếu",
        )
        month.transition(
            "dossier.supplemented",
            f"X{n}",
            vn("2025-06-10 09:00"),
            due,
            status="received",
            paused_working_days=0.875,
        )
        month.result(f"X{n}", vn("2025-06-10 14:30"), "on_time", electronic=True, due_at=due)
    for source, event in month.events[30:]:
        publisher.publish(source, event)
    eventually(lambda: archived(reporting_sql) == 120, "120 events applied", timeout=30)

    # 9/6 09:00 -> 10/6 14:30: 6 h + 5.5 h = 1.4375 working days, less 0.875 paused = 0.5625.
    assert reporting_sql(
        "SELECT processing_working_days AS days, due_at, status, count(*) AS n FROM dossiers"
        " GROUP BY 1, 2, 3"
    ) == [{"days": 0.5625, "due_at": due, "status": "result_ready", "n": 30}]
    assert reporting_sql(
        "SELECT day, sum(processing_days) AS days, sum(completed_on_time) AS on_time"
        " FROM daily_dossiers WHERE completed_on_time > 0 GROUP BY day"
    ) == [{"day": date(2025, 6, 10), "days": 16.875, "on_time": 30}]
    before = checksums(reporting_sql)
    assert rebuild(reporting_database_fresh) == 120
    assert checksums(reporting_sql) == before
