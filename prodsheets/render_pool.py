"""The CPU half of every ticket on every core: worker processes that prepare the
images (decode, colour, size) and render, each with one warm Renderer.

The batch's main process only talks to the network (designs, downloads into the asset
cache); everything that costs CPU happens here, in parallel, instead of serialising on
the main process's GIL (measured: image work on the main process took half the
machine on a realistic night).

WeasyPrint holds the GIL while it lays out, so threads do not help; processes do
(measured here: 1 worker ~20 tickets/s, 2 workers ~39). Workers are started with
``forkserver`` (never ``fork`` from a process with threads), import WeasyPrint once,
and reuse one ``FontConfiguration`` (a worker's RSS measured here: 110 MB after 100
tickets, 111 MB after 800). As a safety net they are recycled every ``RECYCLE_AFTER``
tickets each.

Recycling does not use ``max_tasks_per_child``: on CPython 3.11 to 3.15b3 an executor
with queued work deadlocks when a worker exits at that limit (CPython gh-115634; it hung
our 1,200-order benchmark). Instead the old executor finishes its queue, then a fresh one
starts: never two sets of workers at once, so peak memory does not grow with the night.

Each worker runs the pipeline's own steps (``pipeline.assemble``, ``render_staged``): the
PDF is written under a temporary name beside its final one and committed by the batch's
recorder, so a kill at any moment leaves either no PDF or a complete one.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from . import logs
from .config import Settings
from .errors import WorkersGaveUp
from .pipeline import Gathered, Staged, assemble, render_staged
from .tickets import Ticket

RECYCLE_AFTER = 5000  # tickets per worker
MAX_RESTARTS = 3
_renderer: Any = None
_store: Any = None  # the asset cache, for preparing images (never the network)
_renderer_settings: Settings | None = None


def _init_worker(settings: Settings, log_level: int, *, configure_logging: bool = True) -> None:
    """In each worker: logging as the CLI set it up (WeasyPrint's own messages only at
    ``-vv``; the renderer reports them as ticket problems), then one warm renderer."""
    global _renderer, _renderer_settings, _store
    from .assets import AssetStore
    from .render import Renderer

    if configure_logging:
        logs.configure(log_level)
    _renderer_settings = settings
    _renderer = Renderer.from_settings(settings)
    _store = AssetStore.from_settings(settings)


def _render(gathered: Gathered, final: Path) -> tuple[Staged, Ticket]:
    """Prepare the images, build the ticket, render it beside ``final``."""
    settings = _renderer_settings
    ticket = assemble(
        gathered, _store, brand=settings.brand or "", qr_template=settings.qr_template
    )
    return render_staged(_renderer, ticket, final), ticket


class RenderPool:
    """``submit(gathered, final_path)`` -> Future of ``(Staged, Ticket)``.

    ``inline=True`` (or one job) renders in this process: for small runs, starting
    workers costs more than it saves."""

    def __init__(self, jobs: int, settings: Settings, *, inline: bool = False) -> None:
        self._settings = settings
        self._log_level = logging.getLogger().getEffectiveLevel()
        self._inline = inline or jobs <= 1
        self._jobs = jobs
        self._executor: ProcessPoolExecutor | None = None
        self._retired: list[ProcessPoolExecutor] = []
        self._submitted = 0
        self.recycled = 0
        self.restarts = 0
        if not self._inline:
            self._start()
        elif _renderer_settings != settings:  # inline: this process is the worker
            _init_worker(settings, self._log_level, configure_logging=False)

    def _start(self) -> None:
        self._executor = ProcessPoolExecutor(
            max_workers=self._jobs,
            mp_context=multiprocessing.get_context("forkserver"),
            initializer=_init_worker,
            initargs=(self._settings, self._log_level),
        )
        for _ in range(self._jobs):  # start the workers now, not at the first ticket
            self._executor.submit(os.getpid)

    def submit(self, gathered: Gathered, final: Path) -> Future:
        if self._executor is None:
            future: Future = Future()
            try:
                future.set_result(_render(gathered, final))
            except Exception as exc:
                future.set_exception(exc)
            return future
        if self._submitted >= RECYCLE_AFTER * self._jobs:
            self._executor.shutdown(wait=True)  # finishes its queue (~1 s), then exits
            self._retired.append(self._executor)
            self._start()
            self._submitted = 0
            self.recycled += 1
        self._submitted += 1
        try:
            return self._executor.submit(_render, gathered, final)
        except BrokenProcessPool:
            # A worker died (killed, out of memory): its ticket failed and is retried next
            # run; a fresh pool carries on with the others.
            if self.restarts >= MAX_RESTARTS:
                raise WorkersGaveUp("render workers keep dying; giving up this run") from None
            self.restarts += 1
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._start()
            return self._executor.submit(_render, gathered, final)

    def terminate(self) -> None:
        """Stop now (SIGINT/SIGTERM): queued tickets are dropped, workers killed."""
        for executor in [*self._retired, self._executor]:
            if executor is None:
                continue
            processes = list((executor._processes or {}).values())  # no public way (3.11)
            executor.shutdown(wait=False, cancel_futures=True)
            for process in processes:
                process.terminate()
        self._executor = None
        self._retired.clear()

    def close(self) -> None:
        for executor in [*self._retired, self._executor]:
            if executor is not None:
                executor.shutdown(wait=True, cancel_futures=True)
        self._executor = None
        self._retired.clear()

    def __enter__(self) -> RenderPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
