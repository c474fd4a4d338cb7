"""What happened to each order, as types: statuses, reasons, and the ``Outcome``.

An ``Outcome`` is the one record of a ticket's fate. It produces both the row the batch
state keeps (``record()``) and the entry ``manifest.json`` lists (``manifest_entry()``),
so the two can never describe the same ticket differently; it round-trips through JSON
so a ticket that was being written when the run was killed can be finished later
(``recorder.recover``). The CLI, the progress bar and the summary read these types, never
string keys.

The manifest's documented fields (``order_id`` is the API id, ``order_number`` the
orderId, ``order_name`` the shop's name…) are a public interface: add, never rename.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any

from .models import Order


class TicketStatus(StrEnum):
    """A ticket's state, as the manifest and the state file spell it."""

    PRINTED = "printed"  # written, complete
    INCOMPLETE = "incomplete"  # written; its banner says what is missing (permanent problems)
    FAILED = "failed"  # no ticket (a transient failure or a bug); the next run retries
    PENDING = "pending"  # being written (state file only)


class PlanReason(StrEnum):
    """Why the batch looks at an order tonight."""

    NEW = "new"
    RETRY = "retry"  # failed before
    CHANGED = "changed"  # the order's data differs from its last ticket
    FORCE = "force"
    RECHECK = "recheck"  # printed recently: its designs may have been edited since

    @property
    def would(self) -> str:
        """What a dry run says it would do."""
        return {
            PlanReason.NEW: "print (new)",
            PlanReason.RETRY: "print (failed before)",
            PlanReason.CHANGED: "reprint (order changed)",
            PlanReason.FORCE: "reprint (--force)",
            PlanReason.RECHECK: "check designs; reprint if changed",
        }[self]


class SkipReason(StrEnum):
    """Why an order is not printed at all (listed in the manifest's ``skipped``)."""

    TRIAL = "trial"
    PAYMENT = "payment"
    STATUS = "status"

    def describe(self, order: Order) -> str:
        if self is SkipReason.TRIAL:
            return "trial order"
        if self is SkipReason.PAYMENT:
            return f"payment status {order.payment_status or 'unknown'!r} not selected"
        return f"status {order.status or 'unknown'!r} not selected"


class Count(StrEnum):
    """The keys of the manifest's ``counts`` (and of the summary line)."""

    PRINTED = "printed"
    INCOMPLETE = "incomplete"
    FAILED = "failed"
    UNCHANGED = "unchanged"  # printed before, nothing changed: only counted
    SKIPPED_BEFORE = "skipped before"  # skipped by an earlier run for the same reason
    OUTSIDE_DATES = "outside dates"
    OTHER_SHARDS = "other shards"  # --shard: orders another host prints
    SENT = "sent"  # --print: tickets this run sent (its own, and earlier ones: ``backlog``)
    NOT_SENT = "not_sent"  # --print: tickets this run could not send (the next run will)


class SendState(StrEnum):
    """Whether a ticket reached the printer, as the manifest spells it."""

    SENT = "sent"
    NOT_SENT = "not sent"


@dataclass(frozen=True)
class Delivery:
    """A ticket's way to the printer (``--print``): the manifest's ``print`` object."""

    printer: str
    state: SendState = SendState.NOT_SENT
    job_id: int | None = None
    error: str | None = None

    def manifest_entry(self) -> dict[str, Any]:
        return {"printer": self.printer, "state": self.state.value, "job_id": self.job_id,
                "error": self.error}  # fmt: skip


