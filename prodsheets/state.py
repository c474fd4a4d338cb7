"""What the nightly batch remembers between runs: a small SQLite file, and its lock.

``printed`` has one row per order that has a ticket (or failed), with the fingerprint
of what the ticket showed, so a re-run prints nothing new and a changed order is
printed again as REVISED. ``pending`` records a ticket *before* its PDF is written:
if the batch is killed in between, the next run finds the row, checks the file and
either adopts it (it is complete) or prints the order again. That is how ``kill -9``
at any moment still ends with every order printed exactly once.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .errors import BatchError

SCHEMA = """
CREATE TABLE IF NOT EXISTS printed (
    order_id     TEXT PRIMARY KEY,
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
    order_number INTEGER,
    order_name   TEXT,
    status       TEXT NOT NULL,
    fingerprint  TEXT,
    facts        TEXT,
    problems     TEXT NOT NULL DEFAULT '[]',
    file         TEXT NOT NULL,
    manifest     TEXT NOT NULL,
    entry        TEXT NOT NULL,          -- JSON: the manifest entry to add once adopted
    created_at   TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Record:
    order_id: str
    order_number: int | None
    order_name: str
    status: str
    fingerprint: str | None
    facts: dict[str, Any]
    problems: list[str]
    file: str | None


@dataclass(frozen=True)
class Pending:
    record: Record
    manifest: Path
    entry: dict[str, Any]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class StateDB:
    """The batch's memory. One connection, used from the batch's main thread only."""

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        """``read_only`` (dry runs) never creates or changes the file."""
        self.path = Path(path)
        try:
            if read_only:
                target = (
                    f"{self.path.resolve().as_uri()}?mode=ro" if self.path.exists() else ":memory:"
                )
                self._db = sqlite3.connect(target, uri=True, isolation_level=None, timeout=30)
                if target == ":memory:":
                    self._db.executescript(SCHEMA)
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL: a killed process loses no commit (kill -9 is the case we
            # design for); only a power cut may lose the last few, which then print again.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise BatchError(f"cannot open the batch state {self.path}: {exc}") from None

    def close(self) -> None:
        self._db.close()

    def get(self, order_id: str) -> Record | None:
        row = self._db.execute(
            "SELECT order_id, order_number, order_name, status, fingerprint, facts, problems, file"
            " FROM printed WHERE order_id = ?",
            (order_id,),
        ).fetchone()
        return _record(row) if row else None

    def add_pending(self, record: Record, manifest: Path, entry: dict[str, Any]) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO pending VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                record.order_id, record.order_number, record.order_name, record.status,
                record.fingerprint, json.dumps(record.facts), json.dumps(record.problems),
                record.file, str(manifest), json.dumps(entry), _now(),
            ),
        )  # fmt: skip

    def commit(self, record: Record) -> None:
        """The ticket is on disk: remember it, and forget its pending row, atomically."""
        with self._transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO printed VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    record.order_id, record.order_number, record.order_name, record.status,
                    record.fingerprint, json.dumps(record.facts), json.dumps(record.problems),
                    record.file, _now(),
                ),
            )  # fmt: skip
            self._db.execute("DELETE FROM pending WHERE order_id = ?", (record.order_id,))

    def record_failure(self, record: Record) -> None:
        """A failed order is retried next run; keep what an earlier ticket showed."""
        previous = self.get(record.order_id)
        if previous is not None and previous.status in ("printed", "incomplete"):
            return  # an earlier good ticket stays the reference for REVISED
        self.commit(record)

    def set_pending_result(
        self, order_id: str, status: str, problems: list[str], entry: dict[str, Any]
    ) -> None:
        """Record the rendered result *before* the PDF is renamed into place, so a run
        killed right after the rename can adopt the file with its true status."""
        self._db.execute(
            "UPDATE pending SET status = ?, problems = ?, entry = ? WHERE order_id = ?",
            (status, json.dumps(problems), json.dumps(entry), order_id),
        )

    def drop_pending(self, order_id: str) -> None:
        self._db.execute("DELETE FROM pending WHERE order_id = ?", (order_id,))

    def pending(self) -> list[Pending]:
        rows = self._db.execute(
            "SELECT order_id, order_number, order_name, status, fingerprint, facts, problems,"
            " file, manifest, entry FROM pending"
        ).fetchall()
        return [Pending(_record(r[:8]), Path(r[8]), json.loads(r[9])) for r in rows]

    @contextlib.contextmanager
    def _transaction(self):
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")


def _record(row: tuple) -> Record:
    return Record(
        order_id=row[0],
        order_number=row[1],
        order_name=row[2] or "",
        status=row[3],
        fingerprint=row[4],
        facts=json.loads(row[5]) if row[5] else {},
        problems=json.loads(row[6]) if row[6] else [],
        file=row[7],
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
