"""The period a digest covers: an ISO week in the digest's time zone, or the last N days.

Weeks are local: week 2026-W47 runs from Monday 00:00 to the next Monday 00:00 in the
configured zone, whatever the UTC offset did in between (a DST week is 167 or 169 hours).
Every boundary is turned into UTC once, here; storage compares UTC text.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from storage import clock

from ..config import parse_duration
from ..errors import ConfigError, InputError

_WEEK = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.IGNORECASE)


def local_zone(name: str | None) -> tzinfo:
    """The named IANA zone, else the machine's zone with its DST rules (``$TZ`` or
    /etc/localtime), else UTC. A fixed offset would put every date after a DST change an
    hour off, so ``datetime.now().astimezone()`` is not enough."""
    for candidate in (name, os.environ.get("TZ", "").lstrip(":") or None):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                if candidate == name:
                    raise InputError(f"unknown time zone {name!r}") from None
    try:
        with open("/etc/localtime", "rb") as handle:
            return ZoneInfo.from_file(handle, key="localtime")
    except (OSError, ValueError):
        return UTC


@dataclass(frozen=True)
class Period:
    """[start, end) in UTC, with the zone its days are counted in."""

    start: datetime
    end: datetime
    zone: tzinfo
    label: str
    week: str | None = None  # "2026-W47" when the period is an ISO week

    @property
    def start_iso(self) -> str:
        return clock.iso(self.start)

    @property
    def end_iso(self) -> str:
        return clock.iso(self.end)

    def previous(self) -> Period:
        """The period of the same length just before: the baseline for counts and trends."""
        if self.week:
            first = self.start.astimezone(self.zone).date() - timedelta(days=7)
            return week_period(first.isocalendar(), self.zone)
        span = self.end - self.start
        return Period(self.start - span, self.start, self.zone, f"the {_span(span)} before")

    @property
    def this(self) -> str:
        """How the text names this period: "this week", "the last 7 days"."""
        return "this week" if self.week else self.label

    @property
    def before(self) -> str:
        """How the text names the previous period."""
        return "the week before" if self.week else f"the {_span(self.end - self.start)} before"

    def days(self) -> list[date]:
        """Each local calendar day the period touches, oldest first."""
        first = self.start.astimezone(self.zone).date()
        last = (self.end - timedelta(microseconds=1)).astimezone(self.zone).date()
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]

    def local_day(self, stamp: str) -> date:
        return clock.parse(stamp).astimezone(self.zone).date()


def _span(span: timedelta) -> str:
    days = span / timedelta(days=1)
    return f"{days:g} days" if days >= 1 else f"{span.total_seconds() / 3600:g} hours"


def week_start(year: int, week: int, zone: tzinfo) -> datetime:
    """Monday 00:00 of an ISO week, in ``zone``, as an aware datetime."""
    monday = date.fromisocalendar(year, week, 1)
    return datetime.combine(monday, time(0, 0), tzinfo=zone)


def week_label(day: date) -> str:
    iso = day.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def week_period(iso: tuple[int, int, int], zone: tzinfo) -> Period:
    year, week = iso[0], iso[1]
    start = week_start(year, week, zone)
    end_day = start.date() + timedelta(days=7)
    end = datetime.combine(end_day, time(0, 0), tzinfo=zone)
    sunday = end_day - timedelta(days=1)
    label = f"week {year}-W{week:02d} ({start:%a %d %b} – {sunday:%a %d %b %Y})"
    return Period(
        start.astimezone(UTC), end.astimezone(UTC), zone, label, week=f"{year}-W{week:02d}"
    )


def parse_week(text: str, zone: tzinfo) -> Period:
    """``2026-W47`` (or ``2026W47``) as a period; a clear error for anything else."""
    m = _WEEK.match(text.strip())
    if not m:
        raise InputError(f"--week: expected an ISO week like 2026-W47, got {text!r}")
    year, week = int(m.group(1)), int(m.group(2))
    try:
        date.fromisocalendar(year, week, 1)
    except ValueError:
        raise InputError(f"--week: {year} has no ISO week {week}") from None
    return week_period((year, week, 1), zone)


def since_period(text: str, zone: tzinfo, *, now: datetime) -> Period:
    """The last ``7d`` (``24h``, ``2w`` ...) up to ``now``."""
    try:
        seconds = parse_duration(text, where="--since")
    except ConfigError as exc:
        raise InputError(str(exc)) from None
    if seconds <= 0:
        raise InputError(f"--since: must be longer than zero, got {text!r}")
    span = timedelta(seconds=seconds)
    return Period(now - span, now, zone, f"the last {_span(span)}")


def last_complete_week(now: datetime, zone: tzinfo) -> Period:
    """The ISO week before the one ``now`` falls in (local): what a Monday digest covers."""
    today = now.astimezone(zone).date()
    return week_period((today - timedelta(days=7)).isocalendar(), zone)
