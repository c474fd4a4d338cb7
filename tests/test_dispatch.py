"""The batch's sending: in orderId order, once each, and the kill window (sent, not yet
recorded) settled by asking the printer. Kills are injected at exact instants."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from test_printing import ALL_MEDIA, pdf_file

from prodsheets import fsutil
from prodsheets.config import PageSize
from prodsheets.dispatch import Dispatch, Settled, settle, which_job
from prodsheets.errors import PrinterUnreachable, SendUncertain
from prodsheets.models import Order
from prodsheets.outcomes import Outcome, PlanReason, TicketStatus
from prodsheets.pipeline import Staged
from prodsheets.plan import Candidate
from prodsheets.printing import (
    Job,
    JobInfo,
    JobState,
    JobStatus,
    Printer,
    PrinterState,
    PrinterStatus,
)
from prodsheets.printing import Sender as RealSender
from prodsheets.recorder import Manifest, Recorder, recover
from prodsheets.state import SendStep, StateDB

NOW = datetime(2026, 11, 27, 2, 30, tzinfo=UTC)


class Killed(BaseException):
    """SIGKILL at one exact instant (not an Exception: nothing catches it)."""


class Desk(Printer):
    """A printer that keeps its jobs as a real one does, and can die at chosen instants."""

    def __init__(self) -> None:
        self.name = "ipp://desk/ipp/print"
        self.kept: list[JobInfo] = []
        self.down = False
        self.forgets = False  # lists no jobs (purged its history, or restarted)
        self.die_before: set[str] = set()  # job names: we die before sending them
        self.die_after: set[str] = set()  # job names: the printer took them, then we die
        self.silent_after: set[str] = set()  # the printer took them, the answer never came

    def status(self) -> PrinterStatus:
        if self.down:
            raise PrinterUnreachable(f"cannot reach {self.name}", printer=self.name)
        return PrinterStatus(self.name, PrinterState.IDLE, True, media=ALL_MEDIA)

    def submit(self, job: Job) -> tuple[int, tuple[str, ...]]:
        if job.name in self.die_before:
            raise Killed
        self.kept.append(JobInfo(len(self.kept) + 1, job.name, datetime.now(UTC)))
        if job.name in self.die_after:
            raise Killed
        if job.name in self.silent_after:
            raise SendUncertain(f"{self.name} did not answer", printer=self.name)
        return len(self.kept), ()

    def job_status(self, job_id: int) -> JobStatus | None:
        return JobStatus(job_id, JobState.PROCESSING, ("media-jam",))  # never finishes

    def jobs(self) -> list[JobInfo]:
        if self.down:
            raise PrinterUnreachable(f"cannot reach {self.name}", printer=self.name)
        return [] if self.forgets else list(self.kept)

    def names(self) -> list[str]:
        return [job.name for job in self.kept]


class DiesOnWrite(Manifest):
    """Dies instead of its ``n``-th write."""

    def __init__(self, *args, n: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.n = n

    def write(self, *args, **kwargs) -> None:
        self.n -= 1
        if self.n == 0:
            raise Killed
        super().write(*args, **kwargs)


class Night:
    """One batch run's recorder and dispatch over a state file and a printer."""

    count = 0

    def __init__(self, tmp_path, state: StateDB, printer: Desk, manifest=None, sender=None) -> None:
        Night.count += 1
        self.run_dir = tmp_path / f"2026-11-{Night.count:02d}"
        self.run_dir.mkdir()
        self.recorder = Recorder(state, self.run_dir, brand="acme", printer=printer.name,
                                 manifest=manifest and manifest(self.run_dir))  # fmt: skip
        self.recorder.start([], {})
        self.stop = threading.Event()
        self.dispatch = Dispatch(sender or RealSender(printer), self.recorder,
                                 page_size=PageSize.A4, stop=self.stop)  # fmt: skip

    def write(self, n: int, seq: int | None = None) -> Outcome:
        """Ticket for order ``n`` written, then resolved (sent when its turn comes)."""
        order = Order.from_json({"_id": f"{n:024x}", "orderId": n, "eCommerceOrderName": f"#{n}"})
        pending = Outcome.for_order(order, TicketStatus.PENDING, PlanReason.NEW,
                                    fingerprint="f", facts={"n": n})  # fmt: skip
        reserved = self.recorder.reserve(pending, f"order-{n}.pdf")
        staged = Staged(fsutil.stage_bytes(reserved.path, pdf_bytes()), reserved.path, 1, ())
        done = replace(reserved, status=TicketStatus.PRINTED, pages=1)
        outcome = self.recorder.written(done, staged, seq if seq is not None else n - 1)
        return outcome

    def resolve(self, n: int, outcome: Outcome | None, seq: int | None = None, owed=None) -> None:
        order = Order.from_json({"_id": f"{n:024x}", "orderId": n})
        seq = seq if seq is not None else n - 1
        self.dispatch.resolved(Candidate(seq, order, PlanReason.NEW, None, owed), outcome)

    def manifest(self) -> dict:
        return json.loads((self.run_dir / "manifest.json").read_text())


_PDF: list[bytes] = []


