"""One item, one page: what fits, fits; what does not, continues with its header."""

from __future__ import annotations

import pytest

from prodsheets import layout
from prodsheets.layout import Mode, text_lines
from prodsheets.synthetic import logo_image, phone_photo, product_image, svg_logo

import pdfcheck

TYPICAL = [
    ("Body material", "Full-grain leather"),
    ("Body colour", "Ocean Blue"),
    ("Lining", "Suede, natural"),
    ("Stitching", "Contrast double stitch, 6 mm from the edge, waxed thread"),
    ("Stitching colour", "Bright Red"),
    ("Hardware", "Brushed brass"),
    ("Strap", "Adjustable, 120 cm"),
    ("Strap colour", "Black"),
    ("Pocket", "Inside, zipped"),
    ("Monogram font", "Bodoni"),
    ("Monogram colour", "Gold foil"),
    ("Edge paint", "Burgundy"),
    ("Size", "Medium (32 × 24 × 9 cm)"),
    ("Packaging", "Gift box with tissue paper and the care card, ribbon in the brand colour"),
    ("Logo placement", "logo:crest.svg"),
]
LOGOS = [
    ("Front logo", "crest.svg", svg_logo("Forest Green", "Gold")),
    ("Inside logo", "IMG_0007.jpg", phone_photo("BAG", "Bright Red")),
]
TEXTS = [("Monogram", "A. M. R."), ("Gift card", "Happy birthday!\nWith love,\nAnna")]


@pytest.mark.parametrize("page_size", ["A4", "Letter"])
def test_a_full_item_fits_one_page(print_order, page_size):
    """Design image, 15 production rows, 2 logos and 2 custom texts: one sheet."""
    result, path = print_order(entries=TYPICAL, logos=LOGOS, texts=TEXTS, page_size=page_size)
    assert result.exit_code == 0, result.stderr
    assert pdfcheck.page_count(path) == 1
    flat = pdfcheck.compact(pdfcheck.text(path))
    for key, value in TYPICAL[:-1]:
        assert pdfcheck.compact(key + value) in flat
    assert pdfcheck.compact("Logo placement see logo 1 crest.svg") in flat
    design = max(pdfcheck.image_boxes(path), key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))
    assert design[3] - design[1] >= layout.MIN_IMAGE_MM - 0.5  # the picture still says something


@pytest.mark.parametrize("page_size", ["A4", "Letter"])
def test_each_item_of_an_order_gets_its_own_page(print_order, page_size):
    result, path = print_order(entries=TYPICAL, logos=LOGOS, texts=TEXTS, items=3,
                               page_size=page_size)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    pages = pdfcheck.page_texts(path)
    assert len(pages) == 3
    for k, page in enumerate(pages, 1):
        assert f"Item {k} of 3" in page and "Gift card" in page


@pytest.mark.parametrize(("page_size", "foot"), [("A4", 297 - 16), ("Letter", 279.4 - 16)])
def test_the_design_image_takes_the_space_the_rest_leaves(print_order, page_size, foot):
    guitar = product_image("guitar", "Gold", (1000, 750))  # wide: never limited by the width

    def printed(entries, texts) -> tuple[float, float]:
        result, path = print_order(entries=entries, texts=texts, page_size=page_size,
                                   design_image=guitar)  # fmt: skip
        assert result.exit_code == 0 and pdfcheck.page_count(path) == 1
        box = max(pdfcheck.image_boxes(path), key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))
        _, last = pdfcheck.find_text(path, texts[-1][1])
        return box[3] - box[1], foot - last[3]

    few, _ = printed(TYPICAL[:3], TEXTS[:1])
    assert few == pytest.approx(layout.MAX_IMAGE_MM, abs=1)  # as tall as a design image gets
    many, left_over = printed(TYPICAL[:-1], [*TEXTS[:1], ("Note", "Fragile")])
    assert layout.MIN_IMAGE_MM <= many < few - 5
    assert 0 < left_over < 12  # the image grew until the page was full


@pytest.mark.parametrize("page_size", ["A4", "Letter"])
def test_long_data_continues_with_the_header_repeated(print_order, page_size):
    entries = [(f"{part} {what}", f"{part} {what} value")
               for part in ("Toe", "Vamp", "Heel", "Collar", "Tongue", "Lining", "Sole", "Lace")
               for what in ("material", "colour", "stitching", "finish", "note")]  # fmt: skip
    result, path = print_order(entries=entries, logos=LOGOS[:1], texts=TEXTS,
                               page_size=page_size)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    pages = pdfcheck.page_texts(path)
    assert len(pages) == 2
    for page in pages:
        assert "#9001" in page and "Item 1 of 1" in page and "Qty 1" in page
        assert "Production data" in page  # the table's heading repeats
    assert "Lace note value" in pages[1] and "Gift card" in pages[1]


