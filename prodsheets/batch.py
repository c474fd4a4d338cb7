"""The nightly batch: plan which orders to print, print them into a run folder, record it.

Boring on purpose: no order missed, none printed twice, nothing half-written.

    list orders (all pages, orderId ascending)
      -> plan: filters, and the state of each order (new, changed, failed before…)
      -> prepare, on threads: designs (each once per run) and images, through the cache
      -> render, on ``jobs`` processes: the PDF is written atomically by the worker
      -> record, on the main thread: state row, then manifest.json (atomically)

Before a PDF is written its order gets a ``pending`` row in the state; after, the row
becomes ``printed`` and the manifest gains its entry. A run killed in between is
repaired by the next one (``recover``): a complete PDF is adopted, anything else is
printed again. So the state, the manifest and the files agree after any crash.
"""

from __future__ import annotations

import bisect
import contextlib
import glob
import json
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from .api import ApiClient
from .config import Settings
from .errors import ApiError, AuthError, ProdsheetsError
from .facts import changed, fingerprint, order_facts, ticket_facts
from .fsutil import atomic_write_text, fsync_dir
from .models import Design, Order
from .state import BatchLock, Record, StateDB
from .tickets import Ticket, build_ticket
from .workflow import make_store, ticket_filename, ticket_warnings

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
COMBINED = "combined.pdf"


@dataclass
class BatchOptions:
    out_dir: Path
    since: datetime | None = None
    until: datetime | None = None
    statuses: tuple[str, ...] = ()
    payment_statuses: tuple[str, ...] = ("paid",)
    include_trial: bool = False
    force: bool = False
    dry_run: bool = False
    jobs: int = 0  # 0: one per CPU
    state_path: Path | None = None
    combined: bool = False
    recheck_days: int = 14
    net_workers: int = 16
    page_count: int = 100


@dataclass
class Candidate:
    """An order the plan wants to look at closely, and why."""

    seq: int
    order: Order
    previous: Record | None
    reason: str  # new | retry | changed | force | recheck | incomplete


@dataclass
class BatchReport:
    run_dir: Path | None
    manifest_path: Path | None
    tickets: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    planned: list[tuple[str, str]] = field(default_factory=list)  # dry run: (label, action)
    counts: Counter = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)
    recovered: int = 0
    error: str | None = None

    @property
    def needs_attention(self) -> list[dict[str, Any]]:
        return [t for t in self.tickets if t["status"] in ("incomplete", "failed")]


def parse_date(value: str, *, end: bool = False) -> datetime:
    """``2026-11-26`` (the whole day, local time) or an ISO timestamp."""
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            moment = datetime.combine(day, datetime.min.time()).astimezone()
            return moment + timedelta(days=1) - timedelta(microseconds=1) if end else moment
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return moment if moment.tzinfo else moment.astimezone()
    except ValueError:
        raise ValueError(f"not a date: {value!r} (use YYYY-MM-DD or an ISO timestamp)") from None


def default_state_path(brand: str) -> Path:
    from .paths import default_state_dir

    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in brand)
    return default_state_dir() / f"{safe}.sqlite3"


