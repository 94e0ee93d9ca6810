"""The alert outbox: rows wait as ``pending`` until a channel accepts them (``sent``) or
fails for good (``dead``). A delivery marks its row only after the channel accepted it, so a
crash in between means at most one repeat, never a loss."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from . import clock
from .transaction import write_transaction

STATUSES = ("pending", "sent", "dead")


@dataclass(frozen=True)
class OutboxRow:
    id: int
    dedup_key: str
    channel: str
    kind: str
    payload: dict[str, Any]
    status: str
    attempts: int
    created_at: str
    next_attempt_at: str
    sent_at: str | None
    last_error: str | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> OutboxRow:
        return cls(
            id=row["id"],
            dedup_key=row["dedup_key"],
            channel=row["channel"],
            kind=row["kind"],
            payload=json.loads(row["payload"]),
            status=row["status"],
            attempts=row["attempts"],
            created_at=row["created_at"],
            next_attempt_at=row["next_attempt_at"],
            sent_at=row["sent_at"],
            last_error=row["last_error"],
        )


DIGEST_KIND = "digest"  # weekly digests share the outbox but are delivered by the digest job


def due_rows(db: Database, *, limit: int = 500, digests: bool = False) -> list[OutboxRow]:
    """Due alert rows, or with ``digests=True`` due digest rows (never both: each has its
    own sender)."""
    rows = db.query(
        "SELECT * FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? "
        f"AND kind {'=' if digests else '!='} ? ORDER BY id LIMIT ?",
        [clock.iso_now(), DIGEST_KIND, limit],
    )
    return [OutboxRow.from_row(row) for row in rows]


def claim(db: Database, row_id: int, *, lease_seconds: float) -> bool:
    """Take a due row for sending by moving its next attempt past a lease; False when another
    process took it first. A sender that dies leaves the row due again after the lease."""
    now = clock.iso_now()
    with write_transaction(db):
        cursor = db.execute(
            "UPDATE outbox SET next_attempt_at = ? WHERE id = ? AND status = 'pending' "
            "AND next_attempt_at <= ?",
            [clock.iso_now(lease_seconds), row_id, now],
        )
    return cursor.rowcount == 1


def mark_sent(db: Database, row_id: int) -> None:
    with write_transaction(db):
        db.execute(
            "UPDATE outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1, "
            "last_error = NULL WHERE id = ?",
            [clock.iso_now(), row_id],
        )


def mark_failed(db: Database, row_id: int, *, error: str, retry_in: float | None) -> None:
    """A failed attempt: retry after ``retry_in`` seconds, or dead-letter when None."""
    with write_transaction(db):
        if retry_in is None:
            db.execute(
                "UPDATE outbox SET status = 'dead', attempts = attempts + 1, last_error = ? "
                "WHERE id = ?",
                [error, row_id],
            )
        else:
            db.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?, "
                "next_attempt_at = ? WHERE id = ?",
                [error, clock.iso_now(retry_in), row_id],
            )


def list_rows(db: Database, *, status: str | None = None, limit: int = 50) -> list[OutboxRow]:
    if status:
        rows = db.query(
            "SELECT * FROM outbox WHERE status = ? ORDER BY id DESC LIMIT ?", [status, limit]
        )
    else:
        rows = db.query("SELECT * FROM outbox ORDER BY id DESC LIMIT ?", [limit])
    return [OutboxRow.from_row(row) for row in rows]


def requeue(db: Database, *, status: str = "dead") -> int:
    """Put dead (or all failed pending) rows back in the queue now; return how many."""
    with write_transaction(db):
        cursor = db.execute(
            "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = ? "
            "WHERE status = ?",
            [clock.iso_now(), status],
        )
    return cursor.rowcount


def counts(db: Database) -> dict[str, int]:
    result = dict.fromkeys(STATUSES, 0)
    for status, count in db.execute("SELECT status, count(*) FROM outbox GROUP BY status"):
        result[status] = count
    return result
