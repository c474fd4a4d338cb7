"""Reading a scanned ticket back: which order and item it is, and is the paper current?

A scan is what a USB scanner types or a phone camera opens: the default payload
(``prodsheets:order=…;item=2;design=…;v=1a2b3c4d``), a payload of the shop's own
``--qr-template`` (read back by turning the template into a pattern), or a station URL
(``http://station.local:8080/scan/<order>/<item>/<version>``, also under a path prefix
such as ``https://shop.example/station/scan/…``). ``check`` compares the
version printed on the paper with the version of the order as it is now.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import unquote, urlsplit

from .api import ApiClient
from .designs import DesignSource
from .errors import ScanError
from .facts import changed, ticket_facts
from .models import Order
from .pipeline import OrderRef, RefKind, find_order
from .qr import DEFAULT_QR_TEMPLATE
from .versions import VersionArchive, item_facts, item_version

LEGACY_QR_TEMPLATE = "prodsheets:order={order_id};item={item};design={design_id}"  # before 0.2
_STATION_PATH = re.compile(  # a station behind a proxy may live under a prefix (/station)
    r"^(?:/[^/]+)*/scan/(?P<order>[^/]+)/(?P<item>\d+)(?:/(?P<version>[0-9a-f]{8}))?/?$"
)


@dataclass(frozen=True)
class Scan:
    """What a scanned code says: the order, the item, and the version printed."""

    ref: OrderRef
    item: int
    version: str | None = None
    design_id: str | None = None


def parse_scan(text: str, templates: Iterable[str] = ()) -> Scan:
    """Read a scanned code; ``templates`` are QR templates the shop uses besides the
    default. Raises ``ScanError`` for anything that is not one of our codes."""
    text = text.strip()
    parts = urlsplit(text)
    if parts.scheme in ("http", "https") and (match := _STATION_PATH.match(parts.path)):
        return _scan(unquote(match.group("order")), match.group("item"), match.group("version"))
    for template in dict.fromkeys([*templates, DEFAULT_QR_TEMPLATE, LEGACY_QR_TEMPLATE]):
        found = _pattern(template).match(text)
        if found is None:
            continue
        fields = {k: unquote(v) for k, v in found.groupdict().items()}
        order = fields.get("order_id") or fields.get("order_number") or fields.get("order_name")
        if order and fields.get("item", "").isdigit():
            return _scan(order, fields["item"], fields.get("version"), fields.get("design_id"))
    raise ScanError(f"{_shorten(text)!r} is not a prodsheets ticket code")


def _scan(order: str, item: str, version: str | None, design_id: str | None = None) -> Scan:
    try:
        ref = OrderRef.parse(order)
    except ValueError:
        raise ScanError(f"the code names no order ({order!r})") from None
    if not item.isdigit() or int(item) < 1:
        raise ScanError(f"the code names no item ({item!r})")
    return Scan(ref, int(item), version or None, design_id or None)


def _pattern(template: str) -> re.Pattern[str]:
    """``order={order_id};item={item}`` -> ``^order=(?P<order_id>.+?);item=(?P<item>.+?)$``."""
    regex, seen = [], set()
    for literal, name, _, _ in string.Formatter().parse(template):
        regex.append(re.escape(literal))
        if name is not None:
            regex.append(f"(?P={name})" if name in seen else f"(?P<{name}>.+?)")
            seen.add(name)
    return re.compile("^" + "".join(regex) + "$")


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Freshness(StrEnum):
    CURRENT = "current"
    OUT_OF_DATE = "out of date"


@dataclass(frozen=True)
class Check:
    """The verdict on one scanned ticket; ``changed`` is empty when unknown here."""

    freshness: Freshness
    order: Order
    item: int
    count: int
    changed: tuple[str, ...] = ()
    removed: bool = False

    @property
    def current(self) -> bool:
        return self.freshness is Freshness.CURRENT

    @property
    def where(self) -> str:
        return f"{self.order.label} item {self.item} of {self.count}"

    def line(self) -> str:
        """``current: #1001 item 1 of 2`` or ``out of date: … changed …; print the new ticket``."""
        return f"{self.freshness}: {self.detail()}"

    def detail(self) -> str:
        """The line without its verdict (the station shows that as a heading)."""
        if self.current:
            return self.where
        if self.removed:
            now = len(self.order.items)
            return (
                f"{self.order.label} has no item {self.item} any more "
                f"({now} item{'s' if now != 1 else ''} now); discard this ticket"
            )
        what = (
            f"changed {', '.join(self.changed)}"
            if self.changed
            else "changed since it was printed (what changed is not recorded on this machine)"
        )
        return f"{self.where} {what}; print the new ticket"


def check(scan: Scan, order: Order, facts: dict[str, Any], archive: VersionArchive) -> Check:
    """Compare a scanned ticket with ``order`` as it is now (``facts``: its ticket facts)."""
    if scan.ref.kind is RefKind.API_ID and scan.ref.value != order.api_id:
        raise ScanError(f"the code is for order {scan.ref.value}, not {order.api_id}")
    if scan.version is None:
        raise ScanError(
            "this code carries no version (printed before prodsheets 0.2, or a --qr-template "
            "without {version}): cannot tell whether it is current"
        )
    printed = archive.recall(scan.version)
    count = (printed or {}).get("items") or len(order.items)
    if scan.item > len(order.items):
        return Check(Freshness.OUT_OF_DATE, order, scan.item, count, removed=True)
    if item_version(facts, scan.item) == scan.version:
        return Check(Freshness.CURRENT, order, scan.item, len(order.items))
    names = tuple(changed(printed, item_facts(facts, scan.item))) if printed else ()
    return Check(Freshness.OUT_OF_DATE, order, scan.item, count, changed=names)


def check_now(
    client: ApiClient, designs: DesignSource, scan: Scan, archive: VersionArchive
) -> Check:
    """Fetch the scanned order and its designs as they are now, and check the ticket."""
    order = find_order(client, scan.ref)
    return check(scan, order, ticket_facts(order, designs.for_order(order)), archive)
