"""Each feed, entry and alert fails alone; the same story is stored and alerted once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from conftest import SEED_TITLES, FeedSite, monitor, queue_alerts, rss, seed_html
from sqlite_utils import Database

import monitor.cycle as cycle
import monitor.extract as extract
import storage
from monitor.app import open_app
from monitor.config import load_settings
from monitor.relay import Relay
from storage import outbox
from storage.outbox import OutboxRow


def test_same_story_from_two_feeds_is_stored_and_alerted_once(
    site: FeedSite, config_for, tmp_path: Path
) -> None:
    server = site.server
    page = server.url_for("/news/001.html")
    server.expect_request("/news/001.html").respond_with_data(
        seed_html("001"), content_type="text/html"
    )
    item = {"title": SEED_TITLES["001"], "link": page, "guid": "a-1"}
    server.expect_request("/a.xml").respond_with_data(
        rss([item]), content_type="application/rss+xml"
    )
    tracked = {**item, "link": page + "?utm_source=rss&utm_medium=feed", "guid": "b-77"}
    server.expect_request("/b.xml").respond_with_data(
        rss([tracked]), content_type="application/rss+xml"
    )
    result = monitor(
        "fetch", config=config_for([server.url_for("/a.xml"), server.url_for("/b.xml")])
    )
    assert result.returncode == 0, result.stderr
    assert "articles: 1 new; matches: 1" in result.stdout
    assert result.stdout.count("russia-azerbaijan-rift:") == 1
    assert Database(tmp_path / "monitor.db")["outbox"].count == 1


def test_entries_without_id_or_link_and_repeated_guids(
    site: FeedSite, config_for, tmp_path: Path
) -> None:
    body = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
    <item><title>Baku and Moscow trade blame over Yekaterinburg deaths</title>
      <description>Azerbaijan accused Russia after two men died in custody in Yekaterinburg.</description></item>
    <item><guid isPermaLink="false">same</guid><title>First</title><description>one</description></item>
    <item><guid isPermaLink="false">same</guid><title>Second</title><description>two</description></item>
    </channel></rss>"""
    site.serve_feed(body)
    result = monitor("fetch", config=config_for([site.feed_url]))
    assert result.returncode == 0, result.stderr
    assert "articles: 2 new; matches: 1" in result.stdout
    db = Database(tmp_path / "monitor.db")
    rows = {row["title"]: row for row in db["articles"].rows}
    assert set(rows) == {"Baku and Moscow trade blame over Yekaterinburg deaths", "First"}
    no_id = rows["Baku and Moscow trade blame over Yekaterinburg deaths"]
    assert no_id["entry_key"].startswith("sha256:")
    assert no_id["extraction_reason"] == "entry has no link; used the feed's own content"


