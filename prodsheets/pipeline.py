"""One pipeline for one order, shared by every command.

    find the order -> its designs -> its images -> the ticket -> render -> write -> send

``prodsheets order`` and ``render`` run the steps one after the other (``Pipeline``);
the nightly batch runs the very same steps, spread out: ``prepare`` on threads, the
render-and-stage step in worker processes (``render_pool``), the commit in its recorder,
the send (``--print``) in its dispatch, in orderId order; ``prodsheets print`` runs the
send step alone, for PDFs already on disk. Each step is a function here so that no
command carries its own copy.

A transient failure (the API or a CDN not answering) raises, and the order fails; a
permanent one (a design that does not exist, an image that is not one) becomes a
problem printed on the ticket.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from . import fsutil
from .api import ApiClient
from .assets import AssetStore
from .config import PageSize
from .designs import DesignLookup, DesignSource
from .errors import AssetError, InputError, NotFoundError, PrintError
from .facts import ticket_facts
from .models import Order
from .tickets import Problem, Ticket, build_ticket, ticket_warnings, wanted_assets
from .versions import VersionArchive, versions

if TYPE_CHECKING:
    from .printing import Sender, Sent
    from .render import Renderer

_OBJECT_ID = re.compile(r"^[0-9a-fA-F]{24}$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
T = TypeVar("T")


# -- find ----------------------------------------------------------------------------


class RefKind(Enum):
    API_ID = "API id"
    NUMBER = "orderId"
    NAME = "order name"


@dataclass(frozen=True)
class OrderRef:
    """What a person typed to name an order: ``5e69…9825``, ``1001`` or ``#1001``."""

    kind: RefKind
    value: str

    @classmethod
    def parse(cls, text: str) -> OrderRef:
        """Raises ``ValueError`` for text that cannot name an order ('', '#', spaces)."""
        ref = text.strip()
        if not ref.lstrip("#").strip():
            raise ValueError(f"{text!r} does not name an order (use 1001, '#1001' or an API id)")
        if _OBJECT_ID.match(ref):
            return cls(RefKind.API_ID, ref)
        if ref.isdigit():
            return cls(RefKind.NUMBER, str(int(ref)))
        return cls(RefKind.NAME, ref)


def find_order(client: ApiClient, ref: OrderRef) -> Order:
    """The order ``ref`` names. Numbers and names are found by listing orders newest
    first, stopping as soon as it is found (or, for numbers, once the listing passed it)."""
    if ref.kind is RefKind.API_ID:
        try:
            return client.get_order(ref.value)
        except NotFoundError:
            raise NotFoundError(f"order {ref.value} not found (404)", status=404) from None
    orders = client.iter_orders(sort_key="orderId", sort_order="descending", count=50)
    if ref.kind is RefKind.NUMBER:
        wanted = int(ref.value)
        for order in orders:
            if order.number == wanted:
                return order
            if order.number is not None and order.number < wanted:
                break
        raise NotFoundError(
            f"no order with orderId {wanted} (for a shop order name, use '#{wanted}')", status=404
        )
    wanted_name = ref.value.lstrip("#")
    for order in orders:
        if order.name and order.name.lstrip("#") == wanted_name:
            return order
    raise NotFoundError(f"no order named {ref.value!r}", status=404)


def ticket_filename(order: Order) -> str:
    """``order-1001.pdf``: named by the shop's order name so a person finds it."""
    base = order.name.lstrip("#") or (str(order.number) if order.number is not None else "")
    slug = _UNSAFE.sub("-", base).strip("-.") or order.api_id
    return f"order-{slug}.pdf"


# -- gather (the network) and assemble (the CPU): the ticket ---------------------------


@dataclass
class Gathered:
    """An order with everything the network had to give: its designs and the content of
    every image it prints (digests in the asset cache, or why not). It pickles, so the
    CPU half (``assemble``) can run in a render worker; ``facts`` decide whether it needs
    a ticket at all, ``revised`` what its banner says changed."""

    order: Order
    designs: DesignLookup
    downloads: dict[str, str | AssetError]
    facts: dict[str, Any]
    revised: tuple[str, ...] = ()


def gather(order: Order, designs: DesignSource, store: AssetStore) -> Gathered:
    """Designs and image downloads for ``order``. Raises transient errors: a CDN hiccup
    fails the order, which is retried later, never printed short."""
    found: DesignLookup = designs.for_order(order)
    downloads = store.download_many(url for url, _ in wanted_assets(order, found))
    for url, result in downloads.items():
        if isinstance(result, AssetError) and result.transient:
            raise AssetError(f"cannot download {url} now: {result}", url=url, transient=True)
    facts = ticket_facts(order, found)
    VersionArchive(store.cache_dir).remember(facts)  # so a scan can say what changed
    return Gathered(order, found, downloads, facts)


def assemble(gathered: Gathered, store: AssetStore, *, brand: str, qr_template: str) -> Ticket:
    """Prepare the images (decode, colour, size: CPU) and build the ticket."""
    order, found = gathered.order, gathered.designs
    images = store.prepare_many(wanted_assets(order, found), gathered.downloads)
    ticket = build_ticket(order, found, images, brand=brand, qr_template=qr_template,
                          versions=versions(gathered.facts))  # fmt: skip
    ticket.revised = list(gathered.revised)
    return ticket


