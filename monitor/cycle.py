"""One poll cycle, reading like the flow in DESIGN.md:

    due feeds -> fetch feed (conditional GET) -> parse (only a changed body) -> new entries
    -> fetch page -> extract -> store article, matches and outbox rows in ONE transaction
    -> deliver the outbox

A feed's ETag/Last-Modified are saved only after all its new entries are stored, so a crash
mid-feed makes the next poll see the whole feed again and pick up what was not stored.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from storage import articles, clock, feeds, matches
from storage.articles import NewArticle
from storage.feeds import Feed
from storage.matches import NewMatch
from watchlists import Document, Match

from .app import App
from .errors import ExtractError, FeedParseError, FetchError
from .extract import extract_page, html_to_text
from .fetch import Fetcher
from .parse import Entry, parse_feed
from .relay import DeliveryReport
from .urls import canonical_url, site_of

log = logging.getLogger(__name__)

MAX_BACKOFF = 6 * 3600.0


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

    def count(self, status: str) -> int:
        return sum(1 for outcome in self.feeds if outcome.status == status)

    @property
    def new_articles(self) -> int:
        return sum(outcome.new_articles for outcome in self.feeds)

    @property
    def matches(self) -> int:
        return sum(outcome.matches for outcome in self.feeds)


Progress = Callable[[FeedOutcome], None]


async def run_cycle(
    app: App,
    *,
    include_all: bool = False,
    on_feed: Progress | None = None,
    on_start: Callable[[int], None] | None = None,
    stop: asyncio.Event | None = None,
) -> CycleReport:
    """Poll every due feed (or every feed), store what is new, deliver the alerts."""
    due = feeds.due_feeds(app.db, include_all=include_all)
    if on_start:
        on_start(len(due))
    report = CycleReport()

    slots = asyncio.Semaphore(app.settings.fetch.concurrency)

    async def one(feed: Feed, fetcher: Fetcher) -> None:
        async with slots:
            if stop is not None and stop.is_set():
                return
            outcome = await refresh_feed(app, fetcher, feed, stop=stop)
        report.feeds.append(outcome)
        report.delivery.add(await app.relay.deliver_due())
        if on_feed:
            on_feed(outcome)

    async with Fetcher(app.settings.fetch) as fetcher:
        await asyncio.gather(*(one(feed, fetcher) for feed in due))
    report.delivery.add(await app.relay.deliver_due())
    return report


async def refresh_feed(
    app: App, fetcher: Fetcher, feed: Feed, *, stop: asyncio.Event | None = None
) -> FeedOutcome:
    interval = float(feed.interval_s or app.settings.fetch.interval)
    conditional = {}
    if feed.etag:
        conditional["If-None-Match"] = feed.etag
    if feed.last_modified:
        conditional["If-Modified-Since"] = feed.last_modified
    try:
        response = await fetcher.get(feed.url, headers=conditional)
        if response.not_modified:
            return _unchanged(app, feed, interval, feed.etag, feed.last_modified)
        digest = hashlib.sha256(response.body).hexdigest()
        etag, modified = response.headers.get("etag"), response.headers.get("last-modified")
        if digest == feed.content_hash:
            return _unchanged(app, feed, interval, etag, modified)
        parsed = parse_feed(response.body, url=feed.url, headers=response.headers)
    except (FetchError, FeedParseError) as exc:
        return _failed(app, feed, interval, exc)
    outcome = FeedOutcome(feed.url, "new", warning=parsed.warning)
    fresh = [entry for entry in parsed.entries if _is_new(app, feed, entry)]
    results = await asyncio.gather(*(process_entry(app, fetcher, feed, e, stop) for e in fresh))
    outcome.new_articles = sum(1 for stored in results if stored is not None)
    outcome.matches = sum(stored or 0 for stored in results)
    if stop is not None and stop.is_set():
        # Interrupted: keep the old validators so the next poll sees the whole feed again.
        outcome.status = "interrupted"
        return outcome
    if outcome.new_articles == 0:
        outcome.status = "unchanged"
    feeds.record_success(
        app.db,
        feed.id,
        status=outcome.status,
        next_check_at=clock.iso_now(interval),
        etag=etag,
        last_modified=modified,
        content_hash=digest,
        title=parsed.title,
        warning=parsed.warning,
    )
    if parsed.warning:
        log.warning("%s: %s", feed.url, parsed.warning)
    return outcome


def _unchanged(
    app: App, feed: Feed, interval: float, etag: str | None, modified: str | None
) -> FeedOutcome:
    feeds.record_success(
        app.db,
        feed.id,
        status="unchanged",
        next_check_at=clock.iso_now(interval),
        etag=etag,
        last_modified=modified,
        content_hash=feed.content_hash,
    )
    return FeedOutcome(feed.url, "unchanged")


def _failed(app: App, feed: Feed, interval: float, exc: FetchError | FeedParseError) -> FeedOutcome:
    kind = exc.kind if isinstance(exc, FetchError) else "parse"
    reason = exc.reason
    delay = min(MAX_BACKOFF, interval * 2 ** min(feed.error_count, 10))
    retry_after = getattr(exc, "retry_after", None)
    if retry_after:
        delay = max(delay, float(retry_after))
    feeds.record_failure(
        app.db, feed.id, kind=kind, message=reason, next_check_at=clock.iso_now(delay)
    )
    log.error("feed failed: %s: %s", feed.url, reason)
    return FeedOutcome(feed.url, "failed", error=f"{feed.url}: {reason}")


def _is_new(app: App, feed: Feed, entry: Entry) -> bool:
    key = entry.key
    if key is None:
        return False
    canonical = canonical_url(entry.link) if entry.link else None
    return articles.known_entry(app.db, feed.id, key, canonical) is None


async def process_entry(
    app: App, fetcher: Fetcher, feed: Feed, entry: Entry, stop: asyncio.Event | None = None
) -> int | None:
    """Fetch, extract, match and store one new entry; return how many watchlists matched
    (None when it was not stored: stopping, or stored meanwhile)."""
    if stop is not None and stop.is_set():
        return None
    article = await build_article(app, fetcher, feed, entry)
    found = app.matcher.match(Document(title=article.title, text=article.text))
    return store_article(app, article, found)


async def build_article(app: App, fetcher: Fetcher, feed: Feed, entry: Entry) -> NewArticle:
    status, reason, page_url = "extracted", None, entry.link
    extraction = None
    if entry.link and app.settings.fetch.fetch_pages:
        try:
            page = await fetcher.get(entry.link)
            page_url = page.url
            extraction = await asyncio.to_thread(extract_page, page.body, url=page.url)
        except FetchError as exc:
            reason = f"page not fetched: {exc.reason}"
        except ExtractError as exc:
            reason = f"page yielded no text: {exc}"
    elif not entry.link:
        reason = "entry has no link"
    else:
        reason = "page fetching is off (fetch.fetch_pages = false)"
    if extraction is not None:
        text = extraction.text
    else:
        text = html_to_text(entry.content_html)
        status = "feed_content" if text else "failed"
        reason = f"{reason}; used the feed's own content" if text else f"{reason}; no text at all"
    return NewArticle(
        feed_id=feed.id,
        entry_key=entry.key or "",
        guid=entry.guid,
        url=entry.link,
        canonical_url=canonical_url(page_url) if page_url else None,
        title=entry.title or (extraction.title if extraction and extraction.title else ""),
        author=entry.author or (extraction.author if extraction else None),
        published=entry.published or (extraction.published if extraction else None),
        fetched_at=clock.iso_now(),
        language=extraction.language if extraction else None,
        site=site_of(page_url) or site_of(feed.url),
        text=text,
        extraction_status=status,
        extraction_reason=reason,
    )


def store_article(app: App, article: NewArticle, found: list[Match]) -> int | None:
    """The article, its matches and their outbox rows in one transaction."""
    configured = tuple(app.settings.channels)
    with app.db.atomic():
        if articles.known_entry(app.db, article.feed_id or 0, article.entry_key, None) is not None:
            return None  # stored meanwhile (the same entry twice in one feed)
        article_id = articles.insert_article(app.db, article)
        for match in found:
            # A watchlist naming only channels that are not configured still alerts somewhere.
            routed = tuple(c for c in match.channels if c in configured) or configured
            if match.severity != "immediate":
                routed = ()  # waits for the digest
            payload = alert_payload(article, article_id, match)
            matches.insert_match(
                app.db,
                article_id,
                NewMatch(match.watchlist, match.severity, match.score, match.explanation(), routed),
                payload,
            )
    return len(found)


def alert_payload(article: NewArticle, article_id: int, match: Match) -> dict[str, object]:
    return {
        "article_id": article_id,
        "watchlist": match.watchlist,
        "severity": match.severity,
        "score": match.score,
        "title": article.title,
        "url": article.url,
        "site": article.site,
        "published": article.published,
        "terms": match.terms,
        "snippets": list(match.snippets),
    }
