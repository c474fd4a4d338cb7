"""Stations for tests: the real app over a sandbox, served by Flask's test client or by
waitress in a thread (for the browser)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prodsheets.sandbox import Sandbox


def station_app(server: Sandbox, out: Path, cache: Path, **options):
    """A station over ``server`` (Flask's test client: ``app.test_client()``) and its desk.
    ``options``: ``password``, ``patience``, ``secret_key``, ``printer_opener``, and
    settings (``api_url``, ``qr_template``, ``printer``…)."""
    from prodsheets.config import Settings
    from prodsheets.station import Desk, Patience, create_app

    password = options.pop("password", None)
    patience = options.pop("patience", Patience())
    secret_key = options.pop("secret_key", b"k" * 32)
    desk_options = {k: options.pop(k) for k in ("printer_opener",) if k in options}
    settings = Settings(
        **{"api_url": server.url, "brand": server.brand, "token": server.token, **options},
        cache_dir=cache,
        station_password=password,
    )
    desk = Desk.from_settings(settings, out_dir=out, patience=patience, **desk_options)
    return create_app(desk, secret_key=secret_key, password=password), desk


@contextmanager
def serving(app, **options) -> Iterator[str]:
    """``app`` under waitress in a thread, as ``prodsheets serve`` runs it; yields its URL."""
    from prodsheets.station.serving import Server

    server = Server(app, "127.0.0.1", 0, **options).start()
    try:
        yield server.url
    finally:
        server.stop()


ORDER_1004 = "5e69254b7148411680000004"  # #1004: a guitar and, as item 2, a watch
WATCH = "5e74283608310f0017000003"


def change_1004(server: Sandbox, quantity: int, case: str | None = None) -> dict:
    """What a shop changes after #1004's ticket was printed: item 2's quantity and, with
    ``case``, its watch's first production-data value (``Case``). Returns the order."""
    order = copy.deepcopy(server.orders_by_id[ORDER_1004])
    order["items"][1]["quantity"] = quantity
    server.replace_order(order)
    if case is not None:
        design = copy.deepcopy(server.designs_by_id[WATCH])
        design["productionData"][0]["value"] = case
        server.replace_design(design)
    return order
