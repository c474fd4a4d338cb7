"""Stations for tests: the real app over a sandbox, served by Flask's test client or by
waitress in a thread (for the browser)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prodsheets.sandbox import Sandbox


def station_app(server: Sandbox, out: Path, cache: Path, **options):
    """A station over ``server`` (Flask's test client: ``app.test_client()``) and its desk.
    ``options``: ``password``, ``patience``, ``api_url``, ``qr_template``, ``secret_key``."""
    from prodsheets.config import Settings
    from prodsheets.station import Desk, Patience, create_app

    password = options.pop("password", None)
    patience = options.pop("patience", Patience())
    secret_key = options.pop("secret_key", b"k" * 32)
    settings = Settings(
        **{"api_url": server.url, "brand": server.brand, "token": server.token, **options},
        cache_dir=cache,
        station_password=password,
    )
    desk = Desk.from_settings(settings, out_dir=out, patience=patience)
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
