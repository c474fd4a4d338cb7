"""Asset download and checks: allowed hosts only, caps, real images, the cache."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageCms

from prodsheets.assets import DESIGN, LOGO, AssetPolicy, AssetStore, prepare_image
from prodsheets.errors import AssetError

from images import bomb_png, jpeg, png


def store_for(tmp_path, *origins: str, **policy) -> AssetStore:
    return AssetStore(tmp_path / "cache", AssetPolicy(origins=origins, **policy))


def test_fetches_prepares_and_caches(shared_sandbox, tmp_path):
    store = store_for(tmp_path, shared_sandbox.url)
    url = f"{shared_sandbox.url}/cdn/acme-custom/logo-acme-team.png"
    first = store.get(url, LOGO)
    assert first.path.is_file()
    assert first.mime == "image/png"
    assert (first.source_width, first.source_height) == (800, 800)
    assert not first.low_res
    before = shared_sandbox.hits["/cdn/acme-custom/logo-acme-team.png"]
    again = AssetStore(tmp_path / "cache", store.policy).get(url, LOGO)
    assert again == first
    assert shared_sandbox.hits["/cdn/acme-custom/logo-acme-team.png"] == before  # no download


def test_concurrent_fetch_many_reports_each(shared_sandbox, tmp_path):
    store = store_for(tmp_path, shared_sandbox.url)
    base = f"{shared_sandbox.url}/cdn/acme-custom/"
    results = store.fetch_many(
        [
            (base + "watch-gold.png", DESIGN),
            (base + "logo-bakery.png", LOGO),
            (base + "missing.png", LOGO),
            (base + "watch-gold.png", DESIGN),
        ]
    )
    assert len(results) == 3
    design = results[(base + "watch-gold.png", "design")]
    assert design.mime == "image/jpeg"  # photos are stored as JPEG: cheap for WeasyPrint
    assert "HTTP 404" in str(results[(base + "missing.png", "logo")])


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://evil.example.com/logo.png", "not an allowed asset host"),
        ("https://cdn1.mczr.co.evil.com/logo.png", "not an allowed asset host"),
        ("file:///etc/passwd", "file URLs are never fetched"),
        ("ftp://cdn1.mczr.co/x.png", "ftp URLs are never fetched"),
        ("http://10.0.0.1/x.png", "not an allowed asset host"),
        ("http://169.254.169.254/latest/meta-data", "not an allowed asset host"),
        ("https://cdn1.mczr.co:8443/x.png", "not an allowed asset host"),
        ("/relative/x.png", "never fetched"),
    ],
)
def test_refused_urls_never_leave_the_machine(tmp_path, url, reason):
    with pytest.raises(AssetError, match=reason):
        store_for(tmp_path).get(url, LOGO)


def test_allowed_patterns():
    policy = AssetPolicy()
    policy.check("https://cdn1.mczr.co/a.png")
    policy.check("https://cdnv2.mycustomizer.com/a.png")
    policy.check("http://mczr.co/a.png")


def test_private_and_loopback_listeners_are_never_contacted(shared_sandbox, tmp_path, listener):
    store = store_for(tmp_path, shared_sandbox.url)
    port = listener.url.rsplit(":", 1)[1]
    for url in (
        f"{listener.url}/logo.png",
        f"http://localhost:{port}/logo.png",
        f"http://127.0.0.2:{port}/logo.png",
    ):
        with pytest.raises(AssetError):
            store.get(url, LOGO)
    assert listener.total_hits == 0


def test_redirect_to_another_host_is_refused(routes, listener, tmp_path):
    routes.routes["/logo.png"] = (302, {"Location": f"{listener.url}/logo.png"}, b"")
    with pytest.raises(AssetError, match="redirect refused"):
        store_for(tmp_path, routes.url).get(f"{routes.url}/logo.png", LOGO)
    assert routes.hits["/logo.png"] == 1
    assert listener.total_hits == 0


def test_redirect_within_allowed_origin_is_followed(routes, tmp_path):
    routes.routes["/old.png"] = (301, {"Location": "/new.png"}, b"")
    routes.routes["/new.png"] = (200, {"Content-Type": "image/png"}, png())
    image = store_for(tmp_path, routes.url).get(f"{routes.url}/old.png", LOGO)
    assert image.source_width == 200


def test_size_cap_by_header_and_by_stream(routes, tmp_path):
    big = b"\0" * 5000
    routes.routes["/big.png"] = (200, {}, big)
    store = store_for(tmp_path, routes.url, max_bytes=1000)
    with pytest.raises(AssetError, match="too large"):
        store.get(f"{routes.url}/big.png", LOGO)
    # A server that lies about (or omits) Content-Length is cut off while streaming.
    routes.routes["/liar.png"] = (200, {"Content-Length": "10", "Connection": "close"}, big)
    with pytest.raises(AssetError):
        store.get(f"{routes.url}/liar.png", LOGO)


def test_not_an_image_bomb_and_damage(routes, tmp_path):
    routes.routes["/text.png"] = (200, {}, b"<html>not an image</html>")
    routes.routes["/bomb.png"] = (200, {}, bomb_png())
    routes.routes["/cut.png"] = (200, {}, png((400, 400))[:200])
    routes.routes["/logo.svg"] = (200, {}, b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    store = store_for(tmp_path, routes.url)
    with pytest.raises(AssetError, match="not an image"):
        store.get(f"{routes.url}/text.png", LOGO)
    with pytest.raises(AssetError, match="decompression bomb"):
        store.get(f"{routes.url}/bomb.png", LOGO)
    with pytest.raises(AssetError, match="damaged"):
        store.get(f"{routes.url}/cut.png", LOGO)
    with pytest.raises(AssetError, match="not an image"):
        store.get(f"{routes.url}/logo.svg", LOGO)


def test_format_allow_list():
    buf = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buf, "BMP")
    with pytest.raises(AssetError, match="format BMP is not allowed"):
        prepare_image(buf.getvalue(), LOGO)


def test_downscaled_to_300_dpi_at_print_size():
    data, info = prepare_image(jpeg((6000, 4000)), DESIGN)
    box_w, box_h = DESIGN.box_mm
    printed_width_mm = 6000 * min(box_w / 6000, box_h / 4000)
    assert info["width"] == round(printed_width_mm / 25.4 * 300)
    assert info["height"] == round(info["width"] * 4000 / 6000)
    assert Image.open(io.BytesIO(data)).size == (info["width"], info["height"])


def test_low_res_logo_is_flagged_not_refused():
    _, info = prepare_image(png((64, 64)), LOGO)
    assert info["low_res"] is True and info["dpi"] < 150
    _, info = prepare_image(png((600, 600)), LOGO)
    assert info["low_res"] is False


def test_converted_to_srgb():
    cmyk = jpeg((100, 100), mode="CMYK")
    data, _ = prepare_image(cmyk, DESIGN)
    assert Image.open(io.BytesIO(data)).mode == "RGB"
    # An image with an embedded (non-sRGB) profile comes out as plain sRGB RGB.
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB"))
    lab_tagged = jpeg((50, 50), icc_profile=profile.tobytes())
    data, _ = prepare_image(lab_tagged, LOGO)
    assert Image.open(io.BytesIO(data)).mode in ("RGB", "RGBA")


def test_transparent_design_image_flattened_on_white():
    data, info = prepare_image(png((100, 100), colour=(0, 0, 0, 0)), DESIGN)
    image = Image.open(io.BytesIO(data))
    assert info["mime"] == "image/jpeg"
    assert image.getpixel((50, 50))[0] > 240
