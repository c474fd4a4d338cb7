"""`make bench`: the nightly batch against the naive baseline and the render-only ceiling.

Two worlds (prodsheets/synthetic.py): ``realistic``, where every design has its own
configurator render (1200×900 PNG with transparency) and most their own customer logo
(400×400 PNG with transparency), and ``shared``, the world of the first benchmarks where
a handful of pictures stand behind every URL (so the asset cache hides image work).

For each world and N, on this machine, in one run:
  1. the sandbox (its own process) serves N orders with 50 ms latency on every request;
  2. `prodsheets batch` end to end, cold asset cache: wall, items/s, peak RSS of its whole
     process tree, CPU seconds of its main process and of its render workers;
  3. the straightforward baseline (benchmarks/baseline.py) on the first --baseline-orders
     orders of the same data (it is ~10x slower; items/s compare);
  4. the render-only ceiling (benchmarks/ceiling.py) on the same tickets;
  5. a cold `prodsheets order` of a two-item order (median of three);
  6. a quiet night: 10 new orders on top of the N printed ones (dated a month ago, out of
     the re-check window): wall and API requests;
then print a table and write it as JSON (benchmarks/results/bench-<date>.json).

Generated worlds are kept in benchmarks/results/worlds/ (drawing 1,600 renders takes
a minute or two; the next run reuses them).

    python -m benchmarks.bench [--orders 300 1200] [--worlds realistic shared]
                               [--shared-orders 300] [--latency 50] [--jobs 2]
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
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.procmon import Measured, run_measured

HERE = Path(__file__).resolve().parent
PY = sys.executable
NEW_TONIGHT = 10


def world_dir(world: str, n: int, results: Path) -> Path:
    """``n + 10`` orders of ``world``, generated once and kept; dated from a month ago."""
    from prodsheets.synthetic import synthetic_dataset

    start = (datetime.now(UTC) - timedelta(days=30)).replace(hour=8, minute=0, second=0,
                                                             microsecond=0)  # fmt: skip
    folder = results / "worlds" / f"{world}-{n}-{start:%Y%m%d}"
    if not (folder / "orders.json").is_file():
        print(f"  drawing the {world} world of {n} orders (kept in {folder})…", file=sys.stderr)
        data = synthetic_dataset(n + NEW_TONIGHT, seed=1, world=world, start=start,
                                 workers=os.cpu_count() or 1)  # fmt: skip
        partial = folder.with_name(folder.name + ".part")
        shutil.rmtree(partial, ignore_errors=True)
        data.to_dir(partial)
        partial.rename(folder)
    return folder


def serve(folder: Path, latency: float, orders: int, work: Path) -> tuple[subprocess.Popen, str]:
    """A sandbox over the first ``orders`` orders of ``folder`` (assets shared on disk)."""
    view = work / f"data-{orders}"
    view.mkdir()
    (view / "assets").symlink_to(folder / "assets")
    (view / "designs.json").symlink_to(folder / "designs.json")
    all_orders = json.loads((folder / "orders.json").read_text())
    (view / "orders.json").write_text(json.dumps(all_orders[:orders]))
    proc = subprocess.Popen(
        [PY, "-m", "prodsheets.cli", "sandbox", "--port", "0", "--data", str(view),
         "--latency", str(latency), "--count-requests", str(work / f"hits-{orders}.json")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    line = proc.stderr.readline()
    match = re.search(r"(http://[\d.]+:\d+)", line)
    if not match:
        proc.kill()
        raise SystemExit(f"sandbox did not start: {line}")
    return proc, match.group(1)


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(timeout=30)


def checked(run: Measured, what: str) -> Measured:
    if run.returncode != 0:
        raise SystemExit(f"{what} failed ({run.returncode}): {run.stderr[-2000:]}")
    return run


def last_json(run: Measured) -> dict:
    return json.loads(run.stdout.strip().splitlines()[-1])


def measure(world: str, n: int, args: argparse.Namespace, work: Path) -> dict:
    folder = world_dir(world, n, args.results)
    env = {**os.environ, "PRODSHEETS_BRAND": "acme-custom", "PRODSHEETS_TOKEN": "sandbox-token",
           "PRODSHEETS_CACHE_DIR": str(work / "cache")}  # fmt: skip
    batch_cmd = [PY, "-m", "prodsheets.cli", "batch", "--out", str(work / "print"),
                 "--state", str(work / "state.sqlite3"), "--jobs", str(args.jobs)]  # fmt: skip
    sandbox, url = serve(folder, args.latency, n, work)
    env["PRODSHEETS_API_URL"] = url
    try:
        batch = checked(run_measured(batch_cmd, env), "batch")
        manifest = json.loads(Path(batch.stdout.strip().splitlines()[-1]).read_text())
        ceiling = last_json(checked(run_measured(
            [PY, "-m", "benchmarks.ceiling", "--out", str(work / "ceiling"), "--jobs",
             str(args.jobs)], env), "ceiling"))  # fmt: skip
        baseline_run = checked(run_measured(
            [PY, "-m", "benchmarks.baseline", "--out", str(work / "baseline"), "--orders",
             str(min(n, args.baseline_orders))], env), "baseline")  # fmt: skip
        baseline = last_json(baseline_run)
        two_item = next(t for t in manifest["tickets"] if t["items"] == 2)
        cold = statistics.median(
            checked(
                run_measured(
                    [
                        PY,
                        "-m",
                        "prodsheets.cli",
                        "order",
                        two_item["order_id"],
                        "-o",
                        str(work / "single"),
                    ],
                    env,
                ),
                "order",
            ).wall
            for _ in range(3)
        )
    finally:
        stop(sandbox)
    sandbox, env["PRODSHEETS_API_URL"] = serve(folder, args.latency, n + NEW_TONIGHT, work)
    try:
        quiet = checked(run_measured(batch_cmd, env), "quiet night")
    finally:
        stop(sandbox)
    hits = json.loads((work / f"hits-{n + NEW_TONIGHT}.json").read_text())
    items = ceiling["items"]
    batch_rate = items / batch.wall
    return {
        "world": world,
        "orders": n,
        "items": items,
        "batch": {
            "wall_s": round(batch.wall, 2),
            "items_per_s": round(batch_rate, 1),
            "peak_rss_mb": round(batch.peak_rss_mb, 1),
            "cpu_main_ms_per_item": round(batch.cpu_main_s * 1000 / items, 1),
            "cpu_workers_ms_per_item": round(batch.cpu_others_s * 1000 / items, 1),
            "cpu_ms_per_item": round(batch.cpu_s * 1000 / items, 1),
        },
        "ceiling": {
            "wall_s": round(ceiling["wall"], 2),
            "items_per_s": round(items / ceiling["wall"], 1),
        },
        "baseline": {
            "orders": baseline["orders"],
            "items": baseline["items"],
            "wall_s": round(baseline["wall"], 2),
            "items_per_s": round(baseline["items"] / baseline["wall"], 2),
            "peak_rss_mb": round(baseline_run.peak_rss_mb, 1),
        },
        "order_cold_s": round(cold, 2),
        "quiet_night": {
            "wall_s": round(quiet.wall, 2),
            "requests": sum(hits.values()),
            "listing_requests": sum(v for k, v in hits.items() if k.endswith("/orders")),
        },
        "ratios": {
            "batch_vs_baseline": round(batch_rate / (baseline["items"] / baseline["wall"]), 2),
            "batch_vs_ceiling": round(batch_rate / (items / ceiling["wall"]), 3),
        },
    }


COLUMNS = (
    ("world", lambda r: r["world"]),
    ("orders", lambda r: str(r["orders"])),
    ("items", lambda r: str(r["items"])),
    ("batch s", lambda r: f"{r['batch']['wall_s']:.1f}"),
    ("items/s", lambda r: f"{r['batch']['items_per_s']:.1f}"),
    ("× baseline", lambda r: f"{r['ratios']['batch_vs_baseline']:.1f}×"),
    ("of ceiling", lambda r: f"{r['ratios']['batch_vs_ceiling']:.0%}"),
    ("CPU ms/item main+workers", lambda r: f"{r['batch']['cpu_main_ms_per_item']:.0f}+"
                                           f"{r['batch']['cpu_workers_ms_per_item']:.0f}"),
    ("peak MB", lambda r: f"{r['batch']['peak_rss_mb']:.0f}"),
    ("cold order s", lambda r: f"{r['order_cold_s']:.2f}"),
    ("quiet night s (requests)", lambda r: f"{r['quiet_night']['wall_s']:.1f} "
                                           f"({r['quiet_night']['requests']})"),
)  # fmt: skip


def table(results: list[dict]) -> str:
    rows = [[name for name, _ in COLUMNS]]
    rows += [[cell(r) for _, cell in COLUMNS] for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    return "\n".join(
        "  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in rows
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, nargs="+", default=[300, 1200])
    parser.add_argument("--worlds", nargs="+", default=["realistic", "shared"],
                        choices=["realistic", "shared"])  # fmt: skip
    parser.add_argument("--shared-orders", type=int, nargs="+", default=[300],
                        help="N for the shared world (its second row)")  # fmt: skip
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
    for world in args.worlds:
        for n in args.orders if world == "realistic" else args.shared_orders:
            work = Path(tempfile.mkdtemp(prefix=f"prodsheets-bench-{world}-{n}-"))
            try:
                print(f"{world} N={n}: batch, ceiling, baseline, cold order, quiet night…",
                      file=sys.stderr)  # fmt: skip
                results.append(measure(world, n, args, work))
            finally:
                shutil.rmtree(work, ignore_errors=True)
            print(table(results[-1:]), file=sys.stderr)
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
    realistic = [r for r in results if r["world"] == "realistic"]
    if len(realistic) >= 2:
        small, large = realistic[0], realistic[-1]
        growth = large["batch"]["peak_rss_mb"] / small["batch"]["peak_rss_mb"] - 1
        print(f"peak memory N={large['orders']} vs N={small['orders']}: {growth:+.0%}")
    print(f"written: {path}")


if __name__ == "__main__":
    main()
