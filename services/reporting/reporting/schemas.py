"""Request shapes (marshmallow); messages are 'code|Vietnamese text' (see kit http)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

CODE = validate.Length(1, 64, error="length|Mã phải dài từ 1 đến 64 ký tự")
MAX_DAYS = 366 * 5


class ReportQuery(Schema):
    """`from`/`to` (days, inclusive, Vietnam time; default: this year so far) and filters."""

    first = fields.Date(
        data_key="from",
        load_default=None,
        error_messages={"invalid": "date|Ngày phải có dạng YYYY-MM-DD"},
    )
    last = fields.Date(
        data_key="to",
        load_default=None,
        error_messages={"invalid": "date|Ngày phải có dạng YYYY-MM-DD"},
    )
    unit = fields.String(load_default=None, validate=CODE)
    agency = fields.String(load_default=None, validate=CODE)
    procedure = fields.String(load_default=None, validate=CODE)
    field = fields.String(load_default=None, validate=CODE)

    @validates_schema
    def _period(self, data: dict[str, Any], **kwargs: Any) -> None:
        first, last = data.get("first"), data.get("last")
        if first and last and first > last:
            raise ValidationError("period|Ngày bắt đầu phải trước ngày kết thúc", "from")
        if first and last and (last - first).days > MAX_DAYS:
            raise ValidationError("period|Kỳ báo cáo dài nhất 5 năm", "to")