class Batch:
    """One run. ``run()`` returns a report; it raises only when the run cannot start."""

    def __init__(
        self,
        client: ApiClient,
        settings: Settings,
        options: BatchOptions,
        *,
        brand: str,
        progress: Callable[[BatchReport, int], None] | None = None,
        now: datetime | None = None,
    ) -> None:
        self.client = client
        self.settings = settings
        self.options = options
        self.brand = brand
        self.progress = progress or (lambda report, total: None)
        self.now = now or datetime.now().astimezone()
        self.state_path = options.state_path or default_state_path(brand)
        self._designs: dict[str, Future] = {}
        self._design_lock = threading.Lock()
        self._used_names: set[str] = set()
        self._tally: dict[str, Counter] = {"product": Counter(), "option": Counter()}
        self._items = 0
        self._encoded: list[tuple[int, str]] = []
        self._encoded_count = 0
        self._quantity = 0

    # -- the run -------------------------------------------------------------------

    def run(self) -> BatchReport:
        if self.options.dry_run:  # reads only: no lock, no state file, no folder
            state = StateDB(self.state_path, read_only=True)
            try:
                return self._run(state)
            finally:
                state.close()
        lock = BatchLock(self.state_path)
        lock.acquire()
        try:
            state = StateDB(self.state_path)
            try:
                return self._run(state)
            finally:
                state.close()
        finally:
            lock.release()

    def _run(self, state: StateDB) -> BatchReport:
        report = BatchReport(run_dir=None, manifest_path=None)
        if self.options.dry_run:
            candidates, report.skipped = self._plan(state, report)
            self._dry_run(candidates, report)
            return report
        from .render_pool import RenderPool

        report.recovered = recover(state)
        sweep_temporary_files(Path(self.options.out_dir))
        store = make_store(self.settings, api_origin=self.client.origin)
        store.workers = self.options.net_workers  # images of every order in preparation
        jobs = self.options.jobs or os.cpu_count() or 1
        # Started before planning: the workers import WeasyPrint while the orders are listed.
        try:
            with RenderPool(jobs, self.settings, store.cache_dir, inline=jobs == 1) as pool:
                candidates, report.skipped = self._plan(state, report)
                return self._print_run(candidates, state, report, store, pool, jobs)
        finally:
            store.close()

    def _print_run(self, candidates, state, report, store, pool, jobs) -> BatchReport:
        run_dir = self._new_run_dir()
        report.run_dir = run_dir
        report.manifest_path = run_dir / MANIFEST
        self._started = datetime.now(UTC)
        self._write_manifest(report)
        try:
            self._print(candidates, state, report, store, pool, jobs)
        finally:
            if self.options.combined and not report.error:
                self._combine(report)
            self._write_manifest(report, finished=True)
        return report

    # -- planning ------------------------------------------------------------------

    def _plan(self, state: StateDB, report: BatchReport) -> tuple[list[Candidate], list[dict]]:
        """Every order, once, in orderId order: a candidate to print or a skip reason."""
        options = self.options
        candidates: list[Candidate] = []
        skipped: list[dict] = []
        recheck_after = self.now - timedelta(days=options.recheck_days)
        payment = {s.lower() for s in options.payment_statuses}
        statuses = {s.lower() for s in options.statuses}
        orders = self.client.iter_orders(
            sort_key="orderId", sort_order="ascending", count=options.page_count
        )
        for order in orders:
            when = order.date_parsed
            if (options.since and (when is None or when < options.since)) or (
                options.until and (when is None or when > options.until)
            ):
                report.counts["outside dates"] += 1
                continue
            reason = self._filter_reason(order, payment, statuses)
            if reason:
                skipped.append({"order_id": order.id, "order_name": order.name, "reason": reason})
                continue
            previous = state.get(order.id)
            why = self._why_print(order, previous, recheck_after)
            if why is None:
                report.counts["unchanged"] += 1
                continue
            candidates.append(Candidate(len(candidates), order, previous, why))
        return candidates, skipped

    def _filter_reason(self, order: Order, payment: set[str], statuses: set[str]) -> str | None:
        if order.trial and not self.options.include_trial:
            return "trial order"
        if payment and order.payment_status.lower() not in payment:
            return f"payment status {order.payment_status or 'unknown'!r} not selected"
        if statuses and order.status.lower() not in statuses:
            return f"status {order.status or 'unknown'!r} not selected"
        return None

    def _why_print(
        self, order: Order, previous: Record | None, recheck_after: datetime
    ) -> str | None:
        if previous is None:
            return "new"
        if previous.status == "failed":
            return "retry"
        if self.options.force:
            return "force"
        old_order_facts = {k: previous.facts.get(k) for k in ("items", "quantity", "design")}
        if old_order_facts != order_facts(order):
            return "changed"
        if previous.status == "incomplete":
            return "incomplete"
        when = order.date_parsed
        if when is not None and when >= recheck_after:
            return "recheck"  # recent: its designs may still be edited
        return None

    # -- printing ------------------------------------------------------------------

    def _print(self, candidates, state, report, store, pool, jobs: int) -> None:
        total = len(candidates)
        self._design_uses = Counter(i.design_id for c in candidates for i in c.order.items)
        # Enough orders in flight that preparing (network-bound, ~4 requests of latency
        # each) always keeps a queue in front of every render worker.
        max_in_flight = self.options.net_workers + jobs * 4
        pending_prep: dict[Future, Candidate] = {}
        pending_render: dict[Future, tuple[Candidate, Ticket, Record, dict]] = {}
        queue = iter(candidates)
        exhausted = False
        with ThreadPoolExecutor(self.options.net_workers, thread_name_prefix="net") as net:
            while True:
                while not exhausted and len(pending_prep) + len(pending_render) < max_in_flight:
                    candidate = next(queue, None)
                    if candidate is None:
                        exhausted = True
                        break
                    pending_prep[net.submit(self._prepare, candidate, store)] = candidate
                if not pending_prep and not pending_render:
                    break
                done, _ = wait([*pending_prep, *pending_render], return_when=FIRST_COMPLETED)
                for future in done:
                    if future in pending_prep:
                        candidate = pending_prep.pop(future)
                        self._prepared(candidate, future, state, report, pool, pending_render)
                    else:
                        job = pending_render.pop(future)
                        self._rendered(job, future, state, report)
                    self.progress(report, total)
                if report.error:
                    for future in pending_prep:
                        future.cancel()
                    exhausted = True

    def _release_designs(self, order: Order) -> None:
        """Forget a design once every planned order using it is prepared: memory stays
        flat with the night's size instead of holding every design until the end."""
        with self._design_lock:
            for item in order.items:
                self._design_uses[item.design_id] -= 1
                if self._design_uses[item.design_id] <= 0:
                    self._designs.pop(item.design_id, None)

    def _design(self, design_id: str) -> Design:
        """Each design fetched once per run, however many items share it."""
        with self._design_lock:
            future = self._designs.get(design_id)
            fetch = future is None
            if fetch:
                future = self._designs[design_id] = Future()
        if fetch:
            try:
                future.set_result(self.client.get_design(design_id))
            except BaseException as exc:
                future.set_exception(exc)
        return future.result()

    def _prepare(self, candidate: Candidate, store) -> tuple[Ticket, dict]:
        order = candidate.order
        designs: dict[str, Design] = {}
        for n, item in enumerate(order.items, 1):
            if not item.design_id:
                raise ProdsheetsError(f"item {n}: the API gave no design id")
            try:
                designs[item.design_id] = self._design(item.design_id)
            except AuthError:
                raise
            except ApiError as exc:
                raise ProdsheetsError(f"cannot fetch design {item.design_id}: {exc}") from None
        try:
            ticket = build_ticket(
                order, designs, store, brand=self.brand, qr_template=self.settings.qr_template
            )
            return ticket, ticket_facts(order, designs)
        finally:
            self._release_designs(order)

    def _prepared(self, candidate, future, state, report, pool, pending_render) -> None:
        order = candidate.order
        try:
            ticket, facts = future.result()
        except AuthError as exc:
            report.error = str(exc)
            return
        except ProdsheetsError as exc:
            self._failed(candidate, str(exc), state, report)
            return
        except Exception as exc:  # one order's bad data never stops the others
            log.exception("preparing %s", order.label)
            self._failed(candidate, f"unexpected error: {type(exc).__name__}: {exc}", state, report)
            return
        print_fp = fingerprint(facts)
        previous = candidate.previous
        same_data = previous is not None and previous.fingerprint == print_fp
        if same_data and candidate.reason == "recheck":
            report.counts["unchanged"] += 1
            return
        if previous is not None and not same_data and previous.status in ("printed", "incomplete"):
            ticket.revised = changed(previous.facts, facts) or ["order data"]
        only_if_better = candidate.reason == "incomplete" and same_data
        filename = self._filename(order)
        path = report.run_dir / filename
        record = Record(
            order_id=order.id, order_number=order.order_id, order_name=order.name,
            status="pending", fingerprint=print_fp, facts=facts, problems=[], file=str(path),
        )  # fmt: skip
        entry = self._entry(order, filename)
        state.add_pending(record, report.manifest_path, entry)
        previous_problems = previous.problems if only_if_better and previous else None
        job = pool.submit(ticket, path, previous_problems)
        pending_render[job] = (candidate, ticket, record, entry)

    def _rendered(self, job, future, state, report) -> None:
        candidate, ticket, record, entry = job
        try:
            temp, pages, problems = future.result()
        except Exception as exc:
            state.drop_pending(record.order_id)
            self._used_names.discard(entry["file"])
            self._failed(candidate, f"rendering failed: {exc}", state, report)
            return
        if temp is None:  # still incomplete in the same way: no second identical ticket
            state.drop_pending(record.order_id)
            self._used_names.discard(entry["file"])
            report.skipped.append({
                "order_id": record.order_id, "order_name": record.order_name,
                "reason": "still incomplete, unchanged; see the earlier ticket "
                          f"{candidate.previous.file if candidate.previous else ''}".strip(),
                "problems": problems,
            })  # fmt: skip
            report.counts["still incomplete"] += 1
            return
        status = "incomplete" if problems else "printed"
        entry.update(pages=pages, status=status, problems=problems)
        if ticket.revised:
            entry["revised"] = ticket.revised
        state.set_pending_result(record.order_id, status, problems, entry)
        os.replace(temp, record.file)
        fsync_dir(Path(record.file).parent)
        final = Record(**{**record.__dict__, "status": status, "problems": problems})
        state.commit(final)
        entry["seq"] = candidate.seq
        report.tickets.append(entry)
        report.counts[status] += 1
        report.warnings.extend(
            f"{record.order_name or record.order_id}: {w}" for w in ticket_warnings(ticket)
        )
        self._count(ticket)
        self._write_manifest(report)

    def _failed(
        self, candidate: Candidate, reason: str, state: StateDB, report: BatchReport
    ) -> None:
        order = candidate.order
        state.record_failure(Record(
            order_id=order.id, order_number=order.order_id, order_name=order.name,
            status="failed", fingerprint=None, facts=order_facts(order), problems=[reason],
            file=None,
        ))  # fmt: skip
        entry = self._entry(order, None)
        entry.update(status="failed", problems=[reason], pages=0, seq=candidate.seq)
        report.tickets.append(entry)
        report.counts["failed"] += 1
        self._write_manifest(report)

    # -- files ---------------------------------------------------------------------

    def _new_run_dir(self) -> Path:
        """``OUT/2026-11-26/``; a second run that day gets ``2026-11-26-2/`` beside it."""
        out = Path(self.options.out_dir)
        out.mkdir(parents=True, exist_ok=True)
        day = self.now.strftime("%Y-%m-%d")
        for n in range(1, 1000):
            run_dir = out / (day if n == 1 else f"{day}-{n}")
            try:
                run_dir.mkdir()
                return run_dir
            except FileExistsError:
                continue
        raise ProdsheetsError(f"too many runs today in {out}")

    def _filename(self, order: Order) -> str:
        name = ticket_filename(order)
        if name in self._used_names:
            name = name.replace(".pdf", f"-{order.id[-6:]}.pdf")
        self._used_names.add(name)
        return name

    def _entry(self, order: Order, filename: str | None) -> dict[str, Any]:
        return {
            "order_id": order.id,
            "order_number": order.order_id,
            "order_name": order.name,
            "file": filename,
            "items": len(order.items),
            "pages": 0,
            "status": "pending",
            "problems": [],
        }

    def _write_manifest(self, report: BatchReport, *, finished: bool = False) -> None:
        """Rewrite manifest.json atomically. It is rewritten after every ticket, so each
        entry is JSON-encoded once and kept: a run of N tickets costs O(N) encoding per
        write instead of re-encoding the whole list (that was O(N²) for a busy night)."""
        if report.manifest_path is None:
            return
        for ticket in report.tickets[self._encoded_count :]:
            public = {k: v for k, v in ticket.items() if k != "seq"}
            bisect.insort(self._encoded, (ticket.get("seq", 0), _dumps(public)))
        self._encoded_count = len(report.tickets)
        manifest: dict[str, Any] = {
            "brand": self.brand,
            "started_at": self._started.isoformat(timespec="seconds"),
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds") if finished else None,
            "tickets": None,  # laid out from the pre-encoded entries
            "skipped": report.skipped,
            "counts": dict(report.counts),
        }
        if report.error:
            manifest["error"] = report.error
        if finished and (report.run_dir / COMBINED).exists():
            manifest["combined"] = COMBINED
        write_manifest(report.manifest_path, manifest, [e for _, e in self._encoded])

    # -- summary and combined PDF ----------------------------------------------------

    def _count(self, ticket: Ticket) -> None:
        for item in ticket.items:
            quantity = item.quantity or 0
            self._items += 1
            self._quantity += quantity
            self._tally["product"][item.design.product_name or "(no product name)"] += quantity
            for entry in item.entries:
                value = entry.value.rsplit("/", 1)[-1] if entry.is_image else entry.value
                self._tally["option"][(entry.key, value)] += quantity

    def _combine(self, report: BatchReport) -> None:
        from .combine import write_combined

        files = [
            report.run_dir / t["file"]
            for t in sorted(report.tickets, key=lambda t: t["seq"])
            if t["status"] in ("printed", "incomplete")
        ]
        if not files:
            return
        write_combined(
            report.run_dir / COMBINED,
            files,
            brand=self.brand,
            orders=len(files),
            items=self._items,
            quantity=self._quantity,
            products=self._tally["product"],
            options=self._tally["option"],
            attention=report.needs_attention,
            settings=self.settings,
        )

    def _dry_run(self, candidates: list[Candidate], report: BatchReport) -> None:
        words = {"new": "print (new)", "retry": "print (failed before)",
                 "force": "reprint (--force)",
                 "changed": "reprint (order changed)", "incomplete": "retry (incomplete before)",
                 "recheck": "check designs; reprint if changed"}  # fmt: skip
        for candidate in candidates:
            report.planned.append((candidate.order.label, words[candidate.reason]))


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def write_manifest(
    path: Path, manifest: dict[str, Any], encoded_tickets: list[str] | None = None
) -> None:
    """Write manifest.json atomically: one line per ticket and per skipped order, so it
    reads well and diffs well. ``encoded_tickets`` (already JSON) replace ``tickets``."""
    if encoded_tickets is None:
        encoded_tickets = [_dumps(t) for t in manifest.get("tickets") or []]
    parts = []
    for key, value in manifest.items():
        if key == "tickets":
            lines = encoded_tickets
        elif key == "skipped":
            lines = [_dumps(s) for s in value or []]
        else:
            parts.append(f"  {_dumps(key)}: {_dumps(value)}")
            continue
        body = ",\n".join(f"    {line}" for line in lines)
        parts.append(f"  {_dumps(key)}: [\n{body}\n  ]" if lines else f"  {_dumps(key)}: []")
    atomic_write_text(path, "{\n" + ",\n".join(parts) + "\n}\n")


