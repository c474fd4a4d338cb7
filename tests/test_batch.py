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
from pathlib import Path

import pypdf
import pytest

from prodsheets.sandbox import DEFAULT_BRAND, DEFAULT_TOKEN, Sandbox
from prodsheets.state import BatchLock
from prodsheets.synthetic import synthetic_dataset

import pdfcheck

PRINTABLE = ["#1001", "#1002", "#1003", "#1004", "#1005", "#1006", "#1007", "#W-2041"]
GUITAR_DESIGN_ID = "5e74283608310f001714de63"


@pytest.fixture
def run_batch(env_for, cli, tmp_path):
    """Run a batch against ``server`` into tmp/print with a private state file."""

    def run(server: Sandbox, *args: str):
        env_for(server)
        result = cli("batch", "--out", str(tmp_path / "print"), "--state",
                     str(tmp_path / "state.sqlite3"), "--jobs", "1", *args)  # fmt: skip
        manifest = None
        lines = result.stdout.strip().splitlines()
        if lines and lines[-1].endswith("manifest.json"):
            manifest = json.loads(Path(lines[-1]).read_text())
            manifest["_path"] = Path(lines[-1])
        return result, manifest

    return run


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
    assert "printed 8, incomplete 0, failed 0, skipped 2" in result.stderr
    # Designs shared by several items and orders are fetched once per run.
    assert sandbox.hits[f"/brands/{DEFAULT_BRAND}/designs/{GUITAR_DESIGN_ID}"] == 1


def test_rerun_prints_nothing_then_force_reprints(sandbox, run_batch):
    first_result, first = run_batch(sandbox)
    assert first_result.exit_code == 0
    again_result, again = run_batch(sandbox)
    assert again_result.exit_code == 0
    assert again["tickets"] == []
    assert again["counts"]["unchanged"] == 8
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
    assert names(manifest) == ["#1001", "#1002", "#1003", "#1004", "#1005", "#1009", "#1010"]
    result, manifest = run_batch(sandbox, "--force", "--status", "in production")
    assert names(manifest) == ["#1002"]
    assert cli_usage_error(run_batch, sandbox, "--since", "yesterday")


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


def test_failing_design_fails_only_its_order_and_is_retried(sandbox, run_batch):
    watch = "5e74283608310f0017000003"  # the design of #1002 (and item 2 of #1004)
    sandbox.inject(404, times=10**6, path_contains=f"/designs/{watch}", body="Not Found")
    result, manifest = run_batch(sandbox)
    assert result.exit_code == 3
    failed = {
        t["order_name"]: t["problems"] for t in manifest["tickets"] if t["status"] == "failed"
    }
    assert set(failed) == {"#1002", "#1004"}
    assert f"design {watch}" in failed["#1002"][0]
    assert names(manifest, "printed") == [n for n in PRINTABLE if n not in failed]
    assert f"FAILED: #1002: cannot fetch design {watch}" in result.stderr
    sandbox._injections.clear()
    result, manifest = run_batch(sandbox)
    assert result.exit_code == 0
    assert names(manifest, "printed") == ["#1002", "#1004"]


def test_incomplete_order_is_not_reprinted_until_it_can_be_completed(sandbox, run_batch):
    logo = "logo-bakery.png"  # used only by #1005
    saved = sandbox.data.assets.pop(logo)
    result, manifest = run_batch(sandbox)
    assert result.exit_code == 3
    assert names(manifest, "incomplete") == ["#1005"]
    assert "INCOMPLETE: #1005" in result.stderr and "HTTP 404" in result.stderr
    again_result, again = run_batch(sandbox)
    assert again_result.exit_code == 0  # nothing new tonight; the earlier ticket stands
    assert "still incomplete 1" in again_result.stderr
    assert again["tickets"] == []
    assert [s["order_name"] for s in again["skipped"]][-1] == "#1005"
    sandbox.data.assets[logo] = saved
    fixed_result, fixed = run_batch(sandbox)
    assert fixed_result.exit_code == 0
    assert names(fixed, "printed") == ["#1005"]
    assert "INCOMPLETE" not in pdfcheck.text(fixed["_path"].parent / "order-1005.pdf")


def test_combined_pdf_with_summary(sandbox, run_batch):
    result, manifest = run_batch(sandbox, "--combined", "--jobs", "2")
    assert result.exit_code == 0, result.stderr
    assert manifest["combined"] == "combined.pdf"
    combined = manifest["_path"].parent / "combined.pdf"
    ticket_pages = sum(t["pages"] for t in manifest["tickets"])
    summary_pages = pdfcheck.page_count(combined) - ticket_pages
    assert summary_pages >= 1
    summary = pdfcheck.squash(" ".join(pdfcheck.page_texts(combined)[:summary_pages]))
    assert "8 orders · 12 items · 26 pieces in total" in summary
    assert "Custom T-Shirt × 14" in summary
    assert "Body material: Bright Red × 2" in summary
    assert "Colour: Black × 8" in summary
    codes = [c for page in pdfcheck.qr_codes(combined) for c in page]
    assert len(codes) == 12


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


class _Killed(BaseException):
    """Stands for SIGKILL at one exact instant (not catchable as an Exception)."""


def test_killed_between_rename_and_record_is_adopted_not_reprinted(sandbox, run_batch, monkeypatch):
    """The worst instant: the PDF is in place but the state does not know it yet."""
    import prodsheets.batch as batch_module

    real_fsync_dir = batch_module.fsync_dir
    calls = []

    def die_on_third(directory):
        real_fsync_dir(directory)
        calls.append(directory)
        if len(calls) == 3:
            raise _Killed

    monkeypatch.setattr(batch_module, "fsync_dir", die_on_third)
    with pytest.raises(_Killed):
        run_batch(sandbox)
    monkeypatch.setattr(batch_module, "fsync_dir", real_fsync_dir)
    result, manifest = run_batch(sandbox)
    assert result.exit_code == 0, result.stderr
    assert "recovered 1 ticket(s) from an interrupted run" in result.stderr
    first_dir = next(d for d in manifest["_path"].parent.parent.iterdir()
                     if d.is_dir() and d != manifest["_path"].parent)  # fmt: skip
    first = json.loads((first_dir / "manifest.json").read_text())
    assert len(names(first)) == 3
    assert [t.get("recovered") for t in first["tickets"]] == [None, None, True]
    assert sorted(names(first) + names(manifest)) == sorted(PRINTABLE)  # each exactly once
    run_dirs = [first, manifest]
    for m, folder in zip(
        run_dirs,
        (first_dir, manifest["_path"].parent),
        strict=True,
    ):
        assert sorted(p.name for p in folder.glob("*.pdf")) == sorted(
            t["file"] for t in m["tickets"]
        )
