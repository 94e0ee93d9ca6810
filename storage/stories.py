"""Stories: groups of near-duplicate articles, and the MinHash signatures and LSH band keys of
recent articles used to find a new article's story (the keys are stored with the signature and
looked up in memory: ``storage.bandindex``). How similarity is judged is the pipeline's
business; this module only stores and looks up."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from sqlite_utils import Database

from . import bandindex, clock


@dataclass(frozen=True)
class Candidate:
    article_id: int
    story_id: int
    shingles: int
    signature: bytes


def candidates(db: Database, band_keys: Sequence[int], *, window_days: float) -> list[Candidate]:
    """Recent articles sharing at least one LSH band with the given keys (rarely also one that
    shares none: see ``storage.bandindex``)."""
    if not band_keys:
        return []
    ids = bandindex.of(db).lookup(db, band_keys)
    if not ids:
        return []
    rows = db.execute(
        "SELECT s.article_id, s.story_id, s.shingles, s.signature FROM article_signatures s "
        "WHERE s.created_at >= ? AND s.article_id IN (SELECT value FROM json_each(?)) "
        "ORDER BY s.article_id",
        [clock.iso_now(-window_days * 86400), json.dumps(ids)],
    ).fetchall()
    return [Candidate(int(r[0]), int(r[1]), int(r[2]), bytes(r[3])) for r in rows]


# What an article's signature is made of: the text the watchlists read, i.e. its summary (a
# standfirst taken out of the text; see monitor.extract.read_text), if any, then its text.
READ_TEXT = (
    "CASE WHEN a.summary IS NULL OR a.summary = '' THEN a.text "
    "ELSE a.summary || char(10, 10) || a.text END"
)


def titles_and_texts(db: Database, article_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    """Article id -> (title, text read), for checking a few candidates on their exact words."""
    if not article_ids:
        return {}
    marks = ", ".join("?" for _ in article_ids)
    rows = db.execute(
        f"SELECT a.id, a.title, {READ_TEXT} FROM articles a WHERE a.id IN ({marks})",
        list(article_ids),
    ).fetchall()
    return {int(r[0]): (str(r[1] or ""), str(r[2] or "")) for r in rows}


def open_story(db: Database, article_id: int, title: str) -> int:
    """A new story whose id is its first article's id."""
    now = clock.iso_now()
    db.execute(
        "INSERT INTO stories (id, title, created_at, updated_at) VALUES (?, ?, ?, ?)",
        [article_id, title, now, now],
    )
    db.execute("UPDATE articles SET story_id = ? WHERE id = ?", [article_id, article_id])
    return article_id


def attach(db: Database, article_id: int, story_id: int) -> int:
    db.execute(
        "UPDATE stories SET articles = articles + 1, updated_at = ? WHERE id = ?",
        [clock.iso_now(), story_id],
    )
    db.execute("UPDATE articles SET story_id = ? WHERE id = ?", [story_id, article_id])
    return story_id


def remember(
    db: Database,
    article_id: int,
    story_id: int,
    signature: bytes,
    shingles: int,
    band_keys: Sequence[int],
    window_days: float,
) -> None:
    """Keep an article's signature and band keys for lookups, and forget signatures older than
    the window (their keys leave the processes' indexes later: ``storage.bandindex``)."""
    now = clock.iso_now()
    db.execute(
        "INSERT OR REPLACE INTO article_signatures "
        "(article_id, story_id, shingles, signature, band_keys, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [article_id, story_id, shingles, signature, bandindex.pack(band_keys), now],
    )
    bandindex.of(db).wrote(db, article_id)
    since = clock.iso_now(-window_days * 86400)
    db.execute("DELETE FROM article_signatures WHERE created_at < ?", [since])


def signed_articles(db: Database) -> list[tuple[int, str]]:
    """(article id, text read) of every article with a stored signature (the recent
    window)."""
    rows = db.execute(
        f"SELECT s.article_id, {READ_TEXT} FROM article_signatures s JOIN articles a "
        "ON a.id = s.article_id ORDER BY s.article_id"
    ).fetchall()
    return [(int(r[0]), str(r[1] or "")) for r in rows]


def load_band_index(db: Database) -> None:
    """Read the window's band keys into this process's index now, outside any transaction: the
    first lookup would otherwise load them inside its write transaction, holding the write lock
    (about half a second at 50,000 articles) while the other processes wait on it."""
    bandindex.of(db).catch_up(db)


def reload_band_indexes(db: Database) -> None:
    """Make every process reload its index of the band keys at its next lookup: the window's
    signatures are being re-made, in the caller's transaction."""
    bandindex.remake(db)


def replace_signature(
    db: Database,
    article_id: int,
    signature: bytes | None,
    shingles: int,
    band_keys: Sequence[int],
) -> None:
    """Swap an article's stored signature and band keys for new ones (None: forget it), when
    the window's signatures are re-made (after ``reload_band_indexes``, in its transaction)."""
    if signature is None:
        db.execute("DELETE FROM article_signatures WHERE article_id = ?", [article_id])
        return
    db.execute(
        "UPDATE article_signatures SET signature = ?, shingles = ?, band_keys = ? "
        "WHERE article_id = ?",
        [signature, shingles, bandindex.pack(band_keys), article_id],
    )
    bandindex.of(db).wrote(db, article_id)


def outlets(db: Database, story_id: int) -> list[str]:
    """The outlets that carried a story (feed title, else site), first one first."""
    rows = db.execute(
        "SELECT COALESCE(NULLIF(f.title, ''), a.site, '?') FROM articles a "
        "LEFT JOIN feeds f ON f.id = a.feed_id WHERE a.story_id = ? ORDER BY a.id",
        [story_id],
    ).fetchall()
    return list(dict.fromkeys(str(r[0]) for r in rows))


def outlet_of(db: Database, article_id: int) -> str | None:
    row = db.execute(
        "SELECT COALESCE(NULLIF(f.title, ''), a.site) FROM articles a "
        "LEFT JOIN feeds f ON f.id = a.feed_id WHERE a.id = ?",
        [article_id],
    ).fetchone()
    return str(row[0]) if row and row[0] else None


def story_of(db: Database, article_id: int) -> int | None:
    row = db.execute("SELECT story_id FROM articles WHERE id = ?", [article_id]).fetchone()
    return int(row[0]) if row and row[0] is not None else None
