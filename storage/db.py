"""Opening the database: WAL mode, a busy timeout, foreign keys, migrations."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlite_utils import Database

from .errors import DatabaseUnavailable
from .migrations import migrate

BUSY_TIMEOUT_MS = 5000
# WAL pages written before a commit copies them back into the database (SQLite's default is
# 1,000, about 4 MB). Storing articles writes the same pages again and again (the full-text
# index's, the latest rows' of each table): checkpointing ten times less often copies each of
# them once where it was copied several times, and a feed's transaction less often waits for a
# checkpoint (measured when storing an article also wrote some sixty random pages of a story
# band-key table, now kept in memory instead, see storage.bandindex: a changed cycle of 1,000
# feeds, benchmarks/fetch.py --no-peers, 21.5-21.6 s instead of 24.2-24.5). The log is
# truncated back to ``WAL_KEPT_BYTES`` after a checkpoint that finds it larger (a long
# transaction, a reader that held a checkpoint back). With ``synchronous = NORMAL`` a power cut
# (not a crash of the process) can undo the transactions since the last checkpoint: now up to
# about 40 MB of them.
WAL_AUTOCHECKPOINT_PAGES = 10_000
WAL_KEPT_BYTES = 64 * 1024 * 1024


def open_database(path: str | Path) -> Database:
    """Open (creating if needed) the SQLite file at ``path`` with the current schema."""
    target = Path(path)
    try:
        if str(path) != ":memory:":
            target.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(target), timeout=BUSY_TIMEOUT_MS / 1000)
        db = Database(conn)
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        db.execute("PRAGMA foreign_keys = ON")
        if str(path) != ":memory:":
            db.enable_wal()
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")
        db.execute(f"PRAGMA journal_size_limit = {WAL_KEPT_BYTES}")
        migrate(db, path=str(path))
    except sqlite3.DatabaseError as exc:
        raise DatabaseUnavailable(f"{path}: cannot open database: {exc}") from exc
    except OSError as exc:
        raise DatabaseUnavailable(f"{path}: cannot create database: {exc}") from exc
    return db
