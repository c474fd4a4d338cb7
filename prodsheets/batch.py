"""The nightly batch: every new paid order printed once into tonight's run folder.

Boring on purpose: no order missed, none printed twice, nothing half-written.

    list new orders   newest first, down to the watermark and the re-check window
    plan              plan.plan: a fate and a reason for every order (pure)
    prepare           on threads: designs (each once) and images (pipeline.prepare)
    render            on worker processes (render_pool), written beside its final name
    record            on this thread: recorder.Recorder (state + manifest, crash-safe)
    send (--print)    on this thread: dispatch.Dispatch, in orderId order, each ticket once;
                      earlier runs' unsent tickets first, from their PDFs

A run that stops early (an error, SIGINT/SIGTERM) says so: ``finished_at`` stays null,
the manifest gains ``error`` or ``interrupted``, no combined.pdf is made, and the next
run finishes the rest (``recorder.recover`` first).
"""

from __future__ import annotations

import logging
import os
import threading
from collections import Counter
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from . import fsutil
from .api import ApiClient
from .assets import AssetStore
from .combine import COMBINED, Tally, combine_run
from .config import Settings
from .designs import DesignSource
from .dispatch import Dispatch, Printers, Sending, settle
from .errors import (
    AuthError,
    NotFoundError,
    PrintError,
    ProdsheetsError,
    WorkersGaveUp,
    WrongBrandError,
)
from .facts import fingerprint, order_facts
from .models import Order
from .outcomes import Count, Outcome, Owed, Skip, TicketStatus
from .paths import default_state_path
from .pipeline import Gathered, Staged, gather, ticket_filename
from .plan import Candidate, Plan, PlanOptions, judge, listing_floor, plan
from .printing import Printer, Sender, open_printer
from .recorder import Recorder, new_run_dir, recover
from .render_pool import RenderPool
from .scheduler import Scheduler
from .state import BatchLock, StateDB
from .tickets import Ticket, ticket_warnings

log = logging.getLogger(__name__)

FATAL = (AuthError, WrongBrandError, WorkersGaveUp)  # no point trying the other orders


@dataclass(frozen=True)
class BatchOptions:
    out_dir: Path
    plan: PlanOptions = field(default_factory=PlanOptions)
    dry_run: bool = False
    jobs: int = 0  # 0: one per CPU
    state_path: Path | None = None
    combined: bool = False
    net_workers: int = 16
    page_count: int = 100
    send: bool = False  # --print: to settings.printer
    wait: float | None = None  # --wait: seconds to follow each job
    reshard: bool = False  # --reshard: the state file may change shards (README)


@dataclass
class BatchReport:
    run_dir: Path | None = None
    manifest_path: Path | None = None
    outcomes: list[Outcome] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    planned: list[Candidate] = field(default_factory=list)  # dry run
    counts: Counter[Count] = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)
    recovered: list[Outcome] = field(default_factory=list)
    error: str | None = None
    interrupted: bool = False
    sending: Sending | None = None  # --print
    print_error: PrintError | None = None  # the printer failure that stopped sending
    backlog: list[Owed] = field(default_factory=list)  # dry run: earlier tickets to send

    @property
    def needs_attention(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.needs_attention]

    @property
    def not_sent(self) -> int:
        return self.counts[Count.NOT_SENT]


