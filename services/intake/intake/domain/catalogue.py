"""The procedure catalogue as the desk uses it: what to bring, how long, which agencies.

Entries come from data/procedures.json (see its loader); each (code, version) is immutable, and
a dossier keeps the version that was in force when it was received.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from typing import Any

RETURN_METHODS = ("desk", "post", "online")
CHANNELS = ("desk", "online", "post")


@dataclass(frozen=True)
class RequiredDocument:
    code: str
    name_vi: str
    name_en: str
    copies: int
    mandatory: bool
    original: bool


@dataclass(frozen=True)
class Procedure:
    code: str
    version: int
    valid_from: date
    name_vi: str
    name_en: str
    field_code: str
    level: str
    documents: tuple[RequiredDocument, ...]
    fee_vnd: int
    processing_days: int
    same_day_cutoff: time | None
    return_methods: tuple[str, ...]
    raw: dict[str, Any]

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name_vi

    def document(self, code: str) -> RequiredDocument | None:
        return next((d for d in self.documents if d.code == code), None)

    @property
    def field_name(self) -> dict[str, str]:
        field = self.raw.get("field") or {}
        return {"vi": str(field.get("vi") or self.field_code), "en": str(field.get("en") or "")}

    @property
    def route(self) -> dict[str, Any]:
        route: dict[str, Any] = self.raw.get("route") or {"stages": []}
        return route


def procedure_from_entry(entry: dict[str, Any]) -> Procedure:
    cutoff = entry.get("same_day_cutoff")
    return Procedure(
        code=entry["code"],
        version=int(entry["version"]),
        valid_from=date.fromisoformat(entry["valid_from"]),
        name_vi=entry["name"]["vi"],
        name_en=entry["name"]["en"],
        field_code=entry["field"]["code"],
        level=entry["level"],
        documents=tuple(
            RequiredDocument(
                code=d["code"],
                name_vi=d["name"]["vi"],
                name_en=d["name"]["en"],
                copies=int(d.get("copies", 1)),
                mandatory=bool(d.get("mandatory", True)),
                original=bool(d.get("original", False)),
            )
            for d in entry["documents"]
        ),
        fee_vnd=int((entry.get("fee") or {}).get("amount_vnd", 0)),
        processing_days=int(entry["processing_days"]),
        same_day_cutoff=time.fromisoformat(cutoff) if cutoff else None,
        return_methods=tuple(entry.get("return_methods") or RETURN_METHODS),
        raw=entry,
    )


def in_force(versions: list[Procedure], on: date) -> Procedure | None:
    """The version in force on a day: the latest whose valid_from is not after it."""
    candidates = [p for p in versions if p.valid_from <= on]
    return max(candidates, key=lambda p: (p.valid_from, p.version)) if candidates else None
