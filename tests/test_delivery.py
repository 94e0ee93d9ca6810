"""Delivery faults against real peers: a burst rolled up and paced under a Slack that answers
429 when pushed faster than once a second; Retry-After honoured; a permanent error
dead-lettered for good; refused email recipients retried alone; dropped and silent SMTP
servers; the JSON webhook's body; secrets kept out of errors and logs."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import free_port, queue_alerts, smtp_server
from pytest_httpserver import HTTPServer
from test_channels import PAYLOAD, Recorder, email_settings
from werkzeug import Request, Response

import storage
from monitor.channels import EmailChannel, SlackChannel, WebhookChannel
from monitor.config import AlertSettings, SlackSettings, WebhookSettings
from monitor.errors import DeliveryError
from monitor.relay import Relay
from storage import outbox

FAST = AlertSettings(retry_base=0.5)


class PacedSlack:
    """A Slack webhook that counts requests and answers 429 (Retry-After: 1) to a request
    coming less than ``pace`` seconds after the previous one."""

    def __init__(self, server: HTTPServer, *, pace: float = 0.9, path: str = "/hook") -> None:
        self.pace = pace
        self.times: list[float] = []
        self.bodies: list[dict[str, Any]] = []
        self.too_fast = 0
        self.answers: list[tuple[int, dict[str, str]]] = []  # scripted replies, used first
        server.expect_request(path, method="POST").respond_with_handler(self.handle)
        self.url = server.url_for(path)

    def handle(self, request: Request) -> Response:
        now = time.monotonic()
        early = bool(self.times) and now - self.times[-1] < self.pace
        self.times.append(now)
        if self.answers:
            status, headers = self.answers.pop(0)
            return Response("scripted", status=status, headers=headers)
        if early:
            self.too_fast += 1
            return Response("rate_limited", status=429, headers={"Retry-After": "1"})
        self.bodies.append(json.loads(request.data))
        return Response("ok")


def slack(url: str) -> SlackChannel:
    return SlackChannel(SlackSettings(webhook_url=url))


def payload(i: int) -> dict[str, Any]:
    return {**PAYLOAD, "title": f"Story number {i}", "url": f"http://127.0.0.1/news/{i}.html"}


def queue(db: Any, count: int, channel: str) -> None:
    for i in range(count):
        queue_alerts(db, [(f"alert:w:{i}:{channel}", channel)], payload(i))


def test_a_burst_of_100_is_rolled_up_and_paced_without_a_429_storm(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    hook = PacedSlack(httpserver)
    db = storage.open_database(tmp_path / "m.db")
    queue(db, 100, "slack")
    relay = Relay(db, {"slack": slack(hook.url)}, AlertSettings(rollup_cap=10, rollup_max=50))
    report = asyncio.run(relay.deliver_due())
    assert (report.sent, report.messages, report.retrying) == (100, 2, 0)
    assert hook.too_fast == 0 and len(hook.times) == 2
    assert hook.times[1] - hook.times[0] >= 0.95
    first = hook.bodies[0]
    assert first["text"].startswith("50 alerts: ")
    assert first["blocks"][0]["text"]["text"] == "*50 alerts*"
    assert len(first["blocks"]) <= 50  # Slack's limit per message
    shown = [b for b in first["blocks"] if b["type"] == "divider"]
    assert len(shown) == 10
    assert "+40 more" in first["blocks"][-1]["elements"][0]["text"]
    assert outbox.counts(db) == {"pending": 0, "sent": 100, "dead": 0}


def test_pacing_holds_across_passes(httpserver: HTTPServer, tmp_path: Path) -> None:
    hook = PacedSlack(httpserver)
    db = storage.open_database(tmp_path / "m.db")
    relay = Relay(db, {"slack": slack(hook.url)})
    for i in range(3):  # three passes, one new alert each, back to back
        queue(db, 1, "slack") if i == 0 else queue_alerts(db, [(f"k{i}", "slack")], payload(i))
        asyncio.run(relay.deliver_due())
    assert hook.too_fast == 0 and len(hook.bodies) == 3


def test_429_waits_for_retry_after_then_delivers(httpserver: HTTPServer, tmp_path: Path) -> None:
    hook = PacedSlack(httpserver)
    hook.answers = [(429, {"Retry-After": "2"})]
    db = storage.open_database(tmp_path / "m.db")
    queue(db, 3, "slack")
    relay = Relay(db, {"slack": slack(hook.url)}, FAST)
    first = asyncio.run(relay.deliver_due())
    assert (first.sent, first.retrying) == (0, 3)
    assert asyncio.run(relay.deliver_due()).sent == 0  # not before Retry-After
    assert len(hook.times) == 1
    deadline = time.monotonic() + 10
    sent = 0
    while sent < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
        sent += asyncio.run(relay.deliver_due()).sent
    assert sent == 3
    assert len(hook.times) == 2 and hook.times[1] - hook.times[0] >= 2.0
    [body] = hook.bodies
    assert body["text"].startswith("3 alerts: ")
    rows = outbox.list_rows(db)
    # The 429 was the far end pacing us: only the accepted try counts.
    assert {r.status for r in rows} == {"sent"} and {r.attempts for r in rows} == {1}


def test_permanent_error_is_dead_lettered_and_not_retried(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    hook = PacedSlack(httpserver, pace=0)
    hook.answers = [(404, {})]
    db = storage.open_database(tmp_path / "m.db")
    queue(db, 2, "slack")
    relay = Relay(db, {"slack": slack(hook.url)}, FAST)
    report = asyncio.run(relay.deliver_due())
    assert (report.sent, report.dead) == (0, 2)
    time.sleep(1.2)
    assert asyncio.run(relay.deliver_due()).sent == 0
    assert len(hook.times) == 1  # never tried again
    dead = outbox.list_rows(db, status="dead")
    assert len(dead) == 2 and all("HTTP 404" in (r.last_error or "") for r in dead)
    assert "/hook" not in (dead[0].last_error or "")
    # `alerts retry` puts them back; the hook works again.
    assert outbox.requeue(db) == 2
    assert asyncio.run(relay.deliver_due()).sent == 2


class Refusing(Recorder):
    """Refuses some recipients at RCPT: with 451 (try later) until ``accept_later``, or 550."""

    def __init__(self) -> None:
        super().__init__()
        self.soft = {"flaky@monitor.test"}
        self.hard = {"gone@monitor.test"}

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.soft:
            return "451 4.2.1 mailbox busy, try later"
        if address in self.hard:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def refusing() -> Iterator[tuple[Refusing, int]]:
    handler = Refusing()
    with smtp_server(handler) as port:
        yield handler, port


def make_due(db: Any) -> None:
    db.execute("UPDATE outbox SET next_attempt_at = '2000-01-01T00:00:00Z'")
    db.conn.commit()


def test_refused_recipients_are_recorded_and_retried_alone(
    refusing: tuple[Refusing, int], tmp_path: Path
) -> None:
    handler, port = refusing
    settings = email_settings(port)
    settings = type(settings)(
        **{
            **settings.__dict__,
            "recipients": ("desk@monitor.test", "flaky@monitor.test", "gone@monitor.test"),
        }
    )
    db = storage.open_database(tmp_path / "m.db")
    queue(db, 2, "email")
    relay = Relay(db, {"email": EmailChannel(settings)}, FAST)
    first = asyncio.run(relay.deliver_due())
    assert (first.sent, first.retrying) == (0, 2)
    assert [e.rcpt_tos for e in handler.envelopes] == [["desk@monitor.test"]]
    rows = outbox.list_rows(db)
    assert {r.recipients for r in rows} == {("flaky@monitor.test", "gone@monitor.test")}
    assert "flaky@monitor.test (451)" in (rows[0].last_error or "")

    handler.soft.clear()  # the busy mailbox is free again; the gone one stays gone
    make_due(db)
    second = asyncio.run(relay.deliver_due())
    # The roll-up goes again as the same message, to the refused recipients only.
    assert second.dead == 2 and second.sent == 0
    assert [e.rcpt_tos for e in handler.envelopes[1:]] == [["flaky@monitor.test"]]
    dead = outbox.list_rows(db, status="dead")
    assert {r.recipients for r in dead} == {("gone@monitor.test",)}
    assert all("gone@monitor.test (550)" in (r.last_error or "") for r in dead)
    first, again = handler.messages
    assert first["Message-ID"] == again["Message-ID"]  # recognisably the same roll-up


def serve_once(action: str) -> tuple[int, threading.Event]:
    """A TCP server on 127.0.0.1 that either closes each connection at once ("drop") or
    accepts and never says a word ("silent")."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    done = threading.Event()
    held: list[socket.socket] = []

    def run() -> None:
        listener.settimeout(0.2)
        while not done.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            if action == "drop":
                conn.close()
            else:
                held.append(conn)
        for conn in held:
            conn.close()
        listener.close()

    threading.Thread(target=run, daemon=True).start()
    return int(listener.getsockname()[1]), done


