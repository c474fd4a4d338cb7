"""IPP: the binary encoding (RFC 8010, ``ipp.py``) byte for byte, then the client
(``ipp_printer.py``) with canned answers and against the real printer emulator."""

from __future__ import annotations

import hashlib
import ssl
import struct
from datetime import UTC, datetime, timedelta, timezone

import pytest
import requests

from prodsheets.errors import (
    FormatRefused,
    JobRefused,
    PrinterNotFound,
    PrinterNotReady,
    PrinterUnreachable,
    PrinterUntrusted,
    SendUncertain,
)
from prodsheets.ipp import (
    Attribute,
    DecodeError,
    Op,
    OutOfBand,
    Resolution,
    Status,
    Tag,
    decode,
    encode,
    normalize_fingerprint,
)
from prodsheets.ipp_printer import IppClient, http_url, ipp_uri

from printers import free_port

PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]"
    b"/Count 1>>endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def field(tag: int, name: str, value: bytes) -> bytes:
    return bytes([tag]) + struct.pack(">H", len(name)) + name.encode() + struct.pack(
        ">H", len(value)
    ) + value  # fmt: skip


def response(status: int, *groups: tuple[int, bytes], data: bytes = b"") -> bytes:
    body = struct.pack(">bbHi", 1, 1, status, 1)
    for tag, attributes in groups:
        body += bytes([tag]) + attributes
    return body + b"\x03" + data


# -- encoding --------------------------------------------------------------------------


def test_a_request_is_laid_out_as_rfc_8010_says():
    body = encode(Op.PRINT_JOB, 7, [
        (Tag.OPERATION, [Attribute.of("attributes-charset", Tag.CHARSET, "utf-8")]),
        (Tag.JOB, [Attribute.of("copies", Tag.INTEGER, 2)]),
    ], data=b"%PDF-")  # fmt: skip
    assert body == (
        b"\x01\x01" b"\x00\x02" b"\x00\x00\x00\x07"  # version 1.1, Print-Job, request id 7
        b"\x01" + field(0x47, "attributes-charset", b"utf-8")
        + b"\x02" + field(0x21, "copies", b"\x00\x00\x00\x02")
        + b"\x03" b"%PDF-"
    )  # fmt: skip


def test_a_1setof_names_only_its_first_value():
    body = encode(0, 1, [(Tag.OPERATION, [
        Attribute.of("requested-attributes", Tag.KEYWORD, "printer-state", "media-supported"),
    ])])  # fmt: skip
    assert body[9:] == (
        field(0x44, "requested-attributes", b"printer-state")
        + field(0x44, "", b"media-supported") + b"\x03"
    )  # fmt: skip
    decoded = decode(body)
    assert decoded.group(Tag.OPERATION) == {
        "requested-attributes": ["printer-state", "media-supported"]
    }


def test_collections_nested_and_in_a_1setof_round_trip():
    size = Attribute.of("media-size", Tag.BEGIN_COLLECTION, (
        Attribute.of("x-dimension", Tag.INTEGER, 21000),
        Attribute.of("y-dimension", Tag.INTEGER, 29700),
    ))  # fmt: skip
    media_col = Attribute.of(
        "media-col",
        Tag.BEGIN_COLLECTION,
        (size, Attribute.of("media-source", Tag.KEYWORD, "main")),
        (Attribute.of("media-type", Tag.KEYWORD, "labels", "stationery"),),
    )
    body = encode(0, 1, [(Tag.JOB, [media_col])])  # fmt: skip
    assert body[9:].startswith(
        field(0x34, "media-col", b"") + field(0x4A, "", b"media-size") + field(0x34, "", b"")
        + field(0x4A, "", b"x-dimension") + field(0x21, "", b"\x00\x00\x52\x08")
    )  # fmt: skip
    assert decode(body).group(Tag.JOB) == {
        "media-col": [
            {"media-size": [{"x-dimension": [21000], "y-dimension": [29700]}],
             "media-source": ["main"]},
            {"media-type": ["labels", "stationery"]},
        ]
    }  # fmt: skip


