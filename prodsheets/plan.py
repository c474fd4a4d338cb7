"""What tonight's batch should do with each order: a pure function, no I/O.

    plan(orders, remembered, skipped_before, options, now, owed) -> Plan

Every order listed gets exactly one fate, with its reason: looked at closely
(``Candidate``: new, failed before, changed, forced, or printed recently and worth a
design re-check), skipped (``Skip``: trial, unpaid, status not selected), skipped before
(only counted), unchanged (only counted), or outside the dates asked for (only counted).

Listing stops early (``Floor``): after the first night, a run lists orders newest first
only until it is past both the watermark (the highest orderId an earlier complete run
saw) and the re-check window (orders that may still be paid or edited), so the cost of a
night grows with the new orders, not with the shop's history. ``judge`` decides, once a
candidate's designs are known, whether it really needs a new ticket.

With ``--shard K/N`` a run takes only its share of the orders (``Shard``): several
hosts, each with its own state file, split a night without talking to each other.

With ``--print``, tickets of earlier runs that never reached the printer (``owed``) are
sent again, never rendered again: first those of orders not looked at tonight
(``Plan.backlog``), then each one held by its order's candidate (``Candidate.owed``),
which sends it in its turn unless tonight writes a newer ticket for that order.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .facts import changed, order_changed
from .models import Order
from .outcomes import Count, Owed, PlanReason, Record, Skip, SkipReason, TicketStatus


@dataclass(frozen=True)
class Shard:
    """One host's share of the orders: those whose orderId is ``index`` modulo ``count``.

    Which shard an order belongs to is a function of its orderId alone, never of time,
    host or state: N runs with the same N and K = 0…N-1 share out every order exactly
    once, and no two of them can ever print the same one. (An order without a number,
    which the API never sends, goes by a CRC of its id.)"""

    index: int
    count: int

    def __post_init__(self) -> None:
        if not 0 <= self.index < self.count:
            raise ValueError(f"shard {self.index}/{self.count}: K must be 0 to N-1")

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"1/3"`` -> Shard(1, 3); ``ValueError`` for anything else."""
        index, sep, count = text.partition("/")
        if not (sep and index.strip().isdigit() and count.strip().isdigit()):
            raise ValueError(f"not a shard: {text!r} (use K/N, e.g. 0/3)")
        return cls(int(index), int(count))

    def owns(self, order: Order) -> bool:
        key = order.number if order.number is not None else zlib.crc32(order.api_id.encode())
        return key % self.count == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


@dataclass(frozen=True)
class PlanOptions:
    shard: Shard | None = None
    since: datetime | None = None
    until: datetime | None = None
    statuses: tuple[str, ...] = ()
    payment_statuses: tuple[str, ...] = ("paid",)
    include_trial: bool = False
    force: bool = False
    recheck_days: int = 14

    @property
    def filtered(self) -> bool:
        """Dates or statuses narrow this run: it must not move the watermark."""
        return bool(self.since or self.until or self.statuses)


@dataclass(frozen=True)
class Candidate:
    """An order to prepare tonight, and why; ``seq`` is its place in orderId order."""

    seq: int
    order: Order
    reason: PlanReason
    previous: Record | None
    owed: Owed | None = None  # its earlier ticket, still to be sent (unless superseded)


@dataclass
class Plan:
    candidates: list[Candidate] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    counts: dict[Count, int] = field(default_factory=dict)
    highest_number: int | None = None  # the new watermark, once the run has finished
    backlog: list[Owed] = field(default_factory=list)  # earlier tickets to send first

    def count(self, key: Count) -> None:
        self.counts[key] = self.counts.get(key, 0) + 1


@dataclass(frozen=True)
class Floor:
    """Where listing (newest first) may stop: at an order numbered at most ``number``
    and dated before ``date``. ``None`` for both: list everything."""

    number: int | None
    date: datetime | None

    def reached(self, order: Order) -> bool:
        if self.date is None:
            return False
        when = order.date_parsed
        if when is None or when >= self.date:
            return False
        return self.number is None or (order.number is not None and order.number <= self.number)


