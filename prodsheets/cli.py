"""The ``prodsheets`` command: parse options, call the library, print.

Exit codes: 0 every ticket complete; 3 a ticket was written but is incomplete (or, for
a batch, some orders failed); 1 nothing could be done (message on stderr, no
traceback); 2 usage. stdout carries only paths of files written; everything else
goes to stderr.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import click

from . import __version__
from .errors import AuthError, ProdsheetsError

EXIT_INCOMPLETE = 3
log = logging.getLogger("prodsheets")


class _Group(click.Group):
    """Turns every ``ProdsheetsError`` into a one-line message and exit 1, in one place."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ProdsheetsError as exc:
            raise click.ClickException(str(exc)) from None
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except Exception as exc:  # a bug: still one line for the user, details with -vv
            log.debug("internal error", exc_info=True)
            raise click.ClickException(
                f"internal error: {type(exc).__name__}: {exc} (run with -vv for details)"
            ) from None
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            raise SystemExit(130) from None


def _setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(
        level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    if verbose < 2:
        logging.getLogger("urllib3").setLevel(logging.WARNING)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="prodsheets")
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="More detail on stderr (-vv for debug). Never shows the token.",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="TOML settings file (default: ./prodsheets.toml if present).",
)
@click.option(
    "--api-url",
    envvar=None,
    help="API base URL [env PRODSHEETS_API_URL; default https://api.mycustomizer.com].",
)
@click.option("--brand", help="Brand (company) name in the API [env PRODSHEETS_BRAND].")
@click.option(
    "--token", help="API token [env PRODSHEETS_TOKEN]; prefer the environment, flags show in `ps`."
)
@click.pass_context
def main(
    ctx: click.Context,
    verbose: int,
    config_file: Path | None,
    api_url: str | None,
    brand: str | None,
    token: str | None,
) -> None:
    """Print-ready PDF job tickets from MyCustomizer (Kickflip) orders.

    \b
    Examples:
      export PRODSHEETS_BRAND=acme PRODSHEETS_TOKEN=…
      prodsheets order 1001                 # ticket for orderId 1001
      prodsheets order '#1001' -o tickets/  # by shop order name
      prodsheets batch --out /srv/print     # the nightly print folder
      prodsheets sandbox                    # a local API to try it all
      prodsheets demo                       # sandbox + batch into ./out
    """
    _setup_logging(verbose)
    ctx.obj = {
        "flags": {"api_url": api_url, "brand": brand, "token": token},
        "config_file": config_file,
    }


def _settings(ctx: click.Context, **more: Any):
    from .config import load_settings

    flags = {**ctx.obj["flags"], **{k: v for k, v in more.items() if v is not None}}
    return load_settings(flags, config_file=ctx.obj["config_file"])


_LAYOUT_OPTIONS = [
    click.option(
        "--page-size",
        type=click.Choice(["A4", "Letter", "A5", "4x6in"]),
        default=None,
        help="Paper size [default A4]; 4x6in is the label layout.",
    ),
    click.option(
        "--template-dir",
        type=click.Path(file_okay=False, exists=True, path_type=Path),
        help="Folder with a ticket.html and/or ticket.css that override the built-in ones.",
    ),
    click.option(
        "--qr-template",
        help="Text encoded in each QR code, e.g. '{order_id}/{item}/{design_id}'.",
    ),
]
_OUTPUT_OPTIONS = [
    click.option(
        "-o",
        "--out",
        "out_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("."),
        show_default=True,
        help="Folder for the PDFs.",
    ),
    click.option(
        "--html",
        is_flag=True,
        help="Also write each ticket's self-contained HTML beside its PDF.",
    ),
]


def _options(options):
    def decorate(func):
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


_layout_options = _options(_LAYOUT_OPTIONS)
_ticket_options = _options(_OUTPUT_OPTIONS + _LAYOUT_OPTIONS)


