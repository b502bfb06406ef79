"""The statistics in the layout a clerk files (tình hình giải quyết TTHC): CSV and XLSX."""

from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

TITLE = "BÁO CÁO TÌNH HÌNH GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH"
# (header, key in a statistics row); rates are shown in percent
COLUMNS = (
    ("Tổng số hồ sơ", "total"),
    ("Số kỳ trước chuyển qua", "carried_over"),
    ("Số mới tiếp nhận", "received"),
    ("Trong đó: trực tuyến", "received_online"),
    ("Đã giải quyết: tổng số", "completed"),
    ("Đã giải quyết: trước hạn", "completed_early"),
    ("Đã giải quyết: đúng hạn", "completed_on_time"),
    ("Đã giải quyết: quá hạn", "completed_late"),
    ("Đang giải quyết: tổng số", "in_progress"),
    ("Đang giải quyết: chưa đến hạn", "in_progress_on_time"),
    ("Đang giải quyết: quá hạn", "in_progress_overdue"),
    ("Chờ bổ sung", "awaiting_supplement"),
    ("Yêu cầu bổ sung", "supplement_requested"),
    ("Từ chối", "refused"),
    ("Rút hồ sơ", "withdrawn"),
    ("Tỷ lệ đúng hạn (%)", "on_time_rate"),
    ("Thời gian giải quyết trung bình (ngày làm việc)", "average_processing_days"),
)
HEADERS = ("STT", "Lĩnh vực", *(header for header, _ in COLUMNS))


def table(report: dict[str, Any], names: dict[str, dict[str, str]]) -> list[list[Any]]:
    """One row per field, then the total; the numbers are the report's own."""
    rows: list[list[Any]] = []
    for number, row in enumerate(report["by_field"], start=1):
        name = (names.get(row["field"]) or {}).get("vi") or row["field"]
        rows.append([number, name, *(_cell(row, key) for _, key in COLUMNS)])
    rows.append(["", "Tổng cộng", *(_cell(report["totals"], key) for _, key in COLUMNS)])
    return rows


def _cell(row: dict[str, Any], key: str) -> Any:
    value = row[key]
    if key == "on_time_rate":
        return None if value is None else round(value * 100, 2)
    return value


def to_csv(report: dict[str, Any], names: dict[str, dict[str, str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADERS)
    writer.writerows(table(report, names))
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")  # BOM: Excel reads it as UTF-8


def to_xlsx(report: dict[str, Any], names: dict[str, dict[str, str]], unit: str) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Tình hình giải quyết"
    period = report["period"]
    sheet.append([TITLE])
    sheet.append([f"Đơn vị: {unit}    Kỳ báo cáo: từ {period['from']} đến {period['to']}"])
    sheet.append([])
    sheet.append(list(HEADERS))
    for row in table(report, names):
        sheet.append(row)
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADERS))
    sheet["A1"].font = Font(bold=True, size=13)
    sheet["A1"].alignment = Alignment(horizontal="center")
    for cell in sheet[4]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    sheet.column_dimensions["B"].width = 36
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
