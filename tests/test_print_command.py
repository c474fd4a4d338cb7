"""`prodsheets order --print` and `prodsheets print` against a real IPP printer emulator
and a real cupsd: what the printer received, byte for byte, and what the user is told."""

from __future__ import annotations

import hashlib
import ssl
import tempfile
from pathlib import Path

import pytest
from test_printing import pdf_file

from prodsheets.config import PageSize
from prodsheets.ipp import normalize_fingerprint

from printers import Received, wait_until


def paths(result) -> list[Path]:
    return [Path(line) for line in result.stdout.splitlines() if line.strip()]


def test_order_print_to_an_ipp_printer(shared_sandbox, env_for, cli, tmp_path, printer):
    env_for(shared_sandbox)
    result = cli("order", "1001", "1002", "-o", str(tmp_path / "out"), "--print", "--printer",
                 printer.uri)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    written = paths(result)  # stdout: only the PDFs written
    assert [p.name for p in written] == ["order-1001.pdf", "order-1002.pdf"]
    assert f"sent order-1001.pdf to {printer.uri} (job 1)" in result.stderr
    assert f"sent order-1002.pdf to {printer.uri} (job 2)" in result.stderr
    assert printer.documents() == [p.read_bytes() for p in written]  # one each, unchanged
    received = printer.received("order-1001.pdf")
    assert received.attrs["job-originating-user-name"] == ["prodsheets"]
    assert received.attrs["document-format-supplied"] == ["application/pdf"]
    assert received.media == "iso_a4_210x297mm"


def test_order_print_to_a_cups_queue(shared_sandbox, env_for, cli, tmp_path, cups, printer):
    env_for(shared_sandbox)
    queue = cups.queue(printer)  # raw: CUPS hands the bytes on untouched
    result = cli("order", "#W-2041", "-o", str(tmp_path), "--printer", queue)  # implies --print
    assert result.exit_code == 0, result.stderr
    (written,) = paths(result)
    assert f"sent order-W-2041.pdf to {queue} (job " in result.stderr
    assert result.stderr.count("does not list its paper (raw CUPS queues list none)") == 1
    assert printer.received("order-W-2041.pdf").document.read_bytes() == written.read_bytes()


def test_print_without_a_printer_says_how_to_set_one(shared_sandbox, env_for, cli, tmp_path):
    env_for(shared_sandbox)
    for command in (["order", "1001", "--print"], ["batch", "--out", str(tmp_path), "--print"],
                    ["print", "--check"]):  # fmt: skip
        result = cli(*command)
        assert result.exit_code == 2, command
        assert "--print needs a printer" in result.stderr
        assert "PRODSHEETS_PRINTER" in result.stderr and "prodsheets.toml" in result.stderr
    assert list(tmp_path.glob("**/*.pdf")) == []


HUNDREDTHS_OF_MM = {PageSize.A4: "21000x29700", PageSize.LETTER: "21590x27940",
                    PageSize.A5: "14800x21000", PageSize.LABEL: "10160x15240"}  # fmt: skip


@pytest.mark.parametrize("size", list(PageSize))
def test_the_paper_follows_the_page_size(shared_sandbox, env_for, cli, tmp_path, cups, printer,
                                         size):  # fmt: skip
    env_for(shared_sandbox, PRODSHEETS_PRINTER=printer.uri)
    result = cli("order", "1002", "-o", str(tmp_path), "--page-size", size.value, "--print")
    assert result.exit_code == 0, result.stderr
    assert printer.received("order-1002.pdf").media == size.media  # a media keyword
    # A reprint through an IPP Everywhere queue: the paper is read from the PDF itself,
    # and CUPS asks the printer for it by its size.
    queue = cups.queue(printer, everywhere=True)
    reprint = cli("print", str(paths(result)[0]), "--printer", queue)
    assert reprint.exit_code == 0, reprint.stderr

    def both_done():
        jobs = [j for j in printer.jobs() if j["job-name"] == ["order-1002.pdf"]]
        return jobs if len(jobs) == 2 and all(j["job-state"] == [9] for j in jobs) else None

    media = {Received(job, Path()).media for job in wait_until(both_done, "the reprint")}
    assert media == {size.media, HUNDREDTHS_OF_MM[size]}


def test_a_printer_without_pdf_is_a_clear_error(shared_sandbox, env_for, cli, tmp_path,
                                                print_servers):  # fmt: skip
    raster_only = print_servers.printer(pdf=False)
    try:
        env_for(shared_sandbox)
        result = cli("order", "1001", "-o", str(tmp_path), "--printer", raster_only.uri)
    finally:
        raster_only.stop()
    assert result.exit_code == 3  # written, not sent
    assert [p.name for p in paths(result)] == ["order-1001.pdf"]
    assert (f"NOT SENT: order-1001.pdf: printer {raster_only.uri} does not accept PDF "
            "(application/pdf); it accepts ") in result.stderr  # fmt: skip
    assert "image/urf" in result.stderr and list(raster_only.spool.iterdir()) == []


