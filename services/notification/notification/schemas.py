"""Request shapes (marshmallow); messages are 'code|Vietnamese text' (see kit http)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

REQUIRED: dict[str, Any] = {
    "required": "required|Thiếu trường bắt buộc",
    "null": "null|Không được để trống",
}
EVENT_PATTERN = r"^(\*|[a-z_]+(\.[a-z_]+)*(\.\*)?)$"


class SubscriberSchema(Schema):
    name = fields.String(
        required=True,
        error_messages=REQUIRED,
        validate=validate.Length(1, 200, error="length|Tên phải dài từ 1 đến 200 ký tự"),
    )
    url = fields.Url(
        required=True,
        schemes={"http", "https"},
        require_tld=False,
        error_messages={**REQUIRED, "invalid": "url|Địa chỉ phải là URL http(s) hợp lệ"},
    )
    event_types = fields.List(
        fields.String(
            validate=validate.Regexp(
                EVENT_PATTERN,
                error="event_type|Loại sự kiện phải có dạng dossier.received, dossier.* hoặc *",
            )
        ),
        required=True,
        error_messages=REQUIRED,
        validate=validate.Length(1, 50, error="length|Cần từ 1 đến 50 loại sự kiện"),
    )
    secret = fields.String(
        load_default=None,
        validate=validate.Length(32, 200, error="length|Khóa bí mật phải dài từ 32 đến 200 ký tự"),
    )


class PreviewSchema(Schema):
    facts = fields.Dict(keys=fields.String(), load_default=dict)


class SmsReportSchema(Schema):
    id = fields.String(
        required=True,
        error_messages=REQUIRED,
        validate=validate.Length(1, 200, error="length|Mã tin nhắn phải dài từ 1 đến 200 ký tự"),
    )
    status = fields.String(
        required=True,
        error_messages=REQUIRED,
        validate=validate.OneOf(
            ("delivered", "failed"), error="status|Trạng thái phải là delivered hoặc failed"
        ),
    )
    error = fields.String(load_default=None, validate=validate.Length(0, 1000))


class DeliveryLogQuery(Schema):
    dossier = fields.String(
        required=True,
        error_messages=REQUIRED,
        validate=validate.Length(5, 64, error="length|Mã hồ sơ phải dài từ 5 đến 64 ký tự"),
    )
