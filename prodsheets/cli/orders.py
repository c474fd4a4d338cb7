"""``prodsheets order`` and ``prodsheets render``: tickets for orders named by hand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ..errors import AuthError, ConfigError, InputError, ProdsheetsError, WrongBrandError
from . import EXIT_LOOK, LAYOUT_OPTIONS, main, options, settings_for
from .printer import PRINT_OPTIONS, SendLog, sender_for

OUTPUT_OPTIONS = (
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
        "--html", is_flag=True, help="Also write each ticket's self-contained HTML beside its PDF."
    ),
)
STOP_ALL = (AuthError, WrongBrandError, ConfigError)  # wrong for every REF alike


def _refs(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]):
    from ..pipeline import OrderRef

    try:
        return [OrderRef.parse(value) for value in values]
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def report_written(written, sends: SendLog | None = None) -> None:
    """Path on stdout; warnings, problems and how sending went on stderr."""
    click.echo(str(written.path))
    for warning in written.warnings:
        click.echo(f"warning: {written.order.label}: {warning}", err=True)
    if written.problems:
        click.echo(f"INCOMPLETE: {written.path} ({written.order.label}):", err=True)
        for problem in written.problems:
            click.echo(f"  - {problem}", err=True)
    if sends is not None and written.sent is not None:
        sends.sent(written.sent)
    elif sends is not None and written.send_error is not None:
        sends.failed(written.path.name, written.send_error)


@main.command()
@click.argument("refs", nargs=-1, required=True, metavar="REF...", callback=_refs)
@options(*OUTPUT_OPTIONS, *LAYOUT_OPTIONS, *PRINT_OPTIONS)
@click.pass_context
def order(ctx: click.Context, refs, out_dir: Path, html: bool, send: bool, printer: str | None,
          wait: bool, wait_timeout: float, **layout: Any) -> None:  # fmt: skip
    """Write the job ticket PDF of each order (and, with --print, print it).

    REF is the order's API id (5e69254b714841168b8d9825), its orderId (1001)
    or its shop order name ('#1001'). Prints the path of each PDF written.
    When some REFs fail, the others are still printed (exit 3). With --print
    each PDF goes to the printer once written (stderr: "sent order-1001.pdf to
    workshop (job 17)"); a ticket written but not sent is exit 3.

    \b
    Examples:
      prodsheets order 1001
      prodsheets order '#1001' 1002 -o tickets/ --page-size Letter
      prodsheets order 5e69254b714841168b8d9825 --qr-template '{order_id}/{item}'
      prodsheets order 1001 --print --printer workshop
      prodsheets order 1001 --print --printer ipp://printer.local/ipp/print --wait
    """
    from ..api import ApiClient
    from ..pipeline import find_order

    settings = settings_for(ctx, printer=printer, **layout)
    sender = sender_for(settings, wait=wait, wait_timeout=wait_timeout) if send or printer else None
    api_url, brand, token = settings.require_api()
    failures = incomplete = 0
    sends = SendLog() if sender is not None else None
    with (
        ApiClient(api_url, brand, token) as client,
        _pipeline(settings, client, sender=sender) as pipeline,
    ):
        for ref in refs:
            try:
                written = pipeline.write(find_order(client, ref), out_dir, html=html)
            except STOP_ALL:
                raise
            except ProdsheetsError as exc:
                if len(refs) == 1:
                    raise
                click.echo(f"Error: {ref.value}: {exc}", err=True)
                failures += 1
                continue
            report_written(written, sends)
            incomplete += not written.complete
    if failures == len(refs):
        ctx.exit(1)
    unsent = sends.trouble if sends is not None else 0
    ctx.exit(EXIT_LOOK if failures or incomplete or unsent else 0)


def _pipeline(settings, client=None, get_design=None, sender=None):
    from ..assets import AssetStore
    from ..designs import DesignSource
    from ..pipeline import Pipeline, Warming

    return Pipeline(
        designs=DesignSource(get_design or client.get_design),
        store=AssetStore.from_settings(settings, api_origin=client.origin if client else None),
        brand=(client.brand if client else settings.brand) or "",
        qr_template=settings.qr_template,
        renderer=Warming(lambda: _renderer(settings)),  # while the network works
        sender=sender,
        page_size=settings.page_size,
    )


def _renderer(settings):
    from ..render import Renderer

    return Renderer.from_settings(settings)


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
@options(*OUTPUT_OPTIONS, *LAYOUT_OPTIONS)
@click.pass_context
def render(
    ctx: click.Context,
    order_file: Path,
    designs_file: Path,
    brand_name: str | None,
    out_dir: Path,
    html: bool,
    **layout: Any,
) -> None:
    """Render a ticket offline from JSON saved from the API.

    For support and for people without API access: images are still downloaded
    from the MyCustomizer CDNs (allowed hosts only).

    \b
    Example:
      prodsheets render order.json --designs designs.json -o tickets/
    """
    from ..errors import NotFoundError
    from ..models import Design, Order

    settings = settings_for(ctx, brand=brand_name, **layout)
    order_data = _results(_read_json(order_file))
    if isinstance(order_data, list):
        if len(order_data) != 1:
            raise InputError(f"{order_file} lists {len(order_data)} orders; save just one")
        order_data = order_data[0]
    designs_data = _results(_read_json(designs_file))
    designs_data = [designs_data] if isinstance(designs_data, dict) else designs_data
    if not isinstance(designs_data, list):
        raise InputError(f"{designs_file} holds no designs")
    try:
        found = Order.from_json(order_data)
        designs = {d.api_id: d for d in (Design.from_json(x) for x in designs_data)}
    except ProdsheetsError as exc:
        raise InputError(f"{order_file} / {designs_file}: {exc}") from None

    def saved_design(api_id: str) -> Design:
        if api_id not in designs:
            raise NotFoundError(f"design {api_id} is not in {designs_file}", status=404)
        return designs[api_id]

    with _pipeline(settings, get_design=saved_design) as pipeline:
        written = pipeline.write(found, out_dir, html=html)
    report_written(written)
    ctx.exit(0 if written.complete else EXIT_LOOK)


def _results(data: Any) -> Any:
    """An API listing's ``results``, or the data as it is."""
    if isinstance(data, dict) and isinstance(data.get("results"), list):
        return data["results"]
    return data


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InputError(f"{path} is not valid JSON ({exc})") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None


@main.command()
@click.argument("payload")
@click.pass_context
def check(ctx: click.Context, payload: str) -> None:
    """Say whether a scanned ticket is still current.

    PAYLOAD is what the ticket's QR code says (a USB scanner types it) or a station
    URL. The order and its designs are fetched now and compared with the version
    printed in the code. Exit: 0 current, 3 out of date, 1 cannot tell.

    \b
    Examples:
      prodsheets check "$(zbarimg -q --raw ticket.png)"     # what the code says
      prodsheets check 'prodsheets:order=5e69…9825;item=1;design=5e74…de63;v=1a2b3c4d'
      prodsheets check http://station.local:8080/scan/5e69254b714841168b8d9825/1/1a2b3c4d
    """
    from ..api import ApiClient
    from ..designs import DesignSource
    from ..scan import check_now, parse_scan
    from ..versions import VersionArchive

    settings = settings_for(ctx)
    scan = parse_scan(payload, [settings.qr_template])
    api_url, brand, token = settings.require_api()
    with ApiClient(api_url, brand, token) as client, DesignSource(client.get_design) as designs:
        result = check_now(client, designs, scan, VersionArchive(settings.cache_dir))
    click.echo(result.line())
    ctx.exit(0 if result.current else EXIT_LOOK)