@dataclass
class Prepared:
    """An order ready to render: its ticket, and the facts its fingerprint is made of."""

    order: Order
    ticket: Ticket
    facts: dict[str, Any]


def prepare(
    order: Order, designs: DesignSource, store: AssetStore, *, brand: str, qr_template: str
) -> Prepared:
    """Both halves in this process (``order``, ``render``, the station)."""
    gathered = gather(order, designs, store)
    ticket = assemble(gathered, store, brand=brand, qr_template=qr_template)
    return Prepared(order, ticket, gathered.facts)


# -- render and write ---------------------------------------------------------------


@dataclass(frozen=True)
class Staged:
    """A rendered ticket under its temporary name beside ``final``, not yet committed."""

    temp: Path
    final: Path
    pages: int
    problems: tuple[str, ...]


def render_staged(renderer: Renderer, ticket: Ticket, final: Path) -> Staged:
    """Render ``ticket`` and write the PDF beside ``final`` under a temporary name."""
    result = renderer.render(ticket)
    temp = fsutil.stage_bytes(Path(final), result.pdf)
    return Staged(temp, Path(final), result.pages, tuple(str(p) for p in result.problems))


# -- send ------------------------------------------------------------------------------


def send_ticket(
    sender: Sender, path: Path, page_size: PageSize | None, *, follow: bool = True
) -> Sent:
    """The last step (``--print``): a committed PDF to the printer, as a job named by its
    file (``order-1001.pdf``) on the paper of ``page_size`` (None: the PDF's own size),
    followed to its end with ``--wait`` (unless ``follow`` is False). Raises
    ``PrintError`` (the PDF stays where it is)."""
    return sender.send(Path(path), page_size, follow=follow)


@dataclass
class Written:
    """A ticket on disk, the ``Ticket`` it shows (the station displays its items) and,
    with ``--print``, how sending it went."""

    order: Order
    path: Path
    pages: int
    problems: list[Problem]
    warnings: list[str]
    ticket: Ticket
    sent: Sent | None = None
    send_error: PrintError | InputError | None = None

    @property
    def complete(self) -> bool:
        return not self.problems


class Warming(Generic[T]):
    """``factory()`` run in a thread from now on; calling the object waits for it and
    returns its result (or raises its error). ``prodsheets order`` builds its renderer
    this way: importing WeasyPrint and loading the fonts (0.6 s of a 1.4 s cold start)
    happen while the network fetches the order, its designs and images. A daemon
    thread: a first order that fails exits at once."""

    def __init__(self, factory: Callable[[], T]) -> None:
        self._result: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(factory,), daemon=True,
                                        name="warming")  # fmt: skip
        self._thread.start()

    def _run(self, factory: Callable[[], T]) -> None:
        try:
            self._result = factory()
        except BaseException as exc:  # handed to the caller, in its thread
            self._error = exc

    def __call__(self) -> T:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return cast(T, self._result)


class Pipeline:
    """The steps for one order at a time (``prodsheets order`` and ``render``)."""

    def __init__(
        self,
        *,
        designs: DesignSource,
        store: AssetStore,
        brand: str,
        qr_template: str,
        renderer: Callable[[], Renderer],
        sender: Sender | None = None,
        page_size: PageSize = PageSize.A4,
    ) -> None:
        self.designs = designs
        self.store = store
        self.brand = brand
        self.qr_template = qr_template
        self.sender = sender  # --print: each ticket goes to the printer once written
        self.page_size = page_size
        self._make_renderer = renderer
        self._renderer: Renderer | None = None

    @property
    def renderer(self) -> Renderer:
        """Made on first use (or by a ``Warming`` factory, ahead of it)."""
        if self._renderer is None:
            self._renderer = self._make_renderer()
        return self._renderer

    def prepare(self, order: Order) -> Prepared:
        return prepare(
            order, self.designs, self.store, brand=self.brand, qr_template=self.qr_template
        )

    def write(self, order: Order, out_dir: Path, *, html: bool = False) -> Written:
        """Prepare, render and write ``order``'s ticket into ``out_dir``, then send it
        (with a ``sender``; a failure to send is in ``Written.send_error``)."""
        ticket = self.prepare(order).ticket
        final = Path(out_dir) / ticket_filename(order)
        staged = render_staged(self.renderer, ticket, final)
        try:
            if html:
                html_text = self.renderer.html(ticket, standalone=True)
                fsutil.atomic_write_text(final.with_suffix(".html"), html_text)
            fsutil.commit(staged.temp, final)
        except BaseException:
            fsutil.discard(staged.temp)
            raise
        written = Written(
            order, final, staged.pages, ticket.all_problems, ticket_warnings(ticket), ticket
        )
        if self.sender is not None:
            try:
                written.sent = send_ticket(self.sender, final, self.page_size)
            except (PrintError, InputError) as exc:
                written.send_error = exc
        return written

    def close(self) -> None:
        self.designs.close()
        self.store.close()
        if self.sender is not None:
            self.sender.printer.close()

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
