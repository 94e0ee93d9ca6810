"""Extraction on worker processes (``[fetch] workers``): same articles as in-process, really
in other processes, and a worker that dies fails only its page."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from conftest import SEED_IDS, FeedSite
from sqlite_utils import Database

from monitor import workers
from monitor.app import open_app
from monitor.config import load_settings
from monitor.cycle import run_cycle
from monitor.errors import ExtractError, FeedParseError
from monitor.extract import Extraction


def whose(body: bytes, *, url: str | None, site_boilerplate: frozenset[str]) -> Extraction:
    """An 'extraction' that names the process it ran in."""
    return Extraction(None, None, None, str(os.getpid()), None, body.decode())


def dies(body: bytes, *, url: str | None, site_boilerplate: frozenset[str]) -> Extraction:
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
        with pytest.raises(ExtractError, match="worker stopped unexpectedly"):
            await workers.extract(1, b"x", url=None, site_boilerplate=frozenset(), function=dies)
        after = await workers.extract(
            1, b"ok", url=None, site_boilerplate=frozenset(), function=whose
        )
        return after.text

    assert asyncio.run(run()) == "ok"


def cycle_texts(site: FeedSite, tmp_path: Path, count: int) -> dict[str, tuple[str, str, bool]]:
    folder = tmp_path / f"w{count}"
    folder.mkdir()
    config = folder / "monitor.toml"
    config.write_text(
        f'database = "m.db"\n[fetch]\nallowed_networks = ["127.0.0.1"]\nworkers = {count}\n'
        f'[[feeds]]\nurl = "{site.feed_url}"\n',
        encoding="utf-8",
    )
    app = open_app(load_settings(config))
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
