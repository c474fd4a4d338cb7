"""Tickets to PDF: Jinja for the HTML, WeasyPrint for the pages. Nothing else here.

WeasyPrint never fetches anything by itself: it reads only through
``fetcher.LocalOnlyFetcher`` (the packaged templates and fonts, the template override
folder, the checked asset cache, inline ``data:``). Everything it refuses or cannot draw
is *logged* by WeasyPrint, not raised, so each render adds a handler to the
``weasyprint`` logger for its duration and turns what it reports into the ticket's
problems: a refused image or a character no font has makes the ticket INCOMPLETE,
never a silent blank. The logger is otherwise left alone: whether those messages also
reach the console is the CLI's choice (``-vv`` shows them).

Each item's layout (how tall its design image is, so that it fits one page) is planned
by ``layout.py`` and checked on the laid-out pages before the PDF is written.

Import this module only where rendering happens: it imports WeasyPrint, which costs
most of a second a command (or the batch's main process) may not need.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
import weasyprint
from markupsafe import Markup
from weasyprint.text.fonts import FontConfiguration

from . import layout
from .config import PageSize, Settings
from .errors import RenderError
from .fetcher import LocalOnlyFetcher
from .layout import ItemLayout
from .models import url_filename
from .paths import fonts_dir, templates_dir
from .qr import qr_png
from .scripts import text_attrs
from .tickets import Problem, Ticket

FONT_FACES = (
    ("Prodsheets Sans", "normal", "LiberationSans-Regular.ttf"),
    ("Prodsheets Sans", "bold", "LiberationSans-Bold.ttf"),
    ("Prodsheets Mono", "normal", "LiberationMono-Regular.ttf"),
    ("Prodsheets Mono", "bold", "LiberationMono-Bold.ttf"),
)
_NOTDEF = re.compile(r"unsupported by fonts: \"(.+)\" \(U\+([0-9A-Fa-f]+)\)", re.S)
LAYOUT_ROUNDS = 2  # lay out again at most this often to make items fit their page


@dataclass
class RenderResult:
    pdf: bytes
    pages: int
    problems: list[Problem] = field(default_factory=list)


def _data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


class _LogCapture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class Renderer:
    """Renders tickets. Make one per process and reuse it: the stylesheets and the
    font configuration are parsed once (reusing ``FontConfiguration`` is ~25% faster
    and keeps memory flat over thousands of tickets). One render at a time: the shared
    font configuration and the log capture are not made for threads (the station
    renders from several request threads)."""

    def __init__(
        self,
        *,
        page_size: PageSize = PageSize.A4,
        template_dir: Path | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        self.page_size = PageSize(page_size)
        self.page = layout.PAGES[self.page_size]
        self.template_dir = Path(template_dir) if template_dir else None
        if self.template_dir and not self.template_dir.is_dir():
            raise RenderError(f"template folder not found: {self.template_dir}")
        roots = [templates_dir(), fonts_dir()]
        if self.template_dir:
            roots.append(self.template_dir)
        if cache_dir:
            roots.append(Path(cache_dir))
        self._fetcher = LocalOnlyFetcher(roots)
        loaders: list[jinja2.BaseLoader] = [jinja2.FileSystemLoader(str(templates_dir()))]
        if self.template_dir:
            loaders.insert(0, jinja2.FileSystemLoader(str(self.template_dir)))
        self.env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=False,
        )
        self.env.filters["basename"] = url_filename
        self.env.globals["textattrs"] = text_attrs
        self._css_text = self._stylesheet_text()
        self.font_config = FontConfiguration()
        self._stylesheets = [
            weasyprint.CSS(
                string=self._font_css(inline=False) + self._page_css() + self._css_text,
                base_url=str(templates_dir()) + "/",
                url_fetcher=self._fetcher,
                font_config=self.font_config,
            )
        ]
        self._log = logging.getLogger("weasyprint")
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> Renderer:
        """The renderer every command uses: page size, templates and the asset cache."""
        return cls(
            page_size=settings.page_size,
            template_dir=settings.template_dir,
            cache_dir=settings.cache_dir,
        )

    # -- stylesheets -------------------------------------------------------------

    def _stylesheet_text(self) -> str:
        for folder in (self.template_dir, templates_dir()):
            if folder and (folder / "ticket.css").is_file():
                return (folder / "ticket.css").read_text(encoding="utf-8")
        raise RenderError("ticket.css not found")

    def _font_css(self, *, inline: bool) -> str:
        rules = []
        for family, weight, filename in FONT_FACES:
            path = fonts_dir() / filename
            src = _data_uri(path.read_bytes(), "font/ttf") if inline else path.as_uri()
            rules.append(
                f'@font-face {{ font-family: "{family}"; font-weight: {weight}; '
                f'font-style: normal; src: url("{src}"); }}\n'
            )
        return "".join(rules)

    def _page_css(self) -> str:
        return f"@page {{ size: {self.page.css_size}; margin: {self.page.css_margin}; }}\n"

    # -- rendering ---------------------------------------------------------------

    def plan(self, ticket: Ticket) -> dict[int, ItemLayout]:
        """Each item's layout on this renderer's page size (see ``layout.py``)."""
        return layout.plan_ticket(ticket, self.page, label=self.page_size is PageSize.LABEL)

    def html(
        self,
        ticket: Ticket,
        *,
        standalone: bool = False,
        layouts: dict[int, ItemLayout] | None = None,
    ) -> str:
        """The ticket's HTML. ``standalone`` inlines styles, fonts and images so the file
        opens anywhere (``--html``); otherwise images are cache ``file:`` URLs."""
        context = self.context(ticket, standalone=standalone, layouts=layouts)
        try:
            return self.env.get_template("ticket.html").render(**context)
        except jinja2.TemplateError as exc:
            raise RenderError(f"template error: {exc}") from None

    def context(
        self,
        ticket: Ticket,
        *,
        standalone: bool = False,
        layouts: dict[int, ItemLayout] | None = None,
    ) -> dict[str, Any]:
        """Everything a template can use (documented in README.md)."""
        layouts = layouts or self.plan(ticket)

        def src(image: Any) -> str | None:
            if image is None:
                return None
            if standalone:
                return _data_uri(image.path.read_bytes(), image.mime)
            return image.path.as_uri()

        items = []
        for item in ticket.items:
            design = item.design
            items.append(
                _Obj(
                    item,
                    # design.id / design.design_id: the names templates used before 0.2
                    design=_Obj(design, id=design.api_id, design_id=design.number),
                    qr_src=_data_uri(qr_png(item.qr_text), "image/png"),
                    design_image_src=src(item.design_image),
                    entries=[_Obj(e, image_src=src(e.image)) for e in item.entries],
                    logos=[
                        _Obj(
                            lg, image_src=src(lg.image), box_mm=layout.logo_box(lg.image, self.page)
                        )
                        for lg in item.logos
                    ],
                    layout=layouts[item.index],
                )
            )
        styles = Markup("")
        if standalone:
            css = self._font_css(inline=True) + self._page_css() + self._css_text
            styles = Markup("<style>\n") + Markup(css.replace("</", "<\\/")) + Markup("\n</style>")
        order = ticket.order
        order_date = order.date_parsed
        return {
            # order.id / order.order_id: the names templates used before 0.2
            "order": _Obj(order, id=order.api_id, order_id=order.number),
            "brand": ticket.brand,
            "items": items,
            "order_problems": ticket.problems,
            "problems": ticket.all_problems,
            "complete": ticket.complete,
            "revised": ticket.revised,
            "generated_at": ticket.generated_at,
            "generated_at_text": "Generated " + _format_time(ticket.generated_at),
            "order_date_text": _format_time(order_date) if order_date else ticket.order.date or "—",
            "page_size": self.page_size,
            "page_size_class": self.page.css_class,
            "styles": styles,
        }

    def render_page(self, template: str, context: dict[str, Any]) -> bytes:
        """A PDF from any template in the ticket's style (the batch summary page)."""
        context = {
            "page_size_class": self.page.css_class,
            "styles": Markup(""),
            **context,
        }
        try:
            markup = self.env.get_template(template).render(**context)
        except jinja2.TemplateError as exc:
            raise RenderError(f"template error in {template}: {exc}") from None
        with self._lock:
            return weasyprint.HTML(
                string=markup, base_url=str(templates_dir()) + "/", url_fetcher=self._fetcher
            ).write_pdf(stylesheets=self._stylesheets, font_config=self.font_config)

    def render(self, ticket: Ticket) -> RenderResult:
        """The PDF for ``ticket``. Problems WeasyPrint reports are added to the ticket;
        if any are new the ticket is rendered once more so its banner lists them."""
        with self._lock:
            return self._render_checked(ticket)

    def _render_checked(self, ticket: Ticket) -> RenderResult:
        result = self._render_once(ticket)
        new = [p for p in result.problems if p not in ticket.all_problems]
        if new:
            ticket.problems.extend(new)
            result = self._render_once(ticket)
            result.problems = [p for p in result.problems if p not in ticket.all_problems]
            ticket.problems.extend(result.problems)
        result.problems = ticket.all_problems
        return result

    def _render_once(self, ticket: Ticket) -> RenderResult:
        capture = _LogCapture()
        self._log.addHandler(capture)
        try:
            document = self._laid_out(ticket, capture)
            pages = len(document.pages)
            pdf = document.write_pdf()
        except Exception as exc:  # WeasyPrint raises many types; all mean "no PDF"
            raise RenderError(f"could not render {ticket.order.label}: {exc}") from exc
        finally:
            self._log.removeHandler(capture)
        return RenderResult(
            pdf=pdf, pages=pages, problems=_problems_from_log(capture.records, ticket)
        )

    def _laid_out(self, ticket: Ticket, capture: _LogCapture) -> weasyprint.Document:
        """The laid-out document, with each item planned to fit one page checked on the
        pages themselves and laid out again with a smaller design image if it did not."""
        layouts = self.plan(ticket)
        for attempt in range(LAYOUT_ROUNDS + 1):
            records = len(capture.records)
            document = weasyprint.HTML(
                string=self.html(ticket, layouts=layouts),
                base_url=str(templates_dir()) + "/",
                url_fetcher=self._fetcher,
            ).render(stylesheets=self._stylesheets, font_config=self.font_config)
            over = layout.overflows(document.pages, layouts, self.page)
            if not over or attempt == LAYOUT_ROUNDS:
                return document
            del capture.records[records:]  # this layout is thrown away, and its messages
            for index, overflow in over.items():
                layouts[index] = layout.shrink(layouts[index], overflow)
        raise AssertionError("unreachable")


