"""Sending PDFs to a printer: a CUPS queue by name, or an IPP printer by URI.

    open_printer(settings.printer, …)  -> CupsQueue (cups.py) | IppPrinter (here)
    Sender(printer, wait=…)            one command's sending: check the printer once,
                                       before the first job, then send each PDF

Every job is ``application/pdf``, named after its file (``order-1001.pdf``), from the
user ``prodsheets``, on the paper of the ticket's page size when the printer lists it
(else on its default paper, with a warning).

What "sent" means: the printer (IPP) or the CUPS scheduler (a queue) accepted the job
and gave it a job id. For a queue that is a job CUPS keeps in its own spool and
delivers when the device answers: ``lp`` succeeds even while the device is switched
off, and so does a queue's check (CUPS only learns that the device is away when it
tries). ``--wait`` follows each job until it completed, was aborted or canceled (on a
queue: until it left the queue), and reports the printer's state reasons if it stalls.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import requests

from .config import PageSize, PrinterAddress
from .errors import FormatRefused, InputError, PrinterNotReady, PrintError

log = logging.getLogger(__name__)

PDF = "application/pdf"
USER = "prodsheets"  # every job's requesting-user-name
WAIT_POLL = 0.5  # seconds between two looks at a job being waited for


class PrinterState(StrEnum):
    IDLE = "idle"
    PROCESSING = "processing"
    STOPPED = "stopped"
    UNKNOWN = "unknown"

    @classmethod
    def from_ipp(cls, value: Any) -> PrinterState:
        return {3: cls.IDLE, 4: cls.PROCESSING, 5: cls.STOPPED}.get(value, cls.UNKNOWN)


@dataclass(frozen=True)
class PrinterStatus:
    """What a printer says about itself. ``formats``/``media`` are None when it cannot
    say (a CUPS queue converts what it gets; a raw queue lists no paper)."""

    printer: str
    state: PrinterState
    accepting: bool
    reasons: tuple[str, ...] = ()
    message: str = ""
    formats: tuple[str, ...] | None = None
    media: tuple[str, ...] | None = None
    media_default: str | None = None
    model: str = ""

    def describe(self) -> str:
        """``stopped (paused, media-empty-error): "out of paper"``."""
        text = self.state.value + (f" ({', '.join(self.reasons)})" if self.reasons else "")
        return text + (f': "{self.message}"' if self.message else "")

    def check(self) -> None:
        """Raises when no job can go there now: not accepting, stopped, or no PDF."""
        if not self.accepting:
            raise PrinterNotReady(f"printer {self.printer} is not accepting jobs: "
                                  f"{self.describe()}", printer=self.printer)  # fmt: skip
        if self.state is PrinterState.STOPPED:
            raise PrinterNotReady(f"printer {self.printer} is {self.describe()}",
                                  printer=self.printer)  # fmt: skip
        if self.formats is not None and PDF not in self.formats:
            raise FormatRefused(
                f"printer {self.printer} does not accept PDF ({PDF}); it accepts "
                f"{', '.join(self.formats) or 'nothing'}. Print through a CUPS queue, which "
                "converts: lpadmin -p workshop -E -v URI -m everywhere",
                printer=self.printer,
            )


class JobState(StrEnum):
    PENDING = "pending"
    HELD = "pending-held"
    PROCESSING = "processing"
    STOPPED = "processing-stopped"
    CANCELED = "canceled"
    ABORTED = "aborted"
    COMPLETED = "completed"
    DONE = "done"  # a CUPS queue's job that left the queue: lpstat cannot say more

    @classmethod
    def from_ipp(cls, value: Any) -> JobState:
        states = (cls.PENDING, cls.HELD, cls.PROCESSING, cls.STOPPED, cls.CANCELED,
                  cls.ABORTED, cls.COMPLETED)  # fmt: skip
        return states[value - 3] if isinstance(value, int) and 3 <= value <= 9 else cls.PENDING

    @property
    def finished(self) -> bool:
        return self in (JobState.CANCELED, JobState.ABORTED, JobState.COMPLETED, JobState.DONE)


@dataclass(frozen=True)
class JobStatus:
    job_id: int
    state: JobState
    reasons: tuple[str, ...] = ()
    message: str = ""

    def describe(self) -> str:
        text = self.state.value + (f" ({', '.join(self.reasons)})" if self.reasons else "")
        return text + (f': "{self.message}"' if self.message else "")


@dataclass(frozen=True)
class JobInfo:
    """One of prodsheets' jobs as the printer lists them (to settle a killed send)."""

    job_id: int
    name: str | None  # None: the printer does not say (a CUPS queue via lpstat)
    created: datetime | None
    state: JobState | None = None  # None: the printer does not say


