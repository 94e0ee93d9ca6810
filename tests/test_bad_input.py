"""Bad input fails alone and visibly: one clear line for each, and the rest goes on."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from conftest import FeedSite, monitor
from sqlite_utils import Database

BROKEN_XML = b"""<?xml version="1.0"?>
<rss version="2.0"><channel><title>Broken</title>
<item><title>Half an item</title><link>http://127.0.0.1:9/x</link>
"""
NOT_XML = b"\x00\x01 this is not a feed at all \xff\xfe"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_broken_feeds_each_fail_alone(site: FeedSite, config_for, tmp_path: Path) -> None:
    server = site.server
    site.serve_seeds(("001",))
    server.expect_request("/500.xml").respond_with_data("oops", status=500)
    server.expect_request("/page.html").respond_with_data(
        "<!DOCTYPE html><html><body><p>A home page</p></body></html>", content_type="text/html"
    )
    server.expect_request("/broken.xml").respond_with_data(
        BROKEN_XML, content_type="application/xml"
    )
    server.expect_request("/garbage.xml").respond_with_data(NOT_XML, content_type="application/xml")
    unreachable = f"http://127.0.0.1:{closed_port()}/feed.xml"
    bad = {
        "500": server.url_for("/500.xml"),
        "html": server.url_for("/page.html"),
        "broken": server.url_for("/broken.xml"),
        "garbage": server.url_for("/garbage.xml"),
        "unreachable": unreachable,
    }
    config = config_for([*bad.values(), site.feed_url])

    result = monitor("fetch", config=config)
    assert result.returncode == 0, result.stderr
    # The good feed went through whole; the broken feed's one recovered item links to a page
    # that cannot be reached now: it waits for a later poll rather than being stored half-done.
    assert "articles: 1 new; matches: 1" in result.stdout
    assert "russia-azerbaijan-rift:" in result.stdout
    failed = [line for line in result.stderr.splitlines() if line.startswith("failed: ")]
    assert len(failed) == 4, result.stderr
    messages = "\n".join(failed)
    assert f"{bad['500']}: HTTP 500" in messages
    assert f"{bad['html']}: not a feed: the server sent an HTML page" in messages
    assert f"{bad['garbage']}: not a feed" in messages
    assert f"{unreachable}: cannot connect" in messages
    # Malformed XML that still yields an item is read, with a visible warning.
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert any(bad["broken"] in line and "malformed feed" in line for line in warnings)
    assert any(bad["broken"] in line and "(will be retried)" in line for line in warnings)

    db = Database(tmp_path / "monitor.db")
    by_url = {row["url"]: row for row in db["feeds"].rows}
    assert by_url[bad["500"]]["last_error_kind"] == "http_5xx"
    assert by_url[unreachable]["last_error_kind"] == "connect"
    assert by_url[bad["html"]]["last_error_kind"] == "parse"
    for key in ("500", "html", "garbage", "unreachable"):
        row = by_url[bad[key]]
        assert row["error_count"] == 1 and row["last_status"] == "error"
        assert row["next_check_at"] > row["last_checked_at"]
    assert by_url[site.feed_url]["error_count"] == 0
    assert by_url[bad["broken"]]["last_error_kind"] == "warning"
    assert by_url[bad["broken"]]["content_hash"] is None  # read whole again next time
    assert db["articles"].count == 1
    db.close()

    # After a few polls the unreachable page is given up on: the entry is stored from what
    # the feed itself says, with the reason.
    for _ in range(2):
        monitor("fetch", "--all", config=config)
    db = Database(tmp_path / "monitor.db")
    half = next(db["articles"].rows_where("title = ?", ["Half an item"]))
    assert half["extraction_status"] == "failed"
    assert half["extraction_reason"].startswith("page not fetched: cannot connect")
    assert db["entry_attempts"].count == 0


def test_unparseable_config_is_one_line_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "monitor.toml"
    config.write_text('database = "x.db"\n[fetch\ninterval = "5m"\n', encoding="utf-8")
    result = monitor("fetch", config=config)
    assert result.returncode == 2
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"error: {config}: not valid TOML:")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('[fetch]\nintervall = "5m"\n', "unknown key 'fetch.intervall'"),
        ("[fetch]\ninterval = true\n", "fetch.interval: expected a duration"),
        ('[fetch]\nconcurrency = "ten"\n', "fetch.concurrency: expected a whole number"),
        (
            '[channels.slack]\nwebhook_url_env = "NO_SUCH_VARIABLE_FOR_TESTS"\n',
            "channels.slack.webhook_url_env: environment variable NO_SUCH_VARIABLE_FOR_TESTS is not set",
        ),
        ('[[feeds]]\nurl = "ftp://example.org/feed"\n', "feeds[0].url: expected an http(s) URL"),
    ],
)
def test_bad_config_values_are_named(tmp_path: Path, content: str, message: str) -> None:
    config = tmp_path / "monitor.toml"
    config.write_text(content, encoding="utf-8")
    result = monitor("feeds", "list", config=config)
    assert result.returncode == 2
    assert message in result.stderr.splitlines()[0]


def test_missing_config_file(tmp_path: Path) -> None:
    result = monitor("feeds", "list", config=tmp_path / "nope.toml")
    assert result.returncode == 2
    assert (
        result.stderr.splitlines()[0] == f"error: {tmp_path / 'nope.toml'}: config file not found"
    )


def test_watchlist_syntax_error_fails_alone(site: FeedSite, config_for, tmp_path: Path) -> None:
    folder = tmp_path / "watchlists"
    folder.mkdir()
    (folder / "good.toml").write_text('query = "Yekaterinburg AND Baku"\n', encoding="utf-8")
    (folder / "bad.toml").write_text('query = "(Baku OR Aliyev"\n', encoding="utf-8")
    site.serve_seeds(("000",))
    config = config_for([site.feed_url], watchlists=folder)

    result = monitor("fetch", config=config)
    assert result.returncode == 0, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [f"error: {folder / 'bad.toml'}: query: '(' is never closed at column 1"]
    assert "good:" in result.stdout and "matches: 1" in result.stdout

    check = monitor("watchlists", "check", config=config)
    assert check.returncode == 2
    assert "1 ok, 1 with errors" in check.stdout
