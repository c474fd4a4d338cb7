"""Images a ticket prints: check an upload is a safe image, make it print-ready.

Raster uploads: Pillow must agree a file is a real image of an allowed format, small
enough in pixels to decode safely (a decompression bomb is refused from its header,
never decoded). A usable image is taken as the customer's viewer shows it: the first
frame of an animation, turned upright from its EXIF orientation, converted faithfully
to sRGB (``colour.py``), then scaled to 300 dpi at the size it prints (its ``Role``)
when it is sharper than 450 dpi there, so WeasyPrint embeds it without re-decoding a
24-megapixel upload (a 400 px logo at 317 dpi is left as it is: resampling it would cost
more than it saves).

SVG uploads are checked and cut off from the outside (``svg.py``) and drawn by
WeasyPrint as vectors: no pixel size, never LOW-RES.

What the ticket should say about an image (animated, turned upright, colours
approximate) travels with it as ``ImageNote``; what it could not print (an SVG's
reference to a server) as a problem. No network and no disk here: ``assets.py``
fetches and caches.
"""

from __future__ import annotations

import functools
import io
import logging
from dataclasses import asdict, dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from .colour import is_srgb, to_srgb
from .errors import AssetError
from .svg import SvgRefused, check_svg, looks_like_svg

log = logging.getLogger(__name__)

ALLOWED_FORMATS = frozenset({"PNG", "JPEG", "GIF", "WEBP", "TIFF"})
MAX_PIXELS = 40_000_000  # a 24 MP camera photo passes; a 20000x20000 bomb does not
PRINT_DPI = 300
RESAMPLE_ABOVE_DPI = 450  # below this, scaling down costs more CPU than it saves bytes
MM_PER_INCH = 25.4
# Bump when preparation changes what it makes: cached results of older versions are
# prepared again (version 1 printed 16-bit scans white and phone photos sideways;
# version 2 kept logos' transparency, which WeasyPrint re-compresses on every render;
# version 3 resampled images that were barely over 300 dpi).
PREPARE_VERSION = 4
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
    if _as_is(img, fmt, frames, role):  # a JPEG that needs nothing: checked, not re-made
        size = img.size
        _load(img, url, draft=True)  # at 1/8 scale: every byte is read, little computed
        return data, _info(size, size, role, "image/jpeg", fmt, False, [])
    _load(img, url)
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
    source = out.size
    target = _print_pixels(source, role)
    if target != source:
        out = out.resize(target, Image.LANCZOS)
    if out.mode == "RGBA":  # WeasyPrint re-compresses an image with alpha on every render
        out = _on_chequerboard(out, role)
    encoded, mime = _encode(out)
    return encoded, _info(source, out.size, role, mime, fmt, transparent, notes)


def _print_pixels(size: tuple[int, int], role: Role) -> tuple[int, int]:
    """The size in pixels the image is embedded at: as it is up to 450 dpi in the
    role's box, 300 dpi there when it is sharper than that."""
    width, height = size
    mm_per_px = min(role.box_mm[0] / width, role.box_mm[1] / height)
    if MM_PER_INCH / mm_per_px <= RESAMPLE_ABOVE_DPI:
        return size
    max_w = max(1, round(width * mm_per_px / MM_PER_INCH * PRINT_DPI))
    return (max_w, max(1, round(height * max_w / width)))


def _info(
    source: tuple[int, int],
    size: tuple[int, int],
    role: Role,
    mime: str,
    fmt: str,
    transparent: bool,
    notes: list[ImageNote],
) -> dict[str, Any]:
    width, height = source
    dpi = MM_PER_INCH / min(role.box_mm[0] / width, role.box_mm[1] / height)
    return {
        "width": size[0],
        "height": size[1],
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


def _as_is(img: Image.Image, fmt: str, frames: int, role: Role) -> bool:
    """Whether ``img`` can go to the PDF byte for byte (WeasyPrint embeds a JPEG as it
    is): an upright sRGB (or untagged) RGB or grey JPEG that needs no scaling down
    (at most 450 dpi where it prints)."""
    if fmt != "JPEG" or frames != 1 or img.mode not in ("RGB", "L"):
        return False
    if img.getexif().get(_EXIF_ORIENTATION, 1) not in (0, 1):
        return False
    icc = img.info.get("icc_profile")
    if icc and not is_srgb(icc):
        return False
    return _print_pixels(img.size, role) == img.size


def _on_chequerboard(img: Image.Image, role: Role) -> Image.Image:
    """Transparency shown as a graphics program shows it: 1.5 mm squares, light grey on
    white at the size the image prints, so an opaque JPEG can carry it."""
    mm_per_px = min(role.box_mm[0] / img.width, role.box_mm[1] / img.height)
    board = _chequerboard(img.size, max(2, round(1.5 / mm_per_px))).copy()
    board.paste(img, mask=img.getchannel("A"))
    return board


@functools.lru_cache(maxsize=16)
def _chequerboard(size: tuple[int, int], square: int) -> Image.Image:
    """The board for one logo size (uploads come in a few common sizes): made once per
    process; callers paste onto a copy."""
    cols, rows = -(-size[0] // square), -(-size[1] // square)
    grid = Image.new("L", (cols, rows))
    grid.putdata([221 if (x + y) % 2 == 0 else 255 for y in range(rows) for x in range(cols)])
    board = grid.resize((cols * square, rows * square), Image.NEAREST).crop((0, 0, *size))
    return board.convert("RGB")


def _open(data: bytes, url: str) -> tuple[Image.Image, str, int]:
    """The first frame (from its header; not decoded yet), its format and how many
    frames the file has."""
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
    return img, fmt, frames


def _load(img: Image.Image, url: str, *, draft: bool = False) -> None:
    """Decode ``img`` (its first frame): a truncated or damaged file is refused here."""
    try:
        if draft:
            img.draft(img.mode, (max(1, img.width // 8), max(1, img.height // 8)))
        img.seek(0)
        img.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise AssetError(f"image is damaged ({exc})", url=url) from None


def _encode(img: Image.Image) -> tuple[bytes, str]:
    """PNG for a handful of flat colours (line art, a two-colour logo: JPEG would ring
    around their edges), JPEG for the rest: WeasyPrint embeds a JPEG as it is but
    decodes and re-compresses every PNG on every render (measured here: a 400 px logo
    cost 24 ms a ticket as PNG, nothing as JPEG). Quality 92 with full-resolution
    chroma (4:4:4): at 300 dpi on paper it cannot be told from the original."""
    out = io.BytesIO()
    if img.getcolors(16) is not None:
        img.save(out, "PNG", compress_level=6)
        return out.getvalue(), "image/png"
    (img if img.mode in ("RGB", "L") else img.convert("RGB")).save(
        out, "JPEG", quality=92, subsampling=0
    )
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
