"""The station's pages through Flask's test client, against the sandbox: what a worker
at the counter sees for what they type or scan."""

from __future__ import annotations

import copy
import io
import socket
from urllib.parse import quote

import pytest
from PIL import Image

from prodsheets.sandbox import Sandbox
from prodsheets.station import Patience

import pages
import pdfcheck
from stations import ORDER_1004, WATCH, change_1004, station_app

GUITAR = "5e74283608310f0017000007"  # item 1 of #1004
BANNER = (
    "INCOMPLETE — this ticket does not show everything that was ordered. Check before building:"
)


@pytest.fixture(scope="module")
def station(tmp_path_factory, shared_sandbox):
    """One station over the read-only sandbox for the tests that change nothing."""
    tmp = tmp_path_factory.mktemp("station")
    app, desk = station_app(shared_sandbox, tmp / "out", tmp / "cache")
    yield app.test_client()
    desk.close()


def open_page(client, url: str, status: int = 200) -> pages.Page:
    response = client.get(url, follow_redirects=True)
    assert response.status_code == status, response.text
    assert "Traceback" not in response.text
    return pages.read(response.text)


def ticket_codes(client, page: pages.Page, tmp_path) -> list[str]:
    """Download the page's ticket and read its QR codes, as a scanner reads the paper."""
    response = client.get(page.link("Download PDF"))
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment")
    path = tmp_path / "ticket.pdf"
    path.write_bytes(response.data)
    return [code for codes in pdfcheck.qr_codes(path) for code in codes]


def test_home_page_has_the_box_a_scanner_types_into(station):
    response = station.get("/")
    page = pages.read(response.text)
    assert response.status_code == 200
    assert '<label for="q">Order or QR code</label>' in response.text
    assert 'id="q" name="q"' in response.text and "autofocus" in response.text
    assert page.forms[0]["action"] == "/find" and page.forms[0]["method"] == "get"
    assert page.link("Nightly runs") == "/runs"


@pytest.mark.parametrize(
    ("typed", "lands_on"),
    [
        ("1001", "/orders/1001"),
        (" #1001 ", "/orders/%231001"),
        ("5e69254b714841168b8d9825", "/orders/5e69254b714841168b8d9825"),
        (f"prodsheets:order={ORDER_1004};item=2;design={WATCH};v=25421003",
         f"/scan/{ORDER_1004}/2/25421003"),
        (f"http://station.local:8080/scan/{ORDER_1004}/1/48d79915",
         f"/scan/{ORDER_1004}/1/48d79915"),
        (f"https://shop.example/station/scan/{ORDER_1004}/1", f"/scan/{ORDER_1004}/1"),
        ("", "/"),
    ],
)  # fmt: skip
def test_what_was_typed_or_scanned_leads_to_its_page(station, typed, lands_on):
    response = station.get("/find", query_string={"q": typed})
    assert response.status_code == 302
    assert response.headers["Location"] == lands_on


@pytest.mark.parametrize("name", ["#1003", "#1005", "#W-2041"])
def test_order_page_shows_everything_ordered(station, sample_orders, sample_designs, name):
    order = next(o for o in sample_orders if o["eCommerceOrderName"] == name)
    page = open_page(station, f"/orders/{quote(name)}")
    count = len(order["items"])
    assert page.text.startswith("prodsheets station acme-custom")
    assert f" {name} " in page.text and f"Status {order['status']}" in page.text
    assert f"Date {order['date'][:10]}" in page.text
    assert "INCOMPLETE" not in page.text
    for k, item in enumerate(order["items"], 1):
        design = sample_designs[item["design"]]
        assert f"Item {k} of {count} Qty {item['quantity']} {design['productName']}" in page.text
        for entry in design["productionData"]:
            shown = entry["value"]
            if shown.startswith("https://"):  # an uploaded image: its picture and file name
                shown = shown.rsplit("/", 1)[-1]
            assert pages.squash(f"{entry['key']} {shown}") in page.text
        for choice in (design.get("configuration") or {}).values():
            for view in choice.get("views", []) if isinstance(choice, dict) else []:
                if view.get("type") == "text":
                    assert pages.squash(f"{choice['name']} {view['text']}") in page.text
                if view.get("type") == "logo":
                    assert view["logo"]["originalFilename"] in page.text
    thumbnails = [src for src, _ in page.images if src.startswith("/assets/")]
    assert len(thumbnails) >= count
    for src in thumbnails:
        image = station.get(src)
        assert image.status_code == 200 and image.mimetype in ("image/png", "image/jpeg")
        assert "private" in image.headers["Cache-Control"]
        assert Image.open(io.BytesIO(image.data)).size[0] > 10


