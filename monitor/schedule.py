"""When to poll a feed next, and whether it is healthy: small pure functions over a feed's
stored state, so the cycle, ``feeds status`` and the operator alerts agree.

    success                  -> its interval (the feed's own, else ``fetch.interval``)
    failure n (n = 1, 2 ...) -> interval x 2^(n-1), capped at ``fetch.max_backoff``
    429 / 503 + Retry-After  -> not before Retry-After (seconds or an HTTP date)
    410 Gone                 -> disabled, with the reason shown
"""

from __future__ import annotations

import itertools
import statistics
from dataclasses import dataclass
from datetime import datetime

from storage import clock
from storage.feeds import Feed

from .config import FetchSettings
from .fetch import MAX_RETRY_AFTER

RETRY_AFTER_STATUSES = frozenset({429, 503})


def interval(feed: Feed, settings: FetchSettings) -> float:
    return float(feed.interval_s or settings.interval)


def longest_wait(settings: FetchSettings) -> float:
    """The longest wait the scheduler sets between two polls of a feed, its own interval
    aside: the backoff cap, a Retry-After (capped at a week), the default interval."""
    return max(settings.max_backoff, MAX_RETRY_AFTER, settings.interval)


def backoff(feed: Feed, settings: FetchSettings, failures: int) -> float:
    """The wait after the ``failures``-th failure in a row: doubling from the interval."""
    return min(settings.max_backoff, interval(feed, settings) * 2.0 ** min(failures - 1, 30))


def after_failure(
    feed: Feed, settings: FetchSettings, *, status: int | None, retry_after: float | None
) -> float:
    """Seconds until the next try after a failed poll (``feed`` as it was before it)."""
    delay = backoff(feed, settings, feed.error_count + 1)
    if retry_after is not None and status in RETRY_AFTER_STATUSES:
        delay = max(delay, retry_after)
    return delay


def usual_gap(published: list[str | None]) -> float | None:
    """The median time between a feed's entries, from their dates (None under three)."""
    moments = sorted({moment for p in published if p and (moment := _parsed(p)) is not None})
    if len(moments) < 3:
        return None
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(moments)]
    return float(statistics.median(gaps))


def _parsed(stamp: str) -> datetime | None:
    try:
        return clock.parse(stamp)
    except ValueError:  # written by an older version (a year before 1000): no help here
        return None


@dataclass(frozen=True)
class Health:
    """``ok``, ``failing``, ``silent`` or ``disabled``, with a sentence for people and the
    episode it belongs to (an alert is raised once per episode)."""

    state: str
    detail: str = ""
    episode: str = ""

    @property
    def ok(self) -> bool:
        return self.state == "ok"


def health(feed: Feed, settings: FetchSettings, now: datetime | None = None) -> Health:
    if not feed.enabled and feed.disabled_reason:
        return Health("disabled", feed.disabled_reason, feed.last_checked_at or "")
    if feed.error_count >= settings.failing_after:
        since = feed.last_success_at or feed.added_at
        return Health(
            "failing",
            f"{feed.error_count} failures in a row since {since}: {feed.last_error or '?'}",
            since,
        )
    if feed.enabled and feed.last_new_at and feed.usual_gap_s:
        usual = max(feed.usual_gap_s, interval(feed, settings))
        quiet = ((now or clock.now()) - clock.parse(feed.last_new_at)).total_seconds()
        if quiet > settings.silent_factor * usual:
            return Health(
                "silent",
                f"no new entry for {_span(quiet)} (usually one every {_span(usual)})",
                feed.last_new_at,
            )
    return Health("ok")


def _span(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}".replace(".0", "")
    return f"{seconds:.0f}s"
