"""Images a ticket prints: check an upload is a safe image, make it print-ready.

Raster uploads: Pillow must agree a file is a real image of an allowed format, small
enough in pixels to decode safely (a decompression bomb is refused from its header,
never decoded). A usable image is taken as the customer's viewer shows it: the first
frame of an animation, turned upright from its EXIF orientation, converted faithfully
to sRGB (``colour.py``), then scaled to at most 300 dpi at the size it prints (its
``Role``), so WeasyPrint embeds it without re-decoding a 24-megapixel upload.

SVG uploads are checked and cut off from the outside (``svg.py``) and drawn by
WeasyPrint as vectors: no pixel size, never LOW-RES.

What the ticket should say about an image (animated, turned upright, colours
approximate) travels with it as ``ImageNote``; what it could not print (an SVG's
reference to a server) as a problem. No network and no disk here: ``assets.py``
fetches and caches.
"""

from __future__ import annotations

import io
import logging
from dataclasses import asdict, dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from .colour import to_srgb
from .errors import AssetError
from .svg import SvgRefused, check_svg, looks_like_svg

log = logging.getLogger(__name__)

ALLOWED_FORMATS = frozenset({"PNG", "JPEG", "GIF", "WEBP", "TIFF"})
MAX_PIXELS = 40_000_000  # a 24 MP camera photo passes; a 20000x20000 bomb does not
PRINT_DPI = 300
MM_PER_INCH = 25.4
# Bump when preparation changes what it makes: cached results of older versions are
# prepared again (version 1 printed 16-bit scans white and phone photos sideways).
PREPARE_VERSION = 2
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/svg+xml": "svg"}
_EXIF_ORIENTATION = 0x0112


@dataclass(frozen=True)
class Role:
    """Where an image prints: the largest box it fills, and below which resolution at
    that size it is marked LOW-RES."""

    name: str
    box_mm: tuple[float, float]
    keep_alpha: bool
    low_res_dpi: float


# Keep in step with templates/ticket.css and layout.py: the design image scales into the
# space a page leaves (at most the full width and 120 mm); logos print in a 32 mm box.
# A design image is a picture to build from, not artwork to print: 72 dpi still shows it.
DESIGN = Role("design", (186.0, 120.0), keep_alpha=False, low_res_dpi=72)
LOGO = Role("logo", (32.0, 32.0), keep_alpha=True, low_res_dpi=150)
ROLES = {r.name: r for r in (DESIGN, LOGO)}


class NoteKind(Enum):
    """What a ticket says about an image, and whether the run warns about it too."""

    ANIMATED = "animated"
    ROTATED = "rotated"
    COLOUR = "colour"
    TRANSPARENT = "transparent"
    SVG_TEXT = "svg text"

    @property
    def warns(self) -> bool:
        return self in (NoteKind.ANIMATED, NoteKind.COLOUR)


@dataclass(frozen=True)
class ImageNote:
    kind: NoteKind
    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class PreparedImage:
    """A checked image on local disk, ready for WeasyPrint. Sizes are after EXIF
    rotation; ``dpi`` is at the role's print size (0 for vector images)."""

    url: str
    path: Path
    width: int
    height: int
    source_width: int
    source_height: int
    dpi: float
    low_res: bool
    mime: str
    format: str = ""
    vector: bool = False
    aspect: float | None = None  # width / height; None for an SVG without a known ratio
    size_mm: tuple[float, float] | None = None  # an SVG's own size, if it declares one
    transparent: bool = False  # printed with its transparency (logos)
    notes: tuple[ImageNote, ...] = ()
    problems: tuple[str, ...] = ()  # what of it could not be printed

    def to_record(self) -> dict[str, Any]:
        """JSON-ready fields for the asset cache (without ``url`` and ``path``)."""
        record = asdict(self)
        del record["url"], record["path"]
        record["notes"] = [[n.kind.value, n.text] for n in self.notes]
        return record

    @classmethod
    def from_record(cls, url: str, path: Path, record: dict[str, Any]) -> PreparedImage:
        """Raises ``KeyError``, ``TypeError`` or ``ValueError`` for a record it cannot read."""
        fields = dict(record)
        fields["notes"] = tuple(ImageNote(NoteKind(k), t) for k, t in fields.get("notes", ()))
        fields["problems"] = tuple(fields.get("problems", ()))
        if fields.get("size_mm") is not None:
            fields["size_mm"] = tuple(fields["size_mm"])
        return cls(url=url, path=path, **fields)