def test_preview_is_the_ticket_pdf_page_by_page(station, tmp_path):
    page = open_page(station, f"/orders/{ORDER_1004}")
    previews = [(src, alt) for src, alt in page.images if "/page-" in src]
    assert [alt for _, alt in previews] == ["Ticket page 1 of 2", "Ticket page 2 of 2"]
    pdf = tmp_path / "ticket.pdf"
    pdf.write_bytes(station.get(page.link("Download PDF")).data)
    assert pdfcheck.page_count(pdf) == 2
    for n, (src, _) in enumerate(previews, 1):
        png = station.get(src)
        assert png.status_code == 200 and png.mimetype == "image/png"
        assert Image.open(io.BytesIO(png.data)).size == (827, 1170)  # A4 at 100 dpi
        assert "#1004" in pdfcheck.page_texts(pdf)[n - 1]
    missing = src.replace("page-2.png", "page-3.png").split("?")[0]
    assert station.get(missing).status_code == 404


def test_an_incomplete_ticket_says_what_is_missing_in_the_banners_words(
    sandbox, make_station, tmp_path
):
    sandbox.data.assets.pop("logo-bakery.png")  # #1005's logo is gone from the CDN
    client = make_station(sandbox).test_client()
    page = open_page(client, "/orders/1005")
    assert BANNER in page.text
    problem = page.text.split(BANNER)[1]  # the banner's list follows its words
    assert problem.startswith(" item 1 of 1: logo ") and "missing: HTTP 404 from the" in problem
    assert "LOGO MISSING — HTTP 404 from the server" in page.text
    pdf = tmp_path / "1005.pdf"
    pdf.write_bytes(client.get(page.link("Download PDF")).data)
    ticket = pdfcheck.text(pdf)
    assert "INCOMPLETE" in ticket
    shown = page.text.split(BANNER)[1].split(" Item 1 of 1")[0].strip()
    assert pdfcheck.compact(shown) in pdfcheck.compact(ticket)  # the same words as the paper


def test_scan_current_then_out_of_date_after_the_order_changes(sandbox, make_station, tmp_path):
    client = make_station(sandbox).test_client()
    first, second = ticket_codes(client, open_page(client, "/orders/1004"), tmp_path)
    page = open_page(client, f"/find?q={quote(second)}")
    assert "Current ticket The ticket you scanned (#1004 item 2 of 2)" in page.text
    assert "Out of date" not in page.text

    order = change_1004(sandbox, 5, case="Rose gold")
    page = open_page(client, f"/find?q={quote(second)}")
    assert "Out of date #1004 item 2 of 2 changed quantity, Case; print the new ticket" in page.text
    assert "Item 2 of 2 scanned Qty 5 Engraved Watch" in page.text and "Case Rose gold" in page.text
    assert page.link("Download the new ticket") == page.link("Download PDF")
    assert "No printer is set up" in page.text
    assert "Current ticket" in open_page(client, f"/find?q={quote(first)}").text  # item 1 is

    order["items"] = order["items"][:1]
    sandbox.replace_order(order)
    page = open_page(client, f"/find?q={quote(second)}")
    assert "#1004 has no item 2 any more (1 item now); discard this ticket" in page.text


def test_station_url_codes_and_codes_without_a_version(sandbox, make_station, tmp_path):
    template = "http://station.local:8080/scan/{order_id}/{item}/{version}"
    client = make_station(sandbox, qr_template=template).test_client()
    codes = ticket_codes(client, open_page(client, "/orders/1004"), tmp_path)
    assert codes[0].startswith(f"http://station.local:8080/scan/{ORDER_1004}/1/")
    path = codes[0].removeprefix("http://station.local:8080")
    assert "Current ticket" in open_page(client, path).text  # a phone camera opens the URL
    old = open_page(client, f"/find?q={quote(f'prodsheets:order={ORDER_1004};item=1;design=x')}")
    assert "Cannot tell whether this ticket is current this code carries no version" in old.text
    assert "Item 1 of 2" in old.text  # the order is shown all the same


