"""Extraction on worker processes (``[fetch] workers``): same articles as in-process, really
in other processes, and a worker that dies fails only its page."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
from pathlib import Path

import pytest
from conftest import (
    SEED_IDS,
    SEED_TITLES,
    FeedSite,
    migrate_as_a_newer_version,
    rss,
    seed_body,
    seed_html,
)
from sqlite_utils import Database
from werkzeug import Request, Response

from monitor import workers
from monitor.app import App, open_app
from monitor.config import load_settings
from monitor.cycle import CycleReport, run_cycle
from monitor.errors import ExtractError, FeedParseError
from monitor.extract import Extraction
from storage import SchemaTooNew


def whose(
    body: bytes, *, url: str | None, site_boilerplate: frozenset[str], date_from_text: bool
) -> Extraction:
    """An 'extraction' that names the process it ran in."""
    return Extraction(None, None, None, str(os.getpid()), None, body.decode())


def dies(
    body: bytes, *, url: str | None, site_boilerplate: frozenset[str], date_from_text: bool
) -> Extraction:
    os._exit(3)


@pytest.fixture(autouse=True)
def fresh_pools() -> None:
    yield
    workers.shutdown()


def test_extraction_runs_in_other_processes() -> None:
    async def run() -> set[str]:
        calls = [
            workers.extract(2, b"x", url=None, site_boilerplate=frozenset(), function=whose)
            for _ in range(8)
        ]
        return {e.site or "" for e in await asyncio.gather(*calls)}

    pids = asyncio.run(run())
    assert str(os.getpid()) not in pids
    assert 1 <= len(pids) <= 2


def test_a_worker_that_dies_fails_its_page_only() -> None:
    async def run() -> str:
        with pytest.raises(ExtractError, match="worker process stopped unexpectedly"):
            await workers.extract(1, b"x", url=None, site_boilerplate=frozenset(), function=dies)
        after = await workers.extract(
            1, b"ok", url=None, site_boilerplate=frozenset(), function=whose
        )
        return after.text

    assert asyncio.run(run()) == "ok"


def open_on_workers(folder: Path, site: FeedSite, count: int, fetch_extra: str = "") -> App:
    """An app in ``folder`` reading ``site``'s feed with ``count`` worker processes."""
    folder.mkdir()
    config = folder / "monitor.toml"
    config.write_text(
        f'database = "m.db"\n[fetch]\nallowed_networks = ["127.0.0.1"]\nworkers = {count}\n'
        f'{fetch_extra}[[feeds]]\nurl = "{site.feed_url}"\n',
        encoding="utf-8",
    )
    return open_app(load_settings(config))


def cycle_texts(site: FeedSite, tmp_path: Path, count: int) -> dict[str, tuple[str, str, bool]]:
    folder = tmp_path / f"w{count}"
    app = open_on_workers(folder, site, count)
    try:
        report = asyncio.run(run_cycle(app))
    finally:
        app.close()
    assert report.new_articles == len(SEED_IDS)
    db = Database(folder / "m.db")
    matched = {
        row[0]
        for row in db.execute("SELECT a.guid FROM matches m JOIN articles a ON a.id = m.article_id")
    }
    return {
        row["guid"]: (row["extraction_status"], row["text"], row["guid"] in matched)
        for row in db["articles"].rows
    }


@pytest.mark.parametrize(
    "workers_finish", [True, False], ids=["workers-finish-pages", "workers-only-extract"]
)
def test_a_cycle_on_two_workers_stores_what_one_process_does(
    site: FeedSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers_finish: bool
) -> None:
    """Whether a worker finishes each page (analysis and store included: when the workers
    take every core) or only extracts it, the database ends up the same."""
    site.serve_seeds()
    in_process = cycle_texts(site, tmp_path, 0)
    monkeypatch.setattr(workers, "workers_finish_pages", lambda count: workers_finish)
    on_workers = cycle_texts(site, tmp_path, 2)
    assert on_workers == in_process
    assert {status for status, _, _ in on_workers.values()} == {"extracted"}
    assert any(matched for _, _, matched in on_workers.values())  # matched on the workers too


def test_a_feed_parse_error_in_a_worker_comes_back_whole() -> None:
    with pytest.raises(FeedParseError) as info:
        asyncio.run(workers.parse(1, b"<html><body>hi</body></html>", url="http://x/", headers={}))
    assert info.value.url == "http://x/"
    assert info.value.reason == "not a feed: the server sent an HTML page"


def test_a_feed_is_parsed_in_a_worker() -> None:
    body = (
        b'<rss version="2.0"><channel><title>T</title><item><title>A</title></item></channel></rss>'
    )
    parsed = asyncio.run(workers.parse(1, body, url="http://x/", headers={}))
    assert parsed.title == "T" and [e.title for e in parsed.entries] == ["A"]


