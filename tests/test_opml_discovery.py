"""`feeds import` / `feeds export` (OPML 2.0, parsed with defusedxml) and `feeds add` finding a
site's feed from its home page, through the real CLI against a real local server."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import rss
from pytest_httpserver import HTTPServer

from monitor.cli import cli
from monitor.opml import read_opml

NESTED = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>my feeds</title></head>
  <body>
    <outline text="News">
      <outline text="Caucasus">
        <outline type="rss" text="OC Media" xmlUrl="https://oc-media.org/feed/" htmlUrl="https://oc-media.org/"/>
        <outline type="rss" text="Civil.ge" title="Civil Georgia" xmlUrl="https://civil.ge/feed"/>
      </outline>
      <outline type="rss" text="Meduza" xmlUrl="https://meduza.io/rss/en/all"/>
    </outline>
    <outline type="rss" text="Top level" xmlUrl="https://example.org/top.xml" category="/Tech/Web"/>
    <outline type="rss" text="Bad scheme" xmlUrl="javascript:alert(1)"/>
  </body>
</opml>
"""

BAD_FILES = {
    "not xml": (b"this is not xml at all", "not valid XML"),
    "empty": (b"", "not valid XML"),
    "html": (b"<html><body>hi</body></html>", "not an OPML file (root element is <html>)"),
    "no body": (b'<opml version="2.0"><head/></opml>', "not an OPML file (no <body>)"),
    "no feeds": (b'<opml version="2.0"><body><outline text="x"/></body></opml>', "no feeds in it"),
    "billion laughs": (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        b'<opml version="2.0"><body><outline text="&lol2;" xmlUrl="https://e.org/f"/></body></opml>',
        "refused: DTDForbidden",
    ),
    "external entity": (
        b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b'<opml version="2.0"><body><outline text="&xxe;" xmlUrl="https://e.org/f"/></body></opml>',
        "refused: DTDForbidden",
    ),
}


@pytest.fixture
def config(tmp_path: Path, httpserver: HTTPServer) -> Path:
    path = tmp_path / "monitor.toml"
    path.write_text(
        'database = "m.db"\n[fetch]\nallowed_networks = ["127.0.0.1"]\ntimeout = "5s"\n',
        encoding="utf-8",
    )
    return path


def run(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args])


# --- OPML ------------------------------------------------------------------------------------


def test_import_reads_nested_outlines_and_categories(config: Path, tmp_path: Path) -> None:
    opml = tmp_path / "feeds.opml"
    opml.write_bytes(NESTED)

    result = run(config, "feeds", "import", str(opml))

    assert result.exit_code == 0, result.output
    assert "imported 4 feeds" in result.output and "1 skipped" in result.output
    assert "skipped: Bad scheme: xmlUrl 'javascript:alert(1)' is not http(s)" in result.output
    again = run(config, "feeds", "import", str(opml))
    assert "imported 0 feeds" in again.output and "4 already present" in again.output
    listing = read_opml(NESTED, source="x")
    assert {f.url: f.category for f in listing.feeds} == {
        "https://oc-media.org/feed/": "News/Caucasus",
        "https://civil.ge/feed": "News/Caucasus",
        "https://meduza.io/rss/en/all": "News",
        "https://example.org/top.xml": "Tech/Web",
    }
    assert listing.feeds[1].title == "Civil Georgia"


def test_export_writes_opml_that_imports_back_the_same(config: Path, tmp_path: Path) -> None:
    opml = tmp_path / "feeds.opml"
    opml.write_bytes(NESTED)
    run(config, "feeds", "import", str(opml))

    exported = run(config, "feeds", "export")

    assert exported.exit_code == 0
    assert exported.output.startswith(
        "<?xml version='1.0' encoding='utf-8'?>\n<opml version=\"2.0\">"
    )
    back = read_opml(exported.output.encode("utf-8"), source="export")
    original = read_opml(NESTED, source="x")
    assert sorted((f.url, f.category, f.title) for f in back.feeds) == sorted(
        (f.url, f.category, f.title) for f in original.feeds
    )
    out = tmp_path / "out.opml"
    assert run(config, "feeds", "export", "-o", str(out)).exit_code == 0
    assert read_opml(out.read_bytes(), source="file").feeds == back.feeds


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_opml_files_give_one_line_errors(config: Path, tmp_path: Path, name: str) -> None:
    data, message = BAD_FILES[name]
    path = tmp_path / "bad.opml"
    path.write_bytes(data)

    result = run(config, "feeds", "import", str(path))

    assert result.exit_code == 2
    first = result.output.splitlines()[0]
    assert first.startswith(f"error: {path}: ") and message in first
    assert "lollol" not in result.output and "root:" not in result.output
    assert "imported" not in result.output


