"""From an order, its designs and its prepared images to a ``Ticket``: no I/O here.

A ``Ticket`` is everything a template needs, already checked: nothing in it is
fetched later. Whatever is missing (a design, an image, a quantity, every item) becomes
a ``Problem`` that the ticket prints in red and the run reports, never a silent blank;
the items that can be printed are printed.

Every uploaded image of an item is shown once, in its logo section, numbered: an image
is often both a configured logo and a ``productionData`` value (``Logo logo``), and
that row then points at its number ("see logo 1") instead of printing it a second time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .designs import DesignLookup, DesignMissing
from .errors import AssetError
from .images import DESIGN, LOGO, PreparedImage, Role
from .models import Design, EntryKind, Order, OrderItem, TextView
from .qr import qr_text

ImageResults = Mapping[tuple[str, str], PreparedImage | AssetError]


@dataclass(frozen=True)
class Problem:
    """Something the ticket cannot show as ordered: where, and why."""

    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}" if self.where else self.what


@dataclass
class EntryView:
    """A ``productionData`` pair as printed. An image-valued entry points at the logo
    that shows its image (``logo``, its number on the ticket)."""

    key: str
    value: str
    option_id: str
    choice_id: str
    kind: EntryKind = EntryKind.CHOICE
    is_image: bool = False
    logo: int | None = None
    image: PreparedImage | None = None
    problem: str | None = None


@dataclass
class LogoItem:
    """An uploaded image, shown once per item whatever the number of options naming it."""

    number: int
    names: list[str]
    filename: str
    url: str
    image: PreparedImage | None = None
    problem: str | None = None

    @property
    def name(self) -> str:
        return ", ".join(self.names)


@dataclass
class TicketItem:
    index: int
    count: int
    quantity: int | None
    raw_quantity: object
    design: Design
    design_problem: str | None
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


def wanted_assets(order: Order, designs: DesignLookup) -> list[tuple[str, Role]]:
    """Every (url, role) the ticket for ``order`` prints."""
    wanted: list[tuple[str, Role]] = []
    for item in order.items:
        design = designs.get(item.design_api_id)
        if not isinstance(design, Design):
            continue
        if design.design_image is not None:
            wanted.append((design.design_image.url, DESIGN))
        wanted.extend((e.value.strip(), LOGO) for e in design.production_data if e.is_image_url)
        wanted.extend((logo.image.url, LOGO) for logo in design.logos)
    return wanted


def build_ticket(
    order: Order,
    designs: DesignLookup,
    images: ImageResults,
    *,
    brand: str,
    qr_template: str,
    versions: list[str] | None = None,
    now: datetime | None = None,
) -> Ticket:
    """Assemble the ticket for ``order`` from what was fetched for it; ``versions`` are
    the items' versions for their QR codes (``versions.versions``)."""
    count = len(order.items)
    qr = _QrValues(order, brand, qr_template, versions or [""] * count)
    items = [
        _build_item(order, item, n, count, designs, images, qr)
        for n, item in enumerate(order.items, 1)
    ]
    problems = [] if items else [Problem("", "the order has no items: nothing to build")]
    return Ticket(
        order=order,
        brand=brand,
        items=items,
        generated_at=now or datetime.now(UTC),
        problems=problems,
    )


@dataclass(frozen=True)
class _QrValues:
    """What an item's QR payload is made from."""

    order: Order
    brand: str
    template: str
    versions: list[str]

    def text(self, index: int, count: int, item: OrderItem, design: Design) -> str:
        return qr_text(
            self.template,
            {
                "order_id": self.order.api_id,
                "order_number": "" if self.order.number is None else self.order.number,
                "order_name": self.order.name,
                "item": index,
                "items": count,
                "quantity": "" if item.quantity is None else item.quantity,
                "design_id": design.api_id,
                "design_number": "" if design.number is None else design.number,
                "brand": self.brand,
                "version": self.versions[index - 1],
            },
        )


