"""Checking a dossier at the desk: missing documents, request problems, dossier codes."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from intake.domain.catalogue import Procedure, procedure_from_entry
from intake.domain.reception import (
    HandedDocument,
    Missing,
    format_dossier_code,
    missing_documents,
    request_problems,
)
from motcua_kit.workcal import VN_TZ

CATALOGUE = Path(__file__).resolve().parents[2] / "intake" / "data" / "procedures.json"


def procedure(code: str, version: int = 1) -> Procedure:
    entries = json.loads(CATALOGUE.read_text(encoding="utf-8"))["procedures"]
    (entry,) = [e for e in entries if e["code"] == code and e["version"] == version]
    return procedure_from_entry(entry)


BIRTH_BUNDLE = procedure("2.000986")
MARRIAGE = procedure("1.000894", version=2)


def test_complete_dossier_misses_nothing() -> None:
    handed = [HandedDocument("to-khai-lien-thong", 1), HandedDocument("giay-chung-sinh", 1)]

    assert missing_documents(BIRTH_BUNDLE, handed) == []


def test_every_missing_mandatory_document_is_listed_at_once() -> None:
    handed = [HandedDocument("giay-chung-nhan-ket-hon", 1)]  # an optional one only

    missing = missing_documents(BIRTH_BUNDLE, handed)

    assert [m.code for m in missing] == ["to-khai-lien-thong", "giay-chung-sinh"]
    assert all(m.copies_required == 1 and m.copies_given == 0 for m in missing)
    assert missing[1].name_vi.startswith("Bản chụp hoặc bản điện tử Giấy chứng sinh")
    assert missing[1].name_en.startswith("Scan or electronic copy")


def test_optional_documents_are_never_missing() -> None:
    handed = [HandedDocument("to-khai-lien-thong", 1), HandedDocument("giay-chung-sinh", 1)]
    optional = {d.code for d in BIRTH_BUNDLE.documents if not d.mandatory}

    assert optional  # the bundle has some, and none of them was handed
    assert not {m.code for m in missing_documents(BIRTH_BUNDLE, handed)} & optional


def test_too_few_copies_is_missing_alongside_absent_documents() -> None:
    # Marriage needs both parties' identity documents (2 copies) and the form.
    missing = missing_documents(MARRIAGE, [HandedDocument("giay-to-tuy-than", 1)])

    assert missing == [
        Missing("to-khai", *_names(MARRIAGE, "to-khai"), copies_required=1, copies_given=0),
        Missing(
            "giay-to-tuy-than",
            *_names(MARRIAGE, "giay-to-tuy-than"),
            copies_required=2,
            copies_given=1,
        ),
    ]


def test_copies_of_the_same_document_add_up() -> None:
    handed = [
        HandedDocument("to-khai", 1),
        HandedDocument("giay-to-tuy-than", 1),
        HandedDocument("giay-to-tuy-than", 1),
    ]

    assert missing_documents(MARRIAGE, handed) == []


def test_unknown_documents_and_return_method_are_reported_together() -> None:
    handed = [
        HandedDocument("to-khai", 1),
        HandedDocument("so-ho-khau", 1),
        HandedDocument("giay-to-tuy-than", 2),
        HandedDocument("anh-the", 2),
    ]

    problems = request_problems(MARRIAGE, handed, return_method="post")

    assert [(p.field, p.code) for p in problems] == [
        ("documents.1.code", "unknown_document"),
        ("documents.3.code", "unknown_document"),
        ("return_method", "return_method_not_allowed"),
    ]
    assert "so-ho-khau" in problems[0].message and "anh-the" in problems[1].message
    assert "desk" in problems[2].message


def test_a_clean_request_has_no_problems() -> None:
    handed = [HandedDocument("to-khai-lien-thong", 1), HandedDocument("giay-chung-nhan-ket-hon", 1)]

    assert request_problems(BIRTH_BUNDLE, handed, return_method="online") == []
    assert request_problems(MARRIAGE, [], return_method="desk") == []


def test_dossier_code_is_unit_date_and_number() -> None:
    received = datetime(2025, 7, 14, 9, 30, tzinfo=VN_TZ)

    assert format_dossier_code("000.00.08.H38", received, 12) == "000.00.08.H38-250714-0012"
    assert format_dossier_code("000.00.08.H38", received, 9_999) == "000.00.08.H38-250714-9999"


def test_dossier_code_grows_to_five_digits_past_9999() -> None:
    received = datetime(2025, 7, 14, 16, 0, tzinfo=VN_TZ)

    assert format_dossier_code("000.00.08.H38", received, 10_000) == "000.00.08.H38-250714-10000"
    assert format_dossier_code("000.00.08.H38", received, 12_345) == "000.00.08.H38-250714-12345"


def _names(procedure: Procedure, code: str) -> tuple[str, str]:
    doc = procedure.document(code)
    assert doc is not None
    return doc.name_vi, doc.name_en
