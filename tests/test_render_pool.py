"""The render process pool: recycling workers never strands a ticket; a dead worker
fails only its ticket; terminate stops at once."""

from __future__ import annotations

import dataclasses
import os
from concurrent.futures.process import BrokenProcessPool

import pypdf
import pytest

import prodsheets.render_pool as render_pool
from prodsheets.api import ApiClient
from prodsheets.assets import AssetStore
from prodsheets.config import load_settings
from prodsheets.designs import DesignSource
from prodsheets.pipeline import gather
from prodsheets.sandbox import DEFAULT_BRAND, DEFAULT_TOKEN


@pytest.fixture
def tickets(shared_sandbox, tmp_path):
    """Every sample order gathered (designs, downloads), and the settings they were made
    with: what the batch hands its render workers."""
    settings = dataclasses.replace(
        load_settings({}, environ={}, cwd=tmp_path), cache_dir=tmp_path / "cache"
    )
    with ApiClient(shared_sandbox.url, DEFAULT_BRAND, DEFAULT_TOKEN) as client:
        store = AssetStore.from_settings(settings, api_origin=client.origin)
        designs = DesignSource(client.get_design)
        orders = list(client.iter_orders(count=50))
        made = [gather(o, designs, store) for o in orders]
    return settings, made


def test_recycled_workers_finish_every_queued_ticket(tickets, tmp_path, monkeypatch):
    """CPython's max_tasks_per_child deadlocks with queued work (gh-115634); our own
    recycling must not: queue everything at once, recycle every 2 tickets a worker."""
    monkeypatch.setattr(render_pool, "RECYCLE_AFTER", 2)
    settings, made = tickets
    with render_pool.RenderPool(2, settings) as pool:
        futures = [pool.submit(t, tmp_path / f"t{n}.pdf") for n, t in enumerate(made)]
        results = [f.result(timeout=300) for f in futures]
    assert pool.recycled >= 2
    for staged, ticket in results:
        assert staged.problems == () and ticket.complete
        assert len(pypdf.PdfReader(staged.temp).pages) == staged.pages
        assert staged.temp.parent == tmp_path and staged.temp.name.startswith(".t")
        assert not staged.final.exists()  # committing is the recorder's job
        os.unlink(staged.temp)


class _KillsTheWorker:
    """Unpickling this in a worker ends the worker, as a segfault or the OOM killer would."""

    def __reduce__(self):
        return (os._exit, (9,))


def test_a_dead_worker_fails_its_ticket_and_the_pool_carries_on(tickets, tmp_path):
    settings, made = tickets
    with render_pool.RenderPool(2, settings) as pool:
        poisoned = pool.submit(_KillsTheWorker(), tmp_path / "x.pdf")
        with pytest.raises(BrokenProcessPool):
            poisoned.result(timeout=120)
        staged, _ = pool.submit(made[0], tmp_path / "t.pdf").result(timeout=120)
    assert pool.restarts == 1
    assert staged.problems == () and len(pypdf.PdfReader(staged.temp).pages) == staged.pages


def test_terminate_kills_the_workers_at_once(tickets, tmp_path):
    settings, made = tickets
    pool = render_pool.RenderPool(2, settings)
    processes = list(pool._executor._processes.values())
    for n in range(40):
        pool.submit(made[n % len(made)], tmp_path / f"t{n}.pdf")
    manager = pool._executor._executor_manager_thread
    pool.terminate()
    # The executor's own thread joins the workers; joining them here as well races it for
    # the exit status the forkserver sends once (the loser reads EOF and records 255).
    manager.join(timeout=30)
    for process in processes:  # killed, not left to work through the queue
        assert process.exitcode == -15
    assert not list(tmp_path.glob("t*.pdf"))
