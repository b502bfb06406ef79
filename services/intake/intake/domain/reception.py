"""Checking a dossier at the desk (step 1 of a dossier's life) — no I/O here.

Complete → a receipt and appointment (Form 01). Incomplete → a request to supplement that lists
*everything* missing at once (Form 02). Unknown documents, a return method the procedure does not
allow, or too few copies are problems of the same request, reported together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from motcua_kit.errors import Problem
from motcua_kit.workcal import WorkCalendar

from intake.domain.catalogue import Procedure


@dataclass(frozen=True)
class HandedDocument:
    code: str
    copies: int


@dataclass(frozen=True)
class Missing:
    code: str
    name_vi: str
    name_en: str
    copies_required: int
    copies_given: int


def missing_documents(procedure: Procedure, handed: list[HandedDocument]) -> list[Missing]:
    given: dict[str, int] = {}
    for doc in handed:
        given[doc.code] = given.get(doc.code, 0) + doc.copies
    return [
        Missing(req.code, req.name_vi, req.name_en, req.copies, given.get(req.code, 0))
        for req in procedure.documents
        if req.mandatory and given.get(req.code, 0) < req.copies
    ]


def request_problems(
    procedure: Procedure, handed: list[HandedDocument], return_method: str
) -> list[Problem]:
    """Problems other than missing documents: unknown documents, a return method not allowed."""
    problems = [
        Problem(
            f"documents.{i}.code",
            "unknown_document",
            f"Thủ tục {procedure.code} không có thành phần hồ sơ '{doc.code}'",
        )
        for i, doc in enumerate(handed)
        if procedure.document(doc.code) is None
    ]
    if return_method not in procedure.return_methods:
        allowed = ", ".join(procedure.return_methods)
        problems.append(
            Problem(
                "return_method",
                "return_method_not_allowed",
                f"Thủ tục này chỉ trả kết quả qua: {allowed}",
            )
        )
    return problems


def appointment(calendar: WorkCalendar, procedure: Procedure, received_at: datetime) -> datetime:
    """The appointment (due) instant: the legal time in working days from reception."""
    return calendar.add_working_days(
        received_at, procedure.processing_days, cutoff=procedure.same_day_cutoff
    )


def format_dossier_code(unit: str, received_at: datetime, number: int) -> str:
    """`<unit>-YYMMDD-NNNN` (Circular 01/2018 art. 19); past 9,999 a day it simply grows."""
    return f"{unit}-{received_at:%y%m%d}-{number:04d}"
