"""Reception receipt and appointment slip (Form 01): HTML and PDF rendering."""

from __future__ import annotations

import dataclasses
import io
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import segno
from intake.receipt import (
    SUPPORTED_LANGUAGES,
    Receipt,
    ReceiptDocument,
    render_receipt_html,
    render_receipt_pdf,
)
from intake.receipt import _pdf as receipt_pdf
from intake.receipt._view import format_fee, mask_citizen_id
from intake.receipt.render import qr_svg, template_environment
from jinja2 import UndefinedError

VN = ZoneInfo("Asia/Ho_Chi_Minh")
CODE = "000.00.08.H38-250714-0012"
URL = f"https://dichvucong.hatinh.gov.vn/tra-cuu/{CODE}"


def make_receipt(**overrides: Any) -> Receipt:
    receipt = Receipt(
        dossier_code=CODE,
        unit_code="000.00.08.H38",
        unit_name="UBND xã Thạch Bình",
        procedure_code="1.001193",
        procedure_name="Đăng ký khai sinh",
        applicant_name="Nguyễn Thị Ánh",
        applicant_citizen_id="042190001234",
        applicant_phone="0912345678",
        applicant_email="anh@example.vn",
        applicant_address="Thôn Đông Tiến, xã Thạch Bình, tỉnh Hà Tĩnh",
        documents=(
            ReceiptDocument("Tờ khai đăng ký khai sinh", 1, True),
            ReceiptDocument("Giấy chứng sinh", 2, False),
        ),
        received_at=datetime(2025, 7, 14, 9, 30, tzinfo=VN),
        appointment_at=datetime(2025, 7, 17, 16, 0, tzinfo=VN),
        return_method="desk",
        channel="desk",
        officer_name="Trần Văn Hùng",
        lookup_url=URL,
        lookup_pin="482915",
        fee_vnd=50_000,
    )
    return dataclasses.replace(receipt, **overrides)


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)


# --- HTML ------------------------------------------------------------------------------------


def test_html_vietnamese_content() -> None:
    html = render_receipt_html(make_receipt())
    text = squash(html)
    assert html.startswith("<!DOCTYPE html>")
    assert '<html lang="vi">' in html
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text
    assert "Độc lập - Tự do - Hạnh phúc" in text
    assert "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ" in text
    assert "UBND XÃ THẠCH BÌNH" in text
    assert CODE in text
    assert "Nguyễn Thị Ánh" in text
    assert "Thôn Đông Tiến, xã Thạch Bình, tỉnh Hà Tĩnh" in text
    assert "Đăng ký khai sinh" in text and "1.001193" in text
    assert "Tiếp nhận lúc 09 giờ 30 phút, ngày 14 tháng 07 năm 2025" in text
    assert (
        "Thời gian trả kết quả giải quyết hồ sơ: "
        '<time datetime="2025-07-17T16:00+07:00" class="value">'
        "16 giờ 00 phút, ngày 17 tháng 07 năm 2025</time>"
    ) in text
    assert "Nhận trực tiếp tại Bộ phận tiếp nhận và trả kết quả" in text
    assert "50.000 đồng" in text
    assert URL in text
    assert "482915" in text
    assert "Trần Văn Hùng" in text
    # numbered documents with their copies
    assert re.search(r'<td class="num">1</td><td>Tờ khai đăng ký khai sinh</td>', text)
    assert re.search(r'<td class="num">2</td><td>Giấy chứng sinh</td>.*?Bản sao.*?>2</td>', text)


def test_html_masks_citizen_id() -> None:
    html = render_receipt_html(make_receipt())
    assert "********1234" in html
    assert "042190001234" not in html


def test_html_is_standalone() -> None:
    html = render_receipt_html(make_receipt())
    assert "<style>" in html and "@page { size: A4" in html
    assert "<link" not in html
    assert "<script" not in html
    assert "src=" not in html
    assert "url(" not in html
    # the only absolute URL on the page is the lookup link itself
    assert set(re.findall(r"https?://[^\s<\"']+", html)) == {URL}


