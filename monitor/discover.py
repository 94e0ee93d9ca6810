"""Finding a site's feed from its home page (``monitor feeds add https://example.org/``).

Order: the URL itself when it already is a feed; else the page's
``<link rel="alternate" type="application/rss+xml|application/atom+xml" href>``, in page order;
else common feed paths on the site (``/feed``, ``/rss.xml``, ...). Every candidate is fetched
(through the guarded fetcher) and must parse as RSS/Atom with feedparser to be taken.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urljoin

import lxml.html
from lxml import etree

from .errors import FeedParseError, FetchError, InputError
from .fetch import Fetcher
from .parse import parse_feed

FEED_TYPES = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/xml"}
)
COMMON_PATHS = (
    "/feed",
    "/feed/",
    "/rss",
    "/rss.xml",
    "/feed.xml",
    "/atom.xml",
    "/index.xml",
    "/feeds/posts/default",
    "/?feed=rss2",
)


@dataclass(frozen=True)
class Discovered:
    url: str
    title: str | None
    how: str  # "the URL is a feed", "<link rel=alternate> on ...", "common path"


async def discover_feed(fetcher: Fetcher, url: str) -> Discovered:
    """The feed at ``url`` or advertised by it; InputError (one line) when there is none."""
    try:
        page = await fetcher.get(url)
    except FetchError as exc:
        raise InputError(
            f"{url}: cannot fetch: {exc.reason}",
            hint="`monitor feeds add --no-discover URL` adds it without fetching it",
        ) from exc
    title = _feed_title(page.body, page.url)
    if title is not None:
        return Discovered(page.url if page.permanent_redirect else url, title or None, "feed")
    for candidate in advertised_feeds(page.body, page.url):
        found = await _try(fetcher, candidate)
        if found is not None:
            return Discovered(candidate, found or None, f'<link rel="alternate"> on {page.url}')
    for path in COMMON_PATHS:
        candidate = urljoin(page.url, path)
        found = await _try(fetcher, candidate)
        if found is not None:
            return Discovered(candidate, found or None, "common feed path")
    raise InputError(
        f'{url}: no feed found (the page links no RSS/Atom feed with <link rel="alternate">, '
        f"and none of {', '.join(COMMON_PATHS[:5])}, ... is a feed)",
        hint="give the feed's own URL, or --no-discover to add the URL as it is",
    )


def advertised_feeds(body: bytes, base: str) -> list[str]:
    """Absolute URLs of the feeds a page advertises, in page order, each once."""
    try:
        document = lxml.html.document_fromstring(body)
    except (etree.ParserError, ValueError):
        return []
    for base_tag in document.xpath("//base[@href]")[:1]:
        base = urljoin(base, base_tag.get("href").strip())
    found: list[str] = []
    for link in document.xpath("//link[@href]"):
        rel = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").split(";")[0].strip().lower()
        href = link.get("href").strip()
        if "alternate" in rel and kind in FEED_TYPES and href:
            absolute = urljoin(base, href)
            if absolute.startswith(("http://", "https://")) and absolute not in found:
                found.append(absolute)
    return found


async def _try(fetcher: Fetcher, url: str) -> str | None:
    """The feed's title ('' when untitled) if ``url`` answers with a feed, else None."""
    try:
        response = await fetcher.get(url)
    except FetchError:
        return None
    return _feed_title(response.body, response.url)


def _feed_title(body: bytes, url: str) -> str | None:
    try:
        parsed = parse_feed(body, url=url)
    except FeedParseError:
        return None
    return parsed.title or ""