def pdf_bytes() -> bytes:
    if not _PDF:
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as folder:
            _PDF.append(pdf_file(Path(folder)).read_bytes())
    return _PDF[0]


def prints(manifest: dict) -> dict[str, tuple[str, int | None]]:
    return {t["file"]: (t["print"]["state"], t["print"]["job_id"]) for t in manifest["tickets"]}


def killed_while_sending(tmp_path, state, desk: Desk, tickets: int) -> Night:
    """A night that writes and sends tickets 1..``tickets``, killed while sending the last
    (the instant is set up on ``desk``)."""
    night = Night(tmp_path, state, desk)
    for n in range(1, tickets):
        night.resolve(n, night.write(n))
    with pytest.raises(Killed):
        night.resolve(tickets, night.write(tickets))
    return night


@pytest.fixture
def state(tmp_path):
    db = StateDB(tmp_path / "state.sqlite3")
    yield db
    db.close()


def test_tickets_finished_out_of_order_are_sent_in_order_once_each(tmp_path, state):
    desk = Desk()
    night = Night(tmp_path, state, desk)
    written = {n: night.write(n, seq=n - 1) for n in (1, 2, 3)}
    night.resolve(3, written[3], seq=2)
    night.resolve(1, written[1], seq=0)
    assert desk.names() == ["order-1.pdf"]  # 3 waits for 2
    night.resolve(2, written[2], seq=1)
    assert desk.names() == ["order-1.pdf", "order-2.pdf", "order-3.pdf"]
    manifest = night.manifest()
    assert prints(manifest) == {"order-1.pdf": ("sent", 1), "order-2.pdf": ("sent", 2),
                                "order-3.pdf": ("sent", 3)}  # fmt: skip
    assert manifest["counts"]["sent"] == 3 and manifest["counts"]["not_sent"] == 0
    assert state.owed() == [] and {r.job_id for r in state.sends()} == {1, 2, 3}


def test_killed_after_the_printer_took_it_the_ticket_is_not_sent_again(tmp_path, state):
    desk = Desk()
    desk.die_after.add("order-2.pdf")
    night = killed_while_sending(tmp_path, state, desk, 2)
    (row,) = state.sends(SendStep.SENDING)
    assert row.owed.file == "order-2.pdf" and row.intent_at is not None

    assert settle(state, lambda name: desk) == []
    recover(state)
    assert state.owed() == [] and state.sends(SendStep.SENDING) == []
    assert prints(night.manifest())["order-2.pdf"] == ("sent", 2)
    assert desk.names() == ["order-1.pdf", "order-2.pdf"]  # once


def test_killed_before_it_went_out_the_next_run_sends_it(tmp_path, state):
    desk = Desk()
    desk.die_before.add("order-2.pdf")
    night = killed_while_sending(tmp_path, state, desk, 2)
    desk.die_before.clear()
    assert settle(state, lambda name: desk) == []  # it lists job 1, not 2: it never got 2
    (owed,) = state.owed()
    assert owed.file == "order-2.pdf" and not owed.doubt
    tomorrow = Night(tmp_path, state, desk)
    tomorrow.dispatch.backlog(state.owed())
    assert desk.names() == ["order-1.pdf", "order-2.pdf"]
    assert tomorrow.dispatch.result.doubtful == []
    assert prints(night.manifest())["order-2.pdf"] == ("sent", 2)  # its own manifest
    backlog = tomorrow.manifest()["backlog"]
    assert [(b["file"], b["print"]["state"]) for b in backlog] == [
        (f"{night.run_dir.name}/order-2.pdf", "sent")
    ]


def test_a_printer_that_cannot_say_gets_the_ticket_again_with_a_warning(tmp_path, state):
    desk = Desk()
    desk.die_after.add("order-1.pdf")
    killed_while_sending(tmp_path, state, desk, 1)
    desk.die_after.clear()
    desk.forgets = True  # restarted since: it remembers no job at all
    (doubtful,) = settle(state, lambda name: desk)
    assert doubtful.file == "order-1.pdf"
    tomorrow = Night(tmp_path, state, desk)
    tomorrow.dispatch.backlog(state.owed())
    assert [o.file for o in tomorrow.dispatch.result.doubtful] == ["order-1.pdf"]
    assert desk.names() == ["order-1.pdf", "order-1.pdf"]  # the documented risk, said aloud


def test_a_printer_that_cannot_be_asked_is_asked_again_next_time(tmp_path, state):
    desk = Desk()
    desk.die_after.add("order-1.pdf")
    killed_while_sending(tmp_path, state, desk, 1)
    desk.down = True
    assert settle(state, lambda name: desk) == []
    assert [r.step for r in state.sends()] == [SendStep.SENDING]  # untouched
    desk.down = False
    settle(state, lambda name: desk)
    assert [(r.step, r.job_id) for r in state.sends()] == [(SendStep.SENT, 1)]


