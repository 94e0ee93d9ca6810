"""Write transactions that take SQLite's write lock up front (``BEGIN IMMEDIATE``).

A deferred ``BEGIN`` that reads first and writes later fails at once with "database is
locked" when another process wrote in between; the busy timeout only helps a transaction
that asks for the lock at its start. Nested use becomes a savepoint.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlite_utils import Database


@contextmanager
def write_transaction(db: Database) -> Iterator[Database]:
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
        db.conn.execute("COMMIT")
    except BaseException:
        db.rollback()  # also after a failed COMMIT: the write lock must not stay held
        raise
