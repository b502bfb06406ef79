"""What every benchmark here does the same way: start on a quiet machine, leave nothing behind,
keep its figures in bench/results/."""

from __future__ import annotations

import json
import os
import platform
import signal
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


class BenchFailed(Exception):
    """A check failed: the figures would not mean what they say."""


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, all cores together."""
    with open("/proc/stat", encoding="utf-8") as handle:
        ticks = [int(x) for x in handle.readline().split()[1:]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    hz = os.sysconf("SC_CLK_TCK")
    return (sum(ticks) - idle) / hz, sum(ticks) / hz


def machine() -> dict[str, Any]:
    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory_kb = 0
    with open("/proc/meminfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("MemTotal:"):
                memory_kb = int(line.split()[1])
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu,
        "memory_gib": round(memory_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
        # Other work on the machine (tests of other sessions, say) moves the figures.
        "loadavg_at_start": os.getloadavg()[0],
    }


def process_cpu() -> dict[int, tuple[str, float]]:
    """{pid: (command name, CPU seconds so far)} of every process of the machine."""
    found = {}
    hz = os.sysconf("SC_CLK_TCK")
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="utf-8") as handle:
                raw = handle.read()
        except OSError:
            continue  # gone already
        fields = raw.rsplit(")", 1)[1].split()
        comm = raw[raw.find("(") + 1 : raw.rfind(")")]
        found[int(entry.name)] = (comm, (int(fields[11]) + int(fields[12])) / hz)
    return found


def busy_before_start() -> float:
    """The machine's busy share over one second, with a note when something else is running."""
    busy_before, total_before = machine_busy_seconds()
    time.sleep(1)
    busy_after, total_after = machine_busy_seconds()
    busy = (busy_after - busy_before) / max(1e-9, total_after - total_before)
    if busy > 0.25:
        print(
            f"note: {busy:.0%} of the CPU is busy before the bench starts: something else "
            "is running here, the figures will be lower than on a quiet machine",
            flush=True,
        )
    return busy


def measure_leaving_nothing(
    measure: Callable[[Any, ExitStack], dict[str, Any]],
    args: Any,
    made: str,
    failures: tuple[type[BaseException], ...] = (BenchFailed,),
) -> dict[str, Any] | int:
    """`measure(args, resources)`, whose processes, databases and vhosts (`made`, for the message)
    are removed through `resources` also on Ctrl-C, SIGTERM or a failed check. Returns the
    figures, or the exit status when there are none (130 interrupted, 1 failed)."""

    def on_term(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    resources = ExitStack()
    try:
        return measure(args, resources)
    except KeyboardInterrupt:
        message, status = f"\ninterrupted: {made} removed", 130
    except failures as exc:
        message, status = f"bench failed: {exc}", 1
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):  # a second Ctrl-C must not stop clean-up
            signal.signal(signum, signal.SIG_IGN)
        resources.close()
    print(message, file=sys.stderr)
    return status


def write_results(kind: str, started_at: datetime, result: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{kind}-{started_at:%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return out
