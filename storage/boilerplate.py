"""Site-learned boilerplate: block fingerprints counted per site, one count per article.

A block that recurs on several articles of the same site (a site's own appeal, its author
box, its legal footer) is furniture for that site from the Nth article on.

Most blocks are the articles' own paragraphs, seen once. Counting each of them in a table
keyed by fingerprint wrote one row at a random place of that table's index per block, about
60 per article: the biggest share of the pages an article's transaction wrote. So an article's
fingerprints are first kept together, as one row of ``block_sightings`` (8 bytes each); a
fingerprint gets a row of its own in ``boilerplate``, with its count, only when it recurs:
when it is among the site's last ``WINDOW`` sightings, or already counted. Sightings older
than ``FORGET_AFTER_DAYS`` are forgotten, and so are counted fingerprints seen too rarely to
ever count that have not been seen for as long: the tables hold a site's recent paragraphs
and its furniture, not its archive.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np
from sqlite_utils import Database

from . import clock

FORGET_AFTER_DAYS = 30.0
WINDOW = 200  # a site's latest articles whose fingerprints a new article's are compared with
_PRINT = np.dtype("<u8")


def known(db: Database, site: str | None, *, min_articles: int) -> frozenset[str]:
    """Fingerprints seen on at least ``min_articles`` articles of ``site``."""
    if not site or min_articles <= 0:
        return frozenset()
    rows = db.execute(
        "SELECT fingerprint FROM boilerplate WHERE site = ? AND articles >= ?", [site, min_articles]
    )
    found = frozenset(str(row[0]) for row in rows)
    if min_articles == 1:  # seen once is enough: the site's latest sightings count too
        found |= {
            prints[i : i + 8].hex()
            for prints in _latest(db, site)
            for i in range(0, len(prints), 8)
        }
    return found


def _latest(db: Database, site: str) -> list[bytes]:
    """The fingerprints of the site's latest ``WINDOW`` articles, 8 bytes each."""
    return [
        bytes(row[0])
        for row in db.execute(
            "SELECT prints FROM block_sightings WHERE site = ? ORDER BY id DESC LIMIT ?",
            [site, WINDOW],
        )
    ]


def record(db: Database, site: str | None, blocks: Iterable[tuple[str, str]]) -> None:
    """Count one more article for each (fingerprint, text) of an article, in the caller's
    transaction: its sighting is kept, and the fingerprints that recur are counted."""
    if not site:
        return
    texts = dict(blocks)
    if not texts:
        return
    fingerprints = list(texts)
    prints = b"".join(map(_packed, fingerprints))
    recurring = _recurring(db, site, fingerprints, prints)
    now = clock.iso_now()
    db.execute(
        "INSERT INTO block_sightings (site, seen_at, prints) VALUES (?, ?, ?)", [site, now, prints]
    )
    if recurring:
        db.conn.executemany(
            "INSERT INTO boilerplate (site, fingerprint, articles, first_seen, last_seen, sample) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(site, fingerprint) DO UPDATE SET "
            "articles = articles + 1, last_seen = excluded.last_seen",
            [
                (site, fingerprint, seen + 1, now, now, texts[fingerprint][:300])
                for fingerprint, seen in recurring.items()
            ],
        )


def _recurring(db: Database, site: str, fingerprints: list[str], prints: bytes) -> dict[str, int]:
    """The fingerprints of this article already met on the site: each with the number of
    its latest sightings that hold it (0 for one counted before them, whose count goes on)."""
    found: dict[str, int] = {}
    latest = _latest(db, site)
    if latest and prints:
        seen = np.frombuffer(b"".join(latest), dtype=_PRINT)
        ours = np.frombuffer(prints, dtype=_PRINT)
        # Each seen print looked up among this article's few, sorted (half the time of
        # ``np.isin``, which sorts the lot).
        order = np.sort(ours)
        at = np.searchsorted(order, seen)
        at[at == len(order)] = 0
        values, counts = np.unique(seen[order[at] == seen], return_counts=True)
        sightings = dict(zip(values.tolist(), counts.tolist(), strict=True))
        for fingerprint, value in zip(fingerprints, ours.tolist(), strict=True):
            if value in sightings:
                found[fingerprint] = sightings[value]
    # The site's counted fingerprints are its recurring blocks only: few, read whole.
    mine = set(fingerprints)
    for row in db.execute("SELECT fingerprint FROM boilerplate WHERE site = ?", [site]):
        if row[0] in mine:
            found[str(row[0])] = 0  # counted already: its row's count goes on
    return found


def _packed(fingerprint: str) -> bytes:
    """A fingerprint in 8 bytes: its own (16 hex digits, as ``monitor.clean`` makes them),
    else a hash of it."""
    try:
        packed = bytes.fromhex(fingerprint)
    except ValueError:
        packed = b""
    if len(packed) == 8:
        return packed
    return hashlib.blake2b(fingerprint.encode("utf-8"), digest_size=8).digest()


def forget_stale(db: Database, *, min_articles: int, days: float = FORGET_AFTER_DAYS) -> int:
    """Forget sightings older than ``days``, and fingerprints seen on fewer than
    ``min_articles`` articles and not since ``days`` ago (furniture reappears within days; a
    story's paragraph does not); return how many fingerprints went."""
    cutoff = clock.iso_now(-days * 86400)
    # Sightings are stored in time order: the stale ones are the first rows, up to the first
    # recent one (read from the start, so this costs the rows it deletes). A row dated over a
    # day ahead (a clock set wrong for a while) does not count as recent, or it would keep
    # every row after it.
    first_recent = db.execute(
        "SELECT id FROM block_sightings WHERE seen_at >= ? AND seen_at <= ? ORDER BY id LIMIT 1",
        [cutoff, clock.iso_now(86400)],
    ).fetchone()
    if first_recent is None:
        db.execute("DELETE FROM block_sightings")
    else:
        db.execute("DELETE FROM block_sightings WHERE id < ?", [first_recent[0]])
    cursor = db.execute(
        "DELETE FROM boilerplate WHERE last_seen < ? AND articles < ?",
        [cutoff, max(min_articles, 2)],
    )
    return int(cursor.rowcount)
