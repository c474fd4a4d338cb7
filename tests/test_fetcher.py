"""The local-only URL fetcher: WeasyPrint reads nothing but our folders and data: URLs."""

from __future__ import annotations

import base64

import pytest

from prodsheets.fetcher import LocalOnlyFetcher


@pytest.fixture
def roots(tmp_path):
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    (allowed / "logo.png").write_bytes(b"\x89PNG fake")
    (tmp_path / "secret.txt").write_text("not for the renderer")
    return allowed, tmp_path / "secret.txt"


def test_reads_files_below_its_roots(roots):
    allowed, _ = roots
    response = LocalOnlyFetcher([allowed]).fetch((allowed / "logo.png").as_uri())
    assert response.read() == b"\x89PNG fake"
    assert response.content_type == "image/png"


def test_refuses_files_outside_its_roots(roots):
    allowed, secret = roots
    fetcher = LocalOnlyFetcher([allowed])
    for url in (
        secret.as_uri(),
        (allowed / ".." / "secret.txt").as_uri(),
        "file:///etc/passwd",
    ):
        with pytest.raises(ValueError, match="outside the template, font and asset folders"):
            fetcher.fetch(url)


def test_refuses_a_symlink_out_of_its_roots(roots):
    allowed, secret = roots
    (allowed / "link.png").symlink_to(secret)
    with pytest.raises(ValueError, match="outside"):
        LocalOnlyFetcher([allowed]).fetch((allowed / "link.png").as_uri())


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:9/x.png", "https://cdn1.mczr.co/x.png", "ftp://example.com/x", "//x/y"],
)
def test_never_uses_the_network(roots, url, listener):
    allowed, _ = roots
    with pytest.raises(ValueError, match="never lets the renderer use the network"):
        LocalOnlyFetcher([allowed]).fetch(url.replace("127.0.0.1:9", listener.url[7:]))
    assert listener.total_hits == 0


def test_decodes_data_urls(roots):
    allowed, _ = roots
    fetcher = LocalOnlyFetcher([allowed])
    encoded = "data:image/png;base64," + base64.b64encode(b"\x89PNGbytes").decode()
    assert fetcher.fetch(encoded).read() == b"\x89PNGbytes"
    plain = fetcher.fetch("data:text/plain,caf%C3%A9")
    assert plain.read() == "café".encode() and plain.content_type == "text/plain"


def test_missing_file_is_a_refusal_not_a_crash(roots):
    allowed, _ = roots
    with pytest.raises(ValueError, match="cannot read"):
        LocalOnlyFetcher([allowed]).fetch((allowed / "gone.png").as_uri())
