"""Delivering alerts from the outbox.

One pass: take the due rows (holding back, for ``alerts.group_wait``, rows not tried yet, so
copies of a story and other matches can join them), group them by channel, and for each
channel - all channels at once, each under its own lock, so a slow or failing one holds up no
other (a channel still busy with an earlier pass is left to it):

    claim a batch (one token, one lease) -> wait for the channel's pace -> add the story's
    outlets -> send it as one message (a roll-up when several) -> mark every row of it sent

A row is marked sent only after the channel accepted it (at-least-once; the dedup key keeps
it to one row per watchlist, story and channel), so a crash in between repeats at most that
one message: the rows keep the batch they were claimed in, and come due again together
when the lease ends, so the repeat carries the same rows, hence the same Message-ID / dedup
keys, whatever else came due meanwhile. Transient failures are retried with exponential
backoff and jitter; a channel's pass ends at its first transient failure of the channel
itself (down, timing out, rate limiting). A Retry-After holds the whole channel until it
passes, for every sender (no storm), and uses none of the row's attempts. A roll-up whose
content was refused is re-sent in halves so only the bad alert fails; permanent failures go
to dead-letter, where ``monitor alerts list`` shows them with the reason.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import random
import signal
import time
import traceback
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database

from storage import clock, outbox, stories
from storage.outbox import OutboxRow

from .channels import Channel
from .channels.errors import ContentRefused
from .config import AlertSettings
from .errors import DeliveryError

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 12
BASE_DELAY = 30.0
MAX_DELAY = 3600.0
MAX_RETRY_AFTER = 86400.0
# Fault injection for the crash tests: with "kill-after-send" (or "kill-after-send:CHANNEL")
# the process kills itself right after a channel accepted a message, before the rows are
# marked sent.
FAULT_ENV = "NEWS_MONITOR_FAULT"


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    dead: int = 0
    messages: int = 0

    def add(self, other: DeliveryReport) -> None:
        self.sent += other.sent
        self.retrying += other.retrying
        self.dead += other.dead
        self.messages += other.messages


def backoff(attempts: int, retry_after: float | None = None, base: float = BASE_DELAY) -> float:
    """Seconds before the next attempt: what Retry-After asked (plus under a second of
    jitter), else exponential with jitter."""
    if retry_after is not None:
        return float(min(MAX_RETRY_AFTER, retry_after + random.uniform(0.0, 1.0)))
    delay = min(MAX_DELAY, base * 2 ** max(0, attempts - 1))
    return float(delay * random.uniform(0.8, 1.2))


class Relay:
    """Sends due outbox rows; one delivery pass at a time."""

    def __init__(
        self,
        db: Database,
        channels: Mapping[str, Channel],
        settings: AlertSettings | None = None,
    ) -> None:
        self.db = db
        self.channels = channels
        self.settings = settings or AlertSettings()
        self.locks: dict[str, asyncio.Lock] = {}  # channel -> held while a pass sends on it
        self.last_sent: dict[str, float] = {}  # channel -> monotonic time of its last message
        self.blocked_until: dict[str, float] = {}  # channel -> monotonic end of its Retry-After

    async def deliver_due(self, *, flush: bool = False) -> DeliveryReport:
        """One pass over the due rows; ``flush`` ignores the group wait (end of `fetch`).
        Each channel is sent on its own, all at once, under its own lock: a channel still
        busy with an earlier pass (a slow SMTP server) is left to it, and holds up no
        other channel nor this pass."""
        wait = 0.0 if flush else self.settings.group_wait
        due = outbox.due_rows(self.db, created_before=clock.iso_now(-wait) if wait > 0 else None)
        by_channel: dict[str, list[OutboxRow]] = {}
        for row in due:
            by_channel.setdefault(row.channel, []).append(row)
        reports = await asyncio.gather(
            *(self._locked_pass(name, rows) for name, rows in by_channel.items())
        )
        total = DeliveryReport()
        for report in reports:
            total.add(report)
        return total

    async def _locked_pass(self, name: str, rows: list[OutboxRow]) -> DeliveryReport:
        lock = self.locks.setdefault(name, asyncio.Lock())
        if lock.locked():
            return DeliveryReport()  # an earlier pass is sending here; its rows wait for the next
        async with lock:
            return await self._channel_pass(name, rows)

    async def _channel_pass(self, name: str, rows: list[OutboxRow]) -> DeliveryReport:
        report = DeliveryReport()
        channel = self.channels.get(name)
        if channel is None:
            taken = outbox.claim_many(
                self.db, [r.id for r in rows], lease_seconds=self.settings.lease
            )
            for row_id in taken.ids:
                outbox.mark_failed(
                    self.db,
                    row_id,
                    token=taken.token,
                    error=f"channel {name!r} is not configured",
                    retry_in=None,
                )
                report.dead += 1
            log.error("%d alerts for channel %r, which is not configured: dead", len(rows), name)
            return report
        if self._held(name):
            return report  # the far end asked to wait; its rows stay due for later
        for batch in self._batches(rows):
            await self._pace(name, float(getattr(channel, "pace", 0.0)))
            taken = outbox.claim_many(
                self.db, [r.id for r in batch], lease_seconds=self.settings.lease
            )
            claimed = [self._with_outlets(r) for r in batch if r.id in taken.ids]
            if not claimed:
                continue
            error = await self._send(channel, claimed)
            self.last_sent[name] = time.monotonic()
            if error is None:
                _fault_point(name)
                self._sent(claimed, taken.token, report)
                continue
            if isinstance(error, ContentRefused) and len(claimed) > 1:
                error = await self._split(name, channel, claimed, taken.token, error, report)
            else:
                self._failed(claimed, taken.token, error, report)
            if error is not None and error.retry_after is not None:
                self._block(name, error.retry_after)
            if error is not None and _ends_pass(error):
                break
        return report

    async def _split(
        self,
        name: str,
        channel: Channel,
        rows: list[OutboxRow],
        token: str,
        error: DeliveryError,
        report: DeliveryReport,
    ) -> DeliveryError | None:
        """A roll-up whose content was refused may hold one bad alert (a block Slack
        rejects with a 400, an SMTP 554 after DATA): its rows go again in halves, and failing
        halves in halves, so only the bad alerts end in dead-letter (about two sends per
        halving). Until one part gets through, the far end may be refusing every message:
        after a few failed parts with none accepted, the rest is dead-lettered too. A
        transient failure ends the split: what is left is retried later as one message.
        Returns that failure."""
        log.warning(
            "channel %s refused a roll-up of %d for good (%s); sending it in parts",
            name,
            len(rows),
            error,
        )
        parts, budget, accepted = _halves(rows), 2 * len(rows).bit_length(), False
        while parts:
            part = parts.pop(0)
            if not accepted and budget <= 0:
                self._failed([r for p in [part, *parts] for r in p], token, error, report)
                return None
            await self._pace(name, float(getattr(channel, "pace", 0.0)))
            outcome = await self._send(channel, part)
            self.last_sent[name] = time.monotonic()
            if outcome is None:
                self._sent(part, token, report)
                accepted = True
            elif not outcome.permanent:
                self._failed([r for p in [part, *parts] for r in p], token, outcome, report)
                return outcome
            elif len(part) == 1:
                self._failed(part, token, outcome, report)
                budget -= 1
            else:
                parts[:0] = _halves(part)
                error, budget = outcome, budget - 1
        return None

    def _block(self, name: str, retry_after: float) -> None:
        """Retry-After binds the channel, not only the rows that got it: no row of it is
        posted before then, by this relay (``blocked_until``) or another process (the end
        of the wait is kept in the database)."""
        wait = min(MAX_RETRY_AFTER, retry_after)
        self.blocked_until[name] = time.monotonic() + wait
        held = outbox.hold_channel(self.db, name, wait)
        log.warning("channel %s asked to wait %.0fs; holding %d more alerts", name, wait, held)

    def _held(self, name: str) -> bool:
        if self.blocked_until.get(name, 0.0) > time.monotonic():
            return True
        return outbox.channel_held_until(self.db, name) is not None

    def _sent(self, rows: list[OutboxRow], token: str, report: DeliveryReport) -> None:
        marked = outbox.mark_sent_many(self.db, [r.id for r in rows], token=token)
        if marked < len(rows):
            # The lease ran out during the send and another sender took the rows: it sends
            # them again (at-least-once); a longer alerts.lease avoids this.
            log.warning(
                "%d alerts were sent after their lease ran out; another sender has them",
                len(rows) - marked,
            )
        report.sent += marked
        report.messages += 1

    def _batches(self, rows: Sequence[OutboxRow]) -> Iterator[list[OutboxRow]]:
        """Messages to send: rows tried before in one message go again as that message
        (the same rows, so the same Message-ID); new rows are rolled up, at most
        ``rollup_max`` a message; a new row owed to only some email recipients travels
        alone, to those recipients."""
        tried: dict[tuple[str, tuple[str, ...] | None], list[OutboxRow]] = {}
        fresh: list[OutboxRow] = []
        for row in rows:
            if row.batch_id is not None:
                tried.setdefault((row.batch_id, row.recipients), []).append(row)
            elif row.recipients is not None:
                yield [row]
            else:
                fresh.append(row)
        size = self.settings.rollup_max
        for group in [*tried.values(), fresh]:
            for start in range(0, len(group), size):
                yield group[start : start + size]

    async def _pace(self, name: str, pace: float) -> None:
        last = self.last_sent.get(name)
        if pace > 0 and last is not None:
            await asyncio.sleep(max(0.0, last + pace - time.monotonic()))

    def _with_outlets(self, row: OutboxRow) -> OutboxRow:
        """The alert as of now: its outlet first, then the other outlets that carried the
        same story (copies attached after the row was queued are named too)."""
        story_id, article_id = row.payload.get("story_id"), row.payload.get("article_id")
        if not isinstance(story_id, int) or not isinstance(article_id, int):
            return row
        own = stories.outlet_of(self.db, article_id)
        others = [o for o in stories.outlets(self.db, story_id) if o != own]
        outlets = [own, *others] if own else others
        return dataclasses.replace(row, payload={**row.payload, "outlets": outlets})

    async def _send(self, channel: Channel, rows: list[OutboxRow]) -> DeliveryError | None:
        try:
            send_rollup = getattr(channel, "send_rollup", None)
            if len(rows) == 1 or send_rollup is None:
                for row in rows:
                    await channel.send(row)
            else:
                await send_rollup(rows, self.settings.rollup_cap)
        except asyncio.CancelledError:
            raise  # the rows stay claimed until their lease ends, then are sent again
        except DeliveryError as exc:
            return exc
        except Exception as exc:
            # A bug or an odd failure in one channel must not block the queue.
            log.error("channel %s failed unexpectedly: %s", channel.name, unexpected(exc))
            return DeliveryError(channel.name, f"unexpected {type(exc).__name__}")
        return None

    def _failed(
        self, rows: list[OutboxRow], token: str, error: DeliveryError, report: DeliveryReport
    ) -> None:
        # One delay for the whole message, so its rows come due together and stay one roll-up.
        delay = backoff(
            max(r.attempts for r in rows) + 1, error.retry_after, self.settings.retry_base
        )
        # A Retry-After (429) is the far end pacing us, not the alert failing: it does not
        # count toward MAX_ATTEMPTS, so a long rate limit never dead-letters good alerts; the
        # wait itself is whatever the far end asked.
        counted = error.retry_after is None
        for row in rows:
            give_up = error.permanent or (counted and row.attempts + 1 >= MAX_ATTEMPTS)
            outbox.mark_failed(
                self.db,
                row.id,
                token=token,
                error=str(error),
                retry_in=None if give_up else delay,
                recipients=error.recipients,
                counted=counted,
            )
            if give_up:
                report.dead += 1
                log.error("alert %s dead-lettered: %s", row.id, error)
            else:
                report.retrying += 1
                log.warning("alert %s will be retried in %.0fs: %s", row.id, delay, error)


def unexpected(exc: BaseException) -> str:
    """An unexpected error for a log line: its type and where it was raised, never its
    message nor a traceback (the message of a library error may quote a secret URL)."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno} in {frames[-1].name}"
    return type(exc).__name__ + (where if frames else "")


def _ends_pass(error: DeliveryError) -> bool:
    """A transient failure of the channel itself (down, timing out, rate limiting) would
    only repeat for the next message: the pass ends there, and the rest waits for the next
    pass. A failure of one message (refused content, refused recipients) does not."""
    return not error.permanent and error.recipients is None


def _halves(rows: list[OutboxRow]) -> list[list[OutboxRow]]:
    middle = (len(rows) + 1) // 2
    return [rows[:middle], rows[middle:]]


def _fault_point(channel: str) -> None:
    if os.environ.get(FAULT_ENV) in ("kill-after-send", f"kill-after-send:{channel}"):
        os.kill(os.getpid(), signal.SIGKILL)