@pytest.mark.parametrize(
    ("typed", "status", "says"),
    [
        ("hello", 404, "Order not found no order named 'hello'"),
        ("99999", 404, "no order with orderId 99999 (for a shop order name, use '#99999')"),
        ("f" * 24, 404, f"order {'f' * 24} not found (404)"),
        ("#", 400, "Not an order or ticket code '#' does not name an order"),
        ("http://example.com/x", 400, "'http://example.com/x' is not a prodsheets ticket code"),
        ("prodsheets:order=;item=1", 400, "is not a prodsheets ticket code"),
    ],
)
def test_unknown_input_says_so_on_the_page(station, typed, status, says):
    page = open_page(station, f"/find?q={quote(typed)}", status)
    assert says in page.text
    assert "Order or QR code" in page.text  # the next scan can go straight in


def test_a_slow_api_gives_a_readable_message_not_a_hung_page(make_sandbox, make_station):
    slow = make_sandbox(latency_ms=3000)
    client = make_station(slow, patience=Patience(connect=1, read=0.2, retries=0)).test_client()
    page = open_page(client, "/orders/1001", 504)
    assert "The MyCustomizer API did not answer cannot reach the API at" in page.text
    assert "(no answer in time) after 1 attempts" in page.text


def test_a_down_api_or_a_refused_token_gives_a_readable_message(make_station, sandbox):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    down = make_station(sandbox, api_url=closed, patience=Patience(retries=0)).test_client()
    assert "(connection refused)" in open_page(down, "/orders/1001", 504).text
    refused = make_station(sandbox, token="not-the-token").test_client()
    page = open_page(refused, "/orders/1001", 502)
    assert "the API refused the token (401 Invalid credentials)" in page.text


def test_customer_text_shows_as_text_everywhere(sandbox, make_station):
    xss = "<img src=x onerror=alert(1)>"
    design = copy.deepcopy(sandbox.designs_by_id[GUITAR])
    design["productName"] = f"Guitar {xss}"
    design["productionData"][0]["value"] = xss
    design["productionData"][1]["key"] = "<script>alert(2)</script>"
    sandbox.replace_design(design)
    order = copy.deepcopy(sandbox.orders_by_id[ORDER_1004])
    order["eCommerceOrderName"] = f"#1004 {xss}"
    sandbox.replace_order(order)
    response = make_station(sandbox).test_client().get(f"/orders/{ORDER_1004}")
    page = pages.read(response.text)
    assert response.status_code == 200
    assert f"Body material {xss}" in page.text and f"Guitar {xss}" in page.text
    assert f"#1004 {xss}" in page.text and "<script>alert(2)</script> Black" in page.text
    assert "x" not in [src for src, _ in page.images]
    assert page.tags.count("script") == 1  # the station's own station.js, nothing else
    assert "&lt;img src=x onerror=alert(1)&gt;" in response.text


def test_an_unexpected_failure_is_a_plain_page(make_station, sandbox, monkeypatch):
    app = make_station(sandbox)
    desk = app.extensions["prodsheets.station"].desk

    def broken(ref):
        raise RuntimeError(f"internal detail {desk.settings.token}")

    monkeypatch.setattr(desk, "open_order", broken)
    response = app.test_client().get("/orders/1001")
    assert response.status_code == 500
    assert "Station error Something went wrong on the station." in pages.read(response.text).text
    assert "internal detail" not in response.text and sandbox.token not in response.text


def test_the_api_token_never_reaches_the_browser(make_sandbox, make_station, tmp_path):
    secret = "tok-9f8e7d6c5b4a-never-shown"
    server: Sandbox = make_sandbox(token=secret)
    client = make_station(server).test_client()
    seen = []

    def get(url: str, status: int | None = None):
        response = client.get(url)
        seen.append(response)
        assert status is None or response.status_code == status, url
        return response

    page = pages.read(get("/orders/1004", 200).text)
    codes = ticket_codes(client, page, tmp_path)
    for url in [src for src, _ in page.images] + [page.link("Download PDF")]:
        get(url, 200)
    for url in ["/", "/find?q=1004", f"/find?q={quote(codes[0])}", "/runs", "/nope",
                "/orders/99999", "/find?q=%23", "/tickets/nope.pdf"]:  # fmt: skip
        get(url)
    seen.append(client.post("/"))  # 405
    for response in seen:
        assert secret.encode() not in response.data
        assert all(secret not in value for _, value in response.headers)
    cookie = client.get_cookie("prodsheets_station")
    assert cookie is None or secret not in cookie.decoded_value
