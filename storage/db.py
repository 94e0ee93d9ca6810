"""Opening the database: WAL mode, a busy timeout, foreign keys, migrations."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlite_utils import Database

from .errors import DatabaseUnavailable
from .migrations import migrate

BUSY_TIMEOUT_MS = 5000


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
        migrate(db, path=str(path))
    except sqlite3.DatabaseError as exc:
        raise DatabaseUnavailable(f"{path}: cannot open database: {exc}") from exc
    except OSError as exc:
        raise DatabaseUnavailable(f"{path}: cannot create database: {exc}") from exc
    return db
