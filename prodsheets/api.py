"""HTTP client for the MyCustomizer REST API, and nothing else.

One pooled ``requests.Session``, a timeout on every call, retries with exponential
backoff where retrying can help (connection errors, 429, 502, 503, 504, honouring
``Retry-After``), and every failure mapped onto the exception tree of ``errors.py``.

The token lives in the session's headers only: it is never part of a message, a log
line or a repr.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from . import __version__
from .errors import (
    ApiError,
    ApiUnreachable,
    AuthError,
    BadResponse,
    NotFoundError,
    ServerError,
    WrongBrandError,
)
from .models import Design, Order

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.mycustomizer.com"
RETRY_STATUSES = frozenset({429, 502, 503, 504})
INVALID_TENANT = "Trying to launch invalid tenant."


class ApiClient:
    """Talks to ``{base_url}/brands/{brand}/…`` with a bearer token.

    ``session`` is injectable (tests, connection sharing); ``sleep`` too, so backoff
    can be observed without waiting.
    """

    def __init__(
        self,
        base_url: str,
        brand: str,
        token: str,
        session: requests.Session | None = None,
        *,
        timeout: tuple[float, float] = (5.0, 30.0),
        retries: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        pool_size: int = 16,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.brand = brand
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._sleep = sleep
        if session is None:
            session = requests.Session()
            adapter = requests.adapters.HTTPAdapter(
                pool_connections=pool_size, pool_maxsize=pool_size
            )
            session.mount("http://", adapter)
            session.mount("https://", adapter)
        self.session = session
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.session.headers.setdefault("Accept", "application/json")
        self.session.headers["User-Agent"] = f"prodsheets/{__version__}"

    def __repr__(self) -> str:
        return f"ApiClient(base_url={self.base_url!r}, brand={self.brand!r}, token=<hidden>)"

    @property
    def origin(self) -> str:
        """``scheme://host[:port]`` of the API, so assets it serves itself can be allowed."""
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- endpoints -------------------------------------------------------------

    def get_order(self, api_id: str) -> Order:
        """One order by its API id (``5e69254b714841168b8d9825``)."""
        data = self._get_json(f"orders/{quote(api_id, safe='')}", what=f"order {api_id}")
        return Order.from_json(data)

    def get_design(self, api_id: str) -> Design:
        """One design by its API id."""
        data = self._get_json(f"designs/{quote(api_id, safe='')}", what=f"design {api_id}")
        return Design.from_json(data)

    def iter_orders(
        self, sort_key: str = "orderId", sort_order: str = "descending", count: int = 25
    ) -> Iterator[Order]:
        """Every order, page by page. A batch lists ``orderId`` ascending so orders
        that arrive during the run land on the last page instead of shifting the others."""
        params = {"sortKey": sort_key, "sortOrder": sort_order}
        for item in self._paginate("orders", params, count):
            yield Order.from_json(item)

    def iter_designs(self, backwards: bool = False, count: int = 25) -> Iterator[Design]:
        """Every design, page by page (ascending by ``designId`` unless ``backwards``)."""
        params = {"backwards": "true" if backwards else "false"}
        for item in self._paginate("designs", params, count):
            yield Design.from_json(item)

    # -- pagination ------------------------------------------------------------

    def _paginate(self, path: str, params: dict[str, str], count: int) -> Iterator[dict]:
        """Yield each result once, whichever way the server fills ``pagination.lastIndex``.

        The docs' two examples disagree: one echoes the request's ``lastIndex``, the
        other returns the offset after the page. We never trust it: the next offset is
        ours, counted from ``resultSize``. We stop on an empty page, on reaching
        ``collectionSize``, or on a page with nothing new (a server ignoring the offset).
        """
        if count < 1:
            raise ValueError("count must be at least 1 (the API refuses 0)")
        offset = 0
        seen: set[str] = set()
        while True:
            query = {**params, "count": str(count)}
            if offset:
                query["lastIndex"] = str(offset)
            body = self._get_json(path, params=query, what=f"{path} page at {offset}")
            results, pagination = _page_parts(body, path)
            size = _as_int(pagination.get("resultSize"), default=len(results))
            total = _as_int(pagination.get("collectionSize"), default=None)
            fresh = 0
            for item in results:
                key = str(item.get("_id") or item.get("id") or "") if isinstance(item, dict) else ""
                if key and key in seen:
                    continue
                if key:
                    seen.add(key)
                fresh += 1
                yield item
            if not results or size <= 0:
                return
            if fresh == 0:
                log.warning(
                    "%s: page at offset %d repeated earlier results; stopping", path, offset
                )
                return
            offset += max(size, len(results))
            if total is not None and offset >= total:
                return

    # -- transport -------------------------------------------------------------

    def _url(self, path: str) -> str:
        return f"{self.base_url}/brands/{quote(self.brand, safe='')}/{path}"

    def _get_json(self, path: str, *, params: dict[str, str] | None = None, what: str) -> Any:
        response = self._request(self._url(path), params=params, what=what)
        try:
            return response.json()
        except ValueError:
            raise BadResponse(
                f"the API answered {what} with something that is not JSON "
                f"(content-type {response.headers.get('Content-Type', 'none')}); "
                "check --api-url points at the MyCustomizer API",
                status=response.status_code,
                url=response.url,
            ) from None

    def _request(self, url: str, *, params: dict[str, str] | None, what: str) -> requests.Response:
        attempt = 0
        while True:
            try:
                response = self.session.get(url, params=params, timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
                if attempt < self.retries:
                    self._wait(attempt, None)
                    attempt += 1
                    continue
                raise ApiUnreachable(
                    f"cannot reach the API at {self.origin} for {what} "
                    f"({_reason(exc)}) after {attempt + 1} attempts; "
                    "check the network and --api-url",
                    url=url,
                ) from None
            except requests.RequestException as exc:
                raise ApiError(f"request for {what} failed: {_reason(exc)}", url=url) from None

            status = response.status_code
            if status in RETRY_STATUSES and attempt < self.retries:
                self._wait(attempt, response.headers.get("Retry-After"))
                attempt += 1
                continue
            if status >= 400:
                raise _error_for(response, what, attempts=attempt + 1, brand=self.brand)
            return response

    def _wait(self, attempt: int, retry_after: str | None) -> None:
        delay = _retry_after_seconds(retry_after)
        if delay is None:
            delay = self.backoff * (2**attempt)
            delay += random.uniform(0, delay / 2)  # jitter: do not stampede a recovering API
        delay = min(delay, self.max_backoff)
        log.debug("retrying in %.2fs (attempt %d)", delay, attempt + 2)
        if delay > 0:
            self._sleep(delay)


def _page_parts(body: Any, path: str) -> tuple[list[Any], dict[str, Any]]:
    if not isinstance(body, dict) or not isinstance(body.get("results", []), list):
        raise BadResponse(f"the {path} listing is not of the documented shape (no 'results' list)")
    pagination = body.get("pagination")
    return body.get("results") or [], pagination if isinstance(pagination, dict) else {}


def _as_int(value: Any, default: int | None) -> int | None:
    if isinstance(value, bool):
        return default
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return default


def _retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds: either a number or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _server_message(response: requests.Response) -> str:
    """The API's own words: a JSON ``message``/``error`` or the plain-text body."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key in ("message", "error", "detail"):
            if isinstance(body.get(key), str) and body[key].strip():
                return body[key].strip()
    text = (response.text or "").strip()
    if text and not text.lstrip().startswith("<") and len(text) <= 300:
        return text
    return response.reason or ""


def _error_for(response: requests.Response, what: str, *, attempts: int, brand: str) -> ApiError:
    status = response.status_code
    message = _server_message(response)
    url = response.url
    if status == 401:
        return AuthError(
            f"the API refused the token (401 {message or 'Unauthorized'}); "
            "check PRODSHEETS_TOKEN or --token",
            status=status,
            url=url,
        )
    if status == 404:
        if INVALID_TENANT.rstrip(".").lower() in message.lower():
            return WrongBrandError(
                f"the API does not know the brand {brand!r} ({message}); "
                "check PRODSHEETS_BRAND or --brand",
                status=status,
                url=url,
            )
        return NotFoundError(f"{what} not found (404)", status=status, url=url)
    if status == 429:
        return ServerError(
            f"the API is rate-limiting requests for {what} (429) after {attempts} attempts; "
            "try again later",
            status=status,
            url=url,
        )
    if status >= 500:
        tries = f" after {attempts} attempts" if status in RETRY_STATUSES else ""
        return ServerError(
            f"the API failed on {what} ({status} {message}){tries}; "
            "try again later, or report it to MyCustomizer if it persists",
            status=status,
            url=url,
        )
    return ApiError(f"the API refused {what} ({status} {message})", status=status, url=url)


def _reason(exc: BaseException) -> str:
    """A short, token-free reason for a transport failure."""
    if isinstance(exc, requests.ConnectTimeout):
        return "connection timed out"
    if isinstance(exc, requests.ReadTimeout):
        return "no answer in time"
    text = str(exc)
    for marker, reason in (
        ("Name or service not known", "host not found"),
        ("nodename nor servname", "host not found"),
        ("Temporary failure in name resolution", "host not found"),
        ("Connection refused", "connection refused"),
        ("Connection reset", "connection reset"),
        ("RemoteDisconnected", "connection closed by the server"),
    ):
        if marker in text:
            return reason
    return type(exc).__name__
