"""The printing module: a Sender over a printer (checked once, media chosen, stopped by a
printer-wide failure, --wait), CUPS queues through lp/lpstat, IPP printers directly."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pypdf
import pytest

from prodsheets.config import PageSize
from prodsheets.cups import CupsQueue
from prodsheets.errors import (
    FormatRefused,
    InputError,
    JobRefused,
    PrinterNotFound,
    PrinterNotReady,
    PrinterRefused,
    PrinterUnreachable,
    SendUncertain,
)
from prodsheets.ipp import Status
from prodsheets.ipp_printer import IppPrinter
from prodsheets.printing import (
    Job,
    JobInfo,
    JobState,
    JobStatus,
    Printer,
    PrinterState,
    PrinterStatus,
    Sender,
    page_size_of,
)

POINTS = {PageSize.A4: (595.28, 841.89), PageSize.LETTER: (612, 792),
          PageSize.A5: (419.53, 595.28), PageSize.LABEL: (288, 432)}  # fmt: skip
ALL_MEDIA = tuple(size.media for size in PageSize)


def pdf_file(folder: Path, name: str = "order-1.pdf", size=(595.28, 841.89)) -> Path:
    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=size[0], height=size[1])
    buffer = io.BytesIO()
    writer.write(buffer)
    path = folder / name
    path.write_bytes(buffer.getvalue())
    return path


class FakePrinter(Printer):
    """A printer for the Sender's own logic; the real ones are tested below."""

    def __init__(self, status: PrinterStatus | None = None, fail: list | None = None) -> None:
        self.name = "fake"
        self._status = status or PrinterStatus("fake", PrinterState.IDLE, True, media=ALL_MEDIA,
                                               formats=("application/pdf",))  # fmt: skip
        self.fail = fail or []
        self.submitted: list[Job] = []
        self.asked = 0
        self.states: list[JobState] = []

    def status(self) -> PrinterStatus:
        self.asked += 1
        return self._status

    def submit(self, job: Job) -> tuple[int, tuple[str, ...]]:
        if self.fail:
            raise self.fail.pop(0)
        self.submitted.append(job)
        return len(self.submitted), ()

    def job_status(self, job_id: int) -> JobStatus | None:
        state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        return JobStatus(job_id, state, ("media-empty",) if not state.finished else ())

    def jobs(self) -> list[JobInfo]:
        return []


