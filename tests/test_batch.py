"""`prodsheets batch` end to end against the sandbox: the nightly print folder."""

from __future__ import annotations

import copy
import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pypdf
import pytest

from prodsheets.facts import order_facts
from prodsheets.sandbox import DEFAULT_BRAND, DEFAULT_TOKEN, Sandbox, SandboxData
from prodsheets.state import BatchLock
from prodsheets.synthetic import synthetic_dataset

import pdfcheck

ROOT = Path(__file__).resolve().parent.parent
PRINTABLE = ["#1001", "#1002", "#1003", "#1004", "#1005", "#1006", "#1007", "#W-2041",
             "#1011", "#1012", "#1013"]  # fmt: skip
GUITAR_DESIGN_ID = "5e74283608310f001714de63"


def names(manifest, status=None) -> list[str]:
    return [t["order_name"] for t in manifest["tickets"] if status in (None, t["status"])]


def test_prints_every_paid_order_once(sandbox, run_batch):
    result, manifest = run_batch(sandbox)
    assert result.exit_code == 0, result.stderr
    assert names(manifest, "printed") == PRINTABLE
    assert manifest["brand"] == DEFAULT_BRAND
    assert manifest["started_at"] and manifest["finished_at"]
    run_dir = manifest["_path"].parent
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", run_dir.name)  # the run's local date
    for ticket in manifest["tickets"]:
        path = run_dir / ticket["file"]
        assert pdfcheck.page_count(path) == ticket["pages"]
        assert ticket["order_name"] in pdfcheck.text(path)
    skipped = {s["order_name"]: s["reason"] for s in manifest["skipped"]}
    assert skipped == {"#1009": "trial order", "#1010": "payment status 'pending' not selected"}
    assert sorted(p.name for p in run_dir.iterdir()) == sorted(
        [t["file"] for t in manifest["tickets"]] + ["manifest.json"]
    )
    assert "printed 11, incomplete 0, failed 0, skipped 2" in result.stderr
    # Designs shared by several items and orders are fetched once per run.
    assert sandbox.hits[f"/brands/{DEFAULT_BRAND}/designs/{GUITAR_DESIGN_ID}"] == 1


def test_rerun_prints_nothing_then_force_reprints(sandbox, run_batch):
    first_result, first = run_batch(sandbox)
    assert first_result.exit_code == 0
    again_result, again = run_batch(sandbox)
    assert again_result.exit_code == 0
    assert again["tickets"] == []
    assert again["counts"]["unchanged"] == len(PRINTABLE)
    assert again["_path"].parent != first["_path"].parent  # beside, not over, the first
    assert (first["_path"].parent / "order-1001.pdf").is_file()
    forced_result, forced = run_batch(sandbox, "--force")
    assert forced_result.exit_code == 0
    assert names(forced, "printed") == PRINTABLE
    assert "REVISED" not in pdfcheck.text(forced["_path"].parent / "order-1001.pdf")


def test_changed_order_is_reprinted_as_revised(sandbox, run_batch):
    run_batch(sandbox)
    order = copy.deepcopy(sandbox.orders_by_id["5e69254b7148411680000003"])  # #1003
    order["items"][0]["quantity"] = 7
    sandbox.replace_order(order)
    design = copy.deepcopy(sandbox.data.designs[0])
    assert design["_id"] == GUITAR_DESIGN_ID
    design["productionData"][0]["value"] = "Sunburst"
    sandbox.replace_design(design)
    result, manifest = run_batch(sandbox)
    assert result.exit_code == 0, result.stderr
    revised = {t["order_name"]: t["revised"] for t in manifest["tickets"]}
    assert revised == {"#1001": ["Body material"], "#1003": ["quantity"],
                       "#W-2041": ["Body material"]}  # fmt: skip
    text = pdfcheck.text(manifest["_path"].parent / "order-1003.pdf")
    assert "REVISED" in text and "changed: quantity" in text and "Qty 7" in text
    assert "Sunburst" in pdfcheck.text(manifest["_path"].parent / "order-1001.pdf")


