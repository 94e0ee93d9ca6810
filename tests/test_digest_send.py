"""`monitor digest` end to end: printed, written, and sent through real peers (an aiosmtpd
SMTP server, a local HTTP server playing the Slack webhook); bad input as one line."""

from __future__ import annotations

import email
import email.policy
import json
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import digest_week as week
import pytest
from conftest import monitor, smtp_server
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)  # type: ignore[arg-type]
        )
        return "250 OK"


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    recorder = Inbox()
    with smtp_server(recorder) as port:
        yield recorder, port


def filled(tmp_path: Path, **kwargs: str) -> Path:
    config = week.write_config(tmp_path, **kwargs)
    week.fill(tmp_path / "digest.db").close()
    return config


def test_email_digest_is_multipart_related_with_inline_charts(
    tmp_path: Path, inbox: tuple[Inbox, int]
) -> None:
    recorder, port = inbox
    channels = (
        f'[channels.email]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
        'sender = "digest@monitor.test"\nrecipients = ["desk@monitor.test"]'
    )
    config = filled(tmp_path, channels=channels)
    result = monitor("digest", "--week", week.WEEK, "--send", "email", config=config)
    assert result.returncode == 0, result.stderr
    assert "digest sent to email" in result.stderr
    assert result.stdout == ""  # sent, not printed

    [message] = recorder.messages
    assert message["Subject"] == "news-monitor digest: week 2026-W47 (Mon 16 Nov – Sun 22 Nov 2026)"
    assert message.get_content_type() == "multipart/alternative"
    plain, related = message.get_payload()  # type: ignore[misc]
    assert plain.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html_part, *images = related.get_payload()
    assert html_part.get_content_type() == "text/html"
    assert [i.get_content_type() for i in images] == ["image/png", "image/png"]
    html = html_part.get_content()
    for image in images:
        cid = str(image["Content-ID"]).strip().strip("<>")
        assert f'src="cid:{cid}"' in html
        assert image.get_content().startswith(b"\x89PNG")
    assert "data:image" not in html  # mail clients block data: images; cid: they show
    text = plain.get_content()
    for headline in week.RIFT_ORDER:
        assert headline in text
    assert "&lt;again&gt;" in html and week.ENVOY in text


def test_slack_digest_is_one_markdown_block(tmp_path: Path, httpserver: HTTPServer) -> None:
    bodies: list[dict[str, Any]] = []

    def webhook(request: Request) -> Response:
        bodies.append(json.loads(request.data))
        return Response("ok")

    httpserver.expect_request("/hook", method="POST").respond_with_handler(webhook)
    config = filled(tmp_path, channels='[channels.slack]\nwebhook_url_env = "DIGEST_TEST_HOOK"')
    import os

    os.environ["DIGEST_TEST_HOOK"] = httpserver.url_for("/hook")
    try:
        result = monitor("digest", "--week", week.WEEK, "--send", "slack", config=config)
    finally:
        del os.environ["DIGEST_TEST_HOOK"]
    assert result.returncode == 0, result.stderr
    [body] = bodies
    assert body["text"].startswith("news-monitor digest: week 2026-W47")
    [block] = body["blocks"]
    assert block["type"] == "markdown"
    assert "## rift" in block["text"] and "**Baku**" in block["text"]
    assert r"\<again\>" in block["text"]


def test_webhook_digest_carries_text_and_markdown(
    tmp_path: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    bodies: list[dict[str, Any]] = []

    def webhook(request: Request) -> Response:
        bodies.append(json.loads(request.data))
        return Response("", status=204)

    httpserver.expect_request("/generic", method="POST").respond_with_handler(webhook)
    config = filled(tmp_path, channels='[channels.webhook]\nurl_env = "DIGEST_TEST_GENERIC"')
    monkeypatch.setenv("DIGEST_TEST_GENERIC", httpserver.url_for("/generic"))
    result = monitor("digest", "--week", week.WEEK, "--send", "webhook", config=config)
    assert result.returncode == 0, result.stderr
    [body] = bodies
    assert body["kind"] == "digest" and "2026-W47" in body["title"]
    assert "## rift" in body["markdown"] and "rift" in body["text"]
    assert "<again>" in body["text"]  # plain text is not escaped for a JSON consumer


def test_print_and_write_each_format(tmp_path: Path) -> None:
    config = filled(tmp_path)
    printed = monitor("digest", "--week", week.WEEK, "--watchlist", "rift", config=config)
    assert printed.returncode == 0, printed.stderr
    assert "== rift: 12 matches in 4 stories (the week before: 3, +9) ==" in printed.stdout
    assert "corridor" not in printed.stdout
    out = tmp_path / "out.html"
    written = monitor(
        "digest", "--week", week.WEEK, "--format", "html", "--output", str(out), config=config
    )
    assert written.returncode == 0, written.stderr
    assert f"wrote {out}" in written.stderr
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "7d", "--week", "2026-W47"], "give either --since or --week, not both"),
        (["--week", "2026-W60"], "--week: 2026 has no ISO week 60"),
        (["--since", "soon"], "--since: expected a duration"),
        (["--watchlist", "nope"], "--watchlist: no watchlist named 'nope'"),
        (["--send", "email"], "--send: channel 'email' is not configured"),
        (["--format", "pdf"], "Invalid value for '--format'"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    config = filled(tmp_path)
    result = monitor("digest", *args, config=config)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_each_digest_has_its_own_stable_message_id(
    tmp_path: Path, inbox: tuple[Inbox, int]
) -> None:
    """W12 and W21 share their characters (a key once hashed as a sorted string made them
    collide); a second send of one week is the same mail; each ad-hoc span is its own."""
    recorder, port = inbox
    channels = (
        f'[channels.email]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
        'sender = "digest@monitor.test"\nrecipients = ["desk@monitor.test"]'
    )
    config = filled(tmp_path, channels=channels)
    runs = [
        ["--week", "2026-W12"],
        ["--week", "2026-W21"],
        ["--week", "2026-W12"],
        ["--since", "7d"],
        ["--since", "14d"],
    ]
    for args in runs:
        result = monitor("digest", *args, "--send", "email", config=config)
        assert result.returncode == 0, result.stderr
    ids = [str(m["Message-ID"]) for m in recorder.messages]
    keys = [str(m["X-News-Monitor-Key"]) for m in recorder.messages]
    assert ids[0] == ids[2] and keys[0] == keys[2]
    assert len({ids[0], ids[1], ids[3], ids[4]}) == 4, ids
    assert "2026-W21" in keys[1]
    assert keys[3] != keys[4] and "adhoc" in keys[3]
