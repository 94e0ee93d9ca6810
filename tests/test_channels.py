"""Alert channels against real peers: an aiosmtpd SMTP server and a local HTTP server playing
the Slack webhook; and the relay's retry / dead-letter rules."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from conftest import free_port, queue_alerts, smtp_server
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

import storage
from monitor.channels import EmailChannel, SlackChannel
from monitor.channels.slack import build_message
from monitor.config import EmailSettings, SlackSettings
from monitor.errors import DeliveryError
from monitor.relay import Relay
from storage import clock, outbox
from storage.outbox import OutboxRow

PAYLOAD = {
    "watchlist": "russia-azerbaijan-rift",
    "severity": "immediate",
    "title": "Baku raids <!channel> Sputnik\r\nBcc: victim@example.org",
    "url": "http://127.0.0.1/news/1.html",
    "site": "example.org",
    "published": "2025-07-01T08:00:00Z",
    "terms": ["Baku", "Sputnik Azerbaijan"],
    "snippets": ["… the **Baku** bureau of <http://x|bank> was raided …"],
}


def row(key: str = "alert:w:1:email", payload: dict[str, Any] | None = None) -> OutboxRow:
    return OutboxRow(1, key, "email", "alert", payload or PAYLOAD, "pending", 0, "", "", None, None)


class Recorder:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[Any] = []
        self.reply = "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.reply.startswith("250"):
            self.envelopes.append(envelope)
            self.messages.append(
                email.message_from_bytes(envelope.content, policy=email.policy.default)  # type: ignore[arg-type]
            )
        return self.reply


@pytest.fixture
def smtp() -> Iterator[tuple[Recorder, int]]:
    recorder = Recorder()
    with smtp_server(recorder) as port:
        yield recorder, port


def email_settings(port: int) -> EmailSettings:
    return EmailSettings(
        host="127.0.0.1",
        port=port,
        security="none",
        sender="alerts@monitor.test",
        recipients=("desk@monitor.test", "analyst@monitor.test"),
        timeout=5,
    )


def test_email_is_multipart_with_safe_headers_and_stable_id(smtp: tuple[Recorder, int]) -> None:
    recorder, port = smtp
    channel = EmailChannel(email_settings(port))
    asyncio.run(channel.send(row()))
    asyncio.run(channel.send(row()))  # a retry of the same alert
    assert len(recorder.messages) == 2
    first, second = recorder.messages
    assert first["Message-ID"] == second["Message-ID"]
    assert first["Message-ID"].endswith("@monitor.test>")
    assert first["Bcc"] is None  # the CR/LF in the title did not become a header
    assert "\n" not in first["Subject"] and "Bcc: victim" in first["Subject"]
    assert sorted(recorder.envelopes[0].rcpt_tos) == ["analyst@monitor.test", "desk@monitor.test"]
    assert first.get_content_type() == "multipart/alternative"
    plain = first.get_body(("plain",)).get_content()
    html = first.get_body(("html",)).get_content()
    assert "terms: Baku, Sputnik Azerbaijan" in plain
    assert "&lt;!channel&gt;" in html and "<!channel>" not in html
    assert "<b>Baku</b>" in html


def test_email_4xx_is_retried_5xx_is_permanent(smtp: tuple[Recorder, int]) -> None:
    recorder, port = smtp
    channel = EmailChannel(email_settings(port))
    recorder.reply = "451 4.3.0 try again later"
    with pytest.raises(DeliveryError) as transient:
        asyncio.run(channel.send(row()))
    assert not transient.value.permanent and "451" in str(transient.value)
    recorder.reply = "554 5.7.1 rejected"
    with pytest.raises(DeliveryError) as permanent:
        asyncio.run(channel.send(row()))
    assert permanent.value.permanent and "554" in str(permanent.value)


def test_email_server_down_is_transient() -> None:
    channel = EmailChannel(email_settings(free_port()))
    with pytest.raises(DeliveryError) as info:
        asyncio.run(channel.send(row()))
    assert not info.value.permanent
    assert "cannot deliver via 127.0.0.1" in str(info.value)


def test_slack_blocks_escape_feed_text(httpserver: HTTPServer) -> None:
    received: list[dict[str, Any]] = []

    def handler(request: Request) -> Response:
        received.append(json.loads(request.data))
        return Response("ok")

    httpserver.expect_request("/hook", method="POST").respond_with_handler(handler)
    channel = SlackChannel(SlackSettings(webhook_url=httpserver.url_for("/hook")))
    asyncio.run(channel.send(row()))
    body = received[0]
    text = json.dumps(body)
    assert "<!channel>" not in text and "<http://x|bank>" not in text
    assert "&lt;!channel&gt;" in body["text"]
    assert body["blocks"][1]["text"]["text"].startswith("*<http://127.0.0.1/news/1.html|")
    assert "*Baku*" in body["blocks"][2]["text"]["text"]
    assert body == build_message(PAYLOAD)


@pytest.mark.parametrize(
    ("status", "permanent"), [(400, True), (404, True), (410, True), (500, False)]
)
def test_slack_status_mapping_hides_the_url(
    httpserver: HTTPServer, status: int, permanent: bool
) -> None:
    httpserver.expect_request("/secret-hook").respond_with_data("no", status=status)
    url = httpserver.url_for("/secret-hook")
    with pytest.raises(DeliveryError) as info:
        asyncio.run(SlackChannel(SlackSettings(webhook_url=url)).send(row()))
    assert info.value.permanent is permanent
    assert "secret-hook" not in str(info.value)


def test_relay_honours_retry_after_and_dead_letters(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/hook").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "120"}
    )
    db = storage.open_database(tmp_path / "m.db")
    queue_alerts(db, [("a", "slack"), ("b", "nowhere")], PAYLOAD)
    relay = Relay(
        db, {"slack": SlackChannel(SlackSettings(webhook_url=httpserver.url_for("/hook")))}
    )
    report = asyncio.run(relay.deliver_due())
    assert (report.sent, report.retrying, report.dead) == (0, 1, 1)
    rows = {r.dedup_key: r for r in outbox.list_rows(db)}
    assert rows["a"].status == "pending" and rows["a"].attempts == 0  # a 429 uses no attempt
    assert "HTTP 429" in (rows["a"].last_error or "")
    delay = clock.parse(rows["a"].next_attempt_at) - clock.now()
    assert 119 < delay.total_seconds() <= 122  # Retry-After, under a second of jitter, rounded up
    assert rows["b"].status == "dead" and "not configured" in (rows["b"].last_error or "")
    # Not due yet: a second pass sends nothing.
    assert asyncio.run(relay.deliver_due()).sent == 0
    assert outbox.requeue(db) == 1
    assert outbox.list_rows(db, status="pending")[0].dedup_key in {"a", "b"}
