"""Shape and consistency checks for the seed procedure catalogue (intake/data/procedures.json).

Plain Python + jsonschema; no application code is imported, so this test guards the data file itself.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import date
from pathlib import Path

import jsonschema
import pytest

CATALOGUE_PATH = Path(__file__).resolve().parents[2] / "intake" / "data" / "procedures.json"

RETURN_METHODS = {"desk", "post", "online"}
LEVELS = {"commune", "province", "central"}
ROLES = {"lead", "coordinating"}

_I18N = {
    "type": "object",
    "required": ["vi", "en"],
    "properties": {
        "vi": {"type": "string", "minLength": 1},
        "en": {"type": "string", "minLength": 1},
    },
}

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["agency_kinds", "procedures"],
    "properties": {
        "agency_kinds": {
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"pattern": r"^[A-Z][A-Z0-9_]*$"},
            "additionalProperties": {
                "type": "object",
                "required": ["vi", "en", "level"],
                "properties": {
                    "vi": {"type": "string", "minLength": 1},
                    "en": {"type": "string", "minLength": 1},
                    "level": {"type": "string", "minLength": 1},
                },
            },
        },
        "procedures": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": [
                    "code",
                    "version",
                    "valid_from",
                    "name",
                    "field",
                    "level",
                    "documents",
                    "fee",
                    "processing_days",
                    "same_day_cutoff",
                    "return_methods",
                    "route",
                    "bundle",
                    "legal_basis",
                    "verified",
                    "source_note",
                ],
                "properties": {
                    "code": {"type": "string", "pattern": r"^\d\.\d{6}(\.[A-Z0-9]+)?$"},
                    "version": {"type": "integer", "minimum": 1},
                    "valid_from": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
                    "name": _I18N,
                    "field": {
                        "type": "object",
                        "required": ["code", "vi", "en"],
                        "properties": {
                            "code": {"type": "string", "pattern": r"^[a-z0-9]+(-[a-z0-9]+)*$"},
                            "vi": {"type": "string", "minLength": 1},
                            "en": {"type": "string", "minLength": 1},
                        },
                    },
                    "level": {"enum": sorted(LEVELS)},
                    "documents": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "required": ["code", "name", "copies", "original", "mandatory"],
                            "properties": {
                                "code": {"type": "string", "pattern": r"^[a-z0-9]+(-[a-z0-9]+)*$"},
                                "name": _I18N,
                                "copies": {"type": "integer", "minimum": 1},
                                "original": {"type": "boolean"},
                                "mandatory": {"type": "boolean"},
                                "note": _I18N,
                            },
                        },
                    },
                    "fee": {
                        "type": "object",
                        "required": ["amount_vnd", "note"],
                        "properties": {
                            "amount_vnd": {"type": "integer", "minimum": 0},
                            "note": _I18N,
                        },
                    },
                    "processing_days": {"type": "integer", "minimum": 0},
                    "same_day_cutoff": {
                        "anyOf": [
                            {"type": "null"},
                            {"type": "string", "pattern": r"^([01]\d|2[0-3]):[0-5]\d$"},
                        ]
                    },
                    "return_methods": {
                        "type": "array",
                        "minItems": 1,
                        "uniqueItems": True,
                        "items": {"enum": sorted(RETURN_METHODS)},
                    },
                    "route": {
                        "type": "object",
                        "required": ["stages"],
                        "properties": {
                            "stages": {
                                "type": "array",
                                "minItems": 1,
                                "items": {
                                    "type": "object",
                                    "required": ["steps"],
                                    "properties": {
                                        "steps": {
                                            "type": "array",
                                            "minItems": 1,
                                            "items": {
                                                "type": "object",
                                                "required": ["agency_kind", "role", "days", "task"],
                                                "properties": {
                                                    "agency_kind": {"type": "string"},
                                                    "role": {"enum": sorted(ROLES)},
                                                    "days": {"type": "integer", "minimum": 0},
                                                    "task": _I18N,
                                                },
                                            },
                                        }
                                    },
                                },
                            }
                        },
                    },
                    "bundle": {
                        "anyOf": [
                            {"type": "null"},
                            {
                                "type": "object",
                                "required": ["id", "includes"],
                                "properties": {
                                    "id": {"type": "string", "minLength": 1},
                                    "includes": {"type": "array", "items": {"type": "string"}},
                                },
                            },
                        ]
                    },
                    "legal_basis": {"type": "array", "items": {"type": "string", "minLength": 1}},
                    "verified": {"type": "boolean"},
                    "source_note": {"type": ["string", "null"]},
                },
            },
        },
    },
}


@pytest.fixture(scope="module")
def catalogue() -> dict:
    with CATALOGUE_PATH.open(encoding="utf-8") as fh:
        return json.load(fh)


@pytest.fixture(scope="module")
def procedures(catalogue: dict) -> list[dict]:
    return catalogue["procedures"]


def _pid(p: dict) -> str:
    return f"{p['code']} v{p['version']}"


def _stage_days(stage: dict) -> int:
    return max(step["days"] for step in stage["steps"])


def test_matches_json_schema(catalogue: dict) -> None:
    jsonschema.validate(catalogue, SCHEMA)


def test_at_least_ten_distinct_procedures(procedures: list[dict]) -> None:
    assert len({p["code"] for p in procedures}) >= 10


def test_code_version_pairs_are_unique(procedures: list[dict]) -> None:
    counts = Counter((p["code"], p["version"]) for p in procedures)
    assert [k for k, n in counts.items() if n > 1] == []


def test_versions_of_a_code_are_ordered_by_valid_from(procedures: list[dict]) -> None:
    by_code: dict[str, list[dict]] = {}
    for p in procedures:
        date.fromisoformat(p["valid_from"])  # a real calendar date
        by_code.setdefault(p["code"], []).append(p)
    for code, versions in by_code.items():
        versions.sort(key=lambda p: p["version"])
        starts = [date.fromisoformat(p["valid_from"]) for p in versions]
        assert starts == sorted(starts) and len(set(starts)) == len(starts), code


def test_some_procedure_has_two_versions_that_differ(procedures: list[dict]) -> None:
    by_code: dict[str, list[dict]] = {}
    for p in procedures:
        by_code.setdefault(p["code"], []).append(p)
    multi = {c: v for c, v in by_code.items() if len(v) >= 2}
    assert multi, "expected at least one procedure with an older version"
    for code, versions in multi.items():
        signatures = {
            (
                p["processing_days"],
                tuple(sorted((d["code"], d["mandatory"]) for d in p["documents"])),
            )
            for p in versions
        }
        assert len(signatures) == len(versions), (
            f"{code}: versions should differ in days or documents"
        )


def test_names_are_bilingual_and_vietnamese_has_diacritics(
    catalogue: dict, procedures: list[dict]
) -> None:
    def has_diacritics(text: str) -> bool:
        return any(ord(ch) > 127 for ch in text)

    for kind, agency in catalogue["agency_kinds"].items():
        assert has_diacritics(agency["vi"]), kind
    for p in procedures:
        assert p["name"]["vi"].strip() and p["name"]["en"].strip(), _pid(p)
        assert has_diacritics(p["name"]["vi"]), _pid(p)
        assert has_diacritics(p["field"]["vi"]), _pid(p)
        for d in p["documents"]:
            assert has_diacritics(d["name"]["vi"]), f"{_pid(p)} {d['code']}"


def test_documents_have_unique_codes_and_a_mandatory_one(procedures: list[dict]) -> None:
    for p in procedures:
        codes = [d["code"] for d in p["documents"]]
        assert len(codes) == len(set(codes)), _pid(p)
        assert any(d["mandatory"] for d in p["documents"]), _pid(p)


def test_exactly_one_lead_step(procedures: list[dict]) -> None:
    for p in procedures:
        roles = [s["role"] for stage in p["route"]["stages"] for s in stage["steps"]]
        assert roles.count("lead") == 1, _pid(p)


def test_route_fits_within_processing_days(procedures: list[dict]) -> None:
    for p in procedures:
        stages = p["route"]["stages"]
        total = sum(_stage_days(stage) for stage in stages)
        assert total <= p["processing_days"], _pid(p)
        if p["processing_days"] == 0:
            assert all(s["days"] == 0 for stage in stages for s in stage["steps"]), _pid(p)


def test_route_agency_kinds_are_declared(catalogue: dict, procedures: list[dict]) -> None:
    declared = set(catalogue["agency_kinds"])
    for p in procedures:
        for stage in p["route"]["stages"]:
            for step in stage["steps"]:
                assert step["agency_kind"] in declared, f"{_pid(p)}: {step['agency_kind']}"


def test_return_methods_are_valid(procedures: list[dict]) -> None:
    for p in procedures:
        assert set(p["return_methods"]) <= RETURN_METHODS, _pid(p)


def test_same_day_procedures_have_a_cutoff(procedures: list[dict]) -> None:
    for p in procedures:
        if p["processing_days"] == 0:
            assert p["same_day_cutoff"] is not None, _pid(p)
        if p["same_day_cutoff"] is not None:
            assert re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", p["same_day_cutoff"]), _pid(p)


def test_verification_is_documented(procedures: list[dict]) -> None:
    for p in procedures:
        assert p["legal_basis"], f"{_pid(p)}: legal_basis must not be empty"
        if not p["verified"]:
            assert p["source_note"] and p["source_note"].strip(), (
                f"{_pid(p)}: unverified needs a source_note"
            )


def test_bundle_includes_refer_to_catalogue_codes(procedures: list[dict]) -> None:
    codes = {p["code"] for p in procedures}
    for p in procedures:
        if p["bundle"]:
            assert p["bundle"]["includes"], _pid(p)
            for included in p["bundle"]["includes"]:
                assert included in codes, f"{_pid(p)} includes unknown {included}"
                assert included != p["code"], _pid(p)


def _bundle(procedures: list[dict], bundle_id: str) -> list[dict]:
    found = [p for p in procedures if p["bundle"] and p["bundle"]["id"] == bundle_id]
    assert found, f"no {bundle_id!r} bundle in the catalogue"
    return found


def _assert_commune_then_police_and_insurance(p: dict) -> None:
    stages = p["route"]["stages"]
    assert len(stages) >= 2, _pid(p)
    first = stages[0]["steps"]
    assert [(s["agency_kind"], s["role"]) for s in first] == [("UBND_XA", "lead")], _pid(p)
    later = {(s["agency_kind"], s["role"]) for stage in stages[1:] for s in stage["steps"]}
    assert ("CONG_AN_XA", "coordinating") in later, _pid(p)
    assert ("BHXH", "coordinating") in later, _pid(p)
    # Police and Social Insurance run in parallel: they share one stage.
    assert any(
        {"CONG_AN_XA", "BHXH"} <= {s["agency_kind"] for s in stage["steps"]} for stage in stages[1:]
    ), _pid(p)


def test_birth_bundle(procedures: list[dict]) -> None:
    for p in _bundle(procedures, "birth"):
        assert p["processing_days"] == 3, _pid(p)
        assert p["level"] == "commune", _pid(p)
        _assert_commune_then_police_and_insurance(p)
        assert "1.001193" in p["bundle"]["includes"], _pid(p)


def test_death_bundle(procedures: list[dict]) -> None:
    for p in _bundle(procedures, "death"):
        assert p["level"] == "commune", _pid(p)
        _assert_commune_then_police_and_insurance(p)
        assert "1.000656" in p["bundle"]["includes"], _pid(p)


def test_birth_registration_same_day_with_mandatory_form_and_birth_certificate(
    procedures: list[dict],
) -> None:
    birth = [p for p in procedures if p["code"] == "1.001193"]
    assert birth
    for p in birth:
        assert p["processing_days"] == 0 and p["same_day_cutoff"] == "15:00"
        mandatory = {d["code"] for d in p["documents"] if d["mandatory"]}
        assert {"to-khai", "giay-chung-sinh"} <= mandatory
