"""The daemon's digest delivery (``monitor.digest.job``) against a real SMTP server: a digest
refused by some recipients goes again to them alone, as alerts do."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import digest_week as week
import pytest
from conftest import smtp_server
from test_delivery import Refusing, make_due

from monitor.app import App, open_app
from monitor.config import load_settings
from monitor.digest import job
from storage import digests, outbox


@pytest.fixture
def smtp() -> Iterator[tuple[Refusing, int]]:
    handler = Refusing()
    with smtp_server(handler) as port:
        yield handler, port


def email_config(tmp_path: Path, port: int, recipients: list[str]) -> Path:
    listed = ", ".join(f'"{r}"' for r in recipients)
    channels = (
        f'[channels.email]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
        f'sender = "digest@monitor.test"\nrecipients = [{listed}]'
    )
    config = week.write_config(tmp_path, digest='timezone = "UTC"', channels=channels)
    week.fill(tmp_path / "digest.db").close()
    return config


def digest_rows(app: App) -> list[outbox.OutboxRow]:
    return [r for r in outbox.list_rows(app.db) if r.kind == outbox.DIGEST_KIND]


def test_digest_refused_by_one_recipient_is_retried_to_that_one_alone(
    smtp: tuple[Refusing, int], tmp_path: Path
) -> None:
    handler, port = smtp
    config = email_config(tmp_path, port, ["desk@monitor.test", "flaky@monitor.test"])
    app = open_app(load_settings(config))
    try:
        digests.queue_digest(app.db, week.WEEK, ["email"], {"week": week.WEEK})
        assert asyncio.run(job.deliver_due(app)) == 0
        [row] = digest_rows(app)
        assert row.status == "pending" and row.recipients == ("flaky@monitor.test",)
        assert [e.rcpt_tos for e in handler.envelopes] == [["desk@monitor.test"]]

        handler.soft.clear()
        make_due(app.db)
        assert asyncio.run(job.deliver_due(app)) == 1
        assert [e.rcpt_tos for e in handler.envelopes[1:]] == [["flaky@monitor.test"]]
        first, second = handler.messages
        assert first["Message-ID"] == second["Message-ID"]  # the same digest, resent
        [row] = digest_rows(app)
        assert row.status == "sent" and row.recipients is None
    finally:
        app.close()
