"""One poll cycle, reading like the flow in DESIGN.md:

    due feeds -> fetch feed (conditional GET) -> parse (only a changed body) -> new entries
    -> fetch page -> extract + clean -> match -> store article, matches and outbox rows in
    ONE transaction -> deliver the outbox

A feed's ETag/Last-Modified/content hash are saved only when all its new entries were dealt
with, so a crash, a stop or a transient page failure makes the next poll see the whole feed
again and pick up what was not stored. Every feed and every entry fails alone: an exception
in one is recorded on it and the rest of the cycle goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import BinaryIO, TypeVar

from storage import SchemaTooNew, articles, boilerplate, clock, entries, feeds
from storage.feeds import Feed
from storage.transaction import write_transaction

from . import schedule, workers
from .app import App
from .channels.render import one_line
from .errors import ExtractError, FeedParseError, FetchError, WorkerLost
from .fetch import Fetcher
from .health import raise_alerts
from .parse import Entry, parse_feed
from .relay import DeliveryReport
from .store import EntryOutcome
from .urls import canonical_url

log = logging.getLogger(__name__)

MAX_ENTRY_ATTEMPTS = 3  # polls an entry is retried before falling back or giving up
# Entries of one feed in flight at once: enough to keep per-host page slots busy, few enough
# that fifty feeds of fifty new entries do not hold 2,500 articles in memory together.
ENTRY_BATCH = 8
FEED_CONTENT_BATCH = 25  # entries stored in one transaction when pages are not fetched
LOCK_POLL_S = 0.2  # how often a cycle waiting for another process's looks again


@dataclass
class FeedOutcome:
    """How one feed's poll ended: ``new``, ``unchanged``, ``failed`` (with the reason) or
    ``interrupted`` (the daemon is stopping; the feed is seen whole again next time)."""

    url: str
    status: str
    new_articles: int = 0
    matches: int = 0
    error: str | None = None
    warning: str | None = None


@dataclass
class CycleReport:
    feeds: list[FeedOutcome] = field(default_factory=list)
    delivery: DeliveryReport = field(default_factory=DeliveryReport)
    health_alerts: int = 0  # operator alerts queued about failing, silent or disabled feeds

    def count(self, status: str) -> int:
        return sum(1 for outcome in self.feeds if outcome.status == status)

    @property
    def new_articles(self) -> int:
        return sum(outcome.new_articles for outcome in self.feeds)

    @property
    def matches(self) -> int:
        return sum(outcome.matches for outcome in self.feeds)


Progress = Callable[[FeedOutcome], None]


class _Defer(Exception):
    """This entry waits for the next poll (a page that failed for now)."""


async def run_cycle(
    app: App,
    *,
    include_all: bool = False,
    on_feed: Progress | None = None,
    on_start: Callable[[int], None] | None = None,
    stop: asyncio.Event | None = None,
) -> CycleReport:
    """Poll every due feed (or every feed), store what is new, deliver the alerts. One
    cycle at a time per database (``one_cycle_at_a_time``)."""
    async with one_cycle_at_a_time(app.settings.database, stop) as running:
        if not running:
            return CycleReport()  # asked to stop while another process's cycle ran
        return await _run_cycle(app, include_all, on_feed, on_start, stop)


@contextlib.asynccontextmanager
async def one_cycle_at_a_time(
    database: str | Path, stop: asyncio.Event | None = None
) -> AsyncIterator[bool]:
    """Hold the database's cycle lock (an advisory lock on ``DATABASE.cycle-lock``) while a
    cycle runs, waiting for one another process holds: ``monitor fetch`` run while the
    daemon polls waits for its cycle, then finds due only what is still due, instead of
    polling the same feeds at the same time. The kernel lets the lock go with its process,
    however that ends. Yields False if ``stop`` is set while waiting; a lock file that cannot
    be opened (a read-only folder) means no lock. The lock file is beside the database's
    real path (symbolic links resolved)."""
    if str(database) == ":memory:":
        yield True
        return
    path = Path(f"{Path(database).resolve()}.cycle-lock")
    if path in _held:  # flock is per open file: the same process would wait for itself
        raise RuntimeError(f"a cycle on {database} is already running in this process")
    handle = _open_lock(path)
    if handle is None:
        yield True
        return
    _held.add(path)
    try:
        with handle:
            if not await _wait_for_lock(handle, database, stop):
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        _held.discard(path)


async def _wait_for_lock(
    handle: BinaryIO, database: str | Path, stop: asyncio.Event | None
) -> bool:
    """Take the lock on ``handle``, saying once that another process holds it; False when
    ``stop`` is set meanwhile."""
    told = False
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if not told:
                log.warning("another process is polling the feeds of %s: waiting", database)
                told = True
            if stop is not None and stop.is_set():
                return False
            await asyncio.sleep(LOCK_POLL_S)


_held: set[Path] = set()  # the cycle locks this process holds or waits for


def _open_lock(path: Path) -> BinaryIO | None:
    """The lock file, made if need be; read-only when another user made it (flock needs no
    write access: a `sudo monitor fetch` must not turn the daemon's lock off)."""
    try:
        return open(path, "a+b")  # closed by the caller
    except OSError as exc:
        try:
            return open(path, "rb")
        except OSError:
            log.warning("no cycle lock at %s: %s", path, exc)
            return None


async def _run_cycle(
    app: App,
    include_all: bool,
    on_feed: Progress | None,
    on_start: Callable[[int], None] | None,
    stop: asyncio.Event | None,
) -> CycleReport:
    due = feeds.due_feeds(
        app.db, include_all=include_all, longest_wait_s=schedule.longest_wait(app.settings.fetch)
    )
    if on_start:
        on_start(len(due))
    report = CycleReport()
    slots = asyncio.Semaphore(app.settings.fetch.concurrency)

    async def one(feed: Feed, fetcher: Fetcher) -> None:
        async with slots:
            if stop is not None and stop.is_set():
                return
            outcome = await poll_feed(app, fetcher, feed, stop=stop)
        report.feeds.append(outcome)
        report.delivery.add(await app.relay.deliver_due())
        if on_feed:
            on_feed(outcome)

    async with Fetcher(app.settings.fetch) as fetcher:
        await _all_or_none(one(feed, fetcher) for feed in due)
    report.health_alerts = raise_alerts(app)
    report.delivery.add(await app.relay.deliver_due())
    _forget_stale_blocks(app)
    return report


T = TypeVar("T")


async def _all_or_none(calls: Iterable[Awaitable[T]]) -> list[T]:
    """``asyncio.gather`` of ``calls``, except that when one raises (a feed and an entry
    record their own failures: what escapes is a cancellation, or the database upgraded by
    a newer version) the others are cancelled, not left to run on without their cycle."""
    tasks = [asyncio.ensure_future(call) for call in calls]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def _forget_stale_blocks(app: App) -> None:
    """Housekeeping after the alerts are out (stale learned boilerplate): a busy database only
    postpones it."""
    try:
        with write_transaction(app.db):
            boilerplate.forget_stale(app.db, min_articles=app.settings.clean.learn_after)
    except sqlite3.OperationalError as exc:
        log.warning("housekeeping postponed to the next cycle: %s", exc)


async def poll_feed(
    app: App, fetcher: Fetcher, feed: Feed, *, stop: asyncio.Event | None = None
) -> FeedOutcome:
    """``refresh_feed``, with anything unexpected recorded on the feed instead of raised."""
    try:
        return await refresh_feed(app, fetcher, feed, stop=stop)
    except (asyncio.CancelledError, SchemaTooNew):
        raise  # cancelled, or the database upgraded by a newer version: nothing to record
    except Exception as exc:
        log.exception("feed %s: unexpected error", feed.url)
        reason = f"internal error: {type(exc).__name__}: {one_line(exc)}"[:500]
        return _record_failure(app, feed, FetchError(feed.url, "internal", reason))


def conditional_headers(feed: Feed) -> dict[str, str]:
    """The validators exactly as the server sent them: an ETag is opaque, and a
    Last-Modified is echoed byte for byte rather than re-formatted."""
    headers = {}
    if feed.etag:
        headers["If-None-Match"] = feed.etag
    if feed.last_modified:
        headers["If-Modified-Since"] = feed.last_modified
    return headers


async def refresh_feed(
    app: App, fetcher: Fetcher, feed: Feed, *, stop: asyncio.Event | None = None
) -> FeedOutcome:
    try:
        response = await fetcher.get(feed.url, headers=conditional_headers(feed))
        # A permanent move is followed once the new URL has answered with a feed (a 304 or
        # the same bytes count): a retired feed moved to the site's home page is not one.
        if response.not_modified:
            moved = _follow_move(app, feed, response.permanent_redirect)
            return _unchanged(app, feed, feed.etag, feed.last_modified, moved)
        digest = hashlib.sha256(response.body).hexdigest()
        etag, modified = response.headers.get("etag"), response.headers.get("last-modified")
        if digest == feed.content_hash:  # same bytes as last time: not parsed again
            moved = _follow_move(app, feed, response.permanent_redirect)
            return _unchanged(app, feed, etag, modified, moved)
        parsed = await workers.parse(
            app.settings.fetch.workers,
            response.body,
            url=response.url,
            headers=response.headers,
            function=parse_feed,
        )
    except FetchError as exc:
        if exc.status == 410:
            return _disable(app, feed, exc)
        return _record_failure(app, feed, exc)
    except FeedParseError as exc:
        return _record_failure(app, feed, FetchError(feed.url, "parse", exc.reason))

    moved = _follow_move(app, feed, response.permanent_redirect)  # a feed there, parsed
    fresh, shared = _new_entries(app, feed, parsed.entries)
    results: list[EntryOutcome] = []
    if not app.settings.fetch.fetch_pages:
        fresh, results = [], await store_from_feed(app, feed, fresh, stop)
    for start in range(0, len(fresh), ENTRY_BATCH):
        batch = fresh[start : start + ENTRY_BATCH]
        results += await _all_or_none(process_entry(app, fetcher, feed, e, stop) for e in batch)
    outcome = FeedOutcome(feed.url, "new")
    outcome.new_articles = sum(1 for r in results if r.status == "stored")
    outcome.matches = sum(r.matches for r in results)
    if stop is not None and stop.is_set():
        outcome.status = "interrupted"  # keep the old validators: the feed is read again
        return outcome
    problems = [r.reason for r in results if r.status in ("deferred", "given_up") and r.reason]
    warning = "; ".join(filter(None, [parsed.warning, *problems[:3]])) or None
    if len(problems) > 3:
        warning = f"{warning}; and {len(problems) - 3} more"
    deferred = any(r.status == "deferred" for r in results)
    if outcome.new_articles == 0:
        outcome.status = "unchanged"
    outcome.warning = "; ".join(filter(None, [moved, warning])) or None
    feeds.record_success(
        app.db,
        feed.id,
        status=outcome.status,
        next_check_at=clock.iso_now(schedule.interval(feed, app.settings.fetch)),
        # Entries waiting for a retry: keep the old validators so the feed is read again.
        etag=feed.etag if deferred else etag,
        last_modified=feed.last_modified if deferred else modified,
        content_hash=feed.content_hash if deferred else digest,
        title=parsed.title,
        site_url=parsed.site_url,
        warning=warning,
        found_new=outcome.new_articles > 0 or shared,
        usual_gap_s=schedule.usual_gap([entry.published for entry in parsed.entries]),
    )
    if warning:
        log.warning("%s: %s", feed.url, warning)
    return outcome


def _follow_move(app: App, feed: Feed, new_url: str | None) -> str | None:
    """A 301/308 chain moves the feed for good: store its new URL (302/307 never get here)."""
    if not new_url or new_url == feed.url:
        return None
    if feeds.move_feed(app.db, feed.id, new_url):
        log.warning("feed %s moved permanently to %s", feed.url, new_url)
        return f"moved permanently to {new_url}; the stored URL is updated"
    return f"moved permanently to {new_url}, which is already another feed; URL kept"


def _unchanged(
    app: App, feed: Feed, etag: str | None, modified: str | None, moved: str | None = None
) -> FeedOutcome:
    feeds.record_success(
        app.db,
        feed.id,
        status="unchanged",
        next_check_at=clock.iso_now(schedule.interval(feed, app.settings.fetch)),
        etag=etag,
        last_modified=modified,
        content_hash=feed.content_hash,
    )
    return FeedOutcome(feed.url, "unchanged", warning=moved)


def _record_failure(app: App, feed: Feed, exc: FetchError) -> FeedOutcome:
    delay = schedule.after_failure(
        feed, app.settings.fetch, status=exc.status, retry_after=exc.retry_after
    )
    feeds.record_failure(
        app.db, feed.id, kind=exc.kind, message=exc.reason, next_check_at=clock.iso_now(delay)
    )
    log.error("feed failed: %s: %s", feed.url, exc.reason)
    return FeedOutcome(feed.url, "failed", error=f"{feed.url}: {exc.reason}")


def _disable(app: App, feed: Feed, exc: FetchError) -> FeedOutcome:
    """410 Gone: the site says the feed is gone for good, so polling it again is rude."""
    reason = f"{exc.reason} Gone: the site removed this feed; disabled (`monitor feeds enable`)"
    feeds.disable_feed(app.db, feed.id, reason=reason)
    log.error("feed disabled: %s: %s", feed.url, reason)
    return FeedOutcome(feed.url, "failed", error=f"{feed.url}: {reason}")


def _new_entries(app: App, feed: Feed, parsed: list[Entry]) -> tuple[list[Entry], bool]:
    """Entries not stored yet (nor given up), each key once; and whether the feed published
    anything since its last poll that another feed's copy was stored for first (a section
    feed repeating the main feed's stories is not silent)."""
    fresh: dict[str, Entry] = {}
    shared = False
    settled = feeds.settled_entry_keys(app.db, feed.id, [entry.key for entry in parsed])
    for entry in parsed:
        key = entry.key
        if key in fresh or key in settled:
            continue
        links = (canonical_url(entry.link),) if entry.link else ()
        known = articles.known_entry(app.db, feed.id, key, links)
        if known is None:
            fresh[key] = entry
        elif not shared:
            shared = articles.stored_after(app.db, known, feed.last_checked_at)
    return list(fresh.values()), shared


async def process_entry(
    app: App, fetcher: Fetcher, feed: Feed, entry: Entry, stop: asyncio.Event | None = None
) -> EntryOutcome:
    """Fetch, extract, match and store one new entry; it fails alone."""
    if stop is not None and stop.is_set():
        return EntryOutcome("deferred", reason="stopping")
    try:
        page_url, body, reason = await fetch_page(app, fetcher, feed, entry)
        job = _job(app, feed, entry, page_url, body, reason)
        folder = str(app.settings.watchlists)
        count = app.settings.fetch.workers
        if body is not None:
            try:
                return await workers.finish_page(count, app.db, app.matcher, folder, job)
            except WorkerLost as exc:
                if stop is not None and stop.is_set():
                    return EntryOutcome("deferred", reason="stopping")
                _retry_later(app, feed, entry, f"page {entry.link}: {exc}")
                job = replace(job, body=None, reason=f"page not extracted: {exc}")
            except ExtractError as exc:
                job = replace(job, body=None, reason=f"page yielded no text: {exc}")
        # The feed's own content stands in for the page.
        return await workers.finish_page(count, app.db, app.matcher, folder, job)
    except (asyncio.CancelledError, SchemaTooNew):
        raise  # cancelled, or the database upgraded by a newer version: nothing to record
    except _Defer as exc:
        return EntryOutcome("deferred", reason=str(exc))
    except Exception as exc:
        log.exception("entry %s of %s: unexpected error", entry.key, feed.url)
        return _entry_failed(app, feed, entry, f"{type(exc).__name__}: {one_line(exc)}")


async def store_from_feed(
    app: App, feed: Feed, fresh: list[Entry], stop: asyncio.Event | None = None
) -> list[EntryOutcome]:
    """With page fetching off: store the feed's own content of its new entries, a batch at a
    time, each batch in one transaction (``workers.finish_from_feed``); an entry fails alone."""
    reason = "page fetching is off (fetch.fetch_pages = false)"
    results: list[EntryOutcome] = []
    for start in range(0, len(fresh), FEED_CONTENT_BATCH):
        batch = fresh[start : start + FEED_CONTENT_BATCH]
        if stop is not None and stop.is_set():
            results += [EntryOutcome("deferred", reason="stopping") for _ in batch]
            continue
        jobs = [
            _job(app, feed, e, e.link, None, reason if e.link else "entry has no link")
            for e in batch
        ]
        outcomes = await _finish_from_feed(app, feed, jobs)
        for entry, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, str):
                log.error("entry %s of %s: %s", entry.key, feed.url, outcome)
                outcome = _entry_failed(app, feed, entry, outcome)
            results.append(outcome)
    return results


