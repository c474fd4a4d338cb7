"""``prodsheets print`` (reprint PDFs, check a printer) and the ``--print`` options that
``order`` and ``batch`` share. stdout stays for paths; what was sent goes to stderr."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..errors import InputError, PrintError
from . import EXIT_LOOK, main, options, settings_for

NO_PRINTER = (
    "--print needs a printer: pass --printer QUEUE-OR-URI (e.g. --printer workshop or "
    "--printer ipp://printer.local/ipp/print), set PRODSHEETS_PRINTER, or put "
    'printer = "workshop" in prodsheets.toml'
)
PRINTER_HELP = (
    "CUPS queue name or printer URI, e.g. workshop or ipp://printer.local/ipp/print "
    "[env PRODSHEETS_PRINTER]."
)
PRINTER_OPTION = click.option("--printer", metavar="QUEUE|URI", help=PRINTER_HELP)
WAIT_OPTIONS = (
    click.option(
        "--wait",
        is_flag=True,
        help="Follow each job until the printer completed, aborted or canceled it; say "
        "why if it stalls (e.g. media-empty).",
    ),
    click.option(
        "--wait-timeout",
        type=click.FloatRange(min=1),
        default=120,
        show_default=True,
        metavar="SECONDS",
        help="How long --wait follows each job.",
    ),
)
PRINT_OPTIONS = (
    click.option(
        "--print",
        "send",
        is_flag=True,
        help="Also send each ticket to the printer (--printer, PRODSHEETS_PRINTER or "
        "printer in prodsheets.toml), e.g. --print --printer workshop.",
    ),
    click.option("--printer", metavar="QUEUE|URI", help=PRINTER_HELP[:-1] + "; implies --print."),
    *WAIT_OPTIONS,
)


def sender_for(settings, *, wait: bool, wait_timeout: float):
    """The ``Sender`` for this command; a usage error (exit 2) without a printer."""
    from ..printing import Sender, open_printer

    if settings.printer is None:
        raise click.UsageError(NO_PRINTER)
    printer = open_printer(settings.printer, fingerprint=settings.printer_fingerprint)
    return Sender(printer, wait=wait_timeout if wait else None, warn=warn)


def warn(message: str) -> None:
    click.echo(f"warning: {message}", err=True)


class SendLog:
    """Says on stderr how each send went. A failure that stopped the sender is given in
    full once; the tickets it then kept back name it in short."""

    def __init__(self) -> None:
        self._told: list[BaseException] = []
        self.failures = 0  # not sent
        self.trouble = 0  # not sent, or sent but not completed (--wait)

    def sent(self, sent) -> None:
        click.echo(sent.describe(), err=True)
        self.trouble += sent.needs_attention

    def failed(self, file: str, error: BaseException) -> None:
        self.failures += 1
        self.trouble += 1
        if any(error is told for told in self._told):
            printer = getattr(error, "printer", "") or "the printer"
            click.echo(f"NOT SENT: {file} ({printer}: see above)", err=True)
            return
        self._told.append(error)
        click.echo(f"NOT SENT: {file}: {error}", err=True)


@main.command("print")
@click.argument(
    "files", nargs=-1, metavar="FILE.pdf...",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
)  # fmt: skip
@PRINTER_OPTION
@click.option(
    "--check", is_flag=True,
    help="Ask the printer whether it can print tickets now (state, reasons, PDF, paper); "
    "send nothing. Exit 0 when it can, 1 when not.",
)  # fmt: skip
@options(*WAIT_OPTIONS)
@click.pass_context
def print_files(ctx: click.Context, files: tuple[Path, ...], printer: str | None, check: bool,
                wait: bool, wait_timeout: float) -> None:  # fmt: skip
    """Send PDFs already on disk to the printer (a reprint), or check the printer.

    Each PDF is one job named after its file, on the paper of its own page size
    (A4, Letter, A5, 4x6in) when the printer lists it. Exit 0 all sent, 3 some
    not sent (or, with --wait, not completed), 1 none sent.

    \b
    Examples:
      prodsheets print --check --printer workshop
      prodsheets print /srv/print/2026-11-26/order-1001.pdf --printer workshop
      prodsheets print order-1001.pdf --printer ipps://printer.local/ipp/print --wait
    """
    from ..pipeline import send_ticket

    if check == bool(files):
        raise click.UsageError("name the PDFs to send, or --check the printer (not both)")
    settings = settings_for(ctx, printer=printer)
    sender = sender_for(settings, wait=wait, wait_timeout=wait_timeout)
    try:
        if check:
            ctx.exit(_check(sender))
        log = SendLog()
        for path in files:
            try:
                log.sent(send_ticket(sender, path, None))
            except (PrintError, InputError) as exc:
                log.failed(path.name, exc)
    finally:
        sender.printer.close()
    ctx.exit(0 if not log.trouble else 1 if log.failures == len(files) else EXIT_LOOK)


def _check(sender) -> int:
    """The printer's answer on stdout; exit 0 when a ticket could be printed now."""
    from ..config import PageSize

    try:
        status = sender.printer.status()
    except PrintError as exc:
        click.echo(f"Error: {exc}", err=True)
        return 1
    kind = "CUPS queue" if "://" not in sender.name else "IPP printer"
    lines: list[tuple[str, Any]] = [
        ("printer", f"{sender.name} ({kind})"),
        ("model", status.model or "-"),
        (
            "state",
            status.state.value
            + (", accepting jobs" if status.accepting else ", NOT accepting jobs"),
        ),
        ("reasons", ", ".join(status.reasons) or "none"),
        ("message", status.message or "-"),
    ]
    if status.formats is None:
        lines.append(("PDF", "CUPS converts what it gets (lp says if it cannot)"))
    else:
        lines.append(("PDF", "yes" if "application/pdf" in status.formats else
                      f"NO (accepts {', '.join(status.formats)})"))  # fmt: skip
    if status.media is None:
        lines.append(("paper", "not listed (a raw queue?): tickets print on its default"))
    else:
        sizes = [f"{p.value} {'yes' if p.media in status.media else 'no'}" for p in PageSize]
        lines.append(("paper", ", ".join(sizes) + f"; default {status.media_default or '-'}"))
    for key, value in lines:
        click.echo(f"{key + ':':<9} {value}")
    try:
        status.check()
    except PrintError as exc:
        click.echo(f"Error: {exc}", err=True)
        return 1
    click.echo("ready:    yes")
    return 0