def test_html_embeds_qr_svg() -> None:
    html = render_receipt_html(make_receipt())
    svg = re.search(r"<svg[^>]*>.*?</svg>", html, re.S)
    assert svg is not None
    assert 'class="qr-code"' in svg.group(0)
    assert "<path" in svg.group(0)


def test_qr_svg_depends_on_url() -> None:
    other = "https://dichvucong.hatinh.gov.vn/tra-cuu/000.00.08.H38-250714-0013"
    assert qr_svg(URL) != qr_svg(other)
    assert str(qr_svg(URL)) == str(qr_svg(URL))
    html = render_receipt_html(make_receipt())
    assert str(qr_svg(URL)) in html
    assert str(qr_svg(other)) not in html


def test_html_escapes_user_content() -> None:
    receipt = make_receipt(
        applicant_name="<script>alert('x')</script> Lê & Con",
        applicant_address='"><img src=x onerror=alert(1)>',
        documents=(ReceiptDocument("<b>Giấy</b>", 1, True),),
    )
    html = render_receipt_html(receipt)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Lê &amp; Con" in html
    assert "<img" not in html
    assert "&lt;b&gt;Giấy&lt;/b&gt;" in html


def test_html_optional_fields() -> None:
    html = render_receipt_html(
        make_receipt(
            lookup_pin=None,
            applicant_phone=None,
            applicant_email=None,
            unit_name=None,
            fee_vnd=0,
            documents=(),
        )
    )
    assert "Mã tra cứu" not in html
    assert "Số điện thoại" not in html
    assert "Email:" not in html
    assert "000.00.08.H38 (000.00.08.H38)" in html  # unit code stands in for the name
    assert "Không thu phí, lệ phí" in html
    assert "Không có giấy tờ" in html


def test_html_prints_vietnam_time() -> None:
    receipt = make_receipt(
        received_at=datetime(2025, 7, 14, 2, 30, tzinfo=UTC),  # 09:30 in Hà Nội
        appointment_at=datetime(2025, 7, 16, 20, 5, tzinfo=UTC),  # 03:05 the next day
    )
    text = squash(render_receipt_html(receipt))
    assert "Tiếp nhận lúc 09 giờ 30 phút, ngày 14 tháng 07 năm 2025" in text
    assert "03 giờ 05 phút, ngày 17 tháng 07 năm 2025" in text


def test_html_return_methods_in_words() -> None:
    post = render_receipt_html(make_receipt(return_method="post", channel="post"))
    assert "Nhận qua dịch vụ bưu chính công ích" in post
    online = render_receipt_html(make_receipt(return_method="online", channel="online"))
    assert "Nhận kết quả điện tử trực tuyến" in online
    assert "Trực tuyến" in online


def test_html_english() -> None:
    html = render_receipt_html(make_receipt(), lang="en")
    text = squash(html)
    assert '<html lang="en">' in html
    assert "DOSSIER RECEIPT AND APPOINTMENT SLIP" in text
    assert "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ" not in text
    assert "SOCIALIST REPUBLIC OF VIETNAM" in text
    assert "Independence - Freedom - Happiness" in text
    assert "16:00 on 17 July 2025" in text
    assert "Received at 09:30 on 14 July 2025" in text
    assert "50,000 VND" in text
    assert "In person at the reception and result-return desk" in text
    assert "Nguyễn Thị Ánh" in text
    assert CODE in text and "********1234" in text and "<svg" in html


@pytest.mark.parametrize("lang", ["fr", "VI", "", "vi-VN"])
def test_unsupported_language(lang: str) -> None:
    with pytest.raises(ValueError, match="unsupported language"):
        render_receipt_html(make_receipt(), lang=lang)
    with pytest.raises(ValueError, match="unsupported language"):
        render_receipt_pdf(make_receipt(), lang=lang)


def test_supported_languages() -> None:
    assert SUPPORTED_LANGUAGES == ("vi", "en")
    for lang in SUPPORTED_LANGUAGES:
        assert render_receipt_html(make_receipt(), lang=lang)


# --- Jinja environment -----------------------------------------------------------------------


