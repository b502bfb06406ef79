"""Decision 766/QĐ-TTg (2022): the measures of the service index the platform can compute.

Each measure has a raw ratio and a score: points = min(ratio ÷ target, 1) × max points
[assumed, as local dashboards do]. Measures the platform has no data for are reported with ratio
None and no score, never as zero. Formulas: docs/reporting.md.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Measure:
    key: str
    group: str
    name_vi: str
    name_en: str
    max_points: float
    target: float


MEASURES = (
    Measure(
        "on_time",
        "progress",
        "Tỷ lệ hồ sơ giải quyết đúng hạn",
        "Dossiers finished on time",
        20,
        1.0,
    ),
    Measure("satisfaction", "satisfaction", "Mức độ hài lòng", "Citizens satisfied", 18, 1.0),
    Measure(
        "online_dossiers",
        "online",
        "Tỷ lệ hồ sơ tiếp nhận trực tuyến",
        "Dossiers received online",
        11,
        0.8,
    ),
    Measure(
        "online_payments",
        "online",
        "Tỷ lệ hồ sơ thanh toán trực tuyến",
        "Dossiers paid online",
        11,
        0.8,
    ),
    Measure(
        "electronic_results",
        "digitisation",
        "Tỷ lệ kết quả giải quyết được số hóa/cấp bản điện tử",
        "Results issued electronically",
        22,
        1.0,
    ),
)


@dataclass(frozen=True)
class Counts:
    finished: int  # completed (result ready) in the period
    finished_on_time: int  # early or on time
    evaluations: int
    satisfied: int  # overall rating satisfied or very satisfied
    received: int
    received_online: int
    paid_known: int  # dossiers whose payment channel is known (none today)
    paid_online: int
    results: int
    electronic_results: int


def ratios(counts: Counts) -> dict[str, float | None]:
    return {
        "on_time": _ratio(counts.finished_on_time, counts.finished),
        "satisfaction": _ratio(counts.satisfied, counts.evaluations),
        "online_dossiers": _ratio(counts.received_online, counts.received),
        "online_payments": _ratio(counts.paid_online, counts.paid_known),
        "electronic_results": _ratio(counts.electronic_results, counts.results),
    }


def score(measure: Measure, ratio: float | None) -> float | None:
    if ratio is None:
        return None
    return round(min(ratio / measure.target, 1.0) * measure.max_points, 2)


def index(counts: Counts) -> dict[str, object]:
    """Every measure with its ratio and score, and the total of the scores that exist."""
    found = ratios(counts)
    rows: list[dict[str, object]] = []
    scores: list[tuple[float, float]] = []  # (score, max points) of the measures that have data
    for measure in MEASURES:
        ratio = found[measure.key]
        rows.append(
            {
                "key": measure.key,
                "group": measure.group,
                "name": {"vi": measure.name_vi, "en": measure.name_en},
                "ratio": None if ratio is None else round(ratio, 4),
                "target": measure.target,
                "max_points": measure.max_points,
                "score": score(measure, ratio),
            }
        )
        points = score(measure, ratio)
        if points is not None:
            scores.append((points, measure.max_points))
    return {
        "measures": rows,
        "score": round(sum(points for points, _ in scores), 2),
        "max_points": sum(most for _, most in scores),
    }


def _ratio(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole
