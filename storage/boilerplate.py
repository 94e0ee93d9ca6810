"""Site-learned boilerplate: block fingerprints counted per site, one count per article.

A block that recurs on several articles of the same site (a site's own appeal, its author
box, its legal footer) is furniture for that site from the Nth article on. Most blocks are the
articles' own paragraphs, seen once: those not seen again for ``FORGET_AFTER_DAYS`` are
forgotten, so the table holds a site's recent paragraphs and its furniture, not its archive.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlite_utils import Database

from . import clock

FORGET_AFTER_DAYS = 30.0


def known(db: Database, site: str | None, *, min_articles: int) -> frozenset[str]:
    """Fingerprints seen on at least ``min_articles`` articles of ``site``."""
    if not site or min_articles <= 0:
        return frozenset()
    rows = db.execute(
        "SELECT fingerprint FROM boilerplate WHERE site = ? AND articles >= ?", [site, min_articles]
    )
    return frozenset(str(row[0]) for row in rows)


def record(db: Database, site: str | None, blocks: Iterable[tuple[str, str]]) -> None:
    """Count one more article for each (fingerprint, text) of an article, in the caller's
    transaction."""
    if not site:
        return
    now = clock.iso_now()
    db.conn.executemany(
        "INSERT INTO boilerplate (site, fingerprint, articles, first_seen, last_seen, sample) "
        "VALUES (?, ?, 1, ?, ?, ?) ON CONFLICT(site, fingerprint) DO UPDATE SET "
        "articles = articles + 1, last_seen = excluded.last_seen",
        [(site, fingerprint, now, now, text[:300]) for fingerprint, text in dict(blocks).items()],
    )


def forget_stale(db: Database, *, min_articles: int, days: float = FORGET_AFTER_DAYS) -> int:
    """Forget fingerprints seen on fewer than ``min_articles`` articles and not since ``days``
    ago (furniture reappears within days; a story's paragraph does not); return how many."""
    cursor = db.execute(
        "DELETE FROM boilerplate WHERE last_seen < ? AND articles < ?",
        [clock.iso_now(-days * 86400), max(min_articles, 2)],
    )
    return int(cursor.rowcount)
