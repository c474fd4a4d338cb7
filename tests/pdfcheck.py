"""Read PDFs the way a person would: their text, pages, sizes, QR codes and fonts."""

from __future__ import annotations

import re
from pathlib import Path

import pypdf
import pypdfium2 as pdfium
import zxingcpp

MM = 72 / 25.4


def page_texts(path: Path) -> list[str]:
    """Each page's text, as pdfium extracts it."""
    pdf = pdfium.PdfDocument(str(path))
    try:
        return [page.get_textpage().get_text_bounded() for page in pdf]
    finally:
        pdf.close()


def raw_text(path: Path) -> str:
    """All text as pypdf extracts it: it keeps runs of spaces, which pdfium folds."""
    return " ".join(page.extract_text() for page in pypdf.PdfReader(str(path)).pages)


def text(path: Path) -> str:
    """All text, whitespace folded to single spaces."""
    return squash(" ".join(page_texts(path)))


def squash(value: str) -> str:
    return re.sub(r"\s+", " ", value).strip()


def compact(value: str) -> str:
    """Without any whitespace: for values the layout may wrap anywhere."""
    return re.sub(r"\s+", "", value)


def page_count(path: Path) -> int:
    return len(pypdf.PdfReader(str(path)).pages)


def page_sizes_mm(path: Path) -> list[tuple[float, float]]:
    reader = pypdf.PdfReader(str(path))
    return [
        (round(float(p.mediabox.width) / MM, 1), round(float(p.mediabox.height) / MM, 1))
        for p in reader.pages
    ]


def qr_codes(path: Path, dpi: int = 200) -> list[list[str]]:
    """The QR payloads decoded from each page rasterised at ``dpi`` (a scan)."""
    pdf = pdfium.PdfDocument(str(path))
    try:
        found = []
        for page in pdf:
            image = page.render(scale=dpi / 72, grayscale=True).to_pil()
            found.append(
                [
                    r.text
                    for r in zxingcpp.read_barcodes(image)
                    if r.format == zxingcpp.BarcodeFormat.QRCode
                ]
            )
        return found
    finally:
        pdf.close()


def fonts(path: Path) -> dict[str, bool]:
    """Every font used, and whether its program is embedded."""
    result: dict[str, bool] = {}
    for page in pypdf.PdfReader(str(path)).pages:
        resources = page.get("/Resources") or {}
        for font in (resources.get("/Font") or {}).values():
            font = font.get_object()
            descendants = font.get("/DescendantFonts")
            target = descendants[0].get_object() if descendants else font
            descriptor = target.get("/FontDescriptor")
            descriptor = descriptor.get_object() if descriptor else {}
            embedded = any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
            result[str(font.get("/BaseFont"))] = embedded
    return result
