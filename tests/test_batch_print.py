"""`prodsheets batch --print` against a real IPP printer emulator and a real cupsd: every
ticket reaches the printer once, in orderId order; a printer that is down, stopped or
gone mid-run loses nothing and the next run sends exactly what is missing."""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys

import pytest

from prodsheets.sandbox import DEFAULT_BRAND, DEFAULT_TOKEN, Sandbox
from prodsheets.synthetic import synthetic_dataset

import pdfcheck
from printers import wait_until

PRINTABLE = ["order-1001.pdf", "order-1002.pdf", "order-1003.pdf", "order-1004.pdf",
             "order-1005.pdf", "order-1006.pdf", "order-1007.pdf", "order-W-2041.pdf",
             "order-1011.pdf", "order-1012.pdf", "order-1013.pdf"]  # fmt: skip
N = len(PRINTABLE)


@pytest.fixture
def night(run_batch):
    """A batch run (conftest's ``run_batch``); the manifest knows its run folder."""

    def run(server: Sandbox, *args: str):
        result, manifest = run_batch(server, *args)
        if manifest is not None:
            manifest["_dir"] = manifest["_path"].parent
        return result, manifest

    return run


def prints(manifest) -> list[tuple[str, str]]:
    return [(t["file"], t["print"]["state"]) for t in manifest["tickets"]]


def on_disk(manifest) -> list[bytes]:
    return [(manifest["_dir"] / t["file"]).read_bytes() for t in manifest["tickets"]]


def test_each_ticket_once_in_order_then_nothing_then_the_revised_one(sandbox, night, printer):
    result, manifest = night(sandbox, "--print", "--printer", printer.uri)
    assert result.exit_code == 0, result.stderr
    assert prints(manifest) == [(name, "sent") for name in PRINTABLE]
    assert [t["print"]["job_id"] for t in manifest["tickets"]] == list(range(1, N + 1))
    assert {t["print"]["printer"] for t in manifest["tickets"]} == {printer.uri}
    assert printer.documents() == on_disk(manifest)  # byte for byte, in orderId order
    assert manifest["counts"]["sent"] == N and manifest["counts"]["not_sent"] == 0
    assert f"sent order-1001.pdf to {printer.uri} (job 1)" in result.stderr
    assert f"sent {N}, not sent 0" in result.stderr

    again_result, again = night(sandbox, "--print", "--printer", printer.uri)
    assert again_result.exit_code == 0 and again["tickets"] == []
    assert again["counts"]["sent"] == 0 and len(printer.documents()) == N

    order = copy.deepcopy(sandbox.orders_by_id["5e69254b7148411680000003"])  # #1003
    order["items"][0]["quantity"] = 7
    sandbox.replace_order(order)
    revised_result, revised = night(sandbox, "--print", "--printer", printer.uri)
    assert revised_result.exit_code == 0, revised_result.stderr
    assert prints(revised) == [("order-1003.pdf", "sent")]
    revised_doc = printer.received("order-1003.pdf").document  # the newest of that name
    assert revised_doc.read_bytes() == on_disk(revised)[0] and len(printer.documents()) == N + 1
    assert "REVISED" in pdfcheck.text(revised_doc)


def test_through_a_cups_queue(sandbox, night, cups, printer):
    queue = cups.queue(printer)
    result, manifest = night(sandbox, "--print", "--printer", queue)
    assert result.exit_code == 0, result.stderr
    assert prints(manifest) == [(name, "sent") for name in PRINTABLE]
    job_ids = [t["print"]["job_id"] for t in manifest["tickets"]]  # CUPS's job ids
    assert job_ids == sorted(set(job_ids))
    wait_until(lambda: len(printer.documents()) == N, f"CUPS to deliver {N} jobs")
    assert printer.documents() == on_disk(manifest)


def test_printer_down_then_back_sends_exactly_the_missing(sandbox, night, printer):
    printer.stop()
    result, manifest = night(sandbox, "--print", "--printer", printer.uri)
    assert result.exit_code == 3
    assert [t["status"] for t in manifest["tickets"]] == ["printed"] * N  # all written
    assert prints(manifest) == [(name, "not sent") for name in PRINTABLE]
    assert "Connection refused" in manifest["tickets"][0]["print"]["error"]
    assert manifest["counts"]["sent"] == 0 and manifest["counts"]["not_sent"] == N
    assert f"NOT SENT: order-1001.pdf: cannot reach {printer.uri}" in result.stderr
    assert f"NOT SENT: {N - 1} more for the same reason" in result.stderr
    first_dir = manifest["_dir"]

    printer.start()
    back_result, back = night(sandbox, "--print", "--printer", printer.uri)
    assert back_result.exit_code == 0, back_result.stderr
    assert back["tickets"] == [] and sorted(p.name for p in back["_dir"].iterdir()) == [
        "manifest.json"  # sent from the PDFs on disk, not rendered again
    ]
    assert [(b["file"], b["print"]["state"]) for b in back["backlog"]] == [
        (f"{first_dir.name}/{name}", "sent") for name in PRINTABLE
    ]
    assert back["counts"]["sent"] == N
    assert printer.documents() == on_disk(manifest)
    first = json.loads((first_dir / "manifest.json").read_text())  # now says what happened
    assert prints(first) == [(name, "sent") for name in PRINTABLE]
    assert first["counts"]["sent"] == N and first["counts"]["not_sent"] == 0

    quiet_result, quiet = night(sandbox, "--print", "--printer", printer.uri)
    assert quiet_result.exit_code == 0 and "backlog" not in quiet
    assert len(printer.documents()) == N


