"""Who may see what: the organisation's units as data, and the scopes routes declare.

Every HTTP operation declares its roles and one of these scopes (see `motcua_kit.http`); the use
case then checks the resource it found against the caller with the functions below, so a refusal
is decided before any of the resource is read into the answer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nameko.extensions import DependencyProvider

from motcua_kit.auth import Officer
from motcua_kit.config import setting
from motcua_kit.errors import ApiError

SCOPES = {
    "unit": "the resource's unit (the receiving unit, or an agency it was handed to); "
    "supervisors: every unit they oversee; operators: all",
    "agency": "the caller's own agency (its tasks, its steps); supervisors: agencies they oversee",
    "oversight": "the units the caller oversees: a supervisor's unit and every unit below it",
    "own": "a citizen's own dossiers",
    "platform": "the platform itself (settings, templates, subscribers), not a unit's data",
}
EVERYWHERE = ("admin",)
REPOSITORY = Path(__file__).resolve().parents[2]  # the platform's operators


@dataclass(frozen=True)
class Unit:
    code: str
    parent: str | None
    level: str
    name: dict[str, str]


class Units:
    """The hierarchy of units and agencies (province → commune), loaded from `UNITS_FILE`."""

    def __init__(self, units: list[Unit]) -> None:
        self.by_code = {u.code: u for u in units}

    @classmethod
    def from_file(cls, path: str | Path) -> Units:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        units = [
            Unit(u["code"], u.get("parent"), u.get("level", ""), dict(u.get("name") or {}))
            for u in data["units"]
        ]
        found = cls(units)
        for unit in units:
            if unit.parent and unit.parent not in found.by_code:
                raise ValueError(f"{path}: unit {unit.code} names an unknown parent {unit.parent}")
        return found

    def name(self, code: str, language: str = "vi") -> str:
        unit = self.by_code.get(code)
        return (unit.name.get(language) or unit.name.get("vi") or code) if unit else code

    def ancestors(self, code: str) -> list[str]:
        found: list[str] = []
        unit = self.by_code.get(code)
        while unit is not None and unit.parent and unit.parent not in found:
            found.append(unit.parent)
            unit = self.by_code.get(unit.parent)
        return found

    def within(self, code: str, root: str) -> bool:
        """`code` is `root` or lies below it."""
        return code == root or root in self.ancestors(code)

    def below(self, root: str) -> frozenset[str]:
        """`root` and every unit under it."""
        return frozenset(c for c in self.by_code if self.within(c, root)) | {root}


def oversees(officer: Officer, unit: str, units: Units) -> bool:
    """An operator oversees every unit; a supervisor their unit and the units below it."""
    if officer.has_any(EVERYWHERE):
        return True
    return "supervisor" in officer.roles and units.within(unit, officer.unit)


def sees_unit(officer: Officer, unit: str, units: Units) -> bool:
    """The `unit` scope: officers of the unit itself, or whoever oversees it."""
    return officer.unit == unit or oversees(officer, unit, units)


def sees_agency(officer: Officer, agency: str, units: Units) -> bool:
    """The `agency` scope: the agency's own officers (and systems), or whoever oversees it."""
    return officer.agency == agency or officer.unit == agency or oversees(officer, agency, units)


def overseen_units(officer: Officer, units: Units) -> frozenset[str] | None:
    """The units whose figures a caller may read; None means all of them (operators)."""
    if officer.has_any(EVERYWHERE):
        return None
    return units.below(officer.unit)


def out_of_scope(what: str = "Hồ sơ thuộc đơn vị khác") -> ApiError:
    """The refusal: a status and words, nothing of the resource."""
    return ApiError(403, "out_of_scope", what)


class UnitDirectory(DependencyProvider):
    """`self.units`: the hierarchy from `UNITS_FILE` (default deploy/units.json)."""

    def setup(self) -> None:
        path = Path(setting(self.container.config, "UNITS_FILE", "deploy/units.json"))
        if not path.is_absolute() and not path.exists():
            path = REPOSITORY / path  # run from elsewhere than the repository's root (tests)
        if not path.exists():
            raise RuntimeError(f"UNITS_FILE {path} does not exist")
        self.units = Units.from_file(path)

    def get_dependency(self, worker_ctx: Any) -> Units:
        return self.units
