"""The batch state: what it remembers, how it opens, and the files it (never) creates."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import pytest

from prodsheets.errors import BatchError
from prodsheets.models import Order
from prodsheets.outcomes import Delivery, Outcome, PlanReason, Skip, SkipReason, TicketStatus
from prodsheets.state import SCHEMA, BatchLock, SendStep, StateDB


def outcome(n: int = 1, status=TicketStatus.PRINTED, **more) -> Outcome:
    return Outcome(
        api_id=f"{n:024x}", number=n, name=f"#{n}", items=1, status=status,
        reason=PlanReason.NEW, path=f"/print/order-{n}.pdf", pages=1, fingerprint="f",
        facts={"quantity": [1]}, **more,
    )  # fmt: skip


def test_remembers_tickets_and_failures(tmp_path):
    state = StateDB(tmp_path / "s.sqlite3")
    state.commit(outcome(1, problems=("item 1: logo missing",), status=TicketStatus.INCOMPLETE))
    state.record_failure(outcome(2, status=TicketStatus.FAILED))
    state.record_failure(outcome(1, status=TicketStatus.FAILED))  # keeps the earlier ticket
    records = state.records([f"{1:024x}", f"{2:024x}", f"{3:024x}"])
    assert records[f"{1:024x}"].status is TicketStatus.INCOMPLETE
    assert records[f"{1:024x}"].problems == ("item 1: logo missing",)
    assert records[f"{2:024x}"].status is TicketStatus.FAILED
    assert state.failed_ids() == [f"{2:024x}"]
    assert len(records) == 2
    state.close()


def test_pending_round_trips_the_whole_outcome(tmp_path):
    state = StateDB(tmp_path / "s.sqlite3")
    pending = outcome(5, status=TicketStatus.PENDING, revised=("quantity",))
    state.add_pending(pending, tmp_path / "manifest.json")
    done = Outcome(**{**pending.__dict__, "status": TicketStatus.PRINTED, "pages": 3})
    state.update_pending(done)
    assert state.pending() == [(done, tmp_path / "manifest.json")]
    state.commit(done)
    assert state.pending() == [] and state.get(done.api_id).path == "/print/order-5.pdf"


def test_watermark_only_rises_and_skips_are_remembered(tmp_path):
    state = StateDB(tmp_path / "s.sqlite3")
    assert state.watermark() is None
    state.raise_watermark(100)
    state.raise_watermark(90)
    assert state.watermark() == 100
    trial = Order.from_json({"_id": "a" * 24, "orderId": 3, "trial": True})
    state.remember_skips([Skip(trial, SkipReason.TRIAL)])
    assert state.skipped_before(["a" * 24, "b" * 24]) == {"a" * 24: SkipReason.TRIAL}


def test_read_only_creates_nothing(tmp_path):
    path = tmp_path / "state.sqlite3"
    StateDB(path, read_only=True).close()
    assert list(tmp_path.iterdir()) == []
    writer = StateDB(path)
    writer.commit(outcome(1))
    writer.raise_watermark(1)
    writer.close()
    before = sorted(p.name for p in tmp_path.iterdir())
    reader = StateDB(path, read_only=True)
    assert reader.get(f"{1:024x}").status is TicketStatus.PRINTED and reader.watermark() == 1
    reader.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == before == ["state.sqlite3"]


def test_a_version_1_file_is_migrated_with_its_pending_rows(tmp_path):
    """A state file written by prodsheets 0.1, killed with a ticket in flight."""
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE printed (order_id TEXT PRIMARY KEY, order_number INTEGER, order_name TEXT,
            status TEXT NOT NULL, fingerprint TEXT, facts TEXT, problems TEXT NOT NULL DEFAULT '[]',
            file TEXT, updated_at TEXT NOT NULL);
        CREATE TABLE pending (order_id TEXT PRIMARY KEY, order_number INTEGER, order_name TEXT,
            status TEXT NOT NULL, fingerprint TEXT, facts TEXT, problems TEXT NOT NULL DEFAULT '[]',
            file TEXT NOT NULL, manifest TEXT NOT NULL, entry TEXT NOT NULL,
            created_at TEXT NOT NULL);
    """)
    db.execute("INSERT INTO printed VALUES ('a', 1, '#1', 'printed', 'f', '{}', '[]', 'x', 't')")
    entry = {"order_id": "b", "items": 2, "pages": 2, "status": "printed"}
    db.execute(
        "INSERT INTO pending VALUES ('b', 2, '#2', 'printed', 'g', '{}', '[]', '/p/order-2.pdf',"
        " '/p/manifest.json', ?, 't')",
        (json.dumps(entry),),
    )
    db.commit()
    db.close()
    for read_only in (True, False):  # a dry run migrates a copy in memory
        state = StateDB(path, read_only=read_only)
        assert state.get("a").status is TicketStatus.PRINTED
        ((pending, manifest),) = state.pending()
        assert (pending.api_id, pending.items, pending.pages, pending.path) == (
            "b", 2, 2, "/p/order-2.pdf",
        )  # fmt: skip
        assert pending.status is TicketStatus.PRINTED and manifest == Path("/p/manifest.json")
        state.close()


