"""The console channel: alerts written to a text stream (standard output by default)."""

from __future__ import annotations

from typing import TextIO

from storage.outbox import OutboxRow

from ..errors import DeliveryError
from .render import format_alert


class ConsoleChannel:
    name = "console"

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    async def send(self, row: OutboxRow) -> None:
        try:
            self.stream.write(format_alert(row.payload) + "\n")
            self.stream.flush()
        except (OSError, ValueError) as exc:
            raise DeliveryError(self.name, f"cannot write to the console: {exc}") from exc