@dataclass(frozen=True)
class Job:
    path: Path
    name: str  # job-name: the file's name
    media: str | None  # an IPP media name; None: the printer's default paper


class Printer(ABC):
    """One printer, as configured (``name`` is how the user wrote it)."""

    name: str

    @abstractmethod
    def status(self) -> PrinterStatus: ...

    @abstractmethod
    def submit(self, job: Job) -> tuple[int, tuple[str, ...]]:
        """Send ``job``; its job id, and warnings (attributes the printer ignored)."""

    @abstractmethod
    def job_status(self, job_id: int) -> JobStatus | None:
        """None when the printer no longer knows the job."""

    @abstractmethod
    def jobs(self) -> list[JobInfo]:
        """prodsheets' jobs the printer still remembers."""

    def close(self) -> None:
        return None


def open_printer(
    address: PrinterAddress,
    *,
    fingerprint: str | None = None,
    session: requests.Session | None = None,
    patience: float | None = None,
) -> Printer:
    """The printer ``address`` names: a CUPS queue or an IPP printer. ``patience``
    (seconds) bounds each exchange with it and the wait for a busy printer, for someone
    waiting at a page (the station); None: the commands' own, longer limits."""
    if address.is_queue:
        from .cups import CupsQueue

        if patience is None:
            return CupsQueue(address.text)
        return CupsQueue(address.text, timeout=patience, lp_timeout=patience)
    from .ipp_printer import IppClient, IppPrinter

    if patience is None:
        return IppPrinter(IppClient(address.text, fingerprint=fingerprint, session=session))
    client = IppClient(address.text, fingerprint=fingerprint, session=session,
                       timeout=(min(5.0, patience), patience))  # fmt: skip
    return IppPrinter(client, busy_wait=patience)


# -- one command's sending -------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    """A job the printer took; ``final`` is its state when ``--wait`` followed it."""

    printer: str
    file: str
    job_id: int
    final: JobStatus | None = None
    waited: float = 0.0

    @property
    def needs_attention(self) -> bool:
        """Waited for, and it did not complete (stalled, aborted, canceled)."""
        return self.final is not None and self.final.state not in (
            JobState.COMPLETED, JobState.DONE,
        )  # fmt: skip

    @property
    def problem(self) -> str | None:
        """Why a job that was followed needs a look (for the manifest), else None."""
        if not self.needs_attention or self.final is None:
            return None
        if self.final.state.finished:
            return f"job {self.job_id} {self.final.describe()}"
        return f"job {self.job_id} still {self.final.describe()} after {self.waited:.0f} s"

    def describe(self) -> str:
        text = f"sent {self.file} to {self.printer} (job {self.job_id})"
        if self.final is not None and self.final.state.finished:
            text += f": {self.final.describe()}"
        return text


