"""The render-only ceiling: the same tickets made from memory, no network, every core.

Every order is gathered first (designs from the sandbox, image downloads through the warm
cache the batch left: no network while timing), then only the CPU half is timed, on the
batch's own process pool, exactly as the batch's workers do it: preparing the images
(from a cold preparation cache, as the batch had), building and rendering each ticket,
writing the PDFs. The best of two passes: a ceiling is the most the machine can do, and
this machine is shared (one pass measured 14.3 items/s where the batch made 16.1).

    python -m benchmarks.ceiling --out DIR --jobs 2   (API settings from PRODSHEETS_*)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from concurrent.futures import wait
from pathlib import Path

from prodsheets.api import ApiClient
from prodsheets.assets import AssetStore
from prodsheets.config import load_settings
from prodsheets.designs import DesignSource
from prodsheets.pipeline import gather
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
        gathered = [gather(o, source, store) for o in orders]
    items = sum(len(g.order.items) for g in gathered)
    with RenderPool(args.jobs, settings, inline=args.jobs == 1) as pool:
        warm = [pool.submit(gathered[0], args.out / "warmup.pdf") for _ in range(args.jobs * 2)]
        wait(warm)
        walls = []
        for _ in range(2):
            shutil.rmtree(store.prepared_dir, ignore_errors=True)  # prepared as the batch did
            start = time.perf_counter()
            futures = [pool.submit(g, args.out / f"order-{n}.pdf") for n, g in enumerate(gathered)]
            for future in futures:
                staged, _ = future.result()
                os.replace(staged.temp, staged.final)
            walls.append(time.perf_counter() - start)
    print(json.dumps({"orders": len(gathered), "items": items, "wall": min(walls)}))


if __name__ == "__main__":
    main()