def test_killed_after_recording_the_job_the_manifest_is_finished_by_recover(tmp_path, state):
    desk = Desk()
    # writes: start(), ticket 1 listed, ticket 1 sent -> dies instead of that third write
    night = Night(tmp_path, state, desk, manifest=lambda run: DiesOnWrite(
        run / "manifest.json", "acme", NOW, printing=True, n=3))  # fmt: skip
    with pytest.raises(Killed):
        night.resolve(1, night.write(1))
    assert prints(night.manifest())["order-1.pdf"] == ("not sent", None)
    (row,) = state.sends()
    assert (row.step, row.job_id, row.listed) == (SendStep.SENT, 1, False)
    recover(state)
    assert prints(night.manifest())["order-1.pdf"] == ("sent", 1)
    assert night.manifest()["counts"]["sent"] == 1 and night.manifest()["counts"]["not_sent"] == 0
    assert state.sends()[0].listed and desk.names() == ["order-1.pdf"]


def test_no_answer_in_the_run_is_settled_at_once(tmp_path, state):
    desk = Desk()
    desk.silent_after.add("order-1.pdf")
    night = Night(tmp_path, state, desk)
    night.resolve(1, night.write(1))
    assert prints(night.manifest())["order-1.pdf"] == ("sent", 1)  # the printer said it has it
    assert desk.names() == ["order-1.pdf"]


def test_an_older_unsent_ticket_is_superseded_by_a_new_one(tmp_path, state):
    desk = Desk()
    desk.down = True
    first = Night(tmp_path, state, desk)
    first.resolve(1, first.write(1))
    assert prints(first.manifest())["order-1.pdf"][0] == "not sent"
    (owed,) = state.owed()
    desk.down = False
    second = Night(tmp_path, state, desk)
    second.resolve(1, second.write(1), owed=owed)  # the order changed: a REVISED ticket
    assert desk.names() == ["order-1.pdf"] and len(desk.kept) == 1
    sent = [r for r in state.sends() if r.step is SendStep.SENT]
    assert [r.owed.path for r in sent] == [str(second.run_dir / "order-1.pdf")]
    old = first.manifest()["tickets"][0]["print"]
    assert old["state"] == "not sent" and old["error"].startswith("superseded by ")
    assert state.owed() == []


def test_an_unsent_ticket_whose_order_is_unchanged_is_sent_in_its_turn(tmp_path, state):
    desk = Desk()
    desk.down = True
    first = Night(tmp_path, state, desk)
    first.resolve(1, first.write(1))
    (owed,) = state.owed()
    desk.down = False
    second = Night(tmp_path, state, desk)
    second.resolve(1, None, owed=owed)  # re-checked: no new ticket tonight
    assert desk.names() == ["order-1.pdf"] and state.owed() == []


def test_wait_records_the_job_first_then_says_why_it_stalled(tmp_path, state):
    from test_printing import Clock

    desk, clock = Desk(), Clock()
    recorded_before_waiting = []
    sleep = clock.sleep

    def sleeping(seconds: float) -> None:
        recorded_before_waiting.append([r.step for r in state.sends()])
        sleep(seconds)

    sender = RealSender(desk, wait=5, warn=lambda m: None, clock=clock, sleep=sleeping)
    night = Night(tmp_path, state, desk, sender=sender)
    night.resolve(1, night.write(1))
    assert recorded_before_waiting[0] == [SendStep.SENT]  # the kill window stays small
    entry = night.manifest()["tickets"][0]["print"]
    assert (entry["state"], entry["job_id"]) == ("sent", 1)
    assert entry["error"] == "job 1 still processing (media-jam) after 5 s"
    assert night.dispatch.result.sent[0].needs_attention


def test_after_a_stop_nothing_more_is_sent(tmp_path, state):
    desk = Desk()
    night = Night(tmp_path, state, desk)
    night.stop.set()
    night.resolve(1, night.write(1))
    assert desk.names() == [] and [o.file for o in state.owed()] == ["order-1.pdf"]


@pytest.mark.parametrize(
    ("jobs", "settled"),
    [
        ([JobInfo(5, "order-1.pdf", NOW)], Settled(5)),
        ([JobInfo(5, None, NOW + timedelta(seconds=2))], Settled(5)),  # CUPS: no names
        ([JobInfo(5, "order-2.pdf", NOW), JobInfo(4, "x", NOW - timedelta(days=1))],
         Settled(None, known=True)),  # it remembers older jobs, not this one: never got it
        ([JobInfo(3, "order-1.pdf", NOW)], Settled(None, known=True)),  # 3 is recorded
        ([JobInfo(5, "order-1.pdf", NOW - timedelta(days=1))], Settled(None, known=True)),
        ([JobInfo(5, "order-1.pdf", NOW), JobInfo(6, "order-1.pdf", NOW)], Settled(known=False)),
        ([JobInfo(5, "order-1.pdf", None)], Settled(known=False)),  # cannot date it
        ([JobInfo(5, "order-1.pdf", NOW, JobState.ABORTED), JobInfo(3, "order-0.pdf", NOW)],
         Settled(None, known=True)),  # the kill cut its document off: it never printed
        ([], Settled(known=False)),  # remembers nothing: cannot say
    ],
)  # fmt: skip
def test_which_job_a_killed_send_left(jobs, settled):
    assert which_job(jobs, name="order-1.pdf", intent_at=NOW, recorded={3}) == settled
