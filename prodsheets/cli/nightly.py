"""``prodsheets batch`` (the nightly print folder) and ``prodsheets demo``."""

from __future__ import annotations

import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from . import EXIT_INTERRUPTED, EXIT_LOOK, LAYOUT_OPTIONS, main, options, settings_for
from .printer import NO_PRINTER, PRINT_OPTIONS


def _date(end: bool):
    def convert(ctx: click.Context, param: click.Parameter, value: str | None):
        if value is None:
            return None
        try:
            return parse_date(value, end=end)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None

    return convert


def _shard(ctx: click.Context, param: click.Parameter, value: str | None):
    from ..plan import Shard

    if value is None:
        return None
    try:
        return Shard.parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def parse_date(value: str, *, end: bool = False) -> datetime:
    """``2026-11-26`` (the whole day, local time) or an ISO timestamp."""
    try:
        if len(value) == 10:
            moment = datetime.combine(date.fromisoformat(value), datetime.min.time()).astimezone()
            return moment + timedelta(days=1) - timedelta(microseconds=1) if end else moment
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return moment if moment.tzinfo else moment.astimezone()
    except ValueError:
        raise ValueError(f"not a date: {value!r} (use YYYY-MM-DD or an ISO timestamp)") from None


@main.command()
@click.option(
    "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
    help="Print folder; each run writes into OUT/<YYYY-MM-DD>/.",
)  # fmt: skip
@click.option("--since", callback=_date(False), help="Only orders dated on or after (YYYY-MM-DD).")
@click.option("--until", callback=_date(True), help="Only orders dated on or before (YYYY-MM-DD).")
@click.option("--status", "statuses", multiple=True, help="Only this status (repeatable).")
@click.option(
    "--payment-status", "payment_statuses", multiple=True,
    help="Only this payment status (repeatable) [default: paid].",
)  # fmt: skip
@click.option("--include-trial", is_flag=True, help="Also print trial orders.")
@click.option(
    "--shard", callback=_shard, metavar="K/N",
    help="Only orders whose orderId is K modulo N: one of N hosts (README: Past one machine).",
)  # fmt: skip
@click.option(
    "--reshard", is_flag=True,
    help="Let this state file take another --shard (a copy of the state before a split).",
)  # fmt: skip
@click.option("--force", is_flag=True, help="Print again orders already printed.")
@click.option("--dry-run", is_flag=True, help="Say what would be printed; write nothing.")
@click.option(
    "--jobs", type=click.IntRange(min=0), default=0,
    help="Rendering processes [default: one per CPU].",
)  # fmt: skip
@click.option(
    "--state", "state_path", type=click.Path(dir_okay=False, path_type=Path),
    help="State file of printed orders [default: per brand in the user state folder].",
)  # fmt: skip
@click.option(
    "--combined/--no-combined", default=False,
    help="Also write combined.pdf: a summary page and every ticket, to print at once.",
)  # fmt: skip
@click.option(
    "--recheck-days", type=click.IntRange(min=0), default=14, show_default=True,
    help="Look again at orders this recent: edited designs, late payments.",
)  # fmt: skip
@options(*LAYOUT_OPTIONS, *PRINT_OPTIONS)
@click.pass_context
def batch(ctx: click.Context, out_dir: Path, dry_run: bool, jobs: int, state_path: Path | None,
          combined: bool, reshard: bool, send: bool, printer: str | None, wait: bool,
          wait_timeout: float, **chosen: Any) -> None:  # fmt: skip
    """Print every new paid order into tonight's print folder (and, with --print,
    send each ticket to the printer).

    Safe to re-run (prints only what is new or changed; a changed order is marked
    REVISED), safe to kill (no half-written PDF; the next run finishes the rest) and
    safe to interrupt (Ctrl-C or SIGTERM stop it at the next ticket). The last line on
    stdout is the path of the run's manifest.json.

    With --print every ticket of the run is sent once, in orderId order, after its
    PDF is in place. Tickets the printer did not take (down, refusing, gone mid-run)
    are marked "not sent" in the manifest and the next run sends exactly those.

    \b
    Exit: 0 all printed complete (and sent), 3 some incomplete, failed or not sent,
    1 could not start or stopped on an error, 130 interrupted.
    \b
    Examples:
      prodsheets batch --out /srv/print
      prodsheets batch --out /srv/print --since 2026-11-01 --combined
      prodsheets batch --out /srv/print --dry-run
      prodsheets batch --out /srv/print --print --printer workshop
      prodsheets batch --out /srv/print --shard 0/3 --state /var/lib/prodsheets/shard-0.db
      # crontab: 30 2 * * *  prodsheets batch --out /srv/print --combined --print
    """
    from ..api import ApiClient
    from ..batch import BatchOptions
    from ..plan import PlanOptions

    layout = {k: chosen.pop(k) for k in ("page_size", "template_dir", "qr_template")}
    settings = settings_for(ctx, printer=printer, **layout)
    send = send or printer is not None
    if send and settings.printer is None:
        raise click.UsageError(NO_PRINTER)
    api_url, brand, token = settings.require_api()
    chosen["payment_statuses"] = chosen["payment_statuses"] or ("paid",)
    batch_options = BatchOptions(
        out_dir=out_dir, plan=PlanOptions(**chosen), dry_run=dry_run, jobs=jobs,
        state_path=state_path, combined=combined, send=send, reshard=reshard,
        wait=wait_timeout if wait else None,
    )  # fmt: skip
    with ApiClient(api_url, brand, token) as client:
        ctx.exit(_report(_run(client, settings, batch_options)))


def _run(client, settings, batch_options):
    from ..batch import run_batch
    from ..scheduler import stop_on_signals

    with stop_on_signals() as stop:
        return run_batch(client, settings, batch_options, progress=_progress(), stop=stop)


