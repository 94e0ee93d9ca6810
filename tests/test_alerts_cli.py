"""`monitor alerts list | retry | test` against a Slack webhook on the local server: dead rows
shown with their reason, requeued by retry, a failing test reported plainly, no secret shown."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import monitor, queue_alerts
from pytest_httpserver import HTTPServer
from test_channels import PAYLOAD

import storage


def config(tmp_path: Path, server: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TEST_SLACK_URL", server.url_for("/services/s3cr3t"))
    path = tmp_path / "monitor.toml"
    path.write_text(
        'database = "m.db"\n[channels.slack]\nwebhook_url_env = "TEST_SLACK_URL"\n'
        '[channels.webhook]\nurl_env = "TEST_SLACK_URL"\n',
        encoding="utf-8",
    )
    return path


def test_alerts_list_retry_and_test(
    httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = config(tmp_path, httpserver, monkeypatch)
    httpserver.expect_oneshot_request("/services/s3cr3t").respond_with_data("gone", status=410)
    db = storage.open_database(tmp_path / "m.db")
    queue_alerts(db, [("alert:rift:7:slack", "slack")], PAYLOAD)
    db.close()

    assert "sent 0, to retry 0, dead 1" in monitor("alerts", "retry", config=path).stdout
    listing = monitor("alerts", "list", config=path)
    assert listing.returncode == 0, listing.stderr
    assert listing.stdout.startswith("0 pending, 0 sent, 1 dead")
    assert "dead    slack" in listing.stdout
    assert "dead after 1 attempt: channel slack: webhook answered HTTP 410 gone" in listing.stdout
    assert "key alert:rift:7:slack" in listing.stdout
    assert "s3cr3t" not in listing.stdout

    httpserver.expect_request("/services/s3cr3t").respond_with_data("ok")
    retried = monitor("alerts", "retry", config=path)
    assert "requeued 1; sent 1, to retry 0, dead 0" in retried.stdout
    assert "sent at " in monitor("alerts", "list", "--status", "sent", config=path).stdout

    ok = monitor("alerts", "test", "webhook", config=path)
    assert ok.returncode == 0 and ok.stdout.strip() == "test alert sent to webhook: accepted"

    httpserver.clear()
    httpserver.expect_request("/services/s3cr3t").respond_with_data("no_service", status=404)
    failed = monitor("alerts", "test", "slack", config=path)
    assert failed.returncode == 1
    assert failed.stderr.splitlines() == [
        "error: channel slack: webhook answered HTTP 404 no_service",
        "hint: retrying cannot help: check the channel's settings (address, URL, credentials)",
    ]
    assert "s3cr3t" not in failed.stdout + failed.stderr


def test_bad_alert_settings_are_named(tmp_path: Path) -> None:
    path = tmp_path / "monitor.toml"
    path.write_text("[alerts]\nrollup_cap = 0\n", encoding="utf-8")
    result = monitor("alerts", "list", config=path)
    assert result.returncode == 2
    assert "alerts.rollup_cap: expected a whole number >= 1, got 0" in result.stderr
    path.write_text('[channels.webhook]\nurl_env = "NO_SUCH_VARIABLE_SET"\n', encoding="utf-8")
    result = monitor("alerts", "list", config=path)
    assert result.returncode == 2
    assert "channels.webhook.url_env: environment variable NO_SUCH_VARIABLE_SET is not set" in (
        result.stderr
    )


def test_alerts_list_keeps_control_characters_from_feeds_off_the_terminal(
    tmp_path: Path,
) -> None:
    path = tmp_path / "monitor.toml"
    path.write_text('database = "m.db"\n[channels.console]\n', encoding="utf-8")
    db = storage.open_database(tmp_path / "m.db")
    hostile = {
        **PAYLOAD,
        "title": "Baku\x1b[2J\x1b]0;pwned\x07 raid\r\n[99] sent    console Fake row",
        "watchlist": "rift\x1b[31m",
    }
    queue_alerts(db, [("alert:rift:7:console\x1b[0m", "console")], hostile)
    db.execute("UPDATE outbox SET last_error = 'boom\r\n[98] dead' ")
    db.conn.commit()
    db.close()
    listing = monitor("alerts", "list", config=path)
    assert listing.returncode == 0, listing.stderr
    assert "\x1b" not in listing.stdout and "\x07" not in listing.stdout
    assert "\r" not in listing.stdout
    lines = listing.stdout.splitlines()
    assert len(lines) == 3  # the counts, the row, its state: nothing injected
    assert "Baku" in lines[1] and "Fake row" in lines[1]
