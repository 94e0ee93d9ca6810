"""Extracting an article's text and metadata from its page with trafilatura.

Order: the page is parsed once; its metadata is read from what it declares (``metadata.py``);
the cleaning stage takes the boxes it names out of the tree; trafilatura's main-content
extraction (comments excluded) works on the same tree (``cascade.py`` spares it a step that
cannot change its result); then the cleaning stage cleans trafilatura's output.
When a page yields nothing, the caller falls back to the feed's own content
(``html_to_text``) and stores the reason.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, TypeGuard

import lxml.html
from lxml import etree
from trafilatura.utils import decode_file, is_dubious_html, repair_faulty_html

from . import cascade, fastpaths, rescue
from .clean import STANDFIRST, Dropped, clean_body, prune_boxes
from .errors import ExtractError
from .links import lazy_anchor_texts
from .metadata import PageMetadata, read_metadata
from .urls import site_of

log = logging.getLogger(__name__)
cascade.install()
fastpaths.install()
rescue.install()
_BLOCKS = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "tr", "pre"}


@dataclass(frozen=True)
class Extraction:
    title: str | None
    author: str | None
    published: str | None  # as the page states it (date only, usually)
    site: str | None
    language: str | None
    text: str
    # The standfirst: the summary a heading above the story gave, taken out of the text
    # like the headline (see ``monitor.clean``) and kept apart, for the watchlists to read.
    summary: str | None = None
    dropped: tuple[Dropped, ...] = ()  # furniture removed by the cleaning stage, with reasons
    blocks: tuple[tuple[str, str], ...] = ()  # (fingerprint, text): for site-learned boilerplate

    @property
    def read_text(self) -> str:
        """What the watchlists read as the article's text (see ``read_text``)."""
        return read_text(self.summary, self.text)


def read_text(summary: str | None, text: str) -> str:
    """What the watchlists read as an article's text: the standfirst taken out of it, if
    any, then the text. The standfirst is not furniture, only not the story itself: the
    matches stay what they were with it in the text, live and when replayed on stored
    articles alike."""
    return f"{summary}\n\n{text}" if summary else text


def extract_page(
    html: bytes | str,
    *,
    url: str | None = None,
    clean: bool = True,
    site_boilerplate: frozenset[str] = frozenset(),
    date_from_text: bool = True,
) -> Extraction:
    """The article in ``html``, cleaned of page furniture; raise ExtractError (with the
    reason) when there is none. ``site_boilerplate`` holds fingerprints of blocks this page's
    site has shown on several other articles. ``date_from_text=False``: a page that declares
    no date is not searched for one (the feed entry has its date)."""
    raw = html.encode("utf-8", "replace") if isinstance(html, str) else html
    if not raw.strip():
        raise ExtractError("the page is empty")
    try:
        tree = parse_page(raw)
        if tree is None:
            raise ExtractError("the page could not be parsed as HTML")
        meta = _metadata(tree, url, date_from_text)
        boxes = prune_boxes(tree) if clean else []
        found = _main_content(tree, url)
        if boxes and not _has_text(found):
            # the boxes may have held all the text there is: the page as it came (guard)
            plain_tree = parse_page(raw)
            plain = None if plain_tree is None else _main_content(plain_tree, url)
            if _has_text(plain):
                found, boxes = plain, []
        if clean and not _has_text(found):
            found = _read_favouring_recall(raw, url, prune=bool(boxes)) or found
    except (ValueError, etree.LxmlError) as exc:  # trafilatura mostly returns None instead
        raise ExtractError(f"the page could not be parsed: {exc}") from exc
    if not _has_text(found):
        raise ExtractError("no article text found on the page")
    text, body = unicodedata.normalize("NFC", found[0].strip()), found[1]
    dropped: tuple[Dropped, ...] = tuple(boxes)
    blocks: tuple[tuple[str, str], ...] = ()
    summary = None
    if clean:
        cleaned = clean_body(
            body,
            site_boilerplate=site_boilerplate,
            title=meta.title,
            description=meta.description,
            links=lazy_anchor_texts(raw),
        )
        if cleaned.text is not None:
            text = unicodedata.normalize("NFC", cleaned.text)
            dropped += tuple(cleaned.dropped)
            summary = next((d.text for d in dropped if d.rule == STANDFIRST.id), None)
        blocks = tuple(cleaned.blocks)
    return Extraction(
        title=meta.title,
        author=meta.author,
        published=meta.published,
        site=meta.site or site_of(url or "") or None,
        language=meta.language,
        text=text,
        summary=unicodedata.normalize("NFC", summary) if summary else None,
        dropped=dropped,
        blocks=blocks,
    )


# trafilatura's own parser options, with lxml's C-level default element classes instead of
# lxml.html's Python lookup (called for every element touched, to give form controls their
# own classes, which extraction never uses): the same HtmlElement tree, ~10% less extraction
# time. A test checks that trafilatura's output is the same as on its own parse.
_PARSER = lxml.html.HTMLParser(
    collect_ids=False,
    default_doctype=False,
    encoding="utf-8",
    remove_comments=True,
    remove_pis=True,
)
_PARSER.set_element_class_lookup(
    etree.ElementDefaultClassLookup(
        element=lxml.html.HtmlElement,
        comment=lxml.html.HtmlComment,
        pi=lxml.html.HtmlProcessingInstruction,
        entity=lxml.html.HtmlEntity,
    )
)


