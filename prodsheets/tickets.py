"""From an order to a ticket: fetch its designs, prepare its images, list its problems.

A ``Ticket`` is everything a template needs, already checked: nothing in it is
fetched later. Whatever is missing (an asset, a quantity) becomes a ``Problem`` that
the ticket prints in red and the run reports, never a silent blank.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .assets import DESIGN, LOGO, AssetStore, PreparedImage, Role
from .errors import ApiError, ConfigError, NotFoundError, ProdsheetsError
from .models import Design, ImageRef, Order, OrderItem, ProductionEntry, TextView

QR_FIELDS = (
    "order_id", "order_number", "order_name", "item", "items", "quantity",
    "design_id", "design_number", "brand",
)  # fmt: skip


@dataclass(frozen=True)
class Problem:
    """Something the ticket cannot show as ordered: where, and why."""

    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}" if self.where else self.what


@dataclass
class EntryView:
    """A ``productionData`` pair as printed; image-valued entries carry their image."""

    key: str
    value: str
    option_id: str
    choice_id: str
    is_image: bool = False
    image: PreparedImage | None = None
    problem: str | None = None


@dataclass
class LogoItem:
    name: str
    filename: str
    url: str
    image: PreparedImage | None = None
    problem: str | None = None


@dataclass
class TicketItem:
    index: int
    count: int
    quantity: int | None
    raw_quantity: object
    design: Design
    design_image: PreparedImage | None
    design_image_problem: str | None
    entries: list[EntryView]
    logos: list[LogoItem]
    texts: list[TextView]
    qr_text: str
    problems: list[Problem] = field(default_factory=list)


@dataclass
class Ticket:
    order: Order
    brand: str
    items: list[TicketItem]
    generated_at: datetime
    problems: list[Problem] = field(default_factory=list)
    revised: list[str] = field(default_factory=list)

    @property
    def all_problems(self) -> list[Problem]:
        found = list(self.problems)
        for item in self.items:
            found.extend(item.problems)
        return found

    @property
    def complete(self) -> bool:
        return not self.all_problems


class _StrictFormatter(string.Formatter):
    """``str.format`` without attribute or index access, so a QR template from a
    config file cannot reach into Python objects."""

    def get_field(self, field_name: str, args: object, kwargs: dict) -> tuple[object, str]:
        if field_name not in QR_FIELDS:
            raise KeyError(field_name)
        return kwargs[field_name], field_name


def validate_qr_template(template: str) -> None:
    try:
        render_qr_text(template, {k: "x" for k in QR_FIELDS})
    except (KeyError, ValueError, IndexError) as exc:
        raise ConfigError(
            f"invalid QR template {template!r} ({exc}); fields: "
            + ", ".join("{" + f + "}" for f in QR_FIELDS)
        ) from None
    if not template.strip():
        raise ConfigError("the QR template is empty")


def render_qr_text(template: str, values: dict[str, object]) -> str:
    return _StrictFormatter().vformat(template, (), values)


def fetch_designs(
    get_design: Callable[[str], Design],
    design_ids: Iterable[str],
    *,
    known: dict[str, Design] | None = None,
    workers: int = 8,
) -> dict[str, Design]:
    """Fetch each distinct design once (concurrently); raise naming the first that fails."""
    known = known if known is not None else {}
    missing = [d for d in dict.fromkeys(design_ids) if d and d not in known]
    if not missing:
        return known

    def one(design_id: str) -> Design | ProdsheetsError:
        try:
            return get_design(design_id)
        except NotFoundError:
            return NotFoundError(f"design {design_id} not found (404)")
        except ProdsheetsError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(missing)))) as pool:
        for design_id, result in zip(missing, pool.map(one, missing), strict=True):
            if isinstance(result, ProdsheetsError):
                if isinstance(result, ApiError) and result.status in (401,):
                    raise result
                raise type(result)(f"cannot fetch design {design_id}: {result}")
            known[design_id] = result
    return known


def wanted_assets(order: Order, designs: dict[str, Design]) -> list[tuple[str, Role]]:
    """Every (url, role) the ticket for ``order`` prints."""
    wanted: list[tuple[str, Role]] = []
    for item in order.items:
        design = designs.get(item.design_id)
        if design is None:
            continue
        if design.design_image is not None:
            wanted.append((design.design_image.url, DESIGN))
        wanted.extend((e.value.strip(), LOGO) for e in design.production_data if e.is_image_url)
        wanted.extend((logo.image.url, LOGO) for logo in design.logos)
    return wanted


def build_ticket(
    order: Order,
    designs: dict[str, Design],
    store: AssetStore,
    *,
    brand: str,
    qr_template: str,
    now: datetime | None = None,
) -> Ticket:
    """Assemble the ticket for ``order``; every design must already be in ``designs``."""
    if not order.items:
        raise ProdsheetsError(f"{order.label} has no items: nothing to print")
    for n, item in enumerate(order.items, 1):
        if not item.design_id:
            raise ProdsheetsError(f"{order.label}, item {n}: the API gave no design id")
        if item.design_id not in designs:
            raise ProdsheetsError(f"{order.label}, item {n}: design {item.design_id} not fetched")
    images = store.fetch_many(wanted_assets(order, designs))
    count = len(order.items)
    items = [
        _build_item(order, item, n, count, designs[item.design_id], images, brand, qr_template)
        for n, item in enumerate(order.items, 1)
    ]
    return Ticket(
        order=order,
        brand=brand,
        items=items,
        generated_at=now or datetime.now(UTC),
    )


def _build_item(
    order: Order,
    item: OrderItem,
    index: int,
    count: int,
    design: Design,
    images: dict[tuple[str, str], PreparedImage | Exception],
    brand: str,
    qr_template: str,
) -> TicketItem:
    where = f"item {index} of {count}"
    problems: list[Problem] = []

    def image_for(url: str, role: Role, what: str) -> tuple[PreparedImage | None, str | None]:
        result = images.get((url.strip(), role.name))
        if isinstance(result, PreparedImage):
            return result, None
        reason = str(result) if result is not None else "not fetched"
        problems.append(Problem(where, f"{what} missing: {reason} ({url})"))
        return None, reason

    if item.quantity is None:
        raw = item.raw.get("quantity") if isinstance(item.raw, dict) else None
        problems.append(
            Problem(where, f"quantity missing or not a positive whole number (API gave {raw!r})")
        )
    design_image, design_problem = (None, None)
    if design.design_image is not None:
        design_image, design_problem = image_for(design.design_image.url, DESIGN, "design image")
    else:
        design_problem = "the design has no image"
        problems.append(Problem(where, "design image missing: the API lists none"))

    entries = [_entry_view(e, image_for) for e in design.production_data]
    if not design.production_data:
        problems.append(Problem(where, "the design has no productionData: nothing to build from"))
    logos = [_logo_item(logo.name, logo.image, image_for) for logo in design.logos]
    qr_values = {
        "order_id": order.id,
        "order_number": "" if order.order_id is None else order.order_id,
        "order_name": order.name,
        "item": index,
        "items": count,
        "quantity": "" if item.quantity is None else item.quantity,
        "design_id": design.id,
        "design_number": "" if design.design_id is None else design.design_id,
        "brand": brand,
    }
    return TicketItem(
        index=index,
        count=count,
        quantity=item.quantity,
        raw_quantity=item.raw.get("quantity") if isinstance(item.raw, dict) else None,
        design=design,
        design_image=design_image,
        design_image_problem=design_problem,
        entries=entries,
        logos=logos,
        texts=list(design.texts),
        qr_text=render_qr_text(qr_template, qr_values),
        problems=problems,
    )


def _entry_view(entry: ProductionEntry, image_for: Callable) -> EntryView:
    view = EntryView(entry.key, entry.value, entry.option_id, entry.choice_id)
    if entry.is_image_url:
        view.is_image = True
        view.image, view.problem = image_for(entry.value, LOGO, f"image for {entry.key!r}")
    return view


def _logo_item(name: str, ref: ImageRef, image_for: Callable) -> LogoItem:
    logo = LogoItem(name=name, filename=ref.display_name, url=ref.url)
    logo.image, logo.problem = image_for(ref.url, LOGO, f"logo {name!r}")
    return logo
