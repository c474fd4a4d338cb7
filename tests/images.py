"""Images for tests, good and hostile, made on the fly."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image


def png(size=(200, 100), colour=(200, 30, 40, 255), mode="RGBA") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, colour if mode == "RGBA" else colour[:3]).save(buf, "PNG")
    return buf.getvalue()


def jpeg(size=(400, 300), mode="RGB", **options) -> bytes:
    buf = io.BytesIO()
    colour = (10, 80, 160) if mode == "RGB" else (80, 20, 0, 10)
    Image.new(mode, size, colour).save(buf, "JPEG", **options)
    return buf.getvalue()


def bomb_png(width: int = 40000, height: int = 40000) -> bytes:
    """A tiny file whose header declares a huge image: decoding it would take GBs."""
    data = bytearray(png((8, 8)))
    ihdr_start = 8 + 8  # signature, then length+type of IHDR
    data[ihdr_start : ihdr_start + 8] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[12 : ihdr_start + 13])) & 0xFFFFFFFF
    data[ihdr_start + 13 : ihdr_start + 17] = struct.pack(">I", crc)
    return bytes(data)
