"""``combined.pdf``: one file to print the whole run, opening with a summary page
(orders, items, quantity per product and per production option value), so the
workshop can batch its work by material before it reads a single ticket."""

from __future__ import annotations

import io
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .config import Settings
from .fsutil import atomic_open
from .outcomes import Outcome
from .tickets import Ticket

COMBINED = "combined.pdf"


class Tally:
    """What the night's tickets ask the workshop to build, counted as they are written."""

    def __init__(self) -> None:
        self.orders = 0
        self.items = 0
        self.quantity = 0
        self.products: Counter[str] = Counter()
        self.options: Counter[tuple[str, str]] = Counter()

    def add(self, ticket: Ticket) -> None:
        self.orders += 1
        for item in ticket.items:
            quantity = item.quantity or 0
            self.items += 1
            self.quantity += quantity
            self.products[item.design.product_name or "(no product name)"] += quantity
            for entry in item.entries:
                value = entry.value.rsplit("/", 1)[-1] if entry.is_image else entry.value
                self.options[(entry.key, value)] += quantity


def combine_run(run_dir: Path, outcomes: list[Outcome], tally: Tally, settings: Settings) -> bool:
    """Write the run's combined.pdf (tickets in orderId order); False if it has none."""
    written = sorted(
        (o for o in outcomes if o.written), key=lambda o: (o.number is None, o.number or 0)
    )
    if not written:
        return False
    attention = [o.manifest_entry() for o in outcomes if o.needs_attention]
    write_combined(run_dir / COMBINED, [Path(o.path or "") for o in written],
                   brand=settings.brand or "", tally=tally, attention=attention,
                   settings=settings)  # fmt: skip
    return True


def write_combined(
    path: Path,
    files: list[Path],
    *,
    brand: str,
    tally: Tally,
    attention: list[dict[str, Any]],
    settings: Settings,
) -> None:
    from pypdf import PdfReader, PdfWriter

    from .render import Renderer

    renderer = Renderer.from_settings(settings)
    summary = renderer.render_page(
        "summary.html",
        {
            "brand": brand,
            "generated_at_text": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "orders": tally.orders,
            "items": tally.items,
            "quantity": tally.quantity,
            "products": sorted(tally.products.items(), key=lambda kv: (-kv[1], kv[0])),
            "options": sorted(tally.options.items(), key=lambda kv: (kv[0][0], -kv[1], kv[0][1])),
            "attention": attention,
        },
    )
    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(summary)))
    for file in files:
        writer.append(PdfReader(str(file)))
    with atomic_open(path, "wb") as fh:
        writer.write(fh)
