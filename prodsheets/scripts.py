"""Which way a customer's text runs, and which language its Han characters are.

WeasyPrint shapes every script the fonts cover, but two things it cannot guess from
the text alone: the base direction (``dir="auto"`` and ``unicode-bidi: plaintext`` are
not honoured, so "محمد 42" would be laid out left to right) and the regional form of a
Han character, which follows the element's ``lang`` (Noto Sans CJK picks Japanese,
Korean or Chinese glyphs by it). ``text_attrs`` gives the attributes for an element
that prints customer text.

Han characters alone do not say their language (山田 is a Japanese name, 王 a
Chinese one); without kana or hangul beside them they print in the page's default
forms, the Japanese ones.
"""

from __future__ import annotations

import unicodedata

from markupsafe import Markup

_RTL = ("R", "AL")
_LTR = ("L",)


def direction(text: str) -> str:
    """``rtl`` or ``ltr``: the direction of the first strong character (Unicode's rule
    for a paragraph's base direction); ``ltr`` when there is none."""
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind in _RTL:
            return "rtl"
        if kind in _LTR:
            return "ltr"
    return "ltr"


def language(text: str) -> str | None:
    """``ja`` when the text has kana, ``ko`` when it has hangul, else None (unknown)."""
    for char in text:
        code = ord(char)
        if 0x3040 <= code <= 0x30FF or 0x31F0 <= code <= 0x31FF or 0xFF66 <= code <= 0xFF9D:
            return "ja"
        if 0xAC00 <= code <= 0xD7AF or 0x1100 <= code <= 0x11FF or 0x3130 <= code <= 0x318F:
            return "ko"
    return None


def text_attrs(text: object) -> Markup:
    """`` dir="rtl"`` and/or `` lang="ja"`` for an element printing ``text``; empty for
    left-to-right text of no particular language. Safe to put inside a tag."""
    value = str(text or "")
    attrs = ""
    if direction(value) == "rtl":
        attrs += ' dir="rtl"'
    lang = language(value)
    if lang:
        attrs += f' lang="{lang}"'
    return Markup(attrs)


def is_wide(char: str) -> bool:
    """Characters a line of text counts as two: CJK, kana, hangul, full-width forms,
    and emoji (which print as square pictures)."""
    return unicodedata.east_asian_width(char) in ("W", "F")
