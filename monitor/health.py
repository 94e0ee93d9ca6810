"""Operator alerts about the feeds themselves: one that keeps failing, one that went silent
for longer than usual, one that was disabled (HTTP 410). A stopped feed is a missed story, so
it is said out loud, once per episode, on the configured channels (``fetch.health_channels``,
default every channel) through the same outbox as watchlist alerts."""

from __future__ import annotations

import logging

from storage import feeds
from storage.feeds import Feed

from .app import App
from .schedule import Health, health

log = logging.getLogger(__name__)

TITLES = {
    "failing": "feed keeps failing",
    "silent": "feed went silent",
    "disabled": "feed disabled",
}


def raise_alerts(app: App) -> int:
    """Queue an alert for every feed newly in trouble; return how many rows were queued."""
    settings = app.settings.fetch
    configured = tuple(app.settings.channels)
    channels = tuple(c for c in settings.health_channels or configured if c in configured)
    queued = 0
    for feed in feeds.list_feeds(app.db):
        state = health(feed, settings)
        if state.ok or not channels:
            continue
        key = f"feed:{feed.id}:{state.state}:{state.episode}"
        added = feeds.queue_feed_alert(app.db, key, channels, _payload(feed, state))
        if added:
            log.warning("feed %s: %s: %s", feed.url, TITLES[state.state], state.detail)
        queued += added
    return queued


def _payload(feed: Feed, state: Health) -> dict[str, object]:
    return {
        "watchlist": "feed health",
        "severity": "operator",
        "title": f"{TITLES[state.state]}: {feed.title or feed.url}",
        "snippets": [state.detail, "`monitor feeds status` shows every feed's state"],
        "url": feed.url,
    }
