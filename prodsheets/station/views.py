"""The station's pages, a few lines each over ``Desk``.

    GET  /                         the box: ``Order or QR code``
    GET  /find?q=…                 what was typed or scanned -> the order or scan page
    GET  /orders/<ref>             an order by API id, number or #name, with its ticket
    GET  /scan/<order>/<item>[/<version>]   the same, with the verdict on the paper
    GET  /tickets/<file>.pdf       the station's ticket (download)
    GET  /tickets/<file>.pdf/page-<n>.png   its pages, rendered on the server
    GET  /assets/<file>            a design image or logo from the asset cache
    GET  /runs                     the nightly runs under --out, newest first
    GET  /runs/<folder>/<file>.pdf a ticket (or combined.pdf) of a run
    POST /orders/<api id>/print    Print ticket (with a printer set up), then back to
                                   the order page, which says how it went
    GET/POST /login, POST /logout  with a station password only

GET never changes anything and never prints; every POST carries the CSRF token
(``security.py``), and a print form also its own key, so a double click prints once.
Files are served only through ``files.resolve_under``. Errors become pages in ``app.py``.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from werkzeug.wrappers import Response as BaseResponse

from ..errors import SendUncertain
from ..images import PreparedImage
from ..models import url_filename
from ..pipeline import OrderRef
from ..scan import Scan, parse_scan
from .app import station
from .desk import OrderPage, Printed
from .files import resolve_under
from .runs import read_run, run_folders
from .security import password_matches

bp = Blueprint("station", __name__)

PDF = [".pdf"]
IMAGES = [".png", ".jpg", ".jpeg"]
RUNS_PER_PAGE = 10


@bp.get("/")
def home() -> str:
    return render_template("station/home.html")


@bp.get("/find")
def find() -> BaseResponse:
    text = request.args.get("q", "").strip()
    if not text:
        return redirect(url_for(".home"))
    found = station().desk.read(text)
    if isinstance(found, Scan):
        parts = [found.ref.value, str(found.item), *([found.version] if found.version else [])]
        return redirect(url_for(".scan", code="/".join(parts)))
    return redirect(url_for(".order", ref=found.value))


@bp.get("/orders/<ref>")
def order(ref: str) -> str:
    try:
        parsed = OrderRef.parse(ref)
    except ValueError:
        abort(404)
    return _order_page(station().desk.open_order(parsed))


@bp.get("/scan/<path:code>")
def scan(code: str) -> str:
    desk = station().desk
    return _order_page(desk.open_scan(parse_scan(request.url, [desk.settings.qr_template])))


def _order_page(page: OrderPage) -> str:
    pdf = page.written.path
    return render_template(
        "station/order.html",
        page=page,
        order=page.order,
        ticket=page.written.ticket,
        pdf=pdf.name,
        pdf_stamp=pdf.stat().st_mtime_ns,
        printer=station().desk.printer,
        print_key=secrets.token_urlsafe(16),  # this page's print button prints once
    )


@bp.post("/orders/<api_id>/print")
def print_ticket(api_id: str) -> BaseResponse:
    desk = station().desk
    key = request.form.get("print_key", "")
    if desk.printer is None:
        abort(404)
    if not key:
        abort(400, description="This form has expired. Reload the page and try again.")
    try:
        ref = OrderRef.parse(api_id)
    except ValueError:
        abort(404)
    printed = desk.print_order(ref, key)
    _say_how_printing_went(printed)
    return redirect(url_for(".order", ref=printed.order.api_id))


def _say_how_printing_went(printed: Printed) -> None:
    sent, error = printed.written.sent, printed.written.send_error
    if sent is not None and printed.repeat:
        flash(f"Already sent to {sent.printer} (job {sent.job_id}): not sent again.", "sent")
    elif sent is not None:
        flash(f"Sent to {sent.printer} (job {sent.job_id}): {sent.file}", "sent")
    elif isinstance(error, SendUncertain):  # the printer may have it: do not press again
        flash(f"Perhaps sent to {printed.printer}: {error}. Look at the printer before "
              "printing again.", "error")  # fmt: skip
    else:
        flash(f"Not sent to {printed.printer}: {error}", "error")
    for warning in printed.warnings:
        flash(f"Printer: {warning}", "warning")


@bp.get("/tickets/<name>")
def ticket(name: str) -> Response:
    path = resolve_under(station().desk.tickets_dir, name, PDF)
    return send_file(path, mimetype="application/pdf", as_attachment=True, download_name=path.name)


@bp.get("/tickets/<name>/page-<int:page>.png")
def preview(name: str, page: int) -> Response:
    current = station()
    path = resolve_under(current.desk.tickets_dir, name, PDF)
    response = Response(current.previews.page_png(path, page), mimetype="image/png")
    response.cache_control.private = True
    response.cache_control.no_cache = True
    return response


@bp.get("/assets/<name>")
def asset(name: str) -> Response:
    """Images are content-addressed in the cache: a name never changes its picture."""
    response = send_file(resolve_under(station().desk.assets_dir, name, IMAGES), max_age=86400)
    response.cache_control.public = False
    response.cache_control.private = True
    return response


@bp.get("/runs")
def runs() -> str:
    out = station().desk.out_dir
    page = max(1, request.args.get("page", 1, type=int) or 1)
    folders = run_folders(out) if out is not None else []
    start = (page - 1) * RUNS_PER_PAGE
    shown = [read_run(out, f) for f in folders[start : start + RUNS_PER_PAGE]] if out else []
    more = len(folders) > start + RUNS_PER_PAGE
    return render_template("station/runs.html", runs=shown, out=out, page=page, more=more)


@bp.get("/runs/<path:name>")
def run_file(name: str) -> Response:
    out = station().desk.out_dir
    if out is None:
        abort(404)
    path = resolve_under(out, name, PDF)
    return send_file(path, mimetype="application/pdf", download_name=path.name)


@bp.route("/login", methods=["GET", "POST"])
def login() -> BaseResponse | tuple[str, int] | str:
    current = station()
    wanted = _local_path(request.values.get("next"))
    if current.password is None:
        return redirect(url_for(".home"))
    if request.method == "GET":
        return render_template("station/login.html", next=wanted)
    address = request.remote_addr or "unknown"
    if current.throttle.locked(address):
        error = "Too many wrong passwords from this address. Wait five minutes."
        return render_template("station/login.html", next=wanted, error=error), 429
    if not password_matches(request.form.get("password", ""), current.password):
        current.throttle.failed(address)
        return render_template("station/login.html", next=wanted, error="Wrong password."), 401
    current.throttle.succeeded(address)
    session.clear()  # a new CSRF token with the new login
    session.permanent = True
    session["auth"] = current.login_tag
    return redirect(request.script_root + wanted)


@bp.post("/logout")
def logout() -> BaseResponse:
    session.clear()
    return redirect(url_for(".login"))


def _local_path(wanted: str | None) -> str:
    """Only a path on this station (never ``//evil.example``): no open redirect."""
    if (
        not wanted
        or not wanted.startswith("/")
        or wanted.startswith(("//", "/\\"))
        or any(ord(c) < 32 for c in wanted)
    ):
        return "/"
    return wanted


bp.add_app_template_filter(url_filename, "basename")  # as the ticket names an image


@bp.app_template_filter("asset_url")
def asset_url(image: PreparedImage | None) -> str | None:
    return url_for("station.asset", name=image.path.name) if image is not None else None


@bp.app_template_filter("when")
def when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M %Z").strip() if moment else "—"
