"""Delivering alerts from the outbox: each due row goes to its channel, and is marked sent only
after the channel accepted it (at-least-once; the dedup key keeps it to one row per
watchlist, article and channel). Transient failures are retried with exponential backoff and
jitter; permanent ones go to dead-letter, where `monitor alerts list` shows them."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass

from sqlite_utils import Database

from storage import outbox
from storage.outbox import OutboxRow

from .channels import Channel
from .errors import DeliveryError

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 12
BASE_DELAY = 30.0
MAX_DELAY = 3600.0
MAX_RETRY_AFTER = 86400.0
LEASE = 300.0  # a row being sent is hidden this long from other senders (other processes)


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    dead: int = 0

    def add(self, other: DeliveryReport) -> None:
        self.sent += other.sent
        self.retrying += other.retrying
        self.dead += other.dead


def backoff(attempts: int, retry_after: float | None = None) -> float:
    """Seconds before the next attempt: exponential with jitter, at least Retry-After."""
    delay = min(MAX_DELAY, BASE_DELAY * 2 ** max(0, attempts - 1))
    delay *= random.uniform(0.8, 1.2)
    return float(min(MAX_RETRY_AFTER, max(delay, retry_after or 0.0)))


class Relay:
    """Sends due outbox rows; one delivery pass at a time."""

    def __init__(self, db: Database, channels: Mapping[str, Channel]) -> None:
        self.db = db
        self.channels = channels
        self.lock = asyncio.Lock()

    async def deliver_due(self) -> DeliveryReport:
        report = DeliveryReport()
        async with self.lock:
            for row in outbox.due_rows(self.db):
                if outbox.claim(self.db, row.id, lease_seconds=LEASE):
                    await self._deliver(row, report)
        return report

    async def _deliver(self, row: OutboxRow, report: DeliveryReport) -> None:
        channel = self.channels.get(row.channel)
        if channel is None:
            outbox.mark_failed(
                self.db, row.id, error=f"channel {row.channel!r} is not configured", retry_in=None
            )
            report.dead += 1
            log.error("alert %s: channel %r is not configured; dead-lettered", row.id, row.channel)
            return
        try:
            await channel.send(row)
        except asyncio.CancelledError:
            raise  # the row stays claimed until its lease ends, then is sent again
        except Exception as exc:
            error = exc if isinstance(exc, DeliveryError) else None
            if error is None:
                # A bug or an odd failure in one channel must not block the queue; the type
                # name only, as the message of a library error may hold a secret URL.
                log.exception("alert %s: channel %s failed unexpectedly", row.id, row.channel)
                error = DeliveryError(row.channel, f"unexpected {type(exc).__name__}")
            self._failed(row, error, report)
            return
        outbox.mark_sent(self.db, row.id)
        report.sent += 1

    def _failed(self, row: OutboxRow, error: DeliveryError, report: DeliveryReport) -> None:
        attempts = row.attempts + 1
        if error.permanent or attempts >= MAX_ATTEMPTS:
            outbox.mark_failed(self.db, row.id, error=str(error), retry_in=None)
            report.dead += 1
            log.error("alert %s dead-lettered: %s", row.id, error)
        else:
            delay = backoff(attempts, error.retry_after)
            outbox.mark_failed(self.db, row.id, error=str(error), retry_in=delay)
            report.retrying += 1
            log.warning("alert %s will be retried in %.0fs: %s", row.id, delay, error)
