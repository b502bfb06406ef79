"""PDF layout of the receipt (fpdf2), with an embedded Unicode TrueType font.

The PDF core fonts (Helvetica, Times) are Latin-1 only and cannot print Vietnamese, so a TTF is
required. DejaVu Sans is looked up in the usual places; ``MOTCUA_PDF_FONT`` overrides the lookup
with the path of any .ttf that has Vietnamese glyphs (its "-Bold" sibling is used when present,
or ``MOTCUA_PDF_FONT_BOLD``).
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from ._view import PDF_LABELS, ReceiptView

FONT_ENV = "MOTCUA_PDF_FONT"
FONT_BOLD_ENV = "MOTCUA_PDF_FONT_BOLD"
FONT_INSTALL_HINT = (
    "Install DejaVu Sans (Debian/Ubuntu: `apt-get install fonts-dejavu-core`; Alpine: "
    "`apk add font-dejavu`; Fedora: `dnf install dejavu-sans-fonts`) or set "
    f"{FONT_ENV} to the path of a .ttf font with Vietnamese glyphs."
)

# Regular faces, in lookup order. The bold face is the "-Bold" file next to the regular one.
FONT_CANDIDATES: tuple[Path, ...] = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),  # Debian, Ubuntu
    Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),  # Alpine, older Fedora/CentOS
    Path("/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf"),  # Fedora, RHEL 9
    Path("/usr/share/fonts/TTF/DejaVuSans.ttf"),  # Arch
    Path("/usr/local/share/fonts/dejavu/DejaVuSans.ttf"),  # FreeBSD
    Path("/usr/local/share/fonts/DejaVuSans.ttf"),
    Path("/Library/Fonts/DejaVuSans.ttf"),  # macOS
)

FAMILY = "ReceiptSans"

# A4, margins per Decree 30/2020 conventions (left 25-35 mm, right 15-20 mm), in mm.
_MARGIN_LEFT = 25.0
_MARGIN_RIGHT = 15.0
_MARGIN_TOP = 15.0
_MARGIN_BOTTOM = 18.0
_LINE = 6.0  # line height of body text
_BODY_PT = 11
_QR_SIZE = 34.0
# fpdf2 replaces this alias by the page count everywhere in the document: an unusual string, so
# user text such as "{nb}" is printed as typed.
_PAGE_COUNT_ALIAS = "{motcua:nb}"


@dataclass(frozen=True)
class FontFiles:
    regular: Path
    bold: Path | None
    italic: Path | None


def _sibling(regular: Path, *suffixes: str) -> Path | None:
    for suffix in suffixes:
        candidate = regular.with_name(f"{regular.stem}{suffix}{regular.suffix}")
        if candidate.is_file():
            return candidate
    return None


def find_fonts() -> FontFiles:
    """Locate the TTF files; RuntimeError (naming the paths tried) when there are none."""
    override = os.environ.get(FONT_ENV, "").strip()
    if override:
        regular = Path(override).expanduser()
        if not regular.is_file():
            raise RuntimeError(
                f"{FONT_ENV}={override!r} does not name a readable font file. " + FONT_INSTALL_HINT
            )
        candidates: tuple[Path, ...] = (regular,)
    else:
        candidates = FONT_CANDIDATES
    for regular in candidates:
        if not regular.is_file():
            continue
        bold_override = os.environ.get(FONT_BOLD_ENV, "").strip()
        bold = Path(bold_override).expanduser() if bold_override else None
        if bold is None or not bold.is_file():
            bold = _sibling(regular, "-Bold", "Bold", "bd")
        return FontFiles(
            regular=regular,
            bold=bold,
            italic=_sibling(regular, "-Oblique", "-Italic", "Italic", "i"),
        )
    tried = ", ".join(str(path) for path in candidates)
    raise RuntimeError(
        f"No Unicode TrueType font found for the receipt PDF (tried: {tried}). " + FONT_INSTALL_HINT
    )


class _ReceiptPDF(FPDF):
    def __init__(self, fonts: FontFiles, footer_prefix: str, page_label: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.footer_prefix = footer_prefix  # printed as is
        self.page_label = page_label  # "{page}" and "{nb}" are replaced by the numbers
        self.alias_nb_pages(_PAGE_COUNT_ALIAS)
        self.add_font(FAMILY, "", str(fonts.regular))
        # Without a bold/italic face, fall back to the regular one rather than failing.
        self.add_font(FAMILY, "B", str(fonts.bold or fonts.regular))
        self.add_font(FAMILY, "I", str(fonts.italic or fonts.regular))
        self.set_margins(_MARGIN_LEFT, _MARGIN_TOP, _MARGIN_RIGHT)
        self.set_auto_page_break(True, margin=_MARGIN_BOTTOM)

    def footer(self) -> None:
        self.set_y(-12)
        self.use("", 8)
        self.set_text_color(90)
        page = self.page_label.replace("{page}", str(self.page_no()))
        page = page.replace("{nb}", _PAGE_COUNT_ALIAS)
        self.cell(0, 5, f"{self.footer_prefix} - {page}", align="R")
        self.set_text_color(0)

    @property
    def content_width(self) -> float:
        return self.w - self.l_margin - self.r_margin

    def use(self, style: str = "", size: float = _BODY_PT) -> None:
        self.set_font(FAMILY, style, size)

    def centered(self, text: str, style: str = "", size: float = _BODY_PT) -> None:
        self.use(style, size)
        self.multi_cell(
            self.content_width, _LINE, text, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )

    def field(self, label: str, value: str, value_style: str = "B") -> None:
        """Label then value, flowing over as many lines as needed (plain text, no markup)."""
        self.set_x(self.l_margin)
        self.use("")
        self.write(_LINE, label)
        self.use(value_style)
        self.write(_LINE, value)
        self.ln(_LINE)

    def column(
        self, x: float, y: float, width: float, lines: list[tuple[str, str, float]]
    ) -> float:
        """Centred lines (text, style, size) in a column; returns the y below the column."""
        self.set_xy(x, y)
        for text, style, size in lines:
            self.use(style, size)
            self.multi_cell(width, 5.5, text, align="C", new_x=XPos.LEFT, new_y=YPos.NEXT)
        return self.get_y()

    def rule(self, x_center: float, y: float, length: float) -> None:
        self.set_line_width(0.3)
        self.line(x_center - length / 2, y, x_center + length / 2, y)


def render_pdf(view: ReceiptView, qr_png: bytes, created_at: datetime) -> bytes:
    labels = PDF_LABELS[view.lang]
    pdf = _ReceiptPDF(find_fonts(), labels["dossier_code"] + view.dossier_code, labels["page"])
    pdf.set_title(f"{labels['title']} - {view.dossier_code}")
    pdf.set_subject(view.procedure_name)
    pdf.set_creator("motcua")
    pdf.set_lang(view.lang)
    pdf.set_creation_date(created_at)
    pdf.add_page()

    # National header: receiving unit on the left, state title and motto on the right.
    left_w, right_w = 78.0, pdf.content_width - 78.0
    top = pdf.get_y()
    left_end = pdf.column(
        pdf.l_margin,
        top,
        left_w,
        [(view.unit_name_upper, "", 9.5), (labels["desk"], "B", 9.5)],
    )
    pdf.rule(pdf.l_margin + left_w / 2, left_end + 1, 30)
    right_x = pdf.l_margin + left_w
    right_end = pdf.column(
        right_x, top, right_w, [(labels["nation"], "B", 10.5), (labels["motto"], "B", 11)]
    )
    pdf.rule(right_x + right_w / 2, right_end + 1, 55)
    pdf.set_xy(right_x, right_end + 2.5)
    pdf.use("I", 10.5)
    pdf.multi_cell(right_w, 5.5, view.issue_date_text, align="C", new_x=XPos.LMARGIN)
    pdf.set_y(max(left_end, pdf.get_y()) + 6)

    # Title and dossier code.
    pdf.centered(labels["title"], "B", 14)
    if labels["subtitle"]:
        pdf.centered(labels["subtitle"], "I", 10)
    pdf.centered(labels["dossier_code"] + view.dossier_code, "B", 12)
    pdf.ln(3)

    # Applicant and request.
    pdf.field(labels["receiving_unit"], f"{view.unit_name} ({view.unit_code})")
    pdf.field(labels["applicant"], view.applicant_name)
    pdf.field(labels["citizen_id"], view.masked_citizen_id)
    pdf.field(labels["address"], view.applicant_address)
    if view.applicant_phone:
        pdf.field(labels["phone"], view.applicant_phone)
    if view.applicant_email:
        pdf.field(labels["email"], view.applicant_email)
    pdf.field(labels["procedure"], view.procedure_name)
    pdf.field(labels["procedure_code"], view.procedure_code)
    pdf.field(labels["channel"], view.channel_text)
    pdf.ln(1)

    # 1. Documents received.
    pdf.use("")
    pdf.write(_LINE, labels["documents"])
    pdf.ln(_LINE + 1)
    if view.documents:
        pdf.use("", 10.5)
        with pdf.table(
            col_widths=(12, 104, 30, 24),
            text_align=("CENTER", "LEFT", "CENTER", "CENTER"),
            line_height=5.5,
            padding=1,
            width=pdf.content_width,
        ) as table:
            header = table.row()
            for key in ("col_no", "col_name", "col_kind", "col_copies"):
                header.cell(labels[key])
            for document in view.documents:
                row = table.row()
                row.cell(str(document.number))
                row.cell(document.name)
                row.cell(document.kind)
                row.cell(str(document.copies))
        pdf.ln(2)
    else:
        pdf.field("", labels["no_documents"], "I")

    # 2.-5. Times, return method, fee.
    pdf.field(labels["received"], view.received_text)
    pdf.field(labels["appointment"], view.appointment_text)
    pdf.field(labels["return_method"], view.return_method_text)
    pdf.field(labels["fee"], view.fee_text)

    # 6. Lookup link, PIN and QR code (the QR sits on the right of the text).
    if pdf.will_page_break(_QR_SIZE + 8):
        pdf.add_page()
    qr_top = pdf.get_y() + 1
    qr_x = pdf.w - pdf.r_margin - _QR_SIZE
    pdf.image(io.BytesIO(qr_png), x=qr_x, y=qr_top, w=_QR_SIZE, h=_QR_SIZE, alt_text="QR")
    pdf.use("I", 8.5)
    pdf.set_xy(qr_x - 6, qr_top + _QR_SIZE)
    pdf.multi_cell(_QR_SIZE + 6, 4, labels["qr_note"], align="C")
    qr_bottom = pdf.get_y()
    pdf.set_xy(pdf.l_margin, qr_top + 2)
    pdf.set_right_margin(_MARGIN_RIGHT + _QR_SIZE + 4)
    pdf.field(labels["lookup"], view.lookup_url, "")
    if view.lookup_pin:
        pdf.field(labels["pin"], view.lookup_pin)
        pdf.use("I", 9.5)
        pdf.multi_cell(pdf.content_width, 5, labels["pin_note"], align="L", new_x=XPos.LMARGIN)
    pdf.ln(1)
    pdf.use("I", 10)
    pdf.multi_cell(pdf.content_width, 5, labels["note"], align="L", new_x=XPos.LMARGIN)
    pdf.set_right_margin(_MARGIN_RIGHT)
    pdf.set_y(max(pdf.get_y(), qr_bottom) + 6)

    # Signatures.
    if pdf.will_page_break(40):
        pdf.add_page()
    half = pdf.content_width / 2
    top = pdf.get_y()
    for index, (heading, name) in enumerate(
        ((labels["submitter"], view.applicant_name), (labels["officer"], view.officer_name))
    ):
        x = pdf.l_margin + index * half
        end = pdf.column(x, top, half, [(heading, "B", 11), (labels["sign"], "I", 10)])
        pdf.column(x, end + 20, half, [(name, "B", 11)])

    return bytes(pdf.output())
