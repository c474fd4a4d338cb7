"""The renderer: WeasyPrint's reports become ticket problems, its logger stays whole."""

from __future__ import annotations

import copy
import dataclasses
import logging

import pytest

from prodsheets.api import ApiClient
from prodsheets.assets import AssetStore
from prodsheets.config import load_settings
from prodsheets.designs import DesignSource
from prodsheets.models import Order
from prodsheets.pipeline import prepare
from prodsheets.render import Renderer
from prodsheets.sandbox import DEFAULT_BRAND, DEFAULT_TOKEN

import pdfcheck

GUITAR = "5e74283608310f001714de63"


@pytest.fixture
def make_ticket(shared_sandbox, tmp_path):
    settings = dataclasses.replace(load_settings({}, environ={}, cwd=tmp_path),
                                   cache_dir=tmp_path / "cache")  # fmt: skip
    client = ApiClient(shared_sandbox.url, DEFAULT_BRAND, DEFAULT_TOKEN)
    store = AssetStore.from_settings(settings, api_origin=client.origin)

    def make(order_raw: dict, *, texts: dict[str, str] | None = None):
        designs = DesignSource(client.get_design)
        if texts:
            design = copy.deepcopy(shared_sandbox.designs_by_id[GUITAR])
            for name, text in texts.items():
                design["configuration"][f"OPTION-{name}"] = {
                    "type": "text", "name": name, "views": [{"type": "text", "text": text}]
                }  # fmt: skip
            designs = DesignSource(
                lambda api_id: __import__("prodsheets").models.Design.from_json(design)
            )
        ticket = prepare(Order.from_json(order_raw), designs, store, brand="acme",
                         qr_template=settings.qr_template).ticket  # fmt: skip
        return settings, ticket

    yield make
    client.close()
    store.close()


def test_a_character_no_font_has_is_a_problem_and_still_reaches_the_log(
    make_ticket, sample_orders, caplog, tmp_path
):
    settings, ticket = make_ticket(sample_orders[0], texts={"Engraving": "Pharaoh \U000f0042"})
    renderer = Renderer.from_settings(settings)
    with caplog.at_level(logging.WARNING):
        result = renderer.render(ticket)
    assert any("U+F0042" in str(p) and "custom text 'Engraving'" in str(p) for p in result.problems)
    assert logging.getLogger("weasyprint").propagate  # -vv must be able to show it
    assert any(r.name.startswith("weasyprint") for r in caplog.records)
    path = tmp_path / "t.pdf"
    path.write_bytes(result.pdf)
    assert "INCOMPLETE" in pdfcheck.text(path) and "U+F0042" in pdfcheck.text(path)


def test_templates_written_for_the_old_names_still_render(make_ticket, sample_orders, tmp_path):
    custom = tmp_path / "brand"
    custom.mkdir()
    (custom / "ticket.html").write_text(
        "<html><body>{% for item in items %}<p>{{ order.id }} {{ order.order_id }} "
        "{{ item.design.id }} {{ item.design.design_id }} {{ order.api_id }}</p>"
        "{% endfor %}</body></html>"
    )
    settings, ticket = make_ticket(sample_orders[0])
    settings = dataclasses.replace(settings, template_dir=custom)
    pdf = tmp_path / "t.pdf"
    pdf.write_bytes(Renderer.from_settings(settings).render(ticket).pdf)
    order = sample_orders[0]
    assert pdfcheck.text(pdf).startswith(f"{order['_id']} 1001 {GUITAR} 2 {order['_id']}")


def test_an_order_without_items_is_a_red_page_not_a_blank_one(make_ticket, sample_orders, tmp_path):
    settings, ticket = make_ticket({**sample_orders[0], "items": []})
    result = Renderer.from_settings(settings).render(ticket)
    path = tmp_path / "t.pdf"
    path.write_bytes(result.pdf)
    text = pdfcheck.text(path)
    assert result.pages == 1
    assert "INCOMPLETE" in text and "the order has no items" in text and "#1001" in text
