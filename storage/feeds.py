"""The feeds table: what to poll, when next, and how the last poll went."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from . import clock
from .errors import NotFound
from .transaction import write_transaction


@dataclass(frozen=True)
class Feed:
    id: int
    url: str
    title: str | None
    interval_s: int | None
    enabled: bool
    source: str
    etag: str | None
    last_modified: str | None
    content_hash: str | None
    added_at: str
    last_checked_at: str | None
    last_success_at: str | None
    next_check_at: str | None
    last_status: str | None
    error_count: int
    last_error: str | None
    last_error_kind: str | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Feed:
        fields = {name: row[name] for name in cls.__dataclass_fields__}
        fields["enabled"] = bool(row["enabled"])
        return cls(**fields)


def add_feed(
    db: Database, url: str, *, source: str = "cli", interval_s: int | None = None
) -> tuple[Feed, bool]:
    """Add a feed if its URL is not known yet; return it and whether it was added."""
    existing = find_feed(db, url)
    if existing is not None:
        return existing, False
    with write_transaction(db):
        db.execute(
            "INSERT INTO feeds (url, source, interval_s, added_at, next_check_at) "
            "VALUES (?, ?, ?, ?, ?)",
            [url, source, interval_s, clock.iso_now(), clock.iso_now()],
        )
    feed = find_feed(db, url)
    assert feed is not None
    return feed, True


def find_feed(db: Database, url_or_id: str | int) -> Feed | None:
    column = "id" if isinstance(url_or_id, int) else "url"
    rows = list(db.query(f"SELECT * FROM feeds WHERE {column} = ?", [url_or_id]))
    return Feed.from_row(rows[0]) if rows else None


def get_feed(db: Database, url_or_id: str | int) -> Feed:
    feed = find_feed(db, url_or_id)
    if feed is None:
        raise NotFound(f"no feed {url_or_id!r}", hint="`monitor feeds list` shows the known feeds")
    return feed


def list_feeds(db: Database) -> list[Feed]:
    return [Feed.from_row(row) for row in db.query("SELECT * FROM feeds ORDER BY id")]


def remove_feed(db: Database, url_or_id: str | int) -> Feed:
    """Remove a feed; its stored articles stay (their feed becomes unknown)."""
    feed = get_feed(db, url_or_id)
    with write_transaction(db):
        db.execute("DELETE FROM feeds WHERE id = ?", [feed.id])
    return feed


def due_feeds(db: Database, *, now: str | None = None, include_all: bool = False) -> list[Feed]:
    """Enabled feeds whose next check time has come (or every enabled feed)."""
    if include_all:
        rows = db.query("SELECT * FROM feeds WHERE enabled = 1 ORDER BY id")
    else:
        rows = db.query(
            "SELECT * FROM feeds WHERE enabled = 1 "
            "AND (next_check_at IS NULL OR next_check_at <= ?) ORDER BY next_check_at, id",
            [now or clock.iso_now()],
        )
    return [Feed.from_row(row) for row in rows]


def record_success(
    db: Database,
    feed_id: int,
    *,
    status: str,
    next_check_at: str,
    etag: str | None,
    last_modified: str | None,
    content_hash: str | None,
    title: str | None = None,
    warning: str | None = None,
) -> None:
    """A poll that worked (``status`` is ``new`` or ``unchanged``); a warning may remain."""
    now = clock.iso_now()
    with write_transaction(db):
        db.execute(
            "UPDATE feeds SET last_status = ?, last_checked_at = ?, last_success_at = ?, "
            "next_check_at = ?, etag = ?, last_modified = ?, content_hash = ?, "
            "title = COALESCE(?, title), error_count = 0, last_error = ?, "
            "last_error_kind = ? WHERE id = ?",
            [
                status,
                now,
                now,
                next_check_at,
                etag,
                last_modified,
                content_hash,
                title,
                warning,
                "warning" if warning else None,
                feed_id,
            ],
        )


def record_failure(
    db: Database, feed_id: int, *, kind: str, message: str, next_check_at: str
) -> None:
    with write_transaction(db):
        db.execute(
            "UPDATE feeds SET last_status = 'error', last_checked_at = ?, next_check_at = ?, "
            "error_count = error_count + 1, last_error = ?, last_error_kind = ? WHERE id = ?",
            [clock.iso_now(), next_check_at, message, kind, feed_id],
        )