def test_a_stopped_queue_gets_nothing_and_the_next_run_sends_all(sandbox, night, cups, printer):
    queue = cups.queue(printer)
    cups.cups("cupsdisable", "-r", "out of paper", queue)
    result, manifest = night(sandbox, "--print", "--printer", queue)
    assert result.exit_code == 3
    assert f'NOT SENT: order-1001.pdf: printer {queue} is stopped (paused): "out of paper"' in (
        result.stderr
    )
    assert prints(manifest) == [(name, "not sent") for name in PRINTABLE]
    assert len(list(manifest["_dir"].glob("*.pdf"))) == N
    assert cups.cups("lpstat", "-W", "all", "-o", queue).stdout == ""
    cups.cups("cupsenable", queue)
    back_result, back = night(sandbox, "--print", "--printer", queue)
    assert back_result.exit_code == 0, back_result.stderr
    assert [b["print"]["state"] for b in back["backlog"]] == ["sent"] * N
    wait_until(lambda: len(printer.documents()) == N, f"CUPS to deliver {N} jobs")
    assert printer.documents() == on_disk(manifest)


def test_a_printer_that_vanishes_mid_run(sandbox, env_for, tmp_path, printer, night):
    """The printer goes away after its third job: the run goes on, writes every ticket,
    and the next run sends exactly the five it could not."""
    from prodsheets.api import ApiClient
    from prodsheets.batch import BatchOptions, run_batch
    from prodsheets.config import load_settings
    from prodsheets.printing import open_printer

    def vanishing(address, **kwargs):
        real = open_printer(address, **kwargs)
        submit = real.submit

        def submit_then_vanish(job):
            if len(printer.documents()) == 3:
                printer.stop()
            return submit(job)

        real.submit = submit_then_vanish
        return real

    env_for(sandbox, PRODSHEETS_PRINTER=printer.uri)
    options = BatchOptions(out_dir=tmp_path / "print", state_path=tmp_path / "state.sqlite3",
                           jobs=1, send=True)  # fmt: skip
    with ApiClient(sandbox.url, DEFAULT_BRAND, DEFAULT_TOKEN) as client:
        report = run_batch(client, load_settings({}), options, printer_opener=vanishing)
    counts = report.counts
    assert (counts["printed"], counts["sent"], counts["not_sent"]) == (N, 3, N - 3)
    assert len(report.outcomes) == N and report.print_error is not None
    manifest = json.loads(report.manifest_path.read_text())
    manifest["_dir"] = report.run_dir
    assert [state for _, state in prints(manifest)] == ["sent"] * 3 + ["not sent"] * (N - 3)
    first_spool = printer.documents()

    printer.start()
    result, back = night(sandbox, "--print", "--printer", printer.uri)
    assert result.exit_code == 0, result.stderr
    assert [b["file"].split("/")[-1] for b in back["backlog"]] == PRINTABLE[3:]
    assert first_spool + printer.documents() == on_disk(manifest)  # each once, in order


def test_kill_9_while_sending_then_every_ticket_printed_once(tmp_path, printer):
    """SIGKILL the whole batch while it sends; the rerun settles what was in flight (it
    asks the printer) and sends the rest: every ticket completed exactly once."""
    data = synthetic_dataset(16, seed=11)
    out, state = tmp_path / "print", tmp_path / "state.sqlite3"
    with Sandbox(data, latency_ms=20) as server:
        env = {**os.environ, "PRODSHEETS_API_URL": server.url, "PRODSHEETS_BRAND": DEFAULT_BRAND,
               "PRODSHEETS_TOKEN": DEFAULT_TOKEN, "PRODSHEETS_CACHE_DIR": str(tmp_path / "c"),
               "PRODSHEETS_PRINTER": printer.uri}  # fmt: skip
        command = [sys.executable, "-m", "prodsheets.cli", "batch", "--out", str(out),
                   "--state", str(state), "--jobs", "2", "--print"]  # fmt: skip
        proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)  # fmt: skip

        def some_sent() -> bool:
            if proc.poll() is not None:
                pytest.fail("the batch finished before it could be killed")
            return len(list(printer.spool.glob("*.pdf"))) >= 4

        wait_until(some_sent, "4 tickets at the printer", timeout=120, step=0.005)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        (killed,) = out.glob("*/manifest.json")
        assert json.loads(killed.read_text())["finished_at"] is None
        rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert rerun.returncode == 0, rerun.stderr
    tickets = {}
    for manifest_path in sorted(out.glob("*/manifest.json")):
        manifest = json.loads(manifest_path.read_text())
        for ticket in manifest["tickets"]:
            tickets[ticket["file"]] = (manifest_path.parent / ticket["file"]).read_bytes()
    assert len(tickets) == 16
    completed = [j for j in printer.jobs() if j["job-state"] == [9]]
    names = sorted(j["job-name"][0] for j in completed)
    assert names == sorted(tickets), "a ticket printed twice or never"
    for job in completed:  # what printed is the ticket on disk, whole
        (document,) = printer.spool.glob(f"{job['job-id'][0]}-*.pdf")
        assert document.read_bytes() == tickets[job["job-name"][0]]
    assert "may print twice" not in rerun.stderr
