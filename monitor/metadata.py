"""An article page's metadata - headline, author, publication date, site name, language - read
from what the page declares about itself: ``<meta>`` tags (Open Graph, Twitter cards, Dublin
Core, the usual news CMS names), schema.org JSON-LD, ``itemprop`` microdata, ``<time>``, a
byline element, the ``<title>`` and ``<h1>``.

trafilatura can do this too (``with_metadata=True``), but its metadata step also looks for
categories, tags and licences, normalises every JSON-LD string and guesses dates from the
text: about a third more time per page than the article extraction itself, for fields that
are here only a fallback (the feed entry's own title, date and author come first). This
reader makes one pass over the ``<meta>`` elements and a few XPath lookups (about a
millisecond per page; htmldate's quick search, only for a page that declares no date, adds a
little more). Every field is a candidate list, ranked; JSON-LD is read within fixed bounds.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from itertools import islice
from typing import Any
from urllib.parse import urlsplit

from htmldate import find_date
from lxml import etree

# The <meta> names and properties (lower case) that state each field, best first.
_META_NAMES: dict[str, tuple[str, ...]] = {
    "title": ("og:title", "twitter:title", "dc.title", "dcterms.title", "title", "sailthru.title"),
    "author": (
        "author",
        "article:author",
        "dc.creator",
        "dcterms.creator",
        "byl",
        "sailthru.author",
        "parsely-author",
        "cxenseparse:author",
    ),
    "date": (
        "article:published_time",
        "og:article:published_time",
        "datepublished",
        "publishdate",
        "pubdate",
        "publish-date",
        "date",
        "dc.date",
        "dc.date.issued",
        "dcterms.created",
        "dcterms.date",
        "sailthru.date",
        "parsely-pub-date",
        "article.published",
    ),
    "site": ("og:site_name", "application-name", "publisher", "dc.publisher"),
    "description": (
        "og:description",
        "twitter:description",
        "description",
        "dc.description",
        "dcterms.description",
    ),
    "language": ("og:locale", "content-language", "language", "dc.language"),
}
# Name -> (field, rank): what one <meta> element states, looked up once per element.
_META_FIELDS = {
    name: (field, rank) for field, names in _META_NAMES.items() for rank, name in enumerate(names)
}

_ARTICLE_TYPES = {
    "article",
    "newsarticle",
    "reportagenewsarticle",
    "analysisnewsarticle",
    "opinionnewsarticle",
    "backgroundnewsarticle",
    "blogposting",
    "liveblogposting",
    "report",
}
_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_URL_DATE = re.compile(r"/((?:19|20)\d{2})/(\d{1,2})/(\d{1,2})(?:/|$)")
_LANGUAGE = re.compile(r"^([A-Za-z]{2,3})(?:[-_]([A-Za-z0-9]{2,8}))?\b")
# A <title>'s "Headline | Site" (or "Site - Headline"): the separators sites put around a name.
_TITLE_SEPARATOR = re.compile(r"\s+[|–—·•»~]\s+|\s+[-:]{1,2}\s+")
_SEPARATOR_AT_END = re.compile(r"(?:\s+[|–—·•»~]|\s+[-:]{1,2})\s*$")
_SEPARATOR_AT_START = re.compile(r"^\s*(?:[|–—·•»~]|[-:]{1,2})\s+")
_BY = re.compile(r"^(?:by|von|par|por|di|door|автор[:]?)\s+", re.I)
_GATHERED = ("meta", "script", "h1", "title", "time")
_ITEMPROPS = etree.XPath("//*[@itemprop]")
_BYLINE = etree.XPath(
    "(//a[@rel='author'] | //*[@class='byline'] | //*[@class='author']"
    " | //*[@class='author-name'])[position() <= 3]"
)
MAX_JSON_LD = 200_000  # characters: a bigger script is not page metadata
MAX_JSON_LD_ITEMS = 200
MAX_JSON_LD_SCRIPTS = 20


@dataclass(frozen=True)
class PageMetadata:
    title: str | None = None
    author: str | None = None
    published: str | None = None  # YYYY-MM-DD
    site: str | None = None
    language: str | None = None  # lower case, "en" or "pt-br"
    description: str | None = None  # the page's own summary of itself


def read_metadata(
    tree: etree._Element, url: str | None = None, *, date_from_text: bool = True
) -> PageMetadata:
    """What ``tree`` (a parsed page) says about itself; every field may be None. For each
    field, every statement of the page is a candidate, and the best-ranked one that holds up
    (a name, not a profile URL; a real date; a language tag) is kept. ``date_from_text``:
    whether a page that declares no date has one looked for in its text (htmldate's quick
    search, the costliest step: not needed when the feed entry has a date)."""
    candidates: dict[str, list[tuple[int, int, str]]] = {}

    def offer(field: str, rank: int, value: object) -> None:
        text = _clean(value)
        if text:
            listed = candidates.setdefault(field, [])
            listed.append((rank, len(listed), text))

    marked = _Marked.of(tree)
    for meta in marked.metas:
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").lower() or (
            meta.get("http-equiv") or ""
        ).lower()
        if key in _META_FIELDS:
            field, rank = _META_FIELDS[key]
            offer(field, rank, meta.get("content"))
    # JSON-LD and microdata rank after the <meta> tags of the same field.
    for rank, item in _json_ld_articles(marked.scripts):
        offer("title", rank, item.get("headline") or item.get("name"))
        offer("author", rank, _json_ld_name(item.get("author")))
        offer("date", rank, item.get("datePublished") or item.get("dateCreated"))
        offer("site", rank, _json_ld_name(item.get("publisher")))
        offer("language", rank, item.get("inLanguage"))
        offer("description", rank, item.get("description"))
    for element in marked.itemprops:
        prop = element.get("itemprop", "")
        if prop == "datePublished":
            offer("date", 60, element.get("datetime") or element.get("content"))
        elif prop == "author":
            offer("author", 60, element.get("content") or _text(element))
        elif prop == "headline":
            offer("title", 60, _text(element))
    offer(
        "language", -1, tree.get("lang") or tree.get("{http://www.w3.org/XML/1998/namespace}lang")
    )

    def best(field: str, keep: Callable[[str], str | None] = lambda text: text) -> str | None:
        for _, _, text in sorted(candidates.get(field, [])):
            kept = keep(text)
            if kept:
                return kept
        return None

    site = best("site")
    title = best("title") or _title_from_page(tree, marked)
    published = best("date", _iso_date)
    if published is None:
        for stamp in marked.times:
            published = _iso_date(stamp)
            if published:
                break
    if published is None and url:
        published = _url_date(url)
    if published is None and date_from_text:
        published = _date_from_text(tree, url)
    return PageMetadata(
        title=_without_site(title, site, url) if title else None,
        author=best("author", _author) or _author(_byline(tree)),
        published=published,
        site=site,
        language=best("language", _language),
        description=best("description"),
    )


@dataclass
class _Marked:
    """The page's elements that state metadata: those found by their tag in one walk over
    the tree (an XPath search per tag walked it once each, several times the cost), and
    those with an ``itemprop``."""

    metas: list[etree._Element] = dataclasses.field(default_factory=list)
    scripts: list[etree._Element] = dataclasses.field(default_factory=list)  # with a type
    itemprops: list[etree._Element] = dataclasses.field(default_factory=list)
    h1s: list[etree._Element] = dataclasses.field(default_factory=list)
    titles: list[etree._Element] = dataclasses.field(default_factory=list)
    times: list[str] = dataclasses.field(default_factory=list)  # the datetime of each <time>

    @classmethod
    def of(cls, tree: etree._Element) -> _Marked:
        root = tree.getroottree().getroot()
        marked = cls(itemprops=_ITEMPROPS(root))
        for element in root.iter(*_GATHERED):
            tag = element.tag
            if tag == "meta":
                marked.metas.append(element)
            elif tag == "script":
                if element.get("type") is not None:
                    marked.scripts.append(element)
            elif tag == "h1":
                marked.h1s.append(element)
            elif tag == "title":
                marked.titles.append(element)
            elif (stamp := element.get("datetime")) is not None:
                marked.times.append(stamp)
        return marked


def _json_ld_articles(scripts: list[etree._Element]) -> Iterator[tuple[int, dict[str, Any]]]:
    """The article-like objects of the page's JSON-LD scripts (top level, lists, @graph),
    with their rank (an article before a mere web page). Bounded: a hostile page cannot make
    this slow (``MAX_JSON_LD`` characters and ``MAX_JSON_LD_ITEMS`` objects per script, the
    first ``MAX_JSON_LD_SCRIPTS`` scripts)."""
    json_ld = (
        script
        for script in scripts
        if script.get("type", "").strip().lower() == "application/ld+json"
    )
    for script in islice(json_ld, MAX_JSON_LD_SCRIPTS):
        source = script.text or ""
        if not source.strip() or len(source) > MAX_JSON_LD:
            continue
        try:
            data = json.loads(source)
        except (ValueError, RecursionError):
            continue  # broken JSON-LD is common; the <meta> tags still count
        pending: list[object] = data if isinstance(data, list) else [data]
        index = 0
        while index < len(pending) and index < MAX_JSON_LD_ITEMS:
            item = pending[index]
            index += 1
            if not isinstance(item, dict):
                continue
            graph = item.get("@graph")
            if isinstance(graph, list):
                pending.extend(graph[:MAX_JSON_LD_ITEMS])
            kinds = item.get("@type")
            names = {
                k.lower()
                for k in (kinds if isinstance(kinds, list) else [kinds])
                if isinstance(k, str)
            }
            if names & _ARTICLE_TYPES:
                yield 50, item
            elif "webpage" in names:
                yield 55, item


def _json_ld_name(value: object) -> str | None:
    """A schema.org Person/Organization (or a list of them) as names joined by commas."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        name = value.get("name")
        return name if isinstance(name, str) else None
    if isinstance(value, list):  # one level: a list of lists names nobody
        names = [n for n in (_json_ld_name(v) for v in value[:5] if not isinstance(v, list)) if n]
        return ", ".join(dict.fromkeys(names)) or None
    return None


