"""Entries whose processing failed: retried at later polls, given up after a few attempts."""

from __future__ import annotations

from sqlite_utils import Database

from . import clock
from .transaction import write_transaction


def attempts(db: Database, feed_id: int, entry_key: str) -> int:
    row = db.execute(
        "SELECT attempts FROM entry_attempts WHERE feed_id = ? AND entry_key = ?",
        [feed_id, entry_key],
    ).fetchone()
    return int(row[0]) if row else 0


def record_attempt(
    db: Database, feed_id: int, entry_key: str, *, error: str, give_up: bool = False
) -> int:
    """Count a failed attempt; return the number of attempts so far."""
    with write_transaction(db):
        db.execute(
            "INSERT INTO entry_attempts (feed_id, entry_key, attempts, last_error, gave_up, "
            "updated_at) VALUES (?, ?, 1, ?, ?, ?) ON CONFLICT(feed_id, entry_key) DO UPDATE SET "
            "attempts = attempts + 1, last_error = excluded.last_error, "
            "gave_up = excluded.gave_up, updated_at = excluded.updated_at",
            [feed_id, entry_key, error, int(give_up), clock.iso_now()],
        )
    return attempts(db, feed_id, entry_key)


def given_up(db: Database, feed_id: int, entry_key: str) -> bool:
    row = db.execute(
        "SELECT gave_up FROM entry_attempts WHERE feed_id = ? AND entry_key = ?",
        [feed_id, entry_key],
    ).fetchone()
    return bool(row and row[0])


def clear(db: Database, feed_id: int, entry_key: str) -> None:
    """Forget the attempts of an entry now stored (inside the caller's transaction)."""
    db.execute(
        "DELETE FROM entry_attempts WHERE feed_id = ? AND entry_key = ?", [feed_id, entry_key]
    )
