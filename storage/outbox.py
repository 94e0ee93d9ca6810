"""The alert outbox: rows wait as ``pending`` until a channel accepts them (``sent``) or
fails for good (``dead``). A delivery marks its row only after the channel accepted it, so a
crash in between means at most one repeat, never a loss."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
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
    recipients: tuple[str, ...] | None = None  # email: only these are still owed the alert

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
            recipients=tuple(json.loads(row["recipients"])) if row.get("recipients") else None,
        )


DIGEST_KIND = "digest"  # weekly digests share the outbox but are delivered by the digest job


def due_rows(
    db: Database,
    *,
    limit: int = 500,
    created_before: str | None = None,
    digests: bool = False,
) -> list[OutboxRow]:
    """Pending alert rows whose time has come, oldest first, or with ``digests=True`` due
    digest rows (never both: each has its own sender). With ``created_before``, rows never
    tried yet that were created later are held back (the group wait: copies of a story from
    other outlets, and other matches, get a moment to arrive and be sent together)."""
    sql = (
        "SELECT * FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? "
        f"AND kind {'=' if digests else '!='} ?"
    )
    params: list[Any] = [clock.iso_now(), DIGEST_KIND]
    if created_before is not None:
        sql += " AND (attempts > 0 OR created_at <= ?)"
        params.append(created_before)
    rows = db.query(sql + " ORDER BY id LIMIT ?", [*params, limit])
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


def claim_many(db: Database, row_ids: list[int], *, lease_seconds: float) -> list[int]:
    """``claim`` for a roll-up: the ids this process got, in the order given."""
    return [row_id for row_id in row_ids if claim(db, row_id, lease_seconds=lease_seconds)]


def mark_sent(db: Database, row_id: int) -> None:
    mark_sent_many(db, [row_id])


def mark_sent_many(db: Database, row_ids: list[int]) -> None:
    """Rows a channel accepted (one message may carry several): all marked at once."""
    now = clock.iso_now()
    with write_transaction(db):
        db.conn.executemany(
            "UPDATE outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1, "
            "last_error = NULL, recipients = NULL WHERE id = ?",
            [(now, row_id) for row_id in row_ids],
        )


def mark_failed(
    db: Database,
    row_id: int,
    *,
    error: str,
    retry_in: float | None,
    recipients: tuple[str, ...] | None = None,
) -> None:
    """A failed attempt: retry after ``retry_in`` seconds, or dead-letter when None. With
    ``recipients`` (a partial email delivery), later attempts go to those addresses only."""
    kept = json.dumps(list(recipients)) if recipients else None
    with write_transaction(db):
        if retry_in is None:
            db.execute(
                "UPDATE outbox SET status = 'dead', attempts = attempts + 1, last_error = ?, "
                "recipients = COALESCE(?, recipients) WHERE id = ?",
                [error, kept, row_id],
            )
        else:
            db.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?, "
                "next_attempt_at = ?, recipients = COALESCE(?, recipients) WHERE id = ?",
                [error, _not_before(retry_in), kept, row_id],
            )


def _not_before(seconds: float) -> str:
    """The stored time of a retry, rounded up to the second: never sooner than asked
    (Retry-After is a promise to the far end)."""
    moment = clock.now() + timedelta(seconds=min(seconds, clock.MAX_OFFSET))
    if moment.microsecond:
        moment = moment.replace(microsecond=0) + timedelta(seconds=1)
    return clock.iso(moment)


def list_rows(db: Database, *, status: str | None = None, limit: int = 50) -> list[OutboxRow]:
    if status:
        rows = db.query(
            "SELECT * FROM outbox WHERE status = ? ORDER BY id DESC LIMIT ?", [status, limit]
        )
    else:
        rows = db.query("SELECT * FROM outbox ORDER BY id DESC LIMIT ?", [limit])
    return [OutboxRow.from_row(row) for row in rows]


def requeue(db: Database, *, status: str = "dead", ids: list[int] | None = None) -> int:
    """Put dead rows (or, with ``status='pending'``, rows waiting for a retry) back in the
    queue now, all of them or only ``ids``; return how many. A row partly delivered by email
    keeps its list of recipients still owed the alert."""
    sql = "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = ? WHERE status = ?"
    params: list[Any] = [clock.iso_now(), status]
    if ids:
        sql += f" AND id IN ({', '.join('?' for _ in ids)})"
        params += ids
    with write_transaction(db):
        cursor = db.execute(sql, params)
    return cursor.rowcount


def counts(db: Database) -> dict[str, int]:
    result = dict.fromkeys(STATUSES, 0)
    for status, count in db.execute("SELECT status, count(*) FROM outbox GROUP BY status"):
        result[status] = count
    return result