def _report(written) -> None:
    """Path on stdout; problems and warnings on stderr."""
    click.echo(str(written.path))
    for warning in written.warnings:
        click.echo(f"warning: {written.order.label}: {warning}", err=True)
    if written.problems:
        click.echo(f"INCOMPLETE: {written.path} ({written.order.label}):", err=True)
        for problem in written.problems:
            click.echo(f"  - {problem}", err=True)


@main.command()
@click.argument("refs", nargs=-1, required=True, metavar="REF...")
@_ticket_options
@click.pass_context
def order(
    ctx: click.Context,
    refs: tuple[str, ...],
    out_dir: Path,
    page_size: str | None,
    template_dir: Path | None,
    qr_template: str | None,
    html: bool,
) -> None:
    """Write the job ticket PDF of each order.

    REF is the order's API id (5e69254b714841168b8d9825), its orderId (1001)
    or its shop order name ('#1001'). Prints the path of each PDF written.

    \b
    Examples:
      prodsheets order 1001
      prodsheets order '#1001' 1002 -o tickets/ --page-size Letter
      prodsheets order 5e69254b714841168b8d9825 --qr-template '{order_id}/{item}'
    """
    from .api import ApiClient
    from .render import Renderer
    from .tickets import validate_qr_template
    from .workflow import find_order, make_store, prepare_ticket, write_ticket

    settings = _settings(
        ctx, qr_template=qr_template, page_size=page_size, template_dir=template_dir
    )
    validate_qr_template(settings.qr_template)
    api_url, brand, token = settings.require_api()
    renderer = None
    failed = incomplete = False
    with (
        ApiClient(api_url, brand, token) as client,
        make_store(settings, api_origin=client.origin) as store,
    ):
        for ref in refs:
            try:
                found = find_order(client, ref)
                ticket = prepare_ticket(
                    found, store, settings, brand=brand, get_design=client.get_design
                )
                if renderer is None:
                    renderer = Renderer(
                        page_size=settings.page_size,
                        template_dir=settings.template_dir,
                        cache_dir=store.cache_dir,
                    )
                written = write_ticket(ticket, renderer, out_dir, html=html)
            except AuthError:
                raise
            except ProdsheetsError as exc:
                if len(refs) == 1:
                    raise
                click.echo(f"Error: {ref}: {exc}", err=True)
                failed = True
                continue
            _report(written)
            incomplete = incomplete or not written.complete
    ctx.exit(1 if failed else EXIT_INCOMPLETE if incomplete else 0)


@main.command()
@click.argument("order_file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option(
    "--designs",
    "designs_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    required=True,
    help="JSON of the order's designs: one design, a list, or an API listing.",
)
@click.option("--brand", "brand_name", default=None, help="Brand name printed on the ticket.")
@_ticket_options
@click.pass_context
def render(
    ctx: click.Context,
    order_file: Path,
    designs_file: Path,
    brand_name: str | None,
    out_dir: Path,
    page_size: str | None,
    template_dir: Path | None,
    qr_template: str | None,
    html: bool,
) -> None:
    """Render a ticket offline from JSON saved from the API.

    For support and for people without API access: images are still downloaded
    from the MyCustomizer CDNs (allowed hosts only).

    \b
    Example:
      prodsheets render order.json --designs designs.json -o tickets/
    """
    from .errors import BadResponse
    from .models import Design, Order
    from .render import Renderer
    from .tickets import validate_qr_template
    from .workflow import make_store, prepare_ticket, write_ticket

    settings = _settings(
        ctx, qr_template=qr_template, page_size=page_size, template_dir=template_dir
    )
    validate_qr_template(settings.qr_template)
    order_data = _read_json(order_file)
    if isinstance(order_data, dict) and isinstance(order_data.get("results"), list):
        if len(order_data["results"]) != 1:
            raise BadResponse(
                f"{order_file} lists {len(order_data['results'])} orders; save just one"
            )
        order_data = order_data["results"][0]
    found = Order.from_json(order_data)
    designs_data = _read_json(designs_file)
    if isinstance(designs_data, dict) and isinstance(designs_data.get("results"), list):
        designs_data = designs_data["results"]
    if isinstance(designs_data, dict):
        designs_data = [designs_data]
    if not isinstance(designs_data, list):
        raise BadResponse(f"{designs_file} holds no designs")
    designs = {d.id: d for d in (Design.from_json(x) for x in designs_data)}
    brand = brand_name or settings.brand or ""
    with make_store(settings, api_origin=None) as store:
        ticket = prepare_ticket(found, store, settings, brand=brand, designs=designs)
    renderer = Renderer(
        page_size=settings.page_size, template_dir=settings.template_dir, cache_dir=store.cache_dir
    )
    written = write_ticket(ticket, renderer, out_dir, html=html)
    _report(written)
    ctx.exit(0 if written.complete else EXIT_INCOMPLETE)


