"""The straightforward approach, as a user would write it in an afternoon.

Sequential: list orders, then for each order fetch its designs and download its images
one by one (no cache), and render one WeasyPrint document per order from the same
template and stylesheet, parsing the CSS and fonts afresh each time, with the images as
downloaded. Same data and template as the batch, none of its engineering.

    python -m benchmarks.baseline --out DIR --orders N   (API settings from PRODSHEETS_*)
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from datetime import UTC
from pathlib import Path

import jinja2
import requests

from prodsheets.images import PreparedImage
from prodsheets.models import Design, Order
from prodsheets.paths import fonts_dir, templates_dir
from prodsheets.qr import DEFAULT_QR_TEMPLATE, qr_text
from prodsheets.render import FONT_FACES, Renderer
from prodsheets.scripts import text_attrs
from prodsheets.tickets import EntryView, LogoItem, Ticket, TicketItem


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--orders", type=int, default=100)
    args = parser.parse_args()
    import weasyprint

    base = os.environ["PRODSHEETS_API_URL"].rstrip("/")
    brand = os.environ["PRODSHEETS_BRAND"]
    headers = {"Authorization": f"Bearer {os.environ['PRODSHEETS_TOKEN']}"}
    args.out.mkdir(parents=True, exist_ok=True)
    downloads = Path(tempfile.mkdtemp(prefix="baseline-"))
    start = time.perf_counter()
    orders, offset = [], 0
    while len(orders) < args.orders:
        params = {"sortKey": "orderId", "sortOrder": "ascending", "count": 25}
        if offset:
            params["lastIndex"] = offset
        page = requests.get(
            f"{base}/brands/{brand}/orders", headers=headers, params=params, timeout=30
        ).json()
        if not page["results"]:
            break
        orders.extend(page["results"])
        offset += len(page["results"])
    orders = orders[: args.orders]
    css = (templates_dir() / "ticket.css").read_text()
    font_css = "".join(
        f'@font-face {{ font-family: "{f}"; font-weight: {w}; '
        f'src: url("{(fonts_dir() / n).as_uri()}"); }}'
        for f, w, n in FONT_FACES
    )
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates_dir())), autoescape=True)
    env.filters["basename"] = lambda url: str(url).rsplit("/", 1)[-1]
    env.globals["textattrs"] = text_attrs
    template = env.get_template("ticket.html")
    items = 0
    helper = Renderer()  # only for its template-context builder; rendering below is naive
    for raw in orders:
        order = Order.from_json(raw)
        ticket_items = []
        for k, item in enumerate(order.items, 1):
            design = Design.from_json(
                requests.get(
                    f"{base}/brands/{brand}/designs/{item.design_api_id}",
                    headers=headers,
                    timeout=30,
                ).json()
            )
            image = _download(design.design_image.url, downloads) if design.design_image else None
            entries = [
                EntryView(
                    e.key,
                    e.value,
                    e.option_id,
                    e.choice_id,
                    kind=e.kind,
                    is_image=e.is_image_url,
                    image=_download(e.value, downloads) if e.is_image_url else None,
                )
                for e in design.production_data
            ]
            logos = [
                LogoItem(
                    number=n,
                    names=[lg.name],
                    filename=lg.image.display_name,
                    url=lg.image.url,
                    image=_download(lg.image.url, downloads),
                )
                for n, lg in enumerate(design.logos, 1)
            ]
            qr = qr_text(
                DEFAULT_QR_TEMPLATE,
                {
                    "order_id": order.api_id,
                    "item": k,
                    "design_id": design.api_id,
                    "order_number": "",
                    "order_name": "",
                    "items": "",
                    "quantity": "",
                    "design_number": "",
                    "brand": "",
                    "version": "",
                },
            )
            ticket_items.append(
                TicketItem(
                    index=k,
                    count=len(order.items),
                    quantity=item.quantity,
                    raw_quantity=item.quantity,
                    design=design,
                    design_problem=None,
                    design_image=image,
                    design_image_problem=None,
                    entries=entries,
                    logos=logos,
                    texts=design.texts,
                    qr_text=qr,
                )
            )
        ticket = Ticket(order, brand, ticket_items, generated_at=_now())
        context = helper.context(ticket)
        html = template.render(**context)
        stylesheet = weasyprint.CSS(string=font_css + "@page { size: A4; }" + css)
        weasyprint.HTML(string=html, base_url=str(templates_dir())).write_pdf(
            args.out / f"order-{order.number}.pdf", stylesheets=[stylesheet]
        )
        items += len(order.items)
    wall = time.perf_counter() - start
    print(json.dumps({"orders": len(orders), "items": items, "wall": wall}))


def _download(url: str, folder: Path) -> PreparedImage:
    body = requests.get(url, timeout=30).content
    path = folder / f"{abs(hash(url))}-{url.rsplit('/', 1)[-1]}"
    path.write_bytes(body)
    return PreparedImage(
        url=url,
        path=path,
        width=0,
        height=0,
        source_width=0,
        source_height=0,
        dpi=300.0,
        low_res=False,
        mime="image/png",
    )


def _now():
    from datetime import datetime

    return datetime.now(UTC)


if __name__ == "__main__":
    main()
