"""A generic JSON webhook: every alert due at once for the channel is POSTed as one JSON
document, for scripts, chat bridges and ticketing systems. The body (documented in README):

    {"source": "news-monitor", "version": 1, "count": N,
     "alerts": [{"id": dedup key, "watchlist", "severity", "title", "url", "outlet",
                 "also_in": [...], "published", "terms": [...], "snippets": [...],
                 "article_id", "story_id"}, ...]}

Snippets keep their hits marked ``**so**``. The ``id`` is the outbox dedup key: a receiver
that sees the same id twice (a retry after a crash between sending and marking) can drop it.
Failures are classed like Slack's; the URL (a secret) is never shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from storage.outbox import OutboxRow

from ..config import WebhookSettings
from .http import post_json
from .render import also_in, one_line, outlet, strings

VERSION = 1


class WebhookChannel:
    name = "webhook"

    def __init__(self, settings: WebhookSettings) -> None:
        self.settings = settings
        self.pace = settings.pace

    async def send(self, row: OutboxRow) -> None:
        await self.send_rollup([row], 1)

    async def send_rollup(self, rows: Sequence[OutboxRow], cap: int) -> None:
        # Machines read every alert: the cap on what a person is shown does not apply.
        await post_json(
            self.name, self.settings.url, build_body(rows), timeout=self.settings.timeout
        )


def alert_json(row: OutboxRow) -> dict[str, Any]:
    p = row.payload
    return {
        "id": row.dedup_key,
        "watchlist": one_line(p.get("watchlist")),
        "severity": one_line(p.get("severity")),
        "title": one_line(p.get("title")),
        "url": p.get("url"),
        "outlet": outlet(p) or None,
        "also_in": also_in(p),
        "published": p.get("published"),
        "terms": strings(p.get("terms")),
        "snippets": strings(p.get("snippets")),
        "article_id": p.get("article_id"),
        "story_id": p.get("story_id"),
    }


def build_body(rows: Sequence[OutboxRow]) -> dict[str, Any]:
    return {
        "source": "news-monitor",
        "version": VERSION,
        "count": len(rows),
        "alerts": [alert_json(row) for row in rows],
    }
