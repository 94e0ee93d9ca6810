"""Watchlist matches and the alert outbox rows written with them, in one transaction."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from . import clock


@dataclass(frozen=True)
class NewMatch:
    watchlist: str
    severity: str
    score: float
    explanation: dict[str, Any]
    channels: tuple[str, ...]


def insert_match(
    db: Database,
    article_id: int,
    match: NewMatch,
    payload: dict[str, Any],
    *,
    story_id: int | None = None,
) -> int:
    """Store a match and one outbox row per channel, inside the caller's transaction.

    The outbox row's dedup key names the watchlist, the story (the id of its first article;
    an article alone is its own story) and the channel, so neither a match re-stored after a
    crash nor another outlet's copy of the same story can queue a second alert for a channel.
    A match with no channels (a ``digest`` severity) gets no outbox row: the digest reads it
    from the matches table.
    """
    story = article_id if story_id is None else story_id
    now = clock.iso_now()
    cursor = db.execute(
        "INSERT INTO matches (article_id, watchlist, severity, score, matched_at, explanation) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(article_id, watchlist) DO NOTHING",
        [
            article_id,
            match.watchlist,
            match.severity,
            match.score,
            now,
            json.dumps(match.explanation, ensure_ascii=False),
        ],
    )
    match_id = cursor.lastrowid if cursor.rowcount else None
    if match_id is None:
        row = db.execute(
            "SELECT id FROM matches WHERE article_id = ? AND watchlist = ?",
            [article_id, match.watchlist],
        ).fetchone()
        match_id = int(row[0])
    body = json.dumps(payload, ensure_ascii=False)
    for channel in match.channels:
        db.execute(
            "INSERT INTO outbox (dedup_key, channel, kind, match_id, payload, created_at, "
            "next_attempt_at) VALUES (?, ?, 'alert', ?, ?, ?, ?) "
            "ON CONFLICT(dedup_key) DO NOTHING",
            [f"alert:{match.watchlist}:{story}:{channel}", channel, match_id, body, now, now],
        )
    return match_id


def count_matches(db: Database) -> int:
    return int(db.execute("SELECT count(*) FROM matches").fetchone()[0])
