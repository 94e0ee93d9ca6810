"""A roll-up refused for good because of one bad alert: its rows are sent again in parts, so
only the bad alert ends in dead-letter; a channel that refuses everything (a 404 webhook)
dead-letters the lot after a few tries, not one request per alert."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from aiosmtpd.controller import Controller
from conftest import free_port, queue_alerts
from pytest_httpserver import HTTPServer
from test_channels import PAYLOAD, Recorder, email_settings
from werkzeug import Request, Response

import storage
from monitor.channels import EmailChannel, SlackChannel
from monitor.config import AlertSettings, SlackSettings
from monitor.relay import Relay
from storage import outbox


class PickySlack:
    """Answers 400 invalid_blocks to any message that carries a title with "BAD" in it."""

    def __init__(self, server: HTTPServer) -> None:
        self.requests = 0
        self.delivered: list[str] = []
        server.expect_request("/hook", method="POST").respond_with_handler(self.handle)
        self.url = server.url_for("/hook")

    def handle(self, request: Request) -> Response:
        self.requests += 1
        body = json.loads(request.data)
        if "BAD" in json.dumps(body):
            return Response("invalid_blocks", status=400)
        titles = [b["text"]["text"] for b in body["blocks"] if b["type"] == "section"]
        self.delivered += [t for t in titles if "Story" in t]
        return Response("ok")


def fill(db: object, titles: list[str]) -> None:
    for i, title in enumerate(titles):
        queue_alerts(db, [(f"alert:w:{i}:slack", "slack")], {**PAYLOAD, "title": title})


def relay(db: object, url: str) -> Relay:
    channel = SlackChannel(SlackSettings(webhook_url=url, pace=0.0))
    return Relay(db, {"slack": channel}, AlertSettings(retry_base=0.5))  # type: ignore[arg-type]


def test_only_the_bad_alert_of_a_rollup_ends_dead(httpserver: HTTPServer, tmp_path: Path) -> None:
    hook = PickySlack(httpserver)
    db = storage.open_database(tmp_path / "m.db")
    titles = [f"Story {i}" for i in range(9)]
    titles[5] = "Story 5 BAD"
    fill(db, titles)
    report = asyncio.run(relay(db, hook.url).deliver_due())
    assert (report.sent, report.dead, report.retrying) == (8, 1, 0)
    [dead] = outbox.list_rows(db, status="dead")
    assert dead.dedup_key == "alert:w:5:slack"
    assert "HTTP 400 invalid_blocks" in (dead.last_error or "")
    assert len(hook.delivered) == 8 and not any("BAD" in t for t in hook.delivered)
    assert hook.requests <= 1 + 2 * 4  # bisected: about two requests per halving


def test_a_channel_refusing_everything_dead_letters_after_a_few_tries(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    hook = PickySlack(httpserver)
    db = storage.open_database(tmp_path / "m.db")
    fill(db, [f"Story {i} BAD" for i in range(40)])
    report = asyncio.run(relay(db, hook.url).deliver_due())
    assert (report.sent, report.dead) == (0, 40)
    assert hook.requests <= 16  # not 40 single sends, let alone 79 in a full bisection


def test_an_smtp_554_after_data_splits_a_rollup_too(tmp_path: Path) -> None:
    """Email: the server refuses the message holding one alert (554 after DATA); the others
    arrive, each once, and the bad one ends dead."""

    class Picky(Recorder):
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            if b"BAD" in envelope.content:  # type: ignore[attr-defined]
                return "554 5.7.1 message content rejected"
            return await super().handle_DATA(server, session, envelope)

    handler, port = Picky(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        db = storage.open_database(tmp_path / "m.db")
        for i in range(4):
            title = "Story BAD" if i == 2 else f"Story {i}"
            queue_alerts(db, [(f"alert:w:{i}:email", "email")], {**PAYLOAD, "title": title})
        channel = EmailChannel(email_settings(port))
        report = asyncio.run(Relay(db, {"email": channel}).deliver_due())
    finally:
        controller.stop()
    assert (report.sent, report.dead) == (3, 1)
    keys = [k for m in handler.messages for k in str(m["X-News-Monitor-Key"]).split()]
    assert sorted(keys) == ["alert:w:0:email", "alert:w:1:email", "alert:w:3:email"]
    [dead] = outbox.list_rows(db, status="dead")
    assert dead.dedup_key == "alert:w:2:email" and "SMTP 554" in (dead.last_error or "")