def _read_json(path: Path) -> Any:
    from .errors import BadResponse

    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise BadResponse(f"{path} is not valid JSON ({exc})") from None
    except OSError as exc:
        raise ProdsheetsError(f"cannot read {path}: {exc.strerror}") from None


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=8765, show_default=True, type=int, help="Port (0 picks a free one)."
)
@click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder with orders.json, designs.json and assets/ [default: the bundled samples].",
)
@click.option(
    "--token",
    "sandbox_token",
    default=None,
    help="Token the sandbox accepts [default sandbox-token].",
)
@click.option(
    "--brand", "sandbox_brand", default=None, help="Brand the sandbox serves [default acme-custom]."
)
@click.option(
    "--latency", "latency_ms", default=0.0, type=float, help="Milliseconds added to every request."
)
@click.option(
    "--fail-rate", default=0.0, type=click.FloatRange(0, 1), help="Share of requests answered 503."
)
@click.option(
    "--pagination",
    type=click.Choice(["offset", "echo"]),
    default="offset",
    show_default=True,
    help="How pagination.lastIndex is filled: the offset after the page, or the request's echo.",
)
@click.option(
    "--synthetic",
    "synthetic_orders",
    type=click.IntRange(min=1),
    default=None,
    help="Serve N generated orders (for benchmarks) instead of --data.",
)
@click.option("--seed", default=1, show_default=True, help="Seed for --synthetic and --fail-rate.")
def sandbox(
    host: str,
    port: int,
    data_dir: Path | None,
    sandbox_token: str | None,
    sandbox_brand: str | None,
    latency_ms: float,
    fail_rate: float,
    pagination: str,
    synthetic_orders: int | None,
    seed: int,
) -> None:
    """Run a local stand-in for the MyCustomizer API over the sample data.

    \b
    Examples:
      prodsheets sandbox --port 8765
      curl -H 'Authorization: Bearer sandbox-token' localhost:8765/brands/acme-custom/orders
      prodsheets sandbox --synthetic 300 --latency 50 --pagination echo
    """
    from .sandbox import DEFAULT_BRAND, DEFAULT_TOKEN, Sandbox

    data = _sandbox_data(data_dir, synthetic_orders, seed)
    server = Sandbox(
        data,
        host=host,
        port=port,
        token=sandbox_token or DEFAULT_TOKEN,
        brand=sandbox_brand or DEFAULT_BRAND,
        latency_ms=latency_ms,
        fail_rate=fail_rate,
        pagination=pagination,
        seed=seed,
    )
    click.echo(
        f"MyCustomizer sandbox on {server.url}: {len(data.orders)} orders, "
        f"{len(data.designs)} designs",
        err=True,
    )
    click.echo(
        f"  export PRODSHEETS_API_URL={server.url} PRODSHEETS_BRAND={server.brand} "
        f"PRODSHEETS_TOKEN={server.token}",
        err=True,
    )
    click.echo("  (Ctrl-C to stop)", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


def _date(end: bool):
    def convert(ctx: click.Context, param: click.Parameter, value: str | None):
        from .batch import parse_date

        if value is None:
            return None
        try:
            return parse_date(value, end=end)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None

    return convert


@main.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Print folder; each run writes into OUT/<YYYY-MM-DD>/.",
)
@click.option(
    "--since", callback=_date(False), help="Only orders dated on or after (YYYY-MM-DD or ISO)."
)
@click.option(
    "--until", callback=_date(True), help="Only orders dated on or before (YYYY-MM-DD or ISO)."
)
@click.option(
    "--status", "statuses", multiple=True, help="Only orders with this status (repeatable)."
)
@click.option(
    "--payment-status",
    "payment_statuses",
    multiple=True,
    help="Only orders with this payment status (repeatable) [default: paid].",
)
@click.option("--include-trial", is_flag=True, help="Also print trial orders.")
@click.option("--force", is_flag=True, help="Print again orders already printed.")
@click.option("--dry-run", is_flag=True, help="Say what would be printed; write nothing.")
@click.option(
    "--jobs",
    type=click.IntRange(min=0),
    default=0,
    help="Rendering processes [default: one per CPU].",
)
@click.option(
    "--state",
    "state_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="State file of printed orders [default: per brand in the user state folder].",
)
@click.option(
    "--combined/--no-combined",
    default=False,
    help="Also write combined.pdf: a summary page and every ticket, to print at once.",
)
@click.option(
    "--recheck-days",
    type=click.IntRange(min=0),
    default=14,
    show_default=True,
    help="Re-fetch the designs of printed orders this recent, to catch edited designs.",
)
@_layout_options
@click.pass_context
def batch(
    ctx: click.Context,
    out_dir: Path,
    since,
    until,
    statuses,
    payment_statuses,
    include_trial: bool,
    force: bool,
    dry_run: bool,
    jobs: int,
    state_path: Path | None,
    combined: bool,
    recheck_days: int,
    page_size: str | None,
    template_dir: Path | None,
    qr_template: str | None,
) -> None:
    """Print every new paid order into tonight's print folder.

    Safe to re-run (prints only what is new or changed; a changed order is marked
    REVISED) and safe to kill (no half-written PDF; the next run finishes the rest).
    The last line on stdout is the path of the run's manifest.json.

    \b
    Exit: 0 all printed complete, 3 some incomplete or failed, 1 could not start.
    \b
    Examples:
      prodsheets batch --out /srv/print
      prodsheets batch --out /srv/print --since 2026-11-01 --combined
      prodsheets batch --out /srv/print --dry-run
      # crontab: 30 2 * * *  prodsheets batch --out /srv/print --combined
    """
    from .api import ApiClient
    from .batch import Batch, BatchOptions
    from .tickets import validate_qr_template

    settings = _settings(
        ctx, qr_template=qr_template, page_size=page_size, template_dir=template_dir
    )
    validate_qr_template(settings.qr_template)
    api_url, brand, token = settings.require_api()
    options = BatchOptions(
        out_dir=out_dir,
        since=since,
        until=until,
        statuses=statuses,
        payment_statuses=payment_statuses or ("paid",),
        include_trial=include_trial,
        force=force,
        dry_run=dry_run,
        jobs=jobs,
        state_path=state_path,
        combined=combined,
        recheck_days=recheck_days,
    )
    with ApiClient(api_url, brand, token) as client:
        report = Batch(client, settings, options, brand=brand, progress=_progress()).run()
    ctx.exit(_report_batch(report))


