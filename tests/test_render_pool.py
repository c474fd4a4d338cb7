"""The render process pool: recycling workers never strands a ticket."""

from __future__ import annotations

import os
from concurrent.futures.process import BrokenProcessPool

import pypdf
import pytest

import prodsheets.render_pool as render_pool
from prodsheets.api import ApiClient
from prodsheets.config import load_settings
from prodsheets.sandbox import DEFAULT_BRAND, DEFAULT_TOKEN
from prodsheets.tickets import build_ticket, fetch_designs
from prodsheets.workflow import make_store


def test_recycled_workers_finish_every_queued_ticket(shared_sandbox, tmp_path, monkeypatch):
    """CPython's max_tasks_per_child deadlocks with queued work (gh-115634); our own
    recycling must not: queue everything at once, recycle every 2 tickets a worker."""
    monkeypatch.setattr(render_pool, "RECYCLE_AFTER", 2)
    settings = load_settings({}, environ={}, cwd=tmp_path)
    settings.cache_dir = tmp_path / "cache"
    client = ApiClient(shared_sandbox.url, DEFAULT_BRAND, DEFAULT_TOKEN)
    store = make_store(settings, api_origin=client.origin)
    orders = list(client.iter_orders(count=50))
    designs = fetch_designs(client.get_design, [i.design_id for o in orders for i in o.items])
    tickets = [
        build_ticket(o, designs, store, brand=DEFAULT_BRAND, qr_template=settings.qr_template)
        for o in orders
    ]
    with render_pool.RenderPool(2, settings, store.cache_dir, inline=False) as pool:
        futures = [pool.submit(t, tmp_path / f"t{n}.pdf", None) for n, t in enumerate(tickets)]
        results = [f.result(timeout=300) for f in futures]
    assert len(pool._retired) >= 2
    for temp, pages, problems in results:
        assert problems == []
        assert len(pypdf.PdfReader(temp).pages) == pages
        os.unlink(temp)


class _KillsTheWorker:
    """Unpickling this in a worker ends the worker, as a segfault or the OOM killer would."""

    def __reduce__(self):
        return (os._exit, (9,))


def test_a_dead_worker_fails_its_ticket_and_the_pool_carries_on(shared_sandbox, tmp_path):
    settings = load_settings({}, environ={}, cwd=tmp_path)
    settings.cache_dir = tmp_path / "cache"
    client = ApiClient(shared_sandbox.url, DEFAULT_BRAND, DEFAULT_TOKEN)
    store = make_store(settings, api_origin=client.origin)
    order = client.get_order("5e69254b714841168b8d9825")
    designs = fetch_designs(client.get_design, [i.design_id for i in order.items])
    ticket = build_ticket(order, designs, store, brand=DEFAULT_BRAND,
                          qr_template=settings.qr_template)  # fmt: skip
    with render_pool.RenderPool(2, settings, store.cache_dir, inline=False) as pool:
        poisoned = pool.submit(_KillsTheWorker(), tmp_path / "x.pdf", None)
        with pytest.raises(BrokenProcessPool):
            poisoned.result(timeout=120)
        temp, pages, problems = pool.submit(ticket, tmp_path / "t.pdf", None).result(timeout=120)
    assert pool.restarts == 1
    assert problems == [] and len(pypdf.PdfReader(temp).pages) == pages
