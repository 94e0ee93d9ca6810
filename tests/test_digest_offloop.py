"""The daemon's digest job keeps the event loop free while it builds the digest and draws its
charts (other jobs - polling, alert delivery - go on meanwhile), and the digest's period
queries are served by an index on ``matches.matched_at``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import digest_week as week
import pytest
from conftest import smtp_server
from test_channels import Recorder

import storage
from monitor.app import open_app
from monitor.config import load_settings
from monitor.digest import job
from storage import digests


@pytest.fixture
def smtp() -> Iterator[tuple[Recorder, int]]:
    handler = Recorder()
    with smtp_server(handler) as port:
        yield handler, port


async def with_ticker(work: Callable[[], Awaitable[int]]) -> tuple[int, float, float]:
    """Run ``work`` while a ticker tries to run every 5 ms; (result, longest gap, total)."""
    gaps: list[float] = []
    done = asyncio.Event()

    async def tick() -> None:
        last = time.monotonic()
        while not done.is_set():
            await asyncio.sleep(0.005)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0.02)
    started = time.monotonic()
    result = await work()
    total = time.monotonic() - started
    done.set()
    await ticker
    return result, max(gaps), total


def test_the_digest_is_built_and_drawn_off_the_event_loop(
    smtp: tuple[Recorder, int], tmp_path: Path
) -> None:
    handler, port = smtp
    channels = (
        f'[channels.email]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
        'sender = "digest@monitor.test"\nrecipients = ["desk@monitor.test"]'
    )
    config = week.write_config(tmp_path, channels=channels)
    week.fill(tmp_path / "digest.db").close()
    app = open_app(load_settings(config))
    try:
        digests.queue_digest(app.db, week.WEEK, ["email"], {"week": week.WEEK})

        async def scenario() -> tuple[int, float, float]:
            return await with_ticker(lambda: job.deliver_due(app))

        sent, longest_gap, total = asyncio.run(scenario())
    finally:
        app.close()
    assert sent == 1 and len(handler.messages) == 1
    assert handler.messages[0].get_content_type() == "multipart/alternative"
    # Building, rendering and two matplotlib charts take a while; the loop never stalls on it.
    # On the loop, the longest gap would be most of the job's time; off it, a gap is a GIL
    # hand-over (a chart's C code can hold the GIL for a while on a busy machine: 0.1 s seen).
    assert longest_gap < max(0.15, total / 2), (longest_gap, total)


def test_period_queries_use_the_matched_at_index(tmp_path: Path) -> None:
    db = week.fill(tmp_path / "digest.db")
    seen: list[str] = []
    db.conn.set_trace_callback(seen.append)
    digests.period_matches(db, "2026-11-16T00:00:00Z", "2026-11-23T00:00:00Z")
    digests.period_terms(db, "2026-11-16T00:00:00Z", "2026-11-23T00:00:00Z")
    db.conn.set_trace_callback(None)
    plans = [" ".join(str(r[3]) for r in db.execute("EXPLAIN QUERY PLAN " + sql)) for sql in seen]
    assert len(plans) == 2
    assert all("USING INDEX matches_matched_at" in plan for plan in plans), plans
    assert storage.migrations.schema_version(db) == storage.migrations.LATEST
