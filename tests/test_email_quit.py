"""Once the SMTP server accepted the message (the reply to DATA), the alert is delivered: a
QUIT that fails, hangs or is answered with an error does not make it a failure, so it is not
sent again."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from conftest import free_port, queue_alerts
from test_channels import PAYLOAD, Recorder, email_settings
from test_delivery import make_due

import storage
from monitor.channels import EmailChannel
from monitor.relay import Relay
from storage import outbox


class BadQuit(Recorder):
    def __init__(self, how: str) -> None:
        super().__init__()
        self.how = how

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:
        if self.how == "slow":
            await asyncio.sleep(3)
            return "221 bye"
        return "421 4.3.2 service shutting down" if self.how == "421" else "554 5.0.0 no"


@pytest.mark.parametrize("how", ["421", "554", "slow"])
def test_a_failed_quit_after_an_accepted_message_is_no_failure(how: str, tmp_path: Path) -> None:
    handler, port = BadQuit(how), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings = email_settings(port)
        settings = type(settings)(**{**settings.__dict__, "timeout": 1.0})
        db = storage.open_database(tmp_path / "m.db")
        queue_alerts(db, [("alert:w:1:email", "email")], PAYLOAD)
        relay = Relay(db, {"email": EmailChannel(settings)})
        first = asyncio.run(relay.deliver_due())
        make_due(db)
        second = asyncio.run(relay.deliver_due())
    finally:
        controller.stop()
    assert (first.sent, first.retrying, first.dead) == (1, 0, 0)
    assert second.sent == 0 and len(handler.messages) == 1
    [row] = outbox.list_rows(db)
    assert row.status == "sent"
