"""The in-memory index of story band keys (``storage.bandindex``), shared through the database
by several connections, as the daemon and its workers share it: each connection here stands
for a process."""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlite_utils import Database

from storage import bandindex, clock, open_database
from storage import stories as stored
from storage.transaction import write_transaction

BANDS = 8


def connect(path: Path) -> Database:
    db = open_database(path)
    db.execute("PRAGMA foreign_keys = OFF")  # signatures without their articles, for brevity
    return db


def sign(db: Database, article_id: int, keys: Sequence[int]) -> None:
    """What storing an article does: look its story up, then keep its signature and keys."""
    stored.candidates(db, keys, window_days=7)
    stored.remember(db, article_id, article_id, b"\0" * 16, 30, keys, 7)


def found(db: Database, keys: Sequence[int]) -> list[int]:
    return [c.article_id for c in stored.candidates(db, keys, window_days=7)]


def test_a_key_stored_by_one_process_is_found_by_another(tmp_path: Path) -> None:
    daemon, worker = connect(tmp_path / "m.db"), connect(tmp_path / "m.db")
    assert found(daemon, [11, 12]) == []  # the daemon's index is loaded, empty
    with write_transaction(worker):
        sign(worker, 1, [11, 21, 31])
    with write_transaction(worker):
        sign(worker, 2, [12, 22, 32])
    assert found(daemon, [11]) == [1]
    assert found(daemon, [31, 32, 99]) == [1, 2]
    assert found(daemon, [99]) == []
    with write_transaction(daemon):
        sign(daemon, 3, [12])
    assert found(worker, [12]) == [2, 3]


def test_keys_are_compared_on_their_low_32_bits_and_never_missed(tmp_path: Path) -> None:
    db = connect(tmp_path / "m.db")
    big = (1 << 62) + 5
    with write_transaction(db):
        sign(db, 1, [big, -7])
    assert found(db, [big]) == [1]
    assert found(db, [-7]) == [1]
    assert found(db, [5]) == [1]  # the same low bits: a spurious candidate, for the caller
    assert found(db, [6]) == []


def test_a_rolled_back_row_does_not_hide_the_article_that_takes_its_id(tmp_path: Path) -> None:
    """A transaction reads its own uncommitted row while catching up, then rolls back; the
    id goes to another process's article, whose keys must still be found."""
    first, second = connect(tmp_path / "m.db"), connect(tmp_path / "m.db")
    with write_transaction(first):
        sign(first, 1, [10])
    with pytest.raises(RuntimeError), write_transaction(first):
        sign(first, 2, [20])
        assert found(first, [20]) == [2]  # its own row, read inside the transaction
        raise RuntimeError("the article's alert could not be queued")
    with write_transaction(second):
        sign(second, 2, [30])  # the id is free again
    assert found(first, [30]) == [2]
    assert found(first, [10]) == [1]


def test_rows_of_the_transaction_under_way_are_read_again_once_committed(tmp_path: Path) -> None:
    first, second = connect(tmp_path / "m.db"), connect(tmp_path / "m.db")
    with write_transaction(first):
        sign(first, 1, [10])
        sign(first, 2, [10, 20])  # its lookup reads row 1, uncommitted
        assert found(first, [10]) == [1, 2]
    with write_transaction(second):
        sign(second, 3, [20])
    assert found(first, [20]) == [2, 3]
    assert found(first, [10]) == [1, 2]
    assert len(bandindex.of(first)) == 4  # rows read again are not held twice


def test_a_rolled_back_savepoint_does_not_hide_the_article_that_takes_its_id(
    tmp_path: Path,
) -> None:
    first, second = connect(tmp_path / "m.db"), connect(tmp_path / "m.db")
    with write_transaction(first):
        sign(first, 1, [10])
        with pytest.raises(RuntimeError), write_transaction(first):  # a savepoint
            sign(first, 2, [20])
            assert found(first, [20]) == [2]
            raise RuntimeError("this entry failed; the feed's others are kept")
    with write_transaction(second):
        sign(second, 2, [30])
    assert found(first, [30]) == [2]


def test_a_load_inside_a_transaction_that_wrote_first_does_not_pass_its_rows(
    tmp_path: Path,
) -> None:
    first, second = connect(tmp_path / "m.db"), connect(tmp_path / "m.db")
    with pytest.raises(RuntimeError), write_transaction(first):
        stored.remember(first, 1, 1, b"\0" * 16, 30, [10], 7)  # before any lookup
        assert found(first, [10]) == [1]  # the index is loaded now, the row uncommitted
        raise RuntimeError("rolled back")
    with write_transaction(second):
        sign(second, 1, [30])
    assert found(first, [30]) == [1]


def test_any_64_bit_key_is_found_in_every_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keys spread over the whole range, so that every bucket of the runs' directories is
    used; looked up in an index that grew article by article and in one loaded whole."""
    monkeypatch.setattr(bandindex, "MERGE_AT", 64)
    monkeypatch.setattr(bandindex, "FANOUT", 2)
    rng = random.Random(7)
    grown, loaded = connect(tmp_path / "m.db"), connect(tmp_path / "m.db")
    held = {i: [rng.randrange(-(1 << 63), 1 << 63) for _ in range(8)] for i in range(1, 300)}
    for article_id, keys in held.items():
        with write_transaction(grown):
            sign(grown, article_id, keys)
    assert found(grown, [0]) == []
    assert len(bandindex.of(grown).runs) > 3
    for db in (grown, loaded):
        for article_id, keys in held.items():
            for key in keys:
                assert article_id in bandindex.of(db).lookup(db, [key])


def test_article_ids_beyond_32_bits_are_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bandindex, "MERGE_AT", 2)
    first, second = connect(tmp_path / "m.db"), connect(tmp_path / "m.db")
    large = 1 << 32
    with write_transaction(first):
        sign(first, 7, [10, 11])
    assert found(second, [10]) == [7]
    with write_transaction(first):
        sign(first, large, [10, 12])
    with write_transaction(first):
        sign(first, large + 1, [12])  # the first's flushes keep the large ids apart
    assert found(first, [10]) == [7, large]
    assert found(second, [10]) == [7, large]  # read by catching up
    assert found(connect(tmp_path / "m.db"), [12]) == [large, large + 1]  # loaded whole


def test_a_remaking_rolled_back_does_not_hide_the_next_one(tmp_path: Path) -> None:
    first, second = connect(tmp_path / "m.db"), connect(tmp_path / "m.db")
    with write_transaction(first):
        sign(first, 1, [10])
    with pytest.raises(RuntimeError), write_transaction(first):
        stored.reload_band_indexes(first)
        stored.replace_signature(first, 1, b"\0" * 16, 30, [11])
        assert found(first, [11]) == [1]
        raise RuntimeError("rolled back")
    with write_transaction(second):
        stored.reload_band_indexes(second)
        stored.replace_signature(second, 1, b"\0" * 16, 30, [12])
    assert found(first, [12]) == [1]
    assert found(first, [11]) == []


def test_every_process_reloads_when_the_signatures_are_remade(tmp_path: Path) -> None:
    first, second = connect(tmp_path / "m.db"), connect(tmp_path / "m.db")
    with write_transaction(first):
        sign(first, 1, [10])
        sign(first, 2, [20])
    assert found(second, [10]) == [1]
    with write_transaction(first):  # a new version of the hashing: new keys, one gone
        stored.reload_band_indexes(first)
        stored.replace_signature(first, 1, b"\0" * 16, 30, [11])
        stored.replace_signature(first, 2, None, 0, [])
    assert found(second, [10]) == []
    assert found(second, [11]) == [1]
    assert found(second, [20]) == []


def test_runs_merge_keep_every_key_and_go_when_their_articles_left_the_window(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bandindex, "MERGE_AT", 2 * BANDS)  # a run every two articles
    monkeypatch.setattr(bandindex, "FANOUT", 2)
    db, idle = connect(tmp_path / "m.db"), connect(tmp_path / "m.db")
    assert found(idle, [7]) == []  # loaded now, empty; it catches up on many rows later

    def store(article_id: int) -> None:
        with write_transaction(db):
            sign(db, article_id, [article_id * 100 + band for band in range(BANDS)] + [7])

    for article_id in range(1, 17):
        store(article_id)
        if article_id == 14:  # 14 articles at once: runs of the same sizes
            bandindex.of(idle).catch_up(idle)
            tiers = [(run.tier, run.last_id) for run in bandindex.of(idle).runs]
            assert tiers == [(2, 8), (1, 12), (0, 14)]
    index = bandindex.of(db)  # 15 articles read: runs of 8, 4 and 2 articles, 1 in the dict
    assert [(run.tier, run.last_id) for run in index.runs] == [(2, 8), (1, 12), (0, 14)]
    assert found(db, [7]) == list(range(1, 17))
    assert found(db, [501, 1607]) == [5, 16]
    assert len(index) == 16 * (BANDS + 1)
    # Articles 1-12 leave the window: their signatures go at the next store, then each run
    # whose articles all left goes at the next flush.
    stale = clock.iso_now(-8 * 86400)
    db.execute("UPDATE article_signatures SET created_at = ? WHERE article_id <= 12", [stale])
    for article_id in range(17, 21):
        store(article_id)
    assert found(db, [7]) == list(range(13, 21))
    assert index.runs and all(run.last_id >= 13 for run in index.runs)
    assert len(index) <= 20 * (BANDS + 1) - 8 * (BANDS + 1)
    reloaded = bandindex.BandIndex()
    assert reloaded.lookup(db, [7]) == list(range(13, 21))
    assert len(reloaded) == 8 * (BANDS + 1)


@pytest.mark.parametrize("seed", range(6))
def test_lookups_agree_with_the_stored_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    """Random work by three processes (stores, rolled back stores, signatures leaving the
    window, a re-making of every signature), with merges every few articles: every lookup
    finds every signed article holding one of the keys. Besides, it may find articles whose
    signature is gone (the candidates query leaves them out) and, in the process that rolled
    back, an article whose id a rolled back row of its own had held (a spurious candidate,
    which the caller's comparison of the signatures throws out), but no other."""
    monkeypatch.setattr(bandindex, "MERGE_AT", 40)
    monkeypatch.setattr(bandindex, "FANOUT", 2)
    rng = random.Random(seed)
    dbs = [connect(tmp_path / "m.db") for _ in range(3)]
    next_id = 1
    rolled_back: set[int] = set()

    def keys() -> list[int]:
        return [
            rng.randrange(-(1 << 63), 1 << 63) if rng.random() < 0.2 else rng.randrange(60)
            for _ in range(rng.randrange(1, 9))
        ]

    def stored_keys(db: Database) -> dict[int, set[int]]:
        rows = db.execute("SELECT article_id, band_keys FROM article_signatures").fetchall()
        return {int(r[0]): set(bandindex.unpack(r[1])) for r in rows if r[1] is not None}

    for _ in range(150):
        db = rng.choice(dbs)
        action = rng.random()
        if action < 0.6:
            with write_transaction(db):
                for _ in range(rng.choice([1, 1, 1, 2, 3])):
                    sign(db, next_id, keys())
                    next_id += 1
        elif action < 0.75:
            with pytest.raises(RuntimeError), write_transaction(db):
                sign(db, next_id, keys())
                found(db, keys())
                rolled_back.add(next_id)
                raise RuntimeError("rolled back")
        elif action < 0.85:
            oldest = db.execute("SELECT MIN(article_id) FROM article_signatures").fetchone()[0]
            if oldest is not None:
                db.execute("DELETE FROM article_signatures WHERE article_id <= ?", [oldest + 2])
        elif action < 0.88:
            with write_transaction(db):
                stored.reload_band_indexes(db)
                for article_id in list(stored_keys(db)):
                    stored.replace_signature(db, article_id, b"\0" * 16, 30, keys())
        wanted = keys()
        low = {key & 0xFFFFFFFF for key in wanted}
        signed = stored_keys(db)
        expected = {article_id for article_id, held in signed.items() if held & low}
        got = set(bandindex.of(db).lookup(db, wanted))
        assert expected <= got
        assert (got - expected) & set(signed) <= rolled_back
        assert expected <= set(found(db, wanted)) <= expected | rolled_back
