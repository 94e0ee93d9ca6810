"""Everything a command needs, opened once from the settings: database, watchlists, channels."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from typing import TextIO

from sqlite_utils import Database

import storage
from storage import clock, feeds, meta
from watchlists import Matcher, WatchlistError, load_dir

from .channels import Channel, build_channels
from .config import DEFAULT_FEEDS, Settings
from .relay import Relay
from .stories import refresh_signatures

log = logging.getLogger(__name__)


@dataclass
class App:
    settings: Settings
    db: Database
    matcher: Matcher
    channels: dict[str, Channel]
    relay: Relay
    watchlist_errors: list[WatchlistError] = field(default_factory=list)

    def close(self) -> None:
        self.db.close()


def open_app(settings: Settings, *, stream: TextIO | None = None) -> App:
    db = storage.open_database(settings.database)
    if resigned := refresh_signatures(db):
        log.info("story signatures of %d recent articles re-made for this version", resigned)
    sync_feeds(db, settings)
    loaded = load_dir(settings.watchlists)
    for error in loaded.errors:
        log.error("watchlist skipped: %s", error)
    channels = build_channels(settings, stream=stream or sys.stdout)
    return App(
        settings=settings,
        db=db,
        matcher=Matcher(loaded.watchlists),
        channels=channels,
        relay=Relay(db, channels, settings.alerts),
        watchlist_errors=list(loaded.errors),
    )


def sync_feeds(db: Database, settings: Settings) -> None:
    """Add the config's feeds (every start) and the default list (once per database)."""
    for feed in settings.feeds:
        interval = int(feed.interval) if feed.interval is not None else None
        stored, added = feeds.add_feed(db, feed.url, source="config", interval_s=interval)
        if not added and stored.interval_s != interval:  # the config's interval changed
            every = interval if interval is not None else settings.fetch.interval
            feeds.set_interval(db, stored.id, interval, check_by=clock.iso_now(every))
    if settings.uses_default_feeds and meta.get(db, "default_feeds_seeded") is None:
        for url in DEFAULT_FEEDS:
            feeds.add_feed(db, url, source="default")
        meta.put(db, "default_feeds_seeded", "1")
