"""What the station does, without the web: the library the pages stand on.

    read(text)         what was typed or scanned -> an ``OrderRef`` or a ``scan.Scan``
    open_order(ref)    the order as it is now, and its ticket written through the pipeline
    open_scan(scan)    the same, with ``scan.check_now``'s verdict on the paper scanned
    print_order(ref, key)  the ticket as the order is now, written and sent to the
                       printer by the pipeline's send step (``printing.Sender``), once per key

Every page fetches the order and its designs *now* (a fresh ``DesignSource`` per page,
never yesterday's designs), judges a scanned ticket with ``scan.check_now`` (the very
verdict ``prodsheets check`` prints) and writes the ticket with ``pipeline.Pipeline``
into the station folder, so what the page previews and offers for download is the PDF
the pipeline made. One ``ApiClient``, ``AssetStore`` and ``Renderer`` serve every
request thread; the renderer renders one ticket at a time.

The station waits less than a command does (``Patience``): someone is standing at the
counter, and the page must answer with a readable message before the browser or the
proxy in front gives up. That goes for the printer too; and as the station runs for
weeks, each print opens the printer afresh (a ``Sender`` gives up on a printer for good
once it failed, which is right for one command, not for a station).

A ticket is never sent twice by accident: each print form carries its own key, and a
second request with the same key (a double click, a form sent again) gets the first
one's answer instead of a second job.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..api import ApiClient
from ..assets import AssetStore
from ..config import Settings
from ..designs import DesignSource
from ..errors import ConfigError, ScanError
from ..models import Order
from ..paths import default_state_dir
from ..pipeline import OrderRef, Pipeline, Written, find_order
from ..printing import Printer, Sender, open_printer
from ..scan import Check, Scan, check_now, parse_scan
from ..versions import VersionArchive

if TYPE_CHECKING:
    from ..render import Renderer

STATION_FOLDER = "station"
PRINT_KEYS_KEPT = 1000  # answers kept for a repeated print request


@dataclass(frozen=True)
class Patience:
    """Timeouts (seconds) and retries for the API, the image CDNs and the printer. With
    the defaults a page that finds nobody answering gives up after about 40 s at worst
    (order, designs, images: two tries of 3 s to connect or 6 s to answer each), and a
    print after about 20 s more (the printer's status, then the job)."""

    connect: float = 3.0
    read: float = 6.0
    retries: int = 1
    printer: float = 10.0

    @property
    def timeout(self) -> tuple[float, float]:
        return (self.connect, self.read)


@dataclass(frozen=True)
class OrderPage:
    """Everything the order page shows."""

    order: Order
    written: Written  # the ticket on disk, its problems, and the Ticket it shows
    check: Check | None = None  # the verdict on a scanned ticket
    uncheckable: str | None = None  # why a scanned code cannot be judged
    scanned_item: int | None = None


@dataclass(frozen=True)
class Printed:
    """A print request's answer: ``written.sent`` (the job) or ``written.send_error``."""

    order: Order
    written: Written
    printer: str
    warnings: tuple[str, ...] = ()
    repeat: bool = False  # the same request again: nothing was sent a second time


class Desk:
    """The station's work for one brand; shared by every request thread."""

    def __init__(
        self,
        settings: Settings,
        *,
        client: ApiClient,
        store: AssetStore,
        tickets_dir: Path,
        out_dir: Path | None = None,
        patience: Patience = Patience(),
        printer_opener: Callable[..., Printer] = open_printer,
    ) -> None:
        self.settings = settings
        self.client = client
        self.store = store
        self.tickets_dir = Path(tickets_dir)
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.patience = patience
        self._open_printer = printer_opener
        self.archive = VersionArchive(settings.cache_dir)
        self._renderer: Renderer | None = None
        self._renderer_lock = threading.Lock()
        self._printed: OrderedDict[str, Future[Printed]] = OrderedDict()
        self._printed_lock = threading.Lock()

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        out_dir: Path | None = None,
        patience: Patience = Patience(),
        printer_opener: Callable[..., Printer] = open_printer,
    ) -> Desk:
        """Tickets go to ``OUT/station/`` (beside the nightly runs, which are dated
        folders), or without ``out_dir`` to ``station/`` in the user state folder.
        ``printer_opener`` (``printing.open_printer``) opens the printer for each print."""
        api_url, brand, token = settings.require_api()
        client = ApiClient(
            api_url, brand, token, timeout=patience.timeout, retries=patience.retries,
            max_backoff=1.0,
        )  # fmt: skip
        store = AssetStore.from_settings(
            settings, api_origin=client.origin, timeout=patience.timeout, retries=patience.retries
        )
        tickets = (out_dir or default_state_dir()) / STATION_FOLDER
        return cls(settings, client=client, store=store, tickets_dir=tickets, out_dir=out_dir,
                   patience=patience, printer_opener=printer_opener)  # fmt: skip

    @property
    def brand(self) -> str:
        return self.client.brand

    @property
    def printer(self) -> str | None:
        """Where Print ticket sends (a CUPS queue or a printer URI), or None."""
        return str(self.settings.printer) if self.settings.printer is not None else None

    @property
    def assets_dir(self) -> Path:
        return self.store.prepared_dir

    @property
    def renderer(self) -> Renderer:
        """Made once, on first use (WeasyPrint and the fonts take a second to load)."""
        with self._renderer_lock:
            if self._renderer is None:
                from ..render import Renderer

                self._renderer = Renderer.from_settings(self.settings)
            return self._renderer

    def read(self, text: str) -> OrderRef | Scan:
        """What someone typed or scanned: a ticket's code (the default payload, the
        shop's own QR template, a station URL) or an order number, ``#name`` or API id.
        Raises ``ScanError`` for what is neither."""
        text = text.strip()
        try:
            return parse_scan(text, [self.settings.qr_template])
        except ScanError:
            if text.lower().startswith(("http://", "https://", "prodsheets:")):
                raise
        try:
            return OrderRef.parse(text)
        except ValueError as exc:
            raise ScanError(str(exc)) from None

    def open_order(self, ref: OrderRef) -> OrderPage:
        with DesignSource(self.client.get_design) as designs:
            order = find_order(self.client, ref)
            return OrderPage(order, self._write(order, designs))

    def open_scan(self, scan: Scan) -> OrderPage:
        with DesignSource(self.client.get_design) as designs:
            try:
                verdict = check_now(self.client, designs, scan, self.archive)
            except ScanError as exc:  # a code without a version: show the order anyway
                order = find_order(self.client, scan.ref)
                written = self._write(order, designs)
                return OrderPage(order, written, uncheckable=str(exc), scanned_item=scan.item)
            written = self._write(verdict.order, designs)
            return OrderPage(verdict.order, written, check=verdict, scanned_item=scan.item)

    def print_order(self, ref: OrderRef, key: str) -> Printed:
        """Write the ticket of the order as it is now and send it to the printer; once
        per ``key``: the same key again waits for and returns the first answer."""
        with self._printed_lock:
            future = self._printed.get(key)
            first = future is None
            if first:
                future = self._printed[key] = Future()
                while len(self._printed) > PRINT_KEYS_KEPT:
                    self._printed.popitem(last=False)
        if not first:
            return replace(future.result(), repeat=True)
        try:
            printed = self._print(ref)
        except BaseException as exc:  # nothing was sent (no order, API down): may try again
            with self._printed_lock:
                self._printed.pop(key, None)
            future.set_exception(exc)
            raise
        future.set_result(printed)
        return printed

    def _print(self, ref: OrderRef) -> Printed:
        address = self.settings.printer
        if address is None:
            raise ConfigError(
                "no printer is set up: set PRODSHEETS_PRINTER (or printer in prodsheets.toml)"
            )
        printer = self._open_printer(
            address, fingerprint=self.settings.printer_fingerprint, patience=self.patience.printer
        )
        warnings: list[str] = []
        sender = Sender(printer, warn=warnings.append)
        try:
            with DesignSource(self.client.get_design) as designs:
                order = find_order(self.client, ref)
                written = self._write(order, designs, sender)
        finally:
            printer.close()
        return Printed(order, written, sender.name, tuple(warnings))

    def _write(self, order: Order, designs: DesignSource, sender: Sender | None = None) -> Written:
        """The ticket of ``order`` through the one pipeline, into the station folder, and
        with ``sender`` to the printer. The pipeline is not closed: its design source is
        this request's, its store shared."""
        pipeline = Pipeline(
            designs=designs,
            store=self.store,
            brand=self.brand,
            qr_template=self.settings.qr_template,
            renderer=lambda: self.renderer,
            sender=sender,
            page_size=self.settings.page_size,
        )
        return pipeline.write(order, self.tickets_dir)

    def close(self) -> None:
        self.client.close()
        self.store.close()
