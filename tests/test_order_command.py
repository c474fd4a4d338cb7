"""`prodsheets order` end to end against the sandbox: the PDFs a worker holds."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from prodsheets.sandbox import DEFAULT_TOKEN

import pdfcheck
from images import bomb_png

ORDER_1001_ID = "5e69254b714841168b8d9825"
GUITAR_DESIGN_ID = "5e74283608310f001714de63"


def pdf_paths(result) -> list[Path]:
    return [Path(line) for line in result.stdout.splitlines() if line.strip()]


def basename(url: str) -> str:
    return url.rsplit("/", 1)[-1]


@pytest.fixture(scope="module")
def sample_tickets(tmp_path_factory, sample_data, sample_orders):
    """Every sample order printed once, shared by the content tests below."""
    from click.testing import CliRunner

    from prodsheets.cli import main
    from prodsheets.sandbox import DEFAULT_BRAND, Sandbox

    out = tmp_path_factory.mktemp("tickets")
    with Sandbox(copy.deepcopy(sample_data)) as server:
        env = {
            "PRODSHEETS_API_URL": server.url,
            "PRODSHEETS_BRAND": DEFAULT_BRAND,
            "PRODSHEETS_TOKEN": DEFAULT_TOKEN,
            "PRODSHEETS_CACHE_DIR": str(out / "cache"),
        }
        refs = [str(o["orderId"]) for o in sample_orders]
        result = CliRunner().invoke(
            main, ["order", *refs, "-o", str(out / "pdf")], env=env, catch_exceptions=False
        )
    return result, {
        o["orderId"]: out / "pdf" / f"order-{o['eCommerceOrderName'].lstrip('#')}.pdf"
        for o in sample_orders
    }


def test_all_sample_orders_print_complete(sample_tickets, sample_orders):
    result, paths = sample_tickets
    assert result.exit_code == 0, result.stderr
    assert pdf_paths(result) == [paths[o["orderId"]] for o in sample_orders]
    assert "INCOMPLETE" not in result.stderr
    for path in paths.values():
        assert path.is_file()
    leftovers = [p.name for p in paths[1001].parent.iterdir() if not p.name.endswith(".pdf")]
    assert leftovers == []


@pytest.mark.parametrize("order_index", range(13))
def test_ticket_shows_everything_ordered(
    sample_tickets, sample_orders, sample_designs, order_index
):
    _, paths = sample_tickets
    order = sample_orders[order_index]
    path = paths[order["orderId"]]
    text = pdfcheck.text(path)
    flat = pdfcheck.compact(text)
    assert order["eCommerceOrderName"] in text
    assert str(order["orderId"]) in text
    pages = pdfcheck.page_texts(path)
    assert len(pages) >= len(order["items"])
    codes = pdfcheck.qr_codes(path)
    decoded = [c for page in codes for c in page]
    n = len(order["items"])
    for k, item in enumerate(order["items"], 1):
        design = sample_designs[item["design"]]
        assert f"Qty {item['quantity']}" in text
        assert f"Item {k} of {n}" in text
        assert design["productName"] in text
        for entry in design["productionData"]:
            assert pdfcheck.compact(entry["key"]) in flat
            value = entry["value"]
            shown = basename(value) if value.startswith("https://") else value
            assert pdfcheck.compact(shown) in flat, (entry["key"], shown)
        for choice in design["configuration"].values():
            if isinstance(choice, dict) and choice.get("type") == "text":
                for view in choice["views"]:
                    assert pdfcheck.compact(view["text"]) in flat
        payload = re.compile(
            rf"prodsheets:order={order['_id']};item={k};design={design['_id']};v=[0-9a-f]{{8}}"
        )
        matches = [c for c in decoded if payload.fullmatch(c)]
        assert len(matches) == 1, f"QR for item {k} not decoded from a 200 dpi scan"


def test_each_item_starts_a_page_and_headers_repeat(sample_tickets):
    _, paths = sample_tickets
    pages = pdfcheck.page_texts(paths[1003])  # three items
    firsts = [i for i, page in enumerate(pages) if "Production data" in page]
    assert len(firsts) == 3
    for k, index in enumerate(firsts, 1):
        assert f"Item {k} of 3" in pages[index]
    sneaker = pdfcheck.page_texts(paths[1005])  # 44 production entries
    assert len(sneaker) >= 2
    for page in sneaker:
        assert "#1005" in page and "Qty 1" in page and "Item 1 of 1" in page
    assert f"Page {len(sneaker)} of {len(sneaker)}" in sneaker[-1]


def test_custom_text_printed_verbatim(sample_tickets):
    _, paths = sample_tickets
    raw = pdfcheck.raw_text(paths[1004])
    assert "  José  Núñez  " in raw  # spaces, case and accents as typed
    greek = pdfcheck.text(paths[1006])
    assert "Καλή χρονιά, Νίκο!" in greek
    assert "С днём рождения, Аня" in greek
    assert "Für Amélie — ♥ 12.06.2026" in pdfcheck.text(paths[1002])


def test_markup_and_template_syntax_print_as_text(sample_tickets):
    _, paths = sample_tickets
    text = pdfcheck.text(paths[1007])
    assert "<b>not bold</b> & {{ 7*7 }} {% raw %}" in text
    assert "<script>alert('x')</script> Bread & {{ butter }}" in text
    assert "49" not in re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d", "", text)  # not the clock


def test_all_fonts_embedded(sample_tickets):
    _, paths = sample_tickets
    for path in paths.values():
        fonts = pdfcheck.fonts(path)
        assert fonts and all(fonts.values()), (path, fonts)


def test_low_res_logo_is_a_warning_not_a_failure(sample_tickets):
    result, paths = sample_tickets
    assert "LOW-RES" in pdfcheck.text(paths[1007])
    assert "'Bakery logo' is LOW-RES" in result.stderr


@pytest.mark.parametrize(
    ("size", "mm"),
    [
        ("A4", (210.0, 297.0)),
        ("Letter", (215.9, 279.4)),
        ("A5", (148.0, 210.0)),
    ],
)
def test_page_sizes(shared_sandbox, env_for, cli, tmp_path, size, mm):
    env_for(shared_sandbox)
    result = cli("order", "1003", "-o", str(tmp_path), "--page-size", size)
    assert result.exit_code == 0, result.stderr
    path = pdf_paths(result)[0]
    assert set(pdfcheck.page_sizes_mm(path)) == {mm}
    decoded = [c for page in pdfcheck.qr_codes(path) for c in page]
    assert len(decoded) == 3
    text = pdfcheck.text(path)
    assert "Qty 5" in text and "ÉQUIPE DES CRÉATEURS" in text
    assert "Brand acme-custom" in text and "Product Custom T-Shirt" in text  # not one letter a line
    assert pdfcheck.page_count(path) <= 6


def test_label_has_the_essentials_and_the_rest_follows(shared_sandbox, env_for, cli, tmp_path):
    """4x6 in: each item's label page holds what a box needs; its details follow it."""
    env_for(shared_sandbox)
    result = cli("order", "1003", "-o", str(tmp_path), "--page-size", "4x6in")
    assert result.exit_code == 0, result.stderr
    path = pdf_paths(result)[0]
    assert set(pdfcheck.page_sizes_mm(path)) == {(101.6, 152.4)}
    pages = [pdfcheck.squash(p) for p in pdfcheck.page_texts(path)]
    labels = [n for n, page in enumerate(pages) if "Production details on the next page" in page]
    assert len(labels) == 3 and len(pages) == 6  # label + one continuation per item
    codes = pdfcheck.qr_codes(path)
    for k, (n, qty) in enumerate(zip(labels, (5, 3, 1), strict=True), 1):
        label = pages[n]
        assert label.startswith(f"#1003 Item {k} of 3 Qty {qty} Custom T-Shirt")
        assert "acme-custom · 2026-11-21 11:30 UTC" in label
        assert len(codes[n]) == 1  # the QR code is on the label
        rest = pages[n + 1]
        assert f"#1003 Item {k} of 3 Qty {qty}" in rest and "Production data" in rest
    assert "ÉQUIPE DES CRÉATEURS" in pages[labels[2] + 1]


