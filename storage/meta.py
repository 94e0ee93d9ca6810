"""Small facts about the database itself (e.g. whether the default feeds were seeded)."""

from __future__ import annotations

from sqlite_utils import Database

from .transaction import write_transaction


def get(db: Database, key: str) -> str | None:
    row = db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return None if row is None else str(row[0])


def put(db: Database, key: str, value: str) -> None:
    with write_transaction(db):
        db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [key, value],
        )
