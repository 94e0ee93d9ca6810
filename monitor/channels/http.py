"""Posting JSON to a webhook, with the failure classes the relay acts on.

200-range: accepted. 429: transient, with the server's Retry-After. 400, 401, 403, 404, 410:
permanent (the URL or the body is wrong; retrying cannot help); 400, 413 and 422 refuse this
body (``ContentRefused``), so another body may pass. Anything else, a timeout or a
dropped connection: transient. The URL is a secret: no error names it, nor carries the
library's message (which may quote it).
"""

from __future__ import annotations

from typing import Any

import httpx

from ..errors import DeliveryError
from ..fetch import retry_after_seconds
from .errors import ContentRefused
from .render import one_line

PERMANENT = frozenset({400, 401, 403, 404, 410})
CONTENT = frozenset({400, 413, 422})  # this body was refused; another may pass


async def post_json(channel: str, url: str, body: dict[str, Any], *, timeout: float) -> None:
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.post(url, json=body)
    except httpx.HTTPError as exc:
        raise DeliveryError(channel, f"webhook request failed: {type(exc).__name__}") from exc
    status = response.status_code
    if 200 <= status < 300:
        return
    reason = f"webhook answered HTTP {status} {one_line(response.text[:200])}".rstrip()
    if status == 429:
        raise DeliveryError(
            channel, reason, retry_after=retry_after_seconds(response.headers.get("retry-after"))
        )
    if status in CONTENT:
        raise ContentRefused(channel, reason)
    raise DeliveryError(channel, reason, permanent=status in PERMANENT)
