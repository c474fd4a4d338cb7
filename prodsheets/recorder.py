"""The batch's bookkeeper: the state file and the run's manifest.json, kept in agreement.

A ticket is recorded in an order that ``recover`` can always finish after a kill:

    1. pending row (state)        before rendering: the order and its final file name
    2. pending row + result       after rendering, before the PDF is committed
    3. commit the PDF             rename from its temporary name (fsutil)
    4. manifest.json              rewritten atomically, listing the ticket
    5. printed row (state)        and the pending row deleted, in one transaction

A pending row is deleted only once the manifest lists its ticket, so after a kill at any
point the next run finds the row, looks at the file and finishes steps 4-5 (a complete
PDF) or forgets the ticket so it is printed again (no PDF): the state, the manifest and
the files agree, and every order ends up printed exactly once.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import fsutil
from .errors import ProdsheetsError
from .outcomes import Count, Outcome, Skip, TicketStatus
from .pipeline import Staged
from .state import StateDB

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
ALWAYS_COUNTED = (Count.PRINTED, Count.INCOMPLETE, Count.FAILED, Count.UNCHANGED)


class Manifest:
    """One run's manifest.json, rewritten atomically after every ticket. Each entry is
    JSON-encoded once and kept: a night of N tickets costs O(N) per rewrite, not O(N²)."""

    def __init__(self, path: Path, brand: str, started_at: datetime) -> None:
        self.path = Path(path)
        self.brand = brand
        self.started_at = started_at
        self._tickets: list[tuple[int, str]] = []
        self._skipped: list[str] = []

    def add(self, outcome: Outcome, seq: int) -> None:
        self._tickets.append((seq, _dumps(outcome.manifest_entry())))
        self._tickets.sort(key=lambda pair: pair[0])

    def skip(self, skips: list[Skip]) -> None:
        self._skipped.extend(_dumps(s.manifest_entry()) for s in skips)

    def write(self, counts: Counter, *, finished: bool = False, **extra: Any) -> None:
        """``extra``: ``error``, ``interrupted``, ``combined`` when they apply."""
        head = {
            "brand": self.brand,
            "started_at": self.started_at.isoformat(timespec="seconds"),
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds") if finished else None,
        }
        always = dict.fromkeys(map(str, ALWAYS_COUNTED), 0)
        tail = {"counts": always | {str(k): v for k, v in counts.items()}, **extra}
        write_manifest(self.path, head, [t for _, t in self._tickets], self._skipped, tail)


def write_manifest(
    path: Path, head: dict, tickets: list[str], skipped: list[str], tail: dict
) -> None:
    """manifest.json with one line per ticket and per skipped order: it reads well and
    diffs well. ``tickets`` and ``skipped`` are already JSON."""

    def listing(key: str, lines: list[str]) -> str:
        body = ",\n".join(f"    {line}" for line in lines)
        return f"  {_dumps(key)}: [\n{body}\n  ]" if lines else f"  {_dumps(key)}: []"

    parts = [f"  {_dumps(k)}: {_dumps(v)}" for k, v in head.items()]
    parts += [listing("tickets", tickets), listing("skipped", skipped)]
    parts += [f"  {_dumps(k)}: {_dumps(v)}" for k, v in tail.items() if v not in (None, False)]
    fsutil.atomic_write_text(path, "{\n" + ",\n".join(parts) + "\n}\n")


class Recorder:
    """Owns the state and the manifest of one run; used from the batch's main thread."""

    def __init__(
        self,
        state: StateDB,
        run_dir: Path,
        *,
        brand: str,
        manifest: Manifest | None = None,
    ) -> None:
        self.state = state
        self.run_dir = Path(run_dir)
        self.manifest = manifest or Manifest(run_dir / MANIFEST, brand, datetime.now(UTC))
        self.counts: Counter[Count] = Counter()
        self._names: set[str] = set()

    def start(self, skipped: list[Skip], counts: dict[Count, int]) -> None:
        """The run begins: its manifest exists from now on, listing tonight's skips."""
        self.counts.update(counts)
        self.manifest.skip(skipped)
        self.manifest.write(self.counts)
        self.state.remember_skips(skipped)

    def reserve(self, outcome: Outcome, filename: str) -> Outcome:
        """Step 1: a unique file name in the run folder and the pending row."""
        if filename in self._names:
            filename = filename.replace(".pdf", f"-{outcome.api_id[-6:]}.pdf")
        self._names.add(filename)
        reserved = replace(outcome, path=str(self.run_dir / filename))
        self.state.add_pending(reserved, self.manifest.path)
        return reserved

    def written(self, outcome: Outcome, staged: Staged, seq: int) -> None:
        """Steps 2-5 for a rendered ticket."""
        self.state.update_pending(outcome)
        fsutil.commit(staged.temp, staged.final)
        self._publish(outcome, seq)
        self.state.commit(outcome)

    def failed(self, outcome: Outcome, seq: int) -> None:
        """No ticket: listed as failed, remembered for a retry."""
        self.state.drop_pending(outcome.api_id)
        self._publish(outcome, seq)
        self.state.record_failure(outcome)

    def unneeded(self, outcome: Outcome) -> None:
        """Re-checked and unchanged: no ticket tonight."""
        self.state.drop_pending(outcome.api_id)
        self.counts[Count.UNCHANGED] += 1

    def finish(self, *, error: str | None = None, interrupted: bool = False, **extra: Any) -> None:
        """The final manifest: ``finished_at`` only for a run that did all it planned."""
        for outcome, _ in self.state.pending():  # interrupted: tickets never finished
            if outcome.status is TicketStatus.PENDING and outcome.path:
                for leftover in fsutil.staged_leftovers(Path(outcome.path)):
                    fsutil.discard(leftover)
                self.state.drop_pending(outcome.api_id)
        done = error is None and not interrupted
        self.manifest.write(
            self.counts, finished=done, error=error, interrupted=interrupted, **extra
        )

    def _publish(self, outcome: Outcome, seq: int) -> None:
        self.manifest.add(outcome, seq)
        self.counts[Count(outcome.status.value)] += 1
        self.manifest.write(self.counts)


