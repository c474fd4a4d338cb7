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
from prodsheets.assets import AssetStore
from prodsheets.config import load_settings
from prodsheets.designs import DesignSource
from prodsheets.pipeline import prepare
from prodsheets.render_pool import RenderPool


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    settings = load_settings({})
    api_url, brand, token = settings.require_api()
    args.out.mkdir(parents=True, exist_ok=True)
    with ApiClient(api_url, brand, token) as client:
        store = AssetStore.from_settings(settings, api_origin=client.origin)
        designs = {d.api_id: d for d in client.iter_designs(count=100)}
        orders = list(client.iter_orders("orderId", "ascending", count=100))
        source = DesignSource(designs.__getitem__)
        tickets = [
            prepare(o, source, store, brand=brand, qr_template=settings.qr_template).ticket
            for o in orders
        ]
    items = sum(len(t.items) for t in tickets)
    with RenderPool(args.jobs, settings, inline=args.jobs == 1) as pool:
        warm = [pool.submit(tickets[0], args.out / "warmup.pdf") for _ in range(args.jobs * 2)]
        wait(warm)
        start = time.perf_counter()
        futures = [pool.submit(t, args.out / f"order-{n}.pdf") for n, t in enumerate(tickets)]
        for future in futures:
            staged = future.result()
            os.replace(staged.temp, staged.final)
        wall = time.perf_counter() - start
    print(json.dumps({"orders": len(tickets), "items": items, "wall": wall}))


if __name__ == "__main__":
    main()
