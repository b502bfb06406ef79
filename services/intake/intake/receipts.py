"""The receipt (Form 01) of a stored dossier, as an HTTP response in HTML or PDF."""

from __future__ import annotations

from motcua_kit.db import UnitOfWork
from motcua_kit.errors import not_found
from werkzeug.wrappers import Response

from intake.adapters import repository as repo
from intake.receipt import Receipt, ReceiptDocument, render_receipt_html, render_receipt_pdf


def build(uow: UnitOfWork, code: str, lang: str, pin: str | None, link: str) -> Receipt:
    """`link`: the citizen's link with its secret (printed and in the QR code); `pin` is printed
    only when the citizen gave it."""
    record = repo.dossier_record(uow, code)
    if record is None:
        raise not_found(f"Không tìm thấy hồ sơ {code}")
    procedure = record["procedure"]
    names = {d["code"]: d for d in procedure["documents"]}
    applicant = record["applicant"]
    return Receipt(
        dossier_code=code,
        unit_code=record["unit"],
        unit_name=None,
        procedure_code=procedure["code"],
        procedure_name=procedure["name"][lang],
        applicant_name=applicant["name"],
        applicant_citizen_id=applicant["citizen_id"],
        applicant_phone=applicant.get("phone"),
        applicant_email=applicant.get("email"),
        applicant_address=applicant["address"],
        documents=tuple(
            ReceiptDocument(
                name=names[d["code"]]["name"][lang],
                copies=d["copies"],
                original=bool(names[d["code"]].get("original", False)),
            )
            for d in record["documents"]
        ),
        received_at=record["received_at"],
        appointment_at=record["due_at"],
        return_method=record["return_method"],
        channel=record["channel"],
        officer_name=record["received_by"]["name"],
        lookup_url=link,
        lookup_pin=pin,
        fee_vnd=int((procedure.get("fee") or {}).get("amount_vnd", 0)),
    )


def response(
    uow: UnitOfWork, code: str, fmt: str, lang: str, pin: str | None, link: str
) -> Response:
    receipt = build(uow, code, lang, pin, link)
    if fmt == "pdf":
        return Response(
            render_receipt_pdf(receipt, lang),
            content_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="{code}.pdf"'},
        )
    return Response(render_receipt_html(receipt, lang), content_type="text/html; charset=utf-8")
