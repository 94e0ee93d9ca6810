"""End to end: a real local server serves a feed of the seed articles; `monitor fetch` stores
clean text, matches the shipped watchlist, delivers console alerts; a second fetch gets 304."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import SEED_IDS, SEED_TITLES, FeedSite, monitor, rss, seed_body
from sqlite_utils import Database


def test_fetch_stores_matches_alerts_then_304(site: FeedSite, config_for, tmp_path: Path) -> None:
    site.serve_seeds()
    config = config_for([site.feed_url])

    first = monitor("fetch", config=config)
    assert first.returncode == 0, first.stderr
    assert "feeds: 1 fetched, 0 unchanged, 0 failed; articles: 5 new; matches: 5" in first.stdout
    assert first.stdout.count("russia-azerbaijan-rift:") == 5
    for seed in SEED_IDS:
        assert SEED_TITLES[seed] in first.stdout

    db = Database(tmp_path / "monitor.db")
    rows = {row["guid"]: row for row in db["articles"].rows}
    assert set(rows) == {f"seed-{seed}" for seed in SEED_IDS}
    for seed in SEED_IDS:
        row = rows[f"seed-{seed}"]
        assert row["extraction_status"] == "extracted"
        assert row["extraction_reason"] is None
        assert row["site"] == "127.0.0.1"
        assert row["published"].startswith("2025-07-10T")
        body = seed_body(seed)
        # The article body is stored whole (first, middle and last paragraph).
        for line in (body[0], body[len(body) // 2], body[-1]):
            assert " ".join(line.split()) in " ".join(row["text"].split())
    assert db["matches"].count == 5
    outbox = list(db["outbox"].rows)
    assert len(outbox) == 5
    assert {row["status"] for row in outbox} == {"sent"}
    assert {row["channel"] for row in outbox} == {"console"}
    explanation = json.loads(next(iter(db["matches"].rows))["explanation"])
    assert explanation["rule"] == "@azerbaijan AND @russia AND @flashpoints"
    assert explanation["terms"] and explanation["snippets"]
    assert "**" in explanation["snippets"][0]
    db.close()

    second = monitor("fetch", "--all", config=config)
    assert second.returncode == 0, second.stderr
    assert "feeds: 0 fetched, 1 unchanged, 0 failed; articles: 0 new; matches: 0" in second.stdout
    assert "russia-azerbaijan-rift:" not in second.stdout
    assert site.feed_requests[0].get("If-None-Match") is None
    assert site.feed_requests[-1].get("If-None-Match") == site.etag
    assert len(site.feed_requests) == 2

    db = Database(tmp_path / "monitor.db")
    assert db["articles"].count == 5
    assert db["outbox"].count == 5
    feed = next(iter(db["feeds"].rows))
    assert feed["last_status"] == "unchanged" and feed["etag"] == site.etag
    assert feed["error_count"] == 0


def test_second_fetch_without_all_polls_nothing_before_due(site: FeedSite, config_for) -> None:
    site.serve_seeds(("001",))
    config = config_for([site.feed_url])
    assert monitor("fetch", config=config).returncode == 0
    again = monitor("fetch", config=config)
    assert "feeds: 0 fetched, 0 unchanged, 0 failed" in again.stdout
    assert len(site.feed_requests) == 1


def test_unfetchable_page_falls_back_to_feed_content(
    site: FeedSite, config_for, tmp_path: Path
) -> None:
    missing = site.server.url_for("/news/gone.html")
    site.server.expect_request("/news/gone.html").respond_with_data("gone", status=404)
    site.serve_feed(
        rss(
            [
                {
                    "title": "Baku summons Russian envoy",
                    "link": missing,
                    "guid": "gone-1",
                    "description": "<p>Azerbaijan summoned Russia's envoy over the Yekaterinburg "
                    "deaths.</p>",
                }
            ]
        )
    )
    result = monitor("fetch", config=config_for([site.feed_url]))
    assert result.returncode == 0, result.stderr
    assert "articles: 1 new; matches: 1" in result.stdout
    row = next(iter(Database(tmp_path / "monitor.db")["articles"].rows))
    assert row["extraction_status"] == "feed_content"
    assert row["extraction_reason"] == "page not fetched: HTTP 404; used the feed's own content"
    assert row["text"] == "Azerbaijan summoned Russia's envoy over the Yekaterinburg deaths."


DEK = "Azerbaijan summoned Russia's envoy over the Yekaterinburg deaths of two brothers"
NEUTRAL = (
    "The ministry's statement was read out at a short briefing on Monday morning, and officials "
    "declined to take questions from the reporters who had gathered outside the building."
)


def test_a_standfirst_is_stored_apart_and_still_matched(
    site: FeedSite, config_for, tmp_path: Path
) -> None:
    """The page's summary above the story leaves the stored text but not what the watchlists
    read: here only the standfirst names the rift, live and when replayed."""
    page = (
        "<html lang='en'><head><title>A diplomatic row</title>"
        f'<meta name="description" content="{DEK}"></head><body><article>'
        f"<h1>A diplomatic row</h1><h2>{DEK}</h2>"
        + "".join(f"<p>{NEUTRAL.replace('Monday', day)}</p>" for day in ("Monday", "Friday"))
        + "</article></body></html>"
    )
    link = site.server.url_for("/news/row.html")
    site.server.expect_request("/news/row.html").respond_with_data(page, content_type="text/html")
    site.serve_feed(rss([{"title": "A diplomatic row", "link": link, "guid": "row-1"}]))
    config = config_for([site.feed_url])
    result = monitor("fetch", config=config)
    assert result.returncode == 0, result.stderr
    assert "articles: 1 new; matches: 1" in result.stdout
    row = next(iter(Database(tmp_path / "monitor.db")["articles"].rows))
    assert row["summary"] == DEK
    assert "Azerbaijan" not in row["text"] and "briefing on Friday" in row["text"]
    replay = monitor("watchlists", "test", "russia-azerbaijan-rift", "--since", "1d", config=config)
    assert replay.returncode == 0, replay.stderr
    assert "1 of 1 articles" in replay.stdout


def test_same_entry_is_not_stored_twice_when_the_feed_changes(
    site: FeedSite, config_for, tmp_path: Path
) -> None:
    site.serve_seeds(("000",))
    config = config_for([site.feed_url])
    assert monitor("fetch", config=config).returncode == 0
    # The feed changes (new ETag, one more item); the known item must not come back as new.
    site.server.clear()
    site.etag = '"v2"'
    site.serve_seeds(("000", "004"))
    result = monitor("fetch", "--all", config=config)
    assert "articles: 1 new; matches: 1" in result.stdout
    assert Database(tmp_path / "monitor.db")["articles"].count == 2
