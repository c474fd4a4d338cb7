"""The pick list: what a night asks the workshop to take from the shelf."""

from __future__ import annotations

import copy
import dataclasses

from prodsheets.combine import MAX_VALUES, Tally, pick_list_context
from prodsheets.config import load_settings
from prodsheets.models import Design, Order
from prodsheets.qr import DEFAULT_QR_TEMPLATE
from prodsheets.render import Renderer
from prodsheets.synthetic import World, synthetic_dataset
from prodsheets.tickets import build_ticket

import pdfcheck


def night(n_orders: int, seed: int = 11) -> Tally:
    """The tally of ``n_orders`` typical synthetic orders (as the batch keeps it)."""
    data = synthetic_dataset(n_orders, seed=seed, world=World.SHARED)  # only the orders count
    designs = {d["_id"]: Design.from_json(d) for d in data.designs}
    tally = Tally()
    for raw in data.orders:
        order = Order.from_json(raw)
        tally.add(build_ticket(order, designs, {}, brand="acme", qr_template=DEFAULT_QR_TEMPLATE))
    return tally


def test_a_night_of_a_thousand_orders_is_a_few_pages(tmp_path):
    tally = night(1000)
    assert tally.orders == 1000 and tally.quantity > 3000
    settings = dataclasses.replace(load_settings({}, environ={}, cwd=tmp_path),
                                   cache_dir=tmp_path / "cache")  # fmt: skip
    path = tmp_path / "summary.pdf"
    path.write_bytes(Renderer.from_settings(settings).render_page(
        "summary.html", pick_list_context(tally, "acme", [])))  # fmt: skip
    assert pdfcheck.page_count(path) <= 2
    text = pdfcheck.text(path)
    assert f"1000 orders · {tally.items} items · {tally.quantity} pieces in total" in text
    guitar = tally.products["Custom Guitar"]
    red = guitar.options["Body material"]["Bright Red"]
    body = text[text.index("Body material") : text.index("Pickguard material")]
    assert f"Bright Red × {red}" in body
    # Names customers typed and logos they uploaded are counted, not listed.
    assert "Customer" not in text and "syn-logo" not in text and "Zoë" not in text
    texts, images = guitar.texts, guitar.images
    assert texts > 100 and images > 100
    assert f"custom texts: {texts} on {guitar.text_pieces} pieces" in text
    assert f"uploaded images: {images} on {guitar.image_pieces} pieces" in text


def test_values_count_pieces_most_first():
    tally = night(60, seed=2)
    for product in tally.products.values():
        for row in product.option_rows():  # every synthetic item chooses every option once
            assert sum(n for _, n in row["values"]) == product.quantity > product.items
            counts = [n for _, n in row["values"]]
            assert counts == sorted(counts, reverse=True)


def test_a_free_text_the_api_did_not_mark_is_summed_up_not_listed():
    tally = night(5)
    product = next(iter(tally.products.values()))
    item = copy.deepcopy(next(iter(product.options)))
    for n in range(MAX_VALUES + 25):
        product.options[item][f"Engrave: Name number {n}"] += 1
    (row,) = [r for r in product.option_rows() if r["key"] == item]
    assert len(row["values"]) == MAX_VALUES and row["more"] >= 25 and row["more_pieces"] >= 25
