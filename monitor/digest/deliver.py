"""Where a rendered digest goes: a file, standard output, or a configured channel.

- email: multipart/alternative with a plain-text part and a multipart/related HTML part whose
  charts are inline attachments (``cid:``), sent through the email channel's SMTP client;
- Slack: the Markdown form in one Block Kit ``markdown`` block (standard Markdown; charts
  cannot travel through a webhook, the per-day line stands in);
- the JSON webhook: ``{"kind": "digest", "title", "text", "markdown"}``;
- console: the text form.

A file: HTML embeds its charts as ``data:`` URIs (one self-contained file); Markdown writes
each chart beside it as ``<stem>-<watchlist>.png`` and links it by that name.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import sys
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import TextIO, cast

from ..channels.email import EmailChannel, message_id
from ..channels.http import post_json
from ..channels.render import one_line
from ..config import ConsoleSettings, EmailSettings, SlackSettings, WebhookSettings
from ..errors import DeliveryError, InputError
from .charts import digest_charts
from .model import Digest
from .render import render

SLACK_LIMIT = 12_000  # characters a Slack markdown block accepts
ChannelSettings = ConsoleSettings | EmailSettings | SlackSettings | WebhookSettings


def channel_stream(channels: Mapping[str, object], name: str) -> TextIO:
    """Where the console channel writes (standard output unless it was given another)."""
    return cast(TextIO, getattr(channels.get(name), "stream", None) or sys.stdout)


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-") or "watchlist"


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def standalone(digest: Digest, fmt: str) -> str:
    """The digest for standard output: HTML with its charts inside, the others without."""
    if fmt == "html":
        charts = {name: data_uri(png) for name, png in digest_charts(digest).items()}
        return render(digest, fmt, charts=charts)
    return render(digest, fmt)


def write_file(digest: Digest, fmt: str, path: Path) -> list[Path]:
    """Write the digest to ``path`` (and, for Markdown, its charts beside it); the files."""
    written = [path]
    charts: dict[str, str] = {}
    if fmt == "markdown":
        for name, png in digest_charts(digest).items():
            image = path.with_name(f"{path.stem}-{slug(name)}.png")
            _write(image, png)
            charts[name] = image.name
            written.append(image)
        text = render(digest, fmt, charts=charts)
    else:
        text = standalone(digest, fmt)
    _write(path, text.encode("utf-8"))
    return written


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise InputError(f"{path}: cannot write: {exc.strerror}") from exc


def email_message(digest: Digest, settings: EmailSettings, *, key: str) -> EmailMessage:
    """The digest as an email: plain text, and HTML with its charts as inline images."""
    pngs = digest_charts(digest)
    domain = one_line(settings.sender.rpartition("@")[2]) or "news-monitor.invalid"
    tag = hashlib.sha256(key.encode()).hexdigest()[:12]  # stable: a retry is the same mail
    cids = {name: f"<chart-{slug(name)}-{tag}@{domain}>" for name in pngs}
    message = EmailMessage()
    message["Subject"] = one_line(digest.title)[:250]
    message["From"] = settings.sender
    message["To"] = ", ".join(settings.recipients)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = message_id([key], settings.sender)
    message["X-News-Monitor-Key"] = one_line(key)
    message.set_content(render(digest, "text"))
    html = render(digest, "html", charts={n: f"cid:{c[1:-1]}" for n, c in cids.items()})
    message.add_alternative(html, subtype="html")
    html_part = next(p for p in message.iter_parts() if p.get_content_type() == "text/html")
    for name, png in pngs.items():
        html_part.add_related(
            png, "image", "png", cid=cids[name], filename=f"{slug(name)}.png", disposition="inline"
        )
    return message


def slack_body(digest: Digest) -> dict[str, object]:
    text = render(digest, "markdown")
    if len(text) > SLACK_LIMIT:
        text = text[: SLACK_LIMIT - 60].rsplit("\n", 1)[0] + "\n\n… (cut: see the email or file)"
    return {"text": one_line(digest.title), "blocks": [{"type": "markdown", "text": text}]}


def webhook_body(digest: Digest) -> dict[str, object]:
    return {
        "kind": "digest",
        "title": digest.title,
        "text": render(digest, "text"),
        "markdown": render(digest, "markdown"),
    }


async def send(
    digest: Digest,
    channel: str,
    settings: ChannelSettings,
    *,
    key: str,
    stream: TextIO,
    to: Sequence[str] | None = None,
) -> None:
    """Deliver the digest on one channel or raise DeliveryError; ``to``: the email
    recipients still owed it after a partial refusal (None: every configured one)."""
    # Rendering and drawing charts is CPU work: done in a worker thread, off the event loop.
    if isinstance(settings, EmailSettings):
        message = await asyncio.to_thread(email_message, digest, settings, key=key)
        await EmailChannel(settings).send_message(message, to)
    elif isinstance(settings, SlackSettings):
        body = await asyncio.to_thread(slack_body, digest)
        await post_json(channel, settings.webhook_url, body, timeout=settings.timeout)
    elif isinstance(settings, WebhookSettings):
        body = await asyncio.to_thread(webhook_body, digest)
        await post_json(channel, settings.url, body, timeout=settings.timeout)
    else:
        text = await asyncio.to_thread(render, digest, "text")
        try:
            stream.write(text + "\n")
            stream.flush()
        except (OSError, ValueError) as exc:
            raise DeliveryError(channel, f"cannot write to the console: {exc}") from exc
