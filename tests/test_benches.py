"""`make bench` keeps working: each benchmark, run small, finishes its checks and writes its figures.

Benchmarks measure and tests do not time things: these runs only show that every part of each bench
still runs to the end against the real services, broker and database, and that what it writes is
complete. The figures of a run this small mean nothing.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.integration


def run_bench(script: str, *args: str, timeout: float = 600) -> dict[str, Any]:
    done = subprocess.run(  # noqa: S603  (our interpreter, our script)
        [sys.executable, str(REPO / "bench" / script), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    found = re.search(r"results\s+(\S+\.json)", done.stdout)
    assert found, output[-4000:]
    path = Path(found.group(1))
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    finally:
        path.unlink()


def test_platform_bench_closed_loop_open_loop_and_the_baselines() -> None:
    result = run_bench(
        "platform_bench.py",
        *("--submissions", "40", "--concurrency", "10", "--warmup", "5"),
        *("--rates", "5", "--rate-seconds", "4"),
        *("--baseline-n", "200", "--equal-work-n", "40"),
    )
    assert result["checks"]["ok"]
    assert result["checks"]["replies_201"] == 40
    assert result["checks"]["missing"] == {
        "task_assigned": 0,
        "receipt_sent": 0,
        "reported": 0,
        "reported_row": 0,
    }
    assert result["end_to_end"]["dossiers"] == 40
    # From the broker's counters: what one birth bundle took, which the equal-work baseline does;
    # from PostgreSQL's, the rows it wrote in the four databases, which equal writes adds.
    work = result["work_per_dossier"]
    plan = work["baseline"]
    assert {k: plan[k] for k in ("confirmed_publishes", "consumed_acked", "writes")} == {
        "confirmed_publishes": 5,
        "consumed_acked": 9,
        "writes": 10,
    }
    assert set(work["rows_written"]) == {"intake", "routing", "notification", "reporting"}
    assert all(rows >= 2 for rows in work["rows_written"].values()), work["rows_written"]
    assert abs(plan["rows"] - sum(work["rows_written"].values())) <= 1, work
    [phase] = result["open_loop"]
    assert phase["offered_per_s"] == 5 and phase["checks"]["ok"]
    assert result["baseline_minimal"]["ok"] and result["baseline_minimal"]["completed"] >= 200
    assert result["baseline_equal_work"]["ok"] and result["baseline_equal_work"]["completed"] >= 40
    assert result["ratio"]["end_to_end_equal_work"] > 0
    writes = result["baseline_equal_writes"]
    assert writes["ok"] and writes["completed"] >= 40
    assert writes["per_dossier"]["rows"] == plan["rows"] and writes["per_dossier"]["writes"] == 10
    assert result["ratio"]["end_to_end_equal_writes"] > 0


def test_floor_bench_runs_every_phase() -> None:
    result = run_bench(
        "floor_bench.py",
        *("--n", "300", "--warmup", "20", "--http-threads", "10"),
        *("--http-seconds", "2", "--http-warmup", "1", "--idle-seconds", "1"),
    )
    assert sorted(result["phases"]) == ["a", "b", "c", "d", "e"]
    assert all(phase["checks"]["ok"] for phase in result["phases"].values())
    assert result["composite"]


def test_intake_bench_runs_with_its_baseline() -> None:
    result = run_bench("intake_bench.py", "--n", "60", "--concurrency", "10", "--warmup", "5")
    assert result["checks"]["ok"]


def test_reporting_bench_runs_on_a_small_year() -> None:
    result = run_bench("reporting_bench.py", "--dossiers", "3000", "--runs", "1")
    assert result["reports"]


def test_token_bench_verifies_both_algorithms() -> None:
    result = run_bench("token_bench.py", "--tokens", "50")
    for alg in ("RS256", "ES256"):
        figures = result["verification"][alg]
        assert figures["tokens"] == 50
        assert figures["cpu_us_per_verification"] > 0
