"""What a ticket shows, as comparable facts: the basis of fingerprints and REVISED.

Two tickets with the same facts build the same products. Facts are plain JSON so the
batch state can keep them, and a later run can name exactly what changed
(``changed: quantity, Body material, Custom logo``).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import urlsplit

from .designs import DesignLookup
from .models import Design, Order


def order_facts(order: Order) -> dict[str, Any]:
    """The facts known from the order alone (no design fetched)."""
    return {
        "items": len(order.items),
        "quantity": [i.quantity for i in order.items],
        "design": [i.design_api_id for i in order.items],
    }


def ticket_facts(order: Order, designs: DesignLookup) -> dict[str, Any]:
    """Everything production-relevant: the order's facts plus each item's design content,
    keyed by what a worker calls it. Lists run parallel to the items (None = absent)."""
    facts = order_facts(order)
    count = len(order.items)
    per_item: dict[str, list[Any]] = {}

    def put(key: str, index: int, value: Any) -> None:
        value = _stable(value)
        column = per_item.setdefault(key, [None] * count)
        column[index] = value if column[index] is None else f"{column[index]} | {value}"

    for index, item in enumerate(order.items):
        design = designs.get(item.design_api_id)
        if not isinstance(design, Design):  # missing: its id is in the order's facts
            continue
        put("product", index, design.product_name)
        put("image", index, design.design_image.url if design.design_image else "")
        for entry in design.production_data:
            put(f"entry:{entry.key}", index, entry.value)
        for logo in design.logos:
            put(f"logo:{logo.name}", index, logo.image.url)
        for text in design.texts:
            put(f"text:{text.name}", index, text.text)
    facts.update(per_item)
    return facts


def _stable(value: Any) -> Any:
    """An image URL by its file name: the same upload moved to another CDN host (or a
    sandbox on another port) is the same product, not a revision."""
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        return urlsplit(value).path.rsplit("/", 1)[-1] or value
    return value


ORDER_FACTS = ("items", "quantity", "design")


def order_changed(old_facts: dict[str, Any], order: Order) -> bool:
    """Whether the order itself (not its designs) differs from what ``old_facts`` saw."""
    return {k: old_facts.get(k) for k in ORDER_FACTS} != order_facts(order)


def fingerprint(facts: dict[str, Any]) -> str:
    canonical = json.dumps(facts, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def changed(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Human names of what differs, in the new ticket's order, e.g. ``['quantity', 'Body
    material']``. Keys without a prefix (``quantity``, ``design``) are named as they are."""
    names: list[str] = []
    for key in list(new) + [k for k in old if k not in new]:
        if old.get(key) != new.get(key):
            name = key.split(":", 1)[1] if ":" in key else key
            if name not in names:
                names.append(name)
    return names
