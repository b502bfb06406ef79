"""Benchmark of reporting's reads: a year's summary, the 766 indices, satisfaction, the late list
and the dashboard, over a year of 1,000,000 dossiers.

    make bench                                             # intake's bench, then this one
    make bench BENCH_DOSSIERS=100000
    .venv/bin/python bench/reporting_bench.py --dossiers 100000
    .venv/bin/python bench/reporting_bench.py --explain    # + EXPLAIN ANALYZE of the year summary
    .venv/bin/python bench/reporting_bench.py --keep       # leave the database for a look

It makes a throw-away database (motcua_bench_reporting_<random>, the kit's and reporting's
migrations), generates a calendar year of dossiers (the last full year unless --year) with SQL,
straight into the tables the projection fills — `dossiers`, `steps`, `evaluations` — and into the
aggregates `daily_dossiers` and `daily_steps` as the projection would have counted them (derived
from the generated rows, so the two agree), then VACUUM ANALYZE. The archive (`events`) stays
empty: no report reads it.

Then it calls the real report code (reporting.workflow.reports over a motcua_kit.db.UnitOfWork on
a psycopg_pool.ConnectionPool, the WorkCalendar of deploy/calendar.json) "at" 17:00 on the year's
last working day, and encodes each report as the service's json_response does: each one once to
warm up, then --runs times; median and max are printed and written, with the machine and the
generation's figures, to bench/results/reporting-<timestamp>.json. It checks the year summary
against counts taken straight from the facts. The database is dropped at the end, also on Ctrl-C
or an error, unless --keep. Only 127.0.0.1 is contacted. See docs/performance.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics as stats
import sys
import time
import uuid
import warnings
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
for path in (REPO / "kit", REPO / "services" / "reporting"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

# motcua_kit.db imports eventlet, which warns that it is deprecated; nothing here runs on it.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import psycopg  # noqa: E402
from common import BenchFailed, measure_leaving_nothing, write_results  # noqa: E402
from common import machine as host_machine  # noqa: E402
from motcua_kit.db import UnitOfWork  # noqa: E402
from motcua_kit.migrate import migrate_service  # noqa: E402
from motcua_kit.workcal import WorkCalendar  # noqa: E402
from psycopg import sql  # noqa: E402
from psycopg_pool import ConnectionPool  # noqa: E402
from reporting.domain.facts import VN  # noqa: E402
from reporting.workflow import reports  # noqa: E402

PG_URL = os.environ.get("PG_URL", "postgresql://postgres@127.0.0.1:5432")
MIGRATIONS = REPO / "services" / "reporting" / "migrations"
CALENDAR = REPO / "deploy" / "calendar.json"
RISK = 0.7  # REPORT_RISK_THRESHOLD's default (config.yml)
LATE_LIMIT = 500  # late_report's default

# --- the data's shape ----------------------------------------------------------------------------

# 20 receiving units (one-stop desks), the busiest first: weight 1 / (1 + k/4).
UNITS = tuple(f"000.00.{k + 1:02d}.H38" for k in range(20))
UNIT_WEIGHTS = tuple(1 / (1 + k / 4) for k in range(20))
# 7 agencies that hold steps: justice, police, social insurance, environment, land registry,
# tax, economy and infrastructure offices of a district.
AGENCIES = tuple(f"000.20.{31 + k}.H38" for k in range(7))
FIELDS = (
    ("ho-tich", "Hộ tịch", "Civil status"),
    ("chung-thuc", "Chứng thực", "Certification"),
    ("dat-dai", "Đất đai", "Land"),
    ("ho-kinh-doanh", "Thành lập và hoạt động của hộ kinh doanh", "Household businesses"),
    ("xay-dung", "Hoạt động xây dựng", "Construction"),
)
# code, name, field, processing working days, weight, route: one (agency index, task) per stage.
# Codes and names in the style of the national catalogue (not checked against it).
# fmt: off
PROCEDURES: tuple[tuple[str, str, str, int, int, tuple[tuple[int, str], ...]], ...] = (
    ("2.000986", "Liên thông đăng ký khai sinh, đăng ký thường trú, cấp thẻ bảo hiểm y tế cho trẻ em dưới 6 tuổi", "ho-tich", 3, 10,
     ((0, "Đăng ký khai sinh"), (1, "Đăng ký thường trú"), (2, "Cấp thẻ bảo hiểm y tế"))),
    ("1.001193", "Đăng ký khai sinh", "ho-tich", 1, 10,
     ((0, "Thẩm định hồ sơ"), (0, "Ký cấp Giấy khai sinh"))),
    ("1.000894", "Đăng ký kết hôn", "ho-tich", 3, 5,
     ((0, "Thẩm định hồ sơ"), (0, "Ký cấp Giấy chứng nhận kết hôn"))),
    ("1.000419", "Đăng ký khai tử", "ho-tich", 1, 3,
     ((0, "Đăng ký khai tử"), (1, "Xóa đăng ký thường trú"), (2, "Giải quyết chế độ tử tuất"))),
    ("2.000635", "Cấp bản sao trích lục hộ tịch", "ho-tich", 1, 4,
     ((0, "Tra cứu sổ hộ tịch"), (0, "Ký cấp bản sao trích lục"))),
    ("2.000815", "Chứng thực bản sao từ bản chính giấy tờ, văn bản", "chung-thuc", 1, 12,
     ((0, "Đối chiếu bản chính"), (0, "Ký chứng thực"))),
    ("2.000884", "Chứng thực chữ ký trong các giấy tờ, văn bản", "chung-thuc", 1, 6,
     ((0, "Kiểm tra giấy tờ"), (0, "Ký chứng thực"))),
    ("2.001035", "Chứng thực hợp đồng, giao dịch liên quan đến tài sản là động sản", "chung-thuc", 2, 3,
     ((0, "Thẩm định hợp đồng"), (5, "Xác nhận nghĩa vụ thuế"), (0, "Ký chứng thực"))),
    ("1.004227", "Đăng ký biến động quyền sử dụng đất do chuyển nhượng", "dat-dai", 10, 8,
     ((4, "Thẩm định hồ sơ"), (5, "Xác định nghĩa vụ tài chính"), (3, "Trình ký"), (4, "Cập nhật hồ sơ địa chính"))),
    ("1.003003", "Cấp Giấy chứng nhận quyền sử dụng đất lần đầu", "dat-dai", 30, 2,
     ((3, "Kiểm tra hiện trạng"), (4, "Trích đo địa chính"), (5, "Xác định nghĩa vụ tài chính"), (3, "Trình ký cấp Giấy chứng nhận"))),
    ("1.004203", "Đăng ký thế chấp quyền sử dụng đất", "dat-dai", 3, 4,
     ((4, "Thẩm định hồ sơ"), (4, "Ghi nội dung đăng ký"))),
    ("2.000720", "Đăng ký thành lập hộ kinh doanh", "ho-kinh-doanh", 3, 4,
     ((6, "Thẩm định hồ sơ"), (6, "Cấp Giấy chứng nhận đăng ký hộ kinh doanh"), (5, "Cấp mã số thuế"))),
    ("2.000575", "Đăng ký thay đổi nội dung đăng ký hộ kinh doanh", "ho-kinh-doanh", 3, 2,
     ((6, "Thẩm định hồ sơ"), (6, "Cấp lại Giấy chứng nhận"))),
    ("1.009994", "Cấp giấy phép xây dựng nhà ở riêng lẻ", "xay-dung", 15, 3,
     ((6, "Thẩm định hồ sơ"), (3, "Lấy ý kiến về quy hoạch"), (6, "Ký cấp giấy phép"))),
    ("1.009995", "Cấp giấy phép sửa chữa, cải tạo công trình", "xay-dung", 15, 1,
     ((6, "Thẩm định hồ sơ"), (6, "Ký cấp giấy phép"))),
)
# fmt: on
# What happens to a dossier, as shares of all dossiers; the rest finishes with a result. Whether
# it has finished by the report's "now" follows from when it came in and how long it takes.
REFUSED, WITHDRAWN, STUCK = 0.07, 0.045, 0.018
EARLY, ON_TIME = 0.55, 0.32  # of the results; the remaining 0.13 are late
SUPPLEMENTS = 0.08  # asked for more papers, stopping the clock 1–5 working days
ONLINE = 0.45
RETURNED = 0.92  # results handed over (within 3 working days), of the results
EVALUATED = 0.34  # of the results (within 2 working days of the hand-over)
SLOTS = 1000  # weighted choices: an array of SLOTS indexes, one picked at random


def slots(weights: tuple[float, ...]) -> list[int]:
    """SLOTS 1-based indexes, each as often as its weight's share."""
    total = sum(weights)
    cumulative, out = 0.0, list[int]()
    for index, weight in enumerate(weights, start=1):
        cumulative += weight
        out.extend([index] * (round(cumulative / total * SLOTS) - len(out)))
    return out


