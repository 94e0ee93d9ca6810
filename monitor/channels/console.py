"""The console channel: alerts written to a text stream (standard output by default)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from storage.outbox import OutboxRow

from ..errors import DeliveryError
from .render import format_alert, format_rollup


class ConsoleChannel:
    name = "console"
    pace = 0.0

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    async def send(self, row: OutboxRow) -> None:
        self._write(format_alert(row.payload))

    async def send_rollup(self, rows: Sequence[OutboxRow], cap: int) -> None:
        self._write(format_rollup([row.payload for row in rows], cap))

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text + "\n")
            self.stream.flush()
        except (OSError, ValueError) as exc:
            raise DeliveryError(self.name, f"cannot write to the console: {exc}") from exc