@pytest.mark.parametrize("action", ["drop", "silent"])
def test_dropped_or_silent_smtp_server_is_transient(action: str) -> None:
    port, done = serve_once(action)
    settings = email_settings(port)
    settings = type(settings)(**{**settings.__dict__, "timeout": 1.0, "connect_timeout": 1.0})
    started = time.monotonic()
    try:
        with pytest.raises(DeliveryError) as info:
            asyncio.run(EmailChannel(settings).send(outbox_row()))
    finally:
        done.set()
    assert not info.value.permanent
    assert time.monotonic() - started < 5
    assert "cannot deliver via 127.0.0.1" in str(info.value)


def outbox_row(key: str = "alert:w:1:webhook") -> outbox.OutboxRow:
    return outbox.OutboxRow(1, key, "webhook", "alert", PAYLOAD, "pending", 0, "", "", None, None)


def test_webhook_posts_documented_json(httpserver: HTTPServer, tmp_path: Path) -> None:
    received: list[dict[str, Any]] = []

    def handler(request: Request) -> Response:
        received.append(json.loads(request.data))
        return Response(status=204)

    httpserver.expect_request("/in", method="POST").respond_with_handler(handler)
    db = storage.open_database(tmp_path / "m.db")
    queue(db, 3, "webhook")
    channel = WebhookChannel(WebhookSettings(url=httpserver.url_for("/in")))
    report = asyncio.run(Relay(db, {"webhook": channel}, AlertSettings(rollup_cap=1)).deliver_due())
    assert report.sent == 3 and report.messages == 1
    [body] = received
    assert body["source"] == "news-monitor" and body["version"] == 1 and body["count"] == 3
    assert [a["id"] for a in body["alerts"]] == [f"alert:w:{i}:webhook" for i in range(3)]
    alert = body["alerts"][0]
    assert set(alert) == {
        "id", "watchlist", "severity", "title", "url", "outlet", "also_in", "published",
        "terms", "snippets", "article_id", "story_id",
    }  # fmt: skip
    assert alert["terms"] == ["Baku", "Sputnik Azerbaijan"]
    assert alert["snippets"][0].startswith("… the **Baku** bureau")
    assert "\n" not in alert["title"]  # one line, as every field from a feed