def prepare_image(data: bytes, role: Role, *, url: str = "") -> tuple[bytes, dict[str, Any]]:
    """Check ``data`` is a safe, allowed image and return it print-ready: the bytes to
    cache and the fields of its ``PreparedImage`` (without ``url`` and ``path``)."""
    if looks_like_svg(data):
        return _prepare_svg(data, url)
    img, fmt, frames = _open(data, url)
    notes: list[ImageNote] = []
    if frames > 1:
        what = f"{frames}-page TIFF" if fmt == "TIFF" else f"animated {fmt} ({frames} frames)"
        first = "page" if fmt == "TIFF" else "frame"
        notes.append(ImageNote(NoteKind.ANIMATED, f"{what}: only the first {first} is printed"))
    orientation = img.getexif().get(_EXIF_ORIENTATION, 1)
    if orientation in range(2, 9):
        img = ImageOps.exif_transpose(img)
        upright = f"turned upright as the camera recorded it (EXIF orientation {orientation})"
        notes.append(ImageNote(NoteKind.ROTATED, upright))
    converted = to_srgb(img, keep_alpha=role.keep_alpha)
    notes += [ImageNote(NoteKind.COLOUR, text) for text in converted.notes]
    transparent = converted.transparent and role.keep_alpha
    if transparent:
        notes.append(ImageNote(NoteKind.TRANSPARENT, "transparent background (shown chequered)"))
    out = converted.image
    width, height = out.size

    # Printed size: scaled to fit the role's box, aspect kept; at most 300 dpi there.
    box_w, box_h = role.box_mm
    mm_per_px = min(box_w / width, box_h / height)
    dpi = MM_PER_INCH / mm_per_px
    max_w = max(1, round(width * mm_per_px / MM_PER_INCH * PRINT_DPI))
    if width > max_w:
        out = out.resize((max_w, max(1, round(height * max_w / width))), Image.LANCZOS)
    encoded, mime = _encode(out, role)
    return encoded, {
        "width": out.width,
        "height": out.height,
        "source_width": width,
        "source_height": height,
        "dpi": round(dpi, 1),
        "low_res": dpi < role.low_res_dpi,
        "mime": mime,
        "format": fmt,
        "aspect": width / height,
        "transparent": transparent,
        "notes": tuple(notes),
    }


def _open(data: bytes, url: str) -> tuple[Image.Image, str, int]:
    """The decoded first frame, its format and how many frames the file has."""
    # ``import weasyprint`` turns this on for the whole process, which would let a
    # truncated upload print half grey; WeasyPrint itself only ever reads our output.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        img = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise AssetError("not an image", url=url) from None
    except Image.DecompressionBombError:
        raise AssetError(
            "image too large in pixels (decompression bomb refused)", url=url
        ) from None
    fmt = img.format or ""
    if fmt not in ALLOWED_FORMATS:
        raise AssetError(f"image format {fmt or 'unknown'} is not allowed", url=url)
    width, height = img.size
    if width <= 0 or height <= 0 or width * height > MAX_PIXELS:
        raise AssetError(
            f"image too large in pixels ({width}x{height} > {MAX_PIXELS // 1_000_000} MP; "
            "decompression bomb refused)",
            url=url,
        )
    frames = getattr(img, "n_frames", 1) or 1
    try:
        img.seek(0)
        img.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise AssetError(f"image is damaged ({exc})", url=url) from None
    return img, fmt, frames


def _encode(img: Image.Image, role: Role) -> tuple[bytes, str]:
    """PNG for transparency and flat colours (a logo's edges stay sharp), JPEG for
    photos: WeasyPrint embeds a JPEG as it is, but re-compresses every PNG, and a
    photo-like PNG costs about three times as much to render."""
    out = io.BytesIO()
    if img.mode == "RGBA" or (role.keep_alpha and img.getcolors(256) is not None):
        img.save(out, "PNG", compress_level=6)
        return out.getvalue(), "image/png"
    img.convert("RGB").save(out, "JPEG", quality=90, optimize=True)
    return out.getvalue(), "image/jpeg"


def _prepare_svg(data: bytes, url: str) -> tuple[bytes, dict[str, Any]]:
    try:
        svg = check_svg(data)
    except SvgRefused as exc:
        raise AssetError(str(exc), url=url) from None
    problems = []
    if svg.refused:
        more = len(svg.refused) - 4
        shown = ", ".join(svg.refused[:4]) + (f" and {more} more" if more > 0 else "")
        problems.append(f"SVG refers to files outside itself, not drawn: {shown}")
    problems += [f"SVG contains {what}" for what in svg.unprintable]
    notes = []
    if svg.has_text:
        notes.append(ImageNote(NoteKind.SVG_TEXT, "its text prints in the ticket's fonts"))
    size = (svg.width_mm, svg.height_mm) if svg.width_mm and svg.height_mm else None
    return svg.data, {
        "width": 0,
        "height": 0,
        "source_width": 0,
        "source_height": 0,
        "dpi": 0.0,
        "low_res": False,
        "mime": "image/svg+xml",
        "format": "SVG",
        "vector": True,
        "aspect": svg.aspect,
        "size_mm": size,
        "notes": tuple(notes),
        "problems": tuple(problems),
    }
