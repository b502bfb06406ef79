"""The public catalogue: what a citizen reads before coming to the desk."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from motcua_kit.db import UnitOfWork
from motcua_kit.errors import not_found
from motcua_kit.workcal import VN_TZ

from intake.adapters import repository as repo
from intake.domain.catalogue import Procedure, in_force


def summary(p: Procedure) -> dict[str, Any]:
    entry = p.raw
    return {
        "code": p.code,
        "version": p.version,
        "valid_from": p.valid_from.isoformat(),
        "name": entry["name"],
        "field": entry["field"],
        "level": p.level,
        "processing_days": p.processing_days,
        "fee": entry.get("fee"),
        "bundle": entry.get("bundle"),
    }


def listing(uow: UnitOfWork, now: datetime, args: Any) -> dict[str, Any]:
    procedures = repo.procedures_in_force(uow, now.astimezone(VN_TZ).date())
    field, level, text = args.get("field"), args.get("level"), (args.get("q") or "").lower()
    chosen = [
        p
        for p in procedures
        if (not field or p.field_code == field)
        and (not level or p.level == level)
        and (not text or text in p.name_vi.lower() or text in p.name_en.lower() or text in p.code)
    ]
    return {"count": len(chosen), "procedures": [summary(p) for p in chosen]}


def detail(uow: UnitOfWork, code: str, now: datetime) -> dict[str, Any]:
    versions = repo.procedure_versions(uow, code)
    current = in_force(versions, now.astimezone(VN_TZ).date())
    if current is None:
        raise not_found(f"Không có thủ tục {code}")
    return {
        **current.raw,
        "versions": [
            {"version": v.version, "valid_from": v.valid_from.isoformat()} for v in versions
        ],
    }
