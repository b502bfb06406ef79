"""Request and response shapes (marshmallow). Messages are 'code|Vietnamese text' (see kit http)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from intake.domain.catalogue import CHANNELS, RETURN_METHODS
from intake.domain.evaluation import CRITERIA, LEVELS
from intake.domain.lookup import LINK_PATTERN, PIN_PATTERN

REQUIRED: dict[str, Any] = {
    "required": "required|Thiếu trường bắt buộc",
    "null": "null|Không được để trống",
}


def _length(lo: int, hi: int, what: str) -> validate.Length:
    return validate.Length(min=lo, max=hi, error=f"length|{what} phải dài từ {lo} đến {hi} ký tự")


class ApplicantSchema(Schema):
    name = fields.String(required=True, error_messages=REQUIRED, validate=_length(2, 200, "Họ tên"))
    citizen_id = fields.String(
        required=True,
        error_messages=REQUIRED,
        validate=validate.Regexp(
            r"^\d{12}$", error="citizen_id|Số định danh cá nhân phải gồm đúng 12 chữ số"
        ),
    )
    phone = fields.String(
        load_default=None,
        validate=validate.Regexp(
            r"^(\+84|0)\d{9,10}$", error="phone|Số điện thoại không hợp lệ (ví dụ 0912345678)"
        ),
    )
    email = fields.Email(
        load_default=None, error_messages={"invalid": "email|Địa chỉ thư điện tử không hợp lệ"}
    )
    address = fields.String(
        required=True, error_messages=REQUIRED, validate=_length(5, 500, "Địa chỉ")
    )


class HandedDocumentSchema(Schema):
    code = fields.String(
        required=True, error_messages=REQUIRED, validate=_length(1, 64, "Mã giấy tờ")
    )
    copies = fields.Integer(
        load_default=1,
        strict=True,
        validate=validate.Range(min=1, max=50, error="copies|Số bản phải từ 1 đến 50"),
        error_messages={"invalid": "type|Số bản phải là số nguyên"},
    )


def _one_of(choices: tuple[str, ...], code: str, what: str) -> validate.OneOf:
    return validate.OneOf(choices, error=f"{code}|{what} phải là một trong: {', '.join(choices)}")


class SubmissionSchema(Schema):
    applicant = fields.Nested(ApplicantSchema, required=True, error_messages=REQUIRED)
    procedure_code = fields.String(
        required=True, error_messages=REQUIRED, validate=_length(3, 40, "Mã thủ tục")
    )
    documents = fields.List(
        fields.Nested(HandedDocumentSchema),
        required=True,
        error_messages=REQUIRED,
        validate=validate.Length(min=1, error="documents|Phải nộp ít nhất một thành phần hồ sơ"),
    )
    channel = fields.String(
        load_default="desk", validate=_one_of(CHANNELS, "channel", "Kênh tiếp nhận")
    )
    return_method = fields.String(
        required=True,
        error_messages=REQUIRED,
        validate=_one_of(RETURN_METHODS, "return_method", "Hình thức trả kết quả"),
    )
    note = fields.String(load_default=None, validate=_length(0, 2000, "Ghi chú"))


class MissingItemSchema(Schema):
    document_code = fields.String(load_default=None)
    description = fields.String(
        required=True, error_messages=REQUIRED, validate=_length(3, 500, "Nội dung cần bổ sung")
    )


class SupplementRequestSchema(Schema):
    missing = fields.List(
        fields.Nested(MissingItemSchema),
        required=True,
        error_messages=REQUIRED,
        validate=validate.Length(min=1, error="missing|Phải nêu ít nhất một nội dung cần bổ sung"),
    )
    reason = fields.String(
        required=True, error_messages=REQUIRED, validate=_length(3, 2000, "Lý do")
    )


class SupplementsSchema(Schema):
    documents = fields.List(
        fields.Nested(HandedDocumentSchema),
        required=True,
        error_messages=REQUIRED,
        validate=validate.Length(min=1, error="documents|Phải nộp ít nhất một giấy tờ bổ sung"),
    )
    note = fields.String(load_default=None, validate=_length(0, 2000, "Ghi chú"))


class ReasonSchema(Schema):
    reason = fields.String(
        required=True, error_messages=REQUIRED, validate=_length(3, 2000, "Lý do")
    )


class ResultReadySchema(Schema):
    result_reference = fields.String(
        required=True, error_messages=REQUIRED, validate=_length(1, 200, "Số/ký hiệu kết quả")
    )
    electronic = fields.Boolean(load_default=False)
    note = fields.String(load_default=None, validate=_length(0, 2000, "Ghi chú"))


class ReturnSchema(Schema):
    method = fields.String(
        required=True,
        error_messages=REQUIRED,
        validate=_one_of(RETURN_METHODS, "return_method", "Hình thức trả kết quả"),
    )
    note = fields.String(load_default=None, validate=_length(0, 2000, "Ghi chú"))


_PIN = validate.Regexp(PIN_PATTERN, error="pin|Mã tra cứu gồm 6 chữ số")
_LINK = validate.Regexp(LINK_PATTERN, error="link|Liên kết tra cứu không hợp lệ")


def _lang() -> fields.String:
    return fields.String(load_default="vi", validate=_one_of(("vi", "en"), "lang", "Ngôn ngữ"))


def _format() -> fields.String:
    return fields.String(
        load_default="html", validate=_one_of(("html", "pdf"), "format", "Định dạng")
    )


class CitizenKeySchema(Schema):
    """The citizen's key to a dossier, in a POST body: the PIN (`pin`) or the link secret (`t`)."""

    pin = fields.String(load_default=None, validate=_PIN)
    t = fields.String(load_default=None, validate=_LINK)

    @validates_schema(skip_on_field_errors=False, pass_original=True)
    def one_key(self, data: dict[str, object], original: Any, **_: object) -> None:
        # Counted on what was sent: a malformed pin or t is already named by its own field.
        sent = original if isinstance(original, dict) else {}
        if len([k for k in ("pin", "t") if sent.get(k) is not None]) != 1:
            raise ValidationError(
                "required|Cần đúng một trong hai: mã tra cứu (pin) hoặc liên kết tra cứu (t)", "pin"
            )


