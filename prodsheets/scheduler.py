"""Keeps the render workers busy: gather on threads, render in processes, record here.

Gathering an order is network-bound (its designs and images, a few requests of latency
each); assembling and rendering it is CPU-bound (``render_pool``). The scheduler keeps
enough orders in flight that a queue always waits in front of every render worker, and
hands each result to its ``Handler`` on the calling thread, in the order they complete,
so the handler (the batch's recorder) never needs a lock. It stops promptly when
``stop`` is set (SIGINT/SIGTERM): queued work is dropped and the workers are killed,
without waiting for the rest.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Protocol

from .pipeline import Gathered, Staged
from .plan import Candidate
from .render_pool import RenderPool
from .tickets import Ticket

POLL_SECONDS = 0.2  # how often a wait looks at the stop flag


class Handler(Protocol):
    def gathered(self, candidate: Candidate, gathered: Gathered) -> tuple[Gathered, Path] | None:
        """What to render where (a final path), or None for no ticket."""

    def rendered(self, candidate: Candidate, staged: Staged, ticket: Ticket) -> None: ...

    def failed(self, candidate: Candidate, error: BaseException) -> None: ...

    def stopped(self) -> bool:
        """Whether the run must stop now (a fatal error was handled)."""


class Scheduler:
    def __init__(
        self,
        gather: Callable[[Candidate], Gathered],
        pool: RenderPool,
        *,
        net_workers: int,
        jobs: int,
        stop: threading.Event,
    ) -> None:
        self._gather = gather
        self._pool = pool
        self._net_workers = net_workers
        self._max_in_flight = net_workers + jobs * 4
        self._stop = stop

    def run(self, candidates: Iterable[Candidate], handler: Handler) -> bool:
        """Work through ``candidates``; False when stopped early by ``stop``."""
        queue = iter(candidates)
        preparing: dict[Future, Candidate] = {}
        rendering: dict[Future, Candidate] = {}
        net = ThreadPoolExecutor(self._net_workers, thread_name_prefix="gather")
        try:
            exhausted = False
            while True:
                while not exhausted and len(preparing) + len(rendering) < self._max_in_flight:
                    candidate = next(queue, None)
                    if candidate is None:
                        exhausted = True
                        break
                    preparing[net.submit(self._gather, candidate)] = candidate
                if not preparing and not rendering:
                    return True
                done, _ = wait([*preparing, *rendering], POLL_SECONDS, FIRST_COMPLETED)
                if self._stop.is_set():
                    self._pool.terminate()
                    return False
                for future in done:
                    if future in preparing:
                        self._after_gather(preparing.pop(future), future, handler, rendering)
                    else:
                        self._after_render(rendering.pop(future), future, handler)
                if handler.stopped():  # a fatal error: finish what runs, start nothing
                    exhausted = True
                    for future in [f for f in preparing if f.cancel()]:
                        del preparing[future]
        finally:
            net.shutdown(wait=not self._stop.is_set(), cancel_futures=True)

    def _after_gather(self, candidate, future, handler, rendering) -> None:
        try:
            job = handler.gathered(candidate, future.result())
            if job is not None:
                rendering[self._pool.submit(*job)] = candidate
        except Exception as exc:
            handler.failed(candidate, exc)

    def _after_render(self, candidate, future, handler) -> None:
        try:
            staged, ticket = future.result()
        except Exception as exc:
            handler.failed(candidate, exc)
            return
        handler.rendered(candidate, staged, ticket)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """An event set by SIGINT or SIGTERM while the block runs (main thread only): the
    run stops at its next step instead of dying in the middle of one."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, lambda signum, frame: stop.set())
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
