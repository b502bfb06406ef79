"""The registry of agencies that take part in routing, and which agency does what for a unit.

An agency is a unit of government identified by its code (mã định danh). It works either in the
platform's worklist (its officers act over HTTP) or on the bus (its own system takes tasks and
replies over AMQP, connecting to RabbitMQ as ``amqp_user``).

A procedure's route names agency *kinds* (UBND_XA, CONG_AN_XA, BHXH, ...); ``assignments`` says
which agency plays each kind for a receiving unit, with ``"*"`` as the default for every unit.

The data file (data/agencies.json) looks like::

    {"agencies": [{"code": "CA.H38.08", "name": {"vi": "...", "en": "..."},
                   "level": "central-vertical", "parent": "CA.H38", "mode": "bus",
                   "kind": "CONG_AN_XA", "amqp_user": "agency-ca-h38-08"}, ...],
     "assignments": {"*": {"CONG_AN_XA": "CA.H38.08", ...}, "<unit code>": {...}}}

Keys starting with ``_`` are comments. ``registry_from_data`` validates everything and names the
bad entry in its ``ValueError``; ``registry_to_data`` is its inverse.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

WORKLIST, BUS = "worklist", "bus"
MODES = (WORKLIST, BUS)
LEVELS = ("central", "central-vertical", "province", "commune")
DEFAULT_UNIT = "*"

_AGENCY_KEYS = frozenset({"code", "name", "level", "parent", "mode", "kind", "amqp_user"})


class UnknownAgency(Exception):
    """No such agency, or no agency plays a kind for a unit; the message names what is missing."""


@dataclass(frozen=True)
class Agency:
    code: str
    name_vi: str
    name_en: str
    level: str
    parent: str | None
    mode: str
    kind: str
    amqp_user: str | None  # bus agencies connect to RabbitMQ as this user

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name_vi


@dataclass(frozen=True)
class Registry:
    agencies: Mapping[str, Agency]
    assignments: Mapping[str, Mapping[str, str]]  # unit code (or "*") -> agency kind -> agency code

    def agency(self, code: str) -> Agency:
        try:
            return self.agencies[code]
        except KeyError:
            raise UnknownAgency(code) from None

    def for_kind(self, kind: str, unit: str) -> Agency:
        """The agency playing ``kind`` for ``unit``: the unit's own mapping first, then ``*``."""
        for key in (unit, DEFAULT_UNIT):
            code = self.assignments.get(key, {}).get(kind)
            if code is not None:
                return self.agency(code)
        raise UnknownAgency(f"{kind} for unit {unit}")

    def by_amqp_user(self, user: str) -> Agency | None:
        return next(
            (a for a in self.agencies.values() if a.mode == BUS and a.amqp_user == user), None
        )


def registry_from_data(data: Mapping[str, Any]) -> Registry:
    """Build and validate a registry from the data file's content; ValueError names the bad entry."""
    if not isinstance(data, Mapping):
        raise ValueError("agencies data must be an object with 'agencies' and 'assignments'")
    entries = data.get("agencies")
    if not isinstance(entries, list):
        raise ValueError("'agencies' must be a list of agency objects")
    agencies: dict[str, Agency] = {}
    users: dict[str, str] = {}
    for position, entry in enumerate(entries):
        agency = _agency(position, entry)
        if agency.code in agencies:
            raise ValueError(f"agencies[{position}]: code {agency.code!r} is listed twice")
        if agency.amqp_user is not None:
            if agency.amqp_user in users:
                raise ValueError(
                    f"agency {agency.code}: amqp_user {agency.amqp_user!r} is already used by "
                    f"{users[agency.amqp_user]}"
                )
            users[agency.amqp_user] = agency.code
        agencies[agency.code] = agency
    for agency in agencies.values():
        if agency.parent is not None and agency.parent not in agencies:
            raise ValueError(f"agency {agency.code}: parent {agency.parent!r} is not an agency")
    assignments = _assignments(data.get("assignments", {}), agencies)
    return Registry(
        agencies=MappingProxyType(agencies),
        assignments=MappingProxyType(
            {unit: MappingProxyType(kinds) for unit, kinds in assignments.items()}
        ),
    )


