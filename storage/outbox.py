"""The alert outbox: rows wait as ``pending`` until a channel accepts them (``sent``) or
fails for good (``dead``). A delivery marks its row only after the channel accepted it, so a
crash in between means at most one repeat, never a loss."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlite_utils import Database

from . import clock
from .transaction import write_transaction

STATUSES = ("pending", "sent", "dead")
# A row some sender holds right now (claimed, lease not over); one parameter: now.
_LIVE_CLAIM = "(claim_token IS NOT NULL AND next_attempt_at > ?)"


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
    batch_id: str | None = None  # the message it was last tried in: re-sent as the same one

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
            batch_id=row.get("batch_id"),
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
    digest rows (never both: each has its own sender). With ``created_before`` (the group
    wait: copies of a story from other outlets, and other matches, get a moment to arrive and
    be sent together), a channel's rows never tried yet are held back until one of them was
    created at ``created_before`` or earlier; then they all come, the newest included, so
    that alerts arriving together are not split by the moment the wait of the first ends."""
    due = f"status = 'pending' AND next_attempt_at <= ? AND kind {'=' if digests else '!='} ?"
    sql = f"SELECT * FROM outbox WHERE {due}"
    now = clock.iso_now()
    params: list[Any] = [now, DIGEST_KIND]
    if created_before is not None:
        sql += (
            " AND (attempts > 0 OR channel IN (SELECT channel FROM outbox WHERE "
            f"{due} AND attempts = 0 AND created_at <= ?))"
        )
        params += [now, DIGEST_KIND, created_before]
    rows = db.query(sql + " ORDER BY id LIMIT ?", [*params, limit])
    return [OutboxRow.from_row(row) for row in rows]


@dataclass(frozen=True)
class Claim:
    """Rows taken for sending: only the holder of ``token`` may mark them."""

    token: str
    ids: list[int]


def claim(db: Database, row_id: int, *, lease_seconds: float) -> str | None:
    """Take a due row for sending; its claim token, or None when another sender has it."""
    taken = claim_many(db, [row_id], lease_seconds=lease_seconds)
    return taken.token if taken.ids else None


def claim_many(db: Database, row_ids: list[int], *, lease_seconds: float) -> Claim:
    """Take due rows for sending, in one transaction, under one new token: their next attempt
    moves past the lease (the same moment for all, so a batch left by a crashed sender comes
    due again whole), and rows never sent in a batch get this one (``batch_id``). Rows
    another sender holds are left out; the ids got are returned in the order given."""
    token = uuid.uuid4().hex
    if not row_ids:
        return Claim(token, [])
    marks = ", ".join("?" for _ in row_ids)
    with write_transaction(db):
        db.execute(
            "UPDATE outbox SET next_attempt_at = ?, claim_token = ?, "
            "batch_id = COALESCE(batch_id, ?) "
            f"WHERE id IN ({marks}) AND status = 'pending' AND next_attempt_at <= ?",
            [_not_before(lease_seconds), token, token, *row_ids, clock.iso_now()],
        )
        got = {
            int(r[0]) for r in db.execute("SELECT id FROM outbox WHERE claim_token = ?", [token])
        }
    return Claim(token, [row_id for row_id in row_ids if row_id in got])


def mark_sent(db: Database, row_id: int, *, token: str) -> bool:
    return mark_sent_many(db, [row_id], token=token) == 1


def mark_sent_many(db: Database, row_ids: list[int], *, token: str) -> int:
    """Rows a channel accepted (one message may carry several), all marked at once; only
    those still claimed under ``token`` (a sender whose lease ran out and whose rows another
    took leaves them to it). Returns how many were marked."""
    now = clock.iso_now()
    with write_transaction(db):
        cursor = db.conn.executemany(
            "UPDATE outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1, "
            "last_error = NULL, recipients = NULL, claim_token = NULL, batch_id = NULL "
            "WHERE id = ? AND claim_token = ? AND status = 'pending'",
            [(now, row_id, token) for row_id in row_ids],
        )
    return int(cursor.rowcount)


def mark_failed(
    db: Database,
    row_id: int,
    *,
    token: str,
    error: str,
    retry_in: float | None,
    recipients: tuple[str, ...] | None = None,
    batch_id: str | None = None,
    counted: bool = True,
) -> bool:
    """A failed attempt by the holder of ``token``: retry after ``retry_in`` seconds, or
    dead-letter when None. With ``recipients`` (a partial email delivery), later attempts go
    to those addresses only. A retried row keeps its batch (the same rows go again as the
    same message) unless ``batch_id`` gives it another. ``counted=False`` leaves the number
    of attempts as it was (the far end asked us to wait: not a failure of the row). False
    when ``token`` no longer holds the row."""
    kept = json.dumps(list(recipients)) if recipients else None
    owned = "WHERE id = ? AND claim_token = ? AND status = 'pending'"
    with write_transaction(db):
        if retry_in is None:
            cursor = db.execute(
                "UPDATE outbox SET status = 'dead', attempts = attempts + 1, last_error = ?, "
                "recipients = COALESCE(?, recipients), claim_token = NULL, batch_id = NULL "
                + owned,
                [error, kept, row_id, token],
            )
        else:
            cursor = db.execute(
                "UPDATE outbox SET attempts = attempts + ?, last_error = ?, "
                "next_attempt_at = ?, recipients = COALESCE(?, recipients), "
                "claim_token = NULL, batch_id = COALESCE(?, batch_id) " + owned,
                [int(counted), error, _not_before(retry_in), kept, batch_id, row_id, token],
            )
    return cursor.rowcount == 1


def hold_channel(db: Database, channel: str, seconds: float) -> int:
    """The far end asked to wait (Retry-After), which binds every sender of the channel, in
    this process or another: the end of the wait is kept (``channel_held_until``), and every
    pending row of the channel not being sent is held until then (so ``alerts list`` shows
    it). Returns how many rows were held."""
    now = clock.iso_now()
    until = _not_before(seconds)
    with write_transaction(db):
        db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = max(value, excluded.value)",
            [_HOLD_KEY + channel, until],
        )
        cursor = db.execute(
            "UPDATE outbox SET next_attempt_at = ? WHERE channel = ? AND status = 'pending' "
            f"AND next_attempt_at < ? AND NOT {_LIVE_CLAIM}",
            [until, channel, until, now],
        )
    return cursor.rowcount


def channel_held_until(db: Database, channel: str) -> str | None:
    """When a channel's Retry-After ends, if it has not yet; None when it may send."""
    row = db.execute("SELECT value FROM meta WHERE key = ?", [_HOLD_KEY + channel]).fetchone()
    return str(row[0]) if row and str(row[0]) > clock.iso_now() else None


_HOLD_KEY = "channel_held_until:"


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
    keeps its list of recipients still owed the alert. A row a sender holds (a live claim:
    being sent right now) is left alone, so it is not sent twice."""
    now = clock.iso_now()
    sql = (
        "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = ?, "
        f"claim_token = NULL WHERE status = ? AND NOT {_LIVE_CLAIM}"
    )
    params: list[Any] = [now, status, now]
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
