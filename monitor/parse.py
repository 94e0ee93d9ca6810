"""Parsing a feed body (bytes, never a URL) into entries with feedparser."""

from __future__ import annotations

import calendar
import hashlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import feedparser

from storage import clock

from .errors import FeedParseError
from .feedxml import parse_plain
from .urls import canonical_url


@dataclass(frozen=True)
class Entry:
    guid: str | None
    link: str | None
    title: str
    author: str | None
    published: str | None  # ISO 8601 UTC
    content_html: str  # the fullest content the feed carries (content, else summary)

    @property
    def key(self) -> str:
        """What makes this entry new: its GUID, else its canonical link, else a hash of its
        title, date and content (some feeds carry neither id nor link)."""
        if self.guid:
            return self.guid
        if self.link:
            return canonical_url(self.link)
        digest = hashlib.sha256(
            "\n".join((self.title, self.published or "", self.content_html)).encode("utf-8")
        )
        return f"sha256:{digest.hexdigest()[:32]}"


@dataclass(frozen=True)
class ParsedFeed:
    title: str | None
    site_url: str | None
    entries: list[Entry]
    warning: str | None  # a recoverable problem (malformed XML that still yielded entries)


def parse_feed(body: bytes, *, url: str, headers: dict[str, str] | None = None) -> ParsedFeed:
    """The feed in ``body`` (fetched from ``url`` with these response ``headers``): a plain feed
    read with lxml (``feedxml.py``), any other with feedparser, which copes with every kind of
    broken or unusual feed."""
    plain = parse_plain(body, url=url, headers=headers)
    if plain is not None:
        return plain
    return parse_with_feedparser(body, url=url, headers=headers)


def parse_with_feedparser(
    body: bytes, *, url: str, headers: dict[str, str] | None = None
) -> ParsedFeed:
    response_headers = {"content-location": url}
    for name in ("content-type", "content-language", "last-modified", "etag"):
        if headers and name in headers:
            response_headers[name] = headers[name]
    parsed = feedparser.parse(body, response_headers=response_headers, sanitize_html=True)
    exc = parsed.get("bozo_exception")
    # Encoding overrides and odd Content-Types are feedparser's notes, not broken feeds.
    benign = isinstance(exc, feedparser.ThingsNobodyCaresAboutButMe)
    problem = _describe(exc) if parsed.get("bozo") and not benign else None
    if not parsed.get("version") and not parsed.entries:
        if (
            body.lstrip()[:200].lower().find(b"<html") != -1
            or b"<!doctype html" in body[:200].lower()
        ):
            raise FeedParseError(url, "not a feed: the server sent an HTML page")
        raise FeedParseError(url, f"not a feed: {problem or 'no RSS/Atom elements found'}")
    feed = parsed.get("feed", {})
    entries = [_entry(item) for item in parsed.entries]
    warning = f"malformed feed, {len(entries)} entries recovered: {problem}" if problem else None
    return ParsedFeed(_text(feed.get("title")), _text(feed.get("link")), entries, warning)


def _describe(exc: Any) -> str:
    text = " ".join(str(exc).split()) if exc is not None else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _text(value: Any) -> str | None:
    return str(value).strip() or None if value else None


def _entry(item: Any) -> Entry:
    contents = [c.get("value", "") for c in item.get("content", []) if c.get("value")]
    content = max(contents, key=len) if contents else item.get("summary", "") or ""
    return Entry(
        guid=_text(item.get("id")),
        link=_text(item.get("link")),
        title=_text(item.get("title")) or "",
        author=_text(item.get("author")),
        published=date_iso(item.get("published_parsed") or item.get("updated_parsed")),
        content_html=str(content),
    )


EARLIEST_YEAR = 1970  # an earlier date is a placeholder (Go's zero date, 0001-01-01), no date


def date_iso(value: time.struct_time | None) -> str | None:
    if not value or value.tm_year < EARLIEST_YEAR:
        return None
    try:
        return clock.iso(datetime.fromtimestamp(calendar.timegm(value), UTC))
    except (OverflowError, ValueError, OSError):
        return None