@pytest.mark.parametrize("workers_finish", [True, False], ids=["workers-finish", "workers-extract"])
def test_a_killed_worker_defers_its_pages_instead_of_storing_the_feed_teaser(
    site: FeedSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers_finish: bool
) -> None:
    """The worker processes are killed while a cycle runs (as when the OS kills them, or a
    signal reaches the whole process group): the pages in flight are retried at the next
    poll, not stored from the feed's teaser for good."""
    monkeypatch.setattr(workers, "workers_finish_pages", lambda count: workers_finish)
    killed: list[int] = []

    def kill_workers_then_serve(request: Request) -> Response:
        if not killed:
            for child in multiprocessing.active_children():
                child.kill()
                killed.append(child.pid or 0)
        return Response(seed_html("000"), content_type="text/html; charset=utf-8")

    site.server.expect_request("/news/000.html").respond_with_handler(kill_workers_then_serve)
    site.serve_seeds()
    app = open_on_workers(tmp_path / "w", site, 2)
    try:
        # The workers exist before the page is served.
        asyncio.run(workers.warm_up(2, str(app.settings.watchlists)))
        first = asyncio.run(run_cycle(app))
        assert killed
        assert "worker process stopped unexpectedly (will be retried)" in (
            first.feeds[0].warning or ""
        )
        statuses = [r[0] for r in app.db.execute("SELECT extraction_status FROM articles")]
        assert set(statuses) <= {"extracted"}  # nothing stored from the feed's own text
        second = asyncio.run(run_cycle(app, include_all=True))
        assert first.new_articles + second.new_articles == len(SEED_IDS)
        statuses = [r[0] for r in app.db.execute("SELECT extraction_status FROM articles")]
        assert statuses == ["extracted"] * len(SEED_IDS)
    finally:
        app.close()


@pytest.mark.parametrize("workers_finish", [True, False], ids=["workers-finish", "workers-extract"])
def test_feed_content_articles_on_workers_match_and_store_as_in_process(
    site: FeedSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers_finish: bool
) -> None:
    """With page fetching off, the feed's own text is the article: analysed and stored on
    the workers (when they finish pages) or by the daemon, the database ends up the same."""
    items = [
        {
            "title": SEED_TITLES[seed],
            "link": site.server.url_for(f"/news/{seed}.html"),
            "guid": f"seed-{seed}",
            "description": "<p>" + "</p><p>".join(seed_body(seed)[:6]) + "</p>",
        }
        for seed in SEED_IDS
    ]
    site.serve_feed(rss(items))

    def stored(count: int) -> list[tuple[str, str, str, int]]:
        folder = tmp_path / f"content{count}"
        app = open_on_workers(folder, site, count, fetch_extra="fetch_pages = false\n")
        try:
            assert asyncio.run(run_cycle(app)).new_articles == len(SEED_IDS)
            rows = app.db.execute(
                "SELECT a.guid, a.extraction_status, a.text, count(m.id) FROM articles a "
                "LEFT JOIN matches m ON m.article_id = a.id GROUP BY a.id ORDER BY a.guid"
            ).fetchall()
        finally:
            app.close()
        return [tuple(r) for r in rows]

    in_process = stored(0)
    monkeypatch.setattr(workers, "workers_finish_pages", lambda count: workers_finish)
    assert stored(2) == in_process
    assert {r[1] for r in in_process} == {"feed_content"}
    assert any(r[3] for r in in_process)  # the seeds' own text matches the shipped watchlists


def serve_three_reports(site: FeedSite, middle: str) -> None:
    """A feed of three short reports (guids g0, g1, g2), the second titled ``middle``."""
    items = [
        {"title": title, "link": site.server.url_for(f"/n/{i}"), "guid": f"g{i}",
         "description": f"<p>{title}: the council met on Tuesday to discuss the budget.</p>"}
        for i, title in enumerate(["First report", middle, "Third report"])
    ]  # fmt: skip
    site.serve_feed(rss(items))


def cycle_refusing_the_middle_report(
    site: FeedSite, folder: Path, raise_clause: str
) -> tuple[CycleReport, list[str], list[tuple[str, int, str]]]:
    """One cycle over ``serve_three_reports`` with page fetching off, the database running
    ``raise_clause`` when the middle report is inserted: the report, the stored guids, and
    the entries' attempts (key, attempts, last error)."""
    serve_three_reports(site, "Middle report")
    app = open_on_workers(folder, site, 2, fetch_extra="fetch_pages = false\n")
    try:
        app.db.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON articles WHEN NEW.title = 'Middle report' "
            f"BEGIN SELECT {raise_clause}; END"
        )
        report = asyncio.run(run_cycle(app))
        stored = [r[0] for r in app.db.execute("SELECT guid FROM articles ORDER BY guid")]
        attempts = app.db.execute(
            "SELECT entry_key, attempts, last_error FROM entry_attempts"
        ).fetchall()
    finally:
        app.close()
    return report, stored, [tuple(row) for row in attempts]


