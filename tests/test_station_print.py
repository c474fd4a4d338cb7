"""Print ticket on the station, against a real IPP printer emulator and a real cupsd: what
the printer received, and what the page says."""

from __future__ import annotations

from test_printing import FakePrinter

from prodsheets.config import PrinterAddress
from prodsheets.errors import SendUncertain

import pages
import pdfcheck
from stations import change_1004

ORDER_1001 = "5e69254b714841168b8d9825"


def station_printing_to(make_station, sandbox, uri: str):
    return make_station(sandbox, printer=PrinterAddress.parse(uri)).test_client()


def print_form(client, url: str) -> tuple[pages.Page, dict]:
    page = pages.read(client.get(url).text)
    buttons = [b for f in page.forms for b in f["buttons"]]
    form = page.form_with("Print new ticket" if "Print new ticket" in buttons else "Print ticket")
    assert form["method"] == "post" and set(form["fields"]) == {"csrf_token", "print_key"}
    return page, form


def test_print_ticket_sends_the_ticket_as_it_is_now(sandbox, make_station, printer, tmp_path):
    client = station_printing_to(make_station, sandbox, printer.uri)
    page, form = print_form(client, "/orders/1001")
    assert f"Print ticket to {printer.uri}" in page.text and "No printer" not in page.text
    assert form["action"] == f"/orders/{ORDER_1001}/print"
    response = client.post(form["action"], data=form["fields"])
    assert (response.status_code, response.headers["Location"]) == (302, f"/orders/{ORDER_1001}")
    after = pages.read(client.get(response.headers["Location"]).text)
    assert f"Sent to {printer.uri} (job 1): order-1001.pdf" in after.text

    received = printer.received("order-1001.pdf")
    assert received.media == "iso_a4_210x297mm"
    assert received.attrs["job-originating-user-name"] == ["prodsheets"]
    ticket = tmp_path / "received.pdf"
    ticket.write_bytes(received.document.read_bytes())
    assert "#1001" in pdfcheck.text(ticket)
    (code,) = [c for codes in pdfcheck.qr_codes(ticket) for c in codes]
    assert code.startswith(f"prodsheets:order={ORDER_1001};item=1;")

    again = client.post(form["action"], data=form["fields"])  # a double click, a resent form
    assert again.status_code == 302
    told = pages.read(client.get(again.headers["Location"]).text).text
    assert f"Already sent to {printer.uri} (job 1): not sent again." in told
    assert len(printer.jobs()) == 1 and len(printer.documents()) == 1


def test_get_never_prints_and_a_post_needs_its_tokens(sandbox, make_station, printer):
    client = station_printing_to(make_station, sandbox, printer.uri)
    _, form = print_form(client, "/orders/1001")
    assert client.get(form["action"]).status_code == 405
    for missing in ("csrf_token", "print_key"):
        fields = {k: v for k, v in form["fields"].items() if k != missing}
        assert client.post(form["action"], data=fields).status_code == 400
    forged = {**form["fields"], "csrf_token": "forged"}
    assert client.post(form["action"], data=forged).status_code == 400
    assert printer.jobs() == [] and printer.documents() == []


def test_out_of_date_scan_offers_print_new_ticket(sandbox, make_station, printer, tmp_path):
    client = station_printing_to(make_station, sandbox, printer.uri)
    page = pages.read(client.get("/orders/1004").text)
    pdf = tmp_path / "old.pdf"
    pdf.write_bytes(client.get(page.link("Download PDF")).data)
    old = [c for codes in pdfcheck.qr_codes(pdf) for c in codes][1]
    change_1004(sandbox, 7)
    scanned = client.get("/find", query_string={"q": old}, follow_redirects=True)
    page, form = print_form(client, scanned.request.path)
    assert "Out of date #1004 item 2 of 2 changed quantity" in page.text
    assert "Print ticket" not in [b for f in page.forms for b in f["buttons"]]  # one button
    client.post(form["action"], data=form["fields"])
    new = tmp_path / "new.pdf"
    new.write_bytes(printer.received("order-1004.pdf").document.read_bytes())
    assert "Qty 7" in pdfcheck.text(new)
    rescanned = pages.read(client.get(
        "/find", query_string={"q": pdfcheck.qr_codes(new)[1][0]}, follow_redirects=True
    ).text)  # fmt: skip
    assert "Current ticket" in rescanned.text


def test_a_printer_that_is_off_or_takes_no_pdf_is_a_message(
    sandbox, make_station, print_servers, printer
):
    client = station_printing_to(make_station, sandbox, printer.uri)
    _, form = print_form(client, "/orders/1001")
    printer.stop()
    response = client.post(form["action"], data=form["fields"], follow_redirects=True)
    assert response.status_code == 200
    said = pages.read(response.text).text
    assert f"Not sent to {printer.uri}: " in said and "Item 1 of 1" in said
    printer.start()  # back on: the next press prints (the station gave up on nothing)
    _, form = print_form(client, "/orders/1001")
    response = client.post(form["action"], data=form["fields"], follow_redirects=True)
    assert f"Sent to {printer.uri} (job 1)" in pages.read(response.text).text

    raster_only = print_servers.printer(pdf=False)
    try:
        other = station_printing_to(make_station, sandbox, raster_only.uri)
        _, form = print_form(other, "/orders/1001")
        response = other.post(form["action"], data=form["fields"], follow_redirects=True)
        said = pages.read(response.text).text
        uri = raster_only.uri
        assert f"Not sent to {uri}: printer {uri} does not accept PDF" in said
        assert raster_only.documents() == []
    finally:
        raster_only.stop()


def test_a_send_that_may_have_reached_the_printer_says_so(sandbox, make_station):
    """The document went out, no answer came back: pressing again could print it twice."""
    fake = FakePrinter(fail=[SendUncertain("no answer from fake after the document went out",
                                           printer="fake")])  # fmt: skip
    app = make_station(sandbox, printer=PrinterAddress.parse("fake"),
                       printer_opener=lambda address, **options: fake)  # fmt: skip
    client = app.test_client()
    _, form = print_form(client, "/orders/1001")
    said = pages.read(client.post(form["action"], data=form["fields"],
                                  follow_redirects=True).text).text  # fmt: skip
    assert ("Perhaps sent to fake: no answer from fake after the document went out. Look at "
            "the printer before printing again.") in said  # fmt: skip
    assert "Not sent" not in said and fake.submitted == []


def test_printing_through_a_cups_queue(shared_sandbox, make_station, cups, printer):
    queue = cups.queue(printer)
    client = station_printing_to(make_station, shared_sandbox, queue)
    _, form = print_form(client, "/orders/1002")
    response = client.post(form["action"], data=form["fields"], follow_redirects=True)
    said = pages.read(response.text).text
    assert f"Sent to {queue} (job " in said and "order-1002.pdf" in said
    assert "Printer: printer " in said and "does not list its paper" in said  # a raw queue
    assert printer.received("order-1002.pdf").document.read_bytes().startswith(b"%PDF-")


def test_without_a_printer_there_is_no_print_button(shared_sandbox, make_station):
    client = make_station(shared_sandbox).test_client()
    page = pages.read(client.get("/orders/1001").text)
    assert "Print ticket" not in [b for f in page.forms for b in f["buttons"]]
    assert "No printer is set up" in page.text and "PRODSHEETS_PRINTER" in page.text
    assert client.post(f"/orders/{ORDER_1001}/print").status_code in (400, 404)
