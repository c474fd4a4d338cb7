"""What keeps the station's customer data and printer to the people at the bench.

- **Sessions.** Flask's signed session cookie (HttpOnly, SameSite=Lax, Secure whenever
  the request came over https, directly or through a trusted proxy), signed with a key
  kept in a 0600 file so a restart does not log everybody out. The cookie is signed,
  not encrypted: nothing secret goes in it.
- **Password.** With a station password every page and file needs a login; the
  session remembers an HMAC of the password, so changing the password logs everybody
  out. Five wrong passwords from one address in five minutes lock that address out
  for five minutes.
- **CSRF.** Every POST carries the session's token (a hidden ``csrf_token`` field);
  a POST without it, or with another, is refused (400). GET never changes anything.
- **Headers.** A Content-Security-Policy that allows only the station's own files (no
  inline script, no CDN), ``nosniff``, no framing, no referrer to other sites, and no
  caching of pages that show customer data.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from pathlib import Path

from flask import Flask, Response, abort, request, session
from flask.sessions import SecureCookieSessionInterface

CSP = (
    "default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_FIELD = "csrf_token"
PUBLIC_ENDPOINTS = frozenset({"station.login", "static"})


def load_secret_key(path: Path) -> bytes:
    """The key that signs session cookies: read from ``path``, or made and kept there
    (0600, created exclusively so two stations starting at once agree)."""
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(32)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return load_secret_key(path)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key)
            fh.flush()
            os.fsync(fh.fileno())
        return key
    if len(key) < 32:
        raise ValueError(f"{path} holds no usable key; delete it to make a new one")
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o600)
    return key


def csrf_token() -> str:
    """This session's CSRF token (made on first use); for the templates' forms."""
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def check_csrf() -> None:
    """Refuse (400) a state-changing request that does not carry the session's token."""
    if request.method not in UNSAFE_METHODS or request.routing_exception is not None:
        return  # a POST to no such page is a 404 or 405, nothing to protect
    sent = request.form.get(CSRF_FIELD, "")
    good = session.get("csrf", "")
    if not good or not hmac.compare_digest(sent.encode(), good.encode()):
        abort(400, description="This form has expired. Reload the page and try again.")


def password_tag(secret: bytes, password: str) -> str:
    """What a logged-in session remembers: proof of the password, not the password."""
    return hmac.new(secret, b"station-login:" + password.encode(), hashlib.sha256).hexdigest()


def password_matches(given: str, expected: str) -> bool:
    """Constant time, whatever the lengths."""
    digest = hashlib.sha256
    return hmac.compare_digest(digest(given.encode()).digest(), digest(expected.encode()).digest())


class LoginThrottle:
    """Wrong passwords per client address: ``limit`` in ``window`` seconds locks it out
    until the oldest of them is ``window`` seconds old."""

    def __init__(
        self, limit: int = 5, window: float = 300.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._failures: defaultdict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def locked(self, address: str) -> bool:
        with self._lock:
            failures = self._failures[address]
            cutoff = self._clock() - self.window
            while failures and failures[0] < cutoff:
                failures.popleft()
            if not failures:
                del self._failures[address]
            return len(failures) >= self.limit

    def failed(self, address: str) -> None:
        with self._lock:
            self._failures[address].append(self._clock())

    def succeeded(self, address: str) -> None:
        with self._lock:
            self._failures.pop(address, None)


class _SessionInterface(SecureCookieSessionInterface):
    """Secure cookies whenever the page itself came over https."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return request.is_secure or super().get_cookie_secure(app)


def secure(app: Flask) -> None:
    """Cookie settings, CSRF and the security headers, for every response."""
    app.session_interface = _SessionInterface()
    app.config.update(
        SESSION_COOKIE_NAME="prodsheets_station",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        MAX_CONTENT_LENGTH=64 * 1024,  # the station's forms are a few fields
    )
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.before_request(check_csrf)

    @app.after_request
    def headers(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if response.mimetype == "text/html":
            response.headers["Cache-Control"] = "no-store"
        return response
