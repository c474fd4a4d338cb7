"""Parsing the documented examples, and shapes the docs never promised."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prodsheets.errors import BadResponse
from prodsheets.models import Design, Order

DATA = Path(__file__).resolve().parent / "data"

DOC_ORDER = {
    "currency": "CAD", "status": "pending", "paymentStatus": "paid",
    "statusHistory": [{"status": "pending", "date": "2019-02-23T17:52:35.202Z"}],
    "exchangeRateAtCreation": 0.7276461903834083, "transactionFeePercentage": 1.9,
    "trial": False, "_id": "5e69254b714841168b8d9825", "eCommerceOrderId": "1014154653754",
    "eCommerceOrderName": "#1001", "store": "5e55926a61f7b78c20f298f6",
    "items": [{"quantity": 1, "design": "5e692525714841158b8d9825"}],
    "totalPrice": 234, "date": "2019-02-11T17:52:11.776Z", "orderId": 2, "__v": 0,
    "id": "5e69254b714841168b8d9825",
}  # fmt: skip


def test_documented_order():
    order = Order.from_json(DOC_ORDER)
    assert order.api_id == "5e69254b714841168b8d9825"
    assert order.number == 2
    assert order.name == "#1001"
    assert order.label == "#1001"
    assert order.items[0].quantity == 1
    assert order.items[0].design_api_id == "5e692525714841158b8d9825"
    assert order.date_parsed.year == 2019
    assert order.raw["exchangeRateAtCreation"] == pytest.approx(0.7276461903834083)


def test_documented_design():
    """The design example exactly as the vendor's documentation prints it."""
    design = Design.from_json(json.loads((DATA / "doc_design.json").read_text()))
    assert design.api_id == "5e74283608310f001714de63"
    assert design.number == 2
    assert design.product_name == "Custom Guitar"
    assert (design.production_data[0].key, design.production_data[0].value) == (
        "Body material",
        "Bright Red",
    )
    assert len(design.production_data) == 8
    logo_entry = design.production_data[4]
    assert logo_entry.key == "Logo logo" and logo_entry.is_image_url
    assert logo_entry.option_id == "OPTION-3zepsg" and logo_entry.choice_id == "CHOICE-670j8j"
    assert not design.production_data[5].is_image_url
    assert design.design_image.url.endswith("5e74283608310f001714de62.png")
    assert [(t.name, t.text) for t in design.texts] == [("Default text", "Your text")]
    assert [(lg.name, lg.image.original_filename) for lg in design.logos] == [
        ("Custom logo", "yourlogo.png")
    ]


def test_tolerates_missing_null_numeric_and_extra_fields():
    order = Order.from_json(
        {
            "_id": "a" * 24,
            "orderId": "17",
            "eCommerceOrderName": None,
            "items": [
                {"quantity": "3", "design": "d1"},
                {"quantity": 2.0, "design": {"_id": "d2"}},
                {"quantity": None, "design": "d3"},
                {"quantity": "two", "design": "d4"},
                {"quantity": 0, "design": "d5"},
                "garbage",
            ],
            "trial": "yes",
            "somethingNew": {"x": 1},
        }
    )
    assert order.number == 17
    assert order.name == ""
    assert order.label == "order 17"
    assert [i.quantity for i in order.items] == [3, 2, None, None, None, None]
    assert [i.design_api_id for i in order.items][:3] == ["d1", "d2", "d3"]
    assert order.trial is False
    assert order.raw["somethingNew"] == {"x": 1}
    assert Order.from_json({}).items == []

    design = Design.from_json(
        {
            "_id": "d1",
            "productionData": [
                {"key": "Size", "value": 42},
                {"key": "Note", "value": None},
                {"key": "Flag", "value": True},
                {"value": "no key"},
                "weird",
            ],
            "configuration": {
                "A": "CHOICE",
                "B": {"type": "text", "views": [{"type": "text"}]},
                "C": {"type": "logo", "views": [{"type": "logo", "logo": None}]},
                "D": {"views": "nope"},
            },
            "designImage": None,
            "designImages": [{"url": "https://cdn1.mczr.co/x.png"}],
        }
    )
    assert [(e.key, e.value) for e in design.production_data] == [
        ("Size", "42"), ("Note", ""), ("Flag", "true"), ("", "no key"), ("", "weird"),
    ]  # fmt: skip
    assert design.texts == [] and design.logos == []
    assert design.design_image.url == "https://cdn1.mczr.co/x.png"  # falls back to designImages
    assert Design.from_json({}).production_data == []


@pytest.mark.parametrize("payload", [None, [], "x", 3])
def test_non_objects_are_bad_responses(payload):
    with pytest.raises(BadResponse):
        Order.from_json(payload)
    with pytest.raises(BadResponse):
        Design.from_json(payload)


def test_image_url_detection():
    from prodsheets.models import ProductionEntry

    def is_image(value):
        return ProductionEntry(key="k", value=value).is_image_url

    assert is_image("https://cdn1.mczr.co/brand/abc.png")
    assert is_image("https://cdn1.mczr.co/brand/abc.JPG?v=2")
    assert not is_image("Bright Red")
    assert not is_image("see https://cdn1.mczr.co/a.png please")


def test_production_values_are_told_apart_by_what_they_are(sample_designs):
    from prodsheets.models import EntryKind

    def kinds(design_id: str) -> dict[str, EntryKind]:
        design = Design.from_json(sample_designs[design_id])
        return {e.key: e.kind for e in design.production_data}

    guitar = kinds("5e74283608310f001714de63")
    assert guitar["Body material"] is EntryKind.CHOICE
    assert guitar["Logo logo"] is EntryKind.IMAGE  # linked to the logo option, and a URL
    watch = kinds("5e74283608310f0017000003")
    assert watch["Engraving"] is EntryKind.TEXT  # linked to the text option
    raw = dict(sample_designs["5e74283608310f0017000003"])
    raw["productionData"] = [{"key": "Engraving", "value": "Für Amélie — ♥ 12.06.2026"}]
    (entry,) = Design.from_json(raw).production_data
    assert entry.kind is EntryKind.TEXT  # no link, but exactly what the customer typed
