"""Every Pillow mode to sRGB, checked against known ramps and colours, in real files."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image, ImageCms

from prodsheets.colour import to_srgb

import icc
from images import encode, near, raw_png

W = 256
RAMP8 = list(range(W))
RAMP16 = [round(v * 65535 / (W - 1)) for v in range(W)]


def reopen(img: Image.Image, fmt: str, **options) -> Image.Image:
    return Image.open(io.BytesIO(encode(img, fmt, **options)))


def pixels(img: Image.Image) -> list:
    return list(img.get_flattened_data())


def srgb(img: Image.Image, *, keep_alpha: bool = True) -> Image.Image:
    return to_srgb(img, keep_alpha=keep_alpha).image


def assert_grey_ramp(img: Image.Image, want: list[int], tol: int = 0) -> None:
    assert img.mode == "RGB", img.mode
    for x, (got, grey) in enumerate(zip(pixels(img)[: len(want)], want, strict=True)):
        assert got[0] == got[1] == got[2], (x, got)
        assert abs(got[0] - grey) <= tol, f"x={x}: got {got}, want grey {grey}"


def test_mode_1_and_L():
    one = Image.new("1", (4, 1))
    one.putdata([0, 1, 0, 1])
    assert pixels(srgb(reopen(one, "PNG"))) == [(0, 0, 0), (255, 255, 255)] * 2
    grey = Image.new("L", (W, 1))
    grey.putdata(RAMP8)
    assert_grey_ramp(srgb(reopen(grey, "PNG")), RAMP8)


def test_a_16_bit_scan_is_a_ramp_not_white():
    row = b"".join(struct.pack(">H", v) for v in RAMP16)
    src = Image.open(io.BytesIO(raw_png(W, 2, 0, 16, [row, row])))
    assert src.mode == "I;16"
    assert src.convert("RGB").getpixel((128, 0)) == (255, 255, 255)  # Pillow's own: white
    assert_grey_ramp(srgb(src), [round(v / 257) for v in RAMP16])


def test_every_16_bit_value_rounds_exactly():
    img = Image.new("I;16", (65536, 1))
    img.putdata(list(range(65536)))
    assert [p[0] for p in pixels(srgb(img))] == [round(v / 257) for v in range(65536)]


@pytest.mark.parametrize(("mode", "pack"), [("I;16B", ">H"), ("I;16L", "<H"), ("I;16", "<H")])
def test_16_bit_byte_orders(mode, pack):
    img = Image.frombytes(mode, (W, 1), b"".join(struct.pack(pack, v) for v in RAMP16))
    assert_grey_ramp(srgb(img), [round(v / 257) for v in RAMP16])


def test_a_12_bit_scan_stays_dark_as_in_every_viewer():
    values = [v * 16 for v in range(W)]  # 0..4080 in a 16-bit container: no auto-stretch
    img = Image.new("I;16", (W, 1))
    img.putdata(values)
    assert_grey_ramp(srgb(img), [round(v / 257) for v in values])


def test_32_bit_integer_greys_by_their_range():
    img = Image.new("I", (W, 1))
    img.putdata(RAMP16)
    assert_grey_ramp(srgb(img), [round(v / 257) for v in RAMP16])
    img.putdata(RAMP8)
    src = reopen(img, "TIFF")
    assert src.mode == "I"
    assert_grey_ramp(srgb(src), RAMP8)


def test_out_of_range_greys_are_stretched_and_said_so():
    img = Image.new("I", (3, 1))
    img.putdata([-1000, 0, 1000])
    converted = to_srgb(img, keep_alpha=True)
    assert [p[0] for p in pixels(converted.image)] == [0, 128, 255]
    assert converted.notes == [
        "grey values -1000..1000 do not fit 16 bits: stretched to black..white"
    ]


def test_float_greys_unit_and_byte_range():
    img = Image.new("F", (W, 1))
    img.putdata([v / 255 for v in RAMP8])
    assert_grey_ramp(srgb(img), RAMP8)
    img.putdata([float(v) for v in RAMP8])
    src = reopen(img, "TIFF")
    assert src.mode == "F"
    assert_grey_ramp(srgb(src), RAMP8)


def test_grey_with_alpha_and_transparent_grey():
    la = Image.merge("LA", [Image.new("L", (W, 1)), Image.new("L", (W, 1))])
    la.putdata([(v, 255 - v) for v in RAMP8])
    out = to_srgb(reopen(la, "PNG"), keep_alpha=True)
    assert out.transparent and out.image.mode == "RGBA"
    assert pixels(out.image)[10] == (10, 10, 10, 245)
    # An 8-bit grey PNG whose value 7 is transparent (tRNS): never printed as grey 7.
    trns = struct.pack(">I", 2) + b"tRNS\x00\x07" + struct.pack(">I", zlib.crc32(b"tRNS\x00\x07"))
    src = Image.open(io.BytesIO(raw_png(W, 1, 0, 8, [bytes(RAMP8)], extra=trns)))
    assert src.mode == "L" and src.info["transparency"] == 7
    assert pixels(srgb(src))[7][3] == 0 and pixels(srgb(src))[8] == (8, 8, 8, 255)
    assert pixels(srgb(src, keep_alpha=False))[7] == (255, 255, 255)


def palette_image() -> Image.Image:
    img = Image.new("P", (4, 1))
    img.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30])
    img.putdata([0, 1, 2, 3])
    return img


@pytest.mark.parametrize("fmt", ["PNG", "GIF"])
def test_palette_with_a_transparent_index(fmt):
    src = reopen(palette_image(), fmt, transparency=1)
    assert src.mode == "P" and src.info.get("transparency") == 1
    got = pixels(srgb(src))
    assert got[0] == (255, 0, 0, 255) and got[1][3] == 0 and got[3] == (10, 20, 30, 255)


def test_palette_with_alpha_values_and_opaque_palette():
    src = reopen(palette_image(), "PNG", transparency=bytes([255, 128, 0, 255]))
    assert [a for *_, a in pixels(srgb(src))] == [255, 128, 0, 255]
    opaque = srgb(reopen(palette_image(), "PNG"))
    assert opaque.mode == "RGB" and pixels(opaque)[3] == (10, 20, 30)


def rgb_ramp() -> Image.Image:
    img = Image.new("RGB", (W, 1))
    img.putdata([(v, 255 - v, (v * 7) % 256) for v in RAMP8])
    return img


def test_rgb_rgba_rgbx_ycbcr():
    src = rgb_ramp()
    assert pixels(srgb(reopen(src, "PNG"))) == pixels(src)
    rgba = src.copy()
    rgba.putalpha(Image.linear_gradient("L").resize((W, 1)))
    assert pixels(srgb(reopen(rgba, "PNG"))) == pixels(rgba)
    opaque = src.copy()
    opaque.putalpha(255)
    assert srgb(opaque).mode == "RGB"  # an alpha channel that is all opaque is dropped
    assert pixels(srgb(src.convert("RGBX"))) == pixels(src)
    ycc = pixels(srgb(src.convert("YCbCr")))
    assert near(ycc, pixels(src), 3)


def test_rgb_with_a_transparent_colour():
    src = Image.new("RGB", (2, 1))
    src.putdata([(1, 2, 3), (4, 5, 6)])
    assert pixels(srgb(reopen(src, "PNG", transparency=(1, 2, 3)))) == [
        (1, 2, 3, 0),
        (4, 5, 6, 255),
    ]


def _srgb_colorants():
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).profile
    return [c[0] for c in (profile.red_colorant, profile.green_colorant, profile.blue_colorant)]


def test_an_rgb_profile_is_applied_and_alpha_kept():
    red, green, blue = _srgb_colorants()
    swapped = icc.rgb_profile(green, red, blue)  # this camera's "red" is sRGB green
    src = Image.new("RGBA", (2, 1))
    src.putdata([(255, 0, 0, 200), (128, 128, 128, 7)])
    out = pixels(srgb(reopen(src, "PNG", icc_profile=swapped)))
    assert out[0][:3] == (0, 255, 0) and out[0][3] == 200
    assert max(out[1][:3]) - min(out[1][:3]) <= 1 and out[1][3] == 7  # a grey stays grey


def test_a_grey_profile_is_applied():
    img = Image.new("L", (W, 1))
    img.putdata(RAMP8)
    linear = srgb(reopen(img, "PNG", icc_profile=icc.grey_profile(1.0)))
    assert linear.getpixel((128, 0)) == (188, 188, 188)  # linear light 50 % in sRGB terms
    assert linear.getpixel((0, 0)) == (0, 0, 0) and linear.getpixel((255, 0)) == (255, 255, 255)


def cmyk_patches() -> Image.Image:
    img = Image.new("CMYK", (5, 1))
    img.putdata([(0, 0, 0, 0), (255, 0, 0, 0), (0, 255, 0, 0), (0, 0, 0, 255), (0, 0, 0, 128)])
    return img


def test_cmyk_without_a_profile_is_naive_and_said_so():
    converted = to_srgb(reopen(cmyk_patches(), "JPEG", quality=100), keep_alpha=True)
    want = [(255, 255, 255), (0, 255, 255), (255, 0, 255), (0, 0, 0), (127, 127, 127)]
    got = pixels(converted.image)
    assert near(got, want, 4), got
    assert converted.notes == ["CMYK without a colour profile: colours are approximate"]


def test_cmyk_with_a_profile_is_colour_managed():
    profile = icc.press_cmyk_profile()
    src = reopen(cmyk_patches(), "JPEG", quality=100, icc_profile=profile)
    converted = to_srgb(src, keep_alpha=True)
    white, cyan, magenta, black, _ = pixels(converted.image)
    assert converted.notes == []
    assert min(white) >= 245  # paper white
    assert cyan[0] < 40 and 120 < cyan[1] < 170 and cyan[2] > 190  # press cyan, not (0,255,255)
    assert magenta[1] < 40 and magenta[0] > 180
    assert max(black) < 60
    want = ImageCms.profileToProfile(
        reopen(cmyk_patches(), "JPEG", quality=100, icc_profile=profile),
        ImageCms.ImageCmsProfile(io.BytesIO(profile)),
        ImageCms.createProfile("sRGB"),
        outputMode="RGB",
        renderingIntent=ImageCms.Intent.PERCEPTUAL,
    )
    assert pixels(converted.image) == pixels(want)


def test_an_unusable_profile_is_named():
    converted = to_srgb(Image.open(io.BytesIO(encode(rgb_ramp(), "PNG", icc_profile=b"junk" * 40))),
                        keep_alpha=True)  # fmt: skip
    assert converted.notes == ["embedded colour profile unusable: colours are not managed"]
    assert pixels(converted.image) == pixels(rgb_ramp())


def test_lab():
    lab = Image.new("LAB", (1, 1), (255, 128, 128))  # L=100, a=b=0: white
    assert min(srgb(lab).getpixel((0, 0))) >= 250


def test_transparency_flattened_on_white_when_not_kept():
    rgba = Image.new("RGBA", (2, 1))
    rgba.putdata([(0, 0, 0, 0), (200, 30, 40, 255)])
    converted = to_srgb(rgba, keep_alpha=False)
    assert converted.transparent and converted.image.mode == "RGB"
    assert pixels(converted.image) == [(255, 255, 255), (200, 30, 40)]
