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

With ``--print`` step 5 also makes the ticket *owed* to the printer, and sending it
(``dispatch``) goes on in the same spirit:

    6. sending (state)            before the job goes out
    7. sent + job id (state)      the moment the printer answered
    8. manifest.json              its ``print`` says sent, job id (or why not)
    9. listed (state)             the manifest is up to date

A kill between 7 and 9 is finished by ``recover``; one between 6 and 7 by
``dispatch.settle``, which asks the printer.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import fsutil
from .errors import ProdsheetsError
from .outcomes import Count, Delivery, Outcome, Owed, SendState, Skip, TicketStatus
from .pipeline import Staged
from .state import SendStep, StateDB

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
ALWAYS_COUNTED = (Count.PRINTED, Count.INCOMPLETE, Count.FAILED, Count.UNCHANGED)
PRINT_COUNTED = (Count.SENT, Count.NOT_SENT)  # in every manifest of a --print run
_COUNT_OF = {SendState.SENT: Count.SENT, SendState.NOT_SENT: Count.NOT_SENT}


class Manifest:
    """One run's manifest.json, rewritten atomically after every ticket. Each entry is
    JSON-encoded once and kept: a night of N tickets costs O(N) per rewrite, not O(N²)."""

    def __init__(
        self, path: Path, brand: str, started_at: datetime, *, printing: bool = False
    ) -> None:
        self.path = Path(path)
        self.brand = brand
        self.started_at = started_at
        self.printing = printing
        self._tickets: dict[str, tuple[int, str]] = {}  # api id -> (seq, entry)
        self._skipped: list[str] = []
        self._backlog: dict[str, str] = {}  # ticket path -> entry

    def add(self, outcome: Outcome, seq: int) -> None:
        """List ``outcome`` (again: a ticket's entry changes when it is sent)."""
        self._tickets[outcome.api_id] = (seq, _dumps(outcome.manifest_entry()))

    def skip(self, skips: list[Skip]) -> None:
        self._skipped.extend(_dumps(s.manifest_entry()) for s in skips)

    def add_backlog(self, owed: Owed, delivery: Delivery) -> None:
        """A ticket of an earlier run that this run sent (or tried to)."""
        self._backlog[owed.path] = _dumps({
            "order_id": owed.api_id, "order_number": owed.number, "order_name": owed.name,
            "file": _relative(owed.path, self.path.parent.parent),
            "print": delivery.manifest_entry(),
        })  # fmt: skip

    def write(self, counts: Counter, *, finished: bool = False, **extra: Any) -> None:
        """``extra``: ``error``, ``interrupted``, ``combined`` when they apply."""
        head = {
            "brand": self.brand,
            "started_at": self.started_at.isoformat(timespec="seconds"),
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds") if finished else None,
        }
        counted = ALWAYS_COUNTED + (PRINT_COUNTED if self.printing else ())
        always = dict.fromkeys(map(str, counted), 0)
        tail = {"counts": always | {str(k): v for k, v in counts.items()}, **extra}
        tickets = [entry for _, entry in sorted(self._tickets.values(), key=lambda t: t[0])]
        lists = {"tickets": tickets, "skipped": self._skipped}
        if self._backlog:
            lists["backlog"] = list(self._backlog.values())
        write_manifest(self.path, head, lists, tail)


