"""Extracting an article's text and metadata from its page with trafilatura.

Order: trafilatura's main-content extraction (comments excluded) with metadata; the page's
``<html lang>`` when trafilatura reports no language. When a page yields nothing, the caller
falls back to the feed's own content (``html_to_text``) and stores the reason.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import lxml.html
import trafilatura
from lxml import etree
from trafilatura.settings import Document

from .clean import Dropped, clean_body
from .errors import ExtractError
from .links import lazy_anchor_texts

_LANG = re.compile(rb"<html[^>]*?\blang\s*=\s*[\"']?([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]+)?)", re.I)
_BLOCKS = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "tr", "pre"}


@dataclass(frozen=True)
class Extraction:
    title: str | None
    author: str | None
    published: str | None  # as the page states it (date only, usually)
    site: str | None
    language: str | None
    text: str
    dropped: tuple[Dropped, ...] = ()  # furniture removed by the cleaning stage, with reasons
    blocks: tuple[tuple[str, str], ...] = ()  # (fingerprint, text): for site-learned boilerplate


def extract_page(
    html: bytes | str,
    *,
    url: str | None = None,
    clean: bool = True,
    site_boilerplate: frozenset[str] = frozenset(),
) -> Extraction:
    """The article in ``html``, cleaned of page furniture; raise ExtractError (with the
    reason) when there is none. ``site_boilerplate`` holds fingerprints of blocks this page's
    site has shown on several other articles."""
    raw = html.encode("utf-8", "replace") if isinstance(html, str) else html
    if not raw.strip():
        raise ExtractError("the page is empty")
    try:
        document = trafilatura.bare_extraction(
            raw,
            url=url,
            include_comments=False,
            with_metadata=True,
            date_extraction_params={"extensive_search": False, "original_date": True},
        )
    except (ValueError, etree.LxmlError) as exc:  # trafilatura mostly returns None instead
        raise ExtractError(f"the page could not be parsed: {exc}") from exc
    if not isinstance(document, Document) or not (document.text or "").strip():
        raise ExtractError("no article text found on the page")
    language = document.language or _page_language(raw)
    text = unicodedata.normalize("NFC", (document.text or "").strip())
    dropped: tuple[Dropped, ...] = ()
    blocks: tuple[tuple[str, str], ...] = ()
    if clean and document.body is not None:
        cleaned = clean_body(
            document.body,
            site_boilerplate=site_boilerplate,
            title=document.title,
            links=lazy_anchor_texts(raw),
        )
        if cleaned.text is not None:
            text, dropped = unicodedata.normalize("NFC", cleaned.text), tuple(cleaned.dropped)
        blocks = tuple(cleaned.blocks)
    return Extraction(
        title=document.title or None,
        author=document.author or None,
        published=document.date or None,
        site=document.sitename or document.hostname or None,
        language=language.lower() if language else None,
        text=text,
        dropped=dropped,
        blocks=blocks,
    )


def _page_language(raw: bytes) -> str | None:
    m = _LANG.search(raw[:4096])
    return m.group(1).decode("ascii").replace("_", "-") if m else None


def html_to_text(fragment: str) -> str:
    """Plain text of a feed's HTML content, one line per block."""
    if not fragment.strip():
        return ""
    if "<" not in fragment:
        return " ".join(fragment.split())
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (etree.ParserError, ValueError):
        return " ".join(re.sub(r"<[^>]+>", " ", fragment).split())
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.lower() in _BLOCKS:
            element.tail = "\n" + (element.tail or "")
    lines = (" ".join(line.split()) for line in root.text_content().splitlines())
    return "\n".join(line for line in lines if line)
