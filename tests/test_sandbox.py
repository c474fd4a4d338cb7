"""The sandbox answers as the vendor's documentation says (raw HTTP, no client)."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest
import requests

from prodsheets.sandbox import DEFAULT_BRAND, DEFAULT_TOKEN

AUTH = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}


def get(server, path, auth=True, **params):
    return requests.get(
        f"{server.url}{path}", headers=AUTH if auth else {}, params=params, timeout=5
    )


def test_orders_listing_shape_and_defaults(shared_sandbox, sample_orders):
    response = get(shared_sandbox, f"/brands/{DEFAULT_BRAND}/orders")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"pagination", "results"}
    assert body["pagination"] == {
        "collectionSize": len(sample_orders),
        "resultSize": len(sample_orders),
        "lastIndex": len(sample_orders),
        "sortOrder": "descending",
        "sortKey": "orderId",
    }
    ids = [o["orderId"] for o in body["results"]]
    assert ids == sorted(ids, reverse=True)
    assert set(body["results"][0]) >= {
        "_id",
        "items",
        "eCommerceOrderName",
        "paymentStatus",
        "trial",
    }


def test_default_page_is_25(make_sandbox):
    from prodsheets.synthetic import World, synthetic_dataset

    server = make_sandbox(synthetic_dataset(30, seed=4, world=World.SHARED))
    body = get(server, f"/brands/{DEFAULT_BRAND}/orders").json()
    assert body["pagination"]["resultSize"] == 25
    body = get(server, f"/brands/{DEFAULT_BRAND}/orders", lastIndex=25).json()
    assert body["pagination"]["resultSize"] == 5
    assert body["pagination"]["lastIndex"] == 30


def test_echo_pagination_echoes_the_request(make_sandbox):
    server = make_sandbox(pagination="echo")
    body = get(server, f"/brands/{DEFAULT_BRAND}/orders", count=3, lastIndex=3).json()
    assert body["pagination"]["lastIndex"] == 3
    assert body["pagination"]["resultSize"] == 3
    first = get(server, f"/brands/{DEFAULT_BRAND}/orders", count=3).json()
    assert first["pagination"]["lastIndex"] == 0


def test_designs_default_ascending_and_backwards(shared_sandbox):
    up = get(shared_sandbox, f"/brands/{DEFAULT_BRAND}/designs").json()
    ids = [d["designId"] for d in up["results"]]
    assert ids == sorted(ids)
    down = get(shared_sandbox, f"/brands/{DEFAULT_BRAND}/designs", backwards="true").json()
    assert [d["designId"] for d in down["results"]] == ids[::-1]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"count": "0"}, "Bad request param"),
        ({"count": "abc"}, "Bad request param"),
        ({"lastIndex": "999"}, "Bad request param"),
        ({"sortOrder": "dsfdsdf"}, "Invalid sort value: { orderId: dsfdsdf }"),
        ({"sortKey": "price"}, "Invalid sort value: { price: descending }"),
    ],
)
def test_bad_params_are_500(shared_sandbox, params, message):
    response = get(shared_sandbox, f"/brands/{DEFAULT_BRAND}/orders", **params)
    assert response.status_code == 500
    assert response.text == message


def test_auth_brand_and_not_found(shared_sandbox):
    no_auth = get(shared_sandbox, f"/brands/{DEFAULT_BRAND}/orders", auth=False)
    assert (no_auth.status_code, no_auth.text) == (401, "Invalid credentials")
    wrong = requests.get(
        f"{shared_sandbox.url}/brands/{DEFAULT_BRAND}/orders",
        headers={"Authorization": "Bearer nope"},
        timeout=5,
    )
    assert wrong.status_code == 401
    brand = get(shared_sandbox, "/brands/other/designs")
    assert (brand.status_code, brand.text) == (404, "Trying to launch invalid tenant.")
    missing = get(shared_sandbox, f"/brands/{DEFAULT_BRAND}/orders/ffffffffffffffffffffffff")
    assert (missing.status_code, missing.text) == (404, "Not Found")


def test_serves_assets_and_rewrites_cdn_links(shared_sandbox):
    design = get(shared_sandbox, f"/brands/{DEFAULT_BRAND}/designs/5e74283608310f001714de63").json()
    url = design["designImage"]["url"]
    assert url.startswith(shared_sandbox.url + "/cdn/")
    image = requests.get(url, timeout=5)
    assert image.status_code == 200
    assert image.headers["Content-Type"] == "image/png"
    assert image.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert requests.get(shared_sandbox.url + "/cdn/nope.png", timeout=5).status_code == 404


def test_cli_sandbox_serves_the_documented_curl(tmp_path):
    """`prodsheets sandbox` as a user starts it, answered as the docs show."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "prodsheets.cli", "sandbox", "--port", "0"],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stderr.readline()
        assert "MyCustomizer sandbox on http://127.0.0.1:" in line
        base = re.search(r"(http://[\d.]+:\d+)", line).group(1)
        deadline = time.time() + 10
        while True:
            try:
                response = requests.get(
                    f"{base}/brands/{DEFAULT_BRAND}/orders", headers=AUTH, timeout=2
                )
                break
            except requests.ConnectionError:
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
        assert response.status_code == 200
        assert response.json()["pagination"]["collectionSize"] >= 8
    finally:
        proc.terminate()
        proc.wait(timeout=10)
