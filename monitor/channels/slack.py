"""The Slack channel: an incoming webhook with Block Kit blocks and a text fallback.

Everything that comes from a feed is escaped (``&``, ``<``, ``>``) so a title holding
``<!channel>`` or ``<http://x|bank>`` is shown as text, never acted on. The webhook URL is a
secret: it never appears in an error message.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from storage.outbox import OutboxRow

from ..config import SlackSettings
from ..errors import DeliveryError
from ..fetch import retry_after_seconds
from .render import facts, headline, one_line

PERMANENT = {400, 401, 403, 404, 410}


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mrkdwn_snippet(snippet: str) -> str:
    """A snippet with its **hits** in Slack bold, everything else escaped."""
    return re.sub(r"\*\*(.+?)\*\*", r"*\1*", escape(one_line(snippet)))


class SlackChannel:
    name = "slack"

    def __init__(self, settings: SlackSettings) -> None:
        self.settings = settings

    async def send(self, row: OutboxRow) -> None:
        body = build_message(row.payload)
        try:
            async with httpx.AsyncClient(timeout=self.settings.timeout) as client:
                response = await client.post(self.settings.webhook_url, json=body)
        except httpx.HTTPError as exc:
            raise DeliveryError(self.name, f"webhook request failed: {type(exc).__name__}") from exc
        if response.status_code == 200:
            return
        reason = f"webhook answered HTTP {response.status_code} {one_line(response.text[:200])}"
        if response.status_code == 429:
            raise DeliveryError(
                self.name,
                reason,
                retry_after=retry_after_seconds(response.headers.get("retry-after")),
            )
        raise DeliveryError(self.name, reason, permanent=response.status_code in PERMANENT)


def build_message(payload: dict[str, Any]) -> dict[str, Any]:
    title = escape(one_line(payload.get("title")))
    url = one_line(payload.get("url"))
    link = (
        f"<{escape(url).replace('|', '%7C')}|{title}>"
        if url.startswith(("http://", "https://"))
        else title
    )
    lines = [f"*{link}*"]
    if facts(payload):
        lines.append(escape(facts(payload)))
    if payload.get("terms"):
        lines.append("Terms: " + escape(", ".join(one_line(t) for t in payload["terms"])))
    context = escape(f"{one_line(payload.get('watchlist'))} · {one_line(payload.get('severity'))}")
    blocks: list[dict[str, Any]] = [
        {"type": "context", "elements": [{"type": "mrkdwn", "text": context}]},
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}},
    ]
    for snippet in payload.get("snippets", []) or []:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn_snippet(snippet)}}
        )
    return {"text": escape(headline(payload)), "blocks": blocks}
