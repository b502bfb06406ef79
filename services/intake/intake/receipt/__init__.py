"""Reception receipt and appointment slip (Giấy tiếp nhận hồ sơ và hẹn trả kết quả, Form 01)."""

from .model import SUPPORTED_LANGUAGES, Receipt, ReceiptDocument
from .render import render_receipt_html, render_receipt_pdf

__all__ = [
    "SUPPORTED_LANGUAGES",
    "Receipt",
    "ReceiptDocument",
    "render_receipt_html",
    "render_receipt_pdf",
]