def new_run_dir(out: Path, now: datetime) -> Path:
    """``OUT/2026-11-26/``; a second run that day gets ``2026-11-26-2/`` beside it."""
    out.mkdir(parents=True, exist_ok=True)
    day = now.strftime("%Y-%m-%d")
    for n in range(1, 1000):
        try:
            run_dir = out / (day if n == 1 else f"{day}-{n}")
            run_dir.mkdir()
            return run_dir
        except FileExistsError:
            continue
    raise ProdsheetsError(f"too many runs today in {out}")


def recover(state: StateDB) -> list[Outcome]:
    """Finish what a killed run left (see the module docstring); returns the tickets it
    adopted into their run's manifest."""
    adopted = []
    for outcome, manifest_path in state.pending():
        final = Path(outcome.path or "")
        for leftover in fsutil.staged_leftovers(final):
            fsutil.discard(leftover)
        if outcome.status is TicketStatus.PENDING or not pdf_is_complete(final):
            state.drop_pending(outcome.api_id)  # never committed: it prints again
            continue
        outcome = replace(outcome, recovered=True)
        _add_to_manifest(manifest_path, outcome)
        state.commit(outcome)
        adopted.append(outcome)
    return adopted


def _add_to_manifest(path: Path, outcome: Outcome) -> None:
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        log.warning("cannot read %s to add %s; the ticket is kept", path, outcome.label)
        return
    tickets = manifest.get("tickets") or []
    if any(t.get("order_id") == outcome.api_id for t in tickets):
        return  # killed after the manifest was written: only the state was behind
    tickets.append(outcome.manifest_entry())
    counts = manifest.get("counts") or {}
    counts[outcome.status.value] = counts.get(outcome.status.value, 0) + 1
    head = {k: manifest.get(k) for k in ("brand", "started_at", "finished_at")}
    tail = {k: v for k, v in manifest.items() if k not in (*head, "tickets", "skipped")}
    tail["counts"] = counts
    skipped = [_dumps(s) for s in manifest.get("skipped") or []]
    write_manifest(path, head, [_dumps(t) for t in tickets], skipped, tail)


def pdf_is_complete(path: Path) -> bool:
    """A PDF that starts like one and ends with ``%%EOF``: committed whole."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(5)
            fh.seek(max(0, size - 1024))
            tail = fh.read()
    except OSError:
        return False
    return head == b"%PDF-" and b"%%EOF" in tail


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
