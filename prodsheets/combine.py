"""``combined.pdf``: one file to print the whole run, opening with a pick list.

The pick list is what the night asks the workshop to take from the shelf: per product,
per option, each chosen value with the number of pieces that need it. What customers
typed or uploaded is different for every piece, so it is counted ("custom texts: 12 on
30 pieces"), not listed: it is on each item's ticket. However many orders a night
brings, the list grows with the products and their options, not with the orders (a
free text the API did not mark as one is caught by ``MAX_VALUES``).
"""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .config import Settings
from .fsutil import atomic_open
from .models import EntryKind
from .outcomes import Outcome
from .tickets import Ticket, TicketItem

COMBINED = "combined.pdf"
MAX_VALUES = 40  # more values than this for one option: not a shelf, most likely free text
NO_PRODUCT = "(no product name)"


@dataclass
class ProductPick:
    """One product's share of the night: its options' values, and what is counted."""

    name: str
    items: int = 0
    quantity: int = 0
    options: dict[str, Counter[str]] = field(default_factory=dict)
    texts: int = 0  # custom texts, each to be made on every piece of its item
    text_pieces: int = 0
    images: int = 0  # uploaded images (logos)
    image_pieces: int = 0

    def add(self, item: TicketItem, quantity: int) -> None:
        self.items += 1
        self.quantity += quantity
        for entry in item.entries:
            if entry.kind is EntryKind.CHOICE and not entry.is_image:
                self.options.setdefault(entry.key, Counter())[entry.value] += quantity
        typed = {t.text for t in item.texts}
        typed |= {e.value for e in item.entries if e.kind is EntryKind.TEXT}
        self.texts += len(typed)
        self.text_pieces += len(typed) * quantity
        self.images += len(item.logos)
        self.image_pieces += len(item.logos) * quantity

    def option_rows(self) -> list[dict[str, Any]]:
        """Each option with its values, most pieces first; a long tail is summed up."""
        rows = []
        for key, values in self.options.items():
            ranked = sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))
            shown, rest = ranked[:MAX_VALUES], ranked[MAX_VALUES:]
            rows.append({
                "key": key,
                "values": shown,
                "more": len(rest),
                "more_pieces": sum(q for _, q in rest),
            })  # fmt: skip
        return rows


class Tally:
    """What the night's tickets ask the workshop to build, counted as they are written."""

    def __init__(self) -> None:
        self.orders = 0
        self.items = 0
        self.quantity = 0
        self.products: dict[str, ProductPick] = {}

    def add(self, ticket: Ticket) -> None:
        self.orders += 1
        for item in ticket.items:
            quantity = item.quantity or 0
            self.items += 1
            self.quantity += quantity
            name = item.design.product_name or NO_PRODUCT
            self.products.setdefault(name, ProductPick(name)).add(item, quantity)

    def pick_list(self) -> list[ProductPick]:
        """Products, most pieces first."""
        return sorted(self.products.values(), key=lambda p: (-p.quantity, p.name))


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


def pick_list_context(tally: Tally, brand: str, attention: list[dict[str, Any]]) -> dict:
    """What ``templates/summary.html`` prints."""
    return {
        "brand": brand,
        "generated_at_text": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "orders": tally.orders,
        "items": tally.items,
        "quantity": tally.quantity,
        "products": tally.pick_list(),
        "attention": attention,
    }


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
    summary = renderer.render_page("summary.html", pick_list_context(tally, brand, attention))
    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(summary)))
    for file in files:
        writer.append(PdfReader(str(file)))
    with atomic_open(path, "wb") as fh:
        writer.write(fh)
