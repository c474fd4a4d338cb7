"""`prodsheets serve` as a shop runs it: the real command, and waitress behind a proxy."""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import socket
import stat
import subprocess
import sys
import threading

import requests

import pages
from stations import serving

PASSWORD = "correct horse battery"


def first_lines(stream, count: int, limit: float = 60.0) -> list[str]:
    """The first ``count`` lines of a child's stream (a deadline, so a broken start fails
    the test instead of hanging it)."""
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in stream], daemon=True).start()
    found = []
    with contextlib.suppress(queue.Empty):
        while len(found) < count:
            found.append(lines.get(timeout=limit))
    return found


def test_serve_prints_its_url_serves_and_stops_on_sigterm(sandbox, env_for, tmp_path):
    env = {**os.environ, **env_for(sandbox), "XDG_STATE_HOME": str(tmp_path / "state")}
    env.pop("PRODSHEETS_STATION_PASSWORD", None)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "prodsheets.cli", "serve", "--port", "0", "--out", str(out)]
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    try:
        lines = first_lines(process.stderr, 3)
        assert lines, "serve printed nothing"
        url = re.fullmatch(r"prodsheets station on (http://127\.0\.0\.1:\d+/)\n", lines[0])
        assert url, lines
        assert lines[1] == f"  runs from {out}; tickets in {out / 'station'}\n"
        home = requests.get(url.group(1), timeout=30)
        assert home.status_code == 200 and home.headers["Server"] == "prodsheets"
        assert "Order or QR code" in pages.read(home.text).text
        order = requests.get(url.group(1) + "orders/1001", timeout=60)
        assert order.status_code == 200 and "Item 1 of 1" in pages.read(order.text).text
        assert (out / "station" / "order-1001.pdf").is_file()
        key = tmp_path / "state" / "prodsheets" / "station.key"
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=60)
        process.stderr.close()
    assert code == 0


def test_a_port_in_use_is_one_line(sandbox, env_for, cli, tmp_path, monkeypatch):
    env_for(sandbox)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli("serve", "--port", str(port))
    assert result.exit_code == 1
    assert result.stderr == f"Error: cannot listen on 127.0.0.1:{port}: Address already in use\n"


def test_behind_a_reverse_proxy(shared_sandbox, make_station):
    """nginx in front: https and the client's address come in X-Forwarded-* headers,
    believed from the trusted proxy only; the station lives under /station."""
    app = make_station(shared_sandbox, password=PASSWORD)
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "shop.example",
                 "X-Forwarded-For": "203.0.113.9"}  # fmt: skip

    def log_in(base: str, password: str, headers: dict) -> requests.Response:
        page = requests.get(f"{base}/login", headers=headers, timeout=30)
        form = pages.read(page.text).form_with("Log in")
        assert form["action"] == "/station/login"
        # the cookie by hand: a browser on https sends a Secure cookie, requests on http not
        cookie = page.headers["Set-Cookie"].split(";")[0]
        return requests.post(f"{base}/login", data={**form["fields"], "password": password},
                             headers={**headers, "Cookie": cookie}, allow_redirects=False,
                             timeout=30)  # fmt: skip

    with serving(app, trusted_proxy="127.0.0.1", url_prefix="/station") as url:
        base = f"{url}/station"
        response = log_in(base, PASSWORD, forwarded)
        assert response.status_code == 302 and response.headers["Location"] == "/station/"
        assert "; Secure" in response.headers["Set-Cookie"]  # the browser is on https
        for _ in range(5):  # the client's address, not the proxy's, is locked out
            assert log_in(base, "guess", forwarded).status_code == 401
        assert log_in(base, PASSWORD, forwarded).status_code == 429
        other_client = {**forwarded, "X-Forwarded-For": "203.0.113.10"}
        assert log_in(base, PASSWORD, other_client).status_code == 302

    with serving(app, url_prefix="/station") as url:  # no trusted proxy: headers ignored
        response = log_in(f"{url}/station", PASSWORD, forwarded)
        assert response.status_code == 302
        assert "Secure" not in response.headers["Set-Cookie"]


def test_serve_help_has_examples(cli):
    result = cli("serve", "--help")
    assert result.exit_code == 0
    assert "prodsheets serve --out /srv/print" in result.stdout
    assert "--trusted-proxy" in result.stdout and "PRODSHEETS_STATION_PASSWORD" in result.stdout