def test_environment_is_strict_and_autoescaped() -> None:
    env = template_environment()
    assert env.autoescape is True
    with pytest.raises(UndefinedError):
        env.from_string("{{ missing }}").render()


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_template_missing_variable_raises(lang: str) -> None:
    template = template_environment().get_template(f"receipt.{lang}.html")
    with pytest.raises(UndefinedError):
        template.render(qr_svg="")  # no "r"


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_template_missing_field_raises(lang: str) -> None:
    @dataclasses.dataclass
    class Partial:  # a view without most fields
        dossier_code: str = CODE

    template = template_environment().get_template(f"receipt.{lang}.html")
    with pytest.raises(UndefinedError):
        template.render(r=Partial(), qr_svg="")


# --- Validation and formatting ---------------------------------------------------------------


def test_receipt_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        make_receipt(received_at=datetime(2025, 7, 14, 9, 30))
    with pytest.raises(ValueError, match="timezone-aware"):
        make_receipt(appointment_at=datetime(2025, 7, 17, 16, 0))
    with pytest.raises(ValueError, match="return_method"):
        make_receipt(return_method="email")
    with pytest.raises(ValueError, match="channel"):
        make_receipt(channel="fax")
    with pytest.raises(ValueError, match="fee_vnd"):
        make_receipt(fee_vnd=-1)
    with pytest.raises(ValueError, match="copies"):
        ReceiptDocument("Giấy chứng sinh", 0, True)


def test_mask_citizen_id() -> None:
    assert mask_citizen_id("042190001234") == "********1234"
    assert mask_citizen_id(" 0421 9000 1234 ") == "********1234"
    assert mask_citizen_id("1234") == "****"
    assert mask_citizen_id("") == ""


def test_format_fee() -> None:
    assert format_fee(1_234_567, "vi") == "1.234.567 đồng"
    assert format_fee(1_234_567, "en") == "1,234,567 VND"
    assert format_fee(0, "en") == "None"


# --- PDF -------------------------------------------------------------------------------------


def _font_available() -> bool:
    try:
        receipt_pdf.find_fonts()
    except RuntimeError:
        return False
    return True


needs_font = pytest.mark.skipif(
    not _font_available(), reason="no Unicode TTF font (apt-get install fonts-dejavu-core)"
)


def _pdf_text(data: bytes) -> str:
    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(io.BytesIO(data))
    return squash(" ".join(page.extract_text() for page in reader.pages))


@needs_font
def test_pdf_vietnamese() -> None:
    data = render_receipt_pdf(make_receipt())
    assert data.startswith(b"%PDF")
    text = _pdf_text(data)
    assert CODE in text
    assert "Mã hồ sơ" in text
    assert "Nguyễn Thị Ánh" in text
    assert "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ" in text
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text
    assert "Độc lập - Tự do - Hạnh phúc" in text
    assert "Tiếp nhận lúc 09 giờ 30 phút, ngày 14 tháng 07 năm 2025" in text
    assert "16 giờ 00 phút, ngày 17 tháng 07 năm 2025" in text
    assert "********1234" in text and "042190001234" not in text
    assert "Giấy chứng sinh" in text and "Bản sao" in text
    assert "50.000 đồng" in text
    assert "482915" in text
    assert "Trần Văn Hùng" in text
    assert "Trang 1/1" in text


@needs_font
def test_pdf_english() -> None:
    data = render_receipt_pdf(make_receipt(), lang="en")
    assert data.startswith(b"%PDF")
    text = _pdf_text(data)
    assert "DOSSIER RECEIPT AND APPOINTMENT SLIP" in text
    assert "16:00 on 17 July 2025" in text
    assert CODE in text and "Nguyễn Thị Ánh" in text
    assert "Page 1/1" in text


@needs_font
def test_pdf_prints_user_text_verbatim() -> None:
    name = "Lê {nb} {page} **Đậm** <b>x</b>"
    text = _pdf_text(render_receipt_pdf(make_receipt(applicant_name=name)))
    assert name in text