class Clock:
    """Time that passes only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_checked_once_then_each_job_named_after_its_file(tmp_path):
    printer, warnings = FakePrinter(), []
    sender = Sender(printer, warn=warnings.append)
    first = sender.send(pdf_file(tmp_path, "order-1001.pdf"), PageSize.A5)
    second = sender.send(pdf_file(tmp_path, "order-1002.pdf"), None)
    assert printer.asked == 1
    assert [(j.name, j.media) for j in printer.submitted] == [
        ("order-1001.pdf", "iso_a5_148x210mm"), ("order-1002.pdf", "iso_a4_210x297mm"),
    ]  # fmt: skip
    assert (first.job_id, second.describe()) == (1, "sent order-1002.pdf to fake (job 2)")
    assert warnings == []


@pytest.mark.parametrize("size", list(PageSize))
def test_the_page_size_of_a_pdf(tmp_path, size):
    width, height = POINTS[size]
    assert page_size_of(pdf_file(tmp_path, size=(width, height))) is size
    assert page_size_of(pdf_file(tmp_path, size=(height, width))) is size  # landscape
    assert page_size_of(pdf_file(tmp_path, size=(500, 500))) is None


def test_paper_the_printer_does_not_list_prints_on_its_default_with_a_warning(tmp_path):
    status = PrinterStatus("fake", PrinterState.IDLE, True, media=("iso_a4_210x297mm",),
                           media_default="iso_a4_210x297mm")  # fmt: skip
    printer, warnings = FakePrinter(status), []
    sender = Sender(printer, warn=warnings.append)
    for _ in range(2):
        sender.send(pdf_file(tmp_path), PageSize.LABEL)
    assert [j.media for j in printer.submitted] == [None, None]
    assert warnings == ["printer fake does not list 4x6in paper (na_index-4x6_4x6in); printed "
                        "on its default paper (iso_a4_210x297mm)"]  # once  # fmt: skip
    raw, warnings = FakePrinter(PrinterStatus("fake", PrinterState.IDLE, True)), []
    Sender(raw, warn=warnings.append).send(pdf_file(tmp_path), PageSize.A4)
    assert raw.submitted[0].media is None and "does not list its paper" in warnings[0]


@pytest.mark.parametrize(
    ("status", "error", "words"),
    [
        (PrinterStatus("fake", PrinterState.IDLE, False, ("paused",), "closed"),
         PrinterNotReady, 'printer fake is not accepting jobs: idle (paused): "closed"'),
        (PrinterStatus("fake", PrinterState.STOPPED, True, ("media-empty-error",), "no paper"),
         PrinterNotReady, 'printer fake is stopped (media-empty-error): "no paper"'),
        (PrinterStatus("fake", PrinterState.IDLE, True, formats=("image/urf",)),
         FormatRefused, "does not accept PDF (application/pdf); it accepts image/urf"),
    ],
)  # fmt: skip
def test_a_printer_that_cannot_print_now_gets_nothing(tmp_path, status, error, words):
    printer = FakePrinter(status)
    sender = Sender(printer)
    with pytest.raises(error) as first:
        sender.send(pdf_file(tmp_path), PageSize.A4)
    assert str(first.value) == words or words in str(first.value)
    with pytest.raises(error) as again:  # not asked again: the same answer
        sender.send(pdf_file(tmp_path), PageSize.A4)
    assert again.value is first.value and printer.asked == 1 and printer.submitted == []


def test_reasons_of_a_printer_that_can_print_are_a_warning(tmp_path):
    status = PrinterStatus("fake", PrinterState.PROCESSING, True, ("toner-low-report",),
                           media=ALL_MEDIA)  # fmt: skip
    warnings: list[str] = []
    Sender(FakePrinter(status), warn=warnings.append).send(pdf_file(tmp_path), PageSize.A4)
    assert warnings == ["printer fake reports toner-low-report"]


def test_after_a_printer_wide_failure_nothing_more_is_tried(tmp_path):
    printer = FakePrinter(
        fail=[
            JobRefused("fake refused order-1.pdf", printer="fake"),
            PrinterUnreachable("cannot reach fake", printer="fake"),
        ]
    )
    sender = Sender(printer)
    with pytest.raises(JobRefused):  # this job only: the next one is tried
        sender.send(pdf_file(tmp_path), PageSize.A4)
    with pytest.raises(PrinterUnreachable) as down:
        sender.send(pdf_file(tmp_path), PageSize.A4)
    with pytest.raises(PrinterUnreachable) as still:
        sender.send(pdf_file(tmp_path), PageSize.A4)
    assert still.value is down.value and sender.down is down.value
    assert printer.submitted == []


def test_not_a_pdf_is_refused_before_the_printer_is_asked(tmp_path):
    printer = FakePrinter()
    (tmp_path / "notes.pdf").write_text("hello")
    with pytest.raises(InputError, match="is not a PDF"):
        Sender(printer).send(tmp_path / "notes.pdf", None)
    assert printer.asked == 0


def test_wait_follows_the_job_to_its_end(tmp_path):
    clock = Clock()
    printer = FakePrinter()
    printer.states = [JobState.PENDING, JobState.PROCESSING, JobState.COMPLETED]
    sent = Sender(printer, wait=30, clock=clock, sleep=clock.sleep).send(pdf_file(tmp_path),
                                                                         PageSize.A4)  # fmt: skip
    assert sent.final.state is JobState.COMPLETED and not sent.needs_attention
    assert sent.describe() == "sent order-1.pdf to fake (job 1): completed"


def test_wait_reports_a_stall_with_the_printers_reasons(tmp_path):
    clock, warnings = Clock(), []
    status = PrinterStatus("fake", PrinterState.PROCESSING, True, ("media-empty-warning",),
                           "Load paper", media=ALL_MEDIA)  # fmt: skip
    printer = FakePrinter(status)
    printer.states = [JobState.PROCESSING]
    sender = Sender(printer, wait=10, warn=warnings.append, clock=clock, sleep=clock.sleep)
    sent = sender.send(pdf_file(tmp_path), PageSize.A4)
    assert sent.needs_attention and sent.final.state is JobState.PROCESSING
    assert 10 <= clock.now < 11  # bounded
    assert warnings[-1] == (
        "order-1.pdf: job 1 on fake is still processing (media-empty) after 10 s; printer: "
        'processing (media-empty-warning): "Load paper"'
    )


def test_a_busy_printer_is_offered_the_job_again(tmp_path):
    from test_ipp import client_answering, field, response

    busy = response(Status.BUSY, (0x01, field(0x41, "status-message", b"Printing another job.")))
    taken = response(0, (0x02, field(0x21, "job-id", b"\x00\x00\x00\x07")))
    clock = Clock()
    client, canned = client_answering(busy, busy, taken)
    printer = IppPrinter(client, clock=clock, sleep=clock.sleep)
    assert printer.submit(Job(pdf_file(tmp_path), "order-1.pdf", None)) == (7, ())
    assert len(canned.requests) == 3 and 0 < clock.now < 1
    client, _ = client_answering(busy)
    patient = IppPrinter(client, busy_wait=30, clock=clock, sleep=clock.sleep)
    with pytest.raises(PrinterNotReady, match="busy"):
        patient.submit(Job(pdf_file(tmp_path), "order-1.pdf", None))
    assert clock.now < 1 + 30  # bounded


# -- CUPS queues: the tools' answers ---------------------------------------------------


def tool(answers: dict[str, tuple[int, str, str]], calls: list | None = None):
    """A stand-in for subprocess.run: answers by the command's first two words."""

    def run(args, **kwargs):
        if calls is not None:
            calls.append((args, kwargs))
        answer = answers.get(" ".join(args[:2]), answers.get(args[0], (0, "", "")))
        if isinstance(answer, BaseException):
            raise answer
        code, out, err = answer
        return subprocess.CompletedProcess(args, code, out, err)

    return run


