"""A webhook URL is a secret: a response body that quotes it (or its path, query or token
segments), or a URL the HTTP library rejects with a message quoting it, never reaches an
error, the outbox or a log line."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from conftest import queue_alerts
from pytest_httpserver import HTTPServer
from test_channels import PAYLOAD

import storage
from monitor.channels import SlackChannel, WebhookChannel
from monitor.config import SlackSettings, WebhookSettings
from monitor.relay import Relay
from storage import outbox

PATH = "/services/T0A1B2C3/B9Z8Y7X6/s3cr3tT0kenXYZ"


def our_logs(caplog: pytest.LogCaptureFixture) -> str:
    """What news-monitor itself logged, tracebacks included (the HTTP library's own request
    lines are kept at WARNING by the CLI; the test server's access log is not ours)."""
    formatter = logging.Formatter("%(name)s %(message)s")
    return "\n".join(formatter.format(r) for r in caplog.records if r.name.startswith("monitor"))


@pytest.mark.parametrize("status", [400, 404, 500, 429])
def test_a_body_quoting_the_url_is_scrubbed(
    httpserver: HTTPServer, tmp_path: Path, caplog: pytest.LogCaptureFixture, status: int
) -> None:
    url = httpserver.url_for(PATH) + "?key=qu3ryS3cret"
    echo = (
        f"no such hook: {url} (path {PATH}, query key=qu3ryS3cret, token s3cr3tT0kenXYZ, "
        "team T0A1B2C3) invalid_payload"
    )
    httpserver.expect_request(PATH).respond_with_data(echo, status=status)
    db = storage.open_database(tmp_path / "m.db")
    queue_alerts(db, [("a", "webhook"), ("b", "slack")], PAYLOAD)
    channels = {
        "webhook": WebhookChannel(WebhookSettings(url=url)),
        "slack": SlackChannel(SlackSettings(webhook_url=url, pace=0.0)),
    }
    with caplog.at_level(logging.DEBUG):
        asyncio.run(Relay(db, channels).deliver_due())
    errors = " ".join(r.last_error or "" for r in outbox.list_rows(db))
    assert f"HTTP {status}" in errors and "invalid_payload" in errors  # the useful part stays
    for secret in ("s3cr3t", "qu3ry", "T0A1B2C3", "B9Z8Y7X6", "/services/"):
        assert secret not in errors and secret not in our_logs(caplog), secret


@pytest.mark.parametrize(
    "url", ["http://[fe80::s3cr3t]/hook", "http://127.0.0.1:s3cr3t/hook", "https://xn--/s3cr3t"]
)
def test_a_url_the_library_rejects_is_not_quoted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, url: str
) -> None:
    db = storage.open_database(tmp_path / "m.db")
    queue_alerts(db, [("a", "webhook")], PAYLOAD)
    with caplog.at_level(logging.DEBUG):
        report = asyncio.run(
            Relay(db, {"webhook": WebhookChannel(WebhookSettings(url=url))}).deliver_due()
        )
    assert report.dead == 1  # a malformed URL cannot work on retry
    [row] = outbox.list_rows(db)
    assert "webhook request failed" in (row.last_error or "")
    assert "s3cr3t" not in (row.last_error or "") and "s3cr3t" not in our_logs(caplog)


class Exploding:
    name = "boom"

    async def send(self, row: outbox.OutboxRow) -> None:
        raise RuntimeError("https://hooks.example/services/secret-token")


def test_an_unexpected_failure_is_logged_without_its_message(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = storage.open_database(tmp_path / "m.db")
    queue_alerts(db, [("a", "boom")], PAYLOAD)
    with caplog.at_level(logging.DEBUG):
        asyncio.run(Relay(db, {"boom": Exploding()}).deliver_due())  # type: ignore[dict-item]
    logged = our_logs(caplog)
    assert "channel boom failed unexpectedly: RuntimeError" in logged
    assert "test_webhook_secrets.py" in logged  # where it happened, for a bug report
    assert "secret-token" not in logged
