"""Write transactions that take SQLite's write lock up front (``BEGIN IMMEDIATE``).

A deferred ``BEGIN`` that reads first and writes later fails at once with "database is
locked" when another process wrote in between; the busy timeout only helps a transaction
that asks for the lock at its start. Nested use becomes a savepoint.

Once the lock is held, the schema version is read: a newer version of news-monitor may have
upgraded the file since this process opened it (its migration takes the same lock), and this
code's writes would no longer fit its tables. The transaction then writes nothing and raises
SchemaTooNew (a running daemon stops on it).

Each transaction begun here gets a serial number (``serial``), for the in-memory caches that
must tell a row this connection wrote in the transaction under way (it may yet be rolled back)
from rows already committed (see ``storage.bandindex``).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager

from sqlite_utils import Database

_SERIALS: weakref.WeakKeyDictionary[Database, int] = weakref.WeakKeyDictionary()


def serial(db: Database) -> int:
    """The number of write transactions begun on ``db`` (by ``write_transaction``) so far: the
    current one's serial while one is under way."""
    return _SERIALS.get(db, 0)


@contextmanager
def write_transaction(db: Database) -> Iterator[Database]:
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    db.conn.execute("BEGIN IMMEDIATE")
    _SERIALS[db] = _SERIALS.get(db, 0) + 1
    try:
        _check_schema(db)
        yield db
        db.conn.execute("COMMIT")
    except BaseException:
        db.rollback()  # also after a failed COMMIT: the write lock must not stay held
        raise


def _check_schema(db: Database) -> None:
    from .migrations import LATEST, check_not_newer  # migrations write in transactions too

    if int(db.conn.execute("PRAGMA user_version").fetchone()[0]) > LATEST:
        path = db.conn.execute("PRAGMA database_list").fetchone()[2]
        check_not_newer(db, path=path or ":memory:")
