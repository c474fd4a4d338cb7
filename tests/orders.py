"""Orders made for a test: one design, exactly the uploads and texts the test needs."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from prodsheets.sandbox import DEFAULT_BRAND, DEFAULT_TOKEN, Sandbox, SandboxData
from prodsheets.synthetic import design_record, order_record, product_image

CDN_LOGOS = "https://cdn1.mczr.co/acme-custom/"
CDN_DESIGNS = "https://cdnv2.mycustomizer.com/acme-custom/"
ORDER_ID = 9001


def one_design(
    *,
    entries=(("Colour", "Black"),),
    logos=(),
    texts=(),
    design_image: bytes | None = None,
    quantity: int = 1,
    order_name: str = "#9001",
    items: int = 1,
) -> SandboxData:
    """Order 9001: ``items`` items of one design. ``logos`` are (name, file name, bytes);
    an entry value ``logo:FILE`` becomes that logo's URL, as the API links them."""
    assets = {"design-9001.png": design_image or product_image("apparel", "Black", (900, 900))}
    assets |= {filename: data for _, filename, data in logos}
    entries = [(k, CDN_LOGOS + v[5:] if v.startswith("logo:") else v) for k, v in entries]
    design = design_record(
        design_id=ORDER_ID,
        mongo_id="9" * 24,
        product="Test Product",
        entries=entries,
        image_url=CDN_DESIGNS + "design-9001.png",
        logos=[(name, CDN_LOGOS + filename) for name, filename, _ in logos],
        texts=list(texts),
        created="2026-11-25T09:00:00.000Z",
    )
    order = order_record(
        order_id=ORDER_ID,
        mongo_id="a" * 24,
        name=order_name,
        items=[(quantity, "9" * 24)] * items,
        date="2026-11-26T08:00:00.000Z",
    )
    return SandboxData(orders=[order], designs=[design], assets=assets)


def print_once(data: SandboxData, out: Path, *args: str) -> tuple[Result, Path]:
    """`prodsheets order 9001` against a sandbox serving ``data``, outside any test's
    fixtures (for module-scoped ones): (result, pdf path)."""
    from prodsheets.cli import main

    with Sandbox(data) as server:
        env = {
            "PRODSHEETS_API_URL": server.url,
            "PRODSHEETS_BRAND": DEFAULT_BRAND,
            "PRODSHEETS_TOKEN": DEFAULT_TOKEN,
            "PRODSHEETS_CACHE_DIR": str(out / "cache"),
        }
        result = CliRunner().invoke(main, ["order", str(ORDER_ID), "-o", str(out), *args],
                                    env=env, catch_exceptions=False)  # fmt: skip
    return result, out / f"order-{ORDER_ID}.pdf"
