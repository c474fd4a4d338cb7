"""Read PDFs the way a person would: their text, pages, sizes, QR codes, fonts, and the
pixels of what is drawn where."""

from __future__ import annotations

import re
import statistics
from pathlib import Path

import pypdf
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import zxingcpp
from PIL import Image, ImageChops

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


# -- where things are drawn, and what they look like --------------------------------


def image_boxes(path: Path, page_index: int = 0) -> list[tuple[float, float, float, float]]:
    """Every raster image drawn on a page, in drawing order, as (left, top, right, bottom)
    in mm from the page's top-left corner."""
    pdf = pdfium.PdfDocument(str(path))
    try:
        page = pdf[page_index]
        height = page.get_height()
        boxes = []
        for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=4):
            left, bottom, right, top = obj.get_bounds()
            boxes.append((left / MM, (height - top) / MM, right / MM, (height - bottom) / MM))
        return boxes
    finally:
        pdf.close()


def find_text(
    path: Path, needle: str, *, whole_word: bool = False
) -> tuple[int, tuple[float, float, float, float]] | None:
    """The page and box (mm from the top-left, as ``image_boxes``) of the first place
    ``needle`` is printed; None if it is nowhere."""
    pdf = pdfium.PdfDocument(str(path))
    try:
        for index, page in enumerate(pdf):
            height = page.get_height()
            textpage = page.get_textpage()
            found = textpage.search(needle, match_case=True, match_whole_word=whole_word).get_next()
            if found:
                start, count = found
                boxes = [textpage.get_charbox(i) for i in range(start, start + count)]
                left = min(b[0] for b in boxes)
                right = max(b[2] for b in boxes)
                top, bottom = max(b[3] for b in boxes), min(b[1] for b in boxes)
                return index, (left / MM, (height - top) / MM, right / MM, (height - bottom) / MM)
        return None
    finally:
        pdf.close()


def render_region(path: Path, page_index: int, box: tuple[float, float, float, float],
                  dpi: int = 200) -> Image.Image:  # fmt: skip
    """The region ``box`` (mm, as ``image_boxes``) of a page, rasterised as printed."""
    pdf = pdfium.PdfDocument(str(path))
    try:
        image = pdf[page_index].render(scale=dpi / 72).to_pil().convert("RGB")
    finally:
        pdf.close()
    px = dpi / 25.4
    left, top, right, bottom = box
    return image.crop((round(left * px), round(top * px), round(right * px), round(bottom * px)))


def ink_box(region: Image.Image) -> Image.Image:
    """``region`` cropped to what is drawn in it (everything not white)."""
    white = Image.new("RGB", region.size, (255, 255, 255))
    box = ImageChops.difference(region, white).convert("L").point(lambda v: 255 * (v > 24))
    return region.crop(box.getbbox() or (0, 0, region.width, region.height))


def sample(region: Image.Image, fx: float, fy: float, radius: int = 2) -> tuple[int, int, int]:
    """The median colour around the point at fractions (fx, fy) of ``region``."""
    x, y = round(fx * (region.width - 1)), round(fy * (region.height - 1))
    window = [
        region.getpixel(
            (min(max(x + dx, 0), region.width - 1), min(max(y + dy, 0), region.height - 1))
        )
        for dx in range(-radius, radius + 1)
        for dy in range(-radius, radius + 1)
    ]
    return tuple(int(statistics.median(c[i] for c in window)) for i in range(3))


def save_pages_png(path: Path, folder: Path, dpi: int = 100) -> list[Path]:
    """Each page as a PNG in ``folder`` (for a person to look at); returns the files."""
    folder.mkdir(parents=True, exist_ok=True)
    pdf = pdfium.PdfDocument(str(path))
    written = []
    try:
        for index, page in enumerate(pdf, 1):
            target = folder / f"{path.stem}-p{index}.png"
            page.render(scale=dpi / 72).to_pil().save(target)
            written.append(target)
    finally:
        pdf.close()
    return written
