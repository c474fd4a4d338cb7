"""Preparing images: allowed formats, print size, resolution marks, colour."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageCms

from prodsheets.errors import AssetError
from prodsheets.images import DESIGN, LOGO, prepare_image

from images import jpeg, png


def test_format_allow_list():
    buf = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buf, "BMP")
    with pytest.raises(AssetError, match="format BMP is not allowed"):
        prepare_image(buf.getvalue(), LOGO)


def test_downscaled_to_300_dpi_at_print_size():
    data, info = prepare_image(jpeg((6000, 4000)), DESIGN)
    box_w, box_h = DESIGN.box_mm
    printed_width_mm = 6000 * min(box_w / 6000, box_h / 4000)
    assert info["width"] == round(printed_width_mm / 25.4 * 300)
    assert info["height"] == round(info["width"] * 4000 / 6000)
    assert Image.open(io.BytesIO(data)).size == (info["width"], info["height"])


def test_low_res_logo_is_flagged_not_refused():
    _, info = prepare_image(png((64, 64)), LOGO)
    assert info["low_res"] is True and info["dpi"] < 150
    _, info = prepare_image(png((600, 600)), LOGO)
    assert info["low_res"] is False


def _solid(mode: str, colour, fmt: str = "JPEG", **options) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, (60, 60), colour).save(buf, fmt, quality=95, **options)
    return buf.getvalue()


def _centre(data: bytes) -> tuple[int, ...]:
    return Image.open(io.BytesIO(data)).convert("RGB").getpixel((30, 30))


@pytest.mark.parametrize(
    ("cmyk", "rgb"),
    [((0, 255, 255, 0), (255, 0, 0)), ((255, 0, 0, 0), (0, 255, 255)), ((0, 0, 0, 255), (0, 0, 0))],
)
def test_cmyk_comes_out_as_the_colour_it_names(cmyk, rgb):
    data, _ = prepare_image(_solid("CMYK", cmyk), DESIGN)
    assert Image.open(io.BytesIO(data)).mode == "RGB"
    assert all(abs(a - b) <= 8 for a, b in zip(_centre(data), rgb, strict=True)), _centre(data)


def test_srgb_profile_keeps_the_colours():
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data, _ = prepare_image(_solid("RGB", (200, 120, 40), icc_profile=srgb), LOGO)
    assert all(abs(a - b) <= 4 for a, b in zip(_centre(data), (200, 120, 40), strict=True))


def test_transparent_design_image_flattened_on_white():
    data, info = prepare_image(png((100, 100), colour=(0, 0, 0, 0)), DESIGN)
    image = Image.open(io.BytesIO(data))
    assert info["mime"] == "image/jpeg"
    assert image.getpixel((50, 50))[0] > 240


def test_a_truncated_upload_is_refused_even_after_weasyprint_was_imported():
    """WeasyPrint sets PIL's LOAD_TRUNCATED_IMAGES for the whole process on import."""
    import weasyprint  # noqa: F401
    from PIL import ImageFile

    ImageFile.LOAD_TRUNCATED_IMAGES = True  # as WeasyPrint leaves it
    buf = io.BytesIO()
    Image.effect_noise((400, 400), 64).save(buf, "PNG")
    with pytest.raises(AssetError, match="damaged"):
        prepare_image(buf.getvalue()[: len(buf.getvalue()) // 2], LOGO)