def test_dry_run_writes_nothing(sandbox, run_batch, tmp_path):
    result, manifest = run_batch(sandbox, "--dry-run")
    assert result.exit_code == 0
    assert manifest is None
    assert "#1001: would print (new)" in result.stdout
    assert "#1009: skip (trial order)" in result.stdout
    assert not (tmp_path / "print").exists()
    assert not (tmp_path / "state.sqlite3").exists()


def test_filters(sandbox, run_batch):
    result, manifest = run_batch(sandbox, "--since", "2026-11-24", "--until", "2026-11-25")
    assert result.exit_code == 0
    assert names(manifest) == ["#1006", "#1007", "#W-2041"]
    result, manifest = run_batch(sandbox, "--include-trial", "--payment-status", "paid",
                                 "--payment-status", "pending")  # fmt: skip
    assert names(manifest) == ["#1001", "#1002", "#1003", "#1004", "#1005", "#1009", "#1010",
                               "#1011", "#1012", "#1013"]  # fmt: skip
    result, manifest = run_batch(sandbox, "--force", "--status", "in production")
    assert names(manifest) == ["#1002"]
    assert cli_usage_error(run_batch, sandbox, "--since", "yesterday")


def test_two_shards_print_every_order_once_between_them(sandbox, env_for, cli, tmp_path):
    """Two hosts (here: two state files and two print folders), one share each."""
    env_for(sandbox)
    printed = []
    for k in (0, 1):
        state = str(tmp_path / f"shard-{k}.db")
        result = cli("batch", "--out", str(tmp_path / f"print-{k}"), "--state", state,
                     "--jobs", "1", "--shard", f"{k}/2")  # fmt: skip
        assert result.exit_code == 0, result.stderr
        manifest = json.loads(Path(result.stdout.strip().splitlines()[-1]).read_text())
        printed.append(names(manifest, "printed"))
    assert printed[0] and printed[1] and not set(printed[0]) & set(printed[1])
    assert sorted(printed[0] + printed[1]) == sorted(PRINTABLE)
    # A state file knows one share: pointed at another it would print twice or miss.
    result = cli("batch", "--out", str(tmp_path / "print-0"), "--state",
                 str(tmp_path / "shard-0.db"), "--jobs", "1", "--shard", "1/2")  # fmt: skip
    assert result.exit_code == 1 and "belongs to shard 0/2, not 1/2" in result.stderr
    result = cli("batch", "--out", str(tmp_path / "x"), "--shard", "2/2")
    assert result.exit_code == 2 and "K must be 0 to N-1" in result.stderr


def cli_usage_error(run_batch, sandbox, *args) -> bool:
    result, _ = run_batch(sandbox, *args)
    return result.exit_code == 2 and "not a date" in result.stderr


def test_survives_503_and_429(sandbox, run_batch):
    sandbox.inject(503, times=2, path_contains="/orders", retry_after="0")
    sandbox.inject(429, times=2, path_contains="/designs/", retry_after="0")
    sandbox.inject(503, times=1, path_contains="/designs/")
    result, manifest = run_batch(sandbox)
    assert result.exit_code == 0, result.stderr
    assert names(manifest, "printed") == PRINTABLE


def test_echo_pagination(make_sandbox, run_batch):
    server = make_sandbox(pagination="echo")
    result, manifest = run_batch(server)
    assert result.exit_code == 0
    assert names(manifest, "printed") == PRINTABLE


