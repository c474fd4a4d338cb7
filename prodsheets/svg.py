"""SVG uploads: checked, measured and cut off from everything outside themselves.

WeasyPrint draws SVG as vectors, through the same local-only fetcher as everything else,
so a reference to a server or to ``/etc/passwd`` is refused at render time anyway. That
is not enough: WeasyPrint's log names the inner URL and not the logo, says nothing for
``<use href="other.svg#x">``, and a *relative* reference would be read from the asset
cache, which holds other customers' files. So an SVG is parsed here once, before it is
cached, and rewritten without any reference to the outside; what was removed is returned
so the ticket can name it.

Parsing uses the standard library's expat with every DOCTYPE and ENTITY declaration
refused outright (no entity expansion, no external entities, no billion laughs), and
caps on bytes, elements and depth: an SVG costs about 0.15 ms per element at every
render. Embedded ``data:`` rasters are checked like any upload (format, pixel count).
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import xml.etree.ElementTree as ET
import xml.parsers.expat
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from PIL import Image, UnidentifiedImageError

MAX_SVG_BYTES = 5 * 1024 * 1024
MAX_ELEMENTS = 20_000
MAX_DEPTH = 64
SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
XML_NS = "http://www.w3.org/XML/1998/namespace"
EMBEDDED_FORMATS = frozenset({"PNG", "JPEG", "GIF", "WEBP"})
MAX_EMBEDDED_PIXELS = 40_000_000
_PX_PER_UNIT = {"": 1.0, "px": 1.0, "pt": 96 / 72, "pc": 16.0, "in": 96.0, "cm": 96 / 2.54,
                "mm": 96 / 25.4, "q": 96 / 101.6, "em": 16.0, "ex": 8.0}  # fmt: skip
_LENGTH = re.compile(r"^\s*(\+?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([a-zA-Z%]*)\s*$")
_URL = re.compile(r"url\(\s*(['\"]?)([^'\")]*)\1\s*\)", re.I)
_IMPORT = re.compile(r"@import\s+[^;]*;?", re.I)
_IMPORT_TARGET = re.compile(r"@import\s+(?:url\(\s*)?['\"]?([^'\")\s;]+)", re.I)


class SvgRefused(ValueError):
    """The upload is not an SVG we are willing to draw (the message says why)."""


@dataclass(frozen=True)
class CheckedSvg:
    """A self-contained SVG, safe to hand to WeasyPrint, and what it had to lose."""

    data: bytes
    width_mm: float | None  # intrinsic size at CSS 96 px/in; None: it scales to its box
    height_mm: float | None
    aspect: float | None  # width / height, from the size or the viewBox
    elements: int
    refused: tuple[str, ...]  # references to anything outside the SVG, removed
    unprintable: tuple[str, ...]  # parts WeasyPrint does not draw (foreignObject)
    has_text: bool  # <text> prints in the ticket's fonts, not the designer's


def looks_like_svg(data: bytes) -> bool:
    """True for anything XML-like: no raster format starts with ``<``."""
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"<")


def check_svg(data: bytes) -> CheckedSvg:
    """Parse, check and sanitise ``data``; raises ``SvgRefused``."""
    if len(data) > MAX_SVG_BYTES:
        raise SvgRefused(f"SVG too large ({len(data) // 1024} KB > {MAX_SVG_BYTES // 1048576} MB)")
    root, elements = _parse(data)
    cleaner = _Cleaner()
    cleaner.walk(root)
    width, height = _length(root.get("width")), _length(root.get("height"))
    viewbox = _viewbox(root.get("viewBox"))
    aspect = width / height if width and height else None
    if aspect is None and viewbox:
        aspect = viewbox[0] / viewbox[1]
    if width is None and height is not None and aspect:
        width = height * aspect
    if height is None and width is not None and aspect:
        height = width / aspect
    # ElementTree writes generated prefixes (<ns0:svg xmlns:ns0="…svg">): the same
    # document to any XML parser, WeasyPrint's included.
    text = ET.tostring(root, encoding="unicode")
    mm = 25.4 / 96
    return CheckedSvg(
        data=('<?xml version="1.0" encoding="UTF-8"?>\n' + text).encode("utf-8"),
        width_mm=round(width * mm, 2) if width and height else None,
        height_mm=round(height * mm, 2) if width and height else None,
        aspect=aspect,
        elements=elements,
        refused=tuple(dict.fromkeys(cleaner.refused)),
        unprintable=tuple(dict.fromkeys(cleaner.unprintable)),
        has_text=cleaner.has_text,
    )


def _parse(data: bytes) -> tuple[ET.Element, int]:
    """An ElementTree built by expat with DTDs refused and the caps enforced."""
    builder = _Builder()
    parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")
    parser.StartDoctypeDeclHandler = builder.refuse_dtd
    parser.EntityDeclHandler = builder.refuse_dtd
    parser.UnparsedEntityDeclHandler = builder.refuse_dtd
    parser.ExternalEntityRefHandler = builder.refuse_dtd
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.chars
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as exc:
        raise SvgRefused(f"not an image (malformed XML: {exc})") from None
    root = builder.root
    if root is None:
        raise SvgRefused("not an image (empty XML)")
    if root.tag == "svg":
        raise SvgRefused("not an image (an <svg> without the SVG namespace)")
    if root.tag != f"{{{SVG_NS}}}svg":
        local = root.tag.rpartition("}")[2]
        raise SvgRefused(f"not an image (XML whose root element is {local!r}, not an SVG)")
    return root, builder.elements


class _Builder:
    """expat handlers that build the tree (comments and processing instructions are
    dropped: ``<?xml-stylesheet?>`` could point outside) and enforce the caps."""

    def __init__(self) -> None:
        self.root: ET.Element | None = None
        self.elements = 0
        self._stack: list[ET.Element] = []
        self._closed: ET.Element | None = None  # text after a closed child is its tail

    @staticmethod
    def refuse_dtd(*_args: object) -> None:
        raise SvgRefused("SVG declares a DOCTYPE or entities (refused in uploads)")

    def start(self, name: str, attrs: dict[str, str]) -> None:
        self.elements += 1
        if self.elements > MAX_ELEMENTS:
            raise SvgRefused(f"SVG has more than {MAX_ELEMENTS:,} elements")
        if len(self._stack) >= MAX_DEPTH:
            raise SvgRefused(f"SVG is nested deeper than {MAX_DEPTH} levels")
        element = ET.Element(_qname(name), {_qname(k): v for k, v in attrs.items()})
        if self._stack:
            self._stack[-1].append(element)
        elif self.root is None:
            self.root = element
        self._stack.append(element)
        self._closed = None

    def end(self, _name: str) -> None:
        self._closed = self._stack.pop()

    def chars(self, text: str) -> None:
        if self._closed is not None:
            self._closed.tail = (self._closed.tail or "") + text
        elif self._stack:
            self._stack[-1].text = (self._stack[-1].text or "") + text


def _qname(name: str) -> str:
    """expat's ``uri local`` as ElementTree's ``{uri}local``."""
    uri, _, local = name.rpartition(" ")
    return f"{{{uri}}}{local}" if uri else local


# Elements that are nothing but their reference: without it they go entirely (WeasyPrint
# would log an <image> without href as an image it failed to load).
_REFERENCE_ONLY = frozenset({"image", "use", "feImage"})


class _Cleaner:
    """Removes every reference to the outside of the document, remembering each."""

    def __init__(self) -> None:
        self.refused: list[str] = []
        self.unprintable: list[str] = []
        self.has_text = False

    def walk(self, element: ET.Element) -> bool:
        """Clean ``element`` and its children; True if it must go altogether."""
        local = element.tag.rpartition("}")[2]
        if local == "script":
            return True  # never drawn; a browser would run it, we never do
        if local == "foreignObject":
            self.unprintable.append("HTML inside the SVG (foreignObject)")
        self.has_text = self.has_text or local == "text"
        lost_reference = self._attributes(element, local)
        if local == "style" and element.text:
            element.text = self._stylesheet(element.text)
        for child in list(element):
            if self.walk(child):
                element.remove(child)
        return lost_reference and local in _REFERENCE_ONLY

    def _attributes(self, element: ET.Element, local: str) -> bool:
        """Clean the attributes; True if a reference (href) was removed."""
        lost_reference = False
        for key, value in list(element.attrib.items()):
            if key in ("href", f"{{{XLINK_NS}}}href"):
                # a link (<a href>) draws nothing: it goes without a word
                if local == "a" or not self._allowed_href(value, local):
                    del element.attrib[key]
                    lost_reference = True
            elif key == f"{{{XML_NS}}}base":
                self.refused.append(f"xml:base {value.strip()}")
                del element.attrib[key]
            elif "url(" in value.lower():
                element.set(key, self._urls(value))
        return lost_reference

    def _allowed_href(self, value: str, local: str) -> bool:
        ref = value.strip()
        if not ref or ref.startswith("#"):
            return True
        if ref.lower().startswith("data:"):
            problem = _embedded_image_problem(ref) if local == "image" else None
            if problem:
                self.unprintable.append(problem)
            return problem is None
        self.refused.append(ref)
        return False

    def _urls(self, value: str) -> str:
        def replace(match: re.Match[str]) -> str:
            target = match.group(2).strip()
            if not target or target.startswith("#") or target.lower().startswith("data:"):
                return match.group(0)
            self.refused.append(target)
            return "none"

        return _URL.sub(replace, value)

    def _stylesheet(self, css: str) -> str:
        self.refused.extend(f"@import {t}" for t in _IMPORT_TARGET.findall(css))
        return self._urls(_IMPORT.sub("", css))


def _embedded_image_problem(uri: str) -> str | None:
    """Why an image embedded as a ``data:`` URI cannot be drawn, or None if it can."""
    header, _, payload = uri.partition(",")
    mime = header[5:].split(";")[0].strip().lower()
    if "svg" in mime:
        return "an SVG embedded in the SVG (not drawn)"
    try:
        raw = base64.b64decode(payload) if header.endswith(";base64") else unquote_to_bytes(payload)
        with Image.open(io.BytesIO(raw)) as img:
            kind, (width, height) = img.format, img.size
    except (binascii.Error, ValueError, UnidentifiedImageError, OSError):
        return "an embedded image that is not one (not drawn)"
    except Image.DecompressionBombError:
        return "an embedded image too large in pixels (not drawn)"
    if kind not in EMBEDDED_FORMATS:
        return f"an embedded {kind} image (format not allowed; not drawn)"
    if width * height > MAX_EMBEDDED_PIXELS:
        return f"an embedded image of {width}x{height} px (too large; not drawn)"
    return None


def _length(value: str | None) -> float | None:
    """A length attribute in CSS px; None for %, unknown units or nonsense."""
    match = _LENGTH.match(value or "")
    if not match or match.group(2).lower() not in _PX_PER_UNIT:
        return None
    px = float(match.group(1)) * _PX_PER_UNIT[match.group(2).lower()]
    return px if px > 0 else None


def _viewbox(value: str | None) -> tuple[float, float] | None:
    """The viewBox's width and height, if it has a usable one."""
    try:
        parts = [float(p) for p in re.split(r"[\s,]+", (value or "").strip())]
    except ValueError:
        return None
    if len(parts) == 4 and parts[2] > 0 and parts[3] > 0:
        return parts[2], parts[3]
    return None
