"""Where settings come from: flags, then environment, then a TOML file. Checked once.

Precedence is the usual one (the most specific wins): ``--token`` beats
``PRODSHEETS_TOKEN`` beats ``token =`` in ``prodsheets.toml``. ``load_settings`` is the
only place settings are checked: every command gets ``Settings`` that are valid (a QR
template that fills, a page size that exists, a template folder that is there, a printer
that can be a CUPS queue or an IPP URI, a station password long enough), so a mistake
is one line before any work starts. The token and the station password are kept out of
``repr`` so a debug print of the settings cannot leak them.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .api import DEFAULT_API_URL
from .errors import ConfigError
from .ipp import normalize_fingerprint
from .paths import default_cache_dir
from .qr import DEFAULT_QR_TEMPLATE, validate_qr_template

DEFAULT_CONFIG_NAME = "prodsheets.toml"
DEFAULT_ASSET_HOSTS = ("*.mczr.co", "*.mycustomizer.com")
MIN_STATION_PASSWORD = 8


class PageSize(StrEnum):
    """The paper a ticket is laid out for (``4x6in`` is the label layout)."""

    A4 = "A4"
    LETTER = "Letter"
    A5 = "A5"
    LABEL = "4x6in"

    @property
    def media(self) -> str:
        """Its IPP media name (PWG 5101.1), as printers list it in ``media-supported``."""
        return _MEDIA[self]


_MEDIA = {
    PageSize.A4: "iso_a4_210x297mm",
    PageSize.LETTER: "na_letter_8.5x11in",
    PageSize.A5: "iso_a5_148x210mm",
    PageSize.LABEL: "na_index-4x6_4x6in",
}
PRINTER_SCHEMES = ("ipp", "ipps", "http", "https")


@dataclass(frozen=True)
class PrinterAddress:
    """Where ``--print`` sends tickets: a CUPS queue name (``workshop``, sent the way
    ``lp -d workshop`` would) or a printer URI (``ipp://``, ``ipps://``, ``http://``,
    ``https://``; sent straight to the printer with IPP, no CUPS needed)."""

    text: str

    @property
    def is_queue(self) -> bool:
        return "://" not in self.text

    def __str__(self) -> str:
        return self.text

    @classmethod
    def parse(cls, text: str) -> PrinterAddress:
        """Raises ``ValueError`` for something that can be neither."""
        text = text.strip()
        if "://" in text:
            parts = urlsplit(text)
            if parts.scheme.lower() not in PRINTER_SCHEMES:
                raise ValueError(
                    f"printer {text!r}: prodsheets speaks IPP ({', '.join(PRINTER_SCHEMES)}); "
                    "for other printers (socket://, lpd://…) set up a CUPS queue and use its name"
                )
            if not parts.hostname:
                raise ValueError(f"printer {text!r} names no host (ipp://HOST/ipp/print)")
            return cls(text)
        # CUPS queue names: printable, no space, '/', '\\', '#', quotes; at most 127 bytes
        bad = set(" \t/\\#'\"?") & set(text)
        if (
            not text
            or bad
            or text.startswith("-")
            or len(text.encode()) > 127
            or (not text.isprintable())
        ):
            raise ValueError(
                f"printer {text!r} is neither a CUPS queue name nor a printer URI "
                "(e.g. workshop or ipp://printer.local/ipp/print)"
            )
        return cls(text)


ENV = {
    "api_url": "PRODSHEETS_API_URL",
    "brand": "PRODSHEETS_BRAND",
    "token": "PRODSHEETS_TOKEN",
    "qr_template": "PRODSHEETS_QR_TEMPLATE",
    "cache_dir": "PRODSHEETS_CACHE_DIR",
    "asset_hosts": "PRODSHEETS_ASSET_HOSTS",
    "printer": "PRODSHEETS_PRINTER",
    "printer_fingerprint": "PRODSHEETS_PRINTER_FINGERPRINT",
    "station_password": "PRODSHEETS_STATION_PASSWORD",
}


@dataclass(frozen=True)
class Settings:
    """Valid settings (build them with ``load_settings``)."""

    api_url: str = DEFAULT_API_URL
    brand: str | None = None
    token: str | None = field(default=None, repr=False)
    qr_template: str = DEFAULT_QR_TEMPLATE
    cache_dir: Path = field(default_factory=default_cache_dir)
    asset_hosts: tuple[str, ...] = DEFAULT_ASSET_HOSTS
    page_size: PageSize = PageSize.A4
    template_dir: Path | None = None
    printer: PrinterAddress | None = None
    printer_fingerprint: str | None = None  # SHA-256 of an ipps printer's own certificate
    station_password: str | None = field(default=None, repr=False)  # `serve` beyond loopback
    source: str = ""

    def require_api(self) -> tuple[str, str, str]:
        """The three things the API client needs, or a one-line error naming what is missing."""
        if not self.brand:
            raise ConfigError(
                "no brand configured: set PRODSHEETS_BRAND, pass --brand, "
                f'or put brand = "…" in {DEFAULT_CONFIG_NAME}'
            )
        if not self.token:
            raise ConfigError(
                "no API token configured: set PRODSHEETS_TOKEN, pass --token, "
                f'or put token = "…" in {DEFAULT_CONFIG_NAME}'
            )
        return self.api_url, self.brand, self.token


def load_settings(
    flags: dict[str, Any],
    *,
    config_file: Path | None = None,
    environ: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Merge the three sources and check the result; ``flags`` holds only options the
    user actually gave (``None`` for the others)."""
    environ = dict(os.environ if environ is None else environ)
    file_values, source = _read_toml(config_file, cwd or Path.cwd())
    unknown = set(file_values) - set(Settings.__dataclass_fields__) - {"source"}
    if unknown:
        raise ConfigError(f"{source}: unknown setting(s): {', '.join(sorted(unknown))}")
    merged: dict[str, Any] = {}
    for key in Settings.__dataclass_fields__:
        if key == "source":
            continue
        if flags.get(key) not in (None, ""):
            merged[key] = flags[key]
        elif key in ENV and environ.get(ENV[key]):
            merged[key] = environ[ENV[key]]
        elif file_values.get(key) not in (None, ""):
            merged[key] = file_values[key]
    return Settings(**_checked(merged), source=source)


def _checked(merged: dict[str, Any]) -> dict[str, Any]:
    if "asset_hosts" in merged:
        merged["asset_hosts"] = _host_list(merged["asset_hosts"])
    for key in ("cache_dir", "template_dir"):
        if key in merged:
            merged[key] = Path(merged[key]).expanduser()
    if "qr_template" in merged:
        merged["qr_template"] = validate_qr_template(str(merged["qr_template"]))
    if "page_size" in merged:
        try:
            merged["page_size"] = PageSize(merged["page_size"])
        except ValueError:
            choices = ", ".join(p.value for p in PageSize)
            raise ConfigError(
                f"unknown page size {merged['page_size']!r}; use one of {choices}"
            ) from None
    if "printer" in merged:
        try:
            merged["printer"] = PrinterAddress.parse(str(merged["printer"]))
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    if "printer_fingerprint" in merged:
        try:
            merged["printer_fingerprint"] = normalize_fingerprint(
                str(merged["printer_fingerprint"])
            )
        except ValueError as exc:
            raise ConfigError(f"printer_fingerprint: {exc}") from None
    if "station_password" in merged:
        password = merged["station_password"]
        if not isinstance(password, str) or len(password) < MIN_STATION_PASSWORD:
            raise ConfigError(
                f"the station password must be text of at least {MIN_STATION_PASSWORD} "
                "characters (PRODSHEETS_STATION_PASSWORD or station_password)"
            )
    template_dir = merged.get("template_dir")
    if template_dir is not None and not template_dir.is_dir():
        raise ConfigError(f"template folder not found: {template_dir}")
    return merged


def _read_toml(config_file: Path | None, cwd: Path) -> tuple[dict[str, Any], str]:
    path = config_file if config_file is not None else cwd / DEFAULT_CONFIG_NAME
    if config_file is None and not path.exists():
        return {}, ""
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    section = data.get("prodsheets", data)
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: expected settings at the top level or under [prodsheets]")
    return {k.replace("-", "_"): v for k, v in section.items()}, str(path)


def _host_list(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(h.strip() for h in value.split(",") if h.strip())
    if isinstance(value, (list, tuple)):
        return tuple(str(h).strip() for h in value if str(h).strip())
    raise ConfigError("asset_hosts must be a list of host patterns")