def test_a_design_the_api_cannot_give_now_fails_its_orders_until_it_can(sandbox, run_batch):
    watch = "5e74283608310f0017000003"  # the design of #1002 (and item 2 of #1004)
    sandbox.inject(503, times=10**6, path_contains=f"/designs/{watch}")
    result, manifest = run_batch(sandbox)
    assert result.exit_code == 3
    failed = {t["order_name"]: t for t in manifest["tickets"] if t["status"] == "failed"}
    assert set(failed) == {"#1002", "#1004"}
    assert failed["#1002"]["retry"] is True and failed["#1002"]["file"] is None
    assert f"design {watch} (503" in failed["#1002"]["problems"][0]
    assert names(manifest, "printed") == [n for n in PRINTABLE if n not in failed]
    assert f"FAILED: #1002: the API failed on design {watch}" in result.stderr
    sandbox._injections.clear()
    result, manifest = run_batch(sandbox)
    assert result.exit_code == 0
    assert names(manifest, "printed") == ["#1002", "#1004"]
    assert {t["reason"] for t in manifest["tickets"]} == {"retry"}


def test_a_design_that_does_not_exist_is_printed_incomplete_once(sandbox, run_batch):
    order = copy.deepcopy(sandbox.orders_by_id["5e69254b7148411680000003"])  # #1003
    order["items"][1]["design"] = "f" * 24
    sandbox.replace_order(order)
    result, manifest = run_batch(sandbox)
    assert result.exit_code == 3
    (ticket,) = [t for t in manifest["tickets"] if t["order_name"] == "#1003"]
    assert ticket["status"] == "incomplete" and ticket["retry"] is False
    assert ticket["problems"] == [f"item 2 of 3: design missing: design {'f' * 24} does not exist"
                                  " (the API answered 404)"]  # fmt: skip
    text = pdfcheck.text(manifest["_path"].parent / ticket["file"])
    assert "Qty 5" in text and "Qty 1" in text and "DESIGN MISSING" in text  # items 1 and 3
    again_result, again = run_batch(sandbox)  # not retried, not reported every night
    assert again_result.exit_code == 0 and again["tickets"] == []
    assert "#1003" not in again_result.stderr
    order["items"][1]["design"] = "5e74283608310f0017000005"  # the shop fixed the order
    sandbox.replace_order(order)
    fixed_result, fixed = run_batch(sandbox)
    assert fixed_result.exit_code == 0, fixed_result.stderr
    assert [(t["order_name"], t["status"], t["reason"]) for t in fixed["tickets"]] == [
        ("#1003", "printed", "changed")
    ]
    assert "design" in fixed["tickets"][0]["revised"]


def test_an_image_that_is_gone_is_printed_incomplete_and_not_retried(sandbox, run_batch):
    logo = "logo-bakery.png"  # used only by #1005
    sandbox.data.assets.pop(logo)
    result, manifest = run_batch(sandbox)
    assert result.exit_code == 3
    assert names(manifest, "incomplete") == ["#1005"]
    assert "INCOMPLETE: #1005" in result.stderr and "HTTP 404" in result.stderr
    again_result, again = run_batch(sandbox)
    assert again_result.exit_code == 0  # nothing new tonight; the earlier ticket stands
    assert again["tickets"] == [] and again["counts"]["unchanged"] == len(PRINTABLE)


def test_combined_pdf_with_summary(sandbox, run_batch):
    result, manifest = run_batch(sandbox, "--combined", "--jobs", "2")
    assert result.exit_code == 0, result.stderr
    assert manifest["combined"] == "combined.pdf"
    combined = manifest["_path"].parent / "combined.pdf"
    ticket_pages = sum(t["pages"] for t in manifest["tickets"])
    summary_pages = pdfcheck.page_count(combined) - ticket_pages
    assert summary_pages >= 1
    summary = pdfcheck.squash(" ".join(pdfcheck.page_texts(combined)[:summary_pages]))
    assert "Pick list — acme-custom" in summary
    assert "11 orders · 15 items · 30 pieces in total" in summary
    # Per product, per option: what to take from the shelf, with the pieces needing it.
    shirts = summary[summary.index("Custom T-Shirt — 14 pieces in 5 items") :]
    assert shirts.index("Colour Black × 8 White × 5 Heather Grey × 1") < shirts.index("Size S × 8")
    guitars = summary[summary.index("Custom Guitar — 3 pieces in 3 items") :]
    assert "Body material Bright Red × 2 Ocean Blue × 1" in guitars
    # What customers typed or uploaded is counted, never listed as a material.
    watches = summary[summary.index("Engraved Watch — 9 pieces in 4 items") :]
    assert "custom texts: 6 on 14 pieces · uploaded images: 1 on 1 piece" in watches
    assert "Für Amélie" not in summary and "محمد" not in summary
    assert ".png" not in summary and ".svg" not in summary
    codes = [c for page in pdfcheck.qr_codes(combined) for c in page]
    assert len(codes) == 15


