"""The weekly digest in the daemon: due once per ISO week, sent once per week and channel.

Rather than trusting a timer to fire at the right minute, the daemon asks, at start-up and
then every minute, "is this week's digest due?": it is once the local clock has passed the
configured day and time of the current ISO week. The digest then covers the last complete
ISO week and is queued as one outbox row per channel keyed ``digest:<week>:<channel>``;
the unique key makes the question safe to ask any number of times, from any process, across
restarts. So:

- a daemon down over the scheduled time sends the digest when it starts again (the same
  week), and a daemon down for the whole week does not send a stale one; a daemon started
  for the first time on a database waits for the next scheduled time;
- a DST change moves nothing: the scheduled moment is the configured wall-clock time in the
  configured zone, recomputed every time; a wall time the change skips (02:30 on the spring
  night) is read with the offset before the jump (so it falls at 03:30), and one that
  happens twice (02:30 on the autumn night) is passed the first time.

``MONITOR_NOW`` (an ISO 8601 time with its offset) shifts the digest clock so that start-up
happens at that moment; time then runs on as usual. It exists for tests and demonstrations.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo

from ..config import DigestSettings
from ..errors import ConfigError
from .period import Period, last_complete_week

log = logging.getLogger(__name__)

NOW_ENV = "MONITOR_NOW"


@dataclass(frozen=True)
class Clock:
    """Real time, shifted by a fixed offset (zero unless ``MONITOR_NOW`` is set)."""

    offset: timedelta = timedelta(0)

    @classmethod
    def from_env(cls) -> Clock:
        value = os.environ.get(NOW_ENV, "").strip()
        if not value:
            return cls()
        try:
            start = datetime.fromisoformat(value)
        except ValueError:
            start = None
        if start is None or start.tzinfo is None:
            raise ConfigError(
                f"{NOW_ENV}: expected an ISO 8601 time with an offset, "
                f"like 2026-11-23T06:59:00+01:00, got {value!r}"
            )
        return cls(start - datetime.now(UTC))

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


def scheduled_moment(now: datetime, settings: DigestSettings, zone: tzinfo) -> datetime:
    """When this week's digest is due: the configured weekday and wall-clock time of the
    ISO week ``now`` falls in, in ``zone``, as UTC."""
    today = now.astimezone(zone).date()
    day = today - timedelta(days=today.weekday() - settings.day)
    wall = datetime.combine(day, time(settings.hour, settings.minute), tzinfo=zone)
    return wall.astimezone(UTC)


def due_period(
    now: datetime, settings: DigestSettings, zone: tzinfo, *, since: datetime | None = None
) -> Period | None:
    """The week whose digest is due at ``now``, or None before this week's scheduled time,
    or when the digest clock only started (``since``, the daemon's first start on this
    database) after it: a new installation starts with next week's digest, not with a digest
    of the week before it existed."""
    moment = scheduled_moment(now, settings, zone)
    if now < moment or (since is not None and since > moment):
        return None
    return last_complete_week(now, zone)
