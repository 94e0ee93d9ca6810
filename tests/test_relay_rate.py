"""Retry-After holds the whole channel, across passes and across senders, and a 429 does not
count toward dead-letter; one slow channel holds up no other."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from conftest import queue_alerts
from pytest_httpserver import HTTPServer
from test_channels import email_settings
from test_delivery import PacedSlack, payload, serve_once, slack

import storage
from monitor.channels import EmailChannel
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


def silent_email(port: int) -> EmailChannel:
    settings = email_settings(port)
    return EmailChannel(
        type(settings)(**{**settings.__dict__, "timeout": 1.5, "connect_timeout": 1.5})
    )


def test_a_slow_channel_holds_up_no_other_pass(httpserver: HTTPServer, tmp_path: Path) -> None:
    """An SMTP server that accepts and never answers: while a pass waits on it, another pass
    delivers a new Slack alert at once."""
    hook = PacedSlack(httpserver, pace=0)
    port, done = serve_once("silent")
    db = storage.open_database(tmp_path / "m.db")
    queue_alerts(db, [("alert:w:1:email", "email")], payload(1))
    relay = Relay(db, {"email": silent_email(port), "slack": slack(hook.url)}, AlertSettings())

    async def scenario() -> tuple[float, float]:
        first = asyncio.create_task(relay.deliver_due())
        await asyncio.sleep(0.3)  # the email send is now waiting on the silent server
        queue_alerts(db, [("alert:w:2:slack", "slack")], payload(2))
        started = time.monotonic()
        second = await relay.deliver_due()
        took = time.monotonic() - started
        assert second.sent == 1
        await first
        return took, time.monotonic() - started

    try:
        took, total = asyncio.run(scenario())
    finally:
        done.set()
    assert took < 0.8 < total  # Slack did not wait for the email timeout
    assert len(hook.bodies) == 1


def test_a_channel_pass_ends_at_its_first_timeout(tmp_path: Path) -> None:
    """Three messages due on a silent SMTP server: one timeout, not three, per pass."""
    port, done = serve_once("silent")
    db = storage.open_database(tmp_path / "m.db")
    for i in range(3):
        queue_alerts(db, [(f"alert:w:{i}:email", "email")], payload(i))
    relay = Relay(db, {"email": silent_email(port)}, AlertSettings(rollup_max=1))
    started = time.monotonic()
    try:
        report = asyncio.run(relay.deliver_due())
    finally:
        done.set()
    assert time.monotonic() - started < 2.5
    assert (report.sent, report.retrying) == (0, 1)
    assert sorted(r.attempts for r in outbox.list_rows(db)) == [0, 0, 1]
