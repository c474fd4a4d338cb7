"""Fetch the images a ticket prints, through an allow-list and a disk cache.

Every image comes from the network, so every image is suspect: only http(s), only
allowed hosts (a redirect elsewhere is refused), a timeout and a size cap on every
download; ``images.prepare_image`` then checks and prepares it. A download that failed
because of the network (timeout, refused connection, 429, 5xx) is retried twice and then
reported as *transient* (the order fails and the next run tries again); anything the
server or the file itself says no to (404, not an image) is permanent.

Downloads land in a content-addressed disk cache: a reprint downloads nothing.

    cache/urls/ab/<sha256 of URL>          -> the sha256 of the content it served
    cache/blobs/cd/<sha256 of content>     -> the bytes as downloaded
    cache/prepared/<sha256>-<role>-v<N>.<ext>  -> the checked, print-sized image
                                              (N: images.PREPARE_VERSION)
"""

from __future__ import annotations

import fnmatch
import hashlib
import ipaddress
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import requests

from . import __version__
from .config import Settings
from .errors import AssetError
from .fsutil import atomic_write_bytes
from .images import EXTENSIONS, PREPARE_VERSION, PreparedImage, Role, prepare_image

log = logging.getLogger(__name__)

MAX_DOWNLOAD_BYTES = 25 * 1024 * 1024
MAX_REDIRECTS = 3
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class AssetPolicy:
    """Which URLs may be fetched: host patterns (``*.mczr.co``, or an exact
    ``host:port``) and exact origins (the API's own ``scheme://host:port``, for the
    assets it serves itself). IP literals and ``localhost`` are refused unless listed
    exactly: a customer-supplied URL must not reach the workshop's own network."""

    host_patterns: tuple[str, ...] = ("*.mczr.co", "*.mycustomizer.com")
    origins: tuple[str, ...] = ()
    max_bytes: int = MAX_DOWNLOAD_BYTES
    timeout: tuple[float, float] = (5.0, 30.0)

    def check(self, url: str) -> None:
        """Raise ``AssetError`` unless ``url`` may be fetched."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise AssetError("malformed URL", url=url) from None
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise AssetError(f"{scheme or 'relative'} URLs are never fetched", url=url)
        host = (parts.hostname or "").lower()
        if not host:
            raise AssetError("URL has no host", url=url)
        default_port = 443 if scheme == "https" else 80
        origin = f"{scheme}://{host}:{port or default_port}"
        if origin in {_normal_origin(o) for o in self.origins}:
            return
        if f"{host}:{port or default_port}" in {p.lower() for p in self.host_patterns}:
            return  # an explicit host:port entry is trusted as written
        if _is_ip_literal(host):
            raise AssetError(f"address {host} is not an allowed asset host", url=url)
        if port not in (None, default_port):
            raise AssetError(f"host {host}:{port} is not an allowed asset host", url=url)
        if not any(_host_matches(host, p) for p in self.host_patterns):
            raise AssetError(f"host {host} is not an allowed asset host", url=url)


def _normal_origin(origin: str) -> str:
    parts = urlsplit(origin)
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    return f"{scheme}://{(parts.hostname or '').lower()}:{port}"


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return host == "localhost" or host.endswith(".localhost")
    return True


def _host_matches(host: str, pattern: str) -> bool:
    pattern = pattern.lower().strip()
    if pattern.startswith("*."):
        apex = pattern[2:]
        return host == apex or host.endswith("." + apex)
    return fnmatch.fnmatchcase(host, pattern)


class AssetStore:
    """Fetches and prepares images, concurrently, through the disk cache."""

    def __init__(
        self,
        cache_dir: Path,
        policy: AssetPolicy,
        session: requests.Session | None = None,
        *,
        workers: int = 8,
        retries: int = 2,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.cache_dir = Path(cache_dir)
        self.policy = policy
        self.workers = workers
        self.retries = retries
        self.backoff = backoff
        self._sleep = sleep
        self._session = session
        self._local = threading.local()
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._inflight: dict[str, Future] = {}
        self.downloads = 0

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        api_origin: str | None = None,
        workers: int = 8,
        timeout: tuple[float, float] = AssetPolicy.timeout,
        retries: int = 2,
    ) -> AssetStore:
        """The store for these settings; the API's own origin is always allowed.
        ``timeout`` and ``retries``: the station waits less than a nightly batch."""
        policy = AssetPolicy(
            host_patterns=tuple(settings.asset_hosts),
            origins=(api_origin,) if api_origin else (),
            timeout=timeout,
        )
        return cls(settings.cache_dir, policy, workers=workers, retries=retries)

    def _executor(self) -> ThreadPoolExecutor:
        """One pool for the store's lifetime: a batch prepares hundreds of orders, and a
        pool per order meant creating and joining thousands of threads."""
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="asset")
            return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def __enter__(self) -> AssetStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def prepared_dir(self) -> Path:
        return self.cache_dir / "prepared"

    def _http(self) -> requests.Session:
        """One pooled session per thread (requests sessions are not thread-safe)."""
        if self._session is not None:
            return self._session
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["User-Agent"] = f"prodsheets/{__version__}"
            self._local.session = session
        return session

    def fetch_many(
        self, wanted: Iterable[tuple[str, Role]]
    ) -> dict[tuple[str, str], PreparedImage | AssetError]:
        """Download and prepare every (url, role) once: both halves, in this process."""
        wanted = list(wanted)
        return self.prepare_many(wanted, self.download_many(url for url, _ in wanted))

    def get(self, url: str, role: Role) -> PreparedImage:
        """The prepared image for ``url`` in ``role``; raises ``AssetError``."""
        return self.prepare(url, self.download(url), role)

    # -- the network half: downloads, in the batch's main process ---------------------

    def download_many(self, urls: Iterable[str]) -> dict[str, str | AssetError]:
        """The content digest of every URL (downloaded at most once), concurrently;
        failures are returned, not raised."""
        unique = list(dict.fromkeys(url.strip() for url in urls))

        def one(url: str) -> str | AssetError:
            try:
                return self.download(url)
            except AssetError as exc:
                return exc

        if len(unique) <= 1 or self.workers <= 1:
            return {url: one(url) for url in unique}
        return dict(zip(unique, self._executor().map(one, unique), strict=True))

    def download(self, url: str) -> str:
        """The sha256 of what ``url`` serves, through the disk cache. Callers asking for
        the same URL at the same time share one download. Raises ``AssetError``."""
        url = url.strip()
        self.policy.check(url)
        with self._pool_lock:
            future = self._inflight.get(url)
            mine = future is None
            if mine:
                future = self._inflight[url] = Future()
        if not mine:
            return future.result()
        try:
            future.set_result(self._content_digest(url))
        except BaseException as exc:
            future.set_exception(exc)
        finally:
            with self._pool_lock:
                del self._inflight[url]
        return future.result()

    # -- the CPU half: preparation, wherever the CPU is (the render workers) ----------

    def prepare_many(
        self, wanted: Iterable[tuple[str, Role]], digests: Mapping[str, str | AssetError]
    ) -> dict[tuple[str, str], PreparedImage | AssetError]:
        """Every (url, role) prepared from what ``download_many`` gave; one at a time."""
        results: dict[tuple[str, str], PreparedImage | AssetError] = {}
        for url, role in wanted:
            key = (url.strip(), role.name)
            if key in results:
                continue
            digest = digests.get(key[0]) or AssetError("not downloaded", url=url)
            if isinstance(digest, AssetError):
                results[key] = digest
                continue
            try:
                results[key] = self.prepare(key[0], digest, role)
            except AssetError as exc:
                results[key] = exc
        return results

    def prepare(self, url: str, digest: str, role: Role) -> PreparedImage:
        """The downloaded content ``digest`` checked and made print-ready for ``role``,
        through the disk cache (shared by processes: every write is atomic)."""
        stem = f"{digest}-{role.name}-v{PREPARE_VERSION}"
        meta_path = self.prepared_dir / f"{stem}.json"
        cached = _read_prepared(meta_path, url)
        if cached is not None:
            return cached
        raw = self._blob_path(digest).read_bytes()
        prepared_bytes, info = prepare_image(raw, role, url=url)
        image_path = self.prepared_dir / f"{stem}.{EXTENSIONS[info['mime']]}"
        atomic_write_bytes(image_path, prepared_bytes, durable=False)
        meta = PreparedImage(url=url, path=image_path, **info)
        record = {**meta.to_record(), "file": image_path.name}
        atomic_write_bytes(meta_path, json.dumps(record).encode(), durable=False)
        return meta

    # -- download and content-addressed storage ----------------------------------

    def _blob_path(self, digest: str) -> Path:
        return self.cache_dir / "blobs" / digest[:2] / digest

    def _content_digest(self, url: str) -> str:
        """The sha256 of what ``url`` serves, downloading it only if never seen."""
        url_key = hashlib.sha256(url.encode()).hexdigest()
        pointer = self.cache_dir / "urls" / url_key[:2] / url_key
        try:
            digest = pointer.read_text().strip()
            if self._blob_path(digest).is_file():
                return digest
        except OSError:
            pass
        data = self._download(url)
        digest = hashlib.sha256(data).hexdigest()
        blob = self._blob_path(digest)
        if not blob.is_file():
            atomic_write_bytes(blob, data, durable=False)
        atomic_write_bytes(pointer, digest.encode(), durable=False)
        return digest

    def _download(self, url: str) -> bytes:
        """The bytes ``url`` serves; transient failures are retried, then reported."""
        for attempt in range(self.retries + 1):
            try:
                return self._download_once(url)
            except AssetError as exc:
                if not exc.transient or attempt == self.retries:
                    raise
                self._sleep(self.backoff * 2**attempt)
        raise AssertionError("unreachable")

    def _download_once(self, url: str) -> bytes:
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            self.policy.check(current)
            try:
                response = self._http().get(
                    current, stream=True, timeout=self.policy.timeout, allow_redirects=False
                )
            except requests.Timeout:
                raise AssetError("download timed out", url=url, transient=True) from None
            except requests.RequestException as exc:
                raise AssetError(
                    f"download failed ({type(exc).__name__})", url=url, transient=True
                ) from None
            with response:
                if response.is_redirect:
                    target = urljoin(current, response.headers.get("Location", ""))
                    try:
                        self.policy.check(target)
                    except AssetError as exc:
                        raise AssetError(f"redirect refused: {exc}", url=url) from None
                    current = target
                    continue
                if response.status_code != 200:
                    raise AssetError(
                        f"HTTP {response.status_code} from the server",
                        url=url,
                        transient=response.status_code in RETRY_STATUSES,
                    )
                return self._read_capped(response, url)
        raise AssetError(f"more than {MAX_REDIRECTS} redirects", url=url)

    def _read_capped(self, response: requests.Response, url: str) -> bytes:
        limit = self.policy.max_bytes
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise AssetError(
                f"file too large ({int(declared) // 1_048_576} MB > {limit // 1_048_576} MB)",
                url=url,
            )
        chunks, total = [], 0
        try:
            for chunk in response.iter_content(65536):
                total += len(chunk)
                if total > limit:
                    raise AssetError(f"file too large (over {limit // 1_048_576} MB)", url=url)
                chunks.append(chunk)
        except requests.RequestException as exc:
            raise AssetError(
                f"download interrupted ({type(exc).__name__})", url=url, transient=True
            ) from None
        self.downloads += 1
        return b"".join(chunks)


def _read_prepared(meta_path: Path, url: str) -> PreparedImage | None:
    """The cached preparation, or None if there is none usable (it is then redone)."""
    try:
        record = json.loads(meta_path.read_text())
        path = meta_path.parent / record.pop("file")
        if not path.is_file():
            return None
        return PreparedImage.from_record(url, path, record)
    except (OSError, ValueError, KeyError, TypeError):
        return None
