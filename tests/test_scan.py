"""Reading scanned codes back and judging whether the paper is current (no server)."""

from __future__ import annotations

import copy

import pytest

from prodsheets.errors import ScanError
from prodsheets.facts import ticket_facts
from prodsheets.models import Design, Order
from prodsheets.pipeline import OrderRef, RefKind
from prodsheets.scan import Freshness, Scan, check, parse_scan
from prodsheets.versions import VersionArchive, item_version, versions

API_ID = "5e69254b7148411680000004"  # #1004: a guitar and a watch
GUITAR, WATCH = "5e74283608310f0017000007", "5e74283608310f0017000003"


@pytest.mark.parametrize(
    ("text", "templates", "scan"),
    [
        (
            f"prodsheets:order={API_ID};item=2;design={WATCH};v=25421003",
            (),
            Scan(OrderRef(RefKind.API_ID, API_ID), 2, "25421003", WATCH),
        ),
        (  # printed before versions existed: readable, but cannot be checked
            f"prodsheets:order={API_ID};item=1;design={GUITAR}",
            ("prodsheets:order={order_id};item={item};design={design_id}",),
            Scan(OrderRef(RefKind.API_ID, API_ID), 1, None, GUITAR),
        ),
        (
            f"  http://station.local:8080/scan/{API_ID}/2/25421003\n",
            (),
            Scan(OrderRef(RefKind.API_ID, API_ID), 2, "25421003"),
        ),
        (
            "https://shop.example/scan/1004/1/",
            (),
            Scan(OrderRef(RefKind.NUMBER, "1004"), 1),
        ),
        (  # a station behind a proxy, under a path prefix
            f"https://shop.example/station/scan/{API_ID}/2/25421003",
            (),
            Scan(OrderRef(RefKind.API_ID, API_ID), 2, "25421003"),
        ),
        (
            "#1004/2/2/x",
            ("{order_name}/{item}/{design_number}/{brand}",),
            Scan(OrderRef(RefKind.NAME, "#1004"), 2),
        ),
    ],
)
def test_reads_every_kind_of_code(text, templates, scan):
    assert parse_scan(text, templates) == scan


@pytest.mark.parametrize(
    "text",
    ["hello", "prodsheets:order=;item=1;design=x;v=1", "prodsheets:order=x;item=two;design=y;v=1",
     "http://example.com/orders/1", "https://station/scan/%23/1/"],
)  # fmt: skip
def test_codes_that_are_not_ours(text):
    with pytest.raises(ScanError):
        parse_scan(text)


@pytest.fixture
def order_and_facts(sample_orders, sample_designs):
    raw = next(o for o in sample_orders if o["_id"] == API_ID)

    def make(order_raw=raw, designs=sample_designs):
        order = Order.from_json(order_raw)
        found = {i.design_api_id: Design.from_json(designs[i.design_api_id]) for i in order.items}
        return order, ticket_facts(order, found)

    return make


def test_current_and_out_of_date(order_and_facts, sample_designs, tmp_path):
    archive = VersionArchive(tmp_path)
    order, facts = order_and_facts()
    archive.remember(facts)
    printed = versions(facts)
    assert len(printed) == 2 and all(len(v) == 8 for v in printed)
    scan = Scan(OrderRef(RefKind.API_ID, API_ID), 2, printed[1])
    result = check(scan, order, facts, archive)
    assert result.freshness is Freshness.CURRENT
    assert result.line() == "current: #1004 item 2 of 2"

    designs = copy.deepcopy(sample_designs)
    designs[WATCH]["productionData"][0]["value"] = "Rose gold"
    more = copy.deepcopy(order.raw)
    more["items"][1]["quantity"] = 5
    changed_order, changed_facts = order_and_facts(more, designs)
    result = check(scan, changed_order, changed_facts, archive)
    key = sample_designs[WATCH]["productionData"][0]["key"]
    assert result.line() == (
        f"out of date: #1004 item 2 of 2 changed quantity, {key}; print the new ticket"
    )
    # Item 1 did not change: its paper is still current.
    first = Scan(OrderRef(RefKind.API_ID, API_ID), 1, printed[0])
    assert check(first, changed_order, changed_facts, archive).current
    # Printed elsewhere: no archive, still a verdict.
    elsewhere = check(scan, changed_order, changed_facts, VersionArchive(tmp_path / "other"))
    assert not elsewhere.current and "not recorded on this machine" in elsewhere.line()


def test_a_removed_item_and_a_versionless_code(order_and_facts, tmp_path):
    order, facts = order_and_facts()
    one_item = Order.from_json({**order.raw, "items": order.raw["items"][:1]})
    fewer = {k: v[:1] if isinstance(v, list) else v for k, v in facts.items()} | {"items": 1}
    scan = Scan(OrderRef(RefKind.API_ID, API_ID), 2, item_version(facts, 2))
    result = check(scan, one_item, fewer, VersionArchive(tmp_path))
    assert (
        result.line()
        == "out of date: #1004 has no item 2 any more (1 item now); discard this ticket"
    )
    with pytest.raises(ScanError, match="no version"):
        check(Scan(OrderRef(RefKind.API_ID, API_ID), 1), order, facts, VersionArchive(tmp_path))
    with pytest.raises(ScanError, match="not 5e69254b7148411680000004"):
        check(Scan(OrderRef(RefKind.API_ID, "f" * 24), 1, "00000000"), order, facts,
              VersionArchive(tmp_path))  # fmt: skip


def test_versions_change_only_with_what_the_page_shows(order_and_facts, sample_designs):
    _, facts = order_and_facts()
    designs = copy.deepcopy(sample_designs)
    designs[GUITAR]["productName"] = "Custom Bass"
    _, changed = order_and_facts(designs=designs)
    assert versions(changed)[0] != versions(facts)[0]
    assert versions(changed)[1] == versions(facts)[1]
