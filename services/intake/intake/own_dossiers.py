"""A signed-in citizen's own dossiers (the `own` scope): those whose applicant carries the
personal identification number the identity provider vouches for, at the desk or online."""

from __future__ import annotations

from typing import Any

from motcua_kit.auth import Officer
from motcua_kit.db import UnitOfWork
from motcua_kit.errors import ApiError

from intake.adapters import repository as repo
from intake.domain import dossier as life


def of_citizen(uow: UnitOfWork, citizen: Officer, limit: int) -> dict[str, Any]:
    if not citizen.citizen_id:
        raise ApiError(
            403,
            "no_citizen_id",
            "Tài khoản chưa gắn số định danh cá nhân: không xác định được hồ sơ của công dân",
        )
    rows = repo.dossiers_of_citizen(uow, citizen.citizen_id, limit)
    return {
        "dossiers": [
            {**row, "status_text": life.STATUS_VI.get(row["status"], row["status"])} for row in rows
        ]
    }
