"""The one failure a channel reports beyond DeliveryError's fields.

DeliveryError                 (monitor.errors) a send failed
 └─ ContentRefused            the far end refused this message for what it holds (HTTP
                              400/413/422, SMTP 5xx after DATA), not the channel: a
                              roll-up refused so may hold one bad alert, and its other
                              alerts can pass on their own
"""

from __future__ import annotations

from ..errors import DeliveryError


class ContentRefused(DeliveryError):
    """Permanent for this message; the relay re-sends a roll-up in parts to find the bad one."""

    def __init__(self, channel: str, message: str) -> None:
        super().__init__(channel, message, permanent=True)
