"""Request shapes (marshmallow); messages are 'code|Vietnamese text' (see kit http)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

REQUIRED: dict[str, Any] = {
    "required": "required|Thiếu trường bắt buộc",
    "null": "null|Không được để trống",
}


def _text(lo: int, hi: int, what: str, required: bool = True) -> fields.String:
    length = validate.Length(min=lo, max=hi, error=f"length|{what} phải dài từ {lo} đến {hi} ký tự")
    if required:
        return fields.String(required=True, error_messages=REQUIRED, validate=length)
    return fields.String(load_default=None, validate=length)


class CompleteSchema(Schema):
    result_reference = _text(1, 200, "Số/ký hiệu kết quả")
    note = _text(0, 2000, "Ghi chú", required=False)


class MissingItemSchema(Schema):
    document_code = fields.String(load_default=None)
    description = _text(3, 500, "Nội dung cần bổ sung")


class SupplementRequestSchema(Schema):
    missing = fields.List(
        fields.Nested(MissingItemSchema),
        required=True,
        error_messages=REQUIRED,
        validate=validate.Length(min=1, error="missing|Phải nêu ít nhất một nội dung cần bổ sung"),
    )
    reason = _text(3, 2000, "Lý do")


class ReasonSchema(Schema):
    reason = _text(3, 2000, "Lý do")


class ReassignSchema(Schema):
    agency = _text(1, 64, "Mã cơ quan")


class ApologySchema(Schema):
    reason = _text(3, 2000, "Lý do")
    new_date = fields.Date(
        required=True,
        error_messages={**REQUIRED, "invalid": "date|Ngày hẹn mới phải có dạng YYYY-MM-DD"},
    )
