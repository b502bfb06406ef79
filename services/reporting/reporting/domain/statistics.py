"""Assembling reports from counted rows: totals, rates, distributions. Pure."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

COUNTED = (
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
)
LEVELS = ("very_satisfied", "satisfied", "dissatisfied")


def statistics(
    daily: Iterable[dict[str, Any]], still_open: Iterable[dict[str, Any]]
) -> dict[str, Any]:
    """The standard statistics per field and in total (docs/reporting.md defines each count)."""
    fields: dict[str, dict[str, float]] = defaultdict(
        lambda: dict.fromkeys((*COUNTED, "processing_days"), 0)
    )
    for row in daily:
        target = fields[row["field"]]
        for key in (*COUNTED, "processing_days"):
            if key in row:
                target[key] += float(row[key] or 0)
    for row in still_open:
        target = fields[row["field"]]
        for key in ("in_progress", "awaiting_supplement", "in_progress_overdue"):
            target[key] += float(row[key] or 0)
    by_field = [{"field": name, **_derive(counts)} for name, counts in sorted(fields.items())]
    total: dict[str, float] = dict.fromkeys((*COUNTED, "processing_days"), 0)
    for counts in fields.values():
        for key, value in counts.items():
            total[key] += value
    return {"totals": _derive(total), "by_field": by_field}


def _derive(counts: dict[str, float]) -> dict[str, Any]:
    out: dict[str, Any] = {key: int(counts[key]) for key in COUNTED}
    completed = out["completed_early"] + out["completed_on_time"] + out["completed_late"]
    out["total"] = out["carried_over"] + out["received"]
    out["completed"] = completed
    out["in_progress_on_time"] = (
        out["in_progress"] - out["awaiting_supplement"] - out["in_progress_overdue"]
    )
    out["on_time_rate"] = _rate(out["completed_early"] + out["completed_on_time"], completed)
    out["average_processing_days"] = (
        round(counts["processing_days"] / completed, 2) if completed else None
    )
    return out


def agency_rates(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per agency: steps completed early, on time, late, and the on-time rate."""
    result = []
    for row in rows:
        early, on_time, late = (int(row[k] or 0) for k in ("early", "on_time", "late"))
        completed = early + on_time + late
        result.append(
            {
                "agency": row["agency"],
                "completed": completed,
                "early": early,
                "on_time": on_time,
                "late": late,
                "on_time_rate": _rate(early + on_time, completed),
            }
        )
    return result


def satisfaction(
    counts: Iterable[dict[str, Any]], evaluations: int, criteria: Iterable[str]
) -> dict[str, Any]:
    """Distribution of ratings per criterion, overall, per unit and per agency, from counted
    answers (`scope` all | unit | agency, `key`, `criterion`, `level`, `n`). Unknown criteria and
    levels are left out."""
    names = tuple(criteria)
    total = _empty(names)
    per: dict[str, dict[str, dict[str, dict[str, int]]]] = {
        "unit": defaultdict(lambda: _empty(names)),
        "agency": defaultdict(lambda: _empty(names)),
    }
    for row in counts:
        criterion, level = row["criterion"], row["level"]
        if criterion not in names or level not in LEVELS:
            continue
        target = total if row["scope"] == "all" else per[row["scope"]][row["key"]]
        target[criterion][level] += int(row["n"])
    return {
        "evaluations": evaluations,
        "criteria": _with_rates(total),
        "satisfied_rate": _satisfied_rate(total["overall"]) if "overall" in total else None,
        "by_unit": [
            {"unit": unit, "criteria": _with_rates(d), "satisfied_rate": _overall_rate(d)}
            for unit, d in sorted(per["unit"].items())
        ],
        "by_agency": [
            {"agency": a, "criteria": _with_rates(d), "satisfied_rate": _overall_rate(d)}
            for a, d in sorted(per["agency"].items())
        ],
    }


def overall(counts: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The overall rating's distribution from per-level counts (`level`, `n`)."""
    levels = dict.fromkeys(LEVELS, 0)
    for row in counts:
        if row["level"] in levels:
            levels[row["level"]] += int(row["n"])
    return {**levels, "answers": sum(levels.values()), "satisfied_rate": _satisfied_rate(levels)}


def _overall_rate(dist: dict[str, dict[str, int]]) -> float | None:
    return _satisfied_rate(dist["overall"]) if "overall" in dist else None


def _empty(names: tuple[str, ...]) -> dict[str, dict[str, int]]:
    return {name: dict.fromkeys(LEVELS, 0) for name in names}


def _with_rates(dist: dict[str, dict[str, int]]) -> dict[str, Any]:
    return {
        name: {**levels, "answers": sum(levels.values()), "satisfied_rate": _satisfied_rate(levels)}
        for name, levels in dist.items()
    }


def _satisfied_rate(levels: dict[str, int]) -> float | None:
    answers = sum(levels.values())
    return _rate(levels["very_satisfied"] + levels["satisfied"], answers)


def weekly_on_time(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Dossiers finished per ISO week (Monday first) and the on-time rate of each week."""
    weeks: dict[date, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for row in rows:
        day: date = row["day"]
        monday = day - timedelta(days=day.weekday())
        for i, key in enumerate(("early", "on_time", "late", "received")):
            weeks[monday][i] += int(row[key] or 0)
    return [
        {
            "week": monday.isoformat(),
            "received": received,
            "completed": early + on_time + late,
            "on_time_rate": _rate(early + on_time, early + on_time + late),
        }
        for monday, (early, on_time, late, received) in sorted(weeks.items())
    ]


def _rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 4)