async def _finish_from_feed(
    app: App, feed: Feed, jobs: list[workers.PageJob]
) -> list[EntryOutcome | str]:
    """``workers.finish_from_feed`` on ``jobs``; when the batch fails as a whole (its worker
    died, an error ended its transaction), its entries are tried again one by one, so that
    the entry at fault fails alone and the others are stored."""
    try:
        return await workers.finish_from_feed(
            app.settings.fetch.workers, app.db, app.matcher, str(app.settings.watchlists), jobs
        )
    except (asyncio.CancelledError, SchemaTooNew):
        raise  # cancelled, or the database upgraded by a newer version: nothing to record
    except Exception as exc:
        if len(jobs) == 1:
            return [f"{type(exc).__name__}: {one_line(exc)}"]
        log.warning("entries of %s: %s; storing them one by one", feed.url, one_line(exc))
    outcomes: list[EntryOutcome | str] = []
    for job in jobs:
        outcomes += await _finish_from_feed(app, feed, [job])
    return outcomes


def _job(
    app: App,
    feed: Feed,
    entry: Entry,
    page_url: str | None,
    body: bytes | None,
    reason: str | None,
) -> workers.PageJob:
    return workers.PageJob(
        database=str(app.settings.database.resolve()),
        channels=tuple(app.settings.channels),
        learn_after=app.settings.clean.learn_after,
        feed_id=feed.id,
        feed_url=feed.url,
        entry=entry,
        page_url=page_url,
        body=body,
        reason=reason,
    )