@pytest.mark.parametrize(
    ("status", "permanent", "retry_after"),
    [
        (400, True, None),
        (403, True, None),
        (410, True, None),
        (503, False, None),
        (429, False, 7.0),
    ],
)
def test_webhook_failure_classes_hide_the_url(
    httpserver: HTTPServer, status: int, permanent: bool, retry_after: float | None
) -> None:
    httpserver.expect_request("/token-s3cr3t").respond_with_data(
        "no", status=status, headers={"Retry-After": "7"}
    )
    channel = WebhookChannel(WebhookSettings(url=httpserver.url_for("/token-s3cr3t")))
    with pytest.raises(DeliveryError) as info:
        asyncio.run(channel.send(outbox_row()))
    assert info.value.permanent is permanent and info.value.retry_after == retry_after
    assert "s3cr3t" not in str(info.value)


def test_secrets_stay_out_of_errors_and_logs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()  # nothing listens: the request fails with a connection error
    url = f"http://127.0.0.1:{port}/services/T000/B000/s3cr3t-token"
    db = storage.open_database(tmp_path / "m.db")
    queue(db, 1, "slack")
    queue(db, 1, "webhook")
    channels = {
        "slack": slack(url),
        "webhook": WebhookChannel(WebhookSettings(url=url)),
    }
    with caplog.at_level(logging.DEBUG):
        report = asyncio.run(Relay(db, channels, FAST).deliver_due())
    assert report.retrying == 2
    assert "s3cr3t" not in caplog.text
    assert all("s3cr3t" not in (r.last_error or "") for r in outbox.list_rows(db))
    assert "webhook request failed: ConnectError" in caplog.text