def test_order_by_id_number_and_name(shared_sandbox, env_for, cli, tmp_path):
    env_for(shared_sandbox)
    by_id = cli("order", "5e69254b714841168000000008", "-o", str(tmp_path / "a"))
    assert by_id.exit_code == 1  # 26 hex characters: not an id, not a name
    outputs = []
    for ref in ("5e69254b7148411680000008", "1008", "#W-2041"):
        result = cli("order", ref, "-o", str(tmp_path / ref.strip("#")))
        assert result.exit_code == 0, result.stderr
        (path,) = pdf_paths(result)
        assert path.name == "order-W-2041.pdf"
        outputs.append(pdfcheck.qr_codes(path))
    assert outputs[0] == outputs[1] == outputs[2]


def test_errors_exit_1_without_pdf_or_traceback(sandbox, env_for, cli, tmp_path):
    env_for(sandbox)
    out = tmp_path / "out"
    result = cli("order", "424242", "-o", str(out))
    assert result.exit_code == 1
    assert "no order with orderId 424242" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    result = cli("order", "#nope", "-o", str(out))
    assert result.exit_code == 1 and "no order named '#nope'" in result.stderr
    result = cli("--token", "wrong", "order", "1001", "-o", str(out))
    assert result.exit_code == 1 and "refused the token" in result.stderr
    result = cli("--brand", "acme-typo", "order", "1001", "-o", str(out))
    assert result.exit_code == 1 and "does not know the brand 'acme-typo'" in result.stderr
    assert not out.exists() or list(out.iterdir()) == []