@needs_font
def test_pdf_without_pin_and_many_documents() -> None:
    documents = tuple(ReceiptDocument(f"Giấy tờ số {n}", 1, n % 2 == 0) for n in range(1, 41))
    data = render_receipt_pdf(make_receipt(lookup_pin=None, documents=documents))
    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(io.BytesIO(data))
    pages = len(reader.pages)
    assert pages >= 2
    text = _pdf_text(data)
    assert f"Trang {pages}/{pages}" in text
    assert "Mã tra cứu" not in text
    assert "Giấy tờ số 40" in text
    assert "NGƯỜI TIẾP NHẬN HỒ SƠ" in text


def _read_qr_matrix(image: Any) -> list[list[bool]]:
    """Sample the module grid of a clean, axis-aligned QR image (quiet zone included)."""
    gray = image.convert("L")
    width, height = gray.size
    pixels = gray.load()
    dark = [[pixels[x, y] < 128 for x in range(width)] for y in range(height)]
    rows = [y for y in range(height) if any(dark[y])]
    cols = [x for x in range(width) if any(dark[y][x] for y in range(height))]
    top, left, right = rows[0], cols[0], cols[-1]
    run = 0
    while dark[top][left + run]:
        run += 1
    module = run / 7  # the top-left finder pattern is 7 modules wide
    size = round((right - left + 1) / module)
    return [
        [dark[int(top + (r + 0.5) * module)][int(left + (c + 0.5) * module)] for c in range(size)]
        for r in range(size)
    ]


def _segno_matrix(url: str, error: str) -> list[list[bool]]:
    return [[bool(v) for v in row] for row in segno.make_qr(url, error=error).matrix]


@needs_font
def test_pdf_qr_encodes_lookup_url() -> None:
    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(io.BytesIO(render_receipt_pdf(make_receipt())))
    images = reader.pages[0].images
    assert len(images) == 1
    matrix = _read_qr_matrix(images[0].image)
    # Same symbol as segno makes for the lookup URL (whatever error level the renderer chose),
    # and not the symbol of another dossier's URL.
    assert any(matrix == _segno_matrix(URL, level) for level in "lmqh")
    other = URL.replace("0012", "0013")
    assert not any(matrix == _segno_matrix(other, level) for level in "lmqh")


# --- PDF font lookup -------------------------------------------------------------------------


def test_font_override_missing_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    missing = tmp_path / "nope.ttf"
    monkeypatch.setenv("MOTCUA_PDF_FONT", str(missing))
    with pytest.raises(RuntimeError, match="MOTCUA_PDF_FONT") as info:
        render_receipt_pdf(make_receipt())
    assert str(missing) in str(info.value)
    assert "apt-get install fonts-dejavu-core" in str(info.value)


def test_no_font_found(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("MOTCUA_PDF_FONT", raising=False)
    tried = (tmp_path / "a" / "DejaVuSans.ttf", tmp_path / "b" / "DejaVuSans.ttf")
    monkeypatch.setattr(receipt_pdf, "FONT_CANDIDATES", tried)
    with pytest.raises(RuntimeError) as info:
        render_receipt_pdf(make_receipt())
    message = str(info.value)
    assert all(str(path) in message for path in tried)
    assert "apt-get install fonts-dejavu-core" in message
    assert "MOTCUA_PDF_FONT" in message


@needs_font
def test_font_override_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    regular = receipt_pdf.find_fonts().regular
    copy = tmp_path / "MyFont.ttf"
    copy.write_bytes(regular.read_bytes())
    monkeypatch.setenv("MOTCUA_PDF_FONT", str(copy))
    monkeypatch.delenv("MOTCUA_PDF_FONT_BOLD", raising=False)
    monkeypatch.setattr(receipt_pdf, "FONT_CANDIDATES", ())
    fonts = receipt_pdf.find_fonts()
    assert fonts.regular == copy
    assert fonts.bold is None  # no MyFont-Bold.ttf next to it: regular face used for bold
    data = render_receipt_pdf(make_receipt())
    assert data.startswith(b"%PDF")
    assert "Nguyễn Thị Ánh" in _pdf_text(data)
