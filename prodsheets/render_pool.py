"""Rendering on every core: a pool of worker processes, each with one warm Renderer.

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

A worker writes the PDF to a hidden temporary file beside its final name and returns
that path; the batch renames it into place only after recording the result, so a kill
at any moment leaves either no PDF or a complete one whose state row knows it.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from .config import Settings
from .errors import RenderError
from .tickets import Ticket

RECYCLE_AFTER = 5000  # tickets per worker
_renderer: Any = None
_renderer_args: tuple | None = None


def _init_worker(page_size: str, template_dir: str | None, cache_dir: str) -> None:
    global _renderer, _renderer_args
    from .render import Renderer

    _renderer_args = (page_size, template_dir, cache_dir)
    _renderer = Renderer(
        page_size=page_size,
        template_dir=Path(template_dir) if template_dir else None,
        cache_dir=Path(cache_dir),
    )


def render_to_temp(
    ticket: Ticket, final_path: Path, previous_problems: list[str] | None
) -> tuple[str | None, int, list[str]]:
    """Render and write beside ``final_path`` under a temporary name.

    With ``previous_problems`` (an incomplete order retried with unchanged data) nothing
    is written when the problems are the same as last time."""
    result = _renderer.render(ticket)
    problems = [str(p) for p in result.problems]
    if previous_problems is not None and problems and sorted(problems) == sorted(previous_problems):
        return None, result.pages, problems
    final_path = Path(final_path)
    fd, tmp = tempfile.mkstemp(prefix=f".{final_path.name}.", suffix=".part", dir=final_path.parent)
    with os.fdopen(fd, "wb") as fh:
        fh.write(result.pdf)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(tmp, 0o644)
    return tmp, result.pages, problems


class RenderPool:
    """``submit(ticket, path, previous_problems)`` -> Future of ``render_to_temp``'s result.

    ``inline=True`` renders in this process (small runs: starting workers costs more
    than it saves)."""

    def __init__(self, jobs: int, settings: Settings, cache_dir: Path, *, inline: bool) -> None:
        self._args = (
            settings.page_size,
            str(settings.template_dir) if settings.template_dir else None,
            str(cache_dir),
        )
        self._inline = inline or jobs <= 1
        self._jobs = jobs
        self._executor: ProcessPoolExecutor | None = None
        self._retired: list[ProcessPoolExecutor] = []
        self._submitted = 0
        self.restarts = 0
        if not self._inline:
            self._start()
        elif _renderer_args != self._args:
            _init_worker(*self._args)

    def _start(self) -> None:
        self._executor = ProcessPoolExecutor(
            max_workers=self._jobs,
            mp_context=multiprocessing.get_context("forkserver"),
            initializer=_init_worker,
            initargs=self._args,
        )
        for _ in range(self._jobs):  # start the workers now, not at the first ticket
            self._executor.submit(os.getpid)

    def submit(self, ticket: Ticket, path: Path, previous_problems: list[str] | None) -> Future:
        if self._executor is not None:
            if self._submitted >= RECYCLE_AFTER * self._jobs:
                self._executor.shutdown(wait=True)  # finishes its queue (~1 s), then exits
                self._retired.append(self._executor)
                self._start()
                self._submitted = 0
            self._submitted += 1
            try:
                return self._executor.submit(render_to_temp, ticket, path, previous_problems)
            except BrokenProcessPool:
                # A worker died (killed, out of memory): its ticket fails and is retried
                # next run; a fresh pool carries on with the others.
                if self.restarts >= 3:
                    raise RenderError("render workers keep dying; giving up this run") from None
                self.restarts += 1
                self._executor.shutdown(wait=False, cancel_futures=True)
                self._start()
                return self._executor.submit(render_to_temp, ticket, path, previous_problems)
        future: Future = Future()
        try:
            future.set_result(render_to_temp(ticket, path, previous_problems))
        except Exception as exc:
            future.set_exception(exc)
        return future

    def close(self) -> None:
        for executor in [*self._retired, self._executor]:
            if executor is not None:
                executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> RenderPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