class LookupSchema(CitizenKeySchema):
    lang = _lang()


class EvaluationSchema(CitizenKeySchema):
    ratings = fields.Dict(
        keys=fields.String(validate=_one_of(tuple(CRITERIA), "criterion", "Tiêu chí")),
        values=fields.String(validate=_one_of(tuple(LEVELS), "level", "Mức đánh giá")),
        required=True,
        error_messages=REQUIRED,
    )
    comment = fields.String(load_default=None, validate=_length(0, 2000, "Ý kiến"))

    @validates_schema(skip_on_field_errors=False)  # report it beside the other fields' problems
    def overall_required(self, data: dict[str, object], **_: object) -> None:
        ratings = data.get("ratings")
        if isinstance(ratings, dict) and "overall" not in ratings:
            raise ValidationError(
                "required|Phải đánh giá tiêu chí 'Mức độ hài lòng chung' (overall)", "ratings"
            )


class LinkQuerySchema(Schema):
    """`GET /lookup/<code>?t=`: the link from the receipt, its QR code, an email or an SMS."""

    t = fields.String(required=True, error_messages=REQUIRED, validate=_LINK)
    pin = fields.Raw(load_default=None)  # accepted only to be refused by name, below
    lang = _lang()

    @validates_schema(skip_on_field_errors=False)
    def no_pin_in_url(self, data: dict[str, object], **_: object) -> None:
        if data.get("pin") is not None:
            raise ValidationError(
                "pin_in_url|Không gửi mã tra cứu (PIN) trong đường dẫn: dùng"
                ' POST /lookup/<mã hồ sơ> với nội dung {"pin": "..."}',
                "pin",
            )


class CitizenReceiptQuerySchema(LinkQuerySchema):
    format = _format()


class CitizenReceiptSchema(CitizenKeySchema):
    format = _format()
    lang = _lang()


class ListQuerySchema(Schema):
    status = fields.String(load_default=None)
    unit = fields.String(
        load_default=None, validate=validate.Length(1, 64, error="length|Mã đơn vị quá dài")
    )
    limit = fields.Integer(
        load_default=50,
        validate=validate.Range(min=1, max=500, error="limit|Số bản ghi phải từ 1 đến 500"),
        error_messages={"invalid": "type|Số bản ghi phải là số nguyên"},
    )


class ReceiptQuerySchema(Schema):
    format = _format()
    lang = _lang()