@pytest.mark.parametrize(
    ("stderr", "error"),
    [
        ('lp: Destination "workshop" is not accepting jobs.', PrinterNotReady),
        ('lp: Unsupported document-format "application/pdf".', FormatRefused),
        ("lp: Unable to connect to server: Connection refused", PrinterUnreachable),
        ("lp: Forbidden", PrinterRefused),  # every job alike
        ("lp: something new", JobRefused),
    ],
)
def test_lp_errors_are_told_apart_by_type(tmp_path, stderr, error):
    queue = CupsQueue("workshop", run=tool({"lp": (1, "", stderr)}))
    with pytest.raises(error) as caught:
        queue.submit(Job(pdf_file(tmp_path), "order-1.pdf", None))
    assert type(caught.value) is error


def test_lp_is_called_as_a_person_would(tmp_path):
    calls: list = []
    queue = CupsQueue("workshop", run=tool({"lp": (0, "request id is workshop-17 (1 file(s))\n",
                                                   "")}, calls))  # fmt: skip
    path = pdf_file(tmp_path)
    assert queue.submit(Job(path, "order-1.pdf", "iso_a4_210x297mm")) == (17, ())
    ((args, kwargs),) = calls
    assert args == ["lp", "-d", "workshop", "-t", "order-1.pdf", "-U", "prodsheets", "-o",
                    "media=iso_a4_210x297mm", str(path.resolve())]  # fmt: skip
    assert kwargs["timeout"] and kwargs["env"]["LC_ALL"] == "C.UTF-8"


def test_lp_that_hangs_is_uncertain_and_a_missing_queue_is_not_found(tmp_path):
    hung = CupsQueue("workshop", run=tool({"lp": subprocess.TimeoutExpired("lp", 60)}))
    with pytest.raises(SendUncertain, match="may or may not have the job"):
        hung.submit(Job(pdf_file(tmp_path), "order-1.pdf", None))
    gone = CupsQueue(
        "nosuch",
        run=tool(
            {
                "lp": (1, "", "lp: The printer or class does not exist."),
                "lpstat -r": (0, "scheduler is running\n", ""),
            }
        ),
    )
    with pytest.raises(PrinterNotFound, match="no CUPS queue nosuch"):
        gone.submit(Job(pdf_file(tmp_path), "order-1.pdf", None))


# -- real CUPS queues -----------------------------------------------------------------------


def test_a_queue_says_its_state_and_paper(cups, printer):
    raw = CupsQueue(cups.queue(printer))
    status = raw.status()
    assert (status.state, status.accepting, status.media) == (PrinterState.IDLE, True, None)
    everywhere = CupsQueue(cups.queue(printer, everywhere=True)).status()
    assert set(everywhere.media) == set(ALL_MEDIA)  # the four ticket sizes, as IPP names
    assert everywhere.media_default == "na_letter_8.5x11in"


def test_a_stopped_or_rejecting_queue_names_its_state_and_reasons(cups, printer):
    name = cups.queue(printer)
    cups.cups("cupsdisable", "-r", "out of paper", name)
    with pytest.raises(PrinterNotReady) as stopped:
        CupsQueue(name).status().check()
    assert str(stopped.value) == f'printer {name} is stopped (paused): "out of paper"'
    cups.cups("cupsenable", name)
    cups.cups("cupsreject", "-r", "closed for inventory", name)
    with pytest.raises(PrinterNotReady) as rejecting:
        CupsQueue(name).status().check()
    assert "is not accepting jobs" in str(rejecting.value)
    assert "closed for inventory" in str(rejecting.value)


def test_no_queue_or_no_scheduler(cups, monkeypatch, print_servers):
    with pytest.raises(PrinterNotFound, match="no CUPS queue nosuch"):
        CupsQueue("nosuch").status()
    from printers import free_port

    monkeypatch.setenv("CUPS_SERVER", f"127.0.0.1:{free_port()}")
    with pytest.raises(PrinterUnreachable, match="cannot reach the CUPS scheduler"):
        CupsQueue("workshop").status()


def test_a_raw_queue_hands_the_bytes_on_untouched(cups, printer, tmp_path):
    queue = CupsQueue(cups.queue(printer))
    path = pdf_file(tmp_path, "order-77.pdf")
    job_id = Sender(queue).send(path, PageSize.A4).job_id
    assert printer.received("order-77.pdf").document.read_bytes() == path.read_bytes()
    assert queue.job_status(job_id) is not None
    assert [job.job_id for job in queue.jobs()] == [job_id]
