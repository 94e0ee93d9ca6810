"""Retry-After holds the whole channel, across passes and across senders, and a 429 does not
count toward dead-letter; one slow channel holds up no other."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from conftest import queue_alerts
from pytest_httpserver import HTTPServer
from test_delivery import PacedSlack, payload, slack

import storage
from monitor.config import AlertSettings
from monitor.relay import Relay
from storage import outbox


def test_retry_after_holds_every_row_of_the_channel(httpserver: HTTPServer, tmp_path: Path) -> None:
    hook = PacedSlack(httpserver, pace=0)
    hook.answers = [(429, {"Retry-After": "3"})]
    db = storage.open_database(tmp_path / "m.db")
    for i in range(4):
        queue_alerts(db, [(f"alert:w:{i}:slack", "slack")], payload(i))
    settings = AlertSettings(rollup_max=3, retry_base=0.5)
    relay = Relay(db, {"slack": slack(hook.url)}, settings)
    first = asyncio.run(relay.deliver_due())
    assert (first.sent, first.retrying) == (0, 3) and len(hook.times) == 1
    # A 429 is the far end pacing us, not the alert failing: no attempt is used up.
    assert {r.attempts for r in outbox.list_rows(db)} == {0}

    queue_alerts(db, [("alert:w:new:slack", "slack")], payload(9))  # due right now
    assert asyncio.run(relay.deliver_due()).sent == 0  # the same sender waits ...
    other = Relay(storage.open_database(tmp_path / "m.db"), {"slack": slack(hook.url)}, settings)
    assert asyncio.run(other.deliver_due()).sent == 0  # ... and so does another process
    assert len(hook.times) == 1  # nothing posted before Retry-After

    deadline, sent = time.monotonic() + 10, 0
    while sent < 5 and time.monotonic() < deadline:
        time.sleep(0.3)
        sent += asyncio.run(relay.deliver_due()).sent
    assert sent == 5
    assert hook.times[1] - hook.times[0] >= 3.0