def _entry_failed(app: App, feed: Feed, entry: Entry, error: str) -> EntryOutcome:
    tried = entries.attempts(app.db, feed.id, entry.key) + 1
    give_up = tried >= MAX_ENTRY_ATTEMPTS
    entries.record_attempt(app.db, feed.id, entry.key, error=error, give_up=give_up)
    status = "given_up" if give_up else "deferred"
    verb = "given up after" if give_up else "will be retried; attempt"
    return EntryOutcome(status, reason=f"entry {entry.key}: {error} ({verb} {tried})")


async def fetch_page(
    app: App, fetcher: Fetcher, feed: Feed, entry: Entry
) -> tuple[str | None, bytes | None, str | None]:
    """The entry's page as (final URL, body, None), or (URL, None, why there is no page);
    a transient failure defers the entry to the next poll while it has attempts left."""
    if not entry.link:
        return None, None, "entry has no link"
    if not app.settings.fetch.fetch_pages:
        return entry.link, None, "page fetching is off (fetch.fetch_pages = false)"
    try:
        page = await fetcher.get(entry.link)
    except FetchError as exc:
        if exc.transient:
            _retry_later(app, feed, entry, f"page {entry.link}: {exc.reason}")
        return entry.link, None, f"page not fetched: {exc.reason}"
    return page.url, page.body, None


def _retry_later(app: App, feed: Feed, entry: Entry, error: str) -> None:
    """Defer an entry whose page failed for now to the next poll while it has attempts left
    (raises ``_Defer``); after that the caller falls back to the feed's content."""
    tried = entries.attempts(app.db, feed.id, entry.key) + 1
    if tried < MAX_ENTRY_ATTEMPTS:
        entries.record_attempt(app.db, feed.id, entry.key, error=error)
        raise _Defer(f"{error} (will be retried)")
