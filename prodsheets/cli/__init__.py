"""The ``prodsheets`` command: parse options, call the library, print.

Exit codes, decided here for every command: 0 done; 3 done, but look (a ticket is
incomplete, an order failed, some REFs failed); 1 nothing could be done (one line on
stderr, never a traceback); 2 usage; 130 interrupted. stdout carries only the paths of
files written; everything else goes to stderr.

The commands live beside this file, a few lines each over the library:
``orders.py`` (order, render), ``nightly.py`` (batch, demo), ``printer.py`` (print, and
the --print options), ``servers.py`` (sandbox, serve).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .. import __version__, logs
from ..errors import ProdsheetsError

EXIT_LOOK = 3
EXIT_INTERRUPTED = 130


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
            import logging

            logging.getLogger("prodsheets").debug("internal error", exc_info=True)
            raise click.ClickException(
                f"internal error: {type(exc).__name__}: {exc} (run with -vv for details)"
            ) from None
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            raise SystemExit(EXIT_INTERRUPTED) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="prodsheets")
@click.option(
    "-v", "--verbose", count=True,
    help="More detail on stderr (-vv for debug, WeasyPrint's own messages). Never the token.",
)  # fmt: skip
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="TOML settings file (default: ./prodsheets.toml if present).",
)
@click.option(
    "--api-url", help="API base URL [env PRODSHEETS_API_URL; default https://api.mycustomizer.com]."
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
      prodsheets order 1001 --print --printer workshop   # and print it
      prodsheets batch --out /srv/print     # the nightly print folder
      prodsheets print --check --printer workshop        # can it print now?
      prodsheets serve --out /srv/print     # the station page for the workshop
      prodsheets sandbox                    # a local API to try it all
      prodsheets demo                       # sandbox + batch into ./out
    """
    logs.configure(logs.level_for(verbose))
    ctx.obj = {
        "flags": {"api_url": api_url, "brand": brand, "token": token},
        "config_file": config_file,
    }


def settings_for(ctx: click.Context, **more: Any):
    """The checked settings: flags given to this command win over everything."""
    from ..config import load_settings

    flags = {**ctx.obj["flags"], **{k: v for k, v in more.items() if v is not None}}
    return load_settings(flags, config_file=ctx.obj["config_file"])


def options(*decorators):
    """Apply a list of click options (shared between commands) in order."""

    def decorate(func):
        for decorator in reversed(decorators):
            func = decorator(func)
        return func

    return decorate


LAYOUT_OPTIONS = (
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
)


from . import nightly, orders, printer, servers  # noqa: E402  (the commands register on ``main``)

__all__ = ["main", "nightly", "orders", "printer", "servers"]

if __name__ == "__main__":  # pragma: no cover
    main()