def test_second_batch_is_refused_while_one_runs(sandbox, run_batch, tmp_path):
    lock = BatchLock(tmp_path / "state.sqlite3")
    lock.acquire()
    try:
        result, manifest = run_batch(sandbox)
    finally:
        lock.release()
    assert result.exit_code == 1
    assert "another batch is running" in result.stderr and f"pid {os.getpid()}" in result.stderr
    assert manifest is None


def test_wrong_token_or_brand_means_the_run_cannot_start(sandbox, env_for, cli, tmp_path):
    for variable, value, message in (
        ("PRODSHEETS_TOKEN", "wrong", "refused the token"),
        ("PRODSHEETS_BRAND", "acme-typo", "does not know the brand"),
    ):
        env_for(sandbox, **{variable: value})
        result = cli("batch", "--out", str(tmp_path / "print"), "--state", str(tmp_path / "s"))
        assert result.exit_code == 1
        assert message in result.stderr and "Traceback" not in result.stderr
        assert result.stdout == ""
        assert not (tmp_path / "print").exists()


def test_kill_9_then_rerun_prints_each_order_exactly_once(tmp_path):
    """SIGKILL the whole batch mid-run; the next run finishes exactly the rest."""
    data = synthetic_dataset(24, seed=7)
    out, state = tmp_path / "print", tmp_path / "state.sqlite3"
    with Sandbox(data, latency_ms=30) as server:
        env = {
            **os.environ,
            "PRODSHEETS_API_URL": server.url,
            "PRODSHEETS_BRAND": DEFAULT_BRAND,
            "PRODSHEETS_TOKEN": DEFAULT_TOKEN,
            "PRODSHEETS_CACHE_DIR": str(tmp_path / "cache"),
        }
        command = [sys.executable, "-m", "prodsheets.cli", "batch", "--out", str(out),
                   "--state", str(state), "--jobs", "2"]  # fmt: skip
        proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)  # fmt: skip
        deadline = time.time() + 120
        while time.time() < deadline:
            manifests = list(out.glob("*/manifest.json"))
            if manifests:
                try:
                    if len(json.loads(manifests[0].read_text())["tickets"]) >= 5:
                        break
                except ValueError:
                    pytest.fail("manifest.json was torn")
            if proc.poll() is not None:
                pytest.fail("the batch finished before it could be killed")
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        first = json.loads(next(out.glob("*/manifest.json")).read_text())
        assert first["finished_at"] is None
        assert len(first["tickets"]) < 24
        rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert rerun.returncode == 0, rerun.stderr
    printed: dict[str, list[Path]] = {}
    for manifest_path in sorted(out.glob("*/manifest.json")):
        manifest = json.loads(manifest_path.read_text())
        for ticket in manifest["tickets"]:
            assert ticket["status"] == "printed"
            printed.setdefault(ticket["order_id"], []).append(manifest_path.parent / ticket["file"])
    assert sorted(printed) == sorted(o["_id"] for o in data.orders)
    assert all(len(files) == 1 for files in printed.values()), "an order was printed twice"
    on_disk = sorted(out.glob("*/*.pdf"))
    assert on_disk == sorted(f for files in printed.values() for f in files)
    for path in on_disk:
        assert len(pypdf.PdfReader(str(path)).pages) >= 1
    assert list(out.glob("*/.*")) == []  # no temporary files left behind


