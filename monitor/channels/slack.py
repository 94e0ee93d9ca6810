"""The Slack channel: an incoming webhook with Block Kit blocks and a text fallback.

Everything that comes from a feed is escaped (``&``, ``<``, ``>``) so a title holding
``<!channel>`` or ``<http://x|bank>`` is shown as text, never acted on. The webhook URL is a
secret: it never appears in an error message. Slack takes about one message a second per
webhook (``pace``); a 429 carries Retry-After, which the relay honours.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from storage.outbox import OutboxRow

from ..config import SlackSettings
from .http import post_json
from .render import also_in, facts, headline, more_line, one_line, rollup_subject, strings

__all__ = ["SlackChannel", "build_message", "build_rollup", "escape"]


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mrkdwn_snippet(snippet: str) -> str:
    """A snippet with its **hits** in Slack bold, everything else escaped."""
    return re.sub(r"\*\*(.+?)\*\*", r"*\1*", escape(one_line(snippet)))


class SlackChannel:
    name = "slack"

    def __init__(self, settings: SlackSettings) -> None:
        self.settings = settings
        self.pace = settings.pace

    async def send(self, row: OutboxRow) -> None:
        await self._post(build_message(row.payload))

    async def send_rollup(self, rows: Sequence[OutboxRow], cap: int) -> None:
        await self._post(build_rollup([row.payload for row in rows], cap))

    async def _post(self, body: dict[str, Any]) -> None:
        await post_json(self.name, self.settings.webhook_url, body, timeout=self.settings.timeout)


def _main_text(payload: Mapping[str, Any]) -> str:
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
    if also_in(payload):
        lines.append("Also in: " + escape(", ".join(also_in(payload))))
    if payload.get("terms"):
        lines.append("Terms: " + escape(", ".join(strings(payload["terms"]))))
    return "\n".join(lines)


def _context(payload: Mapping[str, Any]) -> dict[str, Any]:
    text = escape(f"{one_line(payload.get('watchlist'))} · {one_line(payload.get('severity'))}")
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def build_message(payload: Mapping[str, Any]) -> dict[str, Any]:
    blocks = [_context(payload), _section(_main_text(payload))]
    blocks += [_section(mrkdwn_snippet(s)) for s in strings(payload.get("snippets"))]
    return {"text": escape(headline(payload)), "blocks": blocks}


def build_rollup(payloads: Sequence[Mapping[str, Any]], cap: int) -> dict[str, Any]:
    """Several alerts in one message: three blocks each (Slack allows 50 in a message)."""
    shown = payloads[: min(cap, 15)]
    blocks: list[dict[str, Any]] = [_section(f"*{len(payloads)} alerts*")]
    for payload in shown:
        snippets = [mrkdwn_snippet(s) for s in strings(payload.get("snippets"))]
        blocks += [
            _context(payload),
            _section("\n".join([_main_text(payload), *snippets])),
            {"type": "divider"},
        ]
    more = more_line(len(payloads), len(shown))
    if more:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": escape(more)}]})
    return {"text": escape(rollup_subject(payloads)), "blocks": blocks}