def run_batch(
    client: ApiClient,
    settings: Settings,
    options: BatchOptions,
    *,
    progress: Callable[[int, int], None] | None = None,
    now: datetime | None = None,
    stop: threading.Event | None = None,
    printer_opener: Callable[..., Printer] = open_printer,
) -> BatchReport:
    """One night. Raises only when the run cannot start (lock, state, listing).
    ``printer_opener`` (``printing.open_printer``) opens the printers of ``--print``."""
    now = now or datetime.now().astimezone()
    stop = stop or threading.Event()
    state_path = options.state_path or default_state_path(client.brand)
    if options.dry_run:  # reads only: no lock, no state file, no folder
        with closing(StateDB(state_path, read_only=True)) as state:
            state.claim_shard(_shard_name(options), reshard=options.reshard)
            the_plan = _plan(client, state, options, now, stop)
            return BatchReport(
                planned=the_plan.candidates, skipped=the_plan.skipped,
                counts=Counter(the_plan.counts), interrupted=stop.is_set(),
                backlog=the_plan.backlog + [c.owed for c in the_plan.candidates if c.owed],
            )  # fmt: skip
    with (
        BatchLock(state_path),
        closing(StateDB(state_path)) as state,
        Printers(settings, options.send, printer_opener) as printers,
    ):
        state.claim_shard(_shard_name(options), reshard=options.reshard)
        if printers.current is not None:  # a killed run's sends first: they may be owed
            settle(state, printers.get)
        recovered = recover(state)
        fsutil.sweep_leftovers(options.out_dir)
        jobs = options.jobs or os.cpu_count() or 1
        # Started before listing: the workers import WeasyPrint while the orders are listed.
        with RenderPool(jobs, settings, inline=jobs == 1) as pool:
            the_plan = _plan(client, state, options, now, stop)
            if stop.is_set():
                return BatchReport(recovered=recovered, interrupted=True)
            run_dir = new_run_dir(Path(options.out_dir), now)
            printer = printers.current
            recorder = Recorder(state, run_dir, brand=client.brand,
                                printer=printer.name if printer else None)  # fmt: skip
            night = _Night(
                client=client, settings=settings, options=options, pool=pool, jobs=jobs,
                recorder=recorder, stop=stop, progress=progress, printer=printer,
            )  # fmt: skip
            night.report.recovered = recovered
            return night.run(the_plan)


def _shard_name(options: BatchOptions) -> str:
    return str(options.plan.shard) if options.plan.shard is not None else "all"


def _plan(client: ApiClient, state: StateDB, options: BatchOptions, now, stop) -> Plan:
    """List what tonight needs (new orders, the re-check window, earlier failures)."""
    floor = listing_floor(state.watermark(), options.plan, now)
    listed: dict[str, Order] = {}
    for order in client.iter_orders("orderId", "descending", count=options.page_count):
        if stop.is_set() or floor.reached(order):
            break
        listed[order.api_id] = order
    for api_id in state.failed_ids():  # below the floor, still owed a ticket
        if api_id not in listed and not stop.is_set():
            try:
                listed[api_id] = client.get_order(api_id)
            except NotFoundError:
                log.warning("order %s failed before and no longer exists; forgotten", api_id)
                if not options.dry_run:
                    state.forget(api_id)
    remembered = state.records(listed)
    owed = state.owed() if options.send else ()
    return plan(listed.values(), remembered, state.skipped_before(listed), options.plan, now,
                owed)  # fmt: skip


