"""Preparing images: allowed formats, print size, resolution marks, colour, orientation,
animations, SVG."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image, ImageCms

from prodsheets.errors import AssetError
from prodsheets.images import DESIGN, LOGO, NoteKind, PreparedImage, prepare_image

from images import QUADRANTS, animated, encode, exif_photo, grey_ramp_16, jpeg, near, png


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


def test_an_image_a_little_over_300_dpi_is_not_resampled():
    """A 400 px logo prints at 317 dpi in its 32 mm box: left as it is (resampling cost
    more CPU than it saved); from 450 dpi on it is scaled to 300."""
    data, info = prepare_image(png((400, 400), mode="RGB"), LOGO)
    assert Image.open(io.BytesIO(data)).size == (400, 400) and info["dpi"] == 317.5
    data, info = prepare_image(png((600, 600), mode="RGB"), LOGO)
    assert Image.open(io.BytesIO(data)).size == (378, 378)


def test_low_res_logo_is_flagged_not_refused():
    _, info = prepare_image(png((64, 64)), LOGO)
    assert info["low_res"] is True and info["dpi"] < LOGO.low_res_dpi
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
    data, _info = prepare_image(png((100, 100), colour=(0, 0, 0, 0)), DESIGN)
    image = Image.open(io.BytesIO(data))
    assert image.mode == "RGB" and image.getpixel((50, 50)) == (255, 255, 255)


def _photo(mode: str = "RGBA") -> Image.Image:
    """A photo-like picture (far more than 256 colours), half transparent if RGBA."""
    img = Image.merge("RGB", [Image.linear_gradient("L").resize((300, 200))] * 2
                      + [Image.effect_noise((300, 200), 40)])  # fmt: skip
    if mode == "RGBA":
        alpha = Image.new("L", img.size, 255)
        alpha.paste(0, (150, 0, 300, 200))
        img.putalpha(alpha)
    return img


def test_what_the_pdf_embeds_costs_weasyprint_nothing_to_re_make():
    """JPEG for photos (WeasyPrint embeds it as it is), PNG only for flat colours; a
    logo's transparency becomes a chequerboard in the picture itself (no alpha channel,
    which WeasyPrint would re-compress on every render)."""
    buf = io.BytesIO()
    _photo().save(buf, "PNG")
    data, info = prepare_image(buf.getvalue(), LOGO)
    logo = Image.open(io.BytesIO(data))
    assert (info["mime"], logo.format, logo.mode) == ("image/jpeg", "JPEG", "RGB")
    assert info["transparent"] and "shown chequered" in str(info["notes"][-1])
    right = [logo.getpixel((x, y)) for x in range(logo.width * 3 // 4, logo.width, 7)
             for y in range(0, logo.height, 7)]  # fmt: skip
    greys = {("grey" if abs(sum(p) / 3 - 221) < 10 else "white" if sum(p) / 3 > 245 else "?")
             for p in right}  # fmt: skip
    assert greys == {"grey", "white"}  # the chequerboard: light grey and white squares
    flat = png((120, 60), colour=(200, 30, 40, 255), mode="RGB")
    data, info = prepare_image(flat, LOGO)
    assert info["mime"] == "image/png" and Image.open(io.BytesIO(data)).getcolors(4)


def test_a_jpeg_that_needs_nothing_is_passed_on_byte_for_byte():
    buf = io.BytesIO()
    _photo("RGB").save(buf, "JPEG", quality=85)
    data, info = prepare_image(buf.getvalue(), DESIGN)
    assert data == buf.getvalue() and info["mime"] == "image/jpeg"
    assert (info["width"], info["source_width"]) == (300, 300)
    rotated = Image.Exif()
    rotated[0x0112] = 6
    turned = io.BytesIO()
    _photo("RGB").save(turned, "JPEG", exif=rotated)
    data, info = prepare_image(turned.getvalue(), DESIGN)
    assert data != turned.getvalue() and (info["width"], info["height"]) == (200, 300)
    with pytest.raises(AssetError, match="damaged"):
        prepare_image(buf.getvalue()[: len(buf.getvalue()) // 2], DESIGN)


def test_a_truncated_upload_is_refused_even_after_weasyprint_was_imported():
    """WeasyPrint sets PIL's LOAD_TRUNCATED_IMAGES for the whole process on import."""
    import weasyprint  # noqa: F401
    from PIL import ImageFile

    ImageFile.LOAD_TRUNCATED_IMAGES = True  # as WeasyPrint leaves it
    buf = io.BytesIO()
    Image.effect_noise((400, 400), 64).save(buf, "PNG")
    with pytest.raises(AssetError, match="damaged"):
        prepare_image(buf.getvalue()[: len(buf.getvalue()) // 2], LOGO)


# -- what the customer's viewer shows -------------------------------------------------


def _decoded(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_and_sizes_are_upright(orientation):
    data, info = prepare_image(exif_photo(orientation, (400, 200)), LOGO)
    assert (info["source_width"], info["source_height"]) == (400, 200)
    assert info["aspect"] == 2.0
    img = _decoded(data)
    width, height = img.size
    assert width > height
    for (qx, qy), colour in QUADRANTS.items():
        centre = (width * (2 * qx + 1) // 4, height * (2 * qy + 1) // 4)
        assert near(img.getpixel(centre), colour, 12), (orientation, (qx, qy))
    notes = [str(n) for n in info["notes"]]
    if orientation == 1:
        assert notes == []
    else:
        assert notes == [
            f"turned upright as the camera recorded it (EXIF orientation {orientation})"
        ]


def test_dpi_is_reported_for_the_upright_photo():
    # A portrait phone photo stored landscape: at 32 mm tall it is 1200 px over 32 mm.
    _, info = prepare_image(exif_photo(6, (900, 1200)), LOGO)
    assert (info["source_width"], info["source_height"]) == (900, 1200)
    assert info["dpi"] == round(1200 / (LOGO.box_mm[1] / 25.4), 1)


@pytest.mark.parametrize("fmt", ["GIF", "PNG", "WEBP"])
def test_an_animation_prints_its_first_frame_and_says_so(fmt):
    data, info = prepare_image(animated(fmt), LOGO)
    assert near(_decoded(data).getpixel((10, 10)), (230, 30, 30), 2)
    assert [(n.kind, str(n)) for n in info["notes"]] == [
        (NoteKind.ANIMATED, f"animated {fmt} (3 frames): only the first frame is printed")
    ]
    assert NoteKind.ANIMATED.warns


def test_a_multi_page_tiff_prints_its_first_page_and_says_so():
    pages = [Image.new("RGB", (100, 100), c) for c in ((0, 0, 0), (255, 255, 255))]
    data, info = prepare_image(encode(pages[0], "TIFF", save_all=True, append_images=pages[1:]),
                               LOGO)  # fmt: skip
    assert info["format"] == "TIFF" and _decoded(data).getpixel((5, 5)) == (0, 0, 0)
    assert [str(n) for n in info["notes"]] == ["2-page TIFF: only the first page is printed"]


def test_a_16_bit_scan_keeps_its_greys():
    data, info = prepare_image(grey_ramp_16((512, 64)), LOGO)
    row = [_decoded(data).getpixel((x, 10))[0] for x in range(0, info["width"], 16)]
    expected = [round(x * 255 / (info["width"] - 1)) for x in range(0, info["width"], 16)]
    assert near(row, expected, 3) and info["notes"] == ()


def test_a_tiny_design_image_is_low_res_too():
    _, info = prepare_image(png((64, 64)), DESIGN)
    assert info["low_res"] and info["dpi"] < DESIGN.low_res_dpi
    _, info = prepare_image(png((1000, 750)), DESIGN)
    assert not info["low_res"]


def test_logos_keep_edges_and_transparency_photos_become_jpeg():
    transparent = prepare_image(png((300, 300), colour=(0, 0, 0, 0)), LOGO)[1]
    assert transparent["mime"] == "image/png" and transparent["transparent"]
    assert [n.kind for n in transparent["notes"]] == [NoteKind.TRANSPARENT]
    flat = prepare_image(png((300, 300), mode="RGB"), LOGO)[1]
    assert flat["mime"] == "image/png" and not flat["transparent"]
    noise = Image.merge("RGB", [Image.effect_noise((300, 300), 60) for _ in range(3)])
    assert prepare_image(encode(noise, "PNG"), LOGO)[1]["mime"] == "image/jpeg"  # photo-like


def test_svg_is_prepared_as_vector_with_its_refusals():
    body = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="60mm" height="30mm">'
        '<image href="http://127.0.0.1:9/x.png"/><rect width="5" height="5"/></svg>'
    )
    data, info = prepare_image(body.encode(), LOGO)
    assert info["vector"] and info["mime"] == "image/svg+xml" and not info["low_res"]
    assert info["size_mm"] == (60.0, 30.0) and info["aspect"] == 2.0
    assert info["problems"] == (
        "SVG refers to files outside itself, not drawn: http://127.0.0.1:9/x.png",
    )
    assert b"127.0.0.1" not in data


def test_tiff_is_allowed():
    data, info = prepare_image(encode(Image.new("RGB", (300, 200), (10, 20, 30)), "TIFF"), LOGO)
    assert info["format"] == "TIFF" and _decoded(data).getpixel((5, 5)) == (10, 20, 30)


def test_a_prepared_image_survives_the_cache_record(tmp_path):
    _, info = prepare_image(animated("GIF"), LOGO)
    image = PreparedImage(url="u", path=tmp_path / "x.png", **info)
    assert PreparedImage.from_record("u", tmp_path / "x.png", image.to_record()) == image
    svg_info = prepare_image(b'<svg xmlns="http://www.w3.org/2000/svg" width="1in" height="1in"/>',
                             LOGO)[1]  # fmt: skip
    svg = PreparedImage(url="s", path=tmp_path / "x.svg", **svg_info)
    record = json.loads(json.dumps(svg.to_record()))
    assert PreparedImage.from_record("s", tmp_path / "x.svg", record) == svg
