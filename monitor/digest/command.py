"""`monitor digest`: one call that picks the period, builds, renders and sends or writes."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from ..app import App
from ..errors import InputError
from . import deliver
from .build import make_digest, zone_of
from .period import Period, parse_week, since_period
from .schedule import Clock


@dataclass(frozen=True)
class DigestRequest:
    since: str | None = None
    week: str | None = None
    watchlists: tuple[str, ...] = ()
    format: str = "text"
    output: Path | None = None
    send: tuple[str, ...] = ()


@dataclass
class DigestResult:
    text: str | None = None  # for standard output, when neither written nor sent
    written: list[Path] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)


def choose_period(app: App, since: str | None, week: str | None, clock: Clock) -> Period:
    if since and week:
        raise InputError("give either --since or --week, not both")
    zone = zone_of(app.settings)
    if week:
        return parse_week(week, zone)
    return since_period(since or "7d", zone, now=clock.now())


def manual_key(period: Period, channel: str) -> str:
    """The outbox-style key of a digest sent by hand: its week, else its exact span, so
    each ad-hoc digest has its own Message-ID and a repeat of one is recognisable."""
    span = period.week or f"adhoc:{period.start_iso}/{period.end_iso}"
    return f"digest:{span}:{channel}:manual"


def run_digest(app: App, request: DigestRequest, *, clock: Clock | None = None) -> DigestResult:
    clock = clock or Clock.from_env()
    unknown = [name for name in request.send if name not in app.settings.channels]
    if unknown:
        raise InputError(
            f"--send: channel {unknown[0]!r} is not configured "
            f"(configured: {', '.join(app.settings.channels)})"
        )
    period = choose_period(app, request.since, request.week, clock)
    digest = make_digest(app, period, only=request.watchlists, now=clock.now())
    result = DigestResult()
    if request.output:
        result.written = deliver.write_file(digest, request.format, request.output)
    for name in dict.fromkeys(request.send):
        key = manual_key(period, name)
        stream = deliver.channel_stream(app.channels, name)
        options = app.settings.channels[name]
        asyncio.run(deliver.send(digest, name, options, key=key, stream=stream))
        result.sent.append(name)
    if not request.output and not request.send:
        result.text = deliver.standalone(digest, request.format)
    return result