# --- the machine ---------------------------------------------------------------------------------


def machine(database_url: str) -> dict[str, Any]:
    """The host (common.machine) and the PostgreSQL settings that shape the reports' plans."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        version = conn.execute("SHOW server_version").fetchone()
        settings = {
            name: conn.execute("SELECT current_setting(%s)", (name,)).fetchone()[0]  # type: ignore[index]
            for name in (
                "shared_buffers",
                "work_mem",
                "effective_cache_size",
                "jit",
                "max_parallel_workers_per_gather",
                "random_page_cost",
            )
        }
    return {
        **host_machine(),
        "postgresql": version[0] if version else "unknown",
        "postgresql_settings": settings,
    }


# --- the data --------------------------------------------------------------------------------------


def working_days(calendar: WorkCalendar, year: int) -> tuple[list[date], int]:
    """The year's working days and 120 more of the next year (for appointments); and how many
    belong to the year."""
    days = [
        date(year, 1, 1) + timedelta(days=i)
        for i in range((date(year + 1, 1, 1) - date(year, 1, 1)).days)
        if calendar.is_working_day(date(year, 1, 1) + timedelta(days=i))
    ]
    in_year = len(days)
    day = days[-1]
    while len(days) < in_year + 120:
        day = calendar.next_working_day(day)
        days.append(day)
    return days, in_year


def time_functions(days: list[date]) -> list[str]:
    """pg_temp.day_of(p) and pg_temp.wt(p): a position in working time -> its day and instant.

    p counts working days from the year's first opening: its whole part picks the working day,
    its fraction the office time (07:00–11:30, 13:30–17:00, 8 hours), so that
    WorkCalendar.working_days_between(wt(a), wt(b)) == b - a, as the projection computes it.
    """
    literal = "{" + ",".join(d.isoformat() for d in days) + "}"
    return [
        "CREATE FUNCTION pg_temp.day_of(p double precision) RETURNS date"
        f" LANGUAGE sql IMMUTABLE AS $$ SELECT ('{literal}'::date[])[floor(p)::int + 1] $$",
        "CREATE FUNCTION pg_temp.wt(p double precision) RETURNS timestamptz"
        " LANGUAGE sql IMMUTABLE AS $$ SELECT (pg_temp.day_of(p) + CASE"
        "  WHEN p - floor(p) <= 0.5625 THEN time '07:00' + (p - floor(p)) * interval '8 hours'"
        "  ELSE time '13:30' + (p - floor(p) - 0.5625) * interval '8 hours' END)"
        " AT TIME ZONE 'Asia/Ho_Chi_Minh' $$",
        # A rating: a late dossier is rated lower.
        "CREATE FUNCTION pg_temp.level(x double precision, late boolean) RETURNS text"
        " LANGUAGE sql IMMUTABLE AS $$ SELECT CASE"
        "  WHEN x < CASE WHEN late THEN 0.25 ELSE 0.6 END THEN 'very_satisfied'"
        "  WHEN x < CASE WHEN late THEN 0.7 ELSE 0.94 END THEN 'satisfied'"
        "  ELSE 'dissatisfied' END $$",
    ]


# Random draws, one row per dossier (materialised: each random() once).
DRAWS = """
CREATE TEMP TABLE draws AS
SELECT i,
  (%(unit_slots)s::int[])[1 + floor(random() * %(slots)s)::int] AS u,
  (%(procedure_slots)s::int[])[1 + floor(random() * %(slots)s)::int] AS pr,
  random() < %(online)s AS online,
  random() AS r_return, floor(random() * %(year_days)s) + random() AS p_recv,
  random() AS r_outcome, random() AS r_time, random() AS r_supp, random() AS r_supp_at,
  random() AS r_paused, random() AS r_ret, random() AS r_elec, random() AS r_eval,
  random() AS r_eval_at
