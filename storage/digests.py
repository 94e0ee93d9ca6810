"""Read queries for the weekly digest, and its outbox rows (one per ISO week and channel).

Stories: articles are grouped by ``story_key``: the near-duplicate story stored with each
article (``monitor.stories``), else the same headline, normalised, from several outlets (an
article too short to sign, or stored before stories existed); anything else is its own story.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from . import clock
from .outbox import DIGEST_KIND
from .transaction import write_transaction

_WORDS = re.compile(r"\w+")
MIN_HEADLINE_WORDS = 4  # shorter headlines ("Live updates") are too generic to group on


@dataclass(frozen=True)
class MatchRow:
    """One match in a period, with what the digest shows of its article."""

    watchlist: str
    score: float
    matched_at: str
    terms: tuple[str, ...]
    snippets: tuple[str, ...]
    article_id: int
    title: str
    url: str | None
    site: str | None
    seen_at: str
    text_start: str
    story_id: int | None = None


def story_key(row: MatchRow) -> str:
    """Which story an article belongs to: its stored story, else its headline, else itself."""
    if row.story_id is not None:
        return f"story:{row.story_id}"
    words = _WORDS.findall(row.title.casefold())
    if len(words) >= MIN_HEADLINE_WORDS:
        return "headline:" + " ".join(words)
    return f"article:{row.article_id}"


def story_groups(rows: Iterable[MatchRow]) -> dict[tuple[str, str], list[MatchRow]]:
    """Matches grouped by (watchlist, story), in the order the stories were first seen."""
    groups: dict[tuple[str, str], list[MatchRow]] = {}
    for row in sorted(rows, key=lambda r: (r.seen_at, r.article_id)):
        groups.setdefault((row.watchlist, story_key(row)), []).append(row)
    return groups


def _strings(value: str | None) -> tuple[str, ...]:
    data = json.loads(value) if value else []
    return tuple(str(v) for v in data) if isinstance(data, list) else ()


def period_matches(
    db: Database, start: str, end: str, watchlists: Sequence[str] | None = None
) -> list[MatchRow]:
    """Every match made in [start, end), optionally of some watchlists only."""
    sql = (
        "SELECT m.watchlist, m.score, m.matched_at, "
        "json_extract(m.explanation, '$.terms') AS terms, "
        "json_extract(m.explanation, '$.snippets') AS snippets, "
        "a.id AS article_id, a.title, a.url, a.site, a.fetched_at, "
        "substr(COALESCE(NULLIF(a.summary, ''), a.text), 1, 400) AS head, "
        "a.story_id "
        "FROM matches m JOIN articles a ON a.id = m.article_id "
    )
    where, params = _period_filter("m.", start, end, watchlists)
    sql += where
    return [
        MatchRow(
            watchlist=r[0],
            score=float(r[1]),
            matched_at=r[2],
            terms=_strings(r[3]),
            snippets=_strings(r[4]),
            article_id=int(r[5]),
            title=r[6] or "",
            url=r[7],
            site=r[8],
            seen_at=r[9],
            text_start=r[10] or "",
            story_id=None if r[11] is None else int(r[11]),
        )
        for r in db.execute(sql, params)
    ]


def period_terms(
    db: Database, start: str, end: str, watchlists: Sequence[str] | None = None
) -> list[tuple[str, tuple[str, ...]]]:
    """(watchlist, matched terms) of every match in [start, end): the baseline for trends."""
    where, params = _period_filter("", start, end, watchlists)
    sql = "SELECT watchlist, json_extract(explanation, '$.terms') FROM matches " + where
    return [(r[0], _strings(r[1])) for r in db.execute(sql, params)]


def _period_filter(
    alias: str, start: str, end: str, watchlists: Sequence[str] | None
) -> tuple[str, list[Any]]:
    """The WHERE clause (and its parameters) of matches made in [start, end), optionally of
    some watchlists only; ``alias`` prefixes the matches table's columns."""
    where = f"WHERE {alias}matched_at >= ? AND {alias}matched_at < ?"
    params: list[Any] = [start, end]
    if watchlists:
        where += f" AND {alias}watchlist IN ({', '.join('?' for _ in watchlists)})"
        params += list(watchlists)
    return where, params


@dataclass(frozen=True)
class FeedHealth:
    url: str
    title: str | None
    added_at: str
    last_checked_at: str | None
    last_success_at: str | None
    error_count: int
    last_error: str | None
    latest_article_at: str | None


def feed_health(db: Database) -> list[FeedHealth]:
    """Every enabled feed with its poll state and the time of its latest stored article."""
    sql = (
        "SELECT f.url, f.title, f.added_at, f.last_checked_at, f.last_success_at, "
        "f.error_count, f.last_error, "
        "(SELECT max(a.fetched_at) FROM articles a WHERE a.feed_id = f.id) "
        "FROM feeds f WHERE f.enabled = 1 ORDER BY f.id"
    )
    return [FeedHealth(*row) for row in db.execute(sql)]


@dataclass(frozen=True)
class DeadAlert:
    channel: str
    title: str
    last_error: str | None


def dead_alerts(db: Database, *, limit: int = 5) -> tuple[int, list[DeadAlert]]:
    """How many outbox rows are in dead-letter, and the latest few."""
    total = int(db.execute("SELECT count(*) FROM outbox WHERE status = 'dead'").fetchone()[0])
    rows = db.execute(
        "SELECT channel, coalesce(json_extract(payload, '$.title'), kind), last_error "
        "FROM outbox WHERE status = 'dead' ORDER BY id DESC LIMIT ?",
        [limit],
    )
    return total, [DeadAlert(r[0], str(r[1]), r[2]) for r in rows]


def digest_key(week: str, channel: str) -> str:
    return f"digest:{week}:{channel}"


def queue_digest(
    db: Database, week: str, channels: Sequence[str], payload: dict[str, Any]
) -> list[str]:
    """One outbox row per channel for a week's digest, unless already there; the new keys.

    The unique dedup key makes this safe to call at every check, from any process, across
    restarts: a week's digest is queued once per channel, ever."""
    now = clock.iso_now()
    added = []
    with write_transaction(db):
        for channel in channels:
            key = digest_key(week, channel)
            cursor = db.execute(
                "INSERT INTO outbox (dedup_key, channel, kind, payload, created_at, "
                "next_attempt_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(dedup_key) DO NOTHING",
                [key, channel, DIGEST_KIND, json.dumps(payload), now, now],
            )
            if cursor.rowcount:
                added.append(key)
    return added
