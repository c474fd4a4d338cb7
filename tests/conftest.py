"""Shared fixtures: a real sandbox over loopback, settings pointing at it, a CLI runner,
and real print servers (an IPP printer emulator, a CUPS scheduler)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from prodsheets.sandbox import DEFAULT_BRAND, DEFAULT_TOKEN, Sandbox, SandboxData

from printers import PrintServers, missing_programs
from stations import station_app

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"


@pytest.fixture(scope="session")
def sample_data() -> SandboxData:
    return SandboxData.from_dir(SAMPLES)


@pytest.fixture(scope="session")
def sample_orders() -> list[dict]:
    return json.loads((SAMPLES / "orders.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def sample_designs() -> dict[str, dict]:
    designs = json.loads((SAMPLES / "designs.json").read_text(encoding="utf-8"))
    return {d["_id"]: d for d in designs}


@pytest.fixture(scope="session")
def shared_sandbox(sample_data):
    """One read-only sandbox for tests that do not change or break it."""
    with Sandbox(copy.deepcopy(sample_data)) as server:
        yield server


@pytest.fixture
def sandbox(sample_data):
    """A private sandbox a test may change (inject failures, replace orders)."""
    with Sandbox(copy.deepcopy(sample_data)) as server:
        yield server


@pytest.fixture
def make_sandbox(sample_data):
    """Build sandboxes with options (pagination style, data, latency)."""
    servers = []

    def make(data: SandboxData | None = None, **options) -> Sandbox:
        server = Sandbox(copy.deepcopy(data or sample_data), **options).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def env_for(tmp_path, monkeypatch):
    """Point the environment at a sandbox, with a private asset cache."""

    def point(server: Sandbox, **extra: str) -> dict[str, str]:
        env = {
            "PRODSHEETS_API_URL": server.url,
            "PRODSHEETS_BRAND": DEFAULT_BRAND,
            "PRODSHEETS_TOKEN": DEFAULT_TOKEN,
            "PRODSHEETS_CACHE_DIR": str(tmp_path / "cache"),
            **extra,
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        return env

    for variable in ("PRODSHEETS_QR_TEMPLATE", "PRODSHEETS_ASSET_HOSTS", "PRODSHEETS_PRINTER",
                     "PRODSHEETS_PRINTER_FINGERPRINT", "PRODSHEETS_STATION_PASSWORD"):  # fmt: skip
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.chdir(tmp_path)
    return point


@pytest.fixture
def run_batch(env_for, cli, tmp_path):
    """Run a batch against ``server`` into tmp/print with a private state file; returns
    the result and the run's manifest (``_path``: where it is), or None."""

    def run(server: Sandbox, *args: str):
        env_for(server)
        result = cli("batch", "--out", str(tmp_path / "print"), "--state",
                     str(tmp_path / "state.sqlite3"), "--jobs", "1", *args)  # fmt: skip
        manifest = None
        lines = result.stdout.strip().splitlines()
        if lines and lines[-1].endswith("manifest.json"):
            manifest = json.loads(Path(lines[-1]).read_text())
            manifest["_path"] = Path(lines[-1])
        return result, manifest

    return run


@pytest.fixture
def make_station(tmp_path):
    """Build stations over sandboxes; each writes under this test's tmp folder."""
    desks = []

    def make(server: Sandbox, **options):
        app, desk = station_app(server, tmp_path / "out", tmp_path / "cache", **options)
        desks.append(desk)
        return app

    yield make
    for desk in desks:
        desk.close()


@pytest.fixture
def cli():
    """Run ``prodsheets`` in-process; stdout and stderr are kept apart."""
    from prodsheets.cli import main

    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(main, list(args), catch_exceptions=False)

    return run


class _Routes:
    """A tiny HTTP server with canned answers that counts every hit: for hostile
    assets (redirects, huge files, not-images) and for proving an address is never
    contacted."""

    def __init__(self) -> None:
        import threading
        from collections import Counter
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
        hits: Counter[str] = Counter()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                hits[self.path] += 1
                status, headers, body = routes.get(self.path, (404, {}, b"Not Found"))
                self.send_response(status)
                chunked = headers.get("Transfer-Encoding") == "chunked"
                if not chunked:
                    headers = {"Content-Length": str(len(body)), **headers}
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                if not chunked:
                    self.wfile.write(body)
                    return
                for start in range(0, len(body), 1024):  # no length announced anywhere
                    piece = body[start : start + 1024]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                self.wfile.write(b"0\r\n\r\n")

        self.routes = routes
        self.hits = hits
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def total_hits(self) -> int:
        return sum(self.hits.values())

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def routes():
    server = _Routes()
    yield server
    server.stop()


@pytest.fixture
def listener():
    """An address that must never be contacted: every hit is counted."""
    server = _Routes()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def print_servers():
    """A private D-Bus and cupsd for the session (printers and queues are per test).
    Fails, never skips, when a program is missing: CI must have installed them."""
    missing = missing_programs()
    if missing:
        pytest.fail(f"print servers cannot start, missing: {', '.join(missing)} "
                    "(.ci/run installs them)")  # fmt: skip
    servers = PrintServers().start()
    yield servers
    servers.close()


@pytest.fixture
def printer(print_servers):
    """A fresh emulated IPP Everywhere printer that accepts PDF."""
    emulator = print_servers.printer()
    yield emulator
    emulator.stop()


@pytest.fixture
def cups(print_servers, monkeypatch):
    """``lp``, ``lpstat`` and ``lpoptions`` (the product's too) talk to the test cupsd."""
    monkeypatch.setenv("CUPS_SERVER", print_servers.cups_server)
    return print_servers


@pytest.fixture
def print_order(make_sandbox, env_for, cli, tmp_path):
    """Print an order of one design made for the test (``orders.one_design``: entries,
    logos, texts, design image…) through `prodsheets order`, against a sandbox serving
    it. Returns (result, pdf path or None)."""
    from orders import one_design

    def run(*, page_size: str = "A4", args: tuple[str, ...] = (), **design):
        server = make_sandbox(one_design(**design))
        env_for(server)
        out = tmp_path / f"out-{page_size}"
        result = cli("order", "9001", "-o", str(out), "--page-size", page_size, *args)
        paths = [Path(line) for line in result.stdout.splitlines() if line.strip()]
        return result, (paths[0] if paths else None)

    return run