def _title_from_page(tree: etree._Element, marked: _Marked) -> str | None:
    """The only ``<h1>``, else the ``<title>`` (a site name beside it goes later, in
    ``_without_site``), else the first ``<h1>`` or ``<h2>``."""
    headings = [t for t in (_text(h) for h in marked.h1s) if t]
    if len(headings) == 1:
        return _clean(headings[0])
    for element in marked.titles[:1]:
        if whole := _text(element):
            return _clean(whole)
    for element in tree.xpath("(//h1 | //h2)[normalize-space()][1]"):
        return _clean(_text(element))
    return None


def _without_site(title: str, site: str | None, url: str | None) -> str:
    """ "Headline | Site" -> "Headline" (and "Site - Headline"): the part before the first or
    after the last separator goes when it is the site's name, as the page states it or as its
    domain says it."""
    parts = _TITLE_SEPARATOR.split(title)
    if len(parts) < 2:
        return title
    host = (urlsplit(url).hostname or "").removeprefix("www.") if url else ""
    names = {_squash(site or ""), _squash(host), _squash(host.split(".")[0])} - {""}
    if _squash(parts[-1]) in names:
        return _SEPARATOR_AT_END.sub("", title[: title.rfind(parts[-1])]).strip() or title
    if _squash(parts[0]) in names:
        return _SEPARATOR_AT_START.sub("", title[len(parts[0]) :]).strip() or title
    return title


