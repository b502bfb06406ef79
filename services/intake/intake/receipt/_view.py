"""Language-specific wording and formatting shared by the HTML and PDF renderers.

Dates are written out by hand (no locale module): the output must not depend on the locales
installed on the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from .model import SUPPORTED_LANGUAGES, Receipt

TIMEZONE = ZoneInfo("Asia/Ho_Chi_Minh")

_EN_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

RETURN_METHOD_WORDS: dict[str, dict[str, str]] = {
    "vi": {
        "desk": "Nhận trực tiếp tại Bộ phận tiếp nhận và trả kết quả",
        "post": "Nhận qua dịch vụ bưu chính công ích",
        "online": "Nhận kết quả điện tử trực tuyến",
    },
    "en": {
        "desk": "In person at the reception and result-return desk",
        "post": "By public postal service",
        "online": "Online, as an electronic result",
    },
}

CHANNEL_WORDS: dict[str, dict[str, str]] = {
    "vi": {
        "desk": "Trực tiếp",
        "online": "Trực tuyến",
        "post": "Qua dịch vụ bưu chính công ích",
    },
    "en": {
        "desk": "In person",
        "online": "Online",
        "post": "By public postal service",
    },
}

# Wording used by the PDF renderer. The HTML templates carry the same text themselves
# (receipt.vi.html / receipt.en.html); keep the two in step.
PDF_LABELS: dict[str, dict[str, str]] = {
    "vi": {
        "nation": "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "motto": "Độc lập - Tự do - Hạnh phúc",
        "desk": "BỘ PHẬN TIẾP NHẬN VÀ TRẢ KẾT QUẢ",
        "title": "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
        "subtitle": "",
        "dossier_code": "Mã hồ sơ: ",
        "receiving_unit": "Bộ phận tiếp nhận và trả kết quả: ",
        "applicant": "Tiếp nhận hồ sơ của: ",
        "citizen_id": "Số định danh cá nhân: ",
        "address": "Địa chỉ: ",
        "phone": "Số điện thoại: ",
        "email": "Email: ",
        "procedure": "Nội dung yêu cầu giải quyết: ",
        "procedure_code": "Mã thủ tục: ",
        "channel": "Hình thức nộp hồ sơ: ",
        "documents": "1. Thành phần hồ sơ nộp gồm:",
        "col_no": "STT",
        "col_name": "Tên giấy tờ",
        "col_kind": "Loại bản",
        "col_copies": "Số lượng",
        "no_documents": "(Không có giấy tờ)",
        "received": "2. ",
        "appointment": "3. Thời gian trả kết quả giải quyết hồ sơ: ",
        "return_method": "4. Đăng ký nhận kết quả: ",
        "fee": "5. Phí, lệ phí: ",
        "lookup": "6. Tra cứu tình trạng hồ sơ tại: ",
        "pin": "Mã tra cứu (PIN): ",
        "pin_note": "Vui lòng không cung cấp mã tra cứu cho người khác.",
        "qr_note": "Quét mã QR để tra cứu hồ sơ",
        "note": "Vui lòng mang theo giấy này khi đến nhận kết quả.",
        "submitter": "NGƯỜI NỘP HỒ SƠ",
        "officer": "NGƯỜI TIẾP NHẬN HỒ SƠ",
        "sign": "(Ký và ghi rõ họ tên)",
        "page": "Trang {page}/{nb}",
    },
    "en": {
        "nation": "SOCIALIST REPUBLIC OF VIETNAM",
        "motto": "Independence - Freedom - Happiness",
        "desk": "RECEPTION AND RESULT-RETURN DESK",
        "title": "DOSSIER RECEIPT AND APPOINTMENT SLIP",
        "subtitle": "(Giấy tiếp nhận hồ sơ và hẹn trả kết quả - Form 01)",
        "dossier_code": "Dossier code: ",
        "receiving_unit": "Reception and result-return desk: ",
        "applicant": "Dossier received from: ",
        "citizen_id": "Personal identification number: ",
        "address": "Address: ",
        "phone": "Phone: ",
        "email": "Email: ",
        "procedure": "Request: ",
        "procedure_code": "Procedure code: ",
        "channel": "Submitted: ",
        "documents": "1. Documents submitted:",
        "col_no": "No.",
        "col_name": "Document",
        "col_kind": "Type",
        "col_copies": "Copies",
        "no_documents": "(No documents)",
        "received": "2. ",
        "appointment": "3. Results will be returned at: ",
        "return_method": "4. Result delivery: ",
        "fee": "5. Fees and charges: ",
        "lookup": "6. Track this dossier at: ",
        "pin": "Lookup PIN: ",
        "pin_note": "Please do not share the lookup PIN with anyone.",
        "qr_note": "Scan the QR code to track the dossier",
        "note": "Please bring this slip when you collect the result.",
        "submitter": "SUBMITTED BY",
        "officer": "RECEIVED BY",
        "sign": "(Signature and full name)",
        "page": "Page {page}/{nb}",
    },
}


@dataclass(frozen=True)
class DocumentRow:
    number: int
    name: str
    kind: str  # "Bản chính" / "Bản sao" (or English)
    copies: int


@dataclass(frozen=True)
class ReceiptView:
    """Receipt values formatted for one language; what the templates and the PDF print."""

    lang: str
    dossier_code: str
    unit_code: str
    unit_name: str  # falls back to the unit code when the name is unknown
    unit_name_upper: str
    procedure_code: str
    procedure_name: str
    applicant_name: str
    masked_citizen_id: str
    applicant_phone: str | None
    applicant_email: str | None
    applicant_address: str
    documents: tuple[DocumentRow, ...]
    received_text: str  # "Tiếp nhận lúc 09 giờ 30 phút, ngày 14 tháng 07 năm 2025"
    appointment_text: str  # "16 giờ 00 phút, ngày 17 tháng 07 năm 2025"
    issue_date_text: str  # "Ngày 14 tháng 07 năm 2025", under the national header
    received_iso: str
    appointment_iso: str
    return_method_text: str
    channel_text: str
    fee_text: str
    officer_name: str
    lookup_url: str
    lookup_pin: str | None


def check_language(lang: str) -> None:
    if lang not in SUPPORTED_LANGUAGES:
        raise ValueError(f"unsupported language {lang!r}; supported: {SUPPORTED_LANGUAGES}")


def mask_citizen_id(citizen_id: str) -> str:
    """Keep only the last 4 characters: "001203004567" -> "********4567"."""
    value = "".join(citizen_id.split())
    if len(value) <= 4:
        return "*" * len(value)
    return "*" * (len(value) - 4) + value[-4:]


def local_time(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"datetime must be timezone-aware, got {moment!r}")
    return moment.astimezone(TIMEZONE)


def format_date(moment: datetime, lang: str) -> str:
    """Date in Vietnam time: 'ngày 17 tháng 07 năm 2025' / '17 July 2025'."""
    local = local_time(moment)
    if lang == "vi":
        return f"ngày {local.day:02d} tháng {local.month:02d} năm {local.year}"
    return f"{local.day} {_EN_MONTHS[local.month - 1]} {local.year}"


def format_moment(moment: datetime, lang: str) -> str:
    """Time and date in Vietnam time: '16 giờ 00 phút, ngày 17 tháng 07 năm 2025'."""
    local = local_time(moment)
    if lang == "vi":
        return f"{local.hour:02d} giờ {local.minute:02d} phút, {format_date(local, lang)}"
    return f"{local.hour:02d}:{local.minute:02d} on {format_date(local, lang)}"


def format_fee(fee_vnd: int, lang: str) -> str:
    if fee_vnd == 0:
        return "Không thu phí, lệ phí" if lang == "vi" else "None"
    if lang == "vi":
        return f"{fee_vnd:,}".replace(",", ".") + " đồng"
    return f"{fee_vnd:,} VND"


def build_view(receipt: Receipt, lang: str) -> ReceiptView:
    check_language(lang)
    unit_name = receipt.unit_name or receipt.unit_code
    original_word, copy_word = ("Bản chính", "Bản sao") if lang == "vi" else ("Original", "Copy")
    documents = tuple(
        DocumentRow(
            number=index,
            name=document.name,
            kind=original_word if document.original else copy_word,
            copies=document.copies,
        )
        for index, document in enumerate(receipt.documents, start=1)
    )
    received = format_moment(receipt.received_at, lang)
    received_text = f"Tiếp nhận lúc {received}" if lang == "vi" else f"Received at {received}"
    return ReceiptView(
        lang=lang,
        dossier_code=receipt.dossier_code,
        unit_code=receipt.unit_code,
        unit_name=unit_name,
        unit_name_upper=unit_name.upper(),
        procedure_code=receipt.procedure_code,
        procedure_name=receipt.procedure_name,
        applicant_name=receipt.applicant_name,
        masked_citizen_id=mask_citizen_id(receipt.applicant_citizen_id),
        applicant_phone=receipt.applicant_phone or None,
        applicant_email=receipt.applicant_email or None,
        applicant_address=receipt.applicant_address,
        documents=documents,
        received_text=received_text,
        appointment_text=format_moment(receipt.appointment_at, lang),
        issue_date_text=(
            "N" + format_date(receipt.received_at, lang)[1:]
            if lang == "vi"
            else "Date: " + format_date(receipt.received_at, lang)
        ),
        received_iso=local_time(receipt.received_at).isoformat(timespec="minutes"),
        appointment_iso=local_time(receipt.appointment_at).isoformat(timespec="minutes"),
        return_method_text=RETURN_METHOD_WORDS[lang][receipt.return_method],
        channel_text=CHANNEL_WORDS[lang][receipt.channel],
        fee_text=format_fee(receipt.fee_vnd, lang),
        officer_name=receipt.officer_name,
        lookup_url=receipt.lookup_url,
        lookup_pin=receipt.lookup_pin or None,
    )
