"""``combined.pdf``: one file to print the whole run, opening with a summary page
(orders, items, quantity per product and per production option value), so the
workshop can batch its work by material before it reads a single ticket."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .config import Settings
from .fsutil import atomic_open


def write_combined(
    path: Path,
    files: list[Path],
    *,
    brand: str,
    orders: int,
    items: int,
    quantity: int,
    products: Counter,
    options: Counter,
    attention: list[dict[str, Any]],
    settings: Settings,
) -> None:
    from pypdf import PdfReader, PdfWriter

    from .render import Renderer

    renderer = Renderer(page_size=settings.page_size, template_dir=settings.template_dir)
    summary = renderer.render_page(
        "summary.html",
        {
            "brand": brand,
            "generated_at_text": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "orders": orders,
            "items": items,
            "quantity": quantity,
            "products": sorted(products.items(), key=lambda kv: (-kv[1], kv[0])),
            "options": sorted(options.items(), key=lambda kv: (kv[0][0], -kv[1], kv[0][1])),
            "attention": attention,
        },
    )
    writer = PdfWriter()
    import io

    writer.append(PdfReader(io.BytesIO(summary)))
    for file in files:
        writer.append(PdfReader(str(file)))
    with atomic_open(path, "wb") as fh:
        writer.write(fh)