def _progress():
    """A progress bar on stderr when it is a terminal; nothing otherwise (cron, CI)."""
    if not sys.stderr.isatty():
        return None
    state: dict[str, Any] = {}

    def update(report, total: int) -> None:
        bar = state.get("bar")
        if bar is None:
            bar = state["bar"] = click.progressbar(
                length=max(total, 1), label="printing", file=sys.stderr, show_pos=True
            )
        done = sum(
            report.counts[k] for k in ("printed", "incomplete", "failed", "still incomplete")
        )
        bar.update(done - bar.pos)
        if done >= total:
            bar.render_finish()

    return update


def _report_batch(report) -> int:
    """Summary on stderr, manifest path last on stdout; returns the exit code."""
    if report.manifest_path is None:  # dry run
        for label, action in report.planned:
            click.echo(f"{label}: would {action}")
        for skip in report.skipped:
            click.echo(f"{skip.get('order_name') or skip['order_id']}: skip ({skip['reason']})")
        click.echo(
            f"dry run: {len(report.planned)} to look at, {len(report.skipped)} skipped, "
            f"{report.counts['unchanged']} already printed; nothing written",
            err=True,
        )
        return 0
    counts = report.counts
    if report.recovered:
        click.echo(f"recovered {report.recovered} ticket(s) from an interrupted run", err=True)
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    for ticket in report.needs_attention:
        label = ticket["order_name"] or ticket["order_id"]
        click.echo(
            f"{ticket['status'].upper()}: {label}: " + "; ".join(ticket["problems"]), err=True
        )
    click.echo(
        f"printed {counts['printed']}, incomplete {counts['incomplete']}, "
        f"failed {counts['failed']}, "
        f"skipped {len(report.skipped)}, already printed {counts['unchanged']}"
        + (f", still incomplete {counts['still incomplete']}" if counts["still incomplete"] else "")
        + f" -> {report.run_dir}",
        err=True,
    )
    click.echo(str(report.manifest_path))
    if report.error:
        click.echo(f"Error: the run stopped early: {report.error}", err=True)
        return 1
    return EXIT_INCOMPLETE if report.needs_attention else 0


