"""The daemon's digest job: queue this week's digest when due, then deliver queued digests.

Delivery mirrors the alert relay: a row is claimed (leased) before sending and marked sent
only after the channel accepted it; failures are retried with the relay's backoff and end in
dead-letter, where `monitor alerts list` shows them. The digest is built from the database
when it is sent, so a retry sends the same week; it is built, rendered and drawn in a worker
thread, so the daemon's other jobs are not held up meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from storage import clock as clock_module
from storage import digests, meta, outbox
from storage.outbox import OutboxRow

from ..app import App
from ..errors import DeliveryError
from ..relay import MAX_ATTEMPTS, backoff, unexpected
from . import deliver
from .build import make_digest_apart, zone_of
from .period import parse_week
from .schedule import Clock, due_period

log = logging.getLogger(__name__)


def digest_channels(app: App) -> list[str]:
    """The channels the scheduled digest goes to: as configured, else every channel."""
    wanted = app.settings.digest.channels
    if wanted is None:
        return list(app.settings.channels)
    missing = [name for name in wanted if name not in app.settings.channels]
    if missing:
        log.warning("digest: channel(s) not configured, skipped: %s", ", ".join(missing))
    return [name for name in wanted if name in app.settings.channels]


EPOCH_KEY = "digest_epoch"  # when the daemon first ran on this database (digest clock)


def epoch(app: App, clock: Clock) -> datetime:
    """The first start of the digest job on this database, recorded on first call."""
    stored = meta.get(app.db, EPOCH_KEY)
    if stored is None:
        stored = clock_module.iso(clock.now())
        meta.put(app.db, EPOCH_KEY, stored)
    return clock_module.parse(stored)


def queue_due(app: App, clock: Clock) -> list[str]:
    """Queue the digest of the week now due on each channel, unless queued before."""
    zone = zone_of(app.settings)
    since = epoch(app, clock)
    period = due_period(clock.now(), app.settings.digest, zone, since=since)
    channels = digest_channels(app)
    if period is None or period.week is None or not channels:
        return []
    payload: dict[str, Any] = {"title": f"Weekly digest {period.week}", "week": period.week}
    added = digests.queue_digest(app.db, period.week, channels, payload)
    for key in added:
        log.info("digest queued: %s", key)
    return added


async def deliver_due(app: App) -> int:
    """Send every due digest row; return how many were sent."""
    sent = 0
    for row in outbox.due_rows(app.db, digests=True):
        if outbox.channel_held_until(app.db, row.channel):
            continue  # the channel asked to wait (Retry-After)
        token = outbox.claim(app.db, row.id, lease_seconds=app.settings.alerts.lease)
        if token is not None and await _deliver(app, row, token):
            sent += 1
    return sent


async def _deliver(app: App, row: OutboxRow, token: str) -> bool:
    options = app.settings.channels.get(row.channel)
    try:
        if options is None:
            raise DeliveryError(row.channel, "channel is not configured", permanent=True)
        period = parse_week(str(row.payload.get("week", "")), zone_of(app.settings))
        digest = await asyncio.to_thread(make_digest_apart, app, period)
        stream = deliver.channel_stream(app.channels, row.channel)
        await deliver.send(
            digest, row.channel, options, key=row.dedup_key, stream=stream, to=row.recipients
        )
    except asyncio.CancelledError:
        raise  # stays claimed until the lease ends, then is sent again
    except Exception as exc:
        error = exc if isinstance(exc, DeliveryError) else None
        if error is None:
            log.error("digest %s failed unexpectedly: %s", row.dedup_key, unexpected(exc))
            error = DeliveryError(row.channel, f"unexpected {type(exc).__name__}")
        _failed(app, row, token, error)
        return False
    if not outbox.mark_sent(app.db, row.id, token=token):
        log.warning("digest %s was sent after its lease ran out", row.dedup_key)
        return False
    log.info("digest sent: %s", row.dedup_key)
    return True


def _failed(app: App, row: OutboxRow, token: str, error: DeliveryError) -> None:
    """Retry later (or dead-letter); refused email recipients are kept on the row, so the
    retry goes to them alone and the others do not get the digest twice."""
    attempts = row.attempts + 1
    kept = error.recipients
    if error.retry_after is not None:  # a 429 binds the channel and uses no attempt
        outbox.hold_channel(app.db, row.channel, error.retry_after)
        attempts -= 1
    if error.permanent or attempts >= MAX_ATTEMPTS:
        outbox.mark_failed(
            app.db, row.id, token=token, error=str(error), retry_in=None, recipients=kept
        )
        log.error("digest %s dead-lettered: %s", row.dedup_key, error)
    else:
        delay = backoff(attempts, error.retry_after, base=app.settings.alerts.retry_base)
        outbox.mark_failed(
            app.db,
            row.id,
            token=token,
            error=str(error),
            retry_in=delay,
            recipients=kept,
            counted=error.retry_after is None,
        )
        log.warning("digest %s will be retried in %.0fs: %s", row.dedup_key, delay, error)
