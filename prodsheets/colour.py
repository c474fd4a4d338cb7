"""Any Pillow image to 8-bit sRGB, faithfully: a ticket prints what the customer saw.

Pillow's own ``convert("RGB")`` is wrong for several modes a customer really uploads, and
wrong silently: a 16-bit greyscale scan (``I;16``) is clipped to white, an embedded grey
ICC profile is dropped, the transparent colour of a greyscale PNG (``tRNS``) is printed as
a grey. The recipes here are exact (``I;16``: ``round(v / 257)`` for all 65,536 values)
and each is tested against a known ramp or known colours in ``tests/test_colour.py``.

    mode              becomes
    1, L, P, YCbCr…   Pillow's conversion (exact for these), keeping any transparency
    I;16, I;16B, …    8 bits by v / 257, rounded
    I, F              scaled by the range the values use (0..1, 0..255, 0..65535), else
                      stretched min..max with a note
    CMYK              the embedded ICC profile if any, else Pillow's naive formula (noted)
    LAB               through the built-in Lab profile
    any with ICC      colour-managed to sRGB (perceptual), alpha carried over unchanged

What cannot be done faithfully is returned as a note for the ticket, never hidden.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field

from PIL import Image, ImageCms

log = logging.getLogger(__name__)

_I16_MODES = ("I;16", "I;16L", "I;16B", "I;16N")
_ALPHA_MODES = ("RGBA", "LA", "PA", "La", "RGBa")
_SRGB: ImageCms.ImageCmsProfile | None = None


def _srgb() -> ImageCms.ImageCmsProfile:
    global _SRGB
    if _SRGB is None:
        _SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    return _SRGB


@dataclass
class Converted:
    """The image in sRGB ("RGB", or "RGBA" when it has any transparency and it is kept),
    with what the conversion could not do faithfully."""

    image: Image.Image
    transparent: bool = False
    notes: list[str] = field(default_factory=list)


def to_srgb(img: Image.Image, *, keep_alpha: bool) -> Converted:
    """Convert ``img`` to 8-bit sRGB; transparency is kept, or flattened onto white."""
    notes: list[str] = []
    icc = img.info.get("icc_profile")
    basic = _to_basic(img, notes)
    if basic.mode == "RGBA" and not icc:  # the usual upload: no colour work, one copy less
        return _alpha_only(basic, keep_alpha, notes)
    colour, alpha = _split_alpha(basic)
    if icc:
        colour = _apply_profile(colour, icc, notes)
    if colour.mode == "LAB":
        colour = ImageCms.profileToProfile(
            colour, ImageCms.createProfile("LAB"), _srgb(), outputMode="RGB"
        )
    if colour.mode == "CMYK" and not icc:
        notes.append("CMYK without a colour profile: colours are approximate")
    if colour.mode != "RGB":
        colour = colour.convert("RGB")
    if alpha is None or alpha.getextrema() == (255, 255):
        return Converted(colour, notes=notes)
    if keep_alpha:
        colour.putalpha(alpha)
        return Converted(colour, transparent=True, notes=notes)
    flat = Image.new("RGB", colour.size, (255, 255, 255))
    flat.paste(colour, mask=alpha)
    return Converted(flat, transparent=True, notes=notes)


def _alpha_only(img: Image.Image, keep_alpha: bool, notes: list[str]) -> Converted:
    """An RGBA image already in sRGB: only its transparency to decide."""
    alpha = img.getchannel("A")
    if alpha.getextrema() == (255, 255):
        return Converted(img.convert("RGB"), notes=notes)
    if keep_alpha:
        return Converted(img, transparent=True, notes=notes)
    flat = Image.new("RGB", img.size, (255, 255, 255))
    flat.paste(img, mask=alpha)
    return Converted(flat, transparent=True, notes=notes)


def is_srgb(icc: bytes) -> bool:
    """Whether an embedded profile is (a version of) sRGB: such an image needs no change."""
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        return "srgb" in ImageCms.getProfileDescription(profile).lower()
    except (ImageCms.PyCMSError, OSError, ValueError):
        return False


def _to_basic(img: Image.Image, notes: list[str]) -> Image.Image:
    """Any mode to one of L, LA, RGB, RGBA, CMYK or LAB at 8 bits a channel, same meaning."""
    mode = img.mode
    if mode in _I16_MODES:
        # point() is refused on I;16B, and convert("L") clips: go through 32-bit I.
        return img.convert("I").point(lambda v: v / 257 + 0.5).convert("L")
    if mode in ("I", "F"):
        low, high = img.getextrema()
        return _scale_to_l(img, low, high, notes)
    if mode in ("L", "RGB") and "transparency" in img.info:
        return img.convert("LA" if mode == "L" else "RGBA")
    if mode == "P":
        return img.convert("RGBA" if "transparency" in img.info else "RGB")
    if mode in ("PA", "RGBa"):
        return img.convert("RGBA")
    if mode == "La":
        return img.convert("LA")
    if mode == "1":
        return img.convert("L")
    if mode in ("RGBX", "YCbCr", "HSV"):
        return img.convert("RGB")
    if mode in ("L", "LA", "RGB", "RGBA", "CMYK", "LAB"):
        return img
    notes.append(f"unusual image mode {mode}: converted without colour management")
    has_alpha = mode in _ALPHA_MODES or "transparency" in img.info
    return img.convert("RGBA" if has_alpha else "RGB")


def _scale_to_l(img: Image.Image, low: float, high: float, notes: list[str]) -> Image.Image:
    """32-bit integer or float greys to 8 bits, by the range the values use."""
    if img.mode == "F" and low >= 0 and high <= 1.0:
        return img.point(lambda v: v * 255 + 0.5).convert("L")
    if low >= 0 and high <= 255:
        return img.point(lambda v: v + 0.5).convert("L") if img.mode == "F" else img.convert("L")
    if low >= 0 and high <= 65535:
        return img.point(lambda v: v / 257 + 0.5).convert("L")
    notes.append(f"grey values {low:g}..{high:g} do not fit 16 bits: stretched to black..white")
    span = (high - low) or 1
    return img.point(lambda v: (v - low) * 255 / span + 0.5).convert("L")


def _split_alpha(img: Image.Image) -> tuple[Image.Image, Image.Image | None]:
    if img.mode in ("LA", "RGBA"):
        return img.convert(img.mode[:-1]), img.getchannel("A")
    return img, None


def _apply_profile(colour: Image.Image, icc: bytes, notes: list[str]) -> Image.Image:
    """Colour-manage with the embedded profile; an unusable one is named, not hidden."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        return ImageCms.profileToProfile(
            colour,
            source,
            _srgb(),
            outputMode="RGB",
            renderingIntent=ImageCms.Intent.PERCEPTUAL,
        )
    except (ImageCms.PyCMSError, OSError, ValueError) as exc:
        log.debug("unusable ICC profile: %s", exc)
        notes.append("embedded colour profile unusable: colours are not managed")
        return colour
