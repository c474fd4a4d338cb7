"""`prodsheets check`: scan a printed ticket's QR code, learn whether it is current."""

from __future__ import annotations

import copy
from pathlib import Path

import pdfcheck

ORDER_1004 = "5e69254b7148411680000004"
WATCH = "5e74283608310f0017000003"


def printed_codes(cli, tmp_path, *options: str) -> list[str]:
    """Print #1004 and read its QR codes back from a 200 dpi raster, as a scanner would."""
    result = cli("order", "1004", "-o", str(tmp_path / "t"), *options)
    assert result.exit_code == 0, result.stderr
    return [c for page in pdfcheck.qr_codes(Path(result.stdout.strip())) for c in page]


def test_current_then_out_of_date_after_the_order_changes(sandbox, env_for, cli, tmp_path):
    env_for(sandbox)
    first, second = printed_codes(cli, tmp_path)
    result = cli("check", second)
    assert (result.exit_code, result.stdout) == (0, "current: #1004 item 2 of 2\n")

    order = copy.deepcopy(sandbox.orders_by_id[ORDER_1004])
    order["items"][1]["quantity"] = 5
    sandbox.replace_order(order)
    design = copy.deepcopy(sandbox.designs_by_id[WATCH])
    key = design["productionData"][0]["key"]
    design["productionData"][0]["value"] = "Rose gold"
    sandbox.replace_design(design)
    result = cli("check", second)
    assert result.exit_code == 3
    assert result.stdout == (
        f"out of date: #1004 item 2 of 2 changed quantity, {key}; print the new ticket\n"
    )
    assert cli("check", first).exit_code == 0  # item 1 is unchanged: its paper is good


def test_station_url_codes(sandbox, env_for, cli, tmp_path):
    env_for(sandbox)
    template = "http://station.local:8080/scan/{order_id}/{item}/{version}"
    codes = printed_codes(cli, tmp_path, "--qr-template", template)
    assert codes[0].startswith(f"http://station.local:8080/scan/{ORDER_1004}/1/")
    result = cli("check", codes[0])
    assert (result.exit_code, result.stdout) == (0, "current: #1004 item 1 of 2\n")


def test_cannot_tell(sandbox, env_for, cli):
    env_for(sandbox)
    not_ours = cli("check", "WIFI:S:workshop;T:WPA;P:secret;;")
    assert not_ours.exit_code == 1 and "is not a prodsheets ticket code" in not_ours.stderr
    unknown = cli("check", f"prodsheets:order={'f' * 24};item=1;design={WATCH};v=00000000")
    assert unknown.exit_code == 1 and "not found" in unknown.stderr
    old = cli("check", f"prodsheets:order={ORDER_1004};item=1;design={WATCH}")
    assert old.exit_code == 1 and "carries no version" in old.stderr
    assert unknown.stdout == old.stdout == ""
