"""Files the station hands to a browser: only from under its roots, and page previews.

``resolve_under`` is the one gate for every file route. Flask's ``send_from_directory``
and Werkzeug's ``safe_join`` only look at the path as a string: a symlink inside the
root that points out of it (``out/x -> /etc``) would be served. Here the path is joined
safely, then resolved to its real location, which must still be a regular file under
the root's real location, with an allowed suffix; anything else is a 404, never a hint.

``Previews`` turns a ticket PDF's pages into PNGs with PDFium (pypdfium2). PDFium is not
thread-safe and waitress serves from several threads, so every PDFium call holds one
lock; the PNGs are kept in a small cache keyed by the file's identity, so a page that
is shown again costs nothing.
"""

from __future__ import annotations

import io
import os
import threading
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path

from werkzeug.exceptions import NotFound
from werkzeug.security import safe_join

PREVIEW_DPI = 100  # an A4 page is 827 x 1170 px: sharp on a screen, ~100 KB
_PDFIUM_LOCK = threading.Lock()


def resolve_under(root: Path, name: str, suffixes: Iterable[str]) -> Path:
    """The real path of the file ``name`` names under ``root``, or ``NotFound``.

    Refused: ``..`` anywhere, absolute paths, NUL bytes, symlinks that lead out of
    ``root``, folders, missing files and any suffix not in ``suffixes``."""
    real_root = Path(os.path.realpath(root))
    joined = safe_join(str(real_root), name) if "\x00" not in name else None
    if joined is None:
        raise NotFound()
    real = Path(os.path.realpath(joined))
    if real_root not in real.parents or not real.is_file():
        raise NotFound()
    if real.suffix.lower() not in {s.lower() for s in suffixes}:
        raise NotFound()
    return real


class Previews:
    """PNG images of a PDF's pages, rendered on the server."""

    def __init__(self, dpi: int = PREVIEW_DPI, keep: int = 64) -> None:
        self.dpi = dpi
        self.keep = keep
        self._cache: OrderedDict[tuple, bytes] = OrderedDict()
        self._cache_lock = threading.Lock()

    def page_png(self, pdf: Path, page: int) -> bytes:
        """Page ``page`` (1-based) of ``pdf`` as PNG; ``NotFound`` for a page it lacks."""
        stat = pdf.stat()
        key = (str(pdf), stat.st_mtime_ns, stat.st_size, page)
        with self._cache_lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        png = self._render(pdf, page)
        with self._cache_lock:
            self._cache[key] = png
            while len(self._cache) > self.keep:
                self._cache.popitem(last=False)
        return png

    def _render(self, pdf: Path, page: int) -> bytes:
        import pypdfium2 as pdfium

        with _PDFIUM_LOCK:
            try:
                document = pdfium.PdfDocument(pdf.read_bytes())
            except pdfium.PdfiumError:
                raise NotFound() from None
            try:
                if not 1 <= page <= len(document):
                    raise NotFound()
                bitmap = document[page - 1].render(scale=self.dpi / 72)
                image = bitmap.to_pil().copy()  # its own pixels: the bitmap is PDFium's
            finally:
                document.close()
        buffer = io.BytesIO()
        image.save(buffer, "PNG", compress_level=1)  # encoding dominates: keep it cheap
        return buffer.getvalue()