def test_out_of_band_values_have_no_bytes_and_decode_as_what_they_say():
    body = encode(0, 1, [(Tag.PRINTER, [
        Attribute.of("printer-info", Tag.NO_VALUE, None),
        Attribute.of("printer-location", Tag.UNKNOWN, None),
    ])])  # fmt: skip
    assert field(0x13, "printer-info", b"") in body
    assert decode(body).group(Tag.PRINTER) == {
        "printer-info": [OutOfBand.NO_VALUE], "printer-location": [OutOfBand.UNKNOWN],
    }  # fmt: skip


def test_other_value_types_decode():
    moment = datetime(2026, 11, 27, 5, 39, 40, 300_000, tzinfo=timezone(timedelta(hours=-5)))
    body = response(0, (0x04, (
        field(0x31, "printer-current-time", b"\x07\xea\x0b\x1b\x05\x27\x28\x03-\x05\x00")
        + field(0x32, "printer-resolution-default", struct.pack(">iib", 600, 300, 3))
        + field(0x33, "copies-supported", struct.pack(">ii", 1, 99))
        + field(0x35, "printer-info", b"\x00\x02fr\x00\x0cImprimante 1")
        + field(0x22, "printer-is-accepting-jobs", b"\x01")
        + field(0x30, "printer-firmware", b"\x00\xff")
        + field(0x7F, "vendor-thing", struct.pack(">I", 0x40001234) + b"ok")  # extension
        + field(0x23, "printer-state", b"\x00\x00\x00\x03")
    )))  # fmt: skip
    attrs = decode(body).group(Tag.PRINTER)
    assert attrs["printer-current-time"] == [moment]
    assert attrs["printer-resolution-default"] == [Resolution(600, 300, 3)]
    assert attrs["copies-supported"] == [(1, 99)]
    assert attrs["printer-info"] == ["Imprimante 1"]
    assert attrs["printer-is-accepting-jobs"] == [True]
    assert attrs["printer-firmware"] == [b"\x00\xff"]
    assert attrs["vendor-thing"] == ["ok"]  # a type this module does not know, kept
    assert attrs["printer-state"] == [3]


