"""Per-feed scheduling against a real local server and real SQLite: Retry-After in both forms,
backoff growth and reset, 301/308 vs 302/307, 410, feed health (failing, silent) with its
operator alert, validators echoed exactly, unchanged bodies not re-parsed, and a restart that
does not poll early."""

from __future__ import annotations

import asyncio
import fcntl
import io
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from conftest import monitor, monitor_env, rss
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

import monitor.cycle as cycle
from monitor.app import App, open_app
from monitor.config import load_settings
from monitor.cycle import CycleReport, run_cycle
from monitor.schedule import health, usual_gap
from storage import clock, feeds, outbox
from storage.feeds import Feed

FEED = rss([{"title": "One", "link": "http://127.0.0.1/1", "guid": "1", "description": "x"}])


def make_app(tmp_path: Path, urls: list[str], fetch: str = "") -> App:
    config = tmp_path / "monitor.toml"
    lines = [
        'database = "m.db"',
        "[fetch]",
        'allowed_networks = ["127.0.0.1"]',
        'interval = "60s"',
        'max_backoff = "300s"',
        "fetch_pages = false",
        fetch,
        "[channels.console]",
    ]
    lines += [f'[[feeds]]\nurl = "{url}"' for url in urls]
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return open_app(load_settings(config), stream=io.StringIO())


@pytest.fixture
def app_for(tmp_path: Path) -> Iterator[object]:
    opened: list[App] = []

    def make(urls: list[str], fetch: str = "") -> App:
        app = make_app(tmp_path, urls, fetch)
        opened.append(app)
        return app

    yield make
    for app in opened:
        app.close()


def poll(app: App, *, include_all: bool = True) -> CycleReport:
    return asyncio.run(run_cycle(app, include_all=include_all))


def the_feed(app: App) -> Feed:
    return feeds.list_feeds(app.db)[0]


def wait_of(feed: Feed) -> float:
    """Seconds from now until the feed's next check."""
    assert feed.next_check_at is not None
    return (clock.parse(feed.next_check_at) - clock.now()).total_seconds()


# --- Retry-After and backoff ---------------------------------------------------------------


def test_429_with_retry_after_in_seconds_sets_the_next_check(
    httpserver: HTTPServer, app_for
) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "3600"}
    )
    app = app_for([httpserver.url_for("/feed.xml")])

    report = poll(app)

    feed = the_feed(app)
    assert report.count("failed") == 1
    assert feed.error_count == 1 and feed.last_error_kind == "http_429"
    assert 3590 <= wait_of(feed) <= 3600  # not the 60 s backoff: the server's word


def test_429_with_retry_after_as_http_date_sets_the_next_check(
    httpserver: HTTPServer, app_for
) -> None:
    when = clock.now() + timedelta(hours=2)
    httpserver.expect_request("/feed.xml").respond_with_data(
        "slow down", status=429, headers={"Retry-After": format_datetime(when, usegmt=True)}
    )
    app = app_for([httpserver.url_for("/feed.xml")])

    poll(app)

    assert 7190 <= wait_of(the_feed(app)) <= 7200


def test_503_retry_after_is_honoured_but_a_500_one_is_not(httpserver: HTTPServer, app_for) -> None:
    httpserver.expect_request("/a.xml").respond_with_data(
        "", status=503, headers={"Retry-After": "1800"}
    )
    httpserver.expect_request("/b.xml").respond_with_data(
        "", status=500, headers={"Retry-After": "1800"}
    )
    app = app_for([httpserver.url_for("/a.xml"), httpserver.url_for("/b.xml")])

    poll(app)

    a, b = feeds.list_feeds(app.db)
    assert 1790 <= wait_of(a) <= 1800
    assert 50 <= wait_of(b) <= 60  # the first backoff step: one interval


