"""The units hierarchy and the scope rules, on the shipped deploy/units.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from motcua_kit import access
from motcua_kit.access import Units
from motcua_kit.auth import Officer

UNITS = Units.from_file(Path(__file__).resolve().parents[2] / "deploy" / "units.json")
PROVINCE, COMMUNE, WARD = "000.00.00.H38", "000.00.08.H38", "000.00.09.H38"


def person(role: str, unit: str, agency: str = "") -> Officer:
    return Officer(f"{role}@{unit}", "Người thử", unit, (role,), agency=agency)


def test_the_hierarchy_reads_from_data():
    assert UNITS.ancestors(COMMUNE) == [PROVINCE]
    assert UNITS.within(COMMUNE, PROVINCE) and not UNITS.within(PROVINCE, COMMUNE)
    assert UNITS.below(COMMUNE) == {COMMUNE}
    assert {COMMUNE, WARD} <= UNITS.below(PROVINCE)
    assert UNITS.name(WARD) == "Ủy ban nhân dân phường Thành Sen"
    assert UNITS.name(WARD, "en") == "Thanh Sen Ward People's Committee"
    assert UNITS.name("UNKNOWN") == "UNKNOWN"


@pytest.mark.parametrize(
    ("who", "unit", "sees"),
    [
        (person("supervisor", PROVINCE), COMMUNE, True),  # a province oversees its communes
        (person("supervisor", COMMUNE), COMMUNE, True),
        (person("supervisor", COMMUNE), WARD, False),  # a commune only itself
        (person("supervisor", COMMUNE), PROVINCE, False),
        (person("reception", COMMUNE), COMMUNE, True),
        (person("reception", PROVINCE), COMMUNE, False),  # only supervisors look down
        (person("admin", "ANYWHERE"), WARD, True),
        (person("system", PROVINCE), COMMUNE, False),  # a system acts for its own unit only
    ],
)
def test_who_sees_a_unit(who, unit, sees):
    assert access.sees_unit(who, unit, UNITS) is sees


def test_an_agency_is_seen_by_its_own_officers_and_its_overseers():
    police = "CA.H38.08"
    assert access.sees_agency(person("processing", police), police, UNITS)
    assert access.sees_agency(person("processing", "X", agency=police), police, UNITS)
    assert access.sees_agency(person("supervisor", "CA.H38"), police, UNITS)
    assert not access.sees_agency(person("processing", "BHXH.H38"), police, UNITS)
    assert not access.sees_agency(person("supervisor", PROVINCE), police, UNITS)


def test_overseen_units_for_figures():
    assert access.overseen_units(person("admin", PROVINCE), UNITS) is None
    assert access.overseen_units(person("supervisor", COMMUNE), UNITS) == {COMMUNE}


def test_a_parent_that_does_not_exist_is_refused(tmp_path):
    path = tmp_path / "units.json"
    path.write_text(json.dumps({"units": [{"code": "A", "parent": "B"}]}))
    with pytest.raises(ValueError, match="unknown parent B"):
        Units.from_file(path)


def test_every_seeded_agency_is_a_unit():
    repo = Path(__file__).resolve().parents[2]
    data = json.loads((repo / "services/routing/routing/data/agencies.json").read_text())
    assert {a["code"] for a in data["agencies"]} <= set(UNITS.by_code)
