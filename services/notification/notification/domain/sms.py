"""How many SMS segments a text costs, and its unaccented form.

A text that fits the GSM 03.38 alphabet travels as GSM-7: 160 characters in one segment, 153 per
segment when concatenated (the rest is the concatenation header). Vietnamese with diacritics does
not fit, so it travels as UCS-2: 70 UTF-16 units in one segment, 67 per segment when concatenated.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass

GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = "^{}\\[~]|€\f"  # each costs two septets (escape + character)

GSM7, UCS2 = "GSM-7", "UCS-2"


@dataclass(frozen=True)
class Segments:
    encoding: str
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    count: int


def count_segments(text: str) -> Segments:
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text):
        septets = sum(2 if ch in GSM7_EXTENSION else 1 for ch in text)
        return Segments(GSM7, septets, _count(septets, 160, 153))
    units = len(text.encode("utf-16-le")) // 2
    return Segments(UCS2, units, _count(units, 70, 67))


def _count(units: int, single: int, per_part: int) -> int:
    if units == 0:
        return 1
    return 1 if units <= single else math.ceil(units / per_part)


def unaccent(text: str) -> str:
    """Vietnamese without diacritics ("Hồ sơ đã được tiếp nhận" -> "Ho so da duoc tiep nhan").

    đ/Đ are letters of their own, not a d with a mark, so NFD leaves them: mapped by hand.
    """
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))