def _build_item(
    order: Order,
    item: OrderItem,
    index: int,
    count: int,
    designs: DesignLookup,
    images: ImageResults,
    qr: _QrValues,
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
    found = designs.get(item.design_api_id) or DesignMissing(item.design_api_id, "not fetched")
    design_problem = None
    if isinstance(found, DesignMissing):
        design = Design.placeholder(item.design_api_id)
        design_problem = found.reason
        problems.append(Problem(where, f"design missing: {found.reason}"))
        design_image, design_image_problem = None, found.reason
    else:
        design = found
        if design.design_image is not None:
            design_image, design_image_problem = image_for(
                design.design_image.url, DESIGN, "design image"
            )
        else:
            design_image, design_image_problem = None, "the design has no image"
            problems.append(Problem(where, "design image missing: the API lists none"))
        if not design.production_data:
            problems.append(
                Problem(where, "the design has no productionData: nothing to build from")
            )

    logos = _Logos(where, image_for, problems)
    for upload in design.logos:
        logos.add(upload.image.url, upload.name, upload.image.display_name)
    entries = []
    for entry in design.production_data:
        view = EntryView(entry.key, entry.value, entry.option_id, entry.choice_id, entry.kind)
        if entry.is_image_url:
            filename = entry.value.strip().rsplit("/", 1)[-1]
            logo = logos.add(entry.value, entry.key, filename, named=False)
            view.is_image, view.logo = True, logo.number
            view.image, view.problem = logo.image, logo.problem
        entries.append(view)
    if design_image is not None:
        problems.extend(Problem(where, f"design image: {p}") for p in design_image.problems)
    return TicketItem(
        index=index,
        count=count,
        quantity=item.quantity,
        raw_quantity=item.raw.get("quantity") if isinstance(item.raw, dict) else None,
        design=design,
        design_problem=design_problem,
        design_image=design_image,
        design_image_problem=design_image_problem,
        entries=entries,
        logos=logos.items,
        texts=list(design.texts),
        qr_text=qr.text(index, count, item, design),
        problems=problems,
    )


class _Logos:
    """An item's uploaded images, each once (by URL), numbered in order of appearance."""

    def __init__(self, where: str, image_for: Callable, problems: list[Problem]) -> None:
        self.items: list[LogoItem] = []
        self._where = where
        self._image_for = image_for
        self._problems = problems
        self._by_url: dict[str, LogoItem] = {}

    def add(self, url: str, name: str, filename: str, *, named: bool = True) -> LogoItem:
        """The logo showing ``url``; ``named``: ``name`` names the logo itself (a
        configured logo option), not a row that merely points at it."""
        url = url.strip()
        logo = self._by_url.get(url)
        if logo is not None:
            if named and name not in logo.names:
                logo.names.append(name)
            return logo
        logo = LogoItem(number=len(self.items) + 1, names=[name], filename=filename, url=url)
        logo.image, logo.problem = self._image_for(url, LOGO, f"logo {name!r}")
        if logo.image is not None:
            self._problems.extend(
                Problem(self._where, f"logo {name!r}: {p}") for p in logo.image.problems
            )
        self.items.append(logo)
        self._by_url[url] = logo
        return logo


def ticket_warnings(ticket: Ticket) -> list[str]:
    """Things worth a look that do not make the ticket incomplete: a LOW-RES image, an
    animation printed as its first frame, colours that could only be approximated."""
    warnings = []
    for item in ticket.items:
        place = f"item {item.index} of {item.count}"
        images = [("the design image", item.design_image)]
        images += [(repr(logo.name), logo.image) for logo in item.logos]
        for name, image in images:
            if image is None:
                continue
            if image.low_res:
                warnings.append(f"{place}: {name} is LOW-RES ({image.dpi:.0f} dpi at print size)")
            warnings += [f"{place}: {name}: {note}" for note in image.notes if note.kind.warns]
    return warnings
