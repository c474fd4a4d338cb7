"""Download, check and prepare the images a ticket prints.

Every image comes from the network, so every image is suspect: only http(s), only
allowed hosts (a redirect elsewhere is refused), a timeout and a size cap on every
download, and Pillow must agree it is a real image of an allowed format, small
enough in pixels to decode safely (a decompression bomb is refused from its header,
never decoded). A usable image is then converted to sRGB and scaled to at most
300 dpi at the size it prints, so WeasyPrint embeds it without re-decoding a
24-megapixel upload.

Downloads land in a content-addressed disk cache: a reprint downloads nothing.

    cache/urls/ab/<sha256 of URL>          -> the sha256 of the content it served
    cache/blobs/cd/<sha256 of content>     -> the bytes as downloaded
    cache/prepared/<sha256>-<role>.<ext>   -> the checked, print-sized image
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import ipaddress
import json
import logging
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import requests
from PIL import Image, ImageCms, UnidentifiedImageError

from . import __version__
from .errors import AssetError
from .fsutil import atomic_write_bytes

log = logging.getLogger(__name__)

ALLOWED_FORMATS = frozenset({"PNG", "JPEG", "GIF", "WEBP"})
MAX_DOWNLOAD_BYTES = 25 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a 24 MP camera photo passes; a 20000x20000 bomb does not
MAX_REDIRECTS = 3
PRINT_DPI = 300
LOW_RES_DPI = 150
MM_PER_INCH = 25.4


@dataclass(frozen=True)
class Role:
    """Where an image prints: its box, and whether a low resolution matters."""

    name: str
    box_mm: tuple[float, float]
    keep_alpha: bool
    check_resolution: bool


# Keep in step with the largest boxes in templates/ticket.css (A4 layout).
DESIGN = Role("design", (186.0, 80.0), keep_alpha=False, check_resolution=False)
LOGO = Role("logo", (35.0, 35.0), keep_alpha=True, check_resolution=True)
ROLES = {r.name: r for r in (DESIGN, LOGO)}


@dataclass(frozen=True)
class PreparedImage:
    """A checked image on local disk, ready for WeasyPrint."""

    url: str
    path: Path
    width: int
    height: int
    source_width: int
    source_height: int
    dpi: float
    low_res: bool
    mime: str


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
    ) -> None:
        self.cache_dir = Path(cache_dir)
        self.policy = policy
        self.workers = workers
        self._session = session
        self._local = threading.local()
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self.downloads = 0

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
        """Prepare every (url, role) once, concurrently; failures are returned, not raised."""
        unique = list(dict.fromkeys((url, role.name) for url, role in wanted))
        results: dict[tuple[str, str], PreparedImage | AssetError] = {}
        if not unique:
            return results

        def one(key: tuple[str, str]) -> PreparedImage | AssetError:
            try:
                return self.get(key[0], ROLES[key[1]])
            except AssetError as exc:
                return exc

        if len(unique) == 1 or self.workers <= 1:
            return {key: one(key) for key in unique}
        for key, result in zip(unique, self._executor().map(one, unique), strict=True):
            results[key] = result
        return results

    def get(self, url: str, role: Role) -> PreparedImage:
        """The prepared image for ``url`` in ``role``; raises ``AssetError``."""
        url = url.strip()
        self.policy.check(url)
        digest = self._content_digest(url)
        meta_path = self.prepared_dir / f"{digest}-{role.name}.json"
        cached = _read_prepared(meta_path, url)
        if cached is not None:
            return cached
        raw = self._blob_path(digest).read_bytes()
        prepared_bytes, info = prepare_image(raw, role, url=url)
        ext = "png" if info["mime"] == "image/png" else "jpg"
        image_path = self.prepared_dir / f"{digest}-{role.name}.{ext}"
        atomic_write_bytes(image_path, prepared_bytes, durable=False)
        meta = PreparedImage(url=url, path=image_path, **info)
        record = {k: v for k, v in asdict(meta).items() if k not in ("url", "path")}
        record["file"] = image_path.name
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
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            self.policy.check(current)
            try:
                response = self._http().get(
                    current, stream=True, timeout=self.policy.timeout, allow_redirects=False
                )
            except requests.Timeout:
                raise AssetError("download timed out", url=url) from None
            except requests.RequestException as exc:
                raise AssetError(f"download failed ({type(exc).__name__})", url=url) from None
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
                    raise AssetError(f"HTTP {response.status_code} from the server", url=url)
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
            raise AssetError(f"download interrupted ({type(exc).__name__})", url=url) from None
        self.downloads += 1
        return b"".join(chunks)


def _read_prepared(meta_path: Path, url: str) -> PreparedImage | None:
    try:
        record = json.loads(meta_path.read_text())
        path = meta_path.parent / record.pop("file")
    except (OSError, ValueError, KeyError):
        return None
    if not path.is_file():
        return None
    return PreparedImage(url=url, path=path, **record)


_SRGB = None


def _srgb_profile() -> ImageCms.ImageCmsProfile:
    global _SRGB
    if _SRGB is None:
        _SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    return _SRGB


def prepare_image(data: bytes, role: Role, *, url: str = "") -> tuple[bytes, dict]:
    """Check ``data`` is a safe, allowed image and return it print-ready (bytes, info)."""
    try:
        img = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise AssetError("not an image", url=url) from None
    except Image.DecompressionBombError:
        raise AssetError(
            "image too large in pixels (decompression bomb refused)", url=url
        ) from None
    if img.format not in ALLOWED_FORMATS:
        raise AssetError(f"image format {img.format} is not allowed", url=url)
    width, height = img.size
    if width <= 0 or height <= 0 or width * height > MAX_PIXELS:
        raise AssetError(
            f"image too large in pixels ({width}x{height} > {MAX_PIXELS // 1_000_000} MP; "
            "decompression bomb refused)",
            url=url,
        )
    try:
        img.seek(0)
        img.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise AssetError(f"image is damaged ({exc})", url=url) from None
    img = _to_srgb(img, keep_alpha=role.keep_alpha)

    # Printed size: scaled to fit the role's box, aspect kept.
    box_w, box_h = role.box_mm
    scale_mm = min(box_w / width, box_h / height)
    printed_w_in = width * scale_mm / MM_PER_INCH
    dpi = width / printed_w_in if printed_w_in else 0.0
    max_w = max(1, round(printed_w_in * PRINT_DPI))
    if width > max_w:
        new_h = max(1, round(height * max_w / width))
        img = img.resize((max_w, new_h), Image.LANCZOS)
    out = io.BytesIO()
    if role.keep_alpha and img.mode == "RGBA":
        img.save(out, "PNG", compress_level=6)
        mime = "image/png"
    else:
        if img.mode != "RGB":
            img = img.convert("RGB")
        img.save(out, "JPEG", quality=90, optimize=True)
        mime = "image/jpeg"
    info = {
        "width": img.width,
        "height": img.height,
        "source_width": width,
        "source_height": height,
        "dpi": round(dpi, 1),
        "low_res": role.check_resolution and dpi < LOW_RES_DPI,
        "mime": mime,
    }
    return out.getvalue(), info


def _to_srgb(img: Image.Image, *, keep_alpha: bool) -> Image.Image:
    """Colour-manage into sRGB; flatten transparency onto white unless it is kept."""
    has_alpha = img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)
    icc = img.info.get("icc_profile")
    if img.mode not in ("RGB", "RGBA"):
        img = img.convert("RGBA" if has_alpha else ("CMYK" if img.mode == "CMYK" else "RGB"))
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            out_mode = "RGBA" if img.mode == "RGBA" else "RGB"
            img = ImageCms.profileToProfile(img, source, _srgb_profile(), outputMode=out_mode)
        except (ImageCms.PyCMSError, OSError, ValueError):
            log.debug("ignoring unusable ICC profile")
    if img.mode == "CMYK":
        img = img.convert("RGB")
    if img.mode == "RGBA" and not keep_alpha:
        background = Image.new("RGB", img.size, (255, 255, 255))
        background.paste(img, mask=img.getchannel("A"))
        img = background
    return img
