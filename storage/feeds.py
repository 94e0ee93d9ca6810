"""The feeds table: what to poll, when next, and how the last poll went."""

from __future__ import annotations

import json
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
    site_url: str | None
    moved_from: str | None  # the URL it had before a permanent redirect (the oldest one)
    disabled_reason: str | None
    last_new_at: str | None  # the last poll that found new entries
    usual_gap_s: float | None  # the usual time between its entries
    category: str | None  # "News/Caucasus": the OPML folders it was imported from

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Feed:
        fields = {name: row[name] for name in cls.__dataclass_fields__}
        fields["enabled"] = bool(row["enabled"])
        return cls(**fields)


def add_feed(
    db: Database,
    url: str,
    *,
    source: str = "cli",
    interval_s: int | None = None,
    title: str | None = None,
    category: str | None = None,
) -> tuple[Feed, bool]:
    """Add a feed if its URL is not known yet; return it and whether it was added."""
    existing = find_feed(db, url)
    if existing is not None:
        return existing, False
    with write_transaction(db):
        db.execute(
            "INSERT INTO feeds (url, source, interval_s, added_at, next_check_at, title, "
            "category) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [url, source, interval_s, clock.iso_now(), clock.iso_now(), title, category],
        )
    feed = find_feed(db, url)
    assert feed is not None
    return feed, True


def set_interval(db: Database, feed_id: int, interval_s: int | None, *, check_by: str) -> None:
    """A new polling interval (None: the default); a next check set further out than
    ``check_by`` by the old interval is brought in to it."""
    with write_transaction(db):
        db.execute(
            "UPDATE feeds SET interval_s = ?, next_check_at = CASE WHEN next_check_at > ? "
            "THEN ? ELSE next_check_at END WHERE id = ?",
            [interval_s, check_by, check_by, feed_id],
        )


def find_feed(db: Database, url_or_id: str | int) -> Feed | None:
    """By id, by URL, or by the URL it had before a permanent redirect moved it."""
    if isinstance(url_or_id, int):
        rows = list(db.query("SELECT * FROM feeds WHERE id = ?", [url_or_id]))
    else:
        rows = list(
            db.query(
                "SELECT * FROM feeds WHERE url = ? OR moved_from = ? ORDER BY url = ? DESC",
                [url_or_id, url_or_id, url_or_id],
            )
        )
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


def due_feeds(
    db: Database,
    *,
    now: str | None = None,
    include_all: bool = False,
    longest_wait_s: float = 7 * 86400.0,
) -> list[Feed]:
    """Enabled feeds whose next check time has come (or every enabled feed). So is a feed
    whose next check is further out than any wait the scheduler sets (``longest_wait_s``,
    or its own interval, plus a day): it was set while the clock ran ahead, and would leave
    the feed unread for as long."""
    if include_all:
        rows = db.query("SELECT * FROM feeds WHERE enabled = 1 ORDER BY id")
    else:
        rows = db.query(
            "SELECT * FROM feeds WHERE enabled = 1 AND (next_check_at IS NULL "
            "OR next_check_at <= :now OR julianday(next_check_at) > julianday(:now) "
            "+ (MAX(:wait, COALESCE(interval_s, 0)) + 86400) / 86400.0) "
            "ORDER BY next_check_at, id",
            {"now": now or clock.iso_now(), "wait": longest_wait_s},
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
    site_url: str | None = None,
    found_new: bool = False,
    usual_gap_s: float | None = None,
) -> None:
    """A poll that worked (``status`` is ``new`` or ``unchanged``); a warning may remain.
    The error count goes back to zero, so the backoff starts afresh at the next failure."""
    now = clock.iso_now()
    with write_transaction(db):
        db.execute(
            "UPDATE feeds SET last_status = ?, last_checked_at = ?, last_success_at = ?, "
            "next_check_at = ?, etag = ?, last_modified = ?, content_hash = ?, "
            "title = COALESCE(?, title), site_url = COALESCE(?, site_url), error_count = 0, "
            "last_error = ?, last_error_kind = ?, "
            "last_new_at = CASE WHEN ? THEN ? ELSE COALESCE(last_new_at, ?) END, "
            "usual_gap_s = COALESCE(?, usual_gap_s) WHERE id = ?",
            [
                status,
                now,
                now,
                next_check_at,
                etag,
                last_modified,
                content_hash,
                title,
                site_url,
                warning,
                "warning" if warning else None,
                found_new,
                now,
                now,
                usual_gap_s,
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


def move_feed(db: Database, feed_id: int, new_url: str) -> bool:
    """Point a feed at the URL it moved to for good (HTTP 301/308); False when another feed
    already has that URL (the two are then left as they are)."""
    with write_transaction(db):
        taken = db.execute(
            "SELECT 1 FROM feeds WHERE url = ? AND id != ?", [new_url, feed_id]
        ).fetchone()
        if taken:
            return False
        db.execute(
            "UPDATE feeds SET moved_from = COALESCE(moved_from, url), url = ? WHERE id = ?",
            [new_url, feed_id],
        )
    return True


def disable_feed(db: Database, feed_id: int, *, reason: str) -> None:
    """Stop polling a feed (e.g. HTTP 410 Gone), with the reason shown by ``feeds status``."""
    with write_transaction(db):
        db.execute(
            "UPDATE feeds SET enabled = 0, disabled_reason = ?, last_status = 'disabled', "
            "last_checked_at = ?, last_error = ?, last_error_kind = 'gone' WHERE id = ?",
            [reason, clock.iso_now(), reason, feed_id],
        )


def enable_feed(db: Database, url_or_id: str | int) -> Feed:
    """Poll a feed again from now on, with a clean error count."""
    feed = get_feed(db, url_or_id)
    with write_transaction(db):
        db.execute(
            "UPDATE feeds SET enabled = 1, disabled_reason = NULL, error_count = 0, "
            "last_status = 're-enabled', "
            "next_check_at = ?, last_error = NULL, last_error_kind = NULL WHERE id = ?",
            [clock.iso_now(), feed.id],
        )
    return get_feed(db, feed.id)


def queue_feed_alert(
    db: Database, key: str, channels: tuple[str, ...], payload: dict[str, Any]
) -> int:
    """An operator alert about a feed's health in the outbox, once per ``key`` and channel
    (the key names the episode: a feed failing since its last success alerts once)."""
    now = clock.iso_now()
    body = json.dumps(payload, ensure_ascii=False)
    queued = 0
    with write_transaction(db):
        for channel in channels:
            cursor = db.execute(
                "INSERT INTO outbox (dedup_key, channel, kind, payload, created_at, "
                "next_attempt_at) VALUES (?, ?, 'feed_health', ?, ?, ?) "
                "ON CONFLICT(dedup_key) DO NOTHING",
                [f"{key}:{channel}", channel, body, now, now],
            )
            queued += cursor.rowcount
    return queued


def settled_entry_keys(db: Database, feed_id: int, keys: list[str]) -> set[str]:
    """Of ``keys``, those this feed has already stored or given up on: one query per feed
    instead of two per entry, for a feed that repeats its 50 entries at every change."""
    settled: set[str] = set()
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        marks = ", ".join("?" * len(chunk))
        rows = db.execute(
            f"SELECT entry_key FROM articles WHERE feed_id = ? AND entry_key IN ({marks}) "
            "UNION SELECT entry_key FROM entry_attempts WHERE feed_id = ? AND gave_up = 1 "
            f"AND entry_key IN ({marks})",
            [feed_id, *chunk, feed_id, *chunk],
        )
        settled.update(row[0] for row in rows)
    return settled
