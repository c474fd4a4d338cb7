"""The only way WeasyPrint may read anything: files below a few folders, and ``data:``.

WeasyPrint fetches whatever a document points at (images, stylesheets, fonts, and
anything an SVG references) through its URL fetcher. Ours never uses the network and
reads files only below the given roots (the templates, the fonts, the checked asset
cache): a customer's text or upload can therefore never make the renderer reach a
server or read ``/etc/passwd``. A refusal raises, WeasyPrint logs it, and the renderer
turns that log line into a problem printed on the ticket.
"""

from __future__ import annotations

import base64
import mimetypes
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from weasyprint.urls import URLFetcher, URLFetcherResponse


class LocalOnlyFetcher(URLFetcher):
    """Serves ``file:`` URLs below ``roots`` and inline ``data:`` URLs; refuses the rest."""

    def __init__(self, roots: Iterable[Path]) -> None:
        super().__init__(allowed_protocols=("file", "data"), allow_redirects=False)
        self.roots = tuple(Path(r).resolve() for r in roots)

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        scheme = url.split(":", 1)[0].lower()
        if scheme == "data":
            return data_response(url)
        if scheme != "file":
            raise ValueError(
                f"refused to fetch {url!r}: prodsheets never lets the renderer use the network"
            )
        path = Path(url2pathname(unquote(urlsplit(url).path))).resolve()
        if not any(path.is_relative_to(root) for root in self.roots):
            raise ValueError(
                f"refused to read {path}: outside the template, font and asset folders"
            )
        try:
            body = path.read_bytes()
        except OSError as exc:
            raise ValueError(f"cannot read {path}: {exc.strerror}") from None
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, body, {"Content-Type": mime})


def data_response(url: str) -> URLFetcherResponse:
    """Decode a ``data:`` URL (base64 or percent-encoded) without any network."""
    header, _, payload = url.partition(",")
    mime = header[5:].split(";")[0] or "text/plain"
    if header.endswith(";base64"):
        body = base64.b64decode(payload)
    else:
        body = unquote(payload).encode("utf-8")
    return URLFetcherResponse(url, body, {"Content-Type": mime})
