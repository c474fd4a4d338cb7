"""What the station does, without the web: the library the pages stand on.

    read(text)         what was typed or scanned -> an ``OrderRef`` or a ``scan.Scan``
    open_order(ref)    the order as it is now, and its ticket written through the pipeline
    open_scan(scan)    the same, with ``scan.check_now``'s verdict on the paper scanned

Every page fetches the order and its designs *now* (a fresh ``DesignSource`` per page,
never yesterday's designs), judges a scanned ticket with ``scan.check_now`` (the very
verdict ``prodsheets check`` prints) and writes the ticket with ``pipeline.Pipeline``
into the station folder, so what the page previews and offers for download is the PDF
the pipeline made. One ``ApiClient``, ``AssetStore`` and ``Renderer`` serve every
request thread; the renderer renders one ticket at a time.

The station waits less than a command does (``Patience``): someone is standing at the
counter, and the page must answer with a readable message before the browser or the
proxy in front gives up.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..api import ApiClient
from ..assets import AssetStore
from ..config import Settings
from ..designs import DesignSource
from ..errors import ScanError
from ..models import Order
from ..paths import default_state_dir
from ..pipeline import OrderRef, Pipeline, Written, find_order
from ..scan import Check, Scan, check_now, parse_scan
from ..versions import VersionArchive

if TYPE_CHECKING:
    from ..render import Renderer

STATION_FOLDER = "station"


@dataclass(frozen=True)
class Patience:
    """Timeouts (seconds) and retries for the API and the image CDNs. With the
    defaults a page that finds nobody answering gives up after about 40 s at worst
    (order, designs, images: two tries of 3 s to connect or 6 s to answer each)."""

    connect: float = 3.0
    read: float = 6.0
    retries: int = 1

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
    ) -> None:
        self.settings = settings
        self.client = client
        self.store = store
        self.tickets_dir = Path(tickets_dir)
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.archive = VersionArchive(settings.cache_dir)
        self._renderer: Renderer | None = None
        self._renderer_lock = threading.Lock()

    @classmethod
    def from_settings(
        cls, settings: Settings, out_dir: Path | None = None, patience: Patience = Patience()
    ) -> Desk:
        """Tickets go to ``OUT/station/`` (beside the nightly runs, which are dated
        folders), or without ``out_dir`` to ``station/`` in the user state folder."""
        api_url, brand, token = settings.require_api()
        client = ApiClient(
            api_url, brand, token, timeout=patience.timeout, retries=patience.retries,
            max_backoff=1.0,
        )  # fmt: skip
        store = AssetStore.from_settings(
            settings, api_origin=client.origin, timeout=patience.timeout, retries=patience.retries
        )
        tickets = (out_dir or default_state_dir()) / STATION_FOLDER
        return cls(settings, client=client, store=store, tickets_dir=tickets, out_dir=out_dir)

    @property
    def brand(self) -> str:
        return self.client.brand

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

    def _write(self, order: Order, designs: DesignSource) -> Written:
        """The ticket of ``order`` through the one pipeline, into the station folder.
        The pipeline is not closed: its design source is this page's, its store shared."""
        pipeline = Pipeline(
            designs=designs,
            store=self.store,
            brand=self.brand,
            qr_template=self.settings.qr_template,
            renderer=lambda: self.renderer,
        )
        return pipeline.write(order, self.tickets_dir)

    def close(self) -> None:
        self.client.close()
        self.store.close()