def test_import_of_a_missing_file(config: Path, tmp_path: Path) -> None:
    result = run(config, "feeds", "import", str(tmp_path / "nope.opml"))
    assert result.exit_code == 2
    assert "cannot read" in result.output


# --- discovery -------------------------------------------------------------------------------

FEED = rss([{"title": "One", "link": "http://127.0.0.1/1"}], title="The Outlet")


def home(links: str) -> bytes:
    return f"<!doctype html><html><head><title>Home</title>{links}</head><body><p>hi</p></body></html>".encode()


def add_from_home(config: Path, httpserver: HTTPServer, links: str) -> Result:
    """`feeds add` on a home page with ``links`` in its head; the feed is at /news/rss."""
    httpserver.expect_request("/").respond_with_data(home(links), content_type="text/html")
    httpserver.expect_request("/news/rss").respond_with_data(
        FEED, content_type="application/rss+xml"
    )
    return run(config, "feeds", "add", httpserver.url_for("/"))


def test_add_finds_the_feed_a_home_page_advertises(config: Path, httpserver: HTTPServer) -> None:
    result = add_from_home(
        config,
        httpserver,
        '<link rel="stylesheet" href="/s.css">'
        '<link rel="alternate" type="application/json" href="/feed.json">'
        '<link rel="alternate" type="application/rss+xml" title="RSS" href="/news/rss">',
    )

    assert result.exit_code == 0, result.output
    assert f"added: [1] {httpserver.url_for('/news/rss')}" in result.output
    assert '<link rel="alternate">' in result.output
    assert "The Outlet" in run(config, "feeds", "list").output


def test_add_skips_an_advertised_feed_whose_url_is_invalid(
    config: Path, httpserver: HTTPServer
) -> None:
    result = add_from_home(
        config,
        httpserver,
        '<link rel="alternate" type="application/rss+xml" href="http://256.1.1.1/feed">'
        '<link rel="alternate" type="application/rss+xml" href="/news/rss">',
    )

    assert result.exit_code == 0, result.output
    assert f"added: [1] {httpserver.url_for('/news/rss')}" in result.output


def test_add_falls_back_to_common_feed_paths(config: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/").respond_with_data(home(""), content_type="text/html")
    httpserver.expect_request("/rss.xml").respond_with_data(
        FEED, content_type="application/rss+xml"
    )

    result = run(config, "feeds", "add", httpserver.url_for("/"))

    assert result.exit_code == 0, result.output
    assert f"added: [1] {httpserver.url_for('/rss.xml')}" in result.output
    assert "common feed path" in result.output


def test_add_of_a_feed_url_adds_it_as_it_is(config: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(
        FEED, content_type="application/rss+xml"
    )
    result = run(config, "feeds", "add", httpserver.url_for("/feed.xml"))
    assert f"added: [1] {httpserver.url_for('/feed.xml')}" in result.output
    assert "found via" not in result.output


def test_add_refuses_a_page_without_a_feed(config: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/").respond_with_data(
        home('<link rel="alternate" type="application/rss+xml" href="/broken">'),
        content_type="text/html",
    )
    httpserver.expect_request("/broken").respond_with_data(home(""), content_type="text/html")

    result = run(config, "feeds", "add", httpserver.url_for("/"))

    assert result.exit_code == 2
    assert result.output.splitlines()[0].startswith("error: ")
    assert "no feed found" in result.output
    assert "never polled" not in run(config, "feeds", "list").output


def test_add_refuses_a_private_address_before_adding(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    config = tmp_path / "monitor.toml"
    config.write_text('database = "m.db"\n', encoding="utf-8")  # private networks refused
    result = run(config, "feeds", "add", httpserver.url_for("/"))
    assert result.exit_code == 2
    assert "non-public address 127.0.0.1" in result.output
    assert httpserver.log == []