def test_unreadable_state_is_one_line(tmp_path):
    path = tmp_path / "broken.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(BatchError, match="cannot open the batch state"):
        StateDB(path)


def test_lock_is_exclusive_and_names_its_holder(tmp_path):
    held = BatchLock(tmp_path / "s.sqlite3")
    with held, pytest.raises(BatchError, match=r"another batch is running on this state \(pid"):
        BatchLock(tmp_path / "s.sqlite3").acquire()
    with BatchLock(tmp_path / "s.sqlite3"):  # released: free again
        pass


def test_a_version_2_file_gains_the_sends_table(tmp_path):
    """A state file written before --print existed opens, migrated, with nothing owed."""
    path = tmp_path / "v2.sqlite3"
    db = sqlite3.connect(path)
    schema = SCHEMA.split("CREATE TABLE IF NOT EXISTS sends")[0]
    db.executescript(schema + "PRAGMA user_version = 2;")
    db.execute("INSERT INTO printed VALUES ('a', 1, '#1', 'printed', 'f', '{}', '[]', 'x', 't')")
    db.commit()
    db.close()
    for read_only in (True, False):
        state = StateDB(path, read_only=read_only)
        assert state.get("a").status is TicketStatus.PRINTED and state.sends() == []
        state.close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 3
    db.close()


def test_a_ticket_for_the_printer_is_owed_until_sent_and_a_new_one_replaces_it(tmp_path):
    state = StateDB(tmp_path / "s.sqlite3")
    first = outcome(1, delivery=Delivery("workshop"))
    assert state.commit(first, tmp_path / "run1" / "manifest.json") == []
    (owed,) = state.owed()
    assert (owed.path, owed.api_id, owed.name, owed.manifest) == (
        "/print/order-1.pdf", first.api_id, "#1", str(tmp_path / "run1" / "manifest.json"),
    )  # fmt: skip
    state.mark_sending(owed.path, "workshop")
    assert state.owed() == [] and state.sends(SendStep.SENDING)[0].intent_at is not None
    state.mark_owed(owed.path, "printer down")
    assert state.owed()[0].error == "printer down"
    newer = replace(first, path="/print/2/order-1.pdf")  # the order changed: a new ticket
    (superseded,) = state.commit(newer, tmp_path / "run2" / "manifest.json")
    assert superseded.path == "/print/order-1.pdf"
    assert [o.path for o in state.owed()] == ["/print/2/order-1.pdf"]
    state.mark_sending("/print/2/order-1.pdf", "workshop")
    state.mark_sent("/print/2/order-1.pdf", "workshop", 17)
    (row,) = state.sends()
    assert (row.step, row.job_id, row.listed) == (SendStep.SENT, 17, False)
    state.mark_listed(row.owed.path)
    assert state.sends()[0].listed and state.job_ids("workshop") == {17}
    assert state.commit(outcome(2), tmp_path / "m.json") == [] and len(state.sends()) == 1
    state.close()


def test_a_state_file_belongs_to_one_shard(tmp_path):
    path = tmp_path / "state.db"
    with closing(StateDB(path)) as state:
        state.claim_shard("0/2")
        state.claim_shard("0/2")  # the same share: fine, every night
        with pytest.raises(BatchError, match="belongs to shard 0/2, not all"):
            state.claim_shard("all")
        with pytest.raises(BatchError, match="belongs to shard 0/2, not 1/2"):
            state.claim_shard("1/2")
    with closing(StateDB(path, read_only=True)) as state:  # a dry run checks, never writes
        with pytest.raises(BatchError):
            state.claim_shard("1/2")
        state.claim_shard("1/2", reshard=True)
    with closing(StateDB(path)) as state:
        state.claim_shard("1/3", reshard=True)  # a copy of the state before a split
        with pytest.raises(BatchError, match="belongs to shard 1/3"):
            state.claim_shard("0/2")
