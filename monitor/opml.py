"""OPML 2.0 subscription lists: reading one (``feeds import``) and writing one (``feeds export``).

An OPML file comes from elsewhere, so it is parsed with defusedxml: no DTD, no entity
expansion (billion laughs), no external references. Outlines nest: an outline without
``xmlUrl`` is a folder, and the folders above a feed (plus its own ``category`` attribute)
become its category, written ``News/Caucasus``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from storage.feeds import Feed

from .errors import InputError

MAX_DEPTH = 50  # folders nested deeper than this are a broken or hostile file


@dataclass(frozen=True)
class OutlineFeed:
    url: str
    title: str | None
    category: str | None


@dataclass
class OpmlList:
    feeds: list[OutlineFeed]
    skipped: list[str]  # one line per outline that could not be taken, with the reason


def read_opml(data: bytes, *, source: str) -> OpmlList:
    """The feeds of an OPML document; InputError (one line) when it is not one."""
    try:
        root = SafeET.fromstring(data, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise InputError(f"{source}: refused: {type(exc).__name__} ({exc})") from exc
    except ET.ParseError as exc:
        raise InputError(f"{source}: not valid XML: {exc}") from exc
    if _local(root.tag) != "opml":
        raise InputError(f"{source}: not an OPML file (root element is <{_local(root.tag)}>)")
    body = next((child for child in root if _local(child.tag) == "body"), None)
    if body is None:
        raise InputError(f"{source}: not an OPML file (no <body>)")
    result = OpmlList([], [])
    for path, outline in _outlines(body, (), 0, source):
        url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
        title = (outline.get("title") or outline.get("text") or "").strip() or None
        if not url.startswith(("http://", "https://")):
            result.skipped.append(f"{title or '(untitled)'}: xmlUrl {url!r} is not http(s)")
            continue
        own = [c.strip().strip("/") for c in (outline.get("category") or "").split(",")]
        category = "/".join(path) or next((c for c in own if c), None)
        result.feeds.append(OutlineFeed(url, title, category or None))
    if not result.feeds and not result.skipped:
        raise InputError(f"{source}: no feeds in it (no <outline> has an xmlUrl)")
    return result


def _outlines(
    parent: ET.Element, path: tuple[str, ...], depth: int, source: str
) -> Iterator[tuple[tuple[str, ...], ET.Element]]:
    """Every feed outline with the folder names above it."""
    if depth > MAX_DEPTH:
        raise InputError(f"{source}: outlines nested more than {MAX_DEPTH} deep")
    for outline in parent:
        if _local(outline.tag) != "outline":
            continue
        if outline.get("xmlUrl") is not None or outline.get("xmlurl") is not None:
            yield path, outline
        else:
            name = (outline.get("text") or outline.get("title") or "").strip()
            yield from _outlines(outline, (*path, name) if name else path, depth + 1, source)


def _local(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1]


def write_opml(feeds: Iterable[Feed], *, title: str = "news-monitor feeds") -> bytes:
    """OPML 2.0 with one folder outline per category (nested on ``/``)."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = format_datetime(datetime.now(UTC), usegmt=True)
    body = ET.SubElement(root, "body")
    folders: dict[tuple[str, ...], ET.Element] = {(): body}
    for feed in feeds:
        parent = _folder(folders, tuple(p for p in (feed.category or "").split("/") if p))
        attributes = {"type": "rss", "text": feed.title or feed.url, "xmlUrl": feed.url}
        if feed.title:
            attributes["title"] = feed.title
        if feed.site_url:
            attributes["htmlUrl"] = feed.site_url
        ET.SubElement(parent, "outline", attributes)
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document + b"\n"


def _folder(folders: dict[tuple[str, ...], ET.Element], path: tuple[str, ...]) -> ET.Element:
    if path not in folders:
        folders[path] = ET.SubElement(_folder(folders, path[:-1]), "outline", text=path[-1])
    return folders[path]
