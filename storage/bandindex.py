"""The story band keys of the window's articles, indexed in memory: one index per process and
database.

Finding a new article's story starts from the recent articles that share an LSH band key with
it (``stories.candidates``), 64 keys an article. Kept as rows of an index table, storing an
article wrote its 64 keys at 64 random places of that table's B-tree; in a cycle of feeds with
new entries that was about a third of the cycle's time (``benchmarks/fetch.py``). Now a
signature row carries its article's keys as one blob (``article_signatures.band_keys``, written
with the row, in article-id order), and each process that looks stories up keeps the keys in
memory: sorted arrays of ``key << 32 | article id`` ("runs"), and a dict of the latest
additions. Every ``MERGE_AT`` keys the dict becomes a run; ``FANOUT`` runs of one size are
merged into one of the next size, up to the largest (about 8,000 articles, 4 MB), which are not
merged further: a lookup searches some twenty runs at 50,000 articles, and a merge never holds
more than twice the largest run on top of the index. A run whose articles all left the window
is dropped whole.

Catching up: before each lookup, in the caller's transaction, the rows signed since the last
lookup (by any process) are read by article id. Article ids only grow (articles are never
deleted, and a signature row is written for a new article only), except when every signature
is re-made (``remake``): that moves a generation number in ``meta``, and every process reloads
its index at its next lookup. A row this connection wrote in the transaction under way may yet
be rolled back, and its id go to another article: the mark from which the next catch-up reads
never passes such a row.

A key is kept as its low 32 bits. Two keys that agree there make a spurious candidate (at
50,000 signed articles, about one lookup in twenty finds one), which the caller's comparison of
the signatures themselves throws out; a key is never missed. The runs take 8 bytes a key and
their directories about 1 more: about 29 MB for 50,000 articles in the window, and up to a few
MB more for the latest additions and for runs not yet wholly out of the window.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt
from sqlite_utils import Database

from .transaction import serial

GENERATION_KEY = "story_bands_generation"
MERGE_AT = 1 << 13  # keys held in the dict of the latest additions before they make a run
FANOUT = 8  # runs of one size merged into one of the next
TIERS = 3  # run sizes: MERGE_AT keys, FANOUT times that, FANOUT**2 times that (not merged)
_KEY = np.dtype("<u4")
_LOW = 0xFFFFFFFF
_ID_LIMIT = 1 << 32  # larger article ids stay in the dict (a run's entry keeps 32 bits of id)
_Entries = npt.NDArray[np.uint64]


class _Run:
    """Entries ``key << 32 | article id`` in ascending order, and where each bucket of keys
    (their top ``bits`` bits; four to eight entries a bucket) starts among them: a key is looked
    for among the few entries of its bucket, one or two cache lines, rather than by a binary
    search over the whole run (a cache miss a step)."""

    def __init__(self, entries: _Entries, tier: int, last_id: int) -> None:
        self.entries, self.tier, self.last_id = entries, tier, last_id  # last: the largest id
        self.bits = max(1, min(32, (len(entries) // 4).bit_length() - 1))
        top = entries >> np.uint64(64 - self.bits)
        starts = np.searchsorted(top, np.arange((1 << self.bits) + 1, dtype=np.uint64))
        self.starts = starts.astype(np.int32)  # a run holds far fewer than 2**31 entries

    def ids(self, keys: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
        """The article ids of the entries holding one of ``keys`` (32-bit values)."""
        bucket = (keys >> np.uint64(32 - self.bits)).astype(np.intp)
        start, end = self.starts[bucket], self.starts[bucket + 1]
        width = int((end - start).max())
        if width == 0:
            return _NONE
        at = start[:, None] + np.arange(width)
        held = self.entries[np.minimum(at, len(self.entries) - 1)]
        hit = (at < end[:, None]) & ((held >> np.uint64(32)) == keys[:, None])
        ids: _Entries = held[hit] & np.uint64(_LOW)
        return ids


_NONE: _Entries = np.empty(0, dtype=np.uint64)


def pack(band_keys: Sequence[int]) -> bytes:
    """An article's band keys as stored with its signature (the low 32 bits of each)."""
    return np.array([key & _LOW for key in band_keys], dtype=_KEY).tobytes()


def unpack(blob: bytes) -> list[int]:
    keys: list[int] = np.frombuffer(blob, dtype=_KEY).tolist()
    return keys


def remake(db: Database) -> None:
    """Make every process reload its index at its next lookup (the window's signatures are
    being re-made); in the caller's transaction."""
    db.execute(  # a value never used before: a re-making rolled back leaves none behind
        "INSERT INTO meta (key, value) VALUES (?, lower(hex(randomblob(16)))) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [GENERATION_KEY],
    )


def of(db: Database) -> BandIndex:
    """This process's index of ``db``'s band keys (made empty; filled at the first lookup)."""
    index = _INDEXES.get(db)
    if index is None:
        index = _INDEXES[db] = BandIndex()
    return index


class BandIndex:
    def __init__(self) -> None:
        self.runs: list[_Run] = []  # in article-id order
        self.latest: dict[int, list[int]] = {}  # key -> article ids, not yet in a run
        self.latest_count = 0
        self.seen = 0  # every committed row up to this article id has been read
        self.generation: str | None = None
        self.loaded = False
        self._own: set[int] = set()  # rows written in write transaction number ``_own_serial``
        self._own_serial = -1

    def __len__(self) -> int:
        return sum(len(run.entries) for run in self.runs) + self.latest_count

    def wrote(self, db: Database, article_id: int) -> None:
        """This connection wrote ``article_id``'s signature row (in its current transaction)."""
        current = serial(db)
        if current != self._own_serial:
            self._own, self._own_serial = set(), current
        self._own.add(article_id)

    def lookup(self, db: Database, band_keys: Sequence[int]) -> list[int]:
        """The ids of the articles holding at least one of ``band_keys``, ascending, after
        reading what was signed since the last lookup (in the caller's transaction)."""
        self.catch_up(db)
        keys = [key & _LOW for key in band_keys]
        found: set[int] = set()
        if self.runs and keys:
            wanted = np.array(keys, dtype=np.uint64)
            for run in self.runs:
                found.update(run.ids(wanted).tolist())
        for key in keys:
            found.update(self.latest.get(key, ()))
        return sorted(found)

    def catch_up(self, db: Database) -> None:
        """Read what was signed since the last catch-up (the whole window the first time, or
        when the signatures were re-made). Meant for the caller's write transaction; outside
        one, a re-making committed between its two reads is only seen at the next catch-up."""
        row = db.execute("SELECT value FROM meta WHERE key = ?", [GENERATION_KEY]).fetchone()
        generation = None if row is None else str(row[0])
        if not self.loaded or generation != self.generation:
            self._load(db, generation)
            return
        rows = db.execute(
            "SELECT article_id, band_keys FROM article_signatures "
            "WHERE article_id > ? AND band_keys IS NOT NULL ORDER BY article_id",
            [self.seen],
        ).fetchall()
        if not rows:
            return
        if sum(len(blob) for _, blob in rows) >= MERGE_AT * _KEY.itemsize:
            self._flush(db)  # many rows (a process that stored nothing for a while): runs
            self._add_rows(rows, 0)
        else:
            for article_id, blob in rows:
                self._remember(int(article_id), unpack(blob))
        self._read_up_to(db, int(rows[-1][0]))
        if self.latest_count >= MERGE_AT:
            self._flush(db)

    def _read_up_to(self, db: Database, last: int) -> None:
        """Rows up to ``last`` were read: the next catch-up reads from there, or from below the
        first row this connection wrote in the transaction under way."""
        own = self._own if db.conn.in_transaction and self._own_serial == serial(db) else ()
        self.seen = min(last, min(own) - 1) if own else last

    def _load(self, db: Database, generation: str | None) -> None:
        self.runs, self.latest, self.latest_count = [], {}, 0
        rows = db.execute(
            "SELECT article_id, band_keys FROM article_signatures "
            "WHERE band_keys IS NOT NULL ORDER BY article_id"
        )
        last = self._add_rows(rows, TIERS - 1)
        self.generation, self.loaded = generation, True
        self._read_up_to(db, last)

    def _add_rows(self, rows: Iterable[tuple[int, bytes]], tier: int) -> int:
        """Rows of (article id, keys), in id order, as runs of the given tier's size; return
        the last id (0: none)."""
        largest = MERGE_AT * FANOUT**tier
        chunk: list[tuple[int, bytes]] = []
        size = last = 0
        for article_id, blob in rows:
            last = int(article_id)
            if last >= _ID_LIMIT:
                self._remember(last, unpack(blob))
                continue
            chunk.append((last, bytes(blob)))
            size += len(blob) // _KEY.itemsize
            if size >= largest:
                self._add_run(chunk, tier)
                chunk, size = [], 0
        self._add_run(chunk, tier)
        return last

    def _remember(self, article_id: int, keys: Iterable[int]) -> None:
        for key in keys:
            ids = self.latest.setdefault(key, [])
            if article_id not in ids:  # a row of the transaction under way, read again
                ids.append(article_id)
                self.latest_count += 1

    def _add_run(self, chunk: list[tuple[int, bytes]], tier: int) -> None:
        if not chunk:
            return
        keys = np.frombuffer(b"".join(blob for _, blob in chunk), dtype=_KEY)
        entries = keys.astype(np.uint64) << np.uint64(32)
        entries |= np.repeat(
            np.array([article_id for article_id, _ in chunk], dtype=np.uint64),
            [len(blob) // _KEY.itemsize for _, blob in chunk],
        )
        entries.sort()
        self.runs.append(_Run(entries, tier, max(article_id for article_id, _ in chunk)))
        self._compact()

    def _flush(self, db: Database) -> None:
        """Make the latest additions a run, merge full tiers, and drop the runs whose articles
        all left the window (their ids are below the oldest signed article's)."""
        row = db.execute("SELECT MIN(article_id) FROM article_signatures").fetchone()
        oldest = _ID_LIMIT if row is None or row[0] is None else int(row[0])
        moving = [
            key << 32 | article_id
            for key, ids in self.latest.items()
            for article_id in ids
            if oldest <= article_id < _ID_LIMIT
        ]
        if moving:
            entries = np.array(moving, dtype=np.uint64)
            entries.sort()
            last = int((entries & np.uint64(_LOW)).max())
            self.runs.append(_Run(entries, 0, last))
        # Ids of 2**32 and above (never in practice) stay here, and make every catch-up flush.
        self.latest = {
            key: large
            for key, ids in self.latest.items()
            if (large := [i for i in ids if i >= max(oldest, _ID_LIMIT)])
        }
        self.latest_count = sum(len(ids) for ids in self.latest.values())
        self.runs = [run for run in self.runs if run.last_id >= oldest]
        self._compact()

    def _compact(self) -> None:
        """Merge the last ``FANOUT`` runs while they are all of one tier below the largest."""
        while len(self.runs) >= FANOUT:
            tail = self.runs[-FANOUT:]
            tier = tail[0].tier
            if tier >= TIERS - 1 or any(run.tier != tier for run in tail):
                break
            merged = np.concatenate([run.entries for run in tail])
            merged.sort()
            self.runs[-FANOUT:] = [_Run(merged, tier + 1, max(run.last_id for run in tail))]


_INDEXES: weakref.WeakKeyDictionary[Database, BandIndex] = weakref.WeakKeyDictionary()
