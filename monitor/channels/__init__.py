"""Alert channels: one small client per destination, all with the same contract.

A channel sends one alert (``send``) or several due at once as one message (``send_rollup``,
showing ``cap`` of them in full), and raises DeliveryError on failure: ``permanent=True`` when
retrying cannot help (a 5xx SMTP reply, a 404 webhook), ``retry_after`` when the far end said
how long to wait, ``recipients`` when only some email recipients still need the alert.
``pace`` is the least time between two messages (Slack takes about one a second).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TextIO

from storage.outbox import OutboxRow

from ..config import ConsoleSettings, EmailSettings, Settings, SlackSettings, WebhookSettings
from .console import ConsoleChannel
from .email import EmailChannel
from .render import format_alert
from .slack import SlackChannel
from .webhook import WebhookChannel


class Channel(Protocol):
    name: str

    async def send(self, row: OutboxRow) -> None:
        """Deliver one outbox row or raise DeliveryError."""


class RollupChannel(Channel, Protocol):
    pace: float

    async def send_rollup(self, rows: Sequence[OutboxRow], cap: int) -> None:
        """Deliver several rows as one message or raise DeliveryError."""


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
        elif isinstance(options, WebhookSettings):
            channels[name] = WebhookChannel(options)
    return channels


__all__ = [
    "Channel",
    "ConsoleChannel",
    "EmailChannel",
    "RollupChannel",
    "SlackChannel",
    "WebhookChannel",
    "build_channels",
    "format_alert",
]