def _batch_process(server, out, state, *extra) -> subprocess.Popen:
    env = {
        **os.environ,
        "PRODSHEETS_API_URL": server.url,
        "PRODSHEETS_BRAND": DEFAULT_BRAND,
        "PRODSHEETS_TOKEN": DEFAULT_TOKEN,
        "PRODSHEETS_CACHE_DIR": str(state.parent / "cache"),
    }
    command = [sys.executable, "-m", "prodsheets.cli", "batch", "--out", str(out),
               "--state", str(state), "--jobs", "2", *extra]  # fmt: skip
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)  # fmt: skip


def _wait_for_tickets(out: Path, proc: subprocess.Popen, count: int) -> None:
    deadline = time.time() + 120
    while time.time() < deadline:
        for manifest in out.glob("*/manifest.json"):
            if len(json.loads(manifest.read_text())["tickets"]) >= count:
                return
        if proc.poll() is not None:
            pytest.fail(f"the batch ended first: {proc.stderr.read()}")
        time.sleep(0.02)
    pytest.fail("no tickets in time")


@pytest.fixture(scope="module")
def forty_orders():
    """40 orders of the realistic world: every design its own render, most a logo."""
    return synthetic_dataset(40, seed=3)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_run_and_the_manifest_says_so(tmp_path, sig, forty_orders):
    data = copy.deepcopy(forty_orders)
    out, state = tmp_path / "print", tmp_path / "state.sqlite3"
    with Sandbox(data, latency_ms=40) as server:
        proc = _batch_process(server, out, state, "--combined")
        _wait_for_tickets(out, proc, 3)
        os.kill(proc.pid, sig)
        _, stderr = proc.communicate(timeout=60)
        assert proc.returncode == 130, stderr
        assert "interrupted: the next run finishes the rest" in stderr
        (run_dir,) = out.iterdir()
        manifest = json.loads((run_dir / "manifest.json").read_text())
        assert manifest["interrupted"] is True and manifest["finished_at"] is None
        assert "combined" not in manifest and not (run_dir / "combined.pdf").exists()
        stopped_at = len(manifest["tickets"])
        assert 3 <= stopped_at < 40
        assert sorted(p.name for p in run_dir.glob("*.pdf")) == sorted(
            t["file"] for t in manifest["tickets"]
        )
        assert list(run_dir.glob(".*")) == []  # no temporary files left behind
        rest = _batch_process(server, out, state)
        rest.communicate(timeout=300)
        assert rest.returncode == 0
    second = json.loads(next(d for d in out.iterdir() if d != run_dir).joinpath(
        "manifest.json").read_text())  # fmt: skip
    assert len(second["tickets"]) == 40 - stopped_at and second["finished_at"]


def test_an_error_mid_run_stops_it_and_the_manifest_says_why(sandbox, run_batch):
    sandbox.inject(401, times=10**6, path_contains="/designs/", body="Invalid credentials")
    result, manifest = run_batch(sandbox, "--combined")
    assert result.exit_code == 1
    assert "Error: the run stopped early: the API refused the token" in result.stderr
    assert manifest["finished_at"] is None and "refused the token" in manifest["error"]
    assert "combined" not in manifest and manifest["tickets"] == [], manifest["tickets"]
    sandbox._injections.clear()
    result, manifest = run_batch(sandbox)  # nothing was recorded as done: all print now
    assert result.exit_code == 0 and names(manifest) == PRINTABLE


def test_skipped_orders_are_listed_the_first_time_only(sandbox, run_batch):
    _, first = run_batch(sandbox)
    assert [s["code"] for s in first["skipped"]] == ["trial", "payment"]
    _, second = run_batch(sandbox)
    assert second["skipped"] == [] and second["counts"]["skipped before"] == 2


def _recorder(calls: list):
    return lambda done, total: calls.append((done, total))


