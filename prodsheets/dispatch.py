"""The nightly batch's printing (``--print``): every ticket sent once, in orderId order,
after its PDF is in place; what could not be sent is sent by the next run, from the PDF
already on disk.

    settle(state, printer_for)  before planning: a run killed while sending left
                                ``sending`` rows; the printer is asked what it got
    Dispatch                    tonight: earlier tickets first (``Plan.backlog``), then
                                tonight's in orderId order (the scheduler finishes them
                                out of order; each waits for the ones before it)

A ticket is sent in recorder steps 6-9: the state says ``sending`` before the job goes
out and ``sent`` with its job id the moment the printer answers. The one window no
bookkeeping can close is between those two: the printer has the job, the state does
not know yet. It is kept to one SQLite statement after the answer (nothing is logged,
written or printed in between), and a run killed inside it leaves a ``sending`` row
that the next run settles by asking the printer for prodsheets' jobs: a job named like
the ticket (CUPS does not show names: any of prodsheets' jobs), created around the time
the sending began, whose id the state has not recorded and that the printer did not
abort (a document cut off by the kill), is the one: recorded as sent.
When the printer still remembers older jobs but not this one, it never got it: sent
again. When it cannot say (it forgot its finished jobs, or two jobs fit), the ticket is
sent again with a warning that it may print twice: a ticket twice is seen on the
workshop floor, a ticket never is a product never built.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from .config import PageSize, PrinterAddress, Settings
from .errors import ConfigError, InputError, PrintError, SendUncertain
from .outcomes import Outcome, Owed
from .pipeline import send_ticket
from .plan import Candidate
from .printing import JobInfo, JobState, Printer, Sender, Sent
from .recorder import Recorder
from .state import SendStep, StateDB

log = logging.getLogger(__name__)

SKEW = timedelta(minutes=2)  # clocks of this host and the printer may differ this much
WINDOW = timedelta(minutes=3)  # a job created later than this after its intent is not it
DOUBT = "a run was killed while sending it and the printer could not say whether it got it"


@dataclass(frozen=True)
class Settled:
    """What the printer says about a send that may have happened."""

    job_id: int | None = None  # it has the job
    known: bool = True  # False: it cannot say (the ticket goes again, in doubt)


def which_job(
    jobs: list[JobInfo], *, name: str, intent_at: datetime, recorded: set[int]
) -> Settled:
    """Pure: the job a send that began at ``intent_at`` left on the printer, if any."""
    since, until = intent_at - SKEW, intent_at + WINDOW
    fits = [
        job
        for job in jobs
        if job.job_id not in recorded
        and job.state is not JobState.ABORTED
        and job.name in (None, name)
        and (job.created is None or since <= job.created <= until)
    ]
    if len(fits) == 1 and fits[0].created is not None:
        return Settled(fits[0].job_id)
    if fits:  # two candidates, or one the printer cannot date
        return Settled(known=False)
    remembers_older = any(
        job.job_id in recorded or (job.created is not None and job.created < since) for job in jobs
    )
    return Settled(known=remembers_older)


def settle(state: StateDB, printer_for: Callable[[str], Printer]) -> list[Owed]:
    """Settle the ``sending`` rows a killed run left (before tonight's plan). Rows the
    printer cannot be asked about now stay as they are. Returns the tickets in doubt."""
    doubtful = []
    for row in state.sends(SendStep.SENDING):
        try:
            printer = printer_for(row.printer or "")
            verdict = ask(printer, row.owed, row.intent_at, state.job_ids(printer.name))
        except ValueError:  # no printer recorded, or one that is no printer any more
            verdict = Settled(known=False)
        except PrintError as exc:
            log.warning("cannot ask %s about %s yet: %s", row.printer, row.owed.file, exc)
            continue
        if verdict.job_id is not None:
            state.mark_sent(row.owed.path, row.printer or "", verdict.job_id)  # recover lists it
        elif verdict.known:
            state.mark_owed(row.owed.path, "a run was killed while sending it; the printer "
                            "never got it")  # fmt: skip
        else:
            state.mark_owed(row.owed.path, DOUBT, doubt=True)
            doubtful.append(row.owed)
    return doubtful


def ask(printer: Printer, owed: Owed, intent_at: datetime | None, recorded: set[int]) -> Settled:
    if intent_at is None:
        return Settled(known=False)
    return which_job(printer.jobs(), name=owed.file, intent_at=intent_at, recorded=recorded)


@dataclass
class Sending:
    """What tonight's sending did, for the report."""

    sent: list[Sent] = field(default_factory=list)
    failed: list[tuple[Owed, PrintError | InputError]] = field(default_factory=list)
    doubtful: list[Owed] = field(default_factory=list)  # sent, but may have printed before


class Dispatch:
    """Tonight's sending, driven by the batch as tickets are resolved."""

    def __init__(
        self,
        sender: Sender,
        recorder: Recorder,
        *,
        page_size: PageSize,
        stop: threading.Event,
    ) -> None:
        self.sender = sender
        self.recorder = recorder
        self.page_size = page_size
        self.stop = stop
        self.result = Sending()
        self._ready: dict[int, list[tuple[Owed, PageSize | None]]] = {}
        self._next = 0

    def backlog(self, tickets: list[Owed]) -> None:
        """Earlier runs' tickets not waiting on an order of tonight's: sent first. Their
        page size is the one their PDF has (the setting may have changed since)."""
        for owed in tickets:
            self._send(owed, None)

    def resolved(self, candidate: Candidate, outcome: Outcome | None) -> None:
        """``candidate`` is done: written (``outcome``), failed or unchanged. Its ticket,
        or else its earlier unsent one, is sent once all candidates before it are."""
        items: list[tuple[Owed, PageSize | None]] = []
        if outcome is not None and outcome.delivery is not None:
            items.append((outcome.owed(str(self.recorder.manifest.path)), self.page_size))
        elif candidate.owed is not None:
            items.append((candidate.owed, None))
        self._ready[candidate.seq] = items
        while self._next in self._ready:
            for owed, size in self._ready.pop(self._next):
                self._send(owed, size)
            self._next += 1

    def finish(self) -> None:
        """The run ended early (an error): send what is written, still in order. After
        SIGINT/SIGTERM nothing more is sent; the next run sends the rest."""
        for seq in sorted(self._ready):
            for owed, size in self._ready.pop(seq):
                self._send(owed, size)

    def _send(self, owed: Owed, page_size: PageSize | None) -> None:
        if self.stop.is_set():
            return  # stays owed (and "not sent" in its manifest)
        name = self.sender.name
        if not Path(owed.path).is_file():
            error = InputError(f"{owed.file} is gone from {Path(owed.path).parent}; print the "
                               f"order again: prodsheets order {owed.number or owed.api_id} "
                               "--print")  # fmt: skip
            self.recorder.not_sent(owed, name, str(error))
            self.recorder.state.forget_send(owed.path)
            self.result.failed.append((owed, error))
            return
        try:
            self.sender.check()
        except PrintError as exc:
            self._failed(owed, exc)
            return
        self.recorder.sending(owed, name)  # step 6
        try:
            sent = send_ticket(self.sender, Path(owed.path), page_size, follow=False)
        except SendUncertain as exc:
            self._uncertain(owed, exc)
        except (PrintError, InputError) as exc:
            self._failed(owed, exc)
        else:
            self.recorder.sent(owed, name, sent.job_id)  # steps 7-9, before any --wait
            if owed.doubt:
                self.result.doubtful.append(owed)
            followed = self.sender.follow(sent)
            if followed.problem:
                self.recorder.sent(owed, name, sent.job_id, problem=followed.problem)
            self.result.sent.append(followed)

    def _failed(self, owed: Owed, error: PrintError | InputError) -> None:
        self.recorder.not_sent(owed, self.sender.name, str(error), doubt=owed.doubt)
        self.result.failed.append((owed, error))

    def _uncertain(self, owed: Owed, error: SendUncertain) -> None:
        """No answer after the document went out: ask the printer now; if it cannot say
        either, the row stays ``sending`` and the next run asks again."""
        printer = self.sender.printer
        recorded = self.recorder.state.job_ids(printer.name)
        intent = next((r.intent_at for r in self.recorder.state.sends(SendStep.SENDING)
                       if r.owed.path == owed.path), None)  # fmt: skip
        try:
            verdict = ask(printer, owed, intent, recorded)
        except PrintError:
            self.recorder.unsettled(owed, printer.name, f"{error}; the next run asks the "
                                    "printer whether it got it")  # fmt: skip
            self.result.failed.append((owed, error))
            return
        if verdict.job_id is not None:
            self.recorder.sent(owed, printer.name, verdict.job_id)
            self.result.sent.append(Sent(printer.name, owed.file, verdict.job_id))
        else:
            self._failed(owed, error) if verdict.known else self._doubt(owed, error)

    def _doubt(self, owed: Owed, error: SendUncertain) -> None:
        self.recorder.not_sent(owed, self.sender.name, f"{error}; {DOUBT}", doubt=True)
        self.result.failed.append((owed, error))


class Printers:
    """The printer of ``--print``, and any other a killed run was sending to (opened
    when asked for, to settle those sends), all closed at the end."""

    def __init__(self, settings: Settings, send: bool, opener: Callable[..., Printer]) -> None:
        self._settings = settings
        self._opener = opener
        self._open: dict[str, Printer] = {}
        self.current: Printer | None = None
        if send:
            if settings.printer is None:
                raise ConfigError("--print needs a printer (--printer, PRODSHEETS_PRINTER)")
            self.current = self.get(settings.printer.text)

    def get(self, name: str) -> Printer:
        if name not in self._open:
            self._open[name] = self._opener(
                PrinterAddress.parse(name), fingerprint=self._settings.printer_fingerprint
            )
        return self._open[name]

    def __enter__(self) -> Printers:
        return self

    def __exit__(self, *exc: object) -> None:
        for printer in self._open.values():
            printer.close()