FROM generate_series(1, %(n)s) AS i
"""

# Each dossier's story, as positions in working time (see time_functions); p_now is the report's
# "now". `p_route` is when its route would end: its steps share [p_recv, p_route] evenly.
STORIES = """
CREATE TEMP TABLE stories AS
SELECT d.i, d.u, d.pr, d.online, d.p_recv, d.r_elec, d.r_eval, d.r_eval_at,
  p.pdays, p.nsteps, o.plan, s.supp, s.paused, s.p_supp, w.p_end,
  CASE WHEN d.r_return < 0.6 THEN 'desk' WHEN d.r_return < 0.75 THEN 'post' ELSE 'online' END
    AS return_method,
  o.plan <> 'stuck' AND w.p_end <= %(p_now)s AS ended,
  s.supp AND s.p_supp <= %(p_now)s AS s_req,
  s.supp AND s.p_supp + s.paused <= %(p_now)s AS s_done,
  CASE WHEN o.plan IN ('early', 'on_time', 'late') AND w.p_end <= %(p_now)s
       AND d.r_ret < %(returned)s AND w.p_end + d.r_ret * 3.2 <= %(p_now)s
    THEN w.p_end + d.r_ret * 3.2 END AS p_ret,
  CASE o.plan
    WHEN 'stuck' THEN d.p_recv + greatest(2 * p.pdays, (%(p_now)s - d.p_recv) * 1.2 + 0.5)
    WHEN 'refused' THEN d.p_recv + 0.95 * p.pdays
    WHEN 'withdrawn' THEN d.p_recv + 0.95 * p.pdays
    ELSE w.p_end END AS p_route,
  row_number() OVER (PARTITION BY d.u, pg_temp.day_of(d.p_recv) ORDER BY d.p_recv) AS number
FROM draws d
JOIN procs p ON p.i = d.pr
CROSS JOIN LATERAL (SELECT CASE
    WHEN d.r_outcome < %(refused)s THEN 'refused'
    WHEN d.r_outcome < %(refused)s + %(withdrawn)s THEN 'withdrawn'
    WHEN d.r_outcome < %(refused)s + %(withdrawn)s + %(stuck)s THEN 'stuck'
    WHEN d.r_outcome < %(refused)s + %(withdrawn)s + %(stuck)s + %(finishing)s * %(early)s
      THEN 'early'
    WHEN d.r_outcome < %(refused)s + %(withdrawn)s + %(stuck)s
      + %(finishing)s * (%(early)s + %(on_time)s) THEN 'on_time'
    ELSE 'late' END AS plan) o
CROSS JOIN LATERAL (SELECT
    o.plan NOT IN ('refused', 'withdrawn') AND d.r_supp < %(supplements)s AS supp,
    CASE WHEN o.plan NOT IN ('refused', 'withdrawn') AND d.r_supp < %(supplements)s
      THEN 1 + 4 * d.r_paused ELSE 0 END AS paused,
    d.p_recv + 0.3 * p.pdays * d.r_supp_at AS p_supp) s
CROSS JOIN LATERAL (SELECT d.p_recv + s.paused + p.pdays * CASE o.plan
    WHEN 'early' THEN 0.3 + 0.6 * d.r_time
    WHEN 'on_time' THEN 0.9 + 0.1 * d.r_time
    WHEN 'late' THEN 1.05 + 0.5 * d.r_time
    WHEN 'refused' THEN 0.5 * d.r_time
    WHEN 'withdrawn' THEN 0.8 * d.r_time
    ELSE 0 END AS p_end) w
