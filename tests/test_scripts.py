"""Every script a customer types prints, in a font chosen for it, and reads back."""

from __future__ import annotations

import ctypes
import unicodedata

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest

from prodsheets.scripts import direction, language, text_attrs

import pdfcheck
from orders import one_design, print_once

NAMES = {
    "Latin": "Zoë Ångström-Łukasz",
    "Greek": "Καλή χρονιά, Νίκο",
    "Cyrillic": "С днём рождения, Аня",
    "Japanese": "山田 花子 やまだ はなこ",
    "Chinese": "王小明 北京市",
    "Korean": "김민준 서울",
    "Arabic": "محمد عبد الله",
    "Hebrew": "דוד כהן",
    "Thai": "สมชาย ใจดี",
    "Devanagari": "अनीता शर्मा",
    "Emoji": "🛹🔥 👍🏽 👨‍👩‍👧 ❤️",
}
# The font each script must come from (PDF base font names carry a subset prefix):
# Liberation ("Prodsheets") where it has the script, else the system's Noto.
FONTS = {
    "Latin": "Prodsheets-",
    "Greek": "Prodsheets-",
    "Cyrillic": "Prodsheets-",
    "Japanese": "Noto-Sans-CJK-JP",
    "Chinese": "Noto-Sans-CJK-JP",
    "Korean": "Noto-Sans-CJK-JP",
    "Arabic": "Noto-Sans-Arabic",
    "Hebrew": "Prodsheets-",  # Liberation has Hebrew
    "Thai": "Noto-Sans-Thai",
    "Devanagari": "Noto-Sans-Devanagari",
}


@pytest.fixture(scope="module")
def names_ticket(tmp_path_factory):
    """One ticket with a custom text and a production value in every script."""
    data = one_design(entries=[("Colour", "Black"), *((f"{s} name", t) for s, t in NAMES.items())],
                      texts=list(NAMES.items()))  # fmt: skip
    return print_once(data, tmp_path_factory.mktemp("scripts"))


def fonts_of(path, needle: str) -> set[str]:
    """The fonts the first printed ``needle`` is drawn with."""
    pdf = pdfium.PdfDocument(str(path))
    try:
        for page in pdf:
            textpage = page.get_textpage()
            found = textpage.search(needle, match_case=True).get_next()
            if not found:
                continue
            names = set()
            for index in range(found[0], found[0] + found[1]):
                buffer = ctypes.create_string_buffer(256)
                pdfium_c.FPDFText_GetFontInfo(textpage, index, buffer, 256, ctypes.c_int())
                if buffer.value:
                    names.add(buffer.value.decode().split("+", 1)[-1])
            return names
        return set()
    finally:
        pdf.close()


def letters(text: str) -> str:
    """Only the letters (no vowel signs, viramas or stray codes): how Devanagari is compared,
    since WeasyPrint's text layer maps a cluster's text to its first glyph."""
    return "".join(c for c in text if unicodedata.category(c) == "Lo")


def test_every_script_prints_complete(names_ticket):
    result, path = names_ticket
    assert result.exit_code == 0, result.stderr
    assert "INCOMPLETE" not in pdfcheck.text(path)
    assert pdfcheck.page_count(path) == 1


@pytest.mark.parametrize("script", [s for s in NAMES if s not in ("Devanagari", "Emoji")])
def test_text_reads_back_exactly(names_ticket, script):
    _, path = names_ticket
    assert NAMES[script] in pdfcheck.text(path)


def test_emoji_read_back_exactly(names_ticket):
    _, path = names_ticket  # pdfium's text layer stops after the first emoji; pypdf's does not
    assert pdfcheck.raw_text(path).count(NAMES["Emoji"]) == 2  # ZWJ family and VS16 kept


def test_devanagari_reads_back_letter_for_letter(names_ticket):
    _, path = names_ticket
    assert letters(NAMES["Devanagari"]) in letters(pdfcheck.text(path))


@pytest.mark.parametrize("script", list(FONTS))
def test_each_script_comes_from_its_font(names_ticket, script):
    _, path = names_ticket
    used = fonts_of(path, NAMES[script].split()[0])
    assert used and all(name.startswith(FONTS[script]) for name in used), used


def test_every_font_is_embedded_emoji_included(names_ticket):
    _, path = names_ticket
    embedded = pdfcheck.fonts(path)
    assert all(embedded.values()), embedded
    assert any("Noto-Color-Emoji" in name for name in embedded)


def test_digits_and_spaces_never_come_from_the_emoji_font(names_ticket):
    _, path = names_ticket
    for text in ("Qty", "Item 1 of 1", "9001"):
        assert not any("Emoji" in name for name in fonts_of(path, text)), text


def test_emoji_print_in_colour(names_ticket):
    _, path = names_ticket
    page, (_, top, right, bottom) = pdfcheck.find_text(path, "Emoji name")
    region = pdfcheck.render_region(path, page, (right + 2, top - 1, 198, bottom + 1))
    colours = {region.getpixel((x, y)) for x in range(region.width) for y in range(region.height)}
    assert any(max(c) - min(c) > 100 for c in colours)  # not grey: a colour picture


def test_arabic_and_japanese_get_their_direction_and_language(names_ticket):
    assert direction(NAMES["Arabic"]) == direction(NAMES["Hebrew"]) == "rtl"
    assert direction("Name: محمد 42") == "ltr" and direction("محمد: Name 42") == "rtl"
    assert direction("") == direction("42 ") == "ltr"
    assert language(NAMES["Japanese"]) == "ja" and language(NAMES["Korean"]) == "ko"
    assert language(NAMES["Chinese"]) is None  # Han alone does not say which language
    assert text_attrs(NAMES["Arabic"]) == ' dir="rtl"'
    assert text_attrs(NAMES["Korean"]) == ' lang="ko"' and text_attrs("Zoë") == ""


def test_the_ticket_marks_them_in_its_html(print_order):
    texts = [("Name", NAMES["Arabic"]), ("Sleeve", NAMES["Korean"])]
    result, path = print_order(texts=texts, args=("--html",))
    assert result.exit_code == 0, result.stderr
    html = path.with_suffix(".html").read_text(encoding="utf-8")
    assert f'<span class="custom-text" dir="rtl">{NAMES["Arabic"]}</span>' in html
    assert f'<span class="custom-text" lang="ko">{NAMES["Korean"]}</span>' in html


def test_characters_no_font_has_are_one_line_per_field(print_order):
    result, path = print_order(
        entries=[("Colour", "Black"), ("Symbol", "Apple \uf8ff")],
        texts=[("Engraving", "Pharaoh \U000f0042 and \U0010fffd, again \U000f0042")],
    )
    assert result.exit_code == 3
    engraving = ("item 1 of 1, custom text 'Engraving': characters '\\U000f0042' (U+F0042), "
                 "'\\U0010fffd' (U+10FFFD) cannot be printed: no font has them")  # fmt: skip
    symbol = "item 1 of 1, 'Symbol': character '\\uf8ff' (U+F8FF) cannot be printed: no font has it"
    problems = [line for line in result.stderr.splitlines() if "cannot be printed" in line]
    assert len(problems) == 2, problems
    assert engraving in problems[0] + problems[1] and symbol in problems[0] + problems[1]
    text = pdfcheck.text(path)
    assert "INCOMPLETE" in text and "U+F0042" in text and "U+10FFFD" in text
    assert text.count("U+F0042") == 1  # listed once, however often it is typed
    assert pdfcheck.page_count(path) == 1