def _squash(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.lower())


def _date_from_text(tree: etree._Element, url: str | None) -> str | None:
    """htmldate's quick search (dates in attributes, headers and the text), for a page that
    declares no date in its markup."""
    try:
        found = find_date(tree, url=url, extensive_search=False, original_date=True)
    except (ValueError, TypeError, etree.LxmlError):
        return None
    return _iso_date(found) if isinstance(found, str) else None


def _byline(tree: etree._Element) -> str | None:
    """A short element marked as the author (``rel="author"``, a ``byline`` class)."""
    for element in _BYLINE(tree):
        text = _text(element)
        if text and len(text) <= 80:
            return text
    return None


def _author(value: str | None) -> str | None:
    if not value or value.startswith(("http://", "https://", "@")):
        return None  # a profile URL or a social handle is not a name
    name = _BY.sub("", value).strip()
    return name[:200] or None


def _iso_date(value: str) -> str | None:
    m = _DATE.search(value)
    if not m:
        return None
    try:
        day = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None
    return day.isoformat() if 1990 <= day.year <= 2100 else None


def _url_date(url: str) -> str | None:
    m = _URL_DATE.search(url)
    return _iso_date("-".join(m.groups())) if m else None


def _language(value: str) -> str | None:
    m = _LANGUAGE.match(value.strip().split(",")[0].strip()) if value else None
    if not m:
        return None
    primary, region = m.group(1).lower(), m.group(2)
    return f"{primary}-{region.lower()}" if region else primary


def _text(element: etree._Element) -> str:
    return " ".join("".join(element.itertext()).split())


def _clean(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())
    return text[:1000] or None
