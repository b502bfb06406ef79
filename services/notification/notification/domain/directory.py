"""Who, in each agency, hears about its tasks (officers) and its late steps (supervisors)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class AgencyContacts:
    name: dict[str, str]
    officers: tuple[str, ...] = ()
    supervisors: tuple[str, ...] = ()


@dataclass(frozen=True)
class Directory:
    agencies: dict[str, AgencyContacts] = field(default_factory=dict)

    def name(self, code: str, language: str) -> str:
        agency = self.agencies.get(code)
        if agency is None:
            return code
        return agency.name.get(language) or agency.name.get("vi") or code

    def officers(self, code: str) -> tuple[str, ...]:
        agency = self.agencies.get(code)
        return agency.officers if agency else ()

    def supervisors(self, code: str) -> tuple[str, ...]:
        agency = self.agencies.get(code)
        return agency.supervisors if agency else ()


def directory_from_data(data: dict[str, Any]) -> Directory:
    """Read the recipients file; ValueError names every entry that is wrong."""
    problems: list[str] = []
    agencies: dict[str, AgencyContacts] = {}
    entries = data.get("agencies")
    if not isinstance(entries, dict):
        raise ValueError("recipients file: 'agencies' must be an object keyed by agency code")
    for code, entry in entries.items():
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, dict) or not name.get("vi"):
            problems.append(f"{code}: needs a 'name' object with 'vi' (and 'en')")
            continue
        lists = {}
        for key in ("officers", "supervisors"):
            addresses = entry.get(key, [])
            if not isinstance(addresses, list) or any(
                not isinstance(a, str) or "@" not in a for a in addresses
            ):
                problems.append(f"{code}.{key}: must be a list of email addresses")
                addresses = []
            lists[key] = tuple(addresses)
        agencies[code] = AgencyContacts(
            dict(entry["name"]), lists["officers"], lists["supervisors"]
        )
    if problems:
        raise ValueError("recipients file: " + "; ".join(problems))
    return Directory(agencies)
