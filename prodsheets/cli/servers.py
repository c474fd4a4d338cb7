"""``prodsheets sandbox``: the local stand-in for the MyCustomizer API."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import click

from ..errors import InputError
from . import main


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
