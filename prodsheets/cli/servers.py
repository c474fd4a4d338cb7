"""``prodsheets sandbox`` (the local stand-in for the MyCustomizer API) and
``prodsheets serve`` (the station page for the workshop floor)."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import click

from ..errors import InputError
from . import LAYOUT_OPTIONS, main, options, settings_for
from .printer import PRINTER_OPTION


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
@click.option(
    "--world",
    type=click.Choice(["realistic", "shared"]),
    default="realistic",
    show_default=True,
    help="--synthetic images: every design its own render and logo, or a shared handful.",
)
@click.option("--seed", default=1, show_default=True, help="Seed for --synthetic and --fail-rate.")
@click.option(
    "--count-requests",
    "count_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="On exit (Ctrl-C, SIGTERM) write the number of requests per path to this JSON file.",
)
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
    world: str,
    seed: int,
    count_file: Path | None,
) -> None:
    """Run a local stand-in for the MyCustomizer API over the sample data.

    \b
    Examples:
      prodsheets sandbox --port 8765
      curl -H 'Authorization: Bearer sandbox-token' localhost:8765/brands/acme-custom/orders
      prodsheets sandbox --synthetic 300 --latency 50 --pagination echo
      prodsheets sandbox --synthetic 1200 --world shared
    """
    from ..sandbox import DEFAULT_BRAND, DEFAULT_TOKEN, Sandbox

    data = sandbox_data(data_dir, synthetic_orders, seed, world)
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
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        if count_file is not None:
            count_file.write_text(json.dumps(dict(server.hits), indent=1), encoding="utf-8")


def sandbox_data(
    data_dir: Path | None, synthetic_orders: int | None, seed: int, world: str = "realistic"
):
    """The data a sandbox serves: generated, a folder, or the bundled samples."""
    from ..paths import samples_dir
    from ..sandbox import SandboxData

    if synthetic_orders:
        import os

        from ..synthetic import synthetic_dataset

        workers = os.cpu_count() or 1
        return synthetic_dataset(synthetic_orders, seed=seed, world=world, workers=workers)
    folder = data_dir or samples_dir()
    try:
        return SandboxData.from_dir(folder)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot load sandbox data from {folder}: {exc}") from None


@main.command()
@click.option(
    "--host", default="127.0.0.1", show_default=True,
    help="Address to listen on. Any other than this machine's own (127.0.0.1, ::1) "
    "needs a station password.",
)  # fmt: skip
@click.option(
    "--port", default=8080, show_default=True, type=click.IntRange(0, 65535),
    help="Port (0 picks a free one).",
)  # fmt: skip
@click.option(
    "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
    help="The batch's print folder: its runs are listed on /runs, and the station's "
    "tickets go to OUT/station/ [default: the user state folder].",
)  # fmt: skip
@click.option(
    "--trusted-proxy", metavar="ADDRESS",
    help="The reverse proxy in front (e.g. 127.0.0.1): its X-Forwarded-Proto, -Host and "
    "-For headers are believed, nobody else's.",
)  # fmt: skip
@click.option(
    "--url-prefix", default="", metavar="PATH",
    help="The path the proxy serves the station under, e.g. /station.",
)  # fmt: skip
@click.option(
    "--threads", default=4, show_default=True, type=click.IntRange(1, 64),
    help="Requests answered at once.",
)  # fmt: skip
@PRINTER_OPTION
@options(*LAYOUT_OPTIONS)
@click.pass_context
def serve(
    ctx: click.Context,
    host: str,
    port: int,
    out_dir: Path | None,
    trusted_proxy: str | None,
    url_prefix: str,
    threads: int,
    printer: str | None,
    **layout,
) -> None:
    """Run the station: a web page for the workshop floor.

    Scan a ticket's QR code (or type an order number) to see the order as it is
    now, whether the ticket in your hand is still current, and its ticket to
    preview, download or print (with a printer: --printer, PRODSHEETS_PRINTER).
    /runs lists the nightly runs in --out. Served by waitress; the URL is
    printed on stderr. It listens on this machine only unless --host says
    otherwise, which needs a station password (PRODSHEETS_STATION_PASSWORD, or
    station_password in prodsheets.toml): every page then asks for it.

    \b
    Examples:
      prodsheets serve                                # http://127.0.0.1:8080/
      prodsheets serve --out /srv/print --printer workshop
      PRODSHEETS_STATION_PASSWORD=… prodsheets serve --host 0.0.0.0 --port 8080
      prodsheets serve --trusted-proxy 127.0.0.1 --url-prefix /station  # behind nginx
    """
    from ..paths import default_state_dir
    from ..station import Desk, create_app
    from ..station.security import load_secret_key
    from ..station.serving import Server, is_loopback

    settings = settings_for(ctx, printer=printer, **layout)
    settings.require_api()
    if not is_loopback(host) and not settings.station_password:
        raise click.UsageError(
            f"serving on {host} lets other machines in: set a station password first "
            "(PRODSHEETS_STATION_PASSWORD, or station_password in prodsheets.toml)"
        )
    if url_prefix and not url_prefix.startswith("/"):
        raise click.BadParameter("must start with /, e.g. /station", param_hint="--url-prefix")
    try:
        secret = load_secret_key(default_state_dir() / "station.key")
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot keep the station's session key: {exc}") from None
    desk = Desk.from_settings(settings, out_dir=out_dir)
    try:
        app = create_app(desk, secret_key=secret, password=settings.station_password)
        try:
            server = Server(app, host, port, threads=threads, trusted_proxy=trusted_proxy,
                            url_prefix=url_prefix.rstrip("/"))  # fmt: skip
        except OSError as exc:
            raise InputError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
        login = " (station password required)" if settings.station_password else ""
        click.echo(f"prodsheets station on {server.url}{url_prefix.rstrip('/')}/{login}", err=True)
        if out_dir is not None:
            click.echo(f"  runs from {out_dir}; tickets in {desk.tickets_dir}", err=True)
        if desk.printer is None:
            click.echo("  no printer: Print ticket is off (--printer, PRODSHEETS_PRINTER)",
                       err=True)  # fmt: skip
        else:
            click.echo(f"  Print ticket sends to {desk.printer}", err=True)
        click.echo("  (Ctrl-C to stop)", err=True)
        server.serve_forever()
    finally:
        desk.close()