def write_manifest(path: Path, head: dict, lists: dict[str, list[str]], tail: dict) -> None:
    """manifest.json with one line per ticket, skipped order and backlog ticket: it reads
    well and diffs well. ``lists`` hold entries that are already JSON."""

    def listing(key: str, lines: list[str]) -> str:
        body = ",\n".join(f"    {line}" for line in lines)
        return f"  {_dumps(key)}: [\n{body}\n  ]" if lines else f"  {_dumps(key)}: []"

    parts = [f"  {_dumps(k)}: {_dumps(v)}" for k, v in head.items()]
    parts += [listing(key, lines) for key, lines in lists.items()]
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
        printer: str | None = None,
    ) -> None:
        self.state = state
        self.run_dir = Path(run_dir)
        self.printer = printer  # --print: every ticket written is owed to it
        self.manifest = manifest or Manifest(
            run_dir / MANIFEST, brand, datetime.now(UTC), printing=printer is not None
        )
        self.counts: Counter[Count] = Counter()
        self._names: set[str] = set()
        self._listed: dict[str, tuple[int, Outcome]] = {}  # this run's tickets to send
        self._backlogged: dict[str, SendState] = {}  # earlier runs' tickets this run tried

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

    def written(self, outcome: Outcome, staged: Staged, seq: int) -> Outcome:
        """Steps 2-5 for a rendered ticket; returns it as recorded (with ``--print``: owed
        to the printer, not sent yet)."""
        if self.printer is not None:
            outcome = replace(outcome, delivery=Delivery(self.printer))
            self._listed[outcome.api_id] = (seq, outcome)
            self.counts[Count.NOT_SENT] += 1
        self.state.update_pending(outcome)
        fsutil.commit(staged.temp, staged.final)
        self._publish(outcome, seq)
        _supersede(self.state.commit(outcome, self.manifest.path), outcome)
        return outcome

    # -- steps 6-9: sending (called by dispatch) ---------------------------------------------

    def sending(self, owed: Owed, printer: str) -> None:
        self.state.mark_sending(owed.path, printer)

    def sent(self, owed: Owed, printer: str, job_id: int, *, problem: str | None = None) -> None:
        """``problem``: with --wait, why the job needs a look (stalled, aborted)."""
        self.state.mark_sent(owed.path, printer, job_id)
        self._show(owed, Delivery(printer, SendState.SENT, job_id, problem))
        self.state.mark_listed(owed.path)

    def not_sent(self, owed: Owed, printer: str, error: str, *, doubt: bool = False) -> None:
        self.state.mark_owed(owed.path, error, doubt=doubt)
        self._show(owed, Delivery(printer, SendState.NOT_SENT, None, error))

    def unsettled(self, owed: Owed, printer: str, error: str) -> None:
        """No answer after the job went out, and none since: the state keeps it
        ``sending`` for the next run to settle; the manifest says not sent, and why."""
        self._show(owed, Delivery(printer, SendState.NOT_SENT, None, error))

    def _show(self, owed: Owed, delivery: Delivery) -> None:
        """The ticket's ``print`` in its manifest: this run's, or an earlier run's (which
        this run's manifest then lists under ``backlog``)."""
        mine = self._listed.get(owed.api_id)
        if mine is not None and mine[1].path == owed.path:
            seq, outcome = mine
            before = outcome.delivery.state if outcome.delivery else None
            self._listed[owed.api_id] = (seq, replace(outcome, delivery=delivery))
            self.manifest.add(self._listed[owed.api_id][1], seq)
        else:
            _update_print(Path(owed.manifest), owed, delivery)
            before = None
            if owed.path in self._backlogged:
                before = self._backlogged[owed.path]
            self._backlogged[owed.path] = delivery.state
            self.manifest.add_backlog(owed, delivery)
        _tally(self.counts, before, delivery.state)
        self.manifest.write(self.counts)

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
        _supersede(state.commit(outcome, manifest_path), outcome)
        adopted.append(outcome)
    for row in state.sends(SendStep.SENT):  # killed between steps 7 and 9
        if not row.listed:
            _update_print(Path(row.owed.manifest), row.owed,
                          Delivery(row.printer or "", SendState.SENT, row.job_id))  # fmt: skip
            state.mark_listed(row.owed.path)
    return adopted


def _add_to_manifest(path: Path, outcome: Outcome) -> None:
    def add(manifest: dict[str, Any]) -> bool:
        tickets = manifest.setdefault("tickets", [])
        if any(t.get("order_id") == outcome.api_id for t in tickets):
            return False  # killed after the manifest was written: only the state was behind
        tickets.append(outcome.manifest_entry())
        counts = manifest.setdefault("counts", {})
        _tally(counts, None, outcome.status.value)
        if outcome.delivery is not None:
            _tally(counts, None, outcome.delivery.state)
        return True

    _rewrite_manifest(path, add, outcome.label)


def _supersede(older: list[Owed], outcome: Outcome) -> None:
    """Unsent tickets replaced by ``outcome``'s: their manifests say so."""
    for ticket in older:
        folder = Path(ticket.manifest).parent.parent
        note = f"superseded by {_relative(outcome.path or '', folder)}"
        _update_print(Path(ticket.manifest), ticket, Delivery("", error=note))


def _update_print(path: Path, owed: Owed, delivery: Delivery) -> None:
    """Set the ``print`` of ``owed``'s entry in its manifest, and its counts."""

    def update(manifest: dict[str, Any]) -> bool:
        for ticket in manifest.get("tickets") or []:
            if ticket.get("order_id") == owed.api_id and ticket.get("file") == owed.file:
                old = ticket.get("print") or {}
                before = old.get("state")
                ticket["print"] = delivery.manifest_entry()
                ticket["print"]["printer"] = delivery.printer or old.get("printer")
                _tally(manifest.setdefault("counts", {}), before, delivery.state)
                return True
        return False

    _rewrite_manifest(path, update, owed.label)


def _rewrite_manifest(path: Path, change, label: str) -> None:
    """Apply ``change`` to the manifest at ``path`` and write it back in the same
    layout; a manifest that cannot be read is left alone (the ticket is kept)."""
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        log.warning("cannot read %s to update %s; the ticket is kept", path, label)
        return
    if not change(manifest):
        return
    head = {k: manifest.get(k) for k in ("brand", "started_at", "finished_at")}
    names = ("tickets", "skipped", "backlog")
    lists = {k: [_dumps(e) for e in manifest.get(k) or []] for k in names if k in manifest}
    tail = {k: v for k, v in manifest.items() if k not in (*head, *names)}
    write_manifest(path, head, lists, tail)


def _tally(counts: dict, before: str | None, after: str) -> None:
    """Move one ticket from count ``before`` to ``after`` (statuses or send states)."""
    keys = {str(k): str(_COUNT_OF.get(k, k)) for k in (before, after) if k is not None}
    if before is not None:
        counts[keys[str(before)]] = max(0, counts.get(keys[str(before)], 0) - 1)
    counts[keys[str(after)]] = counts.get(keys[str(after)], 0) + 1


def _relative(path: str, folder: Path) -> str:
    """``2026-11-26/order-1003.pdf``: a ticket's path as seen from the print folder."""
    return os.path.relpath(path, folder)


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