"""

# The facts per dossier as the projection leaves them, in the order they came in.
DOSSIERS = """
CREATE TEMP TABLE facts AS
SELECT t.*, p.code AS procedure_code, p.name AS procedure_name, p.field,
  (%(units)s::text[])[t.u] || '-' || to_char(pg_temp.day_of(t.p_recv), 'YYMMDD') || '-'
    || lpad(t.number::text, 4, '0') AS code,
  (%(units)s::text[])[t.u] AS unit,
  t.p_recv + p.pdays + CASE WHEN t.s_done THEN t.paused ELSE 0 END AS p_due,
  CASE WHEN t.ended THEN CASE WHEN t.plan IN ('refused', 'withdrawn') THEN t.plan ELSE 'completed' END
    END AS outcome,
  CASE
    WHEN t.p_ret IS NOT NULL THEN 'returned'
    WHEN t.ended AND t.plan IN ('refused', 'withdrawn') THEN t.plan
    WHEN t.ended THEN 'result_ready'
    WHEN t.s_req AND NOT t.s_done THEN 'awaiting_supplement'
    WHEN t.s_done THEN 'in_progress'
    ELSE 'received' END AS status,
  CASE
    WHEN t.p_ret IS NOT NULL THEN t.p_ret
    WHEN t.ended THEN t.p_end
    WHEN t.s_req AND NOT t.s_done THEN t.p_supp
    WHEN t.s_done THEN t.p_supp + t.paused
    ELSE t.p_recv END AS p_status,
  CASE WHEN t.ended AND t.plan IN ('early', 'on_time', 'late')
       AND t.r_eval < %(evaluated)s
       AND coalesce(t.p_ret, t.p_end) + 2 * t.r_eval_at <= %(p_now)s
    THEN coalesce(t.p_ret, t.p_end) + 2 * t.r_eval_at END AS p_eval
FROM stories t JOIN procs p ON p.i = t.pr
"""

INSERT_DOSSIERS = """
INSERT INTO dossiers (code, unit, procedure_code, procedure_name, field, channel, return_method,
  received_at, due_at, original_due_at, status, status_at, supplement_requests,
  paused_working_days, rescheduled, ended_at, outcome, timeliness, processing_working_days,
  electronic_result, paid_online, returned_at, evaluated_at)
SELECT code, unit, procedure_code, procedure_name, field,
  CASE WHEN online THEN 'online' ELSE 'desk' END, return_method,
  pg_temp.wt(p_recv), pg_temp.wt(p_due), pg_temp.wt(p_recv + pdays), status, pg_temp.wt(p_status),
  CASE WHEN s_req THEN 1 ELSE 0 END, CASE WHEN s_done THEN paused ELSE 0 END, 0,
  CASE WHEN ended THEN pg_temp.wt(p_end) END, outcome,
  CASE WHEN outcome = 'completed' THEN plan END,
  CASE WHEN outcome = 'completed'
    THEN round((p_end - p_recv - CASE WHEN s_done THEN paused ELSE 0 END)::numeric, 4) END,
  CASE WHEN outcome = 'completed' THEN r_elec < CASE WHEN online THEN 0.75 ELSE 0.4 END END,
  NULL, pg_temp.wt(p_ret), pg_temp.wt(p_eval)
FROM facts ORDER BY p_recv
"""

# As the projection does: the dossier's unit, procedure and field, the agencies that held its
# steps (generated first), and the overall rating copied out of the ratings.
INSERT_EVALUATIONS = """
INSERT INTO evaluations (code, unit, procedure_code, field, agencies, at, overall, ratings)
SELECT code, unit, procedure_code, field,
  coalesce((SELECT array_agg(DISTINCT s.agency ORDER BY s.agency) FROM steps s
            WHERE s.code = r.code), '{}'),
  at, ratings->>'overall', ratings
FROM (
SELECT code, unit, procedure_code, field, pg_temp.wt(p_eval) AS at,
jsonb_strip_nulls(jsonb_build_object(
  'overall', pg_temp.level(random(), plan = 'late'),
  'on_time', CASE WHEN random() < 0.7 THEN pg_temp.level(random(), plan = 'late') END,
  'staff_attitude', CASE WHEN random() < 0.7 THEN pg_temp.level(random(), false) END,
  'convenience', CASE WHEN random() < 0.5 THEN pg_temp.level(random(), false) END,
  'total_time', CASE WHEN random() < 0.4 THEN pg_temp.level(random(), plan = 'late') END,
  'desk_handling', CASE WHEN NOT online AND random() < 0.4 THEN pg_temp.level(random(), false) END,
  'online_service', CASE WHEN online AND random() < 0.5 THEN pg_temp.level(random(), false) END))
  AS ratings
FROM facts WHERE p_eval IS NOT NULL ORDER BY p_eval
) r
"""

# Steps of the route reached by "now" (or by the refusal / withdrawal): completed ones, then the
# one open (assigned, accepted, or awaiting a supplement); a refusal or withdrawal closes the open
# one. A step's due time is its share of the dossier's appointment.
INSERT_STEPS = """
INSERT INTO steps (step_id, code, unit, agency, role, stage, attempt, status, status_at, open,
  assigned_at, due_at, completed_at, timeliness, overdue_at, at_risk, task)
SELECT code || '/' || stage || '.1', code, unit, agency, 'lead', stage, 1,
  CASE WHEN done THEN 'completed' WHEN ended THEN 'closed'
       WHEN status = 'awaiting_supplement' THEN 'awaiting_supplement'
       WHEN r_state < 0.7 THEN 'accepted' ELSE 'assigned' END,
  pg_temp.wt(CASE WHEN done THEN p_c WHEN ended THEN p_end
                  WHEN status = 'awaiting_supplement' THEN greatest(p_a, p_status) ELSE p_a END),
  NOT done AND NOT ended,
  pg_temp.wt(p_a), pg_temp.wt(p_sd), CASE WHEN done THEN pg_temp.wt(p_c) END,
  CASE WHEN NOT done THEN NULL WHEN p_c <= p_sd - 0.125 THEN 'early'
       WHEN p_c <= p_sd THEN 'on_time' ELSE 'late' END,
  CASE WHEN NOT done AND NOT ended AND p_sd < %(p_now)s THEN pg_temp.wt(p_sd) END,
  CASE WHEN NOT done AND NOT ended AND p_sd >= %(p_now)s AND r_risk < 0.2
    THEN round((0.3 + 0.69 * r_risk / 0.2)::numeric, 2) END,
  task
