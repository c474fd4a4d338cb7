"""SVG uploads: measured safely, refused when hostile, cut off from everything outside."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET

import pytest

from prodsheets.svg import MAX_DEPTH, MAX_ELEMENTS, SvgRefused, check_svg, looks_like_svg

from images import bomb_png, png

HEAD = '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'
LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa">'
    + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
    + "]>" + HEAD + "><text>&j;</text></svg>"
).encode()  # fmt: skip


def svg(body: str, attrs: str = 'viewBox="0 0 200 100"') -> bytes:
    return f"{HEAD} {attrs}>{body}</svg>".encode()


@pytest.mark.parametrize(
    ("attrs", "size_mm"),
    [
        ('width="100" height="50"', (26.46, 13.23)),
        ('width="100px" height="50px"', (26.46, 13.23)),
        ('width="40mm" height="20mm"', (40.0, 20.0)),
        ('width="4cm" height="2cm"', (40.0, 20.0)),
        ('width="1in" height="0.5in"', (25.4, 12.7)),
        ('width="72pt" height="36pt"', (25.4, 12.7)),
        ('width="40mm" viewBox="0 0 200 100"', (40.0, 20.0)),  # height from the ratio
        ('viewBox="0 0 200 100"', None),  # no size of its own: it fills its box
        ('width="100%" height="100%" viewBox="0 0 200 100"', None),
    ],
)
def test_intrinsic_size(attrs, size_mm):
    checked = check_svg(svg('<rect width="1" height="1"/>', attrs))
    got = (checked.width_mm, checked.height_mm) if checked.width_mm else None
    assert got == (pytest.approx(size_mm, abs=0.01) if size_mm else None)
    assert checked.aspect == 2.0


def test_a_self_contained_svg_is_kept_whole():
    body = ('<defs><linearGradient id="g"><stop offset="0" stop-color="#f00"/></linearGradient>'
            '<rect id="r" width="5" height="5"/></defs><rect width="200" height="100" '
            'fill="url(#g)"/><use xlink:href="#r"/><image href="data:image/png;base64,'
            + base64.b64encode(png((4, 4))).decode() + '"/>')  # fmt: skip
    checked = check_svg(svg(body))
    assert checked.refused == () and checked.unprintable == ()
    root = ET.fromstring(checked.data)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.find(f"{ns}rect").get("fill") == "url(#g)"
    assert root.find(f"{ns}use").get("{http://www.w3.org/1999/xlink}href") == "#r"
    assert root.find(f"{ns}image").get("href").startswith("data:image/png;base64,")


def test_every_reference_to_the_outside_is_removed_and_named():
    body = (
        '<image href="http://127.0.0.1:9/spy.png"/><image xlink:href="file:///etc/passwd"/>'
        '<image href="sibling.png"/><use href="other.svg#x"/>'
        '<g xml:base="http://example.com/"><rect fill="url(http://example.com/p.svg#g)"/></g>'
        '<style>@import url("http://example.com/a.css"); '
        "@font-face { src: url(https://example.com/f.woff) } .a { fill: url(#ok) }</style>"
        '<pattern id="p"><image href="https://example.com/tile.png"/></pattern>'
        '<a href="https://example.com/"><rect width="1" height="1"/></a>'
    )
    checked = check_svg(svg(body))
    assert set(checked.refused) == {
        "http://127.0.0.1:9/spy.png", "file:///etc/passwd", "sibling.png", "other.svg#x",
        "xml:base http://example.com/", "http://example.com/p.svg#g",
        "@import http://example.com/a.css", "https://example.com/f.woff",
        "https://example.com/tile.png",
    }  # fmt: skip
    cleaned = checked.data.decode()
    for gone in ("127.0.0.1", "passwd", "sibling", "other.svg", "example.com", "@import"):
        assert gone not in cleaned
    assert "url(#ok)" in cleaned  # same-document references stay
    root = ET.fromstring(checked.data)  # an <image> or <use> without its reference is gone
    assert root.findall(".//{http://www.w3.org/2000/svg}image") == []
    assert root.findall(".//{http://www.w3.org/2000/svg}use") == []
    assert len(root.findall(".//{http://www.w3.org/2000/svg}rect")) == 2


def test_scripts_go_and_what_cannot_print_is_named():
    body = (
        "<script>alert(1)</script><foreignObject><p>html</p></foreignObject>"
        '<image href="data:image/svg+xml;base64,PHN2Zy8+"/>'
        '<image href="data:image/png;base64,' + base64.b64encode(bomb_png()).decode() + '"/>'
        '<image href="data:image/png;base64,bm90IGFuIGltYWdl"/><text>Hi</text>'
    )
    checked = check_svg(svg(body))
    assert b"script" not in checked.data and b"alert" not in checked.data
    assert checked.unprintable == (
        "HTML inside the SVG (foreignObject)",
        "an SVG embedded in the SVG (not drawn)",
        "an embedded image too large in pixels (not drawn)",
        "an embedded image that is not one (not drawn)",
    )
    assert checked.has_text


def test_doctype_and_entities_are_refused_before_any_expansion():
    with pytest.raises(SvgRefused, match="DOCTYPE"):
        check_svg(LAUGHS)  # billion laughs: refused at the declaration, nothing expanded
    xxe = (b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           + HEAD.encode() + b"><text>&x;</text></svg>")  # fmt: skip
    with pytest.raises(SvgRefused, match="DOCTYPE"):
        check_svg(xxe)


def test_caps_on_size_elements_and_depth():
    with pytest.raises(SvgRefused, match="too large"):
        check_svg(svg("<g/>" * 10) + b" " * (5 * 1024 * 1024))
    with pytest.raises(SvgRefused, match=f"more than {MAX_ELEMENTS:,} elements"):
        check_svg(svg("<rect/>" * MAX_ELEMENTS))
    with pytest.raises(SvgRefused, match=f"deeper than {MAX_DEPTH}"):
        check_svg(svg("<g>" * MAX_DEPTH + "</g>" * MAX_DEPTH))
    assert check_svg(svg("<g>" * (MAX_DEPTH - 1) + "</g>" * (MAX_DEPTH - 1))).elements == MAX_DEPTH


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"<html><body>not an image</body></html>", "root element is 'html'"),
        (b"<svg><rect></svg>", "malformed XML"),
        (b"<svg/>", "without the SVG namespace"),
    ],
)
def test_xml_that_is_not_an_svg(data, reason):
    assert looks_like_svg(data)
    with pytest.raises(SvgRefused, match=f"not an image .*{reason}"):
        check_svg(data)


def test_raster_files_do_not_look_like_svg():
    assert not looks_like_svg(png())
    assert looks_like_svg(b"\xef\xbb\xbf  \n<?xml version='1.0'?><svg/>")
