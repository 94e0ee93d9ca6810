"""Alert channels: one small client per destination, all with the same ``send`` contract.

A channel raises DeliveryError on failure, with ``permanent=True`` when retrying cannot help
(a 5xx SMTP reply, a 404 webhook) and ``retry_after`` when the far end said how long to wait.
"""

from __future__ import annotations

from typing import Protocol, TextIO

from storage.outbox import OutboxRow

from ..config import ConsoleSettings, EmailSettings, Settings, SlackSettings
from .console import ConsoleChannel
from .email import EmailChannel
from .render import format_alert
from .slack import SlackChannel


class Channel(Protocol):
    name: str

    async def send(self, row: OutboxRow) -> None:
        """Deliver one outbox row or raise DeliveryError."""


def build_channels(settings: Settings, *, stream: TextIO) -> dict[str, Channel]:
    """The configured channels, ready to send."""
    channels: dict[str, Channel] = {}
    for name, options in settings.channels.items():
        if isinstance(options, ConsoleSettings):
            channels[name] = ConsoleChannel(stream)
        elif isinstance(options, EmailSettings):
            channels[name] = EmailChannel(options)
        elif isinstance(options, SlackSettings):
            channels[name] = SlackChannel(options)
    return channels


__all__ = [
    "Channel",
    "ConsoleChannel",
    "EmailChannel",
    "SlackChannel",
    "build_channels",
    "format_alert",
]
