"""Storing one new article: the article, its story, its matches, their outbox rows and the
site's block counts in ONE transaction (DESIGN.md's guarantee), so a crash leaves either all
of it or none.

It runs in the daemon's process, or on a worker process (``fetch.workers``) that opened the
same SQLite file: the database serialises the writers (WAL, ``BEGIN IMMEDIATE``, a busy
timeout), and the duplicate check inside the transaction sees what any other process stored.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

from storage import articles, boilerplate, clock, entries, matches
from storage.articles import NewArticle
from storage.matches import NewMatch
from storage.transaction import write_transaction
from watchlists import Match

from .extract import Extraction, html_to_text
from .parse import Entry
from .stories import Signature, assign_story
from .urls import canonical_url, site_of


@dataclass
class EntryOutcome:
    """``stored`` (with its match count), ``known`` (stored meanwhile), ``deferred`` (retried
    at the next poll) or ``given_up``, with the reason."""

    status: str
    matches: int = 0
    reason: str | None = None


def article_from(
    feed_id: int,
    feed_url: str,
    entry: Entry,
    page_url: str | None,
    extraction: Extraction | None,
    reason: str | None,
) -> NewArticle:
    """The article to store: the extracted page, else the feed's own content (``reason``
    says why the page was not used)."""
    status = "extracted"
    if extraction is not None:
        text = extraction.text
    else:
        text = html_to_text(entry.content_html)
        status = "feed_content" if text else "failed"
        reason = f"{reason}; used the feed's own content" if text else f"{reason}; no text at all"
    return NewArticle(
        feed_id=feed_id,
        entry_key=entry.key,
        guid=entry.guid,
        url=entry.link,
        canonical_url=canonical_url(page_url) if page_url else None,
        title=entry.title or (extraction.title if extraction and extraction.title else ""),
        author=entry.author or (extraction.author if extraction else None),
        published=entry.published or (extraction.published if extraction else None),
        fetched_at=clock.iso_now(),
        language=extraction.language if extraction else None,
        site=site_of(page_url) or site_of(feed_url),
        text=text,
        extraction_status=status,
        extraction_reason=reason,
        summary=extraction.summary if extraction else None,
    )


def store_article(
    db: Database,
    channels: tuple[str, ...],
    article: NewArticle,
    found: list[Match],
    signature: Signature | None,
    extraction: Extraction | None = None,
) -> EntryOutcome:
    """Store ``article`` with its matches (routed to the configured ``channels``) in one
    transaction; an article already stored under another URL or feed is not stored again."""
    links = tuple(
        dict.fromkeys(
            u
            for u in (article.canonical_url, canonical_url(article.url) if article.url else None)
            if u
        )
    )
    with write_transaction(db):
        if articles.known_entry(db, article.feed_id or 0, article.entry_key, links):
            return EntryOutcome("known")
        article_id = articles.insert_article(db, article)
        story_id = assign_story(db, article_id, article.title, signature)
        if article.feed_id is not None:
            entries.clear(db, article.feed_id, article.entry_key)
        if extraction is not None and extraction.blocks:
            boilerplate.record(db, article.site, extraction.blocks)
        for match in found:
            # A watchlist naming only channels that are not configured still alerts somewhere.
            routed = tuple(c for c in match.channels if c in channels) or channels
            if match.severity != "immediate":
                routed = ()  # waits for the digest
            payload = alert_payload(article, article_id, match)
            payload["story_id"] = story_id
            matches.insert_match(
                db,
                article_id,
                NewMatch(match.watchlist, match.severity, match.score, match.explanation(), routed),
                payload,
                story_id=story_id,
            )
    return EntryOutcome("stored", matches=len(found))


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
