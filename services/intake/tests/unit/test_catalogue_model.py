"""The catalogue model: every entry of procedures.json loads, and the version in force is picked."""

from __future__ import annotations

import json
from datetime import date, time
from pathlib import Path
from typing import Any

import pytest
from intake.domain.catalogue import RETURN_METHODS, Procedure, in_force, procedure_from_entry

CATALOGUE = Path(__file__).resolve().parents[2] / "intake" / "data" / "procedures.json"
ENTRIES: list[dict[str, Any]] = json.loads(CATALOGUE.read_text(encoding="utf-8"))["procedures"]


def versions_of(code: str) -> list[Procedure]:
    return [procedure_from_entry(e) for e in ENTRIES if e["code"] == code]


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: f"{e['code']}v{e['version']}")
def test_every_entry_becomes_a_procedure(entry: dict[str, Any]) -> None:
    procedure = procedure_from_entry(entry)

    assert (procedure.code, procedure.version) == (entry["code"], entry["version"])
    assert procedure.valid_from == date.fromisoformat(entry["valid_from"])
    assert procedure.name("vi") == entry["name"]["vi"]
    assert procedure.name("en") == entry["name"]["en"]
    assert procedure.field_code == entry["field"]["code"]
    assert procedure.processing_days == entry["processing_days"] >= 0
    assert procedure.fee_vnd == entry["fee"]["amount_vnd"]
    assert [d.code for d in procedure.documents] == [d["code"] for d in entry["documents"]]
    for doc, raw in zip(procedure.documents, entry["documents"], strict=True):
        assert doc.copies == raw.get("copies", 1) >= 1
        assert doc.mandatory is raw.get("mandatory", True)
        assert procedure.document(doc.code) is doc
    cutoff = entry["same_day_cutoff"]
    assert procedure.same_day_cutoff == (time.fromisoformat(cutoff) if cutoff else None)
    assert procedure.return_methods == tuple(entry["return_methods"])
    assert set(procedure.return_methods) <= set(RETURN_METHODS)
    assert procedure.route == entry["route"]
    assert procedure.document("no-such-document") is None


def test_birth_bundle_reads_as_documented() -> None:
    (bundle,) = versions_of("2.000986")

    assert bundle.processing_days == 3
    assert bundle.same_day_cutoff == time(15, 0)
    mandatory = [d.code for d in bundle.documents if d.mandatory]
    assert mandatory == ["to-khai-lien-thong", "giay-chung-sinh"]


@pytest.mark.parametrize(
    ("on", "expected_version"),
    [
        (date(2015, 12, 31), None),  # before the first valid_from: nothing in force
        (date(2016, 1, 1), 1),
        (date(2025, 12, 31), 1),
        (date(2026, 1, 1), 2),
        (date(2030, 6, 1), 2),
    ],
)
def test_in_force_picks_the_version_of_the_day(on: date, expected_version: int | None) -> None:
    versions = versions_of("1.000894")
    assert [p.version for p in versions] == [1, 2]

    for ordering in (versions, versions[::-1]):
        found = in_force(ordering, on)
        assert (found.version if found else None) == expected_version


def test_marriage_v2_drops_the_marital_status_certificate() -> None:
    v1 = in_force(versions_of("1.000894"), date(2025, 12, 31))
    v2 = in_force(versions_of("1.000894"), date(2026, 1, 1))

    assert v1 is not None and v1.document("giay-xac-nhan-tinh-trang-hon-nhan") is not None
    assert v2 is not None and v2.document("giay-xac-nhan-tinh-trang-hon-nhan") is None


def test_in_force_of_no_versions_is_none() -> None:
    assert in_force([], date(2026, 1, 1)) is None
