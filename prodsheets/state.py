"""What the nightly batch remembers between runs: a small SQLite file, and its lock.

- ``printed``: one row per order that has a ticket (or failed), with the fingerprint of
  what the ticket showed, so a re-run prints nothing new and a changed order is printed
  again as REVISED.
- ``pending``: a ticket being written, recorded *before* its PDF is committed; a run
  killed in between leaves the row for ``recorder.recover`` to finish.
- ``skipped``: orders already reported as skipped (trial, unpaid), so the manifest lists
  each only the first time.
- ``meta``: the watermark, the highest orderId a complete run has seen, and the shard
  (``--shard K/N``, or ``all``) the file belongs to.
- ``sends`` (``--print``): one row per ticket for the printer: ``owed`` (written, not sent
  yet: the next run with ``--print`` sends it), ``sending`` (recorded *before* the job
  goes out; a run killed then leaves it for ``dispatch`` to settle by asking the
  printer) and ``sent`` (the printer, the job id, the time).

Only the recorder writes here. ``read_only`` (dry runs) never creates or changes a file,
not even SQLite's ``-wal``/``-shm`` companions.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from .errors import BatchError
from .outcomes import Outcome, Owed, PlanReason, Record, SendState, Skip, SkipReason, TicketStatus

VERSION = 3  # 2 -> 3: the sends table
SCHEMA = """
CREATE TABLE IF NOT EXISTS printed (
    order_id     TEXT PRIMARY KEY,       -- the API id
    order_number INTEGER,
    order_name   TEXT,
    status       TEXT NOT NULL,          -- printed | incomplete | failed
    fingerprint  TEXT,
    facts        TEXT,                   -- JSON: what the ticket showed, for REVISED diffs
    problems     TEXT NOT NULL DEFAULT '[]',
    file         TEXT,
    updated_at   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS pending (
    order_id     TEXT PRIMARY KEY,
    outcome      TEXT NOT NULL,          -- JSON: the Outcome being written
    manifest     TEXT NOT NULL,          -- the run's manifest.json
    created_at   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS skipped (
    order_id     TEXT PRIMARY KEY,
    reason       TEXT NOT NULL,
    first_seen   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key          TEXT PRIMARY KEY,
    value        TEXT
);
CREATE TABLE IF NOT EXISTS sends (
    ticket       TEXT PRIMARY KEY,       -- the PDF's full path: each ticket is sent once
    order_id     TEXT NOT NULL,
    order_number INTEGER,
    order_name   TEXT,
    manifest     TEXT NOT NULL,          -- the manifest.json that lists the ticket
    step         TEXT NOT NULL,          -- owed | sending | sent
    printer      TEXT,                   -- where it went, or is going
    job_id       INTEGER,
    error        TEXT,                   -- why it is still owed
    doubt        INTEGER NOT NULL DEFAULT 0,   -- a killed send the printer could not settle
    intent_at    TEXT,                   -- when its sending began
    sent_at      TEXT,
    listed       INTEGER NOT NULL DEFAULT 1    -- 0: sent, its manifest does not say so yet
);
CREATE INDEX IF NOT EXISTS sends_step ON sends (step, order_number);
"""
_RECORD_COLUMNS = "order_id, order_number, order_name, status, fingerprint, facts, problems, file"
_SEND_COLUMNS = (
    "ticket, order_id, order_number, order_name, manifest, error, doubt, "
    "step, printer, job_id, intent_at, listed"
)


class SendStep(StrEnum):
    """Where a ticket is on its way to the printer (the ``sends`` table)."""

    OWED = "owed"
    SENDING = "sending"
    SENT = "sent"


@dataclass(frozen=True)
class SendRow:
    """One row of ``sends``."""

    owed: Owed
    step: SendStep
    printer: str | None
    job_id: int | None
    intent_at: datetime | None
    listed: bool

    @property
    def state(self) -> SendState:
        return SendState.SENT if self.step is SendStep.SENT else SendState.NOT_SENT


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class StateDB:
    """The batch's memory. One connection, used from the batch's main thread only."""

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        try:
            if read_only:
                self._db = self._open_read_only()
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL: a killed process loses no commit (kill -9 is the case we
            # design for); only a power cut may lose the last few, which then print again.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise BatchError(f"cannot open the batch state {self.path}: {exc}") from None

    def _open_read_only(self) -> sqlite3.Connection:
        """``immutable=1``: SQLite creates no companion files. A batch running right
        now may have commits this does not see yet; a dry run can live with that."""
        if not self.path.exists():
            db = sqlite3.connect(":memory:", isolation_level=None)
            db.executescript(SCHEMA)
            return db
        uri = f"{self.path.resolve().as_uri()}?mode=ro&immutable=1"
        db = sqlite3.connect(uri, uri=True, isolation_level=None)
        if db.execute("PRAGMA user_version").fetchone()[0] < VERSION:  # an older file:
            memory = sqlite3.connect(":memory:", isolation_level=None)  # migrate a copy
            db.backup(memory)
            db.close()
            self._db = memory
            self._migrate()
            return memory
        return db

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version >= VERSION:
            return
        with self._transaction():
            columns = [r[1] for r in self._db.execute("PRAGMA table_info(pending)")]
            if "outcome" not in columns and columns:  # version 1: pending had loose columns
                self._db.execute("ALTER TABLE pending RENAME TO pending_v1")
            for statement in SCHEMA.split(";"):  # not executescript: it would COMMIT
                if statement.strip():
                    self._db.execute(statement)
            if "outcome" not in columns and columns:
                for row in self._db.execute(
                    f"SELECT {_RECORD_COLUMNS}, manifest, entry FROM pending_v1"
                ).fetchall():
                    record, entry = _record(row[:8]), json.loads(row[9])
                    outcome = Outcome(
                        api_id=record.api_id, number=record.number, name=record.name,
                        items=entry.get("items", 0), status=record.status,
                        reason=PlanReason.NEW, path=record.path, pages=entry.get("pages", 0),
                        problems=record.problems, fingerprint=record.fingerprint,
                        facts=record.facts,
                    )  # fmt: skip
                    self._insert_pending(outcome, Path(row[8]))
                self._db.execute("DROP TABLE pending_v1")
            self._db.execute(f"PRAGMA user_version = {VERSION}")

    def close(self) -> None:
        self._db.close()

    # -- what was printed ------------------------------------------------------------

    def get(self, api_id: str) -> Record | None:
        return self.records([api_id]).get(api_id)

    def records(self, api_ids: Iterable[str]) -> dict[str, Record]:
        """What is remembered of each of ``api_ids`` (absent: never seen)."""
        found: dict[str, Record] = {}
        for chunk in _chunks(list(api_ids)):
            marks = ",".join("?" * len(chunk))
            for row in self._db.execute(
                f"SELECT {_RECORD_COLUMNS} FROM printed WHERE order_id IN ({marks})", chunk
            ):
                found[row[0]] = _record(row)
        return found

    def failed_ids(self) -> list[str]:
        """Orders whose last attempt failed: owed a ticket, whatever their age."""
        rows = self._db.execute("SELECT order_id FROM printed WHERE status = 'failed'")
        return [r[0] for r in rows.fetchall()]

    def forget(self, api_id: str) -> None:
        self._db.execute("DELETE FROM printed WHERE order_id = ?", (api_id,))

    def commit(self, outcome: Outcome, manifest: Path | None = None) -> list[Owed]:
        """The ticket is on disk and in the manifest: remember it, forget its pending
        row, in one transaction. A ticket for the printer (``outcome.delivery``) is owed
        from now on, and replaces any older ticket of the order still owed: those are
        returned, superseded (a stale ticket must never print after the new one)."""
        with self._transaction():
            self._upsert(outcome.record())
            self._db.execute("DELETE FROM pending WHERE order_id = ?", (outcome.api_id,))
            superseded = self._sends("order_id = ? AND step = 'owed' AND ticket != ?",
                                     (outcome.api_id, outcome.path or ""))  # fmt: skip
            for row in superseded:
                self._db.execute("DELETE FROM sends WHERE ticket = ?", (row.owed.path,))
            if outcome.delivery is not None and outcome.path and manifest is not None:
                owed = outcome.owed(str(manifest))
                self._db.execute(
                    "INSERT OR IGNORE INTO sends (ticket, order_id, order_number, order_name, "
                    "manifest, step, printer) VALUES (?,?,?,?,?,'owed',?)",
                    (owed.path, owed.api_id, owed.number, owed.name, owed.manifest,
                     outcome.delivery.printer),
                )  # fmt: skip
        return [row.owed for row in superseded]

    def record_failure(self, outcome: Outcome) -> None:
        """A failed order is retried next run; an earlier good ticket stays the reference
        for REVISED."""
        previous = self.get(outcome.api_id)
        if previous is None or previous.status not in (
            TicketStatus.PRINTED,
            TicketStatus.INCOMPLETE,
        ):
            with self._transaction():
                self._upsert(outcome.record())

    def _upsert(self, record: Record) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO printed VALUES (?,?,?,?,?,?,?,?,?)",
            (
                record.api_id, record.number, record.name, record.status.value,
                record.fingerprint, json.dumps(record.facts), json.dumps(list(record.problems)),
                record.path, _now(),
            ),
        )  # fmt: skip

    # -- tickets being written ---------------------------------------------------------

    def add_pending(self, outcome: Outcome, manifest: Path) -> None:
        with self._transaction():
            self._insert_pending(outcome, manifest)

    def _insert_pending(self, outcome: Outcome, manifest: Path) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO pending VALUES (?,?,?,?)",
            (outcome.api_id, json.dumps(outcome.to_json()), str(manifest), _now()),
        )

    def update_pending(self, outcome: Outcome) -> None:
        """The rendered result, saved *before* the PDF is committed, so a run killed just
        after the commit can be finished with the ticket's true status."""
        self._db.execute(
            "UPDATE pending SET outcome = ? WHERE order_id = ?",
            (json.dumps(outcome.to_json()), outcome.api_id),
        )

    def drop_pending(self, api_id: str) -> None:
        self._db.execute("DELETE FROM pending WHERE order_id = ?", (api_id,))

    def pending(self) -> list[tuple[Outcome, Path]]:
        rows = self._db.execute("SELECT outcome, manifest FROM pending ORDER BY created_at")
        return [(Outcome.from_json(json.loads(o)), Path(m)) for o, m in rows.fetchall()]

    # -- tickets for the printer ---------------------------------------------------------

    def sends(self, step: SendStep | None = None) -> list[SendRow]:
        """Rows of ``sends`` (at ``step``), in orderId order."""
        if step is None:
            return self._sends("1", ())
        return self._sends("step = ?", (step.value,))

    def owed(self) -> list[Owed]:
        """Tickets written for the printer and not sent yet, in orderId order."""
        return [row.owed for row in self.sends(SendStep.OWED)]

    def mark_sending(self, ticket: str, printer: str) -> None:
        """Before the job goes out: a kill from now on leaves a row to settle."""
        self._db.execute(
            "UPDATE sends SET step = 'sending', printer = ?, intent_at = ? WHERE ticket = ?",
            (printer, datetime.now(UTC).isoformat(), ticket),
        )

    def mark_sent(self, ticket: str, printer: str, job_id: int) -> None:
        """The printer took it: one statement, the moment its job id is known."""
        self._db.execute(
            "UPDATE sends SET step = 'sent', printer = ?, job_id = ?, sent_at = ?, error = NULL,"
            " listed = 0 WHERE ticket = ?",
            (printer, job_id, _now(), ticket),
        )

    def mark_listed(self, ticket: str) -> None:
        self._db.execute("UPDATE sends SET listed = 1 WHERE ticket = ?", (ticket,))

    def mark_owed(self, ticket: str, error: str | None, *, doubt: bool = False) -> None:
        """Not sent (yet): the next run with ``--print`` tries again."""
        self._db.execute(
            "UPDATE sends SET step = 'owed', error = ?, doubt = MAX(doubt, ?) WHERE ticket = ?",
            (error, int(doubt), ticket),
        )

    def forget_send(self, ticket: str) -> None:
        self._db.execute("DELETE FROM sends WHERE ticket = ?", (ticket,))

    def job_ids(self, printer: str) -> set[int]:
        """The job ids recorded for ``printer``: jobs that are certainly not an orphan."""
        rows = self._db.execute(
            "SELECT job_id FROM sends WHERE printer = ? AND job_id IS NOT NULL", (printer,)
        )
        return {r[0] for r in rows.fetchall()}

    def _sends(self, where: str, args: tuple) -> list[SendRow]:
        rows = self._db.execute(
            f"SELECT {_SEND_COLUMNS} FROM sends WHERE {where} ORDER BY order_number, ticket", args
        )
        return [
            SendRow(
                owed=Owed(row[0], row[1], row[2], row[3] or "", row[4], row[5], bool(row[6])),
                step=SendStep(row[7]),
                printer=row[8],
                job_id=row[9],
                intent_at=datetime.fromisoformat(row[10]) if row[10] else None,
                listed=bool(row[11]),
            )
            for row in rows.fetchall()
        ]

    # -- skipped orders and the watermark -----------------------------------------------

    def skipped_before(self, api_ids: Iterable[str]) -> dict[str, SkipReason]:
        found: dict[str, SkipReason] = {}
        for chunk in _chunks(list(api_ids)):
            marks = ",".join("?" * len(chunk))
            for order_id, reason in self._db.execute(
                f"SELECT order_id, reason FROM skipped WHERE order_id IN ({marks})", chunk
            ):
                with contextlib.suppress(ValueError):
                    found[order_id] = SkipReason(reason)
        return found

    def remember_skips(self, skips: Iterable[Skip]) -> None:
        with self._transaction():
            self._db.executemany(
                "INSERT OR REPLACE INTO skipped VALUES (?,?,?)",
                [(s.order.api_id, s.reason.value, _now()) for s in skips],
            )

    def watermark(self) -> int | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'watermark'").fetchone()
        return int(row[0]) if row and row[0] is not None else None

    def claim_shard(self, shard: str, *, reshard: bool = False) -> None:
        """Bind this file to one share of the orders (``"0/3"``; ``"all"`` without
        ``--shard``). Its records and watermark only hold for that share: used for
        another, it would print what another host printed, or miss orders. ``reshard``:
        this file knows every order printed so far (a copy of the one state before the
        split) and may take a new share."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'shard'").fetchone()
        if row is not None and row[0] != shard and not reshard:
            raise BatchError(
                f"state file {self.path} belongs to shard {row[0]}, not {shard}: each shard "
                "needs its own state file (to split a state file, see README, Past one machine)"
            )
        if (row is None or row[0] != shard) and not self.read_only:  # a dry run only checks
            with self._transaction():
                self._db.execute("INSERT OR REPLACE INTO meta VALUES ('shard', ?)", (shard,))

    def raise_watermark(self, number: int) -> None:
        """Only ever upwards: a run that listed less must not make the next list more."""
        current = self.watermark()
        if current is None or number > current:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('watermark', ?)", (str(number),))

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")


def _chunks(values: list[str], size: int = 500) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _record(row: tuple) -> Record:
    return Record(
        api_id=row[0],
        number=row[1],
        name=row[2] or "",
        status=TicketStatus(row[3]),
        fingerprint=row[4],
        facts=json.loads(row[5]) if row[5] else {},
        problems=tuple(json.loads(row[6]) if row[6] else ()),
        path=row[7],
    )


class BatchLock:
    """One batch per state file. ``flock`` is released by the kernel when the holder
    dies, even by ``kill -9``, so a crash never leaves a stale lock behind."""

    def __init__(self, state_path: Path) -> None:
        self.path = Path(str(state_path) + ".lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 4096).decode("utf-8", "replace").strip() or "another process"
            os.close(fd)
            raise BatchError(
                f"another batch is running on this state ({holder}); "
                f"wait for it to finish (lock: {self.path})"
            ) from None
        os.ftruncate(fd, 0)
        info = f"pid {os.getpid()} on {socket.gethostname()}, started {_now()}"
        os.write(fd, info.encode())
        os.fsync(fd)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> BatchLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