def listing_floor(watermark: int | None, options: PlanOptions, now: datetime) -> Floor:
    """How far back tonight's listing must go (see the module docstring)."""
    if options.since is not None:  # every order of the dates asked for, printed or not
        return Floor(None, options.since)
    if watermark is None or options.force:  # first night, or reprint everything
        return Floor(None, None)
    return Floor(watermark, now - timedelta(days=options.recheck_days))


def plan(
    orders: Iterable[Order],
    remembered: Mapping[str, Record],
    skipped_before: Mapping[str, SkipReason],
    options: PlanOptions,
    now: datetime,
    owed: Iterable[Owed] = (),
) -> Plan:
    """Decide every order's fate; candidates come out in orderId order."""
    result = Plan()
    unsent = {ticket.api_id: ticket for ticket in owed}
    recheck_after = now - timedelta(days=options.recheck_days)
    listed = sorted(
        {o.api_id: o for o in orders}.values(),
        key=lambda o: (o.number is None, o.number or 0, o.api_id),
    )
    for order in listed:
        if order.number is not None:  # a shard saw every order, so its watermark is right
            result.highest_number = max(result.highest_number or order.number, order.number)
        if options.shard is not None and not options.shard.owns(order):
            result.count(Count.OTHER_SHARDS)
            continue
        if not _within_dates(order, options):
            result.count(Count.OUTSIDE_DATES)
            continue
        skip = _skip_reason(order, options)
        if skip is not None:
            if skipped_before.get(order.api_id) is skip:
                result.count(Count.SKIPPED_BEFORE)
            else:
                result.skipped.append(Skip(order, skip))
            continue
        previous = remembered.get(order.api_id)
        reason = _why_look(order, previous, options, recheck_after)
        if reason is None:
            result.count(Count.UNCHANGED)
        else:
            held = unsent.pop(order.api_id, None)
            result.candidates.append(
                Candidate(len(result.candidates), order, reason, previous, held)
            )
    result.backlog = sorted(unsent.values(), key=lambda t: (t.number is None, t.number or 0))
    return result


def _within_dates(order: Order, options: PlanOptions) -> bool:
    when = order.date_parsed
    if options.since and (when is None or when < options.since):
        return False
    return not (options.until and (when is None or when > options.until))


def _skip_reason(order: Order, options: PlanOptions) -> SkipReason | None:
    if order.trial and not options.include_trial:
        return SkipReason.TRIAL
    payment = {s.lower() for s in options.payment_statuses}
    if payment and order.payment_status.lower() not in payment:
        return SkipReason.PAYMENT
    statuses = {s.lower() for s in options.statuses}
    if statuses and order.status.lower() not in statuses:
        return SkipReason.STATUS
    return None


def _why_look(
    order: Order, previous: Record | None, options: PlanOptions, recheck_after: datetime
) -> PlanReason | None:
    if previous is None or previous.status is TicketStatus.PENDING:
        return PlanReason.NEW
    if previous.status is TicketStatus.FAILED:
        return PlanReason.RETRY
    if options.force:
        return PlanReason.FORCE
    if order_changed(previous.facts, order):
        return PlanReason.CHANGED
    when = order.date_parsed
    if when is not None and when >= recheck_after:
        return PlanReason.RECHECK
    return None


@dataclass(frozen=True)
class Verdict:
    """After preparing: print a ticket (``revised`` names what changed since the last
    one, if any) or not (the re-check found nothing new)."""

    print: bool
    revised: tuple[str, ...] = ()


def judge(candidate: Candidate, facts: dict, fingerprint: str) -> Verdict:
    """Whether a prepared candidate needs a new ticket, now that its designs are known."""
    previous = candidate.previous
    had_ticket = previous is not None and previous.status in (
        TicketStatus.PRINTED,
        TicketStatus.INCOMPLETE,
    )
    if not had_ticket:
        return Verdict(True)
    same = previous.fingerprint == fingerprint
    if same and candidate.reason is PlanReason.RECHECK:
        return Verdict(False)
    if same:  # forced, or the order's data went back and forth: a plain reprint
        return Verdict(True)
    return Verdict(True, tuple(changed(previous.facts, facts)) or ("order data",))