FROM (
  SELECT f.code, f.unit, f.status, f.ended, f.p_end, f.p_status, s AS stage,
    p.agencies[s] AS agency, p.tasks[s] AS task,
    f.p_recv + (f.p_route - f.p_recv) * (s - 1) / f.nsteps AS p_a,
    f.p_recv + (f.p_route - f.p_recv) * s / f.nsteps AS p_c,
    f.p_recv + (f.p_due - f.p_recv) * s / f.nsteps AS p_sd,
    f.p_recv + (f.p_route - f.p_recv) * s / f.nsteps
      <= CASE WHEN f.ended THEN f.p_end ELSE %(p_now)s END AS done,
    CASE WHEN f.ended THEN f.p_end ELSE %(p_now)s END AS p_stop,
    random() AS r_state, random() AS r_risk
  FROM facts f JOIN procs p ON p.i = f.pr CROSS JOIN LATERAL generate_series(1, f.nsteps) AS s
) x
WHERE p_a <= p_stop
ORDER BY p_a
"""

# The aggregates, as projection.count_day / count_step_day add to them event by event.
DAILY_DOSSIERS = """
INSERT INTO daily_dossiers (day, unit, procedure_code, field, channel, received,
  supplement_requested, refused, withdrawn, completed_early, completed_on_time, completed_late,
  processing_days, electronic_results, returned)
SELECT day, unit, procedure_code, field, channel, sum(received), sum(supplement_requested),
  sum(refused), sum(withdrawn), sum(completed_early), sum(completed_on_time),
  sum(completed_late), sum(processing_days), sum(electronic_results), sum(returned)