def _pdf_is_complete(path: Path) -> bool:
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(5)
            fh.seek(max(0, size - 1024))
            tail = fh.read()
    except OSError:
        return False
    return head == b"%PDF-" and b"%%EOF" in tail


def sweep_temporary_files(out_dir: Path) -> None:
    """Remove ``.*.part`` files a killed run left in the run folders. Only old ones: a
    batch of another brand (another lock) may be writing into the same folder now."""
    if out_dir.is_dir():
        cutoff = time.time() - 3600
        for leftover in out_dir.glob("*/.*.part"):
            with contextlib.suppress(OSError):
                if leftover.stat().st_mtime < cutoff:
                    leftover.unlink()


def recover(state: StateDB) -> int:
    """Finish what a killed run left: adopt complete PDFs, forget the rest (they print
    again), remove temporary files. Returns how many tickets were adopted."""
    adopted = 0
    for pending in state.pending():
        path = Path(pending.record.file or "")
        if path.parent.is_dir():  # this order's own temporary files: its writer is dead
            for leftover in path.parent.glob(f".{glob.escape(path.name)}.*.part"):
                leftover.unlink(missing_ok=True)
        if not _pdf_is_complete(path):
            state.drop_pending(pending.record.order_id)
            continue
        status = pending.record.status
        if status not in ("printed", "incomplete"):  # renamed before its result was saved:
            status = "incomplete"  # cannot happen by design; be safe, let a human look
        record = Record(**{**pending.record.__dict__, "status": status})
        entry = {**pending.entry, "status": status, "problems": record.problems, "recovered": True}
        state.commit(record)
        try:
            manifest = json.loads(pending.manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            manifest = None
        if isinstance(manifest, dict):
            tickets = manifest.setdefault("tickets", [])
            if not any(t.get("order_id") == record.order_id for t in tickets):
                tickets.append(entry)
                write_manifest(pending.manifest, manifest)
        adopted += 1
    return adopted