def test_a_datetime_round_trips():
    moment = datetime(2026, 1, 2, 3, 4, 5, 600_000, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    body = encode(0, 1, [(Tag.JOB, [Attribute.of("date-time-at-creation", Tag.DATETIME, moment)])])
    assert decode(body).group(Tag.JOB)["date-time-at-creation"] == [moment]


@pytest.mark.parametrize(
    "body",
    [
        b"\x01\x01\x00",  # shorter than a header
        response(0, (0x01, field(0x47, "attributes-charset", b"utf-8")))[:-4],  # cut short
        struct.pack(">bbHi", 1, 1, 0, 1) + b"\x01" + field(0x47, "a", b"b"),  # no end tag
        struct.pack(">bbHi", 1, 1, 0, 1) + field(0x47, "a", b"b") + b"\x03",  # no group
        response(0, (0x04, field(0x34, "media-col", b""))),  # a collection never closed
    ],
)
def test_what_is_not_ipp_is_refused(body):
    with pytest.raises(DecodeError):
        decode(body)


def test_every_job_group_of_get_jobs_is_kept():
    body = response(0, (0x02, field(0x21, "job-id", b"\x00\x00\x00\x01")),
                    (0x02, field(0x21, "job-id", b"\x00\x00\x00\x02")))  # fmt: skip
    assert [g["job-id"] for g in decode(body).all_groups(Tag.JOB)] == [[1], [2]]


@pytest.mark.parametrize(
    ("uri", "url", "printer_uri"),
    [
        ("ipp://printer.local/ipp/print", "http://printer.local:631/ipp/print",
         "ipp://printer.local/ipp/print"),
        ("ipps://printer.local:8443/ipp/print", "https://printer.local:8443/ipp/print",
         "ipps://printer.local:8443/ipp/print"),
        ("http://10.0.0.5/ipp/print", "http://10.0.0.5/ipp/print", "ipp://10.0.0.5:80/ipp/print"),
        ("https://[::1]/ipp", "https://[::1]/ipp", "ipps://[::1]:443/ipp"),
    ],
)  # fmt: skip
def test_printer_uris_and_where_they_are_posted(uri, url, printer_uri):
    assert http_url(uri) == url and ipp_uri(uri) == printer_uri


def test_fingerprints_are_normalized():
    digits = "ab" * 32
    assert normalize_fingerprint(digits) == ":".join(["AB"] * 32)
    assert normalize_fingerprint(":".join(["ab"] * 32)) == ":".join(["AB"] * 32)
    with pytest.raises(ValueError, match="64 hex digits"):
        normalize_fingerprint("ab:cd")


# -- the client, with an injected session (canned answers) ---------------------------------


class Canned(requests.adapters.BaseAdapter):
    """Answers POSTs with ``bodies`` in turn (the last one again and again); keeps what
    was asked."""

    def __init__(self, *bodies: bytes, status: int = 200) -> None:
        super().__init__()
        self.bodies = list(bodies)
        self.status = status
        self.requests: list[tuple[requests.PreparedRequest, dict]] = []

    def send(self, request, **kwargs):
        self.requests.append((request, kwargs))
        answer = requests.Response()
        answer.status_code = self.status
        answer._content = self.bodies.pop(0) if len(self.bodies) > 1 else self.bodies[0]
        answer.request = request
        return answer

    def close(self) -> None:
        pass


def client_answering(*bodies: bytes, status: int = 200) -> tuple[IppClient, Canned]:
    session = requests.Session()
    canned = Canned(*bodies, status=status)
    session.mount("http://", canned)
    return IppClient("ipp://printer.test/ipp/print", session=session, timeout=(2, 9)), canned


def test_every_request_names_the_user_and_has_a_timeout():
    client, canned = client_answering(
        response(0, (0x04, field(0x23, "printer-state", b"\x00\x00\x00\x03")))
    )
    assert client.get_printer_attributes(("printer-state",)) == {"printer-state": [3]}
    (request, kwargs) = canned.requests[0]
    assert request.url == "http://printer.test:631/ipp/print"
    assert request.headers["Content-Type"] == "application/ipp"
    assert kwargs["timeout"] == (2, 9)
    operation = decode(request.body).group(Tag.OPERATION)
    assert operation["requesting-user-name"] == ["prodsheets"]
    assert operation["printer-uri"] == ["ipp://printer.test/ipp/print"]
    assert operation["requested-attributes"] == ["printer-state"]


@pytest.mark.parametrize(
    ("status", "unsupported", "error"),
    [
        (Status.NOT_ACCEPTING_JOBS, b"", PrinterNotReady),
        (Status.BUSY, b"", PrinterNotReady),
        (Status.DOCUMENT_FORMAT_NOT_SUPPORTED, b"", FormatRefused),
        (Status.ATTRIBUTES_OR_VALUES_NOT_SUPPORTED,
         field(0x49, "document-format", b"application/pdf"), FormatRefused),
        (Status.ATTRIBUTES_OR_VALUES_NOT_SUPPORTED,
         field(0x44, "media", b"iso_a3_297x420mm"), JobRefused),
        (Status.NOT_FOUND, b"", PrinterNotFound),
        (Status.INTERNAL_ERROR, b"", JobRefused),
    ],
)  # fmt: skip
def test_ipp_errors_are_told_apart_by_type(status, unsupported, error):
    groups = [(0x01, field(0x41, "status-message", b"said the printer"))]
    if unsupported:
        groups.append((0x05, unsupported))
    client, _ = client_answering(response(status, *groups))
    with pytest.raises(error, match="said the printer") as caught:
        client.print_job(PDF, job_name="order-1.pdf", document_format="application/pdf",
                         media=None)  # fmt: skip
    assert caught.value.status == status and caught.value.printer == client.uri
    assert caught.value.printer_wide is (error is not JobRefused)


@pytest.mark.parametrize(("status", "error"), [(404, PrinterNotFound), (503, PrinterUnreachable)])
def test_http_errors_are_told_apart_by_type(status, error):
    client, _ = client_answering(b"<html>no</html>", status=status)
    with pytest.raises(error, match=f"HTTP {status}"):
        client.get_printer_attributes(("printer-state",))


def test_a_job_the_printer_forgot_is_none():
    client, _ = client_answering(response(Status.NOT_FOUND))
    assert client.get_job_attributes(17, ("job-state",)) is None


# -- the client against the real emulator -------------------------------------------------


def test_printer_attributes_of_the_emulator(printer):
    attrs = printer.client().get_printer_attributes(
        ("printer-state", "printer-is-accepting-jobs", "document-format-supported",
         "media-supported", "media-col-ready")
    )  # fmt: skip
    assert attrs["printer-state"] == [3] and attrs["printer-is-accepting-jobs"] == [True]
    assert "application/pdf" in attrs["document-format-supported"]
    for media in ("iso_a4_210x297mm", "na_letter_8.5x11in", "iso_a5_148x210mm",
                  "na_index-4x6_4x6in"):  # fmt: skip
        assert media in attrs["media-supported"]
    ready = attrs["media-col-ready"][0]  # a collection holding a collection
    assert set(ready["media-size"][0]) == {"x-dimension", "y-dimension"}


def test_print_job_then_what_the_printer_says_it_got(printer):
    client = printer.client()
    answer = client.print_job(PDF, job_name="order-1001.pdf", document_format="application/pdf",
                              media="iso_a5_148x210mm")  # fmt: skip
    job_id = answer.group(Tag.JOB)["job-id"][0]
    received = printer.received("order-1001.pdf")
    assert received.document.read_bytes() == PDF
    assert received.media == "iso_a5_148x210mm"
    assert received.attrs["job-originating-user-name"] == ["prodsheets"]
    job = client.get_job_attributes(job_id, ("job-state", "job-name"))
    assert job == {"job-state": [9], "job-name": ["order-1001.pdf"]}
    (listed,) = client.get_jobs(("job-id", "job-name", "date-time-at-creation"))
    assert listed["job-id"] == [job_id]
    assert abs(listed["date-time-at-creation"][0] - datetime.now(UTC)) < timedelta(
        minutes=5
    )  # the printer's clock, as it says


def test_a_printer_without_pdf_refuses_it(print_servers):
    raster_only = print_servers.printer(pdf=False)
    try:
        with pytest.raises(FormatRefused, match="document-format"):
            raster_only.client().print_job(
                PDF, job_name="order-1.pdf", document_format="application/pdf", media=None
            )
    finally:
        raster_only.stop()


def test_no_printer_there(printer):
    with pytest.raises(PrinterNotFound, match="not-found"):
        IppClient(printer.uri.replace("/ipp/print", "/ipp/nothing")).get_printer_attributes(
            ("printer-state",)
        )
    with pytest.raises(PrinterUnreachable, match="Connection refused"):
        IppClient(f"ipp://127.0.0.1:{free_port()}/ipp/print").get_printer_attributes(
            ("printer-state",)
        )


def test_no_answer_after_the_document_went_out_is_uncertain():
    import socket

    with socket.socket() as silent:  # accepts, reads nothing, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        client = IppClient(f"ipp://127.0.0.1:{silent.getsockname()[1]}/ipp/print",
                           timeout=(2, 0.3))  # fmt: skip
        with pytest.raises(SendUncertain, match="may or may not have the job"):
            client.print_job(PDF, job_name="a.pdf", document_format="application/pdf", media=None)
        with pytest.raises(PrinterUnreachable):  # a question only: nothing was sent
            client.get_printer_attributes(("printer-state",))


def test_ipps_trusts_only_what_a_person_pinned(printer, print_servers):
    uri = printer.uri.replace("ipp://", "ipps://")
    with pytest.raises(PrinterUntrusted, match="not trusted") as untrusted:
        IppClient(uri).get_printer_attributes(("printer-state",))
    pem = (print_servers.root / "keys" / "localhost.crt").read_text()  # made at the handshake
    real = normalize_fingerprint(hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest())
    assert untrusted.value.fingerprint == real and real in str(untrusted.value)
    pinned = IppClient(uri, fingerprint=real)
    answer = pinned.print_job(PDF, job_name="tls.pdf", document_format="application/pdf",
                              media=None)  # fmt: skip
    assert answer.group(Tag.JOB)["job-id"]
    assert printer.received("tls.pdf").document.read_bytes() == PDF
    with pytest.raises(PrinterUntrusted, match="not the pinned one"):
        IppClient(uri, fingerprint="00" * 32).get_printer_attributes(("printer-state",))