def test_an_unexpected_error_fails_one_entry_only(
    site: FeedSite, config_for, monkeypatch: pytest.MonkeyPatch
) -> None:
    site.serve_seeds(("000", "001"))
    app = open_app(load_settings(config_for([site.feed_url])))
    real = extract.extract_page

    def flaky(body: bytes, **kwargs: object) -> object:
        if str(kwargs.get("url", "")).endswith("/000.html"):
            raise RuntimeError("extractor bug")
        return real(body, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(extract, "extract_page", flaky)
    report = asyncio.run(cycle.run_cycle(app))
    [outcome] = report.feeds
    assert outcome.new_articles == 1
    assert "RuntimeError: extractor bug (will be retried; attempt 1)" in (outcome.warning or "")
    feed = storage.feeds.list_feeds(app.db)[0]
    assert feed.content_hash is None  # the feed is read whole again at the next poll

    monkeypatch.setattr(extract, "extract_page", real)
    report = asyncio.run(cycle.run_cycle(app, include_all=True))
    assert report.new_articles == 1 and report.feeds[0].warning is None
    assert storage.articles.count_articles(app.db) == 2
    app.close()


def test_an_unexpected_error_in_a_feed_is_recorded_on_it(
    site: FeedSite, config_for, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    site.serve_seeds(("001",))
    site.server.expect_request("/other.xml").respond_with_data(
        b"<rss/>", content_type="application/rss+xml"
    )
    app = open_app(load_settings(config_for([site.server.url_for("/other.xml"), site.feed_url])))
    real = cycle.parse_feed

    def broken(body: bytes, *, url: str, headers: object = None) -> object:
        if url.endswith("/other.xml"):
            raise KeyError("parser bug")
        return real(body, url=url, headers=headers)  # type: ignore[arg-type]

    monkeypatch.setattr(cycle, "parse_feed", broken)
    report = asyncio.run(cycle.run_cycle(app))
    assert report.count("failed") == 1 and report.new_articles == 1
    failed = [f for f in storage.feeds.list_feeds(app.db) if f.last_status == "error"]
    assert [f.last_error_kind for f in failed] == ["internal"]
    assert "KeyError" in (failed[0].last_error or "")
    app.close()


class Exploding:
    name = "boom"

    async def send(self, row: OutboxRow) -> None:
        raise RuntimeError("https://hooks.example/secret-token")


class Recording:
    name = "console"

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, row: OutboxRow) -> None:
        self.sent.append(row.dedup_key)


def test_a_failing_channel_does_not_block_the_queue(tmp_path: Path) -> None:
    db = storage.open_database(tmp_path / "m.db")
    queue_alerts(db, [("1", "boom"), ("2", "console")], {"title": "t"})
    recording = Recording()
    report = asyncio.run(Relay(db, {"boom": Exploding(), "console": recording}).deliver_due())
    assert (report.sent, report.retrying) == (1, 1)
    assert recording.sent == ["2"]
    failed = next(r for r in outbox.list_rows(db) if r.dedup_key == "1")
    assert (
        failed.status == "pending" and failed.last_error == "channel boom: unexpected RuntimeError"
    )
    assert "secret-token" not in (failed.last_error or "")


def test_a_claimed_row_is_not_sent_by_a_second_sender(tmp_path: Path) -> None:
    db = storage.open_database(tmp_path / "m.db")
    other = storage.open_database(tmp_path / "m.db")
    queue_alerts(db, [("k", "console")], {})
    [row] = outbox.due_rows(db)
    assert outbox.claim(db, row.id, lease_seconds=300)
    assert not outbox.claim(other, row.id, lease_seconds=300)
    assert outbox.due_rows(other) == []


def test_site_learned_boilerplate_drops_a_recurring_paragraph(
    site: FeedSite, config_for, tmp_path: Path
) -> None:
    appeal = "The Caucasus Ledger runs on the kindness of its members; a few lari a month keep the lights on."
    items, pages = [], []
    for i in range(5):
        page = (
            f"<html lang='en'><head><title>Story {i}</title></head><body><article><h1>Story {i}</h1>"
            + "".join(
                f"<p>Paragraph {j} of story {i} tells of talks in Baku and Yerevan on border number {i * 10 + j}, "
                f"with officials meeting again in the spring after round {j}.</p>"
                for j in range(6)
            )
            + f"<p>{appeal}</p></article></body></html>"
        )
        pages.append(page)
        site.server.expect_request(f"/s/{i}.html").respond_with_data(page, content_type="text/html")
        items.append(
            {"title": f"Story {i}", "link": site.server.url_for(f"/s/{i}.html"), "guid": f"s{i}"}
        )
    config = config_for([site.feed_url], extra="[clean]\nlearn_after = 3")
    site.serve_feed(rss(items[:3]))
    assert monitor("fetch", config=config).returncode == 0
    # Three articles of the site carried the paragraph: from now on it is the site's furniture.
    site.server.clear()
    for i in range(5):
        site.server.expect_request(f"/s/{i}.html").respond_with_data(
            pages[i], content_type="text/html"
        )
    site.etag = '"v2"'
    site.serve_feed(rss(items))
    assert monitor("fetch", "--all", config=config).returncode == 0
    db = Database(tmp_path / "monitor.db")
    texts = [row["text"] for row in db.query("SELECT text FROM articles ORDER BY id")]
    assert [appeal in text for text in texts] == [True, True, True, False, False]
    assert all("Paragraph 5 of story" in text for text in texts)
    learned = db.execute("SELECT articles FROM boilerplate WHERE sample = ?", [appeal]).fetchone()
    assert learned[0] == 5
