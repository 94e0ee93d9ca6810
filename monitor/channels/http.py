"""Posting JSON to a webhook, with the failure classes the relay acts on.

200-range: accepted. 429: transient, with the server's Retry-After. 400, 401, 403, 404, 410:
permanent (the URL or the body is wrong; retrying cannot help); 400, 413 and 422 refuse this
body (``ContentRefused``), so another body may pass. Anything else, a timeout or a dropped
connection: transient; a URL the HTTP library rejects: permanent.

The URL is a secret: no error names it, nor carries the library's message (which may quote
it), and the far end's reply, quoted for the reason, is scrubbed of the URL, its path, its
query and anything in them that looks like a token (a server may echo the request back).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from ..errors import DeliveryError
from ..fetch import retry_after_seconds
from .errors import ContentRefused
from .render import one_line

PERMANENT = frozenset({400, 401, 403, 404, 410})
CONTENT = frozenset({400, 413, 422})  # this body was refused; another may pass
REDACTED = "[redacted]"
# A value with a digit, or long: what a token, an id or a key in a webhook URL looks like.
_TOKEN = re.compile(r"^(?=.*\d)[\w.~%-]{4,}$|^[\w.~%-]{16,}$")
# Token-like runs anywhere in a reply (long, mixing letters and digits).
_LOOSE_TOKEN = re.compile(r"\b(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[\w-]{16,}\b")
_UNUSABLE_URL = (httpx.InvalidURL, httpx.UnsupportedProtocol, ValueError)


async def post_json(channel: str, url: str, body: dict[str, Any], *, timeout: float) -> None:
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.post(url, json=body)
    except _UNUSABLE_URL as exc:
        raise DeliveryError(
            channel, f"webhook request failed: {type(exc).__name__}", permanent=True
        ) from None  # the library's message may quote the URL
    except Exception as exc:  # httpx.HTTPError, and odd ones (an ExceptionGroup)
        raise DeliveryError(channel, f"webhook request failed: {type(exc).__name__}") from None
    status = response.status_code
    if 200 <= status < 300:
        return
    said = one_line(scrub(response.text[:500], url))[:200]
    reason = f"webhook answered HTTP {status} {said}".rstrip()
    if status == 429:
        raise DeliveryError(
            channel, reason, retry_after=retry_after_seconds(response.headers.get("retry-after"))
        )
    if status in CONTENT:
        raise ContentRefused(channel, reason)
    raise DeliveryError(channel, reason, permanent=status in PERMANENT)


def secrets_of(url: str) -> list[str]:
    """The parts of a webhook URL that must never be shown, longest first."""
    parts = urlsplit(url)
    found = {url, url.split("://", 1)[-1], parts.path, parts.query, parts.netloc}
    found |= {s for s in parts.path.split("/") if _TOKEN.match(s)}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        found |= {value, f"{key}={value}"}
    if parts.password:
        found.add(parts.password)
    keep = {"", "/", parts.hostname or "", parts.netloc if not parts.username else ""}
    return sorted((s for s in found if s not in keep and len(s) > 1), key=len, reverse=True)


def scrub(text: str, url: str) -> str:
    """A reply with the URL, its path and query and its token-like parts redacted."""
    for secret in secrets_of(url):
        text = text.replace(secret, REDACTED)
    return _LOOSE_TOKEN.sub(REDACTED, text)
