"""The recorder keeps state and manifest in agreement through a kill at any step."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from prodsheets import fsutil
from prodsheets.outcomes import Count, Outcome, PlanReason, TicketStatus
from prodsheets.pipeline import Staged
from prodsheets.recorder import Manifest, Recorder, recover
from prodsheets.state import StateDB

PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


class Killed(BaseException):
    """Stands for SIGKILL at one exact instant (not catchable as an Exception)."""


class DiesInCommit(StateDB):
    def commit(self, outcome: Outcome, manifest=None) -> list:
        raise Killed


class DiesOnManifest(Manifest):
    """Writes the manifest ``allowed`` times, then dies instead of the next write."""

    def __init__(self, *args, allowed: int) -> None:
        super().__init__(*args)
        self.allowed = allowed

    def write(self, *args, **kwargs) -> None:
        if self.allowed == 0:
            raise Killed
        self.allowed -= 1
        super().write(*args, **kwargs)


def ticket(n: int = 1) -> Outcome:
    return Outcome(
        api_id=f"{n:024x}", number=n, name=f"#{n}", items=1, status=TicketStatus.PENDING,
        reason=PlanReason.NEW, fingerprint="f", facts={"quantity": [1]},
    )  # fmt: skip


def write_one(recorder: Recorder, n: int = 1) -> Outcome:
    reserved = recorder.reserve(ticket(n), f"order-{n}.pdf")
    staged = Staged(fsutil.stage_bytes(reserved.path, PDF), reserved.path, 1, ())
    done = replace(reserved, status=TicketStatus.PRINTED, pages=1)
    recorder.written(done, staged, seq=n)
    return done


def manifest_of(run_dir) -> dict:
    return json.loads((run_dir / "manifest.json").read_text())


def test_a_ticket_is_in_the_state_the_manifest_and_the_folder(tmp_path):
    state = StateDB(tmp_path / "state.sqlite3")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    recorder = Recorder(state, run_dir, brand="acme")
    recorder.start([], {})
    done = write_one(recorder)
    recorder.finish()
    manifest = manifest_of(run_dir)
    assert [t["order_id"] for t in manifest["tickets"]] == [done.api_id]
    assert manifest["finished_at"] and manifest["counts"]["printed"] == 1
    assert state.get(done.api_id).status is TicketStatus.PRINTED and state.pending() == []
    assert sorted(p.name for p in run_dir.iterdir()) == ["manifest.json", "order-1.pdf"]


@pytest.mark.parametrize("window", ["before the manifest", "before the state"])
def test_a_kill_in_either_window_is_finished_by_recover(tmp_path, window):
    """The PDF is in place; the kill comes before the manifest lists it, or after the
    manifest but before the state knows. The next run must finish, not reprint."""
    path = tmp_path / "state.sqlite3"
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    if window == "before the manifest":  # start() writes once, then the ticket's write dies
        state = StateDB(path)
        manifest = DiesOnManifest(run_dir / "manifest.json", "acme", datetime.now(UTC), allowed=1)
    else:
        state, manifest = DiesInCommit(path), None
    recorder = Recorder(state, run_dir, brand="acme", manifest=manifest)
    recorder.start([], {})
    with pytest.raises(Killed):
        write_one(recorder)
    state.close()
    assert (run_dir / "order-1.pdf").read_bytes() == PDF
    listed = [t["order_id"] for t in manifest_of(run_dir)["tickets"]]
    assert listed == ([] if window == "before the manifest" else [f"{1:024x}"])

    state = StateDB(path)
    (adopted,) = recover(state)
    assert adopted.recovered and adopted.status is TicketStatus.PRINTED
    assert state.pending() == [] and state.get(adopted.api_id).status is TicketStatus.PRINTED
    manifest = manifest_of(run_dir)
    assert [t["order_id"] for t in manifest["tickets"]] == [adopted.api_id]  # once, not twice
    assert manifest["counts"]["printed"] == 1 and manifest["finished_at"] is None
    assert recover(state) == []  # nothing left to do


def test_a_kill_before_the_pdf_is_committed_prints_again(tmp_path):
    state = StateDB(tmp_path / "state.sqlite3")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    recorder = Recorder(state, run_dir, brand="acme")
    recorder.start([], {})
    reserved = recorder.reserve(ticket(), "order-1.pdf")
    fsutil.stage_bytes(reserved.path, PDF[:10])  # the worker was killed mid-write
    assert recover(state) == []
    assert state.pending() == [] and state.get(reserved.api_id) is None  # prints again
    assert sorted(p.name for p in run_dir.iterdir()) == ["manifest.json"]  # no leftovers


def test_interrupted_run_says_so_and_cleans_up(tmp_path):
    state = StateDB(tmp_path / "state.sqlite3")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    recorder = Recorder(state, run_dir, brand="acme")
    recorder.start([], {Count.UNCHANGED: 4})
    write_one(recorder, 1)
    in_flight = recorder.reserve(ticket(2), "order-2.pdf")
    fsutil.stage_bytes(in_flight.path, PDF)
    recorder.finish(interrupted=True)
    manifest = manifest_of(run_dir)
    assert manifest["interrupted"] is True and manifest["finished_at"] is None
    assert "combined" not in manifest and "error" not in manifest
    assert manifest["counts"] == {"printed": 1, "incomplete": 0, "failed": 0, "unchanged": 4}
    assert state.pending() == []
    assert sorted(p.name for p in run_dir.iterdir()) == ["manifest.json", "order-1.pdf"]


def test_same_file_name_twice_in_one_run(tmp_path):
    state = StateDB(tmp_path / "state.sqlite3")
    recorder = Recorder(state, tmp_path, brand="acme")
    first = recorder.reserve(ticket(1), "order-X.pdf")
    second = recorder.reserve(ticket(2), "order-X.pdf")
    assert first.file == "order-X.pdf" and second.file == f"order-X-{2:06x}.pdf"
