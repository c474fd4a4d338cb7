"""Every kind of upload, printed: the PDF's pixels compared with what the customer saw.

One order carries every case as a logo (a phone photo in each orientation, 16-bit and
32-bit scans, palettes with transparency, CMYK with and without a profile, WebP, an
animation, an SVG); each test finds its logo on the printed page by its caption and
compares the rasterised region with the source.
"""

from __future__ import annotations

import struct

import pytest
from PIL import Image

from prodsheets.synthetic import svg_logo

import icc
import pdfcheck
from images import QUADRANTS, animated, encode, exif_photo, grey_ramp_16, near, png
from orders import one_design, print_once

RAMP = [(x + 0.5) / 8 for x in range(8)]  # where along a ramp to sample


def ramp_image(mode: str, high: float) -> Image.Image:
    """A horizontal grey ramp 0..``high`` in ``mode`` (I, F, I;16B)."""
    width = 512
    values = [x * high / (width - 1) for x in range(width)]
    if mode == "I;16B":
        row = b"".join(struct.pack(">H", round(v)) for v in values)
        return Image.frombytes("I;16B", (width, 64), row * 64)
    img = Image.new(mode, (width, 64))
    img.putdata([round(v) if mode == "I" else v for v in values] * 64)
    return img


def halves(mode: str, left, right, size=(400, 200)) -> Image.Image:
    img = Image.new(mode, size, right)
    img.paste(left, (0, 0, size[0] // 2, size[1]))
    return img


def palette_with_hole() -> bytes:
    img = Image.new("P", (400, 200), 1)
    img.putpalette([200, 30, 40, 0, 0, 0] + [0, 0, 0] * 254)
    img.paste(0, (0, 0, 200, 200))
    return encode(img, "GIF", transparency=1)


CMYK_CYAN_BLACK = halves("CMYK", (255, 0, 0, 0), (0, 0, 0, 255))
CASES = {
    "photo-exif-6": exif_photo(6),
    "photo-exif-3": exif_photo(3),
    "photo-exif-8": exif_photo(8),
    "scan-16bit": grey_ramp_16(),
    "scan-16bit-big-endian": encode(ramp_image("I;16B", 65535), "TIFF"),
    "scan-32bit": encode(ramp_image("I", 65535), "TIFF"),
    "scan-float": encode(ramp_image("F", 1.0), "TIFF"),
    "bilevel": encode(halves("1", 0, 1), "PNG"),
    "grey-alpha": encode(halves("LA", (90, 255), (90, 0)), "PNG"),
    "palette-transparent": palette_with_hole(),
    "cmyk-plain": encode(CMYK_CYAN_BLACK, "JPEG", quality=95),
    "cmyk-profile": encode(
        CMYK_CYAN_BLACK, "JPEG", quality=95, icc_profile=icc.press_cmyk_profile()
    ),
    "webp": encode(halves("RGB", (230, 30, 30), (30, 60, 220)), "WEBP", quality=92),
    "animated": animated("GIF"),
    "vector": svg_logo("Ocean Blue", "Sunburst"),
}
EXTENSIONS = {"scan-16bit-big-endian": "tif", "scan-32bit": "tif", "scan-float": "tif",
              "cmyk-plain": "jpg", "cmyk-profile": "jpg", "webp": "webp", "animated": "gif",
              "palette-transparent": "gif", "vector": "svg"}  # fmt: skip


@pytest.fixture(scope="module")
def uploads(tmp_path_factory):
    """The order printed once: (result, pdf path)."""
    logos = [(name, f"{name}.{EXTENSIONS.get(name, 'jpg' if 'photo' in name else 'png')}", data)
             for name, data in CASES.items()]  # fmt: skip
    data = one_design(entries=[("Colour", "Black")], logos=logos,
                      design_image=exif_photo(6, (800, 400)))  # fmt: skip
    return print_once(data, tmp_path_factory.mktemp("uploads"))


def logo_region(path, number: int, dpi: int = 200, height_mm: float = 32) -> Image.Image:
    """The printed logo number ``number``: the image drawn left of its "Logo N" caption
    (for a vector logo, what is drawn there, at most ``height_mm`` tall)."""
    found = pdfcheck.find_text(path, f"Logo {number}", whole_word=True)
    assert found, f"Logo {number} not printed"
    page, (left, top, _, _) = found
    boxes = [b for b in pdfcheck.image_boxes(path, page) if b[2] <= left and abs(b[1] - top) < 2]
    if not boxes:  # a vector logo is no raster image: what is drawn left of the caption
        box = (left - 35, top - 1, left - 1, top + height_mm + 0.5)
        return pdfcheck.ink_box(pdfcheck.render_region(path, page, box, dpi))
    box = max(boxes, key=lambda b: b[2])  # the nearest (the design image may be further left)
    inset = 0.4  # stay clear of the box's border
    return pdfcheck.render_region(
        path, page, (box[0] + inset, box[1] + inset, box[2] - inset, box[3] - inset), dpi
    )


def number(name: str) -> int:
    return list(CASES).index(name) + 1


def test_every_upload_prints_complete(uploads):
    result, path = uploads
    assert result.exit_code == 0, result.stderr
    text = pdfcheck.text(path)
    assert "INCOMPLETE" not in text
    for name in CASES:
        assert name in text


@pytest.mark.parametrize("name", ["photo-exif-6", "photo-exif-3", "photo-exif-8"])
def test_a_phone_photo_prints_upright(uploads, name):
    _, path = uploads
    region = logo_region(path, number(name))
    assert region.width > region.height * 1.8  # landscape, as the camera recorded it
    for (qx, qy), colour in QUADRANTS.items():
        assert near(pdfcheck.sample(region, 0.25 + qx / 2, 0.25 + qy / 2), colour, 25), (qx, qy)
    orientation = name.rsplit("-", 1)[1]
    assert f"turned upright as the camera recorded it (EXIF orientation {orientation})" in (
        pdfcheck.text(path)
    )


def test_the_design_image_prints_upright_too(uploads):
    _, path = uploads
    box = pdfcheck.image_boxes(path, 0)
    design = max(box, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))  # the largest picture
    region = pdfcheck.render_region(path, 0, design)
    assert region.width > region.height * 1.8
    for (qx, qy), colour in QUADRANTS.items():
        assert near(pdfcheck.sample(region, 0.25 + qx / 2, 0.25 + qy / 2), colour, 25)


@pytest.mark.parametrize(
    "name", ["scan-16bit", "scan-16bit-big-endian", "scan-32bit", "scan-float"]
)
def test_a_deep_grey_scan_keeps_its_greys(uploads, name):
    _, path = uploads
    region = logo_region(path, number(name))
    greys = [pdfcheck.sample(region, fx, 0.5) for fx in RAMP]
    assert all(max(g) - min(g) <= 2 for g in greys), greys  # grey, not tinted
    assert near([g[0] for g in greys], [round(255 * fx) for fx in RAMP], 10), greys


@pytest.mark.parametrize(
    ("name", "left", "right"),
    [
        ("bilevel", (0, 0, 0), (255, 255, 255)),
        ("webp", (230, 30, 30), (30, 60, 220)),
        ("cmyk-plain", (0, 255, 255), (0, 0, 0)),  # no profile: the naive formula
        ("cmyk-profile", (0, 143, 210), (20, 27, 30)),  # the press it was made for
    ],
)
def test_colours_print_as_the_file_means_them(uploads, name, left, right):
    _, path = uploads
    region = logo_region(path, number(name))
    assert near(pdfcheck.sample(region, 0.25, 0.5), left, 14)
    assert near(pdfcheck.sample(region, 0.75, 0.5), right, 14)


@pytest.mark.parametrize(
    ("name", "opaque"), [("grey-alpha", (90, 90, 90)), ("palette-transparent", (200, 30, 40))]
)
def test_transparent_parts_stay_transparent(uploads, name, opaque):
    _, path = uploads
    region = logo_region(path, number(name))
    assert near(pdfcheck.sample(region, 0.25, 0.5), opaque, 6)
    see_through = pdfcheck.sample(region, 0.75, 0.5, radius=8)  # the light chequerboard
    assert min(see_through) >= 200 and max(see_through) - min(see_through) <= 4


def test_an_animation_prints_its_first_frame_and_the_ticket_says_so(uploads):
    result, path = uploads
    assert near(pdfcheck.sample(logo_region(path, number("animated")), 0.5, 0.5), (230, 30, 30), 6)
    note = "animated GIF (3 frames): only the first frame is printed"
    assert note in pdfcheck.text(path)
    assert f"'animated': {note}" in result.stderr  # a warning, not a failure


def test_an_svg_logo_is_drawn_as_vectors(uploads):
    _, path = uploads
    region = logo_region(path, number("vector"), height_mm=16)
    assert pdfcheck.find_text(path, "SVG (vector), 80.0 × 40.0 mm as drawn")
    assert near([region.width / 200 * 25.4, region.height / 200 * 25.4], [32, 16], 1)  # mm
    # svg_logo (200 x 100): a white disc centred at (50, 50) holding an Ocean Blue
    # triangle, on a gradient from Ocean Blue to Sunburst.
    assert near(pdfcheck.sample(region, 0.25, 0.3), (255, 255, 255), 4)  # the disc
    assert near(pdfcheck.sample(region, 0.25, 0.55), (30, 90, 170), 6)  # the triangle
    assert near(pdfcheck.sample(region, 0.97, 0.5), (230, 150, 30), 30)  # the far end
    assert "LOW-RES" not in pdfcheck.text(path)


def test_a_tiny_design_image_is_marked_low_res(print_order):
    result, path = print_order(design_image=png((64, 64)))
    assert result.exit_code == 0, result.stderr
    text = pdfcheck.text(path)
    assert "Design image: PNG · 64 × 64 px" in text and "LOW-RES" in text
    assert "the design image is LOW-RES" in result.stderr


def test_an_svg_reaching_outside_itself_draws_nothing_from_there(print_order, listener):
    listener.routes["/spy.png"] = (200, {"Content-Type": "image/png"}, png((50, 50)))
    body = (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        'width="60mm" height="30mm" viewBox="0 0 200 100">'
        '<rect width="200" height="100" fill="#22aa44"/>'
        f'<image href="{listener.url}/spy.png" width="200" height="100"/>'
        '<image xlink:href="file:///etc/passwd" width="10" height="10"/>'
        '<image href="sibling.png" width="10" height="10"/></svg>'
    )
    result, path = print_order(logos=[("Crest", "crest.svg", body.encode())])
    assert listener.total_hits == 0
    assert result.exit_code == 3
    text = pdfcheck.text(path)
    assert "INCOMPLETE" in text
    problem = (f"logo 'Crest': SVG refers to files outside itself, not drawn: "
               f"{listener.url}/spy.png, file:///etc/passwd, sibling.png")  # fmt: skip
    assert pdfcheck.compact(problem) in pdfcheck.compact(text)
    assert problem in result.stderr
    assert result.stderr.count("\n  - ") == 1  # that one line, nothing from the renderer
    # The rest of the logo is drawn: green, not the red of the file it pointed at.
    crest = logo_region(path, 1, height_mm=16)
    assert near(pdfcheck.sample(crest, 0.3, 0.3), (34, 170, 68), 6)
