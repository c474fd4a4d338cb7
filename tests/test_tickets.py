"""Building a ticket from an order, its designs and its images: no I/O, every gap named."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import pytest

from prodsheets.designs import DesignMissing
from prodsheets.errors import AssetError
from prodsheets.images import DESIGN, LOGO, PreparedImage
from prodsheets.models import Design, Order
from prodsheets.qr import DEFAULT_QR_TEMPLATE
from prodsheets.tickets import build_ticket, ticket_warnings, wanted_assets

GUITAR = "5e74283608310f001714de63"


@pytest.fixture
def order_1001(sample_orders) -> Order:
    return Order.from_json(copy.deepcopy(sample_orders[0]))


@pytest.fixture
def guitar(sample_designs) -> Design:
    return Design.from_json(copy.deepcopy(sample_designs[GUITAR]))


def prepared(url: str, *, low_res: bool = False) -> PreparedImage:
    return PreparedImage(url, Path("/cache/x.png"), 10, 10, 10, 10, 300.0, low_res, "image/png")


def all_images(order: Order, designs) -> dict:
    return {(url, role.name): prepared(url) for url, role in wanted_assets(order, designs)}


def build(order, designs, images=None):
    images = all_images(order, designs) if images is None else images
    versions = [f"{k:08x}" for k in range(1, len(order.items) + 1)]
    return build_ticket(order, designs, images, brand="acme", qr_template=DEFAULT_QR_TEMPLATE,
                        versions=versions)  # fmt: skip


def test_complete_ticket(order_1001, guitar):
    ticket = build(order_1001, {GUITAR: guitar})
    assert ticket.complete
    (item,) = ticket.items
    assert (item.index, item.count, item.quantity) == (1, 1, 1)
    assert item.qr_text == f"prodsheets:order={order_1001.api_id};item=1;design={GUITAR};v=00000001"
    assert [e.key for e in item.entries][:2] == ["Body material", "Pickguard material"]
    assert item.entries[4].is_image and item.entries[4].image is not None
    assert [logo.name for logo in item.logos] == ["Custom logo"]
    assert [t.text for t in item.texts] == ["Your text"]


def test_wanted_assets_are_every_image_the_ticket_prints(order_1001, guitar):
    wanted = wanted_assets(order_1001, {GUITAR: guitar})
    roles = sorted({role.name for _, role in wanted})
    assert roles == ["design", "logo"]
    assert (guitar.design_image.url, DESIGN) in wanted
    assert (guitar.logos[0].image.url, LOGO) in wanted


def test_missing_design_prints_the_other_items(order_1001, guitar):
    order = Order.from_json(
        {**order_1001.raw, "items": [*order_1001.raw["items"], {"quantity": 2, "design": "f" * 24}]}
    )
    missing = DesignMissing("f" * 24, f"design {'f' * 24} does not exist (the API answered 404)")
    ticket = build(order, {GUITAR: guitar, "f" * 24: missing})
    first, second = ticket.items
    assert first.problems == [] and first.entries
    assert second.quantity == 2 and second.design.api_id == "f" * 24
    assert second.design_problem == missing.reason and second.entries == []
    assert [str(p) for p in ticket.all_problems] == [
        f"item 2 of 2: design missing: {missing.reason}"
    ]


def test_item_without_a_design_id(order_1001):
    order = Order.from_json({**order_1001.raw, "items": [{"quantity": 1}]})
    ticket = build(order, {"": DesignMissing("", "the API gave no design id for this item")})
    assert "no design id" in str(ticket.all_problems[0])


def test_order_without_items_is_one_problem(order_1001):
    ticket = build(Order.from_json({**order_1001.raw, "items": []}), {})
    assert ticket.items == []
    assert [str(p) for p in ticket.problems] == ["the order has no items: nothing to build"]


def test_missing_quantity_and_image_are_problems_not_guesses(order_1001, guitar):
    order = Order.from_json({**order_1001.raw, "items": [{"quantity": "two", "design": GUITAR}]})
    images = all_images(order, {GUITAR: guitar})
    images[(guitar.design_image.url, "design")] = AssetError("HTTP 404 from the server")
    ticket = build(order, {GUITAR: guitar}, images)
    problems = [str(p) for p in ticket.all_problems]
    assert (
        problems[0]
        == "item 1 of 1: quantity missing or not a positive whole number (API gave 'two')"
    )
    assert problems[1].startswith("item 1 of 1: design image missing: HTTP 404 from the server")
    assert ticket.items[0].quantity is None and ticket.items[0].design_image is None


def test_low_res_is_a_warning(order_1001, guitar):
    images = all_images(order_1001, {GUITAR: guitar})
    url = guitar.logos[0].image.url
    images[(url, "logo")] = prepared(url, low_res=True)
    ticket = build(order_1001, {GUITAR: guitar}, images)
    assert ticket.complete
    assert ticket_warnings(ticket) == [
        "item 1 of 1: 'Custom logo' is LOW-RES (300 dpi at print size)"
    ]


def test_an_uploaded_image_is_one_logo_however_many_options_name_it(order_1001, guitar):
    ticket = build(order_1001, {GUITAR: guitar})
    (item,) = ticket.items
    (logo,) = item.logos  # the guitar's "Custom logo" is also its "Logo logo" value
    assert (logo.number, logo.name, logo.filename) == (1, "Custom logo", "custom-logo.png")
    entry = next(e for e in item.entries if e.key == "Logo logo")
    assert entry.is_image and entry.logo == 1 and entry.image is logo.image


def test_logos_sharing_a_file_and_images_only_in_production_data(order_1001, guitar):
    raw = copy.deepcopy(guitar.raw)
    url = guitar.logos[0].image.url
    raw["configuration"]["OPTION-BACK"] = {
        "type": "logo", "name": "Back logo",
        "views": [{"type": "logo", "logo": {"url": url, "_id": "b"}}],
    }  # fmt: skip
    raw["productionData"].append({"key": "Sleeve print", "value": "https://cdn1.mczr.co/s.png"})
    design = Design.from_json(raw)
    ticket = build(order_1001, {GUITAR: design})
    (item,) = ticket.items
    assert [(lg.number, lg.name) for lg in item.logos] == [
        (1, "Custom logo, Back logo"),
        (2, "Sleeve print"),
    ]
    assert [e.logo for e in item.entries if e.is_image] == [1, 2]


def test_what_an_image_could_not_print_is_a_problem_and_notes_warn(order_1001, guitar):
    from prodsheets.images import ImageNote, NoteKind

    images = all_images(order_1001, {GUITAR: guitar})
    url = guitar.logos[0].image.url
    images[(url, "logo")] = dataclasses.replace(
        prepared(url), problems=("SVG refers to files outside itself, not drawn: http://x/y.png",)
    )
    design_url = guitar.design_image.url
    animated = ImageNote(
        NoteKind.ANIMATED, "animated GIF (3 frames): only the first frame is printed"
    )
    rotated = ImageNote(NoteKind.ROTATED, "turned upright (EXIF orientation 6)")
    images[(design_url, "design")] = dataclasses.replace(
        prepared(design_url, low_res=True), notes=(animated, rotated)
    )
    ticket = build(order_1001, {GUITAR: guitar}, images)
    assert [str(p) for p in ticket.all_problems] == [
        "item 1 of 1: logo 'Custom logo': SVG refers to files outside itself, not drawn: "
        "http://x/y.png"
    ]
    assert ticket_warnings(ticket) == [
        "item 1 of 1: the design image is LOW-RES (300 dpi at print size)",
        "item 1 of 1: the design image: animated GIF (3 frames): only the first frame is printed",
    ]