def test_a_stopped_or_rejecting_queue_gets_nothing(env_for, shared_sandbox, cli, tmp_path, cups,
                                                   printer):  # fmt: skip
    env_for(shared_sandbox)
    ticket = tmp_path / "order-5.pdf"
    ticket.write_bytes(a_pdf())
    queue = cups.queue(printer)
    cups.cups("cupsdisable", "-r", "out of paper", queue)
    result = cli("print", str(ticket), "--printer", queue)
    assert result.exit_code == 1
    assert f'NOT SENT: order-5.pdf: printer {queue} is stopped (paused): "out of paper"' in (
        result.stderr
    )
    check = cli("print", "--check", "--printer", queue)
    assert check.exit_code == 1
    assert "state:    stopped, accepting jobs" in check.stdout
    assert "reasons:  paused" in check.stdout and "out of paper" in check.stderr
    cups.cups("cupsenable", queue)
    cups.cups("cupsreject", "-r", "closed for inventory", queue)
    result = cli("print", str(ticket), "--printer", queue)
    assert result.exit_code == 1 and "is not accepting jobs" in result.stderr
    assert "closed for inventory" in result.stderr
    assert cups.cups("lpstat", "-W", "all", "-o", queue).stdout == ""  # nothing queued


def a_pdf() -> bytes:
    """A small valid one-page A4 PDF."""
    with tempfile.TemporaryDirectory() as folder:
        return pdf_file(Path(folder)).read_bytes()


def test_print_reprints_files_and_checks_the_printer(env_for, shared_sandbox, cli, tmp_path,
                                                     printer):  # fmt: skip
    env_for(shared_sandbox, PRODSHEETS_PRINTER=printer.uri)
    check = cli("print", "--check")
    assert check.exit_code == 0, check.stderr
    assert f"printer:  {printer.uri} (IPP printer)" in check.stdout
    assert "state:    idle, accepting jobs" in check.stdout and "PDF:      yes" in check.stdout
    assert "paper:    A4 yes, Letter yes, A5 yes, 4x6in yes" in check.stdout
    assert check.stdout.rstrip().endswith("ready:    yes")
    first, second = tmp_path / "order-1.pdf", tmp_path / "order-2.pdf"
    first.write_bytes(a_pdf())
    second.write_bytes(a_pdf() + b"\n")
    (tmp_path / "notes.pdf").write_text("not a pdf")
    result = cli("print", str(first), str(tmp_path / "notes.pdf"), str(second))
    assert result.exit_code == 3, result.stderr  # two sent, one not
    assert result.stdout == ""
    assert "NOT SENT: notes.pdf:" in result.stderr and "is not a PDF" in result.stderr
    assert printer.documents() == [first.read_bytes(), second.read_bytes()]
    assert cli("print", "--check", str(first)).exit_code == 2


def test_wait_says_why_a_job_stalls(env_for, shared_sandbox, cli, tmp_path, printer):
    env_for(shared_sandbox)
    ticket = tmp_path / "order-9.pdf"
    ticket.write_bytes(a_pdf())
    printer.set_media_level(0)  # the tray is empty: the job waits for paper
    result = cli("print", str(ticket), "--printer", printer.uri, "--wait", "--wait-timeout", "1")
    assert result.exit_code == 3, result.stderr
    assert f"order-9.pdf: job 1 on {printer.uri} is still processing" in result.stderr
    assert "media-empty" in result.stderr and "media-needed" in result.stderr
    printer.set_media_level(250)
    done = cli("print", str(ticket), "--printer", printer.uri, "--wait")
    assert done.exit_code == 0, done.stderr
    assert "(job 2): completed" in done.stderr


def test_ipps_with_a_pinned_certificate(env_for, shared_sandbox, cli, tmp_path, printer,
                                        print_servers):  # fmt: skip
    env_for(shared_sandbox, PRODSHEETS_PRINTER=printer.uri.replace("ipp://", "ipps://"))
    ticket = tmp_path / "order-3.pdf"
    ticket.write_bytes(a_pdf())
    untrusted = cli("print", str(ticket))
    assert untrusted.exit_code == 1 and "certificate is not trusted" in untrusted.stderr
    pem = (print_servers.root / "keys" / "localhost.crt").read_text()
    fingerprint = normalize_fingerprint(hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest())
    assert f"fingerprint is {fingerprint}" in untrusted.stderr
    env_for(shared_sandbox, PRODSHEETS_PRINTER=printer.uri.replace("ipp://", "ipps://"),
            PRODSHEETS_PRINTER_FINGERPRINT=fingerprint.replace(":", "").lower())  # fmt: skip
    trusted = cli("print", str(ticket))
    assert trusted.exit_code == 0, trusted.stderr
    assert printer.documents() == [ticket.read_bytes()]


def test_a_queue_takes_a_job_while_its_printer_is_off_and_wait_says_so(
    env_for, shared_sandbox, cli, tmp_path, cups, printer
):
    """'Sent' to a queue means CUPS has it: lp succeeds with the printer off; --wait
    shows the job waiting and why."""
    env_for(shared_sandbox)
    queue = cups.queue(printer)
    printer.stop()
    ticket = tmp_path / "order-4.pdf"
    ticket.write_bytes(a_pdf())
    result = cli("print", str(ticket), "--printer", queue, "--wait", "--wait-timeout", "2")
    assert result.exit_code == 3
    assert f"sent order-4.pdf to {queue} (job " in result.stderr
    assert "is still pending" in result.stderr
    assert "The printer may not exist or is unavailable at this time." in result.stderr
    printer.start()  # CUPS delivers it when the printer is back
    cups.queue_idle(queue)
    assert printer.documents() == [ticket.read_bytes()]
