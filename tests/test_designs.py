"""The one design source: each design fetched once, missing ones named, the rest raised."""

from __future__ import annotations

import copy
import threading

import pytest

from prodsheets.api import ApiClient
from prodsheets.designs import DesignMissing, DesignSource
from prodsheets.errors import AuthError, ServerError, WrongBrandError
from prodsheets.models import Design, Order
from prodsheets.sandbox import DEFAULT_BRAND, DEFAULT_TOKEN

GUITAR = "5e74283608310f001714de63"
WATCH = "5e74283608310f0017000003"


def client_for(server, **kw) -> ApiClient:
    return ApiClient(server.url, kw.pop("brand", DEFAULT_BRAND), kw.pop("token", DEFAULT_TOKEN),
                     retries=0, **kw)  # fmt: skip


def order_with(*design_ids: str) -> Order:
    return Order.from_json(
        {"_id": "a" * 24, "orderId": 1, "items": [{"quantity": 1, "design": d} for d in design_ids]}
    )


def test_each_design_is_fetched_once(sandbox):
    source = DesignSource(client_for(sandbox).get_design)
    first = source.for_order(order_with(GUITAR, WATCH, GUITAR))
    second = source.for_order(order_with(WATCH))
    assert isinstance(first[GUITAR], Design) and first[WATCH] is second[WATCH]
    assert sandbox.hits[f"/brands/{DEFAULT_BRAND}/designs/{GUITAR}"] == 1
    assert sandbox.hits[f"/brands/{DEFAULT_BRAND}/designs/{WATCH}"] == 1


def test_concurrent_orders_share_one_fetch(make_sandbox):
    server = make_sandbox(latency_ms=100)
    source = DesignSource(client_for(server).get_design)
    threads = [threading.Thread(target=source.for_order, args=(order_with(GUITAR),))
               for _ in range(8)]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert server.hits[f"/brands/{DEFAULT_BRAND}/designs/{GUITAR}"] == 1


def test_missing_designs_are_named_not_raised(sandbox):
    found = DesignSource(client_for(sandbox).get_design).for_order(order_with(GUITAR, "f" * 24, ""))
    assert found["f" * 24] == DesignMissing(
        "f" * 24, f"design {'f' * 24} does not exist (the API answered 404)"
    )
    assert found[""].reason == "the API gave no design id for this item"
    assert isinstance(found[GUITAR], Design)


@pytest.mark.parametrize(
    ("setup", "error"),
    [
        (lambda s: s.inject(503, times=10, path_contains="/designs/"), ServerError),
        (lambda s: None, AuthError),
        (lambda s: None, WrongBrandError),
    ],
)
def test_anything_but_a_404_is_raised(sandbox, setup, error):
    setup(sandbox)
    options = {"token": "wrong"} if error is AuthError else {}
    options |= {"brand": "acme-typo"} if error is WrongBrandError else {}
    source = DesignSource(client_for(sandbox, **options).get_design)
    with pytest.raises(error):
        source.for_order(order_with(GUITAR))


def test_released_designs_are_forgotten(sandbox):
    source = DesignSource(client_for(sandbox).get_design)
    orders = [order_with(GUITAR), order_with(GUITAR, WATCH)]
    source.expect(orders)
    source.for_order(orders[0])
    source.release(orders[0])
    source.for_order(orders[1])  # still wanted: not fetched again
    assert sandbox.hits[f"/brands/{DEFAULT_BRAND}/designs/{GUITAR}"] == 1
    source.release(orders[1])
    changed = copy.deepcopy(sandbox.designs_by_id[GUITAR])
    changed["productName"] = "Custom Bass"
    sandbox.replace_design(changed)
    again = source.for_order(order_with(GUITAR))  # forgotten, so fetched afresh
    assert again[GUITAR].product_name == "Custom Bass"
