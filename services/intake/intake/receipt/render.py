"""Render the reception receipt and appointment slip (Form 01) as HTML and PDF.

Giấy tiếp nhận hồ sơ và hẹn trả kết quả, Mẫu số 01 of Circular 01/2018/TT-VPCP (carried forward
by Decree 118/2025/NĐ-CP). The HTML page is self-contained (inline CSS, QR code as inline SVG) so
it prints offline; the PDF embeds a Unicode TrueType font (see :mod:`intake.receipt._pdf`).
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

import segno
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from ._pdf import render_pdf
from ._view import build_view, check_language
from .model import Receipt

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"

# Error-correction level M (15 %): survives a crumpled slip; the link stays short enough for a
# small symbol. Never a Micro QR code (segno.make would pick one for short URLs): phones can't
# read those.
_QR_ERROR = "m"


@lru_cache(maxsize=1)
def template_environment() -> Environment:
    """The Jinja2 environment of the receipt templates (autoescaped, StrictUndefined)."""
    return Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def make_qr(url: str) -> segno.QRCode:
    """The QR code of the public lookup link (regular QR, not Micro QR)."""
    return segno.make_qr(url, error=_QR_ERROR)


def qr_svg(url: str) -> Markup:
    """Inline <svg> element (no XML declaration, no fixed size: CSS sets it) for the URL."""
    svg = make_qr(url).svg_inline(
        scale=1, border=4, omitsize=True, svgclass="qr-code", lineclass="qr-line", dark="#000"
    )
    # segno builds the SVG from the module matrix only; nothing from the input is copied in.
    return Markup(svg)  # noqa: S704


def qr_png(url: str, scale: int = 10) -> bytes:
    """PNG bytes of the QR code (4-module quiet zone), for the PDF."""
    buffer = io.BytesIO()
    make_qr(url).save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()


def render_receipt_html(receipt: Receipt, lang: str = "vi") -> str:
    """A complete, standalone, printable (A4) HTML page of the receipt."""
    check_language(lang)
    template = template_environment().get_template(f"receipt.{lang}.html")
    return template.render(r=build_view(receipt, lang), qr_svg=qr_svg(receipt.lookup_url))


def render_receipt_pdf(receipt: Receipt, lang: str = "vi") -> bytes:
    """The receipt as an A4 PDF (bytes starting with %PDF).

    Raises RuntimeError when no Unicode TrueType font can be found (see ``MOTCUA_PDF_FONT``).
    """
    check_language(lang)
    return render_pdf(
        build_view(receipt, lang), qr_png(receipt.lookup_url), created_at=receipt.received_at
    )