class _Night:
    """Tonight's printing: prepares the plan's candidates and records each outcome (the
    scheduler's handler)."""

    def __init__(
        self,
        *,
        client: ApiClient,
        settings: Settings,
        options: BatchOptions,
        recorder: Recorder,
        pool: RenderPool,
        jobs: int,
        stop: threading.Event,
        progress: Callable[[int, int], None] | None,
        printer: Printer | None = None,
    ) -> None:
        self.settings = settings
        self.options = options
        self.brand = client.brand
        self.recorder = recorder
        self.pool = pool
        self.tally = Tally()
        self.report = BatchReport(run_dir=recorder.run_dir, manifest_path=recorder.manifest.path)
        self.progress = progress or (lambda done, total: None)
        self.store = AssetStore.from_settings(
            settings, api_origin=client.origin, workers=options.net_workers
        )
        self.designs = DesignSource(client.get_design, workers=options.net_workers)
        self.scheduler = Scheduler(
            self._gather, pool, net_workers=options.net_workers, jobs=jobs, stop=stop
        )
        self.dispatch: Dispatch | None = None
        if printer is not None:
            sender = Sender(printer, wait=options.wait, warn=self.report.warnings.append)
            self.dispatch = Dispatch(sender, recorder, page_size=settings.page_size, stop=stop)
            self.report.sending = self.dispatch.result
        self._reserved: dict[str, Outcome] = {}
        self._done = 0
        self._total = 0

    def _gather(self, candidate: Candidate) -> Gathered:
        try:
            return gather(candidate.order, self.designs, self.store)
        finally:
            self.designs.release(candidate.order)

    def run(self, the_plan: Plan) -> BatchReport:
        report, recorder, options = self.report, self.recorder, self.options
        report.skipped = the_plan.skipped
        self._total = len(the_plan.candidates)
        recorder.start(the_plan.skipped, the_plan.counts)
        self.designs.expect(c.order for c in the_plan.candidates)
        extra: dict[str, str] = {}
        try:
            if self.dispatch is not None:
                self.dispatch.backlog(the_plan.backlog)
            report.interrupted = not self.scheduler.run(the_plan.candidates, self)
            if self.dispatch is not None and not report.interrupted:
                self.dispatch.finish()
            finished = not (report.interrupted or report.error)
            run_dir = self.recorder.run_dir
            if (
                finished
                and options.combined
                and combine_run(run_dir, report.outcomes, self.tally, self.settings)
            ):
                extra["combined"] = COMBINED
        except KeyboardInterrupt:
            self.pool.terminate()
            report.interrupted = True
        except Exception as exc:
            log.debug("the run stopped", exc_info=True)
            report.error = report.error or _describe(exc)
        finally:
            self.designs.close()
            self.store.close()
        if self.dispatch is not None:
            report.print_error = self.dispatch.sender.down
        recorder.finish(error=report.error, interrupted=report.interrupted, **extra)
        complete = not (report.error or report.interrupted or options.plan.filtered)
        if complete and the_plan.highest_number is not None:
            recorder.state.raise_watermark(the_plan.highest_number)
        report.counts = recorder.counts
        return report

    # -- the scheduler's handler ------------------------------------------------------

    def gathered(self, candidate: Candidate, gathered: Gathered) -> tuple[Gathered, Path] | None:
        print_fp = fingerprint(gathered.facts)
        verdict = judge(candidate, gathered.facts, print_fp)
        if not verdict.print:
            self.recorder.counts[Count.UNCHANGED] += 1
            self._resolved(candidate)
            return None
        outcome = Outcome.for_order(
            candidate.order, TicketStatus.PENDING, candidate.reason,
            revised=verdict.revised, fingerprint=print_fp, facts=gathered.facts,
        )  # fmt: skip
        outcome = self.recorder.reserve(outcome, ticket_filename(candidate.order))
        self._reserved[outcome.api_id] = outcome
        return replace(gathered, revised=verdict.revised), Path(outcome.path or "")

    def rendered(self, candidate: Candidate, staged: Staged, ticket: Ticket) -> None:
        status = TicketStatus.INCOMPLETE if staged.problems else TicketStatus.PRINTED
        outcome = replace(
            self._reserved.pop(candidate.order.api_id),
            status=status, pages=staged.pages, problems=staged.problems,
        )  # fmt: skip
        outcome = self.recorder.written(outcome, staged, candidate.seq)
        self.report.outcomes.append(outcome)
        self.tally.add(ticket)
        self.report.warnings += [f"{outcome.label}: {w}" for w in ticket_warnings(ticket)]
        self._resolved(candidate, outcome)

    def failed(self, candidate: Candidate, error: BaseException) -> None:
        self._reserved.pop(candidate.order.api_id, None)
        if isinstance(error, FATAL):
            self.report.error = self.report.error or str(error)
            self.recorder.state.drop_pending(candidate.order.api_id)
            if self.dispatch is not None:
                self.dispatch.resolved(candidate, None)
            return
        if not isinstance(error, ProdsheetsError):
            log.error("%s: unexpected error", candidate.order.label, exc_info=error)
        outcome = Outcome.for_order(
            candidate.order, TicketStatus.FAILED, candidate.reason,
            problems=(_describe(error),), facts=order_facts(candidate.order),
        )  # fmt: skip
        self.recorder.failed(outcome, candidate.seq)
        self.report.outcomes.append(outcome)
        self._resolved(candidate)

    def stopped(self) -> bool:
        return self.report.error is not None

    def _resolved(self, candidate: Candidate, outcome: Outcome | None = None) -> None:
        """One more candidate done; with --print, send what is due, in orderId order."""
        if self.dispatch is not None:
            self.dispatch.resolved(candidate, outcome)
        self._done += 1
        self.progress(self._done, self._total)


def _describe(error: BaseException) -> str:
    if isinstance(error, ProdsheetsError):
        return str(error)
    return f"unexpected error: {type(error).__name__}: {error}"