FROM (
  SELECT d.unit, d.procedure_code, d.field, d.channel, e.*
  FROM dossiers d
  CROSS JOIN LATERAL (VALUES
    ((d.received_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date, 1, 0, 0, 0, 0, 0, 0, 0.0, 0, 0),
    ((d.ended_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date, 0, 0,
      (d.outcome IS NOT DISTINCT FROM 'refused')::int,
      (d.outcome IS NOT DISTINCT FROM 'withdrawn')::int,
      (d.timeliness IS NOT DISTINCT FROM 'early')::int,
      (d.timeliness IS NOT DISTINCT FROM 'on_time')::int,
      (d.timeliness IS NOT DISTINCT FROM 'late')::int,
      coalesce(d.processing_working_days, 0), coalesce(d.electronic_result, false)::int, 0),
    ((d.returned_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date, 0, 0, 0, 0, 0, 0, 0, 0.0, 0, 1)
  ) AS e (day, received, supplement_requested, refused, withdrawn, completed_early,
          completed_on_time, completed_late, processing_days, electronic_results, returned)
  WHERE e.day IS NOT NULL
  UNION ALL
  -- The day a supplement was asked for is in no column of `dossiers`: from the stories.
  SELECT unit, procedure_code, field, CASE WHEN online THEN 'online' ELSE 'desk' END,
    pg_temp.day_of(p_supp), 0, 1, 0, 0, 0, 0, 0, 0.0, 0, 0
  FROM facts WHERE s_req
) counted
GROUP BY day, unit, procedure_code, field, channel
"""

DAILY_STEPS = """
INSERT INTO daily_steps (day, agency, unit, completed_early, completed_on_time, completed_late)
SELECT (completed_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date, agency, unit,
  count(*) FILTER (WHERE timeliness = 'early'), count(*) FILTER (WHERE timeliness = 'on_time'),
  count(*) FILTER (WHERE timeliness = 'late')
FROM steps WHERE status = 'completed'
GROUP BY 1, 2, 3
"""

TABLES = ("dossiers", "steps", "evaluations", "daily_dossiers", "daily_steps", "fields")


def generate(
    database_url: str, n: int, days: list[date], in_year: int, seed: float
) -> dict[str, Any]:
    """Fill the database; returns seconds per phase, row counts, sizes and the outcome mix."""
    timings: dict[str, float] = {}
    finishing = 1 - REFUSED - WITHDRAWN - STUCK
    params = {
        "n": n,
        "slots": SLOTS,
        "unit_slots": slots(UNIT_WEIGHTS),
        "procedure_slots": slots(tuple(float(p[4]) for p in PROCEDURES)),
        "units": list(UNITS),
        "online": ONLINE,
        "year_days": in_year,
        "p_now": float(in_year),
        "refused": REFUSED,
        "withdrawn": WITHDRAWN,
        "stuck": STUCK,
        "finishing": finishing,
        "early": EARLY,
        "on_time": ON_TIME,
        "supplements": SUPPLEMENTS,
        "returned": RETURNED,
        "evaluated": EVALUATED,
    }
    started = time.perf_counter()
    with psycopg.connect(database_url) as conn:
        for setting in (
            "SET temp_buffers = '1GB'",
            "SET work_mem = '256MB'",
            "SET maintenance_work_mem = '512MB'",
            "SET synchronous_commit = off",
        ):
            conn.execute(setting)
        conn.execute("SELECT setseed(%s)", (seed,))
        for statement in time_functions(days):
            conn.execute(statement)
        conn.execute(
            "CREATE TEMP TABLE procs (i int PRIMARY KEY, code text, name text, field text,"
            " pdays int, nsteps int, agencies text[], tasks text[])"
        )
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO procs VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    (
                        i,
                        code,
                        name,
                        field,
                        pdays,
                        len(route),
                        [AGENCIES[a] for a, _ in route],
                        [task for _, task in route],
                    )
                    for i, (code, name, field, pdays, _, route) in enumerate(PROCEDURES, start=1)
                ],
            )
            cur.executemany("INSERT INTO fields VALUES (%s, %s, %s)", FIELDS)

        def phase(name: str, *statements: str) -> None:
            began = time.perf_counter()
            for statement in statements:
                conn.execute(statement, params)
            timings[name] = round(time.perf_counter() - began, 1)
            print(f"  {name:<16} {timings[name]:6.1f} s", flush=True)

        phase("draws", DRAWS, "ANALYZE draws")
        phase("stories", STORIES, DOSSIERS, "ANALYZE facts")
        phase("dossiers", INSERT_DOSSIERS)
        phase("steps", INSERT_STEPS)
        phase("evaluations", INSERT_EVALUATIONS)
        phase("daily_dossiers", DAILY_DOSSIERS)
        phase("daily_steps", DAILY_STEPS)
        conn.commit()
    with psycopg.connect(database_url, autocommit=True) as conn:
        began = time.perf_counter()
        conn.execute(f"VACUUM (ANALYZE) {', '.join(TABLES)}")
        timings["vacuum_analyze"] = round(time.perf_counter() - began, 1)
        print(f"  {'vacuum analyze':<16} {timings['vacuum_analyze']:6.1f} s", flush=True)
    timings["total"] = round(time.perf_counter() - started, 1)
    return {"seconds": timings, **describe(database_url)}


def describe(database_url: str) -> dict[str, Any]:
    """Row counts, sizes and the outcome mix of a generated database."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        counts = {
            table: conn.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
            ).fetchone()[0]  # type: ignore[index]
            for table in TABLES
        }
        sizes = {
            table: round(
                conn.execute("SELECT pg_total_relation_size(%s)", (table,)).fetchone()[0]  # type: ignore[index]
                / 2**20,
                1,
            )
            for table in TABLES
        }
        rows = conn.execute(
            "SELECT coalesce(outcome || coalesce('_' || timeliness, ''), 'open'), count(*)"
            " FROM dossiers GROUP BY 1 ORDER BY 1"
        ).fetchall()
        mix: dict[str, int] = {outcome: n for outcome, n in rows}
        first = conn.execute("SELECT min(received_at) FROM dossiers").fetchone()
    return {
        "year": first[0].astimezone(VN).year if first and first[0] else None,
        "rows": counts,
        "mib": sizes,
        "outcomes": mix,
        "steps_per_dossier": round(counts["steps"] / max(1, counts["dossiers"]), 2),
        "evaluated_share": round(counts["evaluations"] / max(1, counts["dossiers"]), 3),
    }


# --- the reports -----------------------------------------------------------------------------------


class TimedUnitOfWork(UnitOfWork):
    """A UnitOfWork that notes each statement it runs, with its time (for the breakdown)."""

    def __init__(self, pool: ConnectionPool, source: str) -> None:
        super().__init__(pool, source)
        self.statements: list[dict[str, Any]] = []

    def fetchall(self, query: str, params: Any = None) -> list[dict[str, Any]]:
        began = time.perf_counter()
        rows = super().fetchall(query, params)
        self.statements.append(
            {
                "sql": query,
                "params": params,
                "ms": round((time.perf_counter() - began) * 1000, 1),
                "rows": len(rows),
            }
        )
        return rows


Report = Callable[[UnitOfWork], dict[str, Any]]


def report_cases(
    calendar: WorkCalendar, year: int, now: datetime, unit: str, field: str
) -> dict[str, Report]:
    period = reports.Period(date(year, 1, 1), date(year, 12, 31))
    none: dict[str, Any] = {"unit": None, "agency": None, "procedure": None, "field": None}
    by_unit = {**none, "unit": unit}
    by_field = {**none, "field": field}
    return {
        "statistics_year": lambda uow: reports.statistics_report(uow, period, dict(none), now),
        "statistics_year_unit": lambda uow: reports.statistics_report(
            uow, period, dict(by_unit), now
        ),
        "statistics_year_field": lambda uow: reports.statistics_report(
            uow, period, dict(by_field), now
        ),
        "indices_year": lambda uow: reports.indices_report(uow, period, dict(none), now),
        "satisfaction_year": lambda uow: reports.satisfaction_report(uow, period, dict(none)),
        "late": lambda uow: reports.late_report(uow, calendar, dict(none), now, RISK, LATE_LIMIT),
        "dashboard_year": lambda uow: reports.dashboard(uow, period, dict(none), now),
    }


def run_once(pool: ConnectionPool, report: Report) -> tuple[float, str, list[dict[str, Any]]]:
    """One report as the service serves it: a unit of work, the workflow, the JSON body."""
    uow = TimedUnitOfWork(pool, "reporting")
    began = time.perf_counter()
    try:
        body = json.dumps(report(uow), ensure_ascii=False, default=str)
    finally:
        uow.finish(commit=False)
    return (time.perf_counter() - began) * 1000, body, uow.statements


def measure_reports(
    pool: ConnectionPool, cases: dict[str, Report], runs: int
) -> tuple[dict[str, Any], dict[str, str]]:
    figures, bodies = {}, {}
    for name, report in cases.items():
        warmup_ms, body, _ = run_once(pool, report)
        times, breakdown = [], []
        for _ in range(runs):
            ms, body, statements = run_once(pool, report)
            times.append(ms)
            breakdown.append(statements)
        median = stats.median(times)
        # The statements of the run closest to the median, first line of each.
        typical = breakdown[min(range(runs), key=lambda i: abs(times[i] - median))]
        figures[name] = {
            "warmup_ms": round(warmup_ms, 1),
            "runs_ms": [round(t, 1) for t in times],
            "median_ms": round(median, 1),
            "max_ms": round(max(times), 1),
            "bytes": len(body.encode()),
            "sha256": hashlib.sha256(body.encode()).hexdigest(),
            "statements": [
                {"query": " ".join(s["sql"].split())[:90], "ms": s["ms"], "rows": s["rows"]}
                for s in typical
            ],
        }
        bodies[name] = body
        print(
            f"  {name:<22} median {median:8.1f} ms   max {max(times):8.1f} ms   "
            f"(warm-up {warmup_ms:.0f} ms; SQL "
            + ", ".join(f"{s['ms']:.0f}" for s in typical)
            + " ms)",
            flush=True,
        )
    return figures, bodies


def check(database_url: str, bodies: dict[str, str], now: datetime) -> dict[str, Any]:
    """The year summary and the other reports against counts taken straight from the facts."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        facts = conn.execute(
            "SELECT count(*),"
            " count(*) FILTER (WHERE timeliness = 'early'),"
            " count(*) FILTER (WHERE timeliness = 'on_time'),"
            " count(*) FILTER (WHERE timeliness = 'late'),"
            " count(*) FILTER (WHERE outcome = 'refused'),"
            " count(*) FILTER (WHERE outcome = 'withdrawn'),"
            " count(*) FILTER (WHERE ended_at IS NULL),"
            " count(*) FILTER (WHERE ended_at IS NULL AND status = 'awaiting_supplement'),"
            " count(*) FILTER (WHERE ended_at IS NULL AND status <> 'awaiting_supplement'"
            "   AND due_at < %s),"
            " count(*) FILTER (WHERE channel = 'online'),"
            " count(*) FILTER (WHERE electronic_result),"
            " count(*) FILTER (WHERE returned_at IS NOT NULL),"
            " count(*) FILTER (WHERE supplement_requests > 0)"
            " FROM dossiers",
            (now,),
        ).fetchone()
        steps = conn.execute("SELECT count(*) FROM steps WHERE status = 'completed'").fetchone()
        evaluations = conn.execute("SELECT count(*) FROM evaluations").fetchone()
    assert facts is not None and steps is not None and evaluations is not None
    expected = dict(
        zip(
            (
                "received",
                "completed_early",
                "completed_on_time",
                "completed_late",
                "refused",
                "withdrawn",
                "in_progress",
                "awaiting_supplement",
                "in_progress_overdue",
                "received_online",
                "electronic_results",
                "returned",
                "supplement_requested",
            ),
            facts,
            strict=True,
        )
    )
    totals = json.loads(bodies["statistics_year"])["totals"]
    got = {key: totals[key] for key in expected}
    agency_steps = sum(a["completed"] for a in json.loads(bodies["statistics_year"])["by_agency"])
    rated = json.loads(bodies["satisfaction_year"])["evaluations"]
    late = len(json.loads(bodies["late"])["dossiers"])
    ok = got == expected and agency_steps == steps[0] and rated == evaluations[0] and late > 0
    return {
        "ok": ok,
        "year_summary_totals": got,
        "counted_from_facts": expected,
        "steps_completed": {"report": agency_steps, "facts": steps[0]},
        "evaluations": {"report": rated, "facts": evaluations[0]},
        "late_list_length": late,
    }


def explain(pool: ConnectionPool, report: Report) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of each statement the report runs."""
    _, _, statements = run_once(pool, report)
    out = []
    with pool.connection() as conn:
        for s in statements:
            rows = conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + s["sql"], s["params"]).fetchall()
            out.append(" ".join(s["sql"].split()) + "\n" + "\n".join(r[0] for r in rows))
        conn.rollback()
    return "\n\n".join(out)


# --- one run ---------------------------------------------------------------------------------------


def measure(args: argparse.Namespace, stack: ExitStack) -> dict[str, Any]:
    calendar = WorkCalendar.from_file(CALENDAR)
    if args.reuse:
        name = args.reuse
        database_url = f"{PG_URL}/{name}"
        generation = {"seconds": None, **describe(database_url)}
        if generation["year"] is None:
            raise BenchFailed(f"{name} holds no dossiers")
        args.year, args.dossiers = generation["year"], generation["rows"]["dossiers"]
        print(f"reusing {name}: {args.dossiers:,} dossiers received in {args.year}", flush=True)
    else:
        name = f"motcua_bench_reporting_{uuid.uuid4().hex[:10]}"
        database_url = f"{PG_URL}/{name}"
        if args.keep:
            stack.callback(print, f"kept the database: {name} (time it again with --reuse {name})")
        else:
            stack.callback(drop_database, name)
        migrate_service(database_url, "reporting", MIGRATIONS)
    days, in_year = working_days(calendar, args.year)
    # "now": the close of the year's last working day (position in_year in working time).
    now = datetime.combine(days[in_year - 1], clock(17, 0), tzinfo=VN)
    if not args.reuse:
        print(
            f"generating {args.dossiers:,} dossiers received in {args.year} "
            f"({in_year} working days) in {name} ...",
            flush=True,
        )
        generation = generate(database_url, args.dossiers, days, in_year, args.seed)
    print(
        f"  {generation['rows']['dossiers']:,} dossiers, {generation['rows']['steps']:,} steps, "
        f"{generation['rows']['evaluations']:,} evaluations, "
        f"{generation['rows']['daily_dossiers']:,} daily_dossiers rows, "
        f"{generation['rows']['daily_steps']:,} daily_steps rows",
        flush=True,
    )

    pool = ConnectionPool(
        database_url, min_size=1, max_size=2, open=True, kwargs={"autocommit": False}
    )
    stack.callback(pool.close)
    pool.wait(timeout=10)
    with pool.connection() as conn:
        unit_row = conn.execute(
            "SELECT unit FROM dossiers GROUP BY unit ORDER BY count(*) DESC, unit LIMIT 1"
        ).fetchone()
        field_row = conn.execute(
            "SELECT field FROM dossiers GROUP BY field ORDER BY count(*) DESC, field LIMIT 1"
        ).fetchone()
    if unit_row is None or field_row is None:
        raise BenchFailed("no dossiers were generated")
    unit, field = unit_row[0], field_row[0]
    cases = report_cases(calendar, args.year, now, unit, field)
    print(
        f"timing the reports as of {now.isoformat()} (unit filter {unit}, field filter {field}; "
        f"1 warm-up + {args.runs} runs each) ...",
        flush=True,
    )
    figures, bodies = measure_reports(pool, cases, args.runs)
    plans = explain(pool, cases["statistics_year"]) if args.explain else None
    if plans:
        print("\nEXPLAIN (ANALYZE, BUFFERS) of the year summary's statements:\n\n" + plans + "\n")
    return {
        "database": name,
        "as_of": now.isoformat(),
        "filters": {"unit": unit, "field": field},
        "generation": generation,
        "reports": figures,
        "checks": check(database_url, bodies, now),
        **({"explain": plans} if plans else {}),
    }


def drop_database(name: str) -> None:
    with psycopg.connect(f"{PG_URL}/postgres", autocommit=True, connect_timeout=5) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def summary(result: dict[str, Any]) -> str:
    cfg, m, gen, checks = (
        result["config"],
        result["machine"],
        result["generation"],
        result["checks"],
    )
    outcomes = gen["outcomes"]
    n = max(1, gen["rows"]["dossiers"])
    completed = sum(v for k, v in outcomes.items() if k.startswith("completed"))
    lines = [
        f"reporting benchmark ({result['started_at']})",
        f"  machine       {m['nproc']} × {m['cpu_model']}, {m['memory_gib']} GiB, "
        f"PostgreSQL {m['postgresql']} (shared_buffers {m['postgresql_settings']['shared_buffers']}, "
        f"work_mem {m['postgresql_settings']['work_mem']})",
        f"  data          {gen['rows']['dossiers']:,} dossiers received in {cfg['year']}, "
        f"{gen['steps_per_dossier']} steps each, {gen['evaluated_share']:.0%} evaluated; "
        f"completed {completed / n:.1%}, refused {outcomes.get('refused', 0) / n:.1%}, "
        f"withdrawn {outcomes.get('withdrawn', 0) / n:.1%}, open {outcomes.get('open', 0) / n:.1%}",
        (
            f"  generated in  {gen['seconds']['total']:.0f} s"
            if gen["seconds"]
            else f"  reused        {result['database']}"
        )
        + "; sizes MiB "
        + ", ".join(f"{k} {v:,.0f}" for k, v in gen["mib"].items()),
        f"  reports       as of {result['as_of']}, {cfg['runs']} runs after a warm-up:",
    ]
    for name, fig in result["reports"].items():
        lines.append(
            f"    {name:<22} median {fig['median_ms']:8.1f} ms   max {fig['max_ms']:8.1f} ms"
        )
    tick = "OK" if checks["ok"] else "FAILED"
    lines.append(
        f"  correctness   {tick}: year summary totals "
        + ("=" if checks["year_summary_totals"] == checks["counted_from_facts"] else "≠")
        + " counts from the facts; completed steps "
        f"{checks['steps_completed']['report']:,}/{checks['steps_completed']['facts']:,}; "
        f"evaluations {checks['evaluations']['report']:,}/{checks['evaluations']['facts']:,}; "
        f"late list {checks['late_list_length']} dossiers"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--dossiers", type=int, default=1_000_000, help="dossiers (1,000,000)")
    parser.add_argument(
        "--year", type=int, default=datetime.now(UTC).year - 1, help="the year (the last full one)"
    )
    parser.add_argument("--runs", type=int, default=5, help="measured runs per report (5)")
    parser.add_argument("--seed", type=float, default=0.42, help="PostgreSQL setseed (0.42)")
    parser.add_argument("--keep", action="store_true", help="do not drop the database")
    parser.add_argument(
        "--explain", action="store_true", help="print EXPLAIN ANALYZE of the year summary"
    )
    parser.add_argument(
        "--reuse",
        metavar="DATABASE",
        help="time the reports on a database left by --keep: no generation, not dropped",
    )
    args = parser.parse_args(argv)
    if args.reuse and not args.reuse.startswith("motcua_bench_reporting_"):
        parser.error("--reuse takes a database made by this bench (motcua_bench_reporting_*)")
    if args.dossiers < 1000 or args.runs < 1 or not -1 <= args.seed <= 1:
        parser.error("--dossiers at least 1000, --runs at least 1, --seed in [-1, 1]")

    started_at = datetime.now(UTC)
    host = machine(f"{PG_URL}/postgres")
    figures = measure_leaving_nothing(measure, args, "the database was")
    if isinstance(figures, int):
        return figures
    result: dict[str, Any] = {
        "benchmark": "reporting reads",
        "started_at": started_at.isoformat(timespec="seconds"),
        "config": {
            "dossiers": args.dossiers,
            "year": args.year,
            "runs": args.runs,
            "seed": args.seed,
        },
        "machine": {**host, "loadavg_at_end": os.getloadavg()[0]},
        **figures,
    }
    out = write_results("reporting", started_at, result)
    print(summary(result))
    print(f"  results       {out}")
    return 0 if result["checks"]["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
