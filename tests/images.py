"""Images for tests, good and hostile, made on the fly."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

# An upright picture a person can check: four quadrants of known colours, wider than tall.
QUADRANTS = {(0, 0): (230, 30, 30), (1, 0): (30, 180, 40), (0, 1): (30, 60, 220),
             (1, 1): (240, 220, 20)}  # fmt: skip
# The transpose a file must have been stored with for EXIF orientation N to show it upright.
STORED_AS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def near(got, want, tol: int) -> bool:
    """Colours (or lists of colours) equal to within ``tol`` per channel."""
    if got and isinstance(got[0], tuple | list):
        return len(got) == len(want) and all(
            near(g, w, tol) for g, w in zip(got, want, strict=True)
        )
    return all(abs(a - b) <= tol for a, b in zip(got, want, strict=False))


def encode(img: Image.Image, fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **options)
    return buf.getvalue()


def png(size=(200, 100), colour=(200, 30, 40, 255), mode="RGBA") -> bytes:
    return encode(Image.new(mode, size, colour if mode == "RGBA" else colour[:3]), "PNG")


def jpeg(size=(400, 300), mode="RGB", **options) -> bytes:
    colour = (10, 80, 160) if mode == "RGB" else (80, 20, 0, 10)
    return encode(Image.new(mode, size, colour), "JPEG", **options)


def quadrants(size=(400, 200)) -> Image.Image:
    width, height = size
    img = Image.new("RGB", size)
    for (qx, qy), colour in QUADRANTS.items():
        box = (qx * width // 2, qy * height // 2, (qx + 1) * width // 2, (qy + 1) * height // 2)
        img.paste(colour, box)
    return img


def exif_photo(orientation: int, size=(400, 200)) -> bytes:
    """``quadrants`` stored so that a viewer honouring EXIF ``orientation`` shows it upright."""
    upright = quadrants(size)
    stored = upright.transpose(STORED_AS[orientation]) if orientation in STORED_AS else upright
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(stored, "JPEG", quality=95, exif=exif)


def grey_ramp_16(size=(512, 64)) -> bytes:
    """A 16-bit grey PNG (mode I;16): black at the left to white at the right."""
    width, height = size
    row = b"".join(struct.pack(">H", round(x * 65535 / (width - 1))) for x in range(width))
    return raw_png(width, height, 0, 16, [row] * height)


def animated(fmt: str, frames=((230, 30, 30), (30, 180, 40), (30, 60, 220))) -> bytes:
    images = [Image.new("RGB", (300, 300), colour) for colour in frames]
    extra = {"lossless": True} if fmt == "WEBP" else {}
    return encode(images[0], fmt, save_all=True, append_images=images[1:], duration=100,
                  loop=0, **extra)  # fmt: skip


def raw_png(width, height, color_type, bit_depth, rows, extra=b"") -> bytes:
    """A PNG written by hand (Pillow cannot write every depth and colour type)."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    body = zlib.compress(b"".join(b"\x00" + r for r in rows))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", body)
            + chunk(b"IEND", b""))  # fmt: skip


def bomb_png(width: int = 40000, height: int = 40000) -> bytes:
    """A tiny file whose header declares a huge image: decoding it would take GBs."""
    data = bytearray(png((8, 8)))
    ihdr_start = 8 + 8  # signature, then length+type of IHDR
    data[ihdr_start : ihdr_start + 8] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[12 : ihdr_start + 13])) & 0xFFFFFFFF
    data[ihdr_start + 13 : ihdr_start + 17] = struct.pack(">I", crc)
    return bytes(data)