def test_a_logo_is_shown_once_and_its_row_points_at_it(print_order):
    logo = ("Team logo", "team.png", logo_image("T", "Ocean Blue", 600, seed=5))
    result, path = print_order(entries=[("Colour", "Black"), ("Logo logo", "logo:team.png")],
                               logos=[logo])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert len(pdfcheck.image_boxes(path)) == 3  # the design image, the logo, the QR code
    text = pdfcheck.text(path)
    assert "Logo logo see logo 1 team.png" in text
    assert text.count("Logo 1") == 1


def test_line_breaks_in_values_are_kept(print_order):
    result, path = print_order(entries=[("Colour", "Black"), ("Note", "Line one\nLine two")],
                               texts=[("Card", "Dear Sam,\n  see you soon")])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    _, one = pdfcheck.find_text(path, "Line one")
    _, two = pdfcheck.find_text(path, "Line two")
    assert two[1] - one[1] >= 4 and abs(two[0] - one[0]) < 0.5  # the next line, same column
    assert "Dear Sam,\n  see you soon" in pdfcheck.raw_text(path)  # spaces kept too


def test_a_blank_order_name_falls_back_like_a_missing_one(print_order):
    result, path = print_order(order_name="   ")
    assert result.exit_code == 0, result.stderr
    (page,) = pdfcheck.page_texts(path)
    text = pdfcheck.squash(page)
    assert "order 9001 Item 1 of 1 Qty 1 Test Product" in text  # the running header
    assert "Order order 9001 Order no. 9001" in text
    assert "order 9001 · Generated" in text  # the footer
    assert result.stdout.strip().endswith("order-9001.pdf")


def test_a_wrong_estimate_is_caught_on_the_page(print_order, monkeypatch):
    """If the estimate leaves too little room, the rendered page says so and the
    design image is made smaller until the item fits."""
    monkeypatch.setitem(layout.METRICS, "safety", -60.0)  # an estimate 60 mm too generous
    result, path = print_order(entries=TYPICAL, logos=LOGOS, texts=TEXTS, page_size="Letter")
    assert result.exit_code == 0, result.stderr
    assert pdfcheck.page_count(path) == 1


def test_text_lines_follows_css_wrapping():
    assert text_lines("", 50, 10) == 1
    assert text_lines("one\ntwo\n\nfour", 50, 10) == 4
    assert text_lines("Bright Red", 50, 10.5, bold=True) == 1
    words = "Contrast double stitch, 6 mm from the edge, waxed thread"
    assert text_lines(words, 60, 10.5, bold=True) == 2
    assert text_lines("x" * 200, 50, 10, mono=True) == 9  # 6 mm per 2.1 ... broken anywhere
    assert text_lines("山田花子" * 10, 50, 10) == 3  # CJK wraps between characters


def test_the_plan_gives_the_image_what_is_left():
    page = layout.PAGES[layout.PageSize.A4]
    assert page.content_height == 259 and page.content_width == 186
    letter = layout.PAGES[layout.PageSize.LETTER]
    assert letter.content_height == pytest.approx(241.4) and letter.content_width == pytest.approx(
        189.9
    )
    assert layout.shrink(layout.ItemLayout(Mode.FIT, 80.0), 20).image_mm == 80 - 20 - 8
    assert layout.shrink(layout.ItemLayout(Mode.FIT, 40.0), 20).mode is Mode.FLOW


@pytest.mark.parametrize("page_size", ["A4", "Letter"])
def test_the_samples_keep_to_one_page_per_item(shared_sandbox, env_for, cli, tmp_path, page_size):
    env_for(shared_sandbox)
    orders = ["1001", "1002", "1003", "1004", "1006", "1007", "1008", "1011", "1012", "1013"]
    result = cli("order", *orders, "-o", str(tmp_path), "--page-size", page_size)
    assert result.exit_code == 0, result.stderr
    paths = [line for line in result.stdout.splitlines() if line.strip()]
    items = {"order-1003.pdf": 3, "order-1004.pdf": 2, "order-W-2041.pdf": 2}
    for path in paths:
        name = path.rsplit("/", 1)[-1]
        assert pdfcheck.page_count(path) == items.get(name, 1), name