def registry_to_data(registry: Registry) -> dict[str, Any]:
    """The data file's shape for ``registry`` (``registry_from_data`` reads it back)."""
    return {
        "agencies": [
            {
                "code": a.code,
                "name": {"vi": a.name_vi, "en": a.name_en},
                "level": a.level,
                "parent": a.parent,
                "mode": a.mode,
                "kind": a.kind,
                "amqp_user": a.amqp_user,
            }
            for a in registry.agencies.values()
        ],
        "assignments": {unit: dict(kinds) for unit, kinds in registry.assignments.items()},
    }


def _agency(position: int, entry: object) -> Agency:
    if not isinstance(entry, Mapping):
        raise ValueError(f"agencies[{position}]: each agency must be an object")
    code = entry.get("code")
    where = f"agencies[{position}] {code!r}" if isinstance(code, str) else f"agencies[{position}]"
    unknown = sorted(k for k in entry if k not in _AGENCY_KEYS and not str(k).startswith("_"))
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}")
    if not isinstance(code, str) or not code.strip() or code == DEFAULT_UNIT:
        raise ValueError(f"{where}: 'code' must be a non-empty string other than '*'")
    name = entry.get("name")
    if not (
        isinstance(name, Mapping)
        and all(isinstance(name.get(lang), str) and name[lang].strip() for lang in ("vi", "en"))
    ):
        raise ValueError(f"{where}: 'name' must be an object with non-empty 'vi' and 'en'")
    level, mode, kind = entry.get("level"), entry.get("mode"), entry.get("kind")
    if level not in LEVELS:
        raise ValueError(f"{where}: level {level!r} must be one of {list(LEVELS)}")
    if mode not in MODES:
        raise ValueError(f"{where}: mode {mode!r} must be one of {list(MODES)}")
    if not isinstance(kind, str) or not kind.strip():
        raise ValueError(f"{where}: 'kind' must be a non-empty string (e.g. 'CONG_AN_XA')")
    parent = entry.get("parent")
    if parent is not None and (not isinstance(parent, str) or parent == code):
        raise ValueError(f"{where}: 'parent' must be another agency's code or null")
    user = entry.get("amqp_user")
    if mode == BUS and (not isinstance(user, str) or not user.strip()):
        raise ValueError(f"{where}: a bus agency needs 'amqp_user' (its RabbitMQ user)")
    if mode == WORKLIST and user is not None:
        raise ValueError(f"{where}: a worklist agency takes no 'amqp_user'")
    return Agency(
        code=code,
        name_vi=name["vi"],
        name_en=name["en"],
        level=level,
        parent=parent,
        mode=mode,
        kind=kind,
        amqp_user=user,
    )


def _assignments(raw: object, agencies: Mapping[str, Agency]) -> dict[str, dict[str, str]]:
    if not isinstance(raw, Mapping):
        raise ValueError(
            "'assignments' must map a unit code (or '*') to {agency kind: agency code}"
        )
    out: dict[str, dict[str, str]] = {}
    for unit, kinds in raw.items():
        if str(unit).startswith("_"):
            continue
        if not isinstance(kinds, Mapping):
            raise ValueError(f"assignments[{unit!r}] must map agency kinds to agency codes")
        out[unit] = {}
        for kind, code in kinds.items():
            where = f"assignments[{unit!r}][{kind!r}]"
            if not isinstance(code, str) or code not in agencies:
                raise ValueError(f"{where}: {code!r} is not an agency in the registry")
            if agencies[code].kind != kind:
                raise ValueError(
                    f"{where}: agency {code} is of kind {agencies[code].kind!r}, not {kind!r}"
                )
            out[unit][kind] = code
    return out
