"""The render-only ceiling: the same tickets rendered from memory, no network, every core.

Tickets are assembled first (designs and images from the sandbox, images through the
warm cache the batch left), then only the rendering is timed, on the batch's own
process pool, writing the PDFs as the batch does.

    python -m benchmarks.ceiling --out DIR --jobs 2   (API settings from PRODSHEETS_*)
"""

from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import wait
from pathlib import Path

from prodsheets.api import ApiClient
from prodsheets.config import load_settings
from prodsheets.render_pool import RenderPool
from prodsheets.tickets import build_ticket
from prodsheets.workflow import make_store


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    settings = load_settings({})
    api_url, brand, token = settings.require_api()
    args.out.mkdir(parents=True, exist_ok=True)
    with ApiClient(api_url, brand, token) as client:
        store = make_store(settings, api_origin=client.origin)
        designs = {d.id: d for d in client.iter_designs(count=100)}
        orders = list(client.iter_orders("orderId", "ascending", count=100))
    tickets = [
        build_ticket(o, designs, store, brand=brand, qr_template=settings.qr_template)
        for o in orders
    ]
    items = sum(len(t.items) for t in tickets)
    with RenderPool(args.jobs, settings, store.cache_dir, inline=args.jobs == 1) as pool:
        warm = [
            pool.submit(tickets[0], args.out / "warmup.pdf", None) for _ in range(args.jobs * 2)
        ]
        wait(warm)
        start = time.perf_counter()
        futures = [pool.submit(t, args.out / f"order-{n}.pdf", None) for n, t in enumerate(tickets)]
        for future, n in zip(futures, range(len(futures)), strict=True):
            temp, _, _ = future.result()
            os.replace(temp, args.out / f"order-{n}.pdf")
        wall = time.perf_counter() - start
    print(json.dumps({"orders": len(tickets), "items": items, "wall": wall}))


if __name__ == "__main__":
    main()
