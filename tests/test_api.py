"""The API client against the sandbox over real loopback HTTP."""

from __future__ import annotations

import logging
import socket

import pytest
import requests

from prodsheets.api import ApiClient, _retry_after_seconds
from prodsheets.errors import (
    ApiUnreachable,
    AuthError,
    BadResponse,
    NotFoundError,
    ServerError,
    WrongBrandError,
)
from prodsheets.sandbox import DEFAULT_BRAND, DEFAULT_TOKEN, SandboxData
from prodsheets.synthetic import World, synthetic_dataset

SECRET = "s3cr3t-token-must-never-show"


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client_for(server, *, token=DEFAULT_TOKEN, brand=DEFAULT_BRAND, **kw) -> ApiClient:
    kw.setdefault("sleep", Sleeps())
    return ApiClient(server.url, brand, token, **kw)


def test_get_order_and_design_by_id(shared_sandbox, sample_orders):
    client = client_for(shared_sandbox)
    order = client.get_order("5e69254b714841168b8d9825")
    assert order.name == "#1001"
    assert order.number == 1001
    assert order.payment_status == "paid"
    assert [(i.quantity, i.design_api_id) for i in order.items] == [(1, "5e74283608310f001714de63")]
    design = client.get_design("5e74283608310f001714de63")
    assert design.product_name == "Custom Guitar"
    assert [e.key for e in design.production_data][:2] == ["Body material", "Pickguard material"]
    assert design.design_image is not None
    assert design.design_image.url.startswith(shared_sandbox.url + "/cdn/")


def test_iter_orders_default_is_descending_by_order_id(shared_sandbox, sample_orders):
    ids = [o.number for o in client_for(shared_sandbox).iter_orders(count=3)]
    assert ids == sorted((o["orderId"] for o in sample_orders), reverse=True)


def test_iter_orders_ascending_and_by_date(shared_sandbox, sample_orders):
    client = client_for(shared_sandbox)
    ascending = [o.number for o in client.iter_orders("orderId", "ascending", count=4)]
    assert ascending == sorted(o["orderId"] for o in sample_orders)
    by_date = [o.date for o in client.iter_orders("date", "ascending", count=4)]
    assert by_date == sorted(by_date)


def test_iter_designs_ascending_and_backwards(shared_sandbox, sample_designs):
    client = client_for(shared_sandbox)
    forward = [d.number for d in client.iter_designs(count=2)]
    assert forward == sorted(d["designId"] for d in sample_designs.values())
    assert [d.number for d in client.iter_designs(backwards=True, count=4)] == forward[::-1]


