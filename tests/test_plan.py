"""Planning a night: a pure function of orders, memory, options and time."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from prodsheets.facts import fingerprint, order_facts
from prodsheets.models import Order
from prodsheets.outcomes import Count, Owed, PlanReason, Record, SkipReason, TicketStatus
from prodsheets.plan import Candidate, Floor, PlanOptions, Shard, judge, listing_floor, plan

NOW = datetime(2026, 11, 27, 2, 30, tzinfo=UTC)


def order(number: int, days_ago: float = 30, **fields) -> Order:
    return Order.from_json({
        "_id": f"{number:024x}", "orderId": number, "eCommerceOrderName": f"#{number}",
        "paymentStatus": "paid", "status": "pending", "trial": False,
        "date": (NOW - timedelta(days=days_ago)).isoformat(),
        "items": [{"quantity": 1, "design": "d" * 24}], **fields,
    })  # fmt: skip


def printed(o: Order, status=TicketStatus.PRINTED, **facts) -> Record:
    all_facts = {**order_facts(o), **facts}
    return Record(o.api_id, o.number, o.name, status, fingerprint(all_facts), all_facts, (), "x")


def fates(result) -> dict[int, object]:
    out: dict[int, object] = {c.order.number: c.reason for c in result.candidates}
    out |= {s.order.number: s.reason for s in result.skipped}
    return out


def test_every_order_gets_one_fate_with_its_reason():
    orders = [
        order(5), order(1), order(2, trial=True), order(3, paymentStatus="pending"),
        order(4), order(6), order(7), order(8, days_ago=2), order(9, status="shipped"),
    ]  # fmt: skip
    by_number = {o.number: o for o in orders}
    remembered = {
        by_number[4].api_id: printed(by_number[4]),
        by_number[6].api_id: printed(by_number[6], TicketStatus.FAILED),
        by_number[7].api_id: printed(Order.from_json({**by_number[7].raw, "items": []})),
        by_number[8].api_id: printed(by_number[8]),
    }
    result = plan(orders, remembered, {}, PlanOptions(statuses=("pending",)), NOW)
    assert [c.order.number for c in result.candidates] == [1, 5, 6, 7, 8]  # orderId order
    assert fates(result) == {
        1: PlanReason.NEW, 5: PlanReason.NEW, 6: PlanReason.RETRY, 7: PlanReason.CHANGED,
        8: PlanReason.RECHECK, 2: SkipReason.TRIAL, 3: SkipReason.PAYMENT,
        9: SkipReason.STATUS,
    }  # fmt: skip
    assert result.counts == {Count.UNCHANGED: 1}  # order 4
    assert [c.seq for c in result.candidates] == [0, 1, 2, 3, 4]
    assert result.highest_number == 9


def test_force_dates_and_trial_options():
    orders = [order(1, days_ago=10), order(2, days_ago=3), order(3, trial=True, days_ago=3)]
    remembered = {o.api_id: printed(o) for o in orders}
    options = PlanOptions(
        since=NOW - timedelta(days=5), include_trial=True, force=True, recheck_days=0
    )
    result = plan(orders, remembered, {}, options, NOW)
    assert fates(result) == {2: PlanReason.FORCE, 3: PlanReason.FORCE}
    assert result.counts == {Count.OUTSIDE_DATES: 1}


def test_skipped_orders_are_listed_once():
    trial = order(1, trial=True)
    result = plan([trial], {}, {trial.api_id: SkipReason.TRIAL}, PlanOptions(), NOW)
    assert result.skipped == [] and result.counts == {Count.SKIPPED_BEFORE: 1}
    again = plan([trial], {}, {trial.api_id: SkipReason.PAYMENT}, PlanOptions(), NOW)
    assert [s.reason for s in again.skipped] == [SkipReason.TRIAL]  # a new reason is news


def test_a_pending_row_left_by_a_crash_means_print():
    o = order(1)
    result = plan([o], {o.api_id: printed(o, TicketStatus.PENDING)}, {}, PlanOptions(), NOW)
    assert fates(result) == {1: PlanReason.NEW}


@pytest.mark.parametrize(
    ("watermark", "options", "floor"),
    [
        (None, PlanOptions(), Floor(None, None)),  # first night: everything
        (500, PlanOptions(), Floor(500, NOW - timedelta(days=14))),
        (500, PlanOptions(recheck_days=3), Floor(500, NOW - timedelta(days=3))),
        (500, PlanOptions(force=True), Floor(None, None)),
        (500, PlanOptions(since=NOW - timedelta(days=60)), Floor(None, NOW - timedelta(days=60))),
        (None, PlanOptions(since=NOW - timedelta(days=1)), Floor(None, NOW - timedelta(days=1))),
    ],
)
def test_listing_floor(watermark, options, floor):
    assert listing_floor(watermark, options, NOW) == floor


def test_floor_is_reached_only_past_both_the_watermark_and_the_window():
    floor = Floor(100, NOW - timedelta(days=14))
    assert not floor.reached(order(101, days_ago=40))  # new since the last run, however old
    assert not floor.reached(order(99, days_ago=2))  # recent: may still be paid or edited
    assert floor.reached(order(99, days_ago=20))
    assert not Floor(None, None).reached(order(1, days_ago=9999))
    assert not floor.reached(Order.from_json({"_id": "a" * 24, "orderId": 5}))  # no date


def test_judge():
    o = order(1, days_ago=2)
    facts = {**order_facts(o), "entry:Body": ["Red"]}
    before = printed(o, **{"entry:Body": ["Red"]})
    recheck = Candidate(0, o, PlanReason.RECHECK, before)
    assert not judge(recheck, facts, fingerprint(facts)).print
    edited = {**facts, "entry:Body": ["Blue"]}
    assert judge(recheck, edited, fingerprint(edited)).revised == ("Body",)
    forced = Candidate(0, o, PlanReason.FORCE, before)
    assert judge(forced, facts, fingerprint(facts)).print
    assert judge(forced, facts, fingerprint(facts)).revised == ()
    new = Candidate(0, o, PlanReason.NEW, None)
    assert judge(new, facts, fingerprint(facts)).print
    failed_before = Candidate(0, o, PlanReason.RETRY, printed(o, TicketStatus.FAILED))
    assert judge(failed_before, edited, fingerprint(edited)).revised == ()


def test_filtered_runs_do_not_move_the_watermark():
    assert PlanOptions(statuses=("pending",)).filtered
    assert PlanOptions(until=NOW).filtered
    assert not PlanOptions(force=True, include_trial=True).filtered


def test_tickets_still_owed_to_the_printer_are_sent_first_or_in_their_orders_turn():
    recent, old, gone = order(10, days_ago=1), order(3), order(2)
    remembered = {o.api_id: printed(o) for o in (recent, old)}
    owed = [Owed(f"/print/order-{o.number}.pdf", o.api_id, o.number, o.name, "/print/m.json")
            for o in (recent, old, gone)]  # fmt: skip
    result = plan([recent, old], remembered, {}, PlanOptions(), NOW, owed=owed)
    (candidate,) = result.candidates  # recent: re-checked tonight, may get a new ticket
    assert candidate.order == recent and candidate.owed == owed[0]
    assert [t.number for t in result.backlog] == [2, 3]  # not looked at: sent first, in order
    assert plan([recent], remembered, {}, PlanOptions(), NOW).backlog == []  # no --print


def test_shards_share_out_every_order_exactly_once():
    orders = [order(n) for n in range(1, 41)] + [order(41, trial=True)]
    owners: Counter[int] = Counter()
    for k in range(3):
        result = plan(orders, {}, {}, PlanOptions(shard=Shard(k, 3)), NOW)
        mine = [o.number for o in orders if o.number % 3 == k]
        assert sorted(fates(result)) == mine  # its own orders get their fates, and only those
        assert result.counts[Count.OTHER_SHARDS] == len(orders) - len(mine)
        assert result.highest_number == 41  # it saw every order: its watermark holds
        owners.update(c.order.number for c in result.candidates)
    assert owners == Counter(range(1, 41))


def test_a_shard_is_k_of_n():
    assert Shard.parse("1/3") == Shard(1, 3) and str(Shard(1, 3)) == "1/3"
    for bad in ("3/3", "1", "a/b", "-1/3", "0/0", "1/3/4", ""):
        with pytest.raises(ValueError):
            Shard.parse(bad)