@dataclass(frozen=True)
class Owed:
    """A written ticket that is still to be sent: the state's memory between runs."""

    path: str  # the PDF
    api_id: str
    number: int | None
    name: str
    manifest: str  # the manifest.json that lists it
    error: str | None = None  # why the last attempt failed
    doubt: bool = False  # a killed send the printer could neither confirm nor deny

    @property
    def file(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def label(self) -> str:
        return self.name or (f"order {self.number}" if self.number is not None else self.api_id)


@dataclass(frozen=True)
class Skip:
    """An order the batch does not print, and why."""

    order: Order
    reason: SkipReason

    def manifest_entry(self) -> dict[str, Any]:
        return {
            "order_id": self.order.api_id,
            "order_number": self.order.number,
            "order_name": self.order.name,
            "reason": self.reason.describe(self.order),
            "code": self.reason.value,
        }


@dataclass(frozen=True)
class Record:
    """What the batch state remembers of an order: its last ticket (or failure)."""

    api_id: str
    number: int | None
    name: str
    status: TicketStatus
    fingerprint: str | None
    facts: dict[str, Any]
    problems: tuple[str, ...]
    path: str | None


@dataclass(frozen=True)
class Outcome:
    """One ticket's fate in one run. ``path`` is the PDF's full path (None: no ticket)."""

    api_id: str
    number: int | None
    name: str
    items: int
    status: TicketStatus
    reason: PlanReason
    path: str | None = None
    pages: int = 0
    problems: tuple[str, ...] = ()
    revised: tuple[str, ...] = ()
    fingerprint: str | None = None
    facts: dict[str, Any] = field(default_factory=dict, compare=False)
    recovered: bool = False
    delivery: Delivery | None = None  # --print: its way to the printer

    @classmethod
    def for_order(cls, order: Order, status: TicketStatus, reason: PlanReason, **more: Any):
        return cls(
            api_id=order.api_id,
            number=order.number,
            name=order.name,
            items=len(order.items),
            status=status,
            reason=reason,
            **more,
        )

    @property
    def label(self) -> str:
        return self.name or (f"order {self.number}" if self.number is not None else self.api_id)

    @property
    def file(self) -> str | None:
        return self.path.rsplit("/", 1)[-1] if self.path else None

    @property
    def written(self) -> bool:
        return self.status in (TicketStatus.PRINTED, TicketStatus.INCOMPLETE)

    @property
    def needs_attention(self) -> bool:
        return self.status in (TicketStatus.INCOMPLETE, TicketStatus.FAILED)

    def record(self) -> Record:
        """The state row for this outcome."""
        return Record(
            api_id=self.api_id,
            number=self.number,
            name=self.name,
            status=self.status,
            fingerprint=self.fingerprint,
            facts=self.facts,
            problems=self.problems,
            path=self.path,
        )

    def manifest_entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "order_id": self.api_id,
            "order_number": self.number,
            "order_name": self.name,
            "file": self.file,
            "items": self.items,
            "pages": self.pages,
            "status": self.status.value,
            "problems": list(self.problems),
            "reason": self.reason.value,
            "retry": self.status is TicketStatus.FAILED,
        }
        if self.revised:
            entry["revised"] = list(self.revised)
        if self.recovered:
            entry["recovered"] = True
        if self.delivery is not None:
            entry["print"] = self.delivery.manifest_entry()
        return entry

    def owed(self, manifest: str) -> Owed:
        """This written ticket as one to send."""
        return Owed(self.path or "", self.api_id, self.number, self.name, manifest)

    def to_json(self) -> dict[str, Any]:
        """For ``json.dumps`` (the state's pending rows). Shallow: ``asdict`` deep-copied
        the facts of every item twice a ticket, 9% of the batch's main process."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["problems"], data["revised"] = list(self.problems), list(self.revised)
        data["delivery"] = asdict(self.delivery) if self.delivery is not None else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Outcome:
        delivery = data.get("delivery")
        return cls(
            **{
                **data,
                "status": TicketStatus(data["status"]),
                "reason": PlanReason(data["reason"]),
                "problems": tuple(data.get("problems") or ()),
                "revised": tuple(data.get("revised") or ()),
                "delivery": Delivery(**{**delivery, "state": SendState(delivery["state"])})
                if delivery
                else None,
            }
        )