def test_usage_errors_exit_2(cli):
    assert cli("order").exit_code == 2
    assert cli("order", "1001", "--page-size", "A3").exit_code == 2


def test_missing_config_is_one_line(cli, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for var in ("PRODSHEETS_BRAND", "PRODSHEETS_TOKEN", "PRODSHEETS_API_URL"):
        monkeypatch.delenv(var, raising=False)
    result = cli("order", "1001")
    assert result.exit_code == 1
    assert result.stderr.strip().count("\n") == 0
    assert "PRODSHEETS_BRAND" in result.stderr


def test_a_design_that_does_not_exist_still_prints_the_other_items(sandbox, env_for, cli, tmp_path):
    env_for(sandbox)
    order = copy.deepcopy(sandbox.orders_by_id[ORDER_1001_ID])
    order["items"].append({"quantity": 2, "design": "ffffffffffffffffffffffff"})
    sandbox.replace_order(order)
    result = cli("order", "1001", "-o", str(tmp_path))
    assert result.exit_code == 3, result.stderr
    (path,) = pdf_paths(result)
    pages = pdfcheck.page_texts(path)
    first = pdfcheck.squash(" ".join(p for p in pages if "Item 1 of 2" in p))
    second = pdfcheck.squash(" ".join(p for p in pages if "Item 2 of 2" in p))
    assert "Bright Red" in first and "INCOMPLETE" in first  # printed, flagged for item 2
    assert "DESIGN MISSING" in second and "Qty 2" in second
    assert "design ffffffffffffffffffffffff does not exist" in second
    assert "item 2 of 2: design missing: design ffffffffffffffffffffffff does not exist" in (
        result.stderr
    )


def test_a_ref_must_name_an_order(shared_sandbox, env_for, cli, tmp_path):
    env_for(shared_sandbox)
    for ref in ("", "#", "   "):
        result = cli("order", ref, "-o", str(tmp_path))
        assert result.exit_code == 2, ref
        assert "does not name an order" in result.stderr
    assert list(tmp_path.glob("*.pdf")) == []


def test_several_refs_some_failing(shared_sandbox, env_for, cli, tmp_path):
    env_for(shared_sandbox)
    result = cli("order", "1001", "424242", "#nope", "1002", "-o", str(tmp_path))
    assert result.exit_code == 3
    assert [p.name for p in pdf_paths(result)] == ["order-1001.pdf", "order-1002.pdf"]
    assert "Error: 424242: no order with orderId 424242" in result.stderr
    assert "Error: #nope: no order named '#nope'" in result.stderr
    nothing = cli("order", "424242", "424243", "-o", str(tmp_path / "none"))
    assert nothing.exit_code == 1 and nothing.stdout == ""


def test_weasyprint_speaks_only_with_vv(sandbox, env_for, cli, tmp_path):
    env_for(sandbox)
    design = copy.deepcopy(sandbox.data.designs[0])
    design["configuration"]["OPTION-1xy6ba"] = {
        "type": "text", "name": "Engraving", "views": [{"type": "text", "text": "\U000F0042"}],
    }  # fmt: skip
    sandbox.replace_design(design)
    quiet = cli("order", "1001", "-o", str(tmp_path))
    loud = cli("-vv", "order", "1001", "-o", str(tmp_path))
    assert quiet.exit_code == loud.exit_code == 3
    assert "WARNING weasyprint" not in quiet.stderr and "U+F0042" in quiet.stderr
    assert "WARNING weasyprint" in loud.stderr


def _break_assets(sandbox, listener) -> None:
    """Point the guitar design's assets at every kind of trouble."""
    design = copy.deepcopy(sandbox.data.designs[0])
    assert design["_id"] == GUITAR_DESIGN_ID
    sandbox.data.assets.update({
        "bomb.png": bomb_png(),
        "notimage.png": b"%PDF-1.4 not an image",
        "huge.png": b"\0" * (26 * 1024 * 1024),
    })  # fmt: skip
    cdn = "https://cdn1.mczr.co/acme-custom/"
    design["designImage"]["url"] = cdn + "missing.png"
    design["designImages"] = [design["designImage"]]
    design["productionData"][4]["value"] = cdn + "bomb.png"
    design["productionData"].append({"key": "Back logo", "value": f"{listener.url}/spy.png"})
    design["productionData"].append(
        {"key": "Sleeve logo", "value": "https://evil.example.com/x.png"}
    )
    logo_option = design["configuration"]["OPTION-L00000"]
    logo_option["views"][0]["logo"]["url"] = cdn + "notimage.png"
    design["configuration"]["OPTION-EXTRA"] = {
        "type": "logo", "name": "Huge logo",
        "views": [{"type": "logo", "logo": {"url": cdn + "huge.png", "_id": "h"}}],
    }  # fmt: skip
    design["configuration"]["OPTION-FILE"] = {
        "type": "logo", "name": "Local logo",
        "views": [{"type": "logo", "logo": {"url": "file:///etc/passwd", "_id": "f"}}],
    }  # fmt: skip
    sandbox.replace_design(design)


def test_broken_assets_make_an_incomplete_ticket(sandbox, env_for, cli, tmp_path, listener):
    env_for(sandbox)
    _break_assets(sandbox, listener)
    result = cli("order", "1001", "-o", str(tmp_path))
    assert result.exit_code == 3, result.stderr
    (path,) = pdf_paths(result)
    text = pdfcheck.text(path)
    assert "INCOMPLETE" in text
    assert "DESIGN IMAGE MISSING" in text and "HTTP 404" in text
    assert "decompression bomb" in text
    assert "not an image" in text
    assert "too large" in text
    assert "not an allowed asset host" in text
    assert "file URLs are never fetched" in text
    for reason in (
        "HTTP 404",
        "decompression bomb",
        "not an image",
        "too large",
        "evil.example.com",
        "file URLs are never fetched",
    ):
        assert reason in result.stderr
    # Everything that could be printed still is.
    assert "Bright Red" in text and "Your text" in text
    assert listener.total_hits == 0


def test_character_no_font_has_is_reported(sandbox, env_for, cli, tmp_path):
    env_for(sandbox)
    design = copy.deepcopy(sandbox.data.designs[0])
    design["configuration"]["OPTION-1xy6ba"] = {
        "type": "text", "name": "Engraving",
        "views": [{"type": "text", "text": "Pharaoh \U000F0042 rules"}],
    }  # fmt: skip
    sandbox.replace_design(design)
    result = cli("order", "1001", "-o", str(tmp_path))
    assert result.exit_code == 3
    assert "U+F0042" in result.stderr and "custom text 'Engraving'" in result.stderr
    text = pdfcheck.text(pdf_paths(result)[0])
    assert "INCOMPLETE" in text and "U+F0042" in text


def test_missing_quantity_is_incomplete_not_guessed(sandbox, env_for, cli, tmp_path):
    env_for(sandbox)
    order = copy.deepcopy(sandbox.orders_by_id[ORDER_1001_ID])
    order["items"][0]["quantity"] = None
    sandbox.replace_order(order)
    result = cli("order", "1001", "-o", str(tmp_path))
    assert result.exit_code == 3
    text = pdfcheck.text(pdf_paths(result)[0])
    assert "Qty ?" in text and "quantity missing" in text


def test_html_is_self_contained(shared_sandbox, env_for, cli, tmp_path):
    env_for(shared_sandbox)
    result = cli("order", "1007", "-o", str(tmp_path), "--html")
    assert result.exit_code == 0
    html = (tmp_path / "order-1007.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Bread &amp; {{ butter }}" in html
    assert "<script>" not in html
    assert re.findall(r'(?:src|href)="(?!data:)[^"]*"', html) == []
    assert 'url("file:' not in html and "@font-face" in html


def test_template_override_and_qr_template(shared_sandbox, env_for, cli, tmp_path):
    env_for(shared_sandbox)
    custom = tmp_path / "brand-templates"
    custom.mkdir()
    (custom / "ticket.html").write_text(
        "<html><body>{% for item in items %}<section>"
        "<h1>ACME WORKS {{ order.label }} item {{ item.index }}/{{ item.count }}</h1>"
        "<p>Qty {{ item.quantity }}</p><img class='qr' src='{{ item.qr_src }}'>"
        "{% for e in item.entries %}<p>{{ e.key }} = {{ e.value }}</p>{% endfor %}"
        "</section>{% endfor %}</body></html>"
    )
    result = cli(
        "order",
        "1001",
        "-o",
        str(tmp_path),
        "--template-dir",
        str(custom),
        "--qr-template",
        "{order_name}/{item}/{design_number}",
    )
    assert result.exit_code == 0, result.stderr
    path = pdf_paths(result)[0]
    text = pdfcheck.text(path)
    assert "ACME WORKS #1001 item 1/1" in text and "Body material = Bright Red" in text
    assert pdfcheck.qr_codes(path) == [["#1001/1/2"]]
    bad = cli("order", "1001", "-o", str(tmp_path), "--qr-template", "{order_id.__class__}")
    assert bad.exit_code == 1 and "invalid QR template" in bad.stderr


def test_render_offline_from_saved_json(shared_sandbox, env_for, cli, tmp_path, monkeypatch):
    import requests

    env_for(shared_sandbox)
    headers = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
    base = f"{shared_sandbox.url}/brands/acme-custom"
    order = requests.get(f"{base}/orders/{ORDER_1001_ID}", headers=headers, timeout=5).json()
    designs = requests.get(f"{base}/designs", headers=headers, timeout=5).json()
    (tmp_path / "order.json").write_text(json.dumps(order))
    (tmp_path / "designs.json").write_text(json.dumps(designs))
    monkeypatch.delenv("PRODSHEETS_TOKEN")
    monkeypatch.setenv("PRODSHEETS_ASSET_HOSTS", shared_sandbox.url.split("//")[1])
    result = cli(
        "render", "order.json", "--designs", "designs.json", "-o", "out", "--brand", "acme"
    )
    assert result.exit_code == 0, result.stderr
    path = pdf_paths(result)[0]
    assert "Bright Red" in pdfcheck.text(path)
    (code,) = pdfcheck.qr_codes(path)[0]
    assert code.startswith(f"prodsheets:order={ORDER_1001_ID};item=1;design={GUITAR_DESIGN_ID};v=")
    (tmp_path / "broken.json").write_text("{not json")
    broken = cli("render", "broken.json", "--designs", "designs.json")
    assert broken.exit_code == 1 and "not valid JSON" in broken.stderr


def test_real_process_no_traceback_no_token(shared_sandbox, tmp_path):
    """As a user runs it: a failing command prints one line, never the token."""
    secret = "tok-9f8e7d6c5b4a-never-print-me"
    env = {
        "PATH": "/usr/bin:/bin",
        "PRODSHEETS_API_URL": shared_sandbox.url,
        "PRODSHEETS_BRAND": "acme-custom",
        "PRODSHEETS_TOKEN": secret,
        "PRODSHEETS_CACHE_DIR": str(tmp_path / "cache"),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "prodsheets.cli", "-vv", "order", "1001", "-o", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "refused the token" in proc.stderr
    assert secret not in proc.stderr and secret not in proc.stdout


def test_sample_tickets_as_pictures_for_a_person(sample_tickets):
    """Every page of every sample ticket as a PNG under tests/artifacts/ (not committed),
    so a person can look at them; each must show something on white."""
    from PIL import Image, ImageStat

    _, paths = sample_tickets
    folder = Path(__file__).resolve().parent / "artifacts" / "samples"
    for old in folder.glob("*.png"):
        old.unlink()
    written = []
    for path in paths.values():
        if path.is_file():
            written += pdfcheck.save_pages_png(path, folder)
    assert len(written) >= len([p for p in paths.values() if p.is_file()])
    for png_path in written:
        with Image.open(png_path) as page:
            assert ImageStat.Stat(page.convert("L")).stddev[0] > 10, png_path  # not blank
