"""One item, one page: how tall each item's design image may be on the page it prints.

A job ticket travels with one piece of work, so an item should fit on one sheet. What
varies is the text (production data, custom texts, problems); what can give way is the
design image. CSS cannot say "fill the rest of the page" (WeasyPrint's flex layout does
not fragment), and laying every ticket out twice to measure would nearly double the
render time. So ``plan_ticket`` *estimates* the height of everything else from
Liberation's glyph widths and the sizes in ``templates/ticket.css`` (``METRICS``), and
gives the design image what is left (``Mode.FIT``). An item too long for one page even
with a small image (sample #1005, 44 entries) flows onto more pages with a medium image
(``Mode.FLOW``); the 4x6 in label puts the essentials on the label (``Mode.LABEL``).

The estimate is then checked on the rendered layout, for free: each item ends with an
anchor (``id="item-N-end"``) and WeasyPrint reports the page each anchor lands on.
``overflows`` names the items planned to fit that did not, and by how much, so the
renderer can shrink their images and lay the ticket out once more.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import Enum
from functools import lru_cache
from typing import Any

from .config import PageSize
from .paths import fonts_dir
from .scripts import is_wide

PT = 25.4 / 72  # mm per point
PX = 25.4 / 96  # mm per CSS px


@dataclass(frozen=True)
class Page:
    """A page size as the ticket uses it: CSS size, body class, margins in mm."""

    css_size: str
    css_class: str
    width: float
    height: float
    margins: tuple[float, float, float, float]  # top, right, bottom, left
    stacked: bool  # logos below the design image (narrow pages)
    logo_mm: float = 32.0  # the box a logo fills (images.LOGO is sized for the largest)

    @property
    def content_width(self) -> float:
        return self.width - self.margins[1] - self.margins[3]

    @property
    def content_height(self) -> float:
        return self.height - self.margins[0] - self.margins[2]

    @property
    def css_margin(self) -> str:
        return " ".join(f"{m:g}mm" for m in self.margins)


PAGES = {
    PageSize.A4: Page("A4", "a4", 210.0, 297.0, (22, 12, 16, 12), stacked=False),
    PageSize.LETTER: Page("letter", "letter", 215.9, 279.4, (22, 13, 16, 13), stacked=False),
    PageSize.A5: Page("A5", "a5", 148.0, 210.0, (18, 9, 13, 9), stacked=True),
    PageSize.LABEL: Page(
        "4in 6in", "label", 101.6, 152.4, (15, 6, 11, 6), stacked=True, logo_mm=24.0
    ),
}


class Mode(Enum):
    FIT = "fit"  # the whole item on one page; the design image takes the space left
    FLOW = "flow"  # too long for one page: continues, header repeated
    LABEL = "label"  # 4x6 in: the essentials on a label page, the rest after it


@dataclass(frozen=True)
class ItemLayout:
    mode: Mode
    image_mm: float  # the design image's height
    stacked: bool = False  # the logos below the design image, not beside it

    @property
    def label(self) -> bool:
        return self.mode is Mode.LABEL


# Sizes from templates/ticket.css (mm unless noted); keep the two in step.
METRICS = {
    "line": 1.25,  # line-height
    "top": 2.5,  # table.top margin-bottom
    "qty_cell": 29.5,  # border, padding, "QTY", the number, "Item k of n"
    "qr": 27.0,
    "qr_text_pt": 5.5,
    "qr_cell": 30.0,
    "meta_fixed": 103.0,  # all but the values' column: quantity, QR, paddings, labels
    "meta_pt": 9.0,
    "banner_box": 1.4 + 3.0 + 2.5 + 0.5,  # borders, padding, margin below, list margin
    "banner_title_pt": 12.0,
    "banner_indent": 6.0 + 5.0 + 1.4,
    "band_gap": 2.5,  # table.visual margin-bottom
    "logos_width": 82.0,
    "logo_column": 92.0,  # a logo with its caption, when the logos sit below the image
    "logos_below": 3.0,  # td.logos-cell padding-top, and the line the logos sit on
    "logo_gap": 2.0,
    "logo_meta_width": 82.0 - 4.0 - 34.0,
    "head_row": 11 * 1.25 * 25.4 / 72 + 0.8 + 0.3,  # "Production data" / "Custom texts"
    "row_pad": 1.8 + 0.15,
    "key_share": 0.36,
    "key_pt": 9.0,
    "value_pt": 10.5,
    "text_pt": 12.0,
    "texts_gap": 2.5,
    "notes_pt": 8.0,
    "missing_image": 12.0,
    "correction": 8.0,  # a row kept whole leaves up to a row free at the foot of a page
    "safety": 3.0,  # rounding in the estimate; measured mistakes are corrected anyway
}
_DATE_SHAPE = "2026-11-20 17:52 UTC"  # every date prints in this shape
MIN_IMAGE_MM = 35.0  # below this a design image says too little: the item flows instead
MAX_IMAGE_MM = 120.0  # keep in step with images.DESIGN.box_mm
FLOW_IMAGE_MM = 70.0
LABEL_IMAGE_MM = 40.0


def plan_ticket(ticket: Any, page: Page, *, label: bool = False) -> dict[int, ItemLayout]:
    """Each item's layout on ``page``, by item index."""
    return {item.index: plan_item(ticket, item, page, label=label) for item in ticket.items}