@main.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("out"),
    show_default=True,
    help="Where the demo's print folder goes.",
)
@click.pass_context
def demo(ctx: click.Context, out_dir: Path) -> None:
    """Try everything without an API key: start the sandbox over the bundled
    samples, run a nightly batch (with combined.pdf) into ./out, say where it went.

    \b
    Example:
      prodsheets demo && xdg-open out/*/combined.pdf
    """
    from .api import ApiClient
    from .batch import Batch, BatchOptions
    from .config import load_settings
    from .sandbox import Sandbox

    data = _sandbox_data(None, None, 1)
    with Sandbox(data, port=0) as server:
        click.echo(
            f"sandbox API on {server.url} (brand {server.brand}), {len(data.orders)} sample orders",
            err=True,
        )
        settings = load_settings(
            {"api_url": server.url, "brand": server.brand, "token": server.token},
            config_file=ctx.obj["config_file"],
        )
        options = BatchOptions(
            out_dir=out_dir, combined=True, state_path=out_dir / ".prodsheets-demo-state.sqlite3"
        )
        with ApiClient(server.url, server.brand, server.token) as client:
            report = Batch(
                client, settings, options, brand=server.brand, progress=_progress()
            ).run()
    code = _report_batch(report)
    if report.run_dir is not None:
        tickets = len([t for t in report.tickets if t.get("file")])
        if tickets:
            click.echo(
                f"demo: {tickets} tickets in {report.run_dir}/ (combined.pdf prints them all)",
                err=True,
            )
        else:
            click.echo(
                f"demo: every sample order is already printed in {out_dir}/; "
                f"delete {out_dir}/ to print them again",
                err=True,
            )
    ctx.exit(code)


def _sandbox_data(data_dir: Path | None, synthetic_orders: int | None, seed: int):
    from .paths import samples_dir
    from .sandbox import SandboxData

    if synthetic_orders:
        from .synthetic import synthetic_dataset

        return synthetic_dataset(synthetic_orders, seed=seed)
    folder = data_dir or samples_dir()
    try:
        return SandboxData.from_dir(folder)
    except (OSError, ValueError) as exc:
        raise ProdsheetsError(f"cannot load sandbox data from {folder}: {exc}") from None


if __name__ == "__main__":  # pragma: no cover
    main()
