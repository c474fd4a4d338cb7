"""`make bench`: the nightly batch against the naive baseline and the render-only ceiling.

For each N (default 300 and 1200 orders), on this machine, in one run:
  1. start the sandbox (its own process) with N synthetic orders and 50 ms of latency;
  2. time `prodsheets batch` end to end, cold cache: wall, items/s, peak RSS of its
     whole process tree;
  3. time the straightforward baseline (benchmarks/baseline.py) on the first
     --baseline-orders orders of the same data (it is ~10x slower; items/s compare);
  4. time the render-only ceiling (benchmarks/ceiling.py) on the same tickets;
  5. time a cold `prodsheets order` for a two-item order;
then print a table and write it as JSON (benchmarks/results/bench-<date>.json).

    python -m benchmarks.bench [--orders 300 1200] [--latency 50] [--jobs 2]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.procmon import run_measured

HERE = Path(__file__).resolve().parent
PY = sys.executable


def start_sandbox(orders: int, latency: float) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [PY, "-m", "prodsheets.cli", "sandbox", "--port", "0", "--synthetic", str(orders),
         "--latency", str(latency)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    line = proc.stderr.readline()
    match = re.search(r"(http://[\d.]+:\d+)", line)
    if not match:
        proc.kill()
        raise SystemExit(f"sandbox did not start: {line}")
    return proc, match.group(1)


def measure(n: int, args: argparse.Namespace, work: Path) -> dict:
    sandbox, url = start_sandbox(n, args.latency)
    try:
        env = {
            **os.environ,
            "PRODSHEETS_API_URL": url,
            "PRODSHEETS_BRAND": "acme-custom",
            "PRODSHEETS_TOKEN": "sandbox-token",
            "PRODSHEETS_CACHE_DIR": str(work / "cache"),
        }
        batch = run_measured(
            [PY, "-m", "prodsheets.cli", "batch", "--out", str(work / "print"),
             "--state", str(work / "state.sqlite3"), "--jobs", str(args.jobs)], env)  # fmt: skip
        if batch.returncode != 0:
            raise SystemExit(f"batch failed ({batch.returncode}): {batch.stderr[-2000:]}")
        manifest = json.loads(Path(batch.stdout.strip().splitlines()[-1]).read_text())
        result = {
            "orders": n,
            "items": None,
            "batch": {"wall_s": round(batch.wall, 2), "peak_rss_mb": round(batch.peak_rss_mb, 1)},
        }
        ceiling_run = run_measured(
            [PY, "-m", "benchmarks.ceiling", "--out", str(work / "ceiling"), "--jobs",
             str(args.jobs)], env)  # fmt: skip
        ceiling = json.loads(ceiling_run.stdout.strip().splitlines()[-1])
        result["items"] = ceiling["items"]
        result["batch"]["items_per_s"] = round(ceiling["items"] / batch.wall, 1)
        result["ceiling"] = {
            "wall_s": round(ceiling["wall"], 2),
            "items_per_s": round(ceiling["items"] / ceiling["wall"], 1),
        }
        baseline_orders = min(n, args.baseline_orders)
        baseline_run = run_measured(
            [PY, "-m", "benchmarks.baseline", "--out", str(work / "baseline"), "--orders",
             str(baseline_orders)], env)  # fmt: skip
        if baseline_run.returncode != 0:
            raise SystemExit(f"baseline failed: {baseline_run.stderr[-2000:]}")
        baseline = json.loads(baseline_run.stdout.strip().splitlines()[-1])
        result["baseline"] = {
            "orders": baseline["orders"],
            "items": baseline["items"],
            "wall_s": round(baseline["wall"], 2),
            "items_per_s": round(baseline["items"] / baseline["wall"], 1),
            "peak_rss_mb": round(baseline_run.peak_rss_mb, 1),
        }
        two_item = next(t for t in manifest["tickets"] if _items(t) == 2)
        walls = []
        for _ in range(3):
            cold = run_measured([PY, "-m", "prodsheets.cli", "order", two_item["order_id"],
                                 "-o", str(work / "single")], env)  # fmt: skip
            if cold.returncode != 0:
                raise SystemExit(f"order failed: {cold.stderr[-1000:]}")
            walls.append(cold.wall)
        result["order_cold_s"] = round(statistics.median(walls), 2)
        result["ratios"] = {
            "batch_vs_baseline": round(
                result["batch"]["items_per_s"] / result["baseline"]["items_per_s"], 2
            ),
            "batch_vs_ceiling": round(
                result["batch"]["items_per_s"] / result["ceiling"]["items_per_s"], 3
            ),
        }
        return result
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=30)


def _items(ticket: dict) -> int:
    return ticket["items"]


def table(results: list[dict]) -> str:
    rows = [
        (
            "orders",
            "items",
            "batch s",
            "batch it/s",
            "baseline it/s",
            "ceiling it/s",
            "x baseline",
            "of ceiling",
            "peak MB",
            "order cold s",
        )
    ]
    for r in results:
        rows.append((str(r["orders"]), str(r["items"]), f"{r['batch']['wall_s']:.1f}",
                     f"{r['batch']['items_per_s']:.1f}", f"{r['baseline']['items_per_s']:.1f}",
                     f"{r['ceiling']['items_per_s']:.1f}",
                     f"{r['ratios']['batch_vs_baseline']:.1f}x",
                     f"{r['ratios']['batch_vs_ceiling']:.0%}", f"{r['batch']['peak_rss_mb']:.0f}",
                     f"{r['order_cold_s']:.2f}"))  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in rows
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, nargs="+", default=[300, 1200])
    parser.add_argument("--latency", type=float, default=50.0, help="ms per sandbox request")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--baseline-orders",
        type=int,
        default=100,
        help="orders the (slow) baseline renders; items/s is compared",
    )
    parser.add_argument("--results", type=Path, default=HERE / "results")
    args = parser.parse_args()
    results = []
    for n in args.orders:
        work = Path(tempfile.mkdtemp(prefix=f"prodsheets-bench-{n}-"))
        try:
            print(f"N={n}: running (batch, ceiling, baseline, cold order)…", file=sys.stderr)
            results.append(measure(n, args, work))
        finally:
            shutil.rmtree(work, ignore_errors=True)
    report = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "cpus": os.cpu_count(),
        "latency_ms": args.latency,
        "jobs": args.jobs,
        "results": results,
    }
    args.results.mkdir(parents=True, exist_ok=True)
    path = args.results / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(table(results))
    if len(results) >= 2:
        small, large = results[0], results[-1]
        growth = large["batch"]["peak_rss_mb"] / small["batch"]["peak_rss_mb"] - 1
        print(f"peak memory N={large['orders']} vs N={small['orders']}: {growth:+.0%}")
    print(f"written: {path}")


if __name__ == "__main__":
    main()