def test_backoff_doubles_up_to_its_cap_and_resets_after_a_success(
    httpserver: HTTPServer, app_for
) -> None:
    state = {"fail": True}

    def handler(request: Request) -> Response:
        if state["fail"]:
            return Response("down", status=500)
        return Response(FEED, content_type="application/rss+xml")

    httpserver.expect_request("/feed.xml").respond_with_handler(handler)
    app = app_for([httpserver.url_for("/feed.xml")])

    waits = []
    for _ in range(5):
        poll(app)
        waits.append(wait_of(the_feed(app)))
    assert [round(w, -1) for w in waits] == [60, 120, 240, 300, 300]  # cap: max_backoff
    assert the_feed(app).error_count == 5

    state["fail"] = False
    poll(app)
    assert the_feed(app).error_count == 0
    assert 50 <= wait_of(the_feed(app)) <= 60

    state["fail"] = True
    poll(app)
    assert 50 <= wait_of(the_feed(app)) <= 60  # the backoff starts afresh


# --- redirects and 410 ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "moves"), [(301, True), (308, True), (302, False), (307, False)]
)
def test_permanent_redirects_move_the_feed_and_temporary_ones_do_not(
    httpserver: HTTPServer, app_for, status: int, moves: bool
) -> None:
    old, new = httpserver.url_for("/old.xml"), httpserver.url_for("/new.xml")
    httpserver.expect_request("/old.xml").respond_with_data(
        "", status=status, headers={"Location": "/new.xml"}
    )
    httpserver.expect_request("/new.xml").respond_with_data(
        FEED, content_type="application/rss+xml"
    )
    app = app_for([old])

    report = poll(app)

    assert report.count("new") == 1
    assert the_feed(app).url == (new if moves else old)
    if moves:
        assert "moved permanently to" in (report.feeds[0].warning or "")
        # The config still names the old URL: the next start does not add it again.
        again = app_for([old])
        assert [f.url for f in feeds.list_feeds(again.db)] == [new]


def test_a_permanent_redirect_to_a_page_that_is_no_feed_does_not_move_the_feed(
    httpserver: HTTPServer, app_for
) -> None:
    """A retired feed that 301s to the site's home page: the URL stays, the poll fails."""
    old = httpserver.url_for("/old.xml")
    httpserver.expect_request("/old.xml").respond_with_data(
        "", status=301, headers={"Location": "/"}
    )
    httpserver.expect_request("/").respond_with_data(
        "<html><body><p>Our home page</p></body></html>", content_type="text/html"
    )
    app = app_for([old])

    report = poll(app)

    assert report.count("failed") == 1
    feed = the_feed(app)
    assert (feed.url, feed.moved_from) == (old, None)


