"""The runs page: the nightly batch's runs under --out, from their manifest.json."""

from __future__ import annotations

import json

from prodsheets.station.runs import RunState, read_run, run_folders

import pages
import pdfcheck
from stations import station_app

WATCH = "5e74283608310f0017000003"  # the design of #1002 and of #1004's second item


def test_real_runs_newest_first_with_what_needs_a_look_on_top(
    sandbox, env_for, cli, make_station, tmp_path
):
    env_for(sandbox)
    out, state = tmp_path / "out", tmp_path / "state.sqlite3"
    sandbox.data.assets.pop("logo-bakery.png")  # #1005: incomplete
    sandbox.inject(503, times=10**6, path_contains=f"/designs/{WATCH}")  # #1002, #1004: failed
    batch = ("batch", "--out", str(out), "--state", str(state), "--jobs", "1")
    assert cli(*batch, "--combined").exit_code == 3
    sandbox._injections.clear()
    assert cli(*batch).exit_code == 0  # the failed two are retried and printed
    first, second = sorted(p.name for p in out.iterdir() if p.name != "station")

    client = make_station(sandbox).test_client()
    page = pages.read(client.get("/runs").text)
    assert page.text.index(f" {second} acme-custom") < page.text.index(f" {first} acme-custom")
    newest, older = page.text.split(f" {first} acme-custom")
    assert "2 printed 0 incomplete 0 failed 9 unchanged" in newest.replace("finished,", "")
    assert "8 printed 1 incomplete 2 failed 0 unchanged" in older
    attention = older.split("Need a look")[1].split("other tickets")[0]
    assert attention.index("#1002 failed") < attention.index("#1004 failed")
    assert attention.index("#1004 failed") < attention.index("#1005 incomplete")
    assert f"the API failed on design {WATCH} (503" in attention
    assert "item 1 of 1: logo" in attention and "HTTP 404 from the server" in attention
    assert "8 other tickets" in older and "2 skipped" in older

    links = dict((text, href) for text, href in page.links if href.startswith("/runs/"))
    assert "#1002" not in [t for t, h in page.links if f"/{first}/" in h]  # failed: no PDF
    assert links["combined.pdf"] == f"/runs/{first}/combined.pdf"
    for label in ("#1005", "#1001"):
        href = next(h for t, h in page.links if t == label and f"/{first}/" in h)
        response = client.get(href)
        assert response.status_code == 200 and response.mimetype == "application/pdf"
        pdf = tmp_path / "got.pdf"
        pdf.write_bytes(response.data)
        assert label in pdfcheck.text(pdf)


def test_odd_manifests_are_shown_as_they_are(sandbox, make_station, tmp_path):
    out = tmp_path / "out"

    def run(name: str, manifest: str | dict) -> None:
        (out / name).mkdir(parents=True)
        text = manifest if isinstance(manifest, str) else json.dumps(manifest)
        (out / name / "manifest.json").write_text(text)

    run("2026-11-20", "{ not json")
    run("2026-11-21", {"brand": "acme-custom", "started_at": "2026-11-21T02:30:00+00:00",
                       "finished_at": None, "interrupted": True, "tickets": [
                           {"order_name": "#1", "status": "printed", "file": "../../etc/passwd"},
                           {"order_name": "#2", "status": "printed", "file": "gone.pdf"}],
                       "counts": {"printed": 2}})  # fmt: skip
    run("2026-11-22", {"started_at": "2026-11-22T02:30:00+00:00", "finished_at": None,
                       "error": "the API refused the token (401)", "tickets": []})  # fmt: skip
    run("2026-11-23", {"started_at": "2026-11-23T02:30:00+00:00", "finished_at": None})
    (out / "not-a-run").mkdir()
    page = pages.read(make_station(sandbox).test_client().get("/runs").text)
    text = page.text
    assert [f for f in ("2026-11-23", "2026-11-22", "2026-11-21", "2026-11-20")
            if f in text] == ["2026-11-23", "2026-11-22", "2026-11-21", "2026-11-20"]  # fmt: skip
    assert "2026-11-23 not finished (still running, or killed)" in text
    assert "stopped on an error, started 2026-11-22 02:30 UTC: the API refused the token" in text
    assert "2026-11-21 acme-custom interrupted" in text
    assert "#1 printed PDF not in this folder" in text and "#2 printed PDF not" in text
    assert "2026-11-20 manifest.json cannot be read" in text
    assert "not-a-run" not in text
    assert not [href for _, href in page.links if "passwd" in href or "gone" in href]


def test_many_runs_come_a_page_at_a_time(sandbox, make_station, tmp_path):
    out = tmp_path / "out"
    names = [f"2026-01-{d:02d}" for d in range(1, 13)] + ["2026-01-12-2", "2026-01-12-10"]
    for name in names:
        (out / name).mkdir(parents=True)
        (out / name / "manifest.json").write_text('{"tickets": [], "counts": {}}')
    assert run_folders(out)[:4] == ["2026-01-12-10", "2026-01-12-2", "2026-01-12", "2026-01-11"]
    client = make_station(sandbox).test_client()
    first = pages.read(client.get("/runs").text)
    assert first.text.count(" 2026-01-") == 10
    assert "2026-01-05" in first.text and "2026-01-04" not in first.text
    second = pages.read(client.get(first.link("Older runs")).text)
    assert second.text.count(" 2026-01-") == 4 and "2026-01-04" in second.text
    assert second.link("Newer runs") == "/runs?page=1"
    assert "Older runs" not in second.text
    assert "No more runs." in pages.read(client.get("/runs?page=9").text).text


def test_without_out_the_page_says_how_to_list_runs(sandbox, tmp_path):
    app, desk = station_app(sandbox, None, tmp_path / "cache")
    try:
        page = pages.read(app.test_client().get("/runs").text)
    finally:
        desk.close()
    assert "The station was started without --out" in page.text
    assert "prodsheets serve --out /srv/print" in page.text


def test_read_run_puts_failed_then_incomplete_first(tmp_path):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "a.pdf").write_bytes(b"%PDF")
    tickets = [{"order_name": n, "status": s, "file": "a.pdf" if s != "failed" else None,
                "problems": [f"{n} problem"] if s != "printed" else []}
               for n, s in [("#1", "printed"), ("#2", "incomplete"), ("#3", "failed"),
                            ("#4", "printed")]]  # fmt: skip
    (tmp_path / "r" / "manifest.json").write_text(
        json.dumps({"finished_at": "2026-11-26T02:31:02+00:00", "tickets": tickets})
    )
    run = read_run(tmp_path, "r")
    assert run.state is RunState.FINISHED
    assert [(t.label, t.pdf) for t in run.attention] == [("#3", None), ("#2", "r/a.pdf")]
    assert [t.label for t in run.others] == ["#1", "#4"]
    assert run.attention[1].problems == ("#2 problem",)
