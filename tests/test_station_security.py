"""The station's locks: the password, the session cookie, CSRF, the security headers, and
files that never leave their folders."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from werkzeug.exceptions import NotFound

from prodsheets.station.files import resolve_under
from prodsheets.station.security import LoginThrottle, load_secret_key
from prodsheets.station.serving import is_loopback

import pages

PASSWORD = "correct horse battery"
PAGES = ["/", "/runs", "/find?q=1001", "/orders/1001", "/login", "/nope", "/find?q=%23"]


def login(client, password: str = PASSWORD, next_page: str = "/", **environ):
    form = pages.read(client.get(f"/login?next={quote(next_page)}").text).form_with("Log in")
    data = {**form["fields"], "password": password}
    return client.post("/login", data=data, environ_base=environ)


def csrf_of(client, url: str = "/") -> str:
    return pages.read(client.get(url).text).form_with("Log out")["fields"]["csrf_token"]


def test_security_headers_and_no_inline_code(shared_sandbox, make_station):
    client = make_station(shared_sandbox).test_client()
    for url in [*PAGES, "/static/station.css", "/static/station.js"]:
        response = client.get(url)
        headers = response.headers
        assert headers["Content-Security-Policy"].startswith("default-src 'self';"), url
        assert "unsafe-inline" not in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers.get("Server") is None  # waitress adds its own ident: "prodsheets"
        if response.mimetype == "text/html":
            assert headers["Cache-Control"] == "no-store"  # customer data stays off disks
            html = response.text
            assert "<script>" not in html and not re.search(r"<[^>]+\s(style|on\w+)=", html)
            assert html.count("<script") == html.count('<script src="/static/station.js"')


def test_a_password_puts_every_page_and_file_behind_a_login(shared_sandbox, make_station):
    app = make_station(shared_sandbox, password=PASSWORD)
    inside = app.test_client()
    assert login(inside).status_code == 302
    order = pages.read(inside.get("/orders/1004").text)
    files = [src for src, _ in order.images if not src.startswith("/static/")]
    files.append(order.link("Download PDF"))
    assert len(files) >= 4 and all(inside.get(f).status_code == 200 for f in files)

    stranger = app.test_client()
    for url in [*PAGES[:4], "/scan/5e69254b7148411680000004/1", *files]:
        if url == "/login":
            continue
        response = stranger.get(url)
        assert response.status_code == 302, url
        where = urlsplit(response.headers["Location"])
        assert (where.path, parse_qs(where.query)["next"]) == ("/login", [url])
    assert stranger.get("/static/station.css").status_code == 200  # the login page's style
    assert stranger.post("/logout").status_code == 401
    page = pages.read(stranger.get("/login").text)
    assert "Station password" in page.text and "Order or QR code" not in page.text
    wrong = login(stranger, "not the password")
    assert wrong.status_code == 401 and "Wrong password." in pages.read(wrong.text).text

    right = login(stranger, next_page="/runs")
    assert (right.status_code, right.headers["Location"]) == (302, "/runs")
    cookie = right.headers["Set-Cookie"]
    assert cookie.startswith("prodsheets_station=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert stranger.get("/orders/1001").status_code == 200
    token = csrf_of(stranger)
    assert stranger.post("/logout", data={"csrf_token": token}).status_code == 302
    assert stranger.get("/").status_code == 302


def test_every_post_needs_the_sessions_csrf_token(shared_sandbox, make_station):
    client = make_station(shared_sandbox, password=PASSWORD).test_client()
    assert client.post("/login", data={"password": PASSWORD}).status_code == 400
    assert login(client).status_code == 302
    for data in ({}, {"csrf_token": "forged"}, {"csrf_token": ""}):
        refused = client.post("/logout", data=data)
        assert refused.status_code == 400
        assert "This form has expired. Reload the page" in pages.read(refused.text).text
    assert client.get("/").status_code == 200  # still logged in
    assert client.get("/logout").status_code == 405
    assert client.post("/orders/1001").status_code == 405


def test_wrong_passwords_lock_an_address_out(shared_sandbox, make_station):
    client = make_station(shared_sandbox, password=PASSWORD).test_client()
    here = {"REMOTE_ADDR": "192.0.2.10"}
    for _ in range(5):
        assert login(client, "guess", **here).status_code == 401
    locked = login(client, PASSWORD, **here)
    assert locked.status_code == 429
    assert "Too many wrong passwords from this address." in pages.read(locked.text).text
    assert login(client, PASSWORD, REMOTE_ADDR="192.0.2.11").status_code == 302


def test_login_throttle_forgets_after_the_window():
    now = [1000.0]
    throttle = LoginThrottle(limit=2, window=60, clock=lambda: now[0])
    throttle.failed("a")
    throttle.failed("a")
    assert throttle.locked("a") and not throttle.locked("b")
    now[0] += 61
    assert not throttle.locked("a")


@pytest.mark.parametrize(
    ("wanted", "lands_on"),
    [("/runs", "/runs"), ("//evil.example/x", "/"), ("https://evil.example/", "/"),
     ("/\\evil.example", "/"), ("runs", "/")],
)  # fmt: skip
def test_login_never_redirects_off_the_station(shared_sandbox, make_station, wanted, lands_on):
    client = make_station(shared_sandbox, password=PASSWORD).test_client()
    assert login(client, next_page=wanted).headers["Location"] == lands_on


def test_a_new_password_logs_everybody_out(shared_sandbox, make_station):
    first = make_station(shared_sandbox, password=PASSWORD)
    client = first.test_client()
    login(client)
    cookie = client.get_cookie("prodsheets_station").value
    second = make_station(shared_sandbox, password="another password").test_client()
    second.set_cookie("prodsheets_station", cookie)
    assert second.get("/").status_code == 302
    again = make_station(shared_sandbox, password=PASSWORD).test_client()
    again.set_cookie("prodsheets_station", cookie)
    assert again.get("/").status_code == 200  # same password and key: still logged in


def test_files_never_leave_their_folders(shared_sandbox, make_station, tmp_path):
    app = make_station(shared_sandbox)
    client = app.test_client()
    order = pages.read(client.get("/orders/1001").text)
    ticket, asset = order.link("Download PDF"), order.images[0][0]
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.pdf").write_bytes(b"%PDF-1.7 secret")
    (outside / "manifest.json").write_text('{"tickets": []}')
    out = tmp_path / "out"
    run = out / "2026-11-26"
    run.mkdir()
    (run / "order-1.pdf").write_bytes(b"%PDF-1.7 ticket")
    (run / "notes.txt").write_text("not a PDF")
    (run / "manifest.json").write_text('{"tickets": []}')
    os.symlink(outside / "secret.pdf", run / "leak.pdf")
    os.symlink(outside, out / "2026-11-27")
    os.symlink(outside / "secret.pdf", out / "station" / "leak.pdf")
    os.symlink("/etc/passwd", out / "station" / "passwd.pdf")

    assert client.get(ticket).status_code == 200
    assert client.get(asset).status_code == 200
    assert client.get("/runs/2026-11-26/order-1.pdf").data == b"%PDF-1.7 ticket"
    refused = [
        "/runs/2026-11-26/leak.pdf", "/runs/2026-11-27/secret.pdf", "/runs/2026-11-26/notes.txt",
        "/runs/2026-11-26/manifest.json", "/runs/2026-11-26", "/runs/../outside/secret.pdf",
        "/runs/%2e%2e/outside/secret.pdf", "/runs/2026-11-26/..%2f..%2foutside%2fsecret.pdf",
        f"/runs/{quote(str(outside / 'secret.pdf'), safe='')}", "/runs//etc/passwd",
        "/tickets/leak.pdf", "/tickets/passwd.pdf", "/tickets/..%2F2026-11-26%2Forder-1.pdf",
        "/tickets/leak.pdf/page-1.png", f"/tickets/{quote(str(outside / 'secret.pdf'), safe='')}",
        "/assets/..%2f..%2fout%2f2026-11-26%2forder-1.pdf", "/assets/%2Fetc%2Fpasswd",
        "/assets/station.css", "/runs/2026-11-26/order-1.pdf%00.txt",
    ]  # fmt: skip
    for url in refused:
        response = client.get(url, follow_redirects=True)  # '//' is merged by a redirect
        assert response.status_code == 404, url
        assert b"secret" not in response.data and b"root:" not in response.data
    runs = pages.read(client.get("/runs").text)
    assert "2026-11-26" in runs.text and "2026-11-27" not in runs.text  # a link out is no run


@pytest.mark.parametrize(
    "name",
    ["../secret.pdf", "/etc/passwd", "a/../../secret.pdf", "", ".", "sub", "x\x00.pdf",
     "link.pdf", "ok.txt"],
)  # fmt: skip
def test_resolve_under_refuses(tmp_path, name):
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (tmp_path / "secret.pdf").write_bytes(b"%PDF")
    (root / "ok.txt").write_text("x")
    os.symlink(tmp_path / "secret.pdf", root / "link.pdf")
    with pytest.raises(NotFound):
        resolve_under(root, name, [".pdf"])


def test_resolve_under_allows_links_that_stay_inside(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.PDF").write_bytes(b"%PDF")
    os.symlink(tmp_path / "sub" / "a.PDF", tmp_path / "b.pdf")
    assert resolve_under(tmp_path, "b.pdf", [".pdf"]) == tmp_path / "sub" / "a.PDF"


def test_serve_refuses_other_addresses_without_a_password(sandbox, env_for, cli, monkeypatch):
    env_for(sandbox)
    result = cli("serve", "--host", "0.0.0.0", "--port", "0")
    assert result.exit_code == 2
    assert "serving on 0.0.0.0 lets other machines in: set a station password first" in (
        result.stderr
    )
    monkeypatch.setenv("PRODSHEETS_STATION_PASSWORD", "short")
    result = cli("serve", "--host", "0.0.0.0", "--port", "0")
    assert result.exit_code == 1
    assert "the station password must be text of at least 8 characters" in result.stderr


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("[::1]", True),
     ("localhost", True), ("0.0.0.0", False), ("::", False), ("192.168.1.20", False),
     ("station.local", False)],
)  # fmt: skip
def test_which_addresses_need_a_password(host, loopback):
    assert is_loopback(host) is loopback


def test_the_session_key_is_kept_private(tmp_path):
    path = tmp_path / "state" / "station.key"
    key = load_secret_key(path)
    assert len(key) == 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o644)
    assert load_secret_key(path) == key and stat.S_IMODE(path.stat().st_mode) == 0o600
    Path(path).write_bytes(b"short")
    with pytest.raises(ValueError, match="holds no usable key"):
        load_secret_key(path)
