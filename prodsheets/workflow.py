"""The steps of printing one order, shared by ``prodsheets order``, ``render`` and ``batch``.

find the order -> fetch its designs -> prepare its images -> build the ticket ->
render -> write the PDF atomically.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .api import ApiClient
from .assets import AssetPolicy, AssetStore
from .config import Settings
from .errors import NotFoundError
from .fsutil import atomic_write_bytes, atomic_write_text
from .models import Design, Order
from .paths import default_cache_dir
from .tickets import Problem, Ticket, build_ticket, fetch_designs

_OBJECT_ID = re.compile(r"^[0-9a-fA-F]{24}$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class Written:
    """A ticket on disk."""

    order: Order
    path: Path
    pages: int
    problems: list[Problem]
    warnings: list[str]

    @property
    def complete(self) -> bool:
        return not self.problems


def make_store(settings: Settings, *, api_origin: str | None = None) -> AssetStore:
    """The asset store for these settings; the API's own origin is always allowed."""
    policy = AssetPolicy(
        host_patterns=tuple(settings.asset_hosts),
        origins=(api_origin,) if api_origin else (),
    )
    return AssetStore(settings.cache_dir or default_cache_dir(), policy)


def find_order(client: ApiClient, ref: str) -> Order:
    """An order by API id, by ``orderId`` (``1001``) or by shop name (``#1001``).

    Numbers and names are found by listing orders newest first and stopping as soon
    as the order is found (or, for numbers, once the listing has passed it)."""
    ref = ref.strip()
    if _OBJECT_ID.match(ref):
        try:
            return client.get_order(ref)
        except NotFoundError as exc:
            if "brand" in str(exc):
                raise
            raise NotFoundError(f"order {ref} not found (404)", status=404) from None
    if ref.isdigit():
        wanted = int(ref)
        for order in client.iter_orders(sort_key="orderId", sort_order="descending", count=50):
            if order.order_id == wanted:
                return order
            if order.order_id is not None and order.order_id < wanted:
                break
        raise NotFoundError(
            f"no order with orderId {wanted} (for a shop order name, use '#{wanted}')", status=404
        )
    for order in client.iter_orders(sort_key="orderId", sort_order="descending", count=50):
        if order.name == ref or order.name.lstrip("#") == ref.lstrip("#"):
            return order
    raise NotFoundError(f"no order named {ref!r}", status=404)


def ticket_filename(order: Order) -> str:
    """``order-1001.pdf``: named by the shop's order name so a person finds it."""
    base = order.name.lstrip("#") or (
        str(order.order_id) if order.order_id is not None else order.id
    )
    slug = _UNSAFE.sub("-", base).strip("-.") or order.id
    return f"order-{slug}.pdf"


def prepare_ticket(
    order: Order,
    store: AssetStore,
    settings: Settings,
    *,
    brand: str,
    get_design: Callable[[str], Design] | None = None,
    designs: dict[str, Design] | None = None,
) -> Ticket:
    """Fetch what the order needs (designs, images) and assemble its ticket."""
    designs = designs if designs is not None else {}
    if get_design is not None:
        designs = fetch_designs(get_design, [i.design_id for i in order.items], known=designs)
    missing = [i.design_id for i in order.items if i.design_id and i.design_id not in designs]
    if missing:
        raise NotFoundError(f"design {missing[0]} of {order.label} is not available", status=404)
    return build_ticket(order, designs, store, brand=brand, qr_template=settings.qr_template)


def write_ticket(
    ticket: Ticket,
    renderer,  # render.Renderer; imported lazily by callers
    out_dir: Path,
    *,
    filename: str | None = None,
    html: bool = False,
) -> Written:
    """Render ``ticket`` and write it atomically (plus its standalone HTML if asked)."""
    result = renderer.render(ticket)
    path = Path(out_dir) / (filename or ticket_filename(ticket.order))
    atomic_write_bytes(path, result.pdf)
    if html:
        atomic_write_text(path.with_suffix(".html"), renderer.html(ticket, standalone=True))
    return Written(ticket.order, path, result.pages, result.problems, ticket_warnings(ticket))


def ticket_warnings(ticket: Ticket) -> list[str]:
    """Things worth a look that do not make the ticket incomplete (LOW-RES logos)."""
    warnings = []
    for item in ticket.items:
        seen = set()
        images = [(lg.name, lg.image) for lg in item.logos]
        images += [(e.key, e.image) for e in item.entries if e.is_image]
        for name, image in images:
            if image is not None and image.low_res and image.url not in seen:
                seen.add(image.url)
                warnings.append(
                    f"item {item.index} of {item.count}: {name!r} is LOW-RES "
                    f"({image.dpi:.0f} dpi at print size)"
                )
    return warnings