def test_410_disables_the_feed_with_a_visible_reason(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data("gone", status=410)
    app = make_app(tmp_path, [httpserver.url_for("/feed.xml")])
    try:
        report = poll(app)
        assert "HTTP 410 Gone" in (report.feeds[0].error or "")
        assert not the_feed(app).enabled
        assert poll(app).feeds == []  # not polled again, even with --all
    finally:
        app.close()
    config = tmp_path / "monitor.toml"

    status = monitor("feeds", "status", config=config)
    assert "disabled" in status.stdout and "HTTP 410 Gone" in status.stdout

    enabled = monitor("feeds", "enable", "1", config=config)
    assert enabled.returncode == 0, enabled.stderr
    assert "enabled: [1]" in enabled.stdout
    assert "disabled" not in monitor("feeds", "list", config=config).stdout


# --- health: failing and silent feeds ------------------------------------------------------


def test_a_feed_that_keeps_failing_is_reported_and_alerted_once(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data("down", status=500)
    app = make_app(tmp_path, [httpserver.url_for("/feed.xml")], "failing_after = 2")
    try:
        alerts = [poll(app).health_alerts for _ in range(4)]
        rows = [r for r in outbox.list_rows(app.db) if r.kind == "feed_health"]
    finally:
        app.close()

    assert alerts == [0, 1, 0, 0]  # once per episode, not once per poll
    assert len(rows) == 1 and rows[0].status == "sent"
    assert rows[0].payload["title"].startswith("feed keeps failing")
    status = monitor("feeds", "status", config=tmp_path / "monitor.toml").stdout
    assert "failing" in status and "4 failures in a row" in status


def test_a_feed_silent_for_longer_than_usual_is_reported(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(
        FEED, content_type="application/rss+xml"
    )
    app = make_app(tmp_path, [httpserver.url_for("/feed.xml")])
    try:
        poll(app)
        feed = the_feed(app)
        assert health(feed, app.settings.fetch).ok
        # Usually an entry an hour; the last one came ten hours ago.
        app.db.execute(
            "UPDATE feeds SET usual_gap_s = 3600, last_new_at = ? WHERE id = ?",
            [clock.iso_now(-36000), feed.id],
        )
        app.db.conn.commit()
        state = health(the_feed(app), app.settings.fetch)
        assert state.state == "silent"
        assert state.detail == "no new entry for 10h (usually one every 1h)"
        assert poll(app).health_alerts == 1
    finally:
        app.close()
    assert "silent" in monitor("feeds", "status", config=tmp_path / "monitor.toml").stdout


def test_a_feed_whose_stories_another_feed_stored_first_is_not_silent(
    httpserver: HTTPServer, app_for
) -> None:
    """A section feed repeating the main feed's stories stores none of them itself; its new
    ones still show that it publishes. Old ones, already seen, do not."""
    story = {"title": "One", "link": "http://127.0.0.1/1", "description": "x"}
    items = [story]
    httpserver.expect_request("/main.xml").respond_with_handler(
        lambda request: Response(rss(items), content_type="application/rss+xml")
    )
    httpserver.expect_request("/section.xml").respond_with_handler(
        lambda request: Response(
            rss([{**item, "guid": "s-" + item["link"]} for item in items]),
            content_type="application/rss+xml",
        )
    )
    main, section = httpserver.url_for("/main.xml"), httpserver.url_for("/section.xml")
    app = app_for([main])
    poll(app)  # the main feed stores the story
    app = app_for([main, section])
    poll(app)
    first = feeds.get_feed(app.db, section)
    assert first.last_new_at is not None
    assert app.db.execute("SELECT count(*) FROM articles").fetchone()[0] == 1

    time.sleep(1.1)  # stored timestamps are to the second
    items = [story, {"title": "Two", "link": "http://127.0.0.1/2", "description": "y"}]
    app.db.execute("UPDATE feeds SET next_check_at = ? WHERE url = ?", [clock.iso_now(), section])
    app.db.conn.commit()
    cycle_main_first(app, main, section)
    assert feeds.get_feed(app.db, section).last_new_at > first.last_new_at  # type: ignore[operator]

    time.sleep(1.1)
    later = feeds.get_feed(app.db, section).last_new_at
    poll(app)  # nothing new anywhere
    assert feeds.get_feed(app.db, section).last_new_at == later


def cycle_main_first(app: App, main: str, section: str) -> None:
    """The main feed polled, then the section feed, each in a cycle of its own."""
    for url in (main, section):
        others = [f.id for f in feeds.list_feeds(app.db) if f.url != url]
        app.db.execute(
            f"UPDATE feeds SET enabled = 0 WHERE id IN ({','.join('?' * len(others))})", others
        )
        app.db.conn.commit()
        poll(app)
        app.db.execute("UPDATE feeds SET enabled = 1")
        app.db.conn.commit()


def test_an_entry_with_a_placeholder_date_does_not_fail_its_feed(
    httpserver: HTTPServer, app_for
) -> None:
    """Go's zero date (0001-01-01), common in generated feeds, is no date: it used to be
    stored as "1-01-01T00:00:00Z", which failed the feed at every poll."""
    body = (
        b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        b"<item><title>One</title><link>http://127.0.0.1/1</link><guid>1</guid>"
        b"<pubDate>Mon, 01 Jan 0001 00:00:00 +0000</pubDate></item></channel></rss>"
    )
    httpserver.expect_request("/feed.xml").respond_with_data(
        body, content_type="application/rss+xml"
    )
    app = app_for([httpserver.url_for("/feed.xml")])

    report = poll(app)

    assert report.count("failed") == 0, report.feeds[0].error
    assert the_feed(app).error_count == 0
    published = app.db.execute("SELECT published FROM articles").fetchone()[0]
    assert published is None or published >= "1970"


def test_timestamps_keep_four_digit_years() -> None:
    from datetime import UTC, datetime

    assert clock.iso(datetime(1, 1, 1, tzinfo=UTC)) == "0001-01-01T00:00:00Z"
    assert clock.parse("0001-01-01T00:00:00Z").year == 1
    assert (
        usual_gap(["1-01-01T00:00:00Z", *[f"2025-07-01T0{h}:00:00Z" for h in (0, 1, 3)]]) == 5400.0
    )


def test_a_changed_interval_in_the_config_applies_at_the_next_start(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    url = httpserver.url_for("/feed.xml")
    httpserver.expect_request("/feed.xml").respond_with_data(
        FEED, content_type="application/rss+xml"
    )
    config = tmp_path / "monitor.toml"
    base = (
        'database = "m.db"\n[fetch]\nallowed_networks = ["127.0.0.1"]\nfetch_pages = false\n'
        f'[[feeds]]\nurl = "{url}"\n'
    )
    config.write_text(base + 'interval = "6h"\n', encoding="utf-8")
    app = open_app(load_settings(config), stream=io.StringIO())
    poll(app)
    assert 6 * 3600 - 10 <= wait_of(the_feed(app)) <= 6 * 3600
    app.close()

    config.write_text(base + 'interval = "5m"\n', encoding="utf-8")
    app = open_app(load_settings(config), stream=io.StringIO())
    try:
        feed = the_feed(app)
        assert feed.interval_s == 300
        assert wait_of(feed) <= 300  # brought in, not left 6 hours out
    finally:
        app.close()


def test_usual_gap_is_the_median_gap_between_entries() -> None:
    dates = ["2025-07-01T00:00:00Z", "2025-07-01T01:00:00Z", "2025-07-01T03:00:00Z", None]
    assert usual_gap(dates) == 5400.0
    assert usual_gap(["2025-07-01T00:00:00Z", "2025-07-01T01:00:00Z"]) is None


# --- politeness: validators and unchanged bodies -------------------------------------------


def test_validators_are_echoed_exactly_as_received(httpserver: HTTPServer, app_for) -> None:
    etag, modified = 'W/"a b, c"', "Mon, 03 Apr 2023 01:02:03 GMT"
    seen: list[tuple[str | None, str | None]] = []

    def handler(request: Request) -> Response:
        seen.append(
            (request.headers.get("If-None-Match"), request.headers.get("If-Modified-Since"))
        )
        if request.headers.get("If-None-Match") == etag:
            return Response(status=304)
        return Response(FEED, headers={"ETag": etag, "Last-Modified": modified})

    httpserver.expect_request("/feed.xml").respond_with_handler(handler)
    app = app_for([httpserver.url_for("/feed.xml")])

    assert poll(app).count("new") == 1
    assert poll(app).count("unchanged") == 1
    assert seen == [(None, None), (etag, modified)]


def test_an_unchanged_body_is_not_parsed_again(
    httpserver: HTTPServer, app_for, monkeypatch: pytest.MonkeyPatch
) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(
        FEED, content_type="application/rss+xml"
    )  # no validators at all: only the content hash can tell
    parsed: list[str] = []
    real = cycle.parse_feed

    def counting(body: bytes, **kwargs: object) -> object:
        parsed.append(str(kwargs["url"]))
        return real(body, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(cycle, "parse_feed", counting)
    app = app_for([httpserver.url_for("/feed.xml")])

    assert poll(app).count("new") == 1
    assert poll(app).count("unchanged") == 1
    assert len(httpserver.log) == 2
    assert len(parsed) == 1


# --- restarts -------------------------------------------------------------------------------


def test_a_second_fetch_does_not_poll_before_the_next_check(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(
        FEED, content_type="application/rss+xml"
    )
    make_app(tmp_path, [httpserver.url_for("/feed.xml")]).close()
    config = tmp_path / "monitor.toml"

    first = monitor("fetch", config=config)
    second = monitor("fetch", config=config)

    assert "feeds: 1 fetched" in first.stdout, first.stderr
    assert "feeds: 0 fetched, 0 unchanged, 0 failed" in second.stdout, second.stderr
    assert len(httpserver.log) == 1


def test_a_restarted_daemon_does_not_poll_early(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(
        FEED, content_type="application/rss+xml"
    )
    make_app(tmp_path, [httpserver.url_for("/feed.xml")]).close()
    config = tmp_path / "monitor.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("[fetch]", '[daemon]\ncheck_every = "1s"\n[fetch]'), "utf-8")

    def run_daemon_until(condition: object, seconds: float) -> None:
        proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "--config", str(config), "run"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            env=monitor_env(),
        )
        try:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline and not condition():  # type: ignore[operator]
                time.sleep(0.1)
        finally:
            proc.terminate()
            proc.wait(timeout=15)

    def polled_and_stored() -> bool:  # the poll's outcome is saved, not only requested
        with sqlite3.connect(tmp_path / "m.db") as conn:
            row = conn.execute("SELECT last_success_at FROM feeds").fetchone()
        return row is not None and row[0] is not None

    run_daemon_until(polled_and_stored, 30)
    assert len(httpserver.log) == 1
    run_daemon_until(lambda: False, 4)  # four check_every ticks after a fresh start
    assert len(httpserver.log) == 1


def test_a_fetch_while_another_process_polls_waits_and_polls_nothing_twice(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    """Two `monitor fetch` (or one beside the daemon) on one database: the second waits for
    the first's cycle, then finds nothing due, rather than polling the same feed at once."""

    def slow_feed(request: Request) -> Response:
        time.sleep(2)
        return Response(FEED, content_type="application/rss+xml")

    httpserver.expect_request("/feed.xml").respond_with_handler(slow_feed)
    make_app(tmp_path, [httpserver.url_for("/feed.xml")]).close()
    config = tmp_path / "monitor.toml"
    command = [sys.executable, "-m", "monitor", "--config", str(config), "fetch"]
    runs = [
        subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=monitor_env()
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=60) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert len(httpserver.log) == 1
    stdouts = sorted(out for out, _ in outputs)
    assert "feeds: 0 fetched, 0 unchanged, 0 failed" in stdouts[0]
    assert "feeds: 1 fetched" in stdouts[1]
    assert any("another process is polling the feeds" in err for _, err in outputs)


def lock_taken(database: Path, *, stop_after: float | None = None) -> bool:
    """Whether a cycle gets ``database``'s cycle lock (asked to stop after ``stop_after``
    seconds of waiting, or waiting as long as it takes)."""

    async def take() -> bool:
        stop = asyncio.Event()
        if stop_after is not None:
            asyncio.get_running_loop().call_later(stop_after, stop.set)
        async with cycle.one_cycle_at_a_time(database, stop) as running:
            return running

    return asyncio.run(take())


def test_a_cycle_waiting_for_the_lock_gives_up_when_asked_to_stop(tmp_path: Path) -> None:
    database = tmp_path / "m.db"
    with open(f"{database}.cycle-lock", "a+b") as held:
        fcntl.flock(held, fcntl.LOCK_EX)

        started = time.monotonic()
        assert lock_taken(database, stop_after=0.5) is False
        assert 0.4 < time.monotonic() - started < 5
    assert lock_taken(database) is True  # let go with its holder


def test_a_lock_file_another_user_made_is_still_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lock file made by `sudo monitor fetch` cannot be opened for writing by the daemon's
    user: it is opened read-only, and the lock still holds."""
    database = tmp_path / "m.db"
    lock = tmp_path / "m.db.cycle-lock"
    lock.touch()
    real_open = open

    def no_write(path: object, mode: str = "r", *args: object, **kwargs: object) -> object:
        if "+" in mode or "a" in mode or "w" in mode:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, mode, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(cycle, "open", no_write, raising=False)
    with real_open(lock, "rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)

        assert lock_taken(database, stop_after=0.3) is False  # it waited: the lock held


def test_a_cycle_inside_a_cycle_of_the_same_process_is_refused(tmp_path: Path) -> None:
    """flock belongs to an open file, not a process: a second cycle of the same process
    would wait for itself for ever."""

    async def nested() -> None:
        async with (
            cycle.one_cycle_at_a_time(tmp_path / "m.db"),
            cycle.one_cycle_at_a_time(tmp_path / "." / "m.db"),
        ):
            pass

    with pytest.raises(RuntimeError, match="already running in this process"):
        asyncio.run(nested())

    assert lock_taken(tmp_path / "m.db") is True