@pytest.mark.parametrize("style", ["offset", "echo"])
@pytest.mark.parametrize("count", [1, 7, 25, 500])
def test_pagination_both_readings_yield_each_order_once(make_sandbox, style, count):
    data = synthetic_dataset(53, seed=3, world=World.SHARED)
    server = make_sandbox(data, pagination=style)
    orders = list(client_for(server).iter_orders(count=count))
    ids = [o.api_id for o in orders]
    assert len(ids) == 53
    assert len(set(ids)) == 53
    expected_pages = -(-53 // count)
    listing_hits = server.hits[f"/brands/{DEFAULT_BRAND}/orders"]
    assert listing_hits == expected_pages


def test_pagination_stops_on_a_server_that_ignores_the_offset(make_sandbox, monkeypatch):
    """A page that repeats must not loop forever nor yield duplicates."""
    server = make_sandbox(synthetic_dataset(30, seed=2, world=World.SHARED))
    client = client_for(server)
    original = client.session.get

    def ignore_offset(url, params=None, **kw):
        params = {k: v for k, v in (params or {}).items() if k != "lastIndex"}
        return original(url, params=params, **kw)

    monkeypatch.setattr(client.session, "get", ignore_offset)
    orders = list(client.iter_orders(count=10))
    assert len(orders) == 10
    assert server.hits[f"/brands/{DEFAULT_BRAND}/orders"] == 2


def test_empty_collection(make_sandbox):
    server = make_sandbox(SandboxData(orders=[], designs=[]))
    assert list(client_for(server).iter_orders()) == []


def test_retries_503_then_succeeds_honouring_retry_after(sandbox):
    sandbox.inject(503, times=2, retry_after="2")
    sleeps = Sleeps()
    order = client_for(sandbox, sleep=sleeps).get_order("5e69254b714841168b8d9825")
    assert order.name == "#1001"
    assert sleeps == [2.0, 2.0]


def test_retries_429_and_gateway_errors_with_backoff(sandbox):
    sandbox.inject(429, times=1)
    sandbox.inject(502, times=1)
    sandbox.inject(504, times=1)
    sleeps = Sleeps()
    client = client_for(sandbox, sleep=sleeps, backoff=0.1)
    assert client.get_design("5e74283608310f001714de63").number == 2
    assert len(sleeps) == 3
    assert sleeps[0] < sleeps[2]  # exponential


def test_gives_up_after_retries_with_server_message(sandbox):
    sandbox.inject(503, times=10, body="maintenance until 3am")
    sleeps = Sleeps()
    with pytest.raises(ServerError) as err:
        client_for(sandbox, sleep=sleeps, retries=3).get_order("5e69254b714841168b8d9825")
    assert "503" in str(err.value)
    assert "maintenance until 3am" in str(err.value)
    assert "after 4 attempts" in str(err.value)
    assert len(sleeps) == 3


def test_401_and_404_are_never_retried(sandbox):
    sleeps = Sleeps()
    with pytest.raises(AuthError) as err:
        client_for(sandbox, token="wrong", sleep=sleeps).get_order("5e69254b714841168b8d9825")
    assert "Invalid credentials" in str(err.value)
    assert "PRODSHEETS_TOKEN" in str(err.value)
    with pytest.raises(NotFoundError) as err:
        client_for(sandbox, sleep=sleeps).get_order("000000000000000000000000")
    assert "not found" in str(err.value)
    assert sleeps == []
    assert sandbox.hits[f"/brands/{DEFAULT_BRAND}/orders/000000000000000000000000"] == 1


def test_wrong_brand_is_its_own_error(shared_sandbox):
    client = client_for(shared_sandbox, brand="acme-typo")
    with pytest.raises(WrongBrandError) as err:
        list(client.iter_orders())
    assert not isinstance(err.value, NotFoundError)  # a missing design is something else
    with pytest.raises(WrongBrandError):
        client.get_design("5e74283608310f001714de63")
    message = str(err.value)
    assert "brand 'acme-typo'" in message
    assert "Trying to launch invalid tenant." in message
    assert "PRODSHEETS_BRAND" in message


def test_500_bad_request_param_is_not_retried(sandbox, monkeypatch):
    client = client_for(sandbox)
    with pytest.raises(ServerError) as err:
        client._get_json("orders", params={"count": "0"}, what="orders")
    assert "Bad request param" in str(err.value)
    with pytest.raises(ServerError) as err:
        list(client.iter_orders(sort_order="dsfdsdf"))
    assert "Invalid sort value: { orderId: dsfdsdf }" in str(err.value)
    assert client._sleep == []


def test_unreachable_api():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sleeps = Sleeps()
    client = ApiClient(f"http://127.0.0.1:{port}", "b", SECRET, sleep=sleeps, retries=2)
    with pytest.raises(ApiUnreachable) as err:
        client.get_order("5e69254b714841168b8d9825")
    assert "connection refused" in str(err.value)
    assert "after 3 attempts" in str(err.value)
    assert SECRET not in str(err.value)
    assert len(sleeps) == 2


def test_not_json_is_a_bad_response(sandbox):
    sandbox.inject(200, body="<html>login page</html>")
    with pytest.raises(BadResponse) as err:
        client_for(sandbox).get_order("5e69254b714841168b8d9825")
    assert "not JSON" in str(err.value)


def test_wrong_shape_is_a_bad_response(sandbox):
    sandbox.inject(200, body='["not", "an", "order"]')
    with pytest.raises(BadResponse):
        client_for(sandbox).get_order("5e69254b714841168b8d9825")
    sandbox.inject(200, body='{"results": "nope"}')
    with pytest.raises(BadResponse):
        list(client_for(sandbox).iter_orders())


def test_token_never_in_repr_messages_or_logs(sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    client = ApiClient(sandbox.url, DEFAULT_BRAND, SECRET, sleep=Sleeps())
    assert SECRET not in repr(client)
    sandbox.inject(503, times=1)
    with pytest.raises(AuthError) as err:
        client.get_order("5e69254b714841168b8d9825")
    assert SECRET not in str(err.value)
    assert SECRET not in caplog.text
    assert SECRET not in repr(err.value)


def test_every_request_has_a_timeout(shared_sandbox, monkeypatch):
    seen = []
    session = requests.Session()
    original = session.get

    def spy(url, **kw):
        seen.append(kw.get("timeout"))
        return original(url, **kw)

    monkeypatch.setattr(session, "get", spy)
    client = ApiClient(shared_sandbox.url, DEFAULT_BRAND, DEFAULT_TOKEN, session=session)
    list(client.iter_orders(count=3))
    client.get_design("5e74283608310f001714de63")
    assert seen and all(isinstance(t, tuple) and len(t) == 2 and all(t) for t in seen)


def test_read_timeout_is_unreachable(make_sandbox):
    server = make_sandbox(latency_ms=400)
    client = client_for(server, timeout=(1.0, 0.05), retries=1)
    with pytest.raises(ApiUnreachable) as err:
        client.get_order("5e69254b714841168b8d9825")
    assert "no answer in time" in str(err.value)


@pytest.mark.parametrize(
    ("header", "expected"),
    [("3", 3.0), ("0", 0.0), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0), ("soon", None), (None, None)],
)
def test_retry_after_parsing(header, expected):
    assert _retry_after_seconds(header) == expected
