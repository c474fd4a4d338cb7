"""Where log messages go: stderr, at the level ``-v`` asks for, in every process.

WeasyPrint's own messages (a missing glyph, a refused image) become problems printed on
the ticket; on the console they would only repeat them, so they are shown only with
``-vv``. This is decided here, for the console handler alone: the ``weasyprint`` logger
itself is never switched off, so the renderer's per-ticket capture always works.
"""

from __future__ import annotations

import logging
import sys

FORMAT = "%(levelname)s %(name)s: %(message)s"


def level_for(verbose: int) -> int:
    return logging.WARNING if verbose <= 0 else logging.INFO if verbose == 1 else logging.DEBUG


def configure(level: int) -> None:
    """Log to stderr at ``level`` (the CLI, and each render worker with the CLI's level)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    if level > logging.DEBUG:
        handler.addFilter(_not_weasyprint)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("urllib3").setLevel(logging.WARNING if level > logging.DEBUG else level)


def _not_weasyprint(record: logging.LogRecord) -> bool:
    return not record.name.startswith(("weasyprint", "fontTools"))
