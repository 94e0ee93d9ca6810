"""Timestamps as stored: ISO 8601 in UTC with a trailing ``Z``, so text order is time order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """``FORMAT``, with the year always four digits (``strftime`` writes year 1 as "1" on
    glibc, which neither sorts nor parses back)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    m = moment.astimezone(UTC)
    return f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}Z"


def parse(text: str) -> datetime:
    """A stored timestamp. The stored form goes through ``fromisoformat`` (ten times faster
    than ``strptime``: a feed's 50 entry dates are parsed at every poll); anything else
    through ``strptime``, which raises ValueError as before."""
    if len(text) == 20 and text[10] == "T" and text[19] == "Z":
        try:
            return datetime.fromisoformat(text[:19]).replace(tzinfo=UTC)
        except ValueError:
            pass
    return datetime.strptime(text, FORMAT).replace(tzinfo=UTC)


MAX_OFFSET = 366 * 86400.0  # a year: anything further is a hostile or broken value


def iso_now(offset_seconds: float = 0.0) -> str:
    offset = max(-MAX_OFFSET, min(MAX_OFFSET, offset_seconds))
    return iso(now() + timedelta(seconds=offset))