class Sender:
    """Sends one command's PDFs to one printer.

    The printer is checked once, before the first job (``check``). After a failure that
    concerns every job (unreachable, not ready, no PDF…) nothing more is tried: every
    later ``send`` raises that same error at once, so a run with a dead printer writes
    its tickets without waiting on the printer again and again."""

    def __init__(
        self,
        printer: Printer,
        *,
        wait: float | None = None,
        warn: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.printer = printer
        self.wait = wait
        self._warn = warn or log.warning
        self._clock = clock
        self._sleep = sleep
        self._status: PrinterStatus | None = None
        self._down: PrintError | None = None
        self._warned: set[str] = set()

    @property
    def name(self) -> str:
        return self.printer.name

    @property
    def down(self) -> PrintError | None:
        """The printer-wide failure that stopped this sender, if any."""
        return self._down

    def check(self) -> PrinterStatus:
        """The printer's status, asked once; raises when it can take no job now."""
        if self._down is not None:
            raise self._down
        if self._status is None:
            try:
                status = self.printer.status()
                status.check()
            except PrintError as exc:
                self._down = exc
                raise
            self._status = status
            if status.reasons:
                self.warn(f"printer {self.name} reports {', '.join(status.reasons)}")
        return self._status

    def send(self, path: Path, page_size: PageSize | None, *, follow: bool = True) -> Sent:
        """Send the PDF at ``path`` (its file name is the job name). ``page_size`` picks
        the paper; None: the page size the PDF itself has. With ``wait``, the job is
        followed to its end unless ``follow`` is False (the batch records the job id
        first, then calls ``follow``)."""
        check_pdf(path)
        status = self.check()
        size = page_size if page_size is not None else page_size_of(path)
        job = Job(Path(path), Path(path).name, self._media(status, size, path))
        try:
            job_id, warnings = self.printer.submit(job)
        except PrintError as exc:
            if exc.printer_wide:
                self._down = exc
            raise
        for warning in warnings:
            self.warn(warning)
        sent = Sent(self.name, job.name, job_id)
        return self.follow(sent) if follow else sent

    def warn(self, message: str) -> None:
        """Each distinct warning once per command."""
        if message not in self._warned:
            self._warned.add(message)
            self._warn(message)

    def _media(self, status: PrinterStatus, size: PageSize | None, path: Path) -> str | None:
        if size is None:
            self.warn(f"{Path(path).name}: its page size is none of "
                      f"{', '.join(p.value for p in PageSize)}; printed on the paper "
                      f"{self.name} chooses")  # fmt: skip
            return None
        if status.media is None:
            self.warn(f"printer {self.name} does not list its paper (raw CUPS queues list "
                      "none); tickets print on its default paper")  # fmt: skip
            return None
        if size.media in status.media:
            return size.media
        default = f" ({status.media_default})" if status.media_default else ""
        self.warn(f"printer {self.name} does not list {size.value} paper ({size.media}); "
                  f"printed on its default paper{default}")  # fmt: skip
        return None

    def follow(self, sent: Sent) -> Sent:
        """With ``wait``: wait (bounded) for the job to finish; a stall is reported, not
        raised. Without: ``sent`` as it is."""
        if self.wait is None:
            return sent
        start = self._clock()
        deadline = start + (self.wait or 0)
        final: JobStatus | None = None
        while True:
            try:
                final = self.printer.job_status(sent.job_id)
            except PrintError as exc:
                self.warn(f"{sent.file}: cannot follow job {sent.job_id} on {self.name}: {exc}")
                return sent
            if final is None:  # the printer forgot it: it finished and was purged
                final = JobStatus(sent.job_id, JobState.DONE)
            if final.state.finished or self._clock() >= deadline:
                break
            self._sleep(min(WAIT_POLL, max(0.0, deadline - self._clock())))
        waited = self._clock() - start
        result = Sent(sent.printer, sent.file, sent.job_id, final, waited)
        if not final.state.finished:
            self.warn(self._stalled(result))
        elif result.needs_attention:
            self.warn(f"{sent.file}: job {sent.job_id} on {self.name} {final.describe()}")
        return result

    def _stalled(self, sent: Sent) -> str:
        assert sent.final is not None
        try:
            printer = self.printer.status().describe()
        except PrintError as exc:
            printer = f"cannot say ({exc})"
        return (
            f"{sent.file}: job {sent.job_id} on {self.name} is still "
            f"{sent.final.describe()} after {sent.waited:.0f} s; printer: {printer}"
        )


# -- helpers -----------------------------------------------------------------------------

_POINTS = {  # page sizes in PDF points (1/72 in), portrait
    PageSize.A4: (595.28, 841.89),
    PageSize.LETTER: (612.0, 792.0),
    PageSize.A5: (419.53, 595.28),
    PageSize.LABEL: (288.0, 432.0),
}


def page_size_of(path: Path) -> PageSize | None:
    """The page size of a PDF's first page (either orientation, within 2 pt), or None."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        box = PdfReader(str(path)).pages[0].mediabox
    except (OSError, PyPdfError, IndexError, ValueError) as exc:
        raise InputError(f"{path} is not a readable PDF ({exc})") from None
    size = sorted((float(box.width), float(box.height)))
    for page_size, points in _POINTS.items():
        if all(abs(a - b) <= 2 for a, b in zip(size, sorted(points), strict=True)):
            return page_size
    return None


def check_pdf(path: Path) -> None:
    """Raises ``InputError`` unless ``path`` is a readable file that starts like a PDF."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(5)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    if head != b"%PDF-":
        raise InputError(f"{path} is not a PDF")
