"""Facts: what a ticket shows, compared to name what changed (REVISED)."""

from __future__ import annotations

import copy

from prodsheets.designs import DesignMissing
from prodsheets.facts import changed, fingerprint, order_changed, order_facts, ticket_facts
from prodsheets.models import Design, Order

GUITAR = "5e74283608310f001714de63"


def test_same_content_same_fingerprint_whatever_the_host(sample_orders, sample_designs):
    order = Order.from_json(sample_orders[0])
    design = sample_designs[GUITAR]
    moved = copy.deepcopy(design)
    moved["designImages"][0]["url"] = moved["designImages"][0]["url"].replace(
        "https://cdnv2.mycustomizer.com", "http://127.0.0.1:9999/cdn"
    )
    one = ticket_facts(order, {GUITAR: Design.from_json(design)})
    two = ticket_facts(order, {GUITAR: Design.from_json(moved)})
    assert fingerprint(one) == fingerprint(two)


def test_changed_names_what_a_worker_calls_it(sample_orders, sample_designs):
    order = Order.from_json(sample_orders[0])
    design = copy.deepcopy(sample_designs[GUITAR])
    before = ticket_facts(order, {GUITAR: Design.from_json(design)})
    design["productionData"][0]["value"] = "Sunburst"
    design["configuration"]["OPTION-T00000"]["views"][0]["text"] = "Happy birthday"
    more = Order.from_json({**order.raw, "items": [{"quantity": 3, "design": GUITAR}]})
    after = ticket_facts(more, {GUITAR: Design.from_json(design)})
    assert changed(before, after) == ["quantity", "Body material", "Default text"]
    assert changed(before, before) == []


def test_a_missing_design_is_a_fact_too(sample_orders, sample_designs):
    order = Order.from_json(sample_orders[0])
    missing = ticket_facts(order, {GUITAR: DesignMissing(GUITAR, "404")})
    found = ticket_facts(order, {GUITAR: Design.from_json(sample_designs[GUITAR])})
    assert fingerprint(missing) != fingerprint(found)
    assert "Body material" in changed(missing, found)


def test_order_changed_looks_at_the_order_alone(sample_orders):
    order = Order.from_json(sample_orders[0])
    facts = {**order_facts(order), "entry:Body material": ["Bright Red"]}
    assert not order_changed(facts, order)
    assert order_changed(facts, Order.from_json({**order.raw, "items": []}))
