"""Stories: groups of near-duplicate articles, and the MinHash signatures and LSH band keys of
recent articles used to find a new article's story. How similarity is judged is the pipeline's
business; this module only stores and looks up."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlite_utils import Database

from . import clock


@dataclass(frozen=True)
class Candidate:
    article_id: int
    story_id: int
    shingles: int
    signature: bytes


def candidates(db: Database, band_keys: Sequence[int], *, window_days: float) -> list[Candidate]:
    """Recent articles sharing at least one LSH band with the given keys."""
    if not band_keys:
        return []
    since = clock.iso_now(-window_days * 86400)
    marks = ", ".join("?" for _ in band_keys)
    rows = db.execute(
        "SELECT s.article_id, s.story_id, s.shingles, s.signature FROM article_signatures s "
        f"WHERE s.created_at >= ? AND s.article_id IN (SELECT article_id FROM story_band_keys "
        f"WHERE band_key IN ({marks})) ORDER BY s.article_id",
        [since, *band_keys],
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
    """Keep an article's signature for lookups, and forget signatures older than the window
    (their band keys go later, in bulk: ``forget_stale_bands``)."""
    now = clock.iso_now()
    db.execute(
        "INSERT OR REPLACE INTO article_signatures "
        "(article_id, story_id, shingles, signature, created_at) VALUES (?, ?, ?, ?, ?)",
        [article_id, story_id, shingles, signature, now],
    )
    _insert_bands(db, article_id, band_keys)
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


def forget_all_bands(db: Database) -> None:
    """Drop every band key (before the window's signatures are re-made)."""
    db.execute("DELETE FROM story_band_keys")


def replace_signature(
    db: Database,
    article_id: int,
    signature: bytes | None,
    shingles: int,
    band_keys: Sequence[int],
) -> None:
    """Swap an article's stored signature for a new one (None: forget it) and add its band
    keys (after ``forget_all_bands``); in the caller's transaction."""
    if signature is None:
        db.execute("DELETE FROM article_signatures WHERE article_id = ?", [article_id])
        return
    db.execute(
        "UPDATE article_signatures SET signature = ?, shingles = ? WHERE article_id = ?",
        [signature, shingles, article_id],
    )
    _insert_bands(db, article_id, band_keys)


def forget_stale_bands(db: Database) -> int:
    """Delete the band keys of articles whose signature left the window (article ids grow
    with time, so every key below the oldest signed article is stale); one pass over the
    table, hence run now and then rather than per article. Return how many went."""
    cursor = db.execute(
        "DELETE FROM story_band_keys WHERE article_id < "
        "(SELECT COALESCE(MIN(article_id), 1 << 62) FROM article_signatures)"
    )
    return int(cursor.rowcount)


def _insert_bands(db: Database, article_id: int, band_keys: Sequence[int]) -> None:
    db.conn.executemany(
        "INSERT OR IGNORE INTO story_band_keys (band_key, article_id) VALUES (?, ?)",
        [(key, article_id) for key in band_keys],
    )


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
