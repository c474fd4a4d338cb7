"""Per-ticket render cost of the sample orders: milliseconds, pages and PDF size.

Each sample order is prepared once (sandbox over loopback, a private warm asset cache),
then rendered ``--runs`` times by one warm ``Renderer`` in this process; the median and
the minimum are printed per order with the PDF's size and page count. The render step
is what a batch's worker processes spend their time on, so this is the number to
compare before and after a change to the templates, the fonts or the image preparation.

    python -m benchmarks.tickets [--runs 15] [--page-size A4] [--json FILE]
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from prodsheets.api import ApiClient
from prodsheets.assets import AssetStore
from prodsheets.config import PageSize, Settings
from prodsheets.designs import DesignSource
from prodsheets.paths import samples_dir
from prodsheets.pipeline import prepare
from prodsheets.render import Renderer
from prodsheets.sandbox import DEFAULT_BRAND, DEFAULT_TOKEN, Sandbox, SandboxData


def measure(runs: int, page_size: PageSize) -> list[dict]:
    data = SandboxData.from_dir(samples_dir())
    results = []
    with tempfile.TemporaryDirectory(prefix="prodsheets-tickets-") as tmp:
        settings = Settings(cache_dir=Path(tmp), page_size=page_size)
        with (
            Sandbox(copy.deepcopy(data)) as server,
            ApiClient(server.url, DEFAULT_BRAND, DEFAULT_TOKEN) as client,
        ):
            store = AssetStore.from_settings(settings, api_origin=client.origin)
            designs = DesignSource(client.get_design)
            orders = list(client.iter_orders("orderId", "ascending", count=50))
            tickets = [
                prepare(o, designs, store, brand=DEFAULT_BRAND, qr_template=settings.qr_template)
                for o in orders
            ]
            store.close()
        renderer = Renderer.from_settings(settings)
        renderer.render(tickets[0].ticket)  # warm-up: fonts, stylesheets
        for prepared in tickets:
            times = []
            for _ in range(runs):
                ticket = copy.deepcopy(prepared.ticket)
                start = time.perf_counter()
                result = renderer.render(ticket)
                times.append((time.perf_counter() - start) * 1000)
            results.append(
                {
                    "order": prepared.order.label,
                    "items": len(prepared.ticket.items),
                    "pages": result.pages,
                    "complete": not result.problems,
                    "median_ms": round(statistics.median(times), 1),
                    "min_ms": round(min(times), 1),
                    "pdf_kb": round(len(result.pdf) / 1024, 1),
                }
            )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--page-size", type=PageSize, default=PageSize.A4)
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = parser.parse_args()
    rows = measure(args.runs, args.page_size)
    header = f"{'order':>8} {'items':>5} {'pages':>5} {'median ms':>10} {'min ms':>7} {'KB':>7}"
    print(header)
    for r in rows:
        flag = "" if r["complete"] else "  INCOMPLETE"
        print(f"{r['order']:>8} {r['items']:>5} {r['pages']:>5} {r['median_ms']:>10} "
              f"{r['min_ms']:>7} {r['pdf_kb']:>7}{flag}")  # fmt: skip
    per_item = [r["median_ms"] / r["items"] for r in rows]
    print(f"median per item: {statistics.median(per_item):.0f} ms", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