def _progress():
    """A progress bar on stderr when it is a terminal; nothing otherwise (cron, CI)."""
    if not sys.stderr.isatty():
        return None
    bars: list[Any] = []

    def update(done: int, total: int) -> None:
        if not bars:
            bars.append(click.progressbar(length=max(total, 1), label="printing",
                                          file=sys.stderr, show_pos=True))  # fmt: skip
        bar = bars[0]
        bar.update(done - bar.pos)
        if done >= total:
            bar.render_finish()

    return update


def _report(report) -> int:
    """Summary on stderr, the manifest's path last on stdout; returns the exit code."""
    from ..outcomes import Count

    counts = report.counts
    if report.manifest_path is None:  # dry run, or stopped before the run folder
        for candidate in report.planned:
            click.echo(f"{candidate.order.label}: would {candidate.reason.would}")
        for skip in report.skipped:
            click.echo(f"{skip.order.label}: skip ({skip.reason.describe(skip.order)})")
        for owed in report.backlog:
            why = f" (not sent before: {owed.error})" if owed.error else ""
            click.echo(f"{owed.label}: would send {owed.path}{why}")
        if report.interrupted:
            click.echo("interrupted before anything was printed", err=True)
            return EXIT_INTERRUPTED
        click.echo(
            f"dry run: {len(report.planned)} to look at, {len(report.skipped)} skipped, "
            f"{counts[Count.UNCHANGED]} already printed; nothing written",
            err=True,
        )
        return 0
    for outcome in report.recovered:
        click.echo(f"recovered {outcome.file} ({outcome.label}) from an interrupted run", err=True)
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    for outcome in report.needs_attention:
        click.echo(f"{outcome.status.upper()}: {outcome.label}: " + "; ".join(outcome.problems),
                   err=True)  # fmt: skip
    trouble = _report_sending(report)
    sending = (f", sent {counts[Count.SENT]}, not sent {counts[Count.NOT_SENT]}"
               if report.sending is not None else "")  # fmt: skip
    click.echo(
        f"printed {counts[Count.PRINTED]}, incomplete {counts[Count.INCOMPLETE]}, "
        f"failed {counts[Count.FAILED]}, skipped {len(report.skipped)}, "
        f"already printed {counts[Count.UNCHANGED]}{sending} -> {report.run_dir}",
        err=True,
    )
    click.echo(str(report.manifest_path))
    if report.interrupted:
        click.echo("interrupted: the next run finishes the rest", err=True)
        return EXIT_INTERRUPTED
    if report.error:
        click.echo(f"Error: the run stopped early: {report.error}", err=True)
        return 1
    return EXIT_LOOK if report.needs_attention or trouble else 0


def _report_sending(report) -> bool:
    """What was sent, on stderr; whether any ticket needs a look (not sent, in doubt, or
    with --wait not completed). One line per reason a ticket was not sent."""
    if report.sending is None:
        return False
    for sent in report.sending.sent:
        click.echo(sent.describe(), err=True)
    reasons: dict[int, tuple[BaseException, list[str]]] = {}
    for owed, error in report.sending.failed:
        reasons.setdefault(id(error), (error, []))[1].append(owed.file)
    for error, files in reasons.values():
        click.echo(f"NOT SENT: {files[0]}: {error}", err=True)
        if len(files) > 1:
            more = ", ".join(files[1:6]) + (", …" if len(files) > 6 else "")
            click.echo(f"NOT SENT: {len(files) - 1} more for the same reason: {more}", err=True)
    for owed in report.sending.doubtful:
        click.echo(
            f"warning: {owed.file}: a run was killed while sending it and the printer "
            "could not say whether it got it; sent again, it may print twice",
            err=True,
        )
    if report.not_sent:
        click.echo(f"not sent: {report.not_sent} ticket(s), marked in the manifest; the next "
                   "run with --print sends them", err=True)  # fmt: skip
    stalled = any(sent.needs_attention for sent in report.sending.sent)
    return bool(report.not_sent or report.sending.doubtful or stalled)


@main.command()
@click.option(
    "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("out"),
    show_default=True, help="Where the demo's print folder goes.",
)  # fmt: skip
@click.pass_context
def demo(ctx: click.Context, out_dir: Path) -> None:
    """Try everything without an API key: start the sandbox over the bundled
    samples, run a nightly batch (with combined.pdf) into ./out, say where it went.

    \b
    Example:
      prodsheets demo && xdg-open out/*/combined.pdf
    """
    from ..api import ApiClient
    from ..batch import BatchOptions
    from ..sandbox import Sandbox
    from .servers import sandbox_data

    data = sandbox_data(None, None, 1)
    with Sandbox(data, port=0) as server:
        click.echo(f"sandbox API on {server.url} (brand {server.brand}), "
                   f"{len(data.orders)} sample orders", err=True)  # fmt: skip
        ctx.obj["flags"].update(api_url=server.url, brand=server.brand, token=server.token)
        settings = settings_for(ctx)
        batch_options = BatchOptions(
            out_dir=out_dir, combined=True, state_path=out_dir / ".prodsheets-demo-state.sqlite3"
        )
        with ApiClient(server.url, server.brand, server.token) as client:
            report = _run(client, settings, batch_options)
    code = _report(report)
    if report.run_dir is not None and any(o.written for o in report.outcomes):
        click.echo(f"demo: tickets in {report.run_dir}/ (combined.pdf prints them all)", err=True)
    elif report.run_dir is not None:
        click.echo(f"demo: every sample order is already printed in {out_dir}/; "
                   f"delete {out_dir}/ to print them again", err=True)  # fmt: skip
    ctx.exit(code)
