"""The station's Flask application: ``create_app(desk, secret_key=…, password=…)``.

The factory wires the parts: the pages (``views.py``), the security layer
(``security.py``: cookies, CSRF, headers; with a password a login before anything
else), and one place that turns every failure into a readable page. A failure the
station understands (the ``errors.py`` tree) says what happened in the same words the
commands use, with the status that fits; anything else is logged with its traceback
on the server and shown as a plain "something went wrong", never as a traceback. No
page, header or cookie ever holds the API token: it lives in the ``ApiClient`` only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from flask import Flask, current_app, redirect, render_template, request, session, url_for
from werkzeug.exceptions import HTTPException, Unauthorized
from werkzeug.wrappers import Response

from ..errors import (
    ApiError,
    ApiUnreachable,
    AssetError,
    NotFoundError,
    ProdsheetsError,
    ScanError,
)
from .desk import Desk
from .files import Previews
from .security import PUBLIC_ENDPOINTS, LoginThrottle, password_tag, secure

log = logging.getLogger(__name__)

SESSION_HOURS = 12  # a shift: log in once at the start of it

# (error type, HTTP status, page title): the first type that matches wins.
ERROR_PAGES: tuple[tuple[type[ProdsheetsError], int, str], ...] = (
    (NotFoundError, 404, "Order not found"),
    (ScanError, 400, "Not an order or ticket code"),
    (ApiUnreachable, 504, "The MyCustomizer API did not answer"),
    (ApiError, 502, "The MyCustomizer API could not give the order"),
    (AssetError, 502, "An image of the order could not be fetched"),
    (ProdsheetsError, 500, "The ticket could not be made"),
)
HTTP_TITLES = {
    400: "Bad request",
    401: "Please log in",
    404: "Not found",
    405: "Not allowed",
    413: "Too large",
    429: "Too many attempts",
}


@dataclass
class Station:
    """What the views share: the desk, the previews, and the login settings."""

    desk: Desk
    secret_key: bytes
    password: str | None = None
    previews: Previews = field(default_factory=Previews)
    throttle: LoginThrottle = field(default_factory=LoginThrottle)

    @property
    def login_tag(self) -> str | None:
        return password_tag(self.secret_key, self.password) if self.password else None


def station() -> Station:
    return current_app.extensions["prodsheets.station"]


def create_app(desk: Desk, *, secret_key: bytes, password: str | None = None) -> Flask:
    """The station for ``desk``; with ``password`` every page and file needs a login."""
    from . import views

    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secret_key, PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS)
    )
    app.extensions["prodsheets.station"] = Station(desk, secret_key, password)
    if password:
        app.before_request(_require_login)  # before the CSRF check: strangers get a login
    secure(app)
    app.register_blueprint(views.bp)
    app.register_error_handler(ProdsheetsError, _prodsheets_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _internal_error)

    @app.context_processor
    def common() -> dict:
        current = station()
        return {"brand": current.desk.brand, "login_needed": current.password is not None}

    return app


def _require_login() -> Response | None:
    if request.endpoint in PUBLIC_ENDPOINTS or session.get("auth") == station().login_tag:
        return None
    if request.method == "GET":
        wanted = request.full_path.rstrip("?")
        return redirect(url_for("station.login", next=wanted))
    raise Unauthorized(description="Log in to the station first.")


def _prodsheets_error(exc: ProdsheetsError) -> tuple[str, int]:
    status, title = next((s, t) for kind, s, t in ERROR_PAGES if isinstance(exc, kind))
    if status >= 500:
        log.warning("%s: %s", request.path, exc)
    return render_template("station/error.html", title=title, message=str(exc)), status


def _http_error(exc: HTTPException) -> Response | tuple[str, int]:
    if exc.code is None or exc.code < 400:  # a redirect raised as an exception
        return exc.get_response()
    title = HTTP_TITLES.get(exc.code, exc.name)
    return render_template("station/error.html", title=title, message=exc.description), exc.code


def _internal_error(exc: Exception) -> tuple[str, int]:
    log.error("internal error on %s", request.path, exc_info=exc)
    message = "Something went wrong on the station. The details are in the station's log."
    return render_template("station/error.html", title="Station error", message=message), 500
