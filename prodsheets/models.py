"""Typed views of the API's JSON: orders, their items, designs and their parts.

Parsing is tolerant on purpose. The API is a beta whose documentation contradicts
itself; a missing, null, numeric or unexpected field must never crash a nightly run.
Whatever we do not model is kept in ``raw`` so templates can still reach it. What
cannot be known (a quantity that is not a number) is kept as ``None`` and the ticket
reports it, instead of guessing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import Enum
from typing import Any
from urllib.parse import unquote

from .errors import BadResponse

_IMAGE_URL = re.compile(r"^https?://\S+\.(?:png|jpe?g|gif|webp|svg|tiff?|bmp)(?:[?#]\S*)?$", re.I)


def _text(value: Any) -> str:
    """A display string for any JSON scalar; ``None`` becomes an empty string."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return ""
    return str(value)


def _int_or_none(value: Any) -> int | None:
    """A whole number from an int, an integral float or a digit string; else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def parse_datetime(value: Any) -> datetime | None:
    """Parse the API's ISO dates (``2019-02-11T17:52:11.776Z``) into aware datetimes."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def url_filename(url: Any) -> str:
    """The file name a URL ends with, as a person reads it (``my%20logo.png?v=2`` ->
    ``my logo.png``): tickets and the station show an uploaded image by it."""
    return unquote(str(url).rsplit("/", 1)[-1].split("?")[0])


def _object_id(data: dict[str, Any]) -> str:
    return _text(data.get("_id") or data.get("id"))


@dataclass(frozen=True)
class ImageRef:
    """An image the API points at: a design image, an uploaded logo."""

    url: str
    id: str = ""
    filename: str = ""
    original_filename: str = ""
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> ImageRef | None:
        if not isinstance(data, dict) or not _text(data.get("url")):
            return None
        return cls(
            url=_text(data.get("url")),
            id=_object_id(data),
            filename=_text(data.get("filename")),
            original_filename=_text(data.get("originalFilename")),
            raw=data,
        )

    @property
    def display_name(self) -> str:
        return self.original_filename or self.filename or self.url.rsplit("/", 1)[-1]


class EntryKind(Enum):
    """What a ``productionData`` value is: a choice from the product's options (a material
    to take from the shelf), text the customer typed, or an image they uploaded."""

    CHOICE = "choice"
    TEXT = "text"
    IMAGE = "image"


@dataclass(frozen=True)
class ProductionEntry:
    """One ``productionData`` pair: what the workshop must build, in API order."""

    key: str
    value: str
    option_id: str = ""
    choice_id: str = ""
    kind: EntryKind = EntryKind.CHOICE

    @classmethod
    def from_json(cls, data: Any) -> ProductionEntry:
        if not isinstance(data, dict):
            return cls(key="", value=_text(data))
        ref = data.get("ref") if isinstance(data.get("ref"), dict) else {}
        return cls(
            key=_text(data.get("key")),
            value=_text(data.get("value")),
            option_id=_text(ref.get("optionId")),
            choice_id=_text(ref.get("choiceId")),
        )

    @property
    def is_image_url(self) -> bool:
        """True when the value is a link to an image (e.g. an uploaded ``Logo logo``)."""
        return bool(_IMAGE_URL.match(self.value.strip()))


@dataclass(frozen=True)
class TextView:
    """A custom text the customer typed, to be reproduced exactly."""

    option_id: str
    name: str
    text: str


@dataclass(frozen=True)
class LogoView:
    """A logo the customer uploaded."""

    option_id: str
    name: str
    image: ImageRef


@dataclass(frozen=True)
class Design:
    """A customer's design: what to build, with its images, logos and texts.

    ``api_id`` is the API's ``_id`` (what order items point at); ``number`` its
    ``designId``, the number a person reads."""

    api_id: str
    number: int | None
    product_name: str
    product_id: str
    production_data: list[ProductionEntry]
    design_image: ImageRef | None
    design_images: list[ImageRef]
    texts: list[TextView]
    logos: list[LogoView]
    created_at: str
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> Design:
        if not isinstance(data, dict):
            raise BadResponse(f"expected a design object, got {type(data).__name__}")
        production = data.get("productionData")
        images = data.get("designImages")
        design_images = [
            ref for ref in (ImageRef.from_json(i) for i in _list(images)) if ref is not None
        ]
        texts, logos = _configuration_views(data.get("configuration"))
        kinds = _option_kinds(data.get("configuration"))
        typed = {t.text for t in texts}
        entries = [ProductionEntry.from_json(e) for e in _list(production)]
        return cls(
            api_id=_object_id(data),
            number=_int_or_none(data.get("designId")),
            product_name=_text(data.get("productName")),
            product_id=_text(data.get("productId")),
            production_data=[replace(e, kind=_entry_kind(e, kinds, typed)) for e in entries],
            design_image=ImageRef.from_json(data.get("designImage"))
            or (design_images[0] if design_images else None),
            design_images=design_images,
            texts=texts,
            logos=logos,
            created_at=_text(data.get("createdAt")),
            raw=data,
        )

    @classmethod
    def placeholder(cls, api_id: str) -> Design:
        """An empty design standing in for one that cannot be had, so an item (and any
        custom template) still renders, with its problem in the banner."""
        return cls(
            api_id=api_id, number=None, product_name="", product_id="", production_data=[],
            design_image=None, design_images=[], texts=[], logos=[], created_at="",
        )  # fmt: skip


