"""The email channel: SMTP (plain, STARTTLS or implicit TLS), optional login, several
recipients, a multipart message (plain text and HTML, every feed string escaped), a stable
Message-ID per alert (or roll-up) so a retry is recognisable, headers safe from CR/LF.

Failures are sorted as the relay needs them: a 4xx reply, a dropped connection or a timeout is
transient; a 5xx reply is permanent. Recipients refused while others were accepted are
reported in ``DeliveryError.recipients``, so the retry goes to them alone.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import re
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from storage.outbox import OutboxRow

from ..config import EmailSettings
from ..errors import DeliveryError
from .errors import ContentRefused
from .render import (
    also_in,
    facts,
    format_alert,
    format_rollup,
    headline,
    more_line,
    one_line,
    rollup_subject,
    strings,
)


class EmailChannel:
    name = "email"
    pace = 0.0

    def __init__(self, settings: EmailSettings) -> None:
        self.settings = settings

    async def send(self, row: OutboxRow) -> None:
        await self.send_rollup([row], 1)

    async def send_rollup(self, rows: Sequence[OutboxRow], cap: int) -> None:
        message = build_message(rows, self.settings, cap=cap)
        await self.send_message(message, rows[0].recipients)

    async def send_message(self, message: EmailMessage, to: Sequence[str] | None = None) -> None:
        """Send a built message (an alert, a roll-up, a digest) to ``to`` or to every
        configured recipient, raising DeliveryError as the relay expects."""
        await asyncio.to_thread(self._send_sync, message, list(to or self.settings.recipients))

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        smtp: smtplib.SMTP
        if s.security == "tls":
            smtp = smtplib.SMTP_SSL(
                s.host, s.port, timeout=s.connect_timeout, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=s.connect_timeout)
        if smtp.sock is not None:
            smtp.sock.settimeout(s.timeout)  # connected: from now on, the command timeout
        return smtp

    def _send_sync(self, message: EmailMessage, to: list[str]) -> None:
        s = self.settings
        try:
            smtp = self._connect()
            try:
                if s.security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if s.username and s.password:
                    smtp.login(s.username, s.password)
                refused = smtp.send_message(message, from_addr=s.sender, to_addrs=to)
            except BaseException:
                smtp.close()
                raise
        except smtplib.SMTPRecipientsRefused as exc:
            raise _refused(self.name, exc.recipients, accepted=False) from exc
        except smtplib.SMTPDataError as exc:
            if 500 <= exc.smtp_code < 600:  # this message refused (too big, its content)
                raise ContentRefused(self.name, _reply(exc)) from exc
            raise DeliveryError(self.name, _reply(exc)) from exc
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(
                self.name, _reply(exc), permanent=500 <= exc.smtp_code < 600
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(
                self.name,
                f"cannot deliver via {s.host}:{s.port}: {one_line(exc) or type(exc).__name__}",
            ) from exc
        _hang_up(smtp)  # the message is accepted: nothing after this can fail the send
        if refused:
            raise _refused(self.name, refused, accepted=True)


def _hang_up(smtp: smtplib.SMTP) -> None:
    """QUIT and close, politely and without consequence: once DATA was answered with 250 the
    server has the message, and a QUIT refused, dropped or timing out must not make the relay
    send it again."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        pass
    finally:
        smtp.close()


def _reply(exc: smtplib.SMTPResponseException) -> str:
    reason = (
        exc.smtp_error.decode("utf-8", "replace")
        if isinstance(exc.smtp_error, bytes)
        else str(exc.smtp_error)
    )
    return f"SMTP {exc.smtp_code} {one_line(reason)}"


def _refused(
    channel: str, refused: Mapping[str, tuple[int, bytes]], *, accepted: bool
) -> DeliveryError:
    """Refused recipients are retried alone; when every refusal is a 5xx, retrying cannot
    help and the row is dead-lettered (``monitor alerts retry`` still tries them alone)."""
    codes = ", ".join(f"{addr} ({code})" for addr, (code, _) in sorted(refused.items()))
    permanent = all(500 <= code < 600 for code, _ in refused.values())
    what = "some recipients refused" if accepted else "every recipient refused"
    return DeliveryError(
        channel, f"{what}: {codes}", permanent=permanent, recipients=tuple(sorted(refused))
    )


def message_id(dedup_keys: Sequence[str], sender: str) -> str:
    """The same alert (or the same roll-up of alerts) always gets the same Message-ID."""
    if isinstance(dedup_keys, str):  # one key, not its characters (W12 and W21 would collide)
        dedup_keys = [dedup_keys]
    domain = sender.rpartition("@")[2] or "news-monitor.invalid"
    digest = hashlib.sha256("\n".join(sorted(dedup_keys)).encode()).hexdigest()[:32]
    return f"<{digest}@{one_line(domain)}>"


def build_message(
    rows: Sequence[OutboxRow], settings: EmailSettings, *, cap: int = 10
) -> EmailMessage:
    payloads = [row.payload for row in rows]
    message = EmailMessage()
    message["Subject"] = rollup_subject(payloads)[:250]
    message["From"] = settings.sender
    message["To"] = ", ".join(settings.recipients)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = message_id([row.dedup_key for row in rows], settings.sender)
    message["X-News-Monitor-Key"] = one_line(" ".join(row.dedup_key for row in rows))[:900]
    if len(rows) == 1:
        message.set_content(format_alert(payloads[0]))
    else:
        message.set_content(format_rollup(payloads, cap))
    message.add_alternative(_html_page(payloads, cap), subtype="html")
    return message


_BOLD = re.compile(r"\*\*(.+?)\*\*")


def _html_page(payloads: Sequence[Mapping[str, Any]], cap: int) -> str:
    sections = [_html(p) for p in payloads[:cap]]
    more = more_line(len(payloads), cap)
    if more:
        sections.append(f'<p style="color:#666">{html.escape(more)}</p>')
    return (
        '<html><body style="font-family:Arial,sans-serif;font-size:14px">'
        + '<hr style="border:0;border-top:1px solid #ddd">'.join(sections)
        + "</body></html>"
    )


def _html(payload: Mapping[str, Any]) -> str:
    esc = html.escape
    title = esc(one_line(payload.get("title")))
    url = one_line(payload.get("url"))
    link = f'<a href="{esc(url, quote=True)}">{title}</a>' if url.startswith("http") else title
    snippets = "".join(
        '<p style="margin:6px 0;color:#333">' + _BOLD.sub(r"<b>\1</b>", esc(s)) + "</p>"
        for s in strings(payload.get("snippets"))
    )
    terms = esc(", ".join(strings(payload.get("terms"))))
    others = also_in(payload)
    also = f'<p style="color:#666;margin:0">Also in: {esc(", ".join(others))}</p>' if others else ""
    return (
        f'<div><p style="color:#666;margin:0">{esc(one_line(payload.get("watchlist")))} · '
        f"{esc(one_line(payload.get('severity')))}</p>"
        f'<h2 style="margin:4px 0">{link}</h2>'
        f'<p style="color:#666;margin:0">{esc(facts(payload))}</p>{also}'
        f'<p style="margin:6px 0">Terms: {terms}</p>{snippets}</div>'
    )


__all__ = ["EmailChannel", "build_message", "headline", "message_id"]
