"""The digest of an app's database for a period, with the app's watchlists."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo

import storage

from ..app import App
from ..config import Settings
from .model import Digest, WatchlistInfo, build_digest
from .period import Period, local_zone


def zone_of(settings: Settings) -> tzinfo:
    return local_zone(settings.digest.timezone)


def make_digest(
    app: App, period: Period, *, only: Sequence[str] = (), now: datetime | None = None
) -> Digest:
    known = [WatchlistInfo(w.name, w.description) for w in app.matcher.watchlists]
    return build_digest(app.db, period, known, only=only, now=now)


def make_digest_apart(
    app: App, period: Period, *, only: Sequence[str] = (), now: datetime | None = None
) -> Digest:
    """``make_digest`` on a database connection of its own, for a worker thread (an SQLite
    connection belongs to the thread that opened it), so the daemon's event loop goes on
    polling and delivering while the digest is built."""
    db = storage.open_database(app.settings.database)
    try:
        known = [WatchlistInfo(w.name, w.description) for w in app.matcher.watchlists]
        return build_digest(db, period, known, only=only, now=now)
    finally:
        db.close()