@dataclass(frozen=True)
class OrderItem:
    """One line of an order: a design (its API id) and how many to build."""

    design_api_id: str
    quantity: int | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> OrderItem:
        if not isinstance(data, dict):
            return cls(design_api_id="", quantity=None, raw={"value": data})
        design = data.get("design")
        design_api_id = _object_id(design) if isinstance(design, dict) else _text(design)
        quantity = _int_or_none(data.get("quantity"))
        return cls(
            design_api_id=design_api_id.strip(),
            quantity=quantity if quantity is not None and quantity > 0 else None,
            raw=data,
        )


@dataclass(frozen=True)
class Order:
    """An order as the API lists it.

    Two ids, named apart: ``api_id`` is the API's ``_id`` (24 hex, what ``/orders/{id}``
    takes), ``number`` its ``orderId`` (1001, ascending). ``name`` is the shop's
    ``eCommerceOrderName`` (``#1001``), what people say."""

    api_id: str
    number: int | None
    name: str
    ecommerce_order_id: str
    status: str
    payment_status: str
    trial: bool
    date: str
    currency: str
    total_price: str
    items: list[OrderItem]
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> Order:
        if not isinstance(data, dict):
            raise BadResponse(f"expected an order object, got {type(data).__name__}")
        return cls(
            api_id=_object_id(data),
            number=_int_or_none(data.get("orderId")),
            name=_text(data.get("eCommerceOrderName")).strip(),
            ecommerce_order_id=_text(data.get("eCommerceOrderId")),
            status=_text(data.get("status")),
            payment_status=_text(data.get("paymentStatus")),
            trial=data.get("trial") is True,
            date=_text(data.get("date")),
            currency=_text(data.get("currency")),
            total_price=_text(data.get("totalPrice")),
            items=[OrderItem.from_json(i) for i in _list(data.get("items"))],
            raw=data,
        )

    @property
    def label(self) -> str:
        """How a person names this order: its shop name, else its number, else its id."""
        if self.name:
            return self.name
        if self.number is not None:
            return f"order {self.number}"
        return self.api_id

    @property
    def date_parsed(self) -> datetime | None:
        return parse_datetime(self.date)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _option_kinds(config: Any) -> dict[str, str]:
    """Option id -> ``text`` or ``logo`` for the options a customer typed or uploaded."""
    if not isinstance(config, dict):
        return {}
    return {
        str(option_id): _text(choice.get("type"))
        for option_id, choice in config.items()
        if isinstance(choice, dict) and choice.get("type") in ("text", "logo")
    }


def _entry_kind(entry: ProductionEntry, kinds: dict[str, str], typed: set[str]) -> EntryKind:
    """The API links a value to its option (``ref.optionId``); a value that is an image
    URL, or is exactly a text the customer typed, is taken for one even without it."""
    kind = kinds.get(entry.option_id)
    if kind == "logo" or entry.is_image_url:
        return EntryKind.IMAGE
    if kind == "text" or (entry.value and entry.value in typed):
        return EntryKind.TEXT
    return EntryKind.CHOICE


def _configuration_views(config: Any) -> tuple[list[TextView], list[LogoView]]:
    """Custom texts and uploaded logos, in configuration order.

    A configuration maps option ids to either a choice id (a plain string) or an
    object whose ``views`` hold what the customer typed or uploaded.
    """
    texts: list[TextView] = []
    logos: list[LogoView] = []
    if not isinstance(config, dict):
        return texts, logos
    for option_id, choice in config.items():
        if not isinstance(choice, dict):
            continue
        name = _text(choice.get("name"))
        for view in _list(choice.get("views")):
            if not isinstance(view, dict):
                continue
            kind = view.get("type") or choice.get("type")
            if kind == "text" and view.get("text") is not None:
                texts.append(TextView(str(option_id), name, _text(view.get("text"))))
            elif kind == "logo":
                image = ImageRef.from_json(view.get("logo"))
                if image is not None:
                    logos.append(LogoView(str(option_id), name, image))
    return texts, logos
