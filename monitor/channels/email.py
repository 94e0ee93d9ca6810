"""The email channel: SMTP (plain, STARTTLS or implicit TLS), optional login, a multipart
message (plain text and HTML), a stable Message-ID per alert so a retry is recognisable."""

from __future__ import annotations

import asyncio
import hashlib
import html
import re
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from storage.outbox import OutboxRow

from ..config import EmailSettings
from ..errors import DeliveryError
from .render import facts, format_alert, headline, one_line


class EmailChannel:
    name = "email"

    def __init__(self, settings: EmailSettings) -> None:
        self.settings = settings

    async def send(self, row: OutboxRow) -> None:
        message = build_message(row, self.settings)
        await asyncio.to_thread(self._send_sync, message)

    def _send_sync(self, message: EmailMessage) -> None:
        s = self.settings
        try:
            smtp: smtplib.SMTP
            if s.security == "tls":
                smtp = smtplib.SMTP_SSL(
                    s.host, s.port, timeout=s.timeout, context=ssl.create_default_context()
                )
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            with smtp:
                if s.security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if s.username and s.password:
                    smtp.login(s.username, s.password)
                refused = smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(
                self.name, f"every recipient refused: {_codes(exc.recipients)}", permanent=True
            ) from exc
        except smtplib.SMTPResponseException as exc:
            permanent = 500 <= exc.smtp_code < 600
            reason = (
                exc.smtp_error.decode("utf-8", "replace")
                if isinstance(exc.smtp_error, bytes)
                else str(exc.smtp_error)
            )
            raise DeliveryError(
                self.name, f"SMTP {exc.smtp_code} {one_line(reason)}", permanent=permanent
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(
                self.name,
                f"cannot deliver via {s.host}:{s.port}: {one_line(exc) or type(exc).__name__}",
            ) from exc
        if refused:
            raise DeliveryError(self.name, f"some recipients refused: {_codes(refused)}")


def _codes(refused: dict[str, tuple[int, bytes]]) -> str:
    return ", ".join(f"{addr} ({code})" for addr, (code, _) in sorted(refused.items()))


def message_id(dedup_key: str, sender: str) -> str:
    domain = sender.rpartition("@")[2] or "news-monitor.invalid"
    return f"<{hashlib.sha256(dedup_key.encode()).hexdigest()[:32]}@{one_line(domain)}>"


def build_message(row: OutboxRow, settings: EmailSettings) -> EmailMessage:
    payload = row.payload
    message = EmailMessage()
    message["Subject"] = headline(payload)[:250]
    message["From"] = settings.sender
    message["To"] = ", ".join(settings.recipients)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = message_id(row.dedup_key, settings.sender)
    message["X-News-Monitor-Key"] = one_line(row.dedup_key)
    message.set_content(format_alert(payload))
    message.add_alternative(_html(payload), subtype="html")
    return message


_BOLD = re.compile(r"\*\*(.+?)\*\*")


def _strings(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _html(payload: dict[str, Any]) -> str:
    esc = html.escape
    title = esc(one_line(payload.get("title")))
    url = one_line(payload.get("url"))
    link = f'<a href="{esc(url, quote=True)}">{title}</a>' if url.startswith("http") else title
    snippets = "".join(
        '<p style="margin:6px 0;color:#333">' + _BOLD.sub(r"<b>\1</b>", esc(one_line(s))) + "</p>"
        for s in _strings(payload.get("snippets"))
    )
    terms = esc(", ".join(one_line(t) for t in _strings(payload.get("terms"))))
    return (
        '<html><body style="font-family:Arial,sans-serif;font-size:14px">'
        f'<p style="color:#666;margin:0">{esc(one_line(payload.get("watchlist")))} · '
        f"{esc(one_line(payload.get('severity')))}</p>"
        f'<h2 style="margin:4px 0">{link}</h2>'
        f'<p style="color:#666;margin:0">{esc(facts(payload))}</p>'
        f'<p style="margin:6px 0">Terms: {terms}</p>{snippets}</body></html>'
    )