def test_the_progress_bar_reaches_the_end_on_a_quiet_rerun(sandbox, env_for, tmp_path):
    from prodsheets.api import ApiClient
    from prodsheets.batch import BatchOptions, run_batch
    from prodsheets.config import load_settings

    env_for(sandbox)
    settings = load_settings({})
    options = BatchOptions(out_dir=tmp_path / "print", state_path=tmp_path / "s.sqlite3", jobs=1)
    for _ in range(2):  # the second run only re-checks (orders of the last 14 days)
        calls: list[tuple[int, int]] = []
        with ApiClient(sandbox.url, DEFAULT_BRAND, DEFAULT_TOKEN) as client:
            report = run_batch(client, settings, options, progress=_recorder(calls))
        assert calls and calls[-1] == (len(PRINTABLE), len(PRINTABLE))
    assert report.outcomes == [] and report.counts["unchanged"] == len(PRINTABLE)


def test_dry_run_after_a_run_touches_nothing(sandbox, run_batch, tmp_path):
    run_batch(sandbox)
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if "cache" not in p.parts}
    result, _ = run_batch(sandbox, "--dry-run")
    assert result.exit_code == 0 and "nothing written" in result.stderr
    after = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if "cache" not in p.parts}
    assert after == before  # no -wal, no -shm, no run folder


def _history(n_printed: int, n_new: int) -> SandboxData:
    """A shop with ``n_printed`` old orders and ``n_new`` of tonight (one sample design)."""
    template = json.loads((ROOT / "samples" / "orders.json").read_text())[1]  # #1002
    old = datetime.now(UTC) - timedelta(days=60)
    orders = []
    for n in range(n_printed + n_new):
        when = old + timedelta(minutes=n) if n < n_printed else datetime.now(UTC)
        orders.append({**template, "_id": f"{n + 1:024x}", "id": f"{n + 1:024x}",
                       "orderId": n + 1, "eCommerceOrderName": f"#{n + 1}",
                       "date": when.isoformat()})  # fmt: skip
    samples = SandboxData.from_dir(ROOT / "samples")
    return SandboxData(orders=orders, designs=samples.designs, assets=samples.assets)


def _remember_printed(state_path: Path, data: SandboxData) -> None:
    from prodsheets.models import Order
    from prodsheets.outcomes import Outcome, PlanReason, TicketStatus
    from prodsheets.state import StateDB

    state = StateDB(state_path)
    for raw in data.orders:
        order = Order.from_json(raw)
        facts = order_facts(order)
        done = Outcome.for_order(
            order, TicketStatus.PRINTED, PlanReason.NEW, facts=facts, fingerprint="x", path="/x"
        )
        state.commit(done)
        state.raise_watermark(order.number)
    state.close()


@pytest.mark.parametrize("history", [500, 5000])
def test_a_quiet_night_costs_the_same_whatever_the_history(tmp_path, history, env_for, cli):
    """10 new orders on top of a long history: the listing stops at the watermark."""
    printed = _history(history, 0)
    state_path = tmp_path / "state.sqlite3"
    _remember_printed(state_path, printed)
    with Sandbox(_history(history, 10)) as server:
        env_for(server)
        result = cli("batch", "--out", str(tmp_path / "print"), "--state", str(state_path),
                     "--jobs", "1")  # fmt: skip
        listing = sum(n for path, n in server.hits.items() if path.endswith("/orders"))
        everything = sum(server.hits.values())
    assert result.exit_code == 0, result.stderr
    manifest = json.loads(Path(result.stdout.strip().splitlines()[-1]).read_text())
    assert [t["order_number"] for t in manifest["tickets"]] == list(
        range(history + 1, history + 11)
    )
    assert listing == 1  # one page of 100 reaches the watermark
    assert everything == 1 + 1 + 1  # listing, the one design, its image (each once)


def test_a_failed_order_below_the_watermark_is_still_retried(sandbox, run_batch):
    sandbox.inject(503, times=10**6, path_contains="/designs/5e74283608310f0017000003")
    run_batch(sandbox)
    sandbox._injections.clear()
    _, manifest = run_batch(sandbox, "--recheck-days", "0")  # all orders are old now
    assert names(manifest, "printed") == ["#1002", "#1004"]
    assert sandbox.hits[f"/brands/{DEFAULT_BRAND}/orders/5e69254b7148411680000002"] == 1
