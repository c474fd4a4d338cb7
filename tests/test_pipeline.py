"""The one pipeline: naming an order, finding it, and the transient/permanent split."""

from __future__ import annotations

import copy
import dataclasses
import threading

import pytest

from prodsheets.api import ApiClient
from prodsheets.assets import AssetStore
from prodsheets.config import load_settings
from prodsheets.designs import DesignSource
from prodsheets.errors import AssetError, ConfigError, NotFoundError
from prodsheets.models import Order
from prodsheets.pipeline import (
    OrderRef,
    RefKind,
    Warming,
    find_order,
    prepare,
    ticket_filename,
)
from prodsheets.sandbox import DEFAULT_BRAND, DEFAULT_TOKEN


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("5e69254b714841168b8d9825", RefKind.API_ID, "5e69254b714841168b8d9825"),
        (" 1001 ", RefKind.NUMBER, "1001"),
        ("#1001", RefKind.NAME, "#1001"),
        ("W-2041", RefKind.NAME, "W-2041"),
    ],
)
def test_order_refs(text, kind, value):
    assert OrderRef.parse(text) == OrderRef(kind, value)


@pytest.mark.parametrize("text", ["", "   ", "#", " # ", "##"])
def test_text_that_names_no_order_is_refused(text):
    with pytest.raises(ValueError, match="does not name an order"):
        OrderRef.parse(text)


def test_find_by_each_kind_of_ref(shared_sandbox):
    with ApiClient(shared_sandbox.url, DEFAULT_BRAND, DEFAULT_TOKEN) as client:
        for text in ("5e69254b7148411680000008", "1008", "#W-2041", "W-2041"):
            assert find_order(client, OrderRef.parse(text)).name == "#W-2041"
        with pytest.raises(NotFoundError, match="use '#424242'"):
            find_order(client, OrderRef.parse("424242"))
        with pytest.raises(NotFoundError, match="order 000000000000000000000000 not found"):
            find_order(client, OrderRef.parse("0" * 24))


@pytest.mark.parametrize(
    ("fields", "name"),
    [
        ({"eCommerceOrderName": "#1001"}, "order-1001.pdf"),
        ({"eCommerceOrderName": "  ", "orderId": 77}, "order-77.pdf"),
        ({"eCommerceOrderName": "#A/B:C", "orderId": 1}, "order-A-B-C.pdf"),
        ({"eCommerceOrderName": "../..", "orderId": None}, f"order-{'c' * 24}.pdf"),
    ],
)
def test_ticket_file_names_are_safe(fields, name):
    assert ticket_filename(Order.from_json({"_id": "c" * 24, **fields})) == name


def test_a_cdn_hiccup_fails_the_order_a_dead_link_is_printed(sandbox, tmp_path):
    settings = dataclasses.replace(load_settings({}, environ={}, cwd=tmp_path),
                                   cache_dir=tmp_path / "cache")  # fmt: skip
    with ApiClient(sandbox.url, DEFAULT_BRAND, DEFAULT_TOKEN) as client:
        order = client.get_order("5e69254b714841168b8d9825")
        store = AssetStore.from_settings(settings, api_origin=client.origin)
        designs = DesignSource(client.get_design)
        sandbox.inject(503, times=3, path_contains="5e74283608310f001714de62.png")  # 3 tries
        with pytest.raises(AssetError) as err:
            prepare(order, designs, store, brand="acme", qr_template=settings.qr_template)
        assert err.value.transient
        design = copy.deepcopy(sandbox.designs_by_id["5e74283608310f001714de63"])
        for image in (design.get("designImage"), *design["designImages"]):
            if image:
                image["url"] += ".gone.png"
        sandbox.replace_design(design)
        ticket = prepare(order, DesignSource(client.get_design), store, brand="acme",
                         qr_template=settings.qr_template).ticket  # fmt: skip
    assert "design image missing: HTTP 404" in str(ticket.all_problems[0])


def test_warming_builds_ahead_and_hands_over_its_result_or_its_error():
    started = threading.Event()

    def build() -> str:
        started.set()
        return "renderer"

    warming = Warming(build)
    assert started.wait(5)  # running before anyone asks for it
    assert warming() == "renderer" and warming() == "renderer"

    def broken() -> str:
        raise ConfigError("no such template folder")

    with pytest.raises(ConfigError, match="no such template folder"):
        Warming(broken)()