def plan_item(ticket: Any, item: Any, page: Page, *, label: bool = False) -> ItemLayout:
    """The layout of one item of a ``tickets.Ticket`` (duck-typed: the render context's
    views of them will do).

    The logos go beside the design image or below it, whichever leaves the bigger
    image; narrow pages always put them below."""
    image = item.design_image
    aspect = image.aspect if image is not None and image.aspect else 4 / 3
    full = min(page.content_width / aspect, MAX_IMAGE_MM)
    if label:
        return ItemLayout(Mode.LABEL, round(min(full, LABEL_IMAGE_MM), 1), stacked=True)
    rest = _banners_height(ticket, item, page) + _header_height(ticket, item, page)
    rest += _entries_height(item, page)
    rest += _texts_height(item, page) + METRICS["band_gap"] + METRICS["safety"]
    if image is None:
        rest += METRICS["missing_image"]
    elif image.low_res or image.notes:
        rest += _line(METRICS["notes_pt"]) * 2
    space = page.content_height - rest
    beside = None
    if item.logos and not page.stacked:
        side = min((page.content_width - METRICS["logos_width"]) / aspect, MAX_IMAGE_MM)
        if space >= max(min(side, MIN_IMAGE_MM), _logos_height(item, page, per_row=1, below=False)):
            beside = ItemLayout(Mode.FIT, round(min(side, space), 1))
        flow = ItemLayout(Mode.FLOW, round(min(side, FLOW_IMAGE_MM), 1))
    else:
        flow = ItemLayout(Mode.FLOW, round(min(full, FLOW_IMAGE_MM), 1), stacked=page.stacked)
    per_row = max(1, int(page.content_width // METRICS["logo_column"]))
    below = space - _logos_height(item, page, per_row=per_row, below=True)
    if below >= min(full, MIN_IMAGE_MM) and (beside is None or min(full, below) > beside.image_mm):
        return ItemLayout(Mode.FIT, round(min(full, below), 1), stacked=bool(item.logos))
    return beside or flow


def logo_box(image: Any, page: Page) -> tuple[float, float]:
    """The printed size (mm) of a logo: scaled to fill the logo box, aspect kept, so a
    logo prints at the size its "dpi at print size" speaks of."""
    box = page.logo_mm
    aspect = image.aspect if image is not None and image.aspect else 1.0
    if aspect >= 1:
        return box, round(box / aspect, 2)
    return round(box * aspect, 2), box


def shrink(layout: ItemLayout, overflow_mm: float) -> ItemLayout:
    """The layout after the rendered item overflowed its page by ``overflow_mm``."""
    smaller = layout.image_mm - overflow_mm - METRICS["correction"]
    if smaller >= MIN_IMAGE_MM:
        return replace(layout, image_mm=round(smaller, 1))
    return ItemLayout(Mode.FLOW, round(min(layout.image_mm, FLOW_IMAGE_MM), 1))


def overflows(pages: list[Any], layouts: dict[int, ItemLayout], page: Page) -> dict[int, float]:
    """Items planned to fit one page that did not, with how far (mm) they ran over,
    read from the rendered pages' anchors. Empty for templates without the anchors."""
    first: dict[str, int] = {}
    for number, rendered in enumerate(pages):
        for anchor in rendered.anchors:
            first.setdefault(anchor, number)
    result = {}
    for index, layout in layouts.items():
        start, end = first.get(f"item-{index}"), first.get(f"item-{index}-end")
        if layout.mode is not Mode.FIT or start is None or end is None or end == start:
            continue
        end_y = pages[end].anchors[f"item-{index}-end"][1] * PX
        result[index] = (end - start - 1) * page.content_height + end_y - page.margins[0]
    return result


# -- the estimate -------------------------------------------------------------------


def _line(size_pt: float) -> float:
    return size_pt * METRICS["line"] * PT


def _banners_height(ticket: Any, item: Any, page: Page) -> float:
    """The red INCOMPLETE banner (the order's problems and the item's) and REVISED."""
    height = 0.0
    width = page.content_width - METRICS["banner_indent"]
    if not ticket.complete:
        problems = [str(p) for p in [*ticket.problems, *item.problems]] or ["other items"]
        lines = sum(text_lines(p, width, 10.0) for p in problems)
        height += METRICS["banner_box"] + _line(METRICS["banner_title_pt"]) + lines * _line(10)
    if ticket.revised:
        text = "REVISED — this order changed since its last ticket; changed: " + ", ".join(
            ticket.revised
        )
        height += METRICS["banner_box"] + 1.5 + text_lines(text, width, 12.0) * _line(12)
    return height


def _header_height(ticket: Any, item: Any, page: Page) -> float:
    meta_width = page.content_width - METRICS["meta_fixed"]
    design = item.design
    meta = text_lines(ticket.order.label, meta_width, 13, bold=True) * _line(13) + 0.6
    for value, mono in ((str(ticket.order.number), False), (ticket.brand, False),
                        (_DATE_SHAPE, False), (design.product_name or "-", False),
                        (f"{design.api_id} (#{design.number})", True)):  # fmt: skip
        lines = text_lines(value, meta_width, METRICS["meta_pt"], bold=True, mono=mono)
        meta += lines * _line(METRICS["meta_pt"]) + 0.6
    qr_lines = text_lines(item.qr_text, METRICS["qr_cell"], METRICS["qr_text_pt"], mono=True)
    qr = METRICS["qr"] + 1 + qr_lines * METRICS["qr_text_pt"] * 1.2 * PT
    return max(METRICS["qty_cell"], meta, qr) + METRICS["top"]


def _logos_height(item: Any, page: Page, *, per_row: int, below: bool) -> float:
    """The logos, ``per_row`` side by side, each row as tall as its tallest (below the
    design image: plus the space between them)."""
    width = METRICS["logo_meta_width"]
    heights = []
    for logo in item.logos:
        lines = 1 + text_lines(logo.name, width, 8, bold=True)
        lines += text_lines(logo.filename, width, 8, mono=True)
        if logo.image is not None:
            lines += 1 + int(logo.image.low_res)
            lines += sum(text_lines(str(n), width, 8) for n in logo.image.notes)
        else:
            lines += text_lines(str(logo.problem), page.logo_mm, 10, bold=True)
        caption = lines * 8 * 1.2 * PT + 1.0
        box = logo_box(logo.image, page)[1] + 0.5 if logo.image is not None else 0.0
        heights.append(max(box, caption) + METRICS["logo_gap"])
    rows = [heights[n : n + per_row] for n in range(0, len(heights), per_row)]
    return sum(max(row) for row in rows) + (METRICS["logos_below"] if below and rows else 0.0)


def _entries_height(item: Any, page: Page) -> float:
    if item.design_problem:
        return 25.0
    key_width = page.content_width * METRICS["key_share"] - 2
    value_width = page.content_width - key_width - 4
    height = METRICS["head_row"]
    for entry in item.entries or [None]:
        if entry is None:
            height += _line(10.5) + METRICS["row_pad"]
            continue
        keys = text_lines(entry.key, key_width, METRICS["key_pt"]) * _line(METRICS["key_pt"])
        if entry.is_image:
            value = f"see logo {entry.logo} " + entry.value.rsplit("/", 1)[-1]
            values = text_lines(value, value_width, 10, mono=True) * _line(10.5)
        else:
            values = text_lines(entry.value, value_width, 10.5, bold=True) * _line(10.5)
        height += max(keys, values) + METRICS["row_pad"]
    return height


def _texts_height(item: Any, page: Page) -> float:
    if not item.texts:
        return 0.0
    key_width = page.content_width * METRICS["key_share"] - 2
    text_width = page.content_width - key_width - 6
    height = METRICS["texts_gap"] + METRICS["head_row"]
    for text in item.texts:
        lines = text_lines(text.text, text_width, METRICS["text_pt"], bold=True, mono=True)
        height += max(lines * _line(12), _line(9)) + METRICS["row_pad"] + 0.5
    return height


# -- text measurement ---------------------------------------------------------------

_WORDS = re.compile(r"\s+|[^\s]")


def text_lines(
    text: str, width_mm: float, size_pt: float, *, bold: bool = False, mono: bool = False
) -> int:
    """How many lines ``text`` takes in a box ``width_mm`` wide: its own line breaks
    kept, wrapped at spaces, and anywhere inside a word too long for a line (as
    ``overflow-wrap: anywhere`` does) or between wide (CJK) characters."""
    widths = _advances(bold, mono)
    em = size_pt * PT
    limit = max(width_mm / em, 1.0)  # in em
    total = 0
    for paragraph in str(text).split("\n"):
        lines, used, word = 1, 0.0, 0.0
        for char in paragraph:
            advance = widths.get(char) or (1.0 if is_wide(char) else 0.62)
            if char == " ":
                used, word = used + word + advance, 0.0
            elif is_wide(char):
                used, word = used + word, 0.0
                if used + advance > limit and used > 0:
                    lines, used = lines + 1, 0.0
                used += advance
                continue
            else:
                word += advance
            if used + word > limit:
                if used > 0 and word <= limit:
                    lines, used = lines + 1, 0.0
                else:  # a word longer than the line: broken anywhere
                    lines += int((used + word) // limit)
                    used, word = 0.0, (used + word) % limit
        total += lines
    return total


@lru_cache(maxsize=4)
def _advances(bold: bool, mono: bool) -> dict[str, float]:
    """Advance widths in em of Liberation's characters (the fonts every ticket uses)."""
    from fontTools.ttLib import TTFont

    name = f"Liberation{'Mono' if mono else 'Sans'}-{'Bold' if bold else 'Regular'}.ttf"
    font = TTFont(fonts_dir() / name, lazy=True)
    try:
        units = font["head"].unitsPerEm
        metrics = font["hmtx"].metrics
        return {chr(c): metrics[g][0] / units for c, g in font.getBestCmap().items()}
    finally:
        font.close()
