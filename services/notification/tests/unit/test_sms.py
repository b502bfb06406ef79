"""SMS cost: GSM-7 160/153 and UCS-2 70/67 boundaries, and Vietnamese without diacritics."""

from __future__ import annotations

import unicodedata

import pytest
from notification.domain.sms import GSM7, GSM7_BASIC, UCS2, Segments, count_segments, unaccent

# Starts with "Đ" so that even a one-character cut is outside GSM-7.
VIETNAMESE = "Đã tiếp nhận hồ sơ, hẹn trả kết quả ngày 07/07/2025. "


def vietnamese(length: int) -> str:
    """Real Vietnamese text cut to `length` characters (all in the BMP: one UTF-16 unit each)."""
    text = (VIETNAMESE * (length // len(VIETNAMESE) + 1))[:length]
    assert len(text) == length
    return text


def test_the_gsm7_basic_table_has_128_distinct_characters() -> None:
    assert len(GSM7_BASIC) == 128
    assert len(set(GSM7_BASIC)) == 128


@pytest.mark.parametrize(
    ("length", "count"),
    [(1, 1), (159, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)],
)
def test_gsm7_fits_160_in_one_segment_then_153_per_part(length: int, count: int) -> None:
    assert count_segments("a" * length) == Segments(GSM7, length, count)


def test_the_empty_text_still_costs_one_segment() -> None:
    assert count_segments("") == Segments(GSM7, 0, 1)


def test_plain_ascii_and_gsm_accents_stay_gsm7() -> None:
    text = "Ho so 000.00.08.H38-250702-0001 da duoc tiep nhan. Ma tra cuu: 482913 @£$¥èéÄÖÑÜ§¿"
    assert count_segments(text) == Segments(GSM7, len(text), 1)


@pytest.mark.parametrize("char", list("^{}\\[~]|€\f"))
def test_each_extension_character_counts_two_septets(char: str) -> None:
    assert count_segments(char) == Segments(GSM7, 2, 1)


def test_extension_characters_push_a_text_over_the_single_segment_limit() -> None:
    # 158 + 2 = 160 septets: one segment; 159 + 2 = 161: two.
    assert count_segments("a" * 158 + "€") == Segments(GSM7, 160, 1)
    assert count_segments("a" * 159 + "€") == Segments(GSM7, 161, 2)
    assert count_segments("[" * 80) == Segments(GSM7, 160, 1)
    assert count_segments("[" * 81) == Segments(GSM7, 162, 2)


@pytest.mark.parametrize(
    ("length", "count"),
    [(1, 1), (69, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)],
)
def test_vietnamese_travels_as_ucs2_70_in_one_segment_then_67_per_part(
    length: int, count: int
) -> None:
    assert count_segments(vietnamese(length)) == Segments(UCS2, length, count)


def test_one_non_gsm_character_turns_the_whole_text_ucs2() -> None:
    text = "a" * 69 + "ạ"
    assert count_segments(text) == Segments(UCS2, 70, 1)
    assert count_segments("a" * 70 + "ạ") == Segments(UCS2, 71, 2)


def test_ucs2_counts_utf16_units_so_an_emoji_costs_two() -> None:
    assert count_segments("👍") == Segments(UCS2, 2, 1)
    assert count_segments("a" * 68 + "👍") == Segments(UCS2, 70, 1)
    assert count_segments("a" * 69 + "👍") == Segments(UCS2, 71, 2)


def test_decomposed_vietnamese_costs_a_unit_per_combining_mark() -> None:
    # "ệ" is one unit precomposed (NFC) but three decomposed (e + circumflex + dot below).
    assert count_segments(unicodedata.normalize("NFC", "ệ")) == Segments(UCS2, 1, 1)
    assert count_segments(unicodedata.normalize("NFD", "ệ")) == Segments(UCS2, 3, 1)


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("Đăng ký khai sinh", "Dang ky khai sinh"),
        ("Hồ sơ đã được tiếp nhận", "Ho so da duoc tiep nhan"),
        ("Nguyễn Thị Ánh", "Nguyen Thi Anh"),
        ("Công an xã Thạch Bình", "Cong an xa Thach Binh"),
        ("ĐẶNG VĂN ƯỚC, Ở ĐÂU", "DANG VAN UOC, O DAU"),
        ("Ưu tiên ơn đời", "Uu tien on doi"),
        ("Thôn 1, xã Thạch Bình, tỉnh Hà Tĩnh", "Thon 1, xa Thach Binh, tinh Ha Tinh"),
        ("already plain 123 @ #", "already plain 123 @ #"),
        ("", ""),
    ],
)
def test_unaccent_strips_vietnamese_diacritics(text: str, plain: str) -> None:
    assert unaccent(text) == plain


def test_unaccent_handles_decomposed_input() -> None:
    assert unaccent(unicodedata.normalize("NFD", "Đăng ký khai sinh")) == "Dang ky khai sinh"


def test_unaccented_vietnamese_fits_gsm7_and_costs_less() -> None:
    text = vietnamese(140)
    assert count_segments(text) == Segments(UCS2, 140, 3)
    assert count_segments(unaccent(text)) == Segments(GSM7, 140, 1)
