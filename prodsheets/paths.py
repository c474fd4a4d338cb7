"""Where prodsheets finds its packaged files and keeps its own.

In a wheel, ``templates/`` and ``fonts/`` are packaged as ``prodsheets/_data/``
(hatchling force-include); in a checkout they sit at the top level.
"""

from __future__ import annotations

from pathlib import Path

import platformdirs

_PACKAGE = Path(__file__).resolve().parent


def data_dir() -> Path:
    packaged = _PACKAGE / "_data"
    return packaged if (packaged / "templates").is_dir() else _PACKAGE.parent


def templates_dir() -> Path:
    return data_dir() / "templates"


def fonts_dir() -> Path:
    return data_dir() / "fonts"


def samples_dir() -> Path:
    """The bundled samples, for ``prodsheets sandbox`` and ``prodsheets demo``."""
    return data_dir() / "samples"


def default_cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("prodsheets")) / "assets"


def default_state_dir() -> Path:
    return Path(platformdirs.user_state_dir("prodsheets"))


def default_state_path(brand: str) -> Path:
    """The batch state of ``brand``: one file per brand in the user state folder."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in brand)
    return default_state_dir() / f"{safe}.sqlite3"
