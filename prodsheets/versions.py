"""A ticket's version: 8 hex digits in each item's QR code that say what the page shows.

The version of item k is a short hash of that item's facts (the same facts that decide
REVISED: quantity, design, product, every production-data value, logos, texts) and of
how many items the order has. Scanning a printed ticket later and computing the version
again from the order as it is *now* says whether the paper is still current.

To say *what* changed, the facts behind each version are kept in a small archive beside
the asset cache (``<cache>/versions/ab/abcdef12.json``), written whenever a ticket is
prepared, by any command. A ticket printed on another machine is still checked; only the
list of what changed is then unknown.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .facts import fingerprint
from .fsutil import atomic_write_bytes


def item_facts(facts: dict[str, Any], item: int) -> dict[str, Any]:
    """What item ``item`` (1-based) shows: its value of each per-item fact."""
    shown: dict[str, Any] = {"items": facts.get("items")}
    for key, column in facts.items():
        if isinstance(column, list) and item - 1 < len(column) and column[item - 1] is not None:
            shown[key] = column[item - 1]
    return shown


def item_version(facts: dict[str, Any], item: int) -> str:
    return fingerprint(item_facts(facts, item))[:8]


def versions(facts: dict[str, Any]) -> list[str]:
    """The version of every item of a ticket with these facts, in item order."""
    return [item_version(facts, k) for k in range(1, (facts.get("items") or 0) + 1)]


class VersionArchive:
    """The facts behind each version ever printed on this machine."""

    def __init__(self, cache_dir: Path) -> None:
        self.root = Path(cache_dir) / "versions"

    def remember(self, facts: dict[str, Any]) -> None:
        for k in range(1, (facts.get("items") or 0) + 1):
            shown = item_facts(facts, k)
            path = self._path(fingerprint(shown)[:8])
            if not path.exists():
                atomic_write_bytes(path, json.dumps(shown, sort_keys=True).encode(), durable=False)

    def recall(self, version: str) -> dict[str, Any] | None:
        try:
            return json.loads(self._path(version).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def _path(self, version: str) -> Path:
        return self.root / version[:2] / f"{version}.json"
