"""The articles table and its full-text index."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from .errors import StorageError


@dataclass(frozen=True)
class NewArticle:
    """What the pipeline hands over to be stored."""

    feed_id: int | None
    entry_key: str
    guid: str | None
    url: str | None
    canonical_url: str | None
    title: str
    author: str | None
    published: str | None
    fetched_at: str
    language: str | None
    site: str | None
    text: str
    extraction_status: str
    extraction_reason: str | None
    summary: str | None = None  # a standfirst taken out of the text (see monitor.extract)


def stored_after(db: Database, article_id: int, moment: str | None) -> bool:
    """Whether the article was stored after ``moment`` (a stored timestamp; None: ever)."""
    if moment is None:
        return True
    row = db.execute("SELECT fetched_at > ? FROM articles WHERE id = ?", [moment, article_id])
    found = row.fetchone()
    return bool(found and found[0])


def known_entry(
    db: Database, feed_id: int, entry_key: str, canonical_urls: list[str] | tuple[str, ...] = ()
) -> int | None:
    """The id of an article already stored for this entry (same key in this feed, or one of
    the canonical URLs from any feed), else None."""
    row = db.execute(
        "SELECT id FROM articles WHERE feed_id = ? AND entry_key = ?", [feed_id, entry_key]
    ).fetchone()
    for url in canonical_urls:
        if row is not None:
            break
        row = db.execute(
            "SELECT id FROM articles WHERE canonical_url = ? LIMIT 1", [url]
        ).fetchone()
    return int(row[0]) if row else None


def insert_article(db: Database, article: NewArticle) -> int:
    """Insert inside the caller's transaction; return the new id."""
    cursor = db.execute(
        "INSERT INTO articles (feed_id, entry_key, guid, url, canonical_url, title, author, "
        "published, fetched_at, language, site, text, extraction_status, extraction_reason, "
        "summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            article.feed_id,
            article.entry_key,
            article.guid,
            article.url,
            article.canonical_url,
            article.title,
            article.author,
            article.published,
            article.fetched_at,
            article.language,
            article.site,
            article.text,
            article.extraction_status,
            article.extraction_reason,
            article.summary,
        ],
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def count_articles(db: Database) -> int:
    return int(db.execute("SELECT count(*) FROM articles").fetchone()[0])


def search_articles(db: Database, query: str, *, limit: int = 20) -> list[dict[str, Any]]:
    """Full-text search (SQLite FTS5 syntax), best first, with a marked snippet."""
    sql = (
        "SELECT a.id, a.title, a.url, a.site, a.published, a.fetched_at, "
        "snippet(articles_fts, -1, '[', ']', ' … ', 16) AS snippet "
        "FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid "
        "WHERE articles_fts MATCH ? ORDER BY bm25(articles_fts, 5.0, 2.0, 1.0) LIMIT ?"
    )
    try:
        return list(db.query(sql, [query, limit]))
    except sqlite3.OperationalError as exc:
        raise StorageError(
            f"search query {query!r} is not valid: {exc}",
            hint='quote phrases with double quotes, e.g. "Zangezur corridor"',
        ) from exc


def articles_since(db: Database, since: str) -> Iterator[dict[str, Any]]:
    """Stored articles fetched at or after ``since`` (ISO time), oldest first: what a
    watchlist is replayed over before it is relied on. Read-only."""
    sql = (
        "SELECT id, title, summary, text, url, canonical_url, site, language, fetched_at "
        "FROM articles "
        "WHERE fetched_at >= ? ORDER BY fetched_at, id"
    )
    yield from db.query(sql, [since])