@pytest.mark.parametrize("workers_finish", [False, True])
def test_an_entry_that_cannot_be_stored_fails_alone_in_its_batch(
    site: FeedSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers_finish: bool
) -> None:
    """With page fetching off, a feed's new entries are stored in one transaction, each in a
    savepoint: the one the database refuses is retried at the next poll, the others stay."""
    monkeypatch.setattr(workers, "workers_finish_pages", lambda count: workers_finish)
    report, stored, attempts = cycle_refusing_the_middle_report(
        site, tmp_path / "batch", "RAISE(ABORT, 'refused by the test')"
    )
    assert report.new_articles == 2
    assert stored == ["g0", "g2"]
    assert [(key, tries) for key, tries, _ in attempts] == [("g1", 1)]
    assert "refused by the test" in attempts[0][2]


@pytest.mark.parametrize("workers_finish", [False, True])
def test_an_error_that_ends_the_transaction_fails_only_its_entry(
    site: FeedSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers_finish: bool
) -> None:
    """An error that rolls back the whole batch's transaction (a full disk, a worker that
    dies) leaves no entry stored outside it and reported failed; the batch is then stored
    one entry at a time, so only the entry at fault fails."""
    monkeypatch.setattr(workers, "workers_finish_pages", lambda count: workers_finish)
    report, stored, attempts = cycle_refusing_the_middle_report(
        site, tmp_path / "fatal", "RAISE(ROLLBACK, 'the whole transaction ends')"
    )
    assert report.new_articles == 2
    assert stored == ["g0", "g2"]
    assert [(key, tries) for key, tries, _ in attempts] == [("g1", 1)]


@pytest.mark.parametrize("count", [0, 1, 2])
def test_a_page_date_is_looked_for_in_the_text_only_when_the_entry_has_none(
    site: FeedSite, tmp_path: Path, count: int
) -> None:
    paragraphs = "".join(
        f"<p>Paragraph {i}: talks on the corridor resumed in Baku after a pause of months.</p>"
        for i in range(8)
    )
    page = (
        "<html><head><title>Corridor talks</title></head><body><article><h1>Corridor talks</h1>"
        f'<p class="date">Published 14 March 2024</p>{paragraphs}</article></body></html>'
    )
    items = ""
    for name, date in [("dated", "<pubDate>Thu, 10 Jul 2025 08:00:00 GMT</pubDate>"), ("bare", "")]:
        site.server.expect_request(f"/{name}.html").respond_with_data(
            page, content_type="text/html"
        )
        link = site.server.url_for(f"/{name}.html")
        items += (
            f"<item><title>{name}</title><link>{link}</link><guid isPermaLink='false'>{name}</guid>"
        )
        items += f"{date}</item>"
    site.serve_feed(f'<rss version="2.0"><channel><title>t</title>{items}</channel></rss>'.encode())
    app = open_on_workers(tmp_path / "w", site, count)
    try:
        assert asyncio.run(run_cycle(app)).new_articles == 2
        published = dict(app.db.execute("SELECT guid, published FROM articles").fetchall())
    finally:
        app.close()
    assert published["bare"] == "2024-03-14"  # from the page's text
    assert str(published["dated"]).startswith("2025-07-10")  # the entry's own


@pytest.mark.parametrize("count", [0, 2], ids=["in-process", "workers-finish-pages"])
def test_a_cycle_writes_nothing_once_a_newer_version_upgraded_the_database(
    site: FeedSite, tmp_path: Path, count: int, caplog: pytest.LogCaptureFixture
) -> None:
    """The app opened the file at this version's schema; a newer version migrates it before
    the cycle runs. Nothing is stored with the old code, nor recorded as a failure of the
    feed or its entries (which would give them up): the cycle stops with SchemaTooNew."""
    site.serve_seeds()
    app = open_on_workers(tmp_path / "w", site, count)
    try:
        newer = migrate_as_a_newer_version(tmp_path / "w" / "m.db")
        with pytest.raises(SchemaTooNew, match=f"schema version {newer} is newer"):
            asyncio.run(run_cycle(app))
    finally:
        app.close()
    db = Database(tmp_path / "w" / "m.db")
    assert db["articles"].count == 0
    assert db["entry_attempts"].count == 0
    assert [(f["error_count"], f["last_error"]) for f in db["feeds"].rows] == [(0, None)]
    assert "unexpected error" not in caplog.text  # the refusal is not taken for a failure


def test_a_slow_page_holds_up_no_feeds_parsing() -> None:
    """Without worker processes the stages run in one thread per lane: a page still being
    extracted (here, one that waits) keeps other pages waiting, not the feeds."""
    started, release = threading.Event(), threading.Event()

    def slow_page() -> str:
        started.set()
        release.wait(10)
        return "page"

    async def run() -> int:
        page = asyncio.ensure_future(workers.in_thread(slow_page))
        await asyncio.get_running_loop().run_in_executor(None, started.wait, 10)
        queued = asyncio.ensure_future(workers.in_thread(lambda: "next page"))
        body = rss([{"title": "Talks resume", "link": "http://127.0.0.1/a"}])
        parsed = await asyncio.wait_for(
            workers.parse(0, body, url="http://127.0.0.1/feed", headers={}), 5
        )
        assert not page.done() and not queued.done()  # pages wait their turn
        release.set()
        assert await page == "page" and await queued == "next page"
        return len(parsed.entries)

    assert asyncio.run(run()) == 1
