"""ICC profiles written by hand, for tests: a fresh machine has none to borrow.

Each is the smallest ICC v2 profile lcms accepts for its colour space: a grey profile
with a gamma curve, an RGB matrix/curve profile (any primaries), and a CMYK profile
whose A2B0 table (lut8, 2 points a channel) maps each corner of the CMYK cube to a Lab
colour. Enough to tell a colour-managed conversion from Pillow's naive one.
"""

from __future__ import annotations

import struct

D50 = (0.9642, 1.0, 0.8249)


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz(xyz: tuple[float, float, float]) -> bytes:
    return b"XYZ " + bytes(4) + b"".join(_s15(v) for v in xyz)


def _curve(gamma: float) -> bytes:
    return b"curv" + bytes(4) + struct.pack(">IH", 1, round(gamma * 256)) + bytes(2)


def _desc(text: str) -> bytes:
    ascii_text = text.encode("ascii") + b"\0"
    return (b"desc" + bytes(4) + struct.pack(">I", len(ascii_text)) + ascii_text
            + struct.pack(">II", 0, 0) + struct.pack(">HB", 0, 0) + bytes(67))  # fmt: skip


def _profile(device_class: bytes, space: bytes, pcs: bytes, tags: dict[bytes, bytes]) -> bytes:
    tags = {b"desc": _desc("prodsheets test profile"), b"wtpt": _xyz(D50),
            b"cprt": b"text" + bytes(4) + b"public domain\0", **tags}  # fmt: skip
    table_size = 4 + 12 * len(tags)
    offset = 128 + table_size
    entries, blobs = [], b""
    for signature, data in tags.items():
        padded = data + bytes(-len(data) % 4)
        entries.append(struct.pack(">4sII", signature, offset + len(blobs), len(data)))
        blobs += padded
    size = 128 + table_size + len(blobs)
    header = (struct.pack(">I4sI", size, b"lcms", 0x02100000) + device_class + space + pcs
              + struct.pack(">6H", 2026, 1, 1, 0, 0, 0) + b"acsp" + bytes(4) + bytes(4)
              + bytes(8) + bytes(8) + struct.pack(">I", 0) + b"".join(_s15(v) for v in D50)
              + b"test" + bytes(44))  # fmt: skip
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + b"".join(entries) + blobs


def grey_profile(gamma: float) -> bytes:
    """A greyscale profile whose values are ``(v/255) ** gamma`` luminance."""
    return _profile(b"mntr", b"GRAY", b"XYZ ", {b"kTRC": _curve(gamma)})


def rgb_profile(red, green, blue, gamma: float = 2.2) -> bytes:
    """An RGB profile with these D50 XYZ colorants (e.g. sRGB's, swapped around)."""
    tags = {b"rXYZ": _xyz(red), b"gXYZ": _xyz(green), b"bXYZ": _xyz(blue)}
    tags |= {b"rTRC": _curve(gamma), b"gTRC": _curve(gamma), b"bTRC": _curve(gamma)}
    return _profile(b"mntr", b"RGB ", b"XYZ ", tags)


def cmyk_profile(corners: dict[tuple[int, int, int, int], tuple[float, float, float]]) -> bytes:
    """A CMYK profile: ``corners`` maps each (c, m, y, k) in {0, 1} to Lab (L 0..100)."""
    clut = b""
    for c in (0, 1):  # the first channel varies slowest
        for m in (0, 1):
            for y in (0, 1):
                for k in (0, 1):
                    lab_l, lab_a, lab_b = corners[(c, m, y, k)]
                    clut += bytes(
                        (round(lab_l * 255 / 100), round(lab_a) + 128, round(lab_b) + 128)
                    )
    identity = bytes(range(256))
    matrix = b"".join(_s15(v) for v in (1, 0, 0, 0, 1, 0, 0, 0, 1))
    lut = (b"mft1" + bytes(4) + bytes((4, 3, 2, 0)) + matrix + identity * 4 + clut
           + identity * 3)  # fmt: skip
    return _profile(b"prtr", b"CMYK", b"Lab ", {b"A2B0": lut})


def press_cmyk_profile() -> bytes:
    """A made-up press: inks a little dull, black not quite black (as on real paper)."""
    inks = {"c": (55.0, -37.0, -50.0), "m": (48.0, 74.0, -3.0), "y": (89.0, -5.0, 93.0)}
    corners = {}
    for c in (0, 1):
        for m in (0, 1):
            for y in (0, 1):
                for k in (0, 1):
                    used = [inks[n] for n, on in zip("cmy", (c, m, y), strict=True) if on]
                    lab_l = 95.0 * _product(v[0] / 100 for v in used) if used else 95.0
                    lab_a = sum(v[1] for v in used) / max(len(used), 1) * (0.3 if k else 1)
                    lab_b = sum(v[2] for v in used) / max(len(used), 1) * (0.3 if k else 1)
                    corners[(c, m, y, k)] = (lab_l * (0.12 if k else 1), lab_a, lab_b)
    return cmyk_profile(corners)


def _product(values) -> float:
    result = 1.0
    for v in values:
        result *= v
    return result
