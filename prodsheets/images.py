"""Images a ticket prints: check an upload is a safe image, make it print-ready.

Pillow must agree a file is a real image of an allowed format, small enough in pixels to
decode safely (a decompression bomb is refused from its header, never decoded). A
usable image is converted to sRGB and scaled to at most 300 dpi at the size it prints
(its ``Role``), so WeasyPrint embeds it without re-decoding a 24-megapixel upload.
No network and no disk here: ``assets.py`` fetches and caches.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageCms, ImageFile, UnidentifiedImageError

from .errors import AssetError

log = logging.getLogger(__name__)

ALLOWED_FORMATS = frozenset({"PNG", "JPEG", "GIF", "WEBP"})
MAX_PIXELS = 40_000_000  # a 24 MP camera photo passes; a 20000x20000 bomb does not
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


_SRGB = None


def _srgb_profile() -> ImageCms.ImageCmsProfile:
    global _SRGB
    if _SRGB is None:
        _SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    return _SRGB


def prepare_image(data: bytes, role: Role, *, url: str = "") -> tuple[bytes, dict]:
    """Check ``data`` is a safe, allowed image and return it print-ready (bytes, info)."""
    # ``import weasyprint`` turns this on for the whole process, which would let a
    # truncated upload print half grey; WeasyPrint itself only ever reads our own output.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
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
