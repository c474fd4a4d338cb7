"""Where designs come from: the one place that fetches them and says which are missing.

Every command gets an order's designs here. Each design is fetched once, however many
items and orders share it, and concurrently when an order has several. What the API
says about a design decides what happens to the order:

- the design exists: it is printed;
- the item names no design, or the API says the design does not exist (404): a
  *permanent* problem; the item's page says so in red and the rest is printed
  (``DesignMissing``);
- the API cannot answer now (timeout, 429, 5xx) or refuses the token or the brand: the
  error is raised; the order fails and is retried (or the run stops, for auth/brand).

In a batch, ``expect`` counts the orders that will use a design and ``release`` forgets it
once the last one is prepared, so memory stays flat however long the night.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from .errors import NotFoundError
from .models import Design, Order


@dataclass(frozen=True)
class DesignMissing:
    """An item's design that cannot be had, for good: why, in the worker's words."""

    api_id: str
    reason: str


DesignLookup = dict[str, Design | DesignMissing]


class DesignSource:
    """Designs by API id through ``get_design`` (``ApiClient.get_design``, or a lookup in
    saved JSON), each fetched once while it is wanted."""

    def __init__(self, get_design: Callable[[str], Design], *, workers: int = 4) -> None:
        self._get_design = get_design
        self._workers = workers
        self._futures: dict[str, Future] = {}
        self._uses: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    def for_order(self, order: Order) -> DesignLookup:
        """Every design the order's items name, or why it is missing. Raises the API's
        error for anything that is not a permanent answer about one design."""
        wanted = list(dict.fromkeys(item.design_api_id for item in order.items))
        futures = {api_id: self._future(api_id) for api_id in wanted if api_id}
        found: DesignLookup = {}
        if "" in wanted:
            found[""] = DesignMissing("", "the API gave no design id for this item")
        for api_id, future in futures.items():
            try:
                found[api_id] = future.result()
            except NotFoundError:
                found[api_id] = DesignMissing(
                    api_id, f"design {api_id} does not exist (the API answered 404)"
                )
        return found

    def expect(self, orders: Iterable[Order]) -> None:
        """Remember each design until every one of ``orders`` has been ``release``d."""
        with self._lock:
            for order in orders:
                self._uses.update({i.design_api_id for i in order.items if i.design_api_id})

    def release(self, order: Order) -> None:
        with self._lock:
            for api_id in {i.design_api_id for i in order.items if i.design_api_id}:
                self._uses[api_id] -= 1
                if self._uses[api_id] <= 0:
                    del self._uses[api_id]
                    self._futures.pop(api_id, None)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> DesignSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _future(self, api_id: str) -> Future:
        """The one fetch of ``api_id``: started now, or shared with whoever started it."""
        with self._lock:
            future = self._futures.get(api_id)
            if future is not None:
                return future
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="design")
            future = self._futures[api_id] = self._pool.submit(self._get_design, api_id)
            return future