def _main_content(
    tree: lxml.html.HtmlElement, url: str | None, *, recall: bool = False
) -> tuple[str, Any] | None:
    """trafilatura.bare_extraction(tree, url=url, include_comments=False,
    with_metadata=False, favor_recall=recall)'s text and body, less what cannot change its
    result (cascade.py), with its costliest expressions evaluated in Python (fastpaths.py),
    and the article's prose and lists kept where trafilatura would lose them (rescue.py)."""
    with fastpaths.active(), rescue.active():
        return cascade.extract(tree, url, recall=recall)


def _has_text(found: tuple[str, Any] | None) -> TypeGuard[tuple[str, Any]]:
    return found is not None and bool(found[0].strip())


def _read_favouring_recall(raw: bytes, url: str | None, *, prune: bool) -> tuple[str, Any] | None:
    """trafilatura's extraction favouring recall, for a page where its own setting found no
    text at all (a page whose article broken markup left inside a pop-up or a header, which
    that setting prunes whole). trafilatura retries a short extraction so itself, but not an
    empty one. ``prune``: take the boxes out of the page again. None when it finds nothing
    either, or fails (the page had no text before: it has none now)."""
    try:
        tree = parse_page(raw)  # the first tree was pruned by the extraction
        if tree is None:
            return None
        if prune:
            prune_boxes(tree)
        found = _main_content(tree, url, recall=True)
    except (ValueError, TypeError, etree.LxmlError) as exc:
        log.warning("%s: extraction favouring recall failed: %s: %s", url, type(exc).__name__, exc)
        return None
    return found if _has_text(found) else None


def _metadata(tree: lxml.html.HtmlElement, url: str | None, date_from_text: bool) -> PageMetadata:
    """The page's metadata, or none: it only stands in for what the feed entry lacks, so a
    page whose markup trips the reader still gives its article."""
    try:
        return read_metadata(tree, url, date_from_text=date_from_text)
    except Exception as exc:  # hostile or broken markup: the text matters more
        log.warning("%s: page metadata not read: %s: %s", url, type(exc).__name__, exc)
        return PageMetadata()


def parse_page(raw: bytes) -> lxml.html.HtmlElement | None:
    """The page's tree, parsed as ``trafilatura.load_html`` does (encoding guess, repairs,
    a bytes retry, the rejection of what is not HTML at all), on the faster parser above;
    content after a premature ``</html>`` is put back in the body (``_adopt_stray_content``)."""
    text = decode_file(raw)
    beginning = text[:50].lower()
    text = repair_faulty_html(text, beginning)
    tree, retried = None, False
    try:
        tree = lxml.html.fromstring(text, parser=_PARSER)
    except ValueError:  # a string with an encoding declaration: libxml2 wants bytes
        tree, retried = _parse_bytes(text), True
    except etree.LxmlError:
        tree = None
    if (tree is None or len(tree) < 1) and not retried:
        tree = _parse_bytes(text)
    if tree is not None and is_dubious_html(beginning) and len(tree) < 2:
        return None  # not HTML, or too little of it to hold an article
    if tree is not None:
        _adopt_stray_content(tree)
    return tree


def _adopt_stray_content(tree: lxml.html.HtmlElement) -> None:
    """Move what follows a premature ``</html>`` into the body, where browsers show it.

    A page that closes its document early (``</body></html>`` after the header, say, and the
    article after that) is parsed by libxml2 into a second top-level element beside the
    document's root, which trafilatura, working from ``tree``, never reads: it took the
    teasers left in the body for the article. HTML's own parsing rules put such content back
    in the body, and so does this (in ``tree`` itself where it is a fragment's element rather
    than a document); a second ``<head>`` stays out, as its title and metadata are no text of
    the page."""
    root = tree.getroottree().getroot()
    strays = [node for node in root.itersiblings() if isinstance(node.tag, str)]
    if not strays:
        return
    target = tree.find("body") if tree.tag == "html" else tree
    if target is None:
        target = tree
    for stray in strays:
        _append_text(target, stray.text)
        for child in list(stray):
            if child.tag == "head":
                continue
            if child.tag == "body":
                _append_text(target, child.text)
                target.extend(list(child))
            else:
                target.append(child)


def _append_text(element: lxml.html.HtmlElement, text: str | None) -> None:
    """Put ``text`` at the end of ``element``'s content."""
    if not text or text.isspace():
        return
    if len(element):
        last = element[-1]
        last.tail = (last.tail or "") + text
    else:
        element.text = (element.text or "") + text


def _parse_bytes(text: str) -> lxml.html.HtmlElement | None:
    try:
        return lxml.html.fromstring(text.encode("utf8", "surrogatepass"), parser=_PARSER)
    except (ValueError, etree.LxmlError):
        return None


def html_to_text(fragment: str) -> str:
    """Plain text of a feed's HTML content, one line per block; scripts and styles dropped."""
    if not fragment.strip():
        return ""
    if "<" not in fragment:
        return " ".join(fragment.split())
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (etree.ParserError, ValueError):
        return " ".join(re.sub(r"<[^>]+>", " ", fragment).split())
    etree.strip_elements(root, "script", "style", "applet", with_tail=False)
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.lower() in _BLOCKS:
            element.tail = "\n" + (element.tail or "")
    lines = (" ".join(line.split()) for line in root.text_content().splitlines())
    return "\n".join(line for line in lines if line)
