"""A local stand-in for the MyCustomizer API, faithful to its documentation.

The real API is not reachable from CI or from a workshop trying the tool, so this
serves the four documented GET endpoints over real HTTP, with the documented
defaults, errors and quirks (including the two readings of ``pagination.lastIndex``),
plus the CDN that serves design images and logos. Tests, ``make demo`` and
``make bench`` all talk to it over loopback.

Only the standard library: a ``ThreadingHTTPServer`` with keep-alive.
"""

from __future__ import annotations

import json
import mimetypes
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_TOKEN = "sandbox-token"
DEFAULT_BRAND = "acme-custom"
CDN_PREFIXES = ("https://cdn1.mczr.co/", "https://cdnv2.mycustomizer.com/")
ORDER_SORT_KEYS = {"orderId": "orderId", "date": "date"}
DESIGN_SORT_KEYS = {"designId": "designId", "date": "createdAt", "createdAt": "createdAt"}


@dataclass
class SandboxData:
    """What the sandbox serves: orders and designs as the API shapes them, and CDN files."""

    orders: list[dict[str, Any]]
    designs: list[dict[str, Any]]
    assets: dict[str, bytes] = field(default_factory=dict)

    @classmethod
    def from_dir(cls, path: Path) -> SandboxData:
        """Load ``orders.json``, ``designs.json`` and every file under ``assets/``."""
        try:
            orders = json.loads((path / "orders.json").read_text(encoding="utf-8"))
            designs = json.loads((path / "designs.json").read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise FileNotFoundError(f"sandbox data incomplete: {exc.filename} is missing") from None
        assets = {}
        asset_dir = path / "assets"
        if asset_dir.is_dir():
            for file in sorted(asset_dir.rglob("*")):
                if file.is_file():
                    assets[file.name] = file.read_bytes()
        return cls(orders=orders, designs=designs, assets=assets)

    def to_dir(self, path: Path) -> None:
        """Write what ``from_dir`` reads (to keep a generated world for later runs)."""
        (path / "assets").mkdir(parents=True, exist_ok=True)
        for name, body in self.assets.items():
            (path / "assets" / name).write_bytes(body)
        (path / "designs.json").write_text(json.dumps(self.designs), encoding="utf-8")
        (path / "orders.json").write_text(json.dumps(self.orders), encoding="utf-8")


@dataclass
class _Injection:
    status: int
    remaining: int
    path_contains: str | None
    retry_after: str | None
    body: str


class Sandbox:
    """The server and its knobs. ``start()`` runs it in a background thread.

    ``inject()`` makes the next matching requests fail (for retry tests); ``hits``
    counts requests per path (for "fetched once" and "never contacted" checks).
    """

    def __init__(
        self,
        data: SandboxData,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str = DEFAULT_TOKEN,
        brand: str = DEFAULT_BRAND,
        latency_ms: float = 0.0,
        fail_rate: float = 0.0,
        pagination: str = "offset",
        seed: int = 0,
    ) -> None:
        if pagination not in ("offset", "echo"):
            raise ValueError("pagination must be 'offset' or 'echo'")
        self.data = data
        self.token = token
        self.brand = brand
        self.latency = latency_ms / 1000.0
        self.fail_rate = fail_rate
        self.pagination = pagination
        self.hits: Counter[str] = Counter()
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._injections: list[_Injection] = []
        self._server = _Server((host, port), _Handler)
        self._server.daemon_threads = True
        self._server.sandbox = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None
        self._index()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def _index(self) -> None:
        """Rewrite CDN links to this server and pre-sort, so requests only slice."""
        base = f"{self.url}/cdn/"

        def rewrite(value: Any) -> Any:
            if isinstance(value, str):
                for prefix in CDN_PREFIXES:
                    if value.startswith(prefix):
                        return base + value[len(prefix) :]
                return value
            if isinstance(value, list):
                return [rewrite(v) for v in value]
            if isinstance(value, dict):
                return {k: rewrite(v) for k, v in value.items()}
            return value

        self.orders = [rewrite(o) for o in self.data.orders]
        self.designs = [rewrite(d) for d in self.data.designs]
        self.orders_by_id = {str(o.get("_id")): o for o in self.orders}
        self.designs_by_id = {str(d.get("_id")): d for d in self.designs}

    def replace_order(self, order: dict[str, Any]) -> None:
        """Change or add an order while serving (tests of revised and new orders)."""
        with self._lock:
            self.data.orders = [o for o in self.data.orders if o.get("_id") != order["_id"]]
            self.data.orders.append(order)
            self._index()

    def replace_design(self, design: dict[str, Any]) -> None:
        with self._lock:
            self.data.designs = [d for d in self.data.designs if d.get("_id") != design["_id"]]
            self.data.designs.append(design)
            self._index()

    def inject(
        self,
        status: int,
        times: int = 1,
        *,
        path_contains: str | None = None,
        retry_after: str | None = None,
        body: str = "Service Unavailable",
    ) -> None:
        """Answer the next ``times`` matching requests with ``status``."""
        with self._lock:
            self._injections.append(_Injection(status, times, path_contains, retry_after, body))

    def _take_injection(self, path: str) -> _Injection | None:
        with self._lock:
            for injection in self._injections:
                if injection.remaining > 0 and (
                    injection.path_contains is None or injection.path_contains in path
                ):
                    injection.remaining -= 1
                    return injection
            if self.fail_rate and self._random.random() < self.fail_rate:
                return _Injection(503, 1, None, None, "Service Unavailable")
        return None

    def start(self) -> Sandbox:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up waiting (a timeout shorter than ``--latency``) is no
        error of the sandbox's: no traceback on stderr for it."""
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _BadParam(Exception):
    def __init__(self, message: str):
        self.message = message


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes
    server_version = "prodsheets-sandbox"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: never echo headers
        pass

    @property
    def sandbox(self) -> Sandbox:
        return self.server.sandbox  # type: ignore[attr-defined]

    def do_GET(self) -> None:
        sandbox = self.sandbox
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        with sandbox._lock:
            sandbox.hits[path] += 1
        if sandbox.latency:
            time.sleep(sandbox.latency)
        injection = sandbox._take_injection(path)
        if injection is not None:
            headers = {"Retry-After": injection.retry_after} if injection.retry_after else {}
            self._send_text(injection.status, injection.body, headers)
            return
        if path.startswith("/cdn/"):
            self._serve_asset(path[len("/cdn/") :])
            return
        segments = [s for s in path.split("/") if s]
        if len(segments) < 3 or segments[0] != "brands" or segments[2] not in ("orders", "designs"):
            self._send_text(404, "Not Found")
            return
        if self.headers.get("Authorization", "") != f"Bearer {sandbox.token}":
            self._send_text(401, "Invalid credentials")
            return
        if segments[1] != sandbox.brand:
            self._send_text(404, "Trying to launch invalid tenant.")
            return
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        try:
            if len(segments) == 3:
                self._send_json(200, self._listing(segments[2], query))
            elif len(segments) == 4:
                table = sandbox.orders_by_id if segments[2] == "orders" else sandbox.designs_by_id
                record = table.get(segments[3])
                if record is None:
                    self._send_text(404, "Not Found")
                else:
                    self._send_json(200, record)
            else:
                self._send_text(404, "Not Found")
        except _BadParam as exc:
            self._send_text(500, exc.message)

    def _listing(self, kind: str, query: dict[str, str]) -> dict[str, Any]:
        sandbox = self.sandbox
        if kind == "orders":
            records = sandbox.orders
            key_name = query.get("sortKey", "orderId")
            order = query.get("sortOrder", "descending")
            if key_name not in ORDER_SORT_KEYS or order not in ("ascending", "descending"):
                raise _BadParam(f"Invalid sort value: {{ {key_name}: {order} }}")
            field_name = ORDER_SORT_KEYS[key_name]
            descending = order == "descending"
        else:
            records = sandbox.designs
            key_name = query.get("sortKey", "designId")
            backwards = query.get("backwards", "false").lower()
            if key_name not in DESIGN_SORT_KEYS or backwards not in ("true", "false"):
                raise _BadParam(f"Invalid sort value: {{ {key_name}: {backwards} }}")
            field_name = DESIGN_SORT_KEYS[key_name]
            descending = backwards == "true"
            order = "descending" if descending else "ascending"
        count = _int_param(query, "count", 25)
        last_index = _int_param(query, "lastIndex", 0)
        total = len(records)
        if count <= 0 or last_index < 0 or last_index > total:
            raise _BadParam("Bad request param")
        ordered = sorted(records, key=lambda r: _sort_value(r.get(field_name)), reverse=descending)
        page = ordered[last_index : last_index + count]
        reported = last_index + len(page) if sandbox.pagination == "offset" else last_index
        return {
            "pagination": {
                "collectionSize": total,
                "resultSize": len(page),
                "lastIndex": reported,
                "sortOrder": order,
                "sortKey": key_name,
            },
            "results": page,
        }

    def _serve_asset(self, name: str) -> None:
        body = self.sandbox.data.assets.get(name.rsplit("/", 1)[-1])
        if body is None:
            self._send_text(404, "Not Found")
            return
        ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
        self._send(200, body, ctype, {"Cache-Control": "public, max-age=31536000"})

    def _send_json(self, status: int, payload: Any) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self._send(status, body, "application/json; charset=utf-8")

    def _send_text(self, status: int, text: str, headers: dict[str, str] | None = None) -> None:
        self._send(status, text.encode("utf-8"), "text/plain; charset=utf-8", headers)

    def _send(
        self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)


def _int_param(query: dict[str, str], name: str, default: int) -> int:
    if name not in query:
        return default
    try:
        return int(query[name])
    except ValueError:
        raise _BadParam("Bad request param") from None


def _sort_value(value: Any) -> tuple[int, Any]:
    """Numbers before strings before missing, so mixed data still sorts."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, value)
    if isinstance(value, str):
        return (1, value)
    return (2, "")
