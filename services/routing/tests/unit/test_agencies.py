"""The agency registry: the seeded data covers the catalogue; every bad entry is named."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from routing.domain.agencies import (
    BUS,
    WORKLIST,
    UnknownAgency,
    registry_from_data,
    registry_to_data,
)

REPO = Path(__file__).resolve().parents[4]
AGENCIES = json.loads(
    (REPO / "services/routing/routing/data/agencies.json").read_text(encoding="utf-8")
)
CATALOGUE = json.loads(
    (REPO / "services/intake/intake/data/procedures.json").read_text(encoding="utf-8")
)
DEMO_UNIT = "000.00.08.H38"


def route_kinds() -> set[str]:
    return {
        step["agency_kind"]
        for procedure in CATALOGUE["procedures"]
        for stage in procedure["route"]["stages"]
        for step in stage["steps"]
    }


def test_the_seeded_registry_loads_with_the_demo_agencies() -> None:
    registry = registry_from_data(AGENCIES)

    commune = registry.agency(DEMO_UNIT)
    police = registry.agency("CA.H38.08")
    assert (commune.name_vi, commune.level, commune.mode) == (
        "Ủy ban nhân dân xã Thạch Bình",
        "commune",
        WORKLIST,
    )
    assert (police.name_vi, police.mode, police.amqp_user) == (
        "Công an xã Thạch Bình",
        BUS,
        "agency-ca-h38-08",
    )
    assert police.parent == "CA.H38"
    assert registry.agency("BHXH.H38").mode == WORKLIST
    # One bus agency in the demo: the commune police drives the e2e test over AMQP.
    assert [a.code for a in registry.agencies.values() if a.mode == BUS] == ["CA.H38.08"]


def test_every_agency_kind_in_the_catalogue_is_routed_for_any_unit() -> None:
    registry = registry_from_data(AGENCIES)
    unit = f"T{uuid4().hex[:6]}"
    kinds = route_kinds() | set(CATALOGUE["agency_kinds"])

    assert "CONG_AN_TINH" in kinds
    for kind in sorted(kinds):
        assert registry.for_kind(kind, unit).kind == kind
        assert registry.for_kind(kind, DEMO_UNIT).kind == kind


def test_a_units_own_mapping_comes_before_the_default() -> None:
    data = copy.deepcopy(AGENCIES)
    data["agencies"].append(
        {
            "code": "000.00.97.H38",
            "name": {"vi": "Ủy ban nhân dân xã Thạch Lạc", "en": "Thach Lac Commune"},
            "level": "commune",
            "parent": "000.00.00.H38",
            "mode": "worklist",
            "kind": "UBND_XA",
            "amqp_user": None,
        }
    )
    data["assignments"]["000.00.97.H38"] = {"UBND_XA": "000.00.97.H38"}
    registry = registry_from_data(data)

    assert registry.for_kind("UBND_XA", "000.00.97.H38").code == "000.00.97.H38"
    assert registry.for_kind("UBND_XA", "elsewhere").code == DEMO_UNIT
    # Kinds the unit does not map fall back to the default.
    assert registry.for_kind("BHXH", "000.00.97.H38").code == "BHXH.H38"


def test_unknown_agencies_and_kinds_raise_unknown_agency() -> None:
    registry = registry_from_data(AGENCIES)

    with pytest.raises(UnknownAgency, match="NOPE"):
        registry.agency("NOPE")
    with pytest.raises(UnknownAgency, match="SO_Y_TE"):
        registry.for_kind("SO_Y_TE", DEMO_UNIT)


def test_bus_agencies_are_found_by_their_amqp_user_only() -> None:
    registry = registry_from_data(AGENCIES)

    found = registry.by_amqp_user("agency-ca-h38-08")
    assert found is not None and found.code == "CA.H38.08"
    assert registry.by_amqp_user("guest") is None


def test_the_registry_round_trips_through_its_data_shape() -> None:
    registry = registry_from_data(AGENCIES)

    assert registry_from_data(registry_to_data(registry)) == registry


def _agency(code: str, **changes: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "code": code,
        "name": {"vi": "Cơ quan thử", "en": "Test agency"},
        "level": "province",
        "parent": None,
        "mode": "worklist",
        "kind": "SO_TU_PHAP",
        "amqp_user": None,
    }
    return {**entry, **changes}


BAD: dict[str, tuple[dict[str, Any], str]] = {
    "duplicate code": (
        {"agencies": [_agency("A"), _agency("A")]},
        "'A' is listed twice",
    ),
    "unknown mode": ({"agencies": [_agency("A", mode="fax")]}, "'A'.*mode 'fax'"),
    "bus without amqp user": (
        {"agencies": [_agency("A", mode="bus")]},
        "'A'.*needs 'amqp_user'",
    ),
    "worklist with amqp user": (
        {"agencies": [_agency("A", amqp_user="u")]},
        "'A'.*takes no 'amqp_user'",
    ),
    "shared amqp user": (
        {
            "agencies": [
                _agency("A", mode="bus", amqp_user="u"),
                _agency("B", mode="bus", amqp_user="u"),
            ]
        },
        "agency B: amqp_user 'u' is already used by A",
    ),
    "unknown level": ({"agencies": [_agency("A", level="district")]}, "'A'.*level 'district'"),
    "missing english name": (
        {"agencies": [_agency("A", name={"vi": "Sở"})]},
        "'A'.*'name'",
    ),
    "unknown parent": ({"agencies": [_agency("A", parent="P")]}, "agency A: parent 'P'"),
    "unknown key": ({"agencies": [_agency("A", email="x@y")]}, r"'A'.*\['email'\]"),
    "assignment to an unknown agency": (
        {"agencies": [_agency("A")], "assignments": {"*": {"SO_TU_PHAP": "B"}}},
        r"assignments\['\*'\]\['SO_TU_PHAP'\]: 'B' is not an agency",
    ),
    "assignment of the wrong kind": (
        {"agencies": [_agency("A")], "assignments": {"U1": {"BHXH": "A"}}},
        r"assignments\['U1'\]\['BHXH'\]: agency A is of kind 'SO_TU_PHAP'",
    ),
    "agencies not a list": ({"agencies": {"A": {}}}, "'agencies' must be a list"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_invalid_registry_data_names_the_bad_entry(case: str) -> None:
    data, message = BAD[case]

    with pytest.raises(ValueError, match=message):
        registry_from_data(data)