class _Obj:
    """A read-only view of ``obj`` with a few extra attributes (image ``src`` URLs)."""

    def __init__(self, obj: Any, **extra: Any) -> None:
        self._obj = obj
        self.__dict__.update(extra)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._obj, name)


def _format_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M %Z").strip()


def _problems_from_log(records: list[logging.LogRecord], ticket: Ticket) -> list[Problem]:
    problems: list[Problem] = []
    missing: dict[str, None] = {}
    for record in records:
        message = record.getMessage()
        match = _NOTDEF.search(message)
        if match:
            missing.update(dict.fromkeys(match.group(1)))
        elif record.levelno >= logging.ERROR or "cannot be loaded" in message:
            problems.append(Problem("", f"renderer: {message}"))
    problems += _missing_glyph_problems(list(missing), ticket)
    return list(dict.fromkeys(problems))


def _missing_glyph_problems(chars: list[str], ticket: Ticket) -> list[Problem]:
    """One problem per field that has characters no font has, listing them all, so a
    name in an unsupported script is one line on the ticket, not one per character."""
    problems = []
    placed: set[str] = set()
    for where, text in _fields(ticket):
        found = [c for c in chars if c in text]
        if found:
            placed.update(found)
            problems.append(Problem(where, _cannot_print(found)))
    rest = [c for c in chars if c not in placed]
    if rest:
        problems.append(Problem("", _cannot_print(rest)))
    return problems


def _cannot_print(chars: list[str]) -> str:
    listed = ", ".join(f"{c!r} (U+{ord(c):04X})" for c in chars)
    noun = "character" if len(chars) == 1 else "characters"
    return f"{noun} {listed} cannot be printed: no font has {'it' if len(chars) == 1 else 'them'}"


def _fields(ticket: Ticket) -> Iterator[tuple[str, str]]:
    """(where, text) for everything customer- or shop-supplied the ticket prints."""
    order = ticket.order
    yield "order name", order.label
    yield "brand", ticket.brand
    for item in ticket.items:
        place = f"item {item.index} of {item.count}"
        yield f"{place}, product name", item.design.product_name
        for text in item.texts:
            yield f"{place}, custom text {text.name!r}", f"{text.name}\n{text.text}"
        for entry in item.entries:
            yield f"{place}, {entry.key!r}", f"{entry.key}\n{entry.value}"
        for logo in item.logos:
            yield f"{place}, logo {logo.number}", f"{logo.name}\n{logo.filename}"
