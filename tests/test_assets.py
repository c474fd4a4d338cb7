"""Asset download and checks: allowed hosts only, caps, real images, the cache."""

from __future__ import annotations

import json

import pytest

from prodsheets.assets import AssetPolicy, AssetStore
from prodsheets.errors import AssetError
from prodsheets.images import DESIGN, LOGO, PREPARE_VERSION

from images import bomb_png, grey_ramp_16, jpeg, png


def store_for(tmp_path, *origins: str, **policy) -> AssetStore:
    return AssetStore(tmp_path / "cache", AssetPolicy(origins=origins, **policy))


def test_fetches_prepares_and_caches(shared_sandbox, tmp_path):
    store = store_for(tmp_path, shared_sandbox.url)
    url = f"{shared_sandbox.url}/cdn/acme-custom/logo-acme-team.png"
    first = store.get(url, LOGO)
    assert first.path.is_file()
    assert first.mime == "image/jpeg"  # its transparency drawn as a chequerboard
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
    assert design.mime == "image/png"  # a flat drawing keeps its edges (photos: JPEG)
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


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://cdn1.mczr.co/a.png", True),
        ("https://cdnv2.mycustomizer.com/a.png", True),
        ("http://mczr.co/a.png", True),
        ("https://mczr.co.evil.com/a.png", False),
        ("https://evilmczr.co/a.png", False),
        ("https://images.acme.example/a.png", False),
    ],
)
def test_allowed_patterns(url, allowed):
    def verdict(policy: AssetPolicy) -> bool:
        try:
            policy.check(url)
        except AssetError:
            return False
        return True

    assert verdict(AssetPolicy()) is allowed
    extra = AssetPolicy(host_patterns=("*.mczr.co", "*.mycustomizer.com", "images.acme.example"))
    assert verdict(extra) is (allowed or "acme.example/" in url)


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
    big = png((300, 300), mode="RGB") + b"\0" * 5000  # a real image, too big for the cap
    routes.routes["/big.png"] = (200, {}, big)
    store = store_for(tmp_path, routes.url, max_bytes=1000)
    with pytest.raises(AssetError, match=r"too large \(0 MB > 0 MB\)"):
        store.get(f"{routes.url}/big.png", LOGO)  # refused from Content-Length
    # A server that sends no Content-Length (chunked) is cut off while streaming.
    routes.routes["/chunked.png"] = (200, {"Transfer-Encoding": "chunked"}, big)
    with pytest.raises(AssetError, match=r"too large \(over 0 MB\)"):
        store.get(f"{routes.url}/chunked.png", LOGO)
    assert routes.hits["/chunked.png"] == 1


def test_transient_failures_are_retried_then_reported_as_transient(routes, tmp_path):
    routes.routes["/busy.png"] = (503, {}, b"busy")
    routes.routes["/gone.png"] = (404, {}, b"gone")
    sleeps: list[float] = []
    store = AssetStore(tmp_path / "cache", AssetPolicy(origins=(routes.url,)), sleep=sleeps.append)
    with pytest.raises(AssetError) as busy:
        store.get(f"{routes.url}/busy.png", LOGO)
    assert busy.value.transient and "HTTP 503" in str(busy.value)
    assert routes.hits["/busy.png"] == 3 and len(sleeps) == 2
    with pytest.raises(AssetError) as gone:
        store.get(f"{routes.url}/gone.png", LOGO)
    assert not gone.value.transient and routes.hits["/gone.png"] == 1


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
    svg = store.get(f"{routes.url}/logo.svg", LOGO)  # drawn by WeasyPrint, as vectors
    assert svg.vector and svg.mime == "image/svg+xml" and svg.path.suffix == ".svg"
    assert not svg.low_res and svg.problems == ()


def test_a_preparation_by_an_older_version_is_done_again(routes, tmp_path):
    """Version 1 printed 16-bit scans white: what it left in the cache must not be used."""
    routes.routes["/scan.png"] = (200, {}, grey_ramp_16())
    url = f"{routes.url}/scan.png"
    first = store_for(tmp_path, routes.url).get(url, LOGO)
    assert first.path.stem.endswith(f"-logo-v{PREPARE_VERSION}")
    # What version 1 would have left beside it: a white picture under the old name.
    stem = first.path.name.split("-logo-")[0] + "-logo"
    white = first.path.parent / f"{stem}.jpg"
    white.write_bytes(jpeg((10, 10)))
    record = {"file": white.name, "width": 10, "height": 10, "source_width": 512,
              "source_height": 64, "dpi": 406.4, "low_res": False}  # fmt: skip
    (first.path.parent / f"{stem}.json").write_text(json.dumps(record))
    # And a record of the current version that cannot be read: prepared again.
    first.path.with_suffix(".json").write_text(json.dumps({"file": first.path.name, "x": 1}))
    again = store_for(tmp_path, routes.url).get(url, LOGO)
    assert again == first and again.path != white
    assert routes.hits["/scan.png"] == 1  # from the cache's download, not the network
