"""Cleaning: removing page furniture that trafilatura lets through, block by block.

Before trafilatura reads the page, the boxes ``furniture.toml`` names by their class or id (a
call-to-action box, a promotion) are taken out of it (``prune_boxes``): trafilatura keeps what
sits inside the article's container, and such a box often does. Then, on trafilatura's XML body
(so page structure and links are still visible):

1. Flatten the body into blocks (paragraphs, headings, list items, quotes, tables), each with
   its text, word count and words inside links; a layout table (paragraphs in its cells) is
   flattened cell by cell; loose text between two blocks is a block of its own.
2. Drop the page's headline where the body repeats it at the top: it is the title, not the
   story, and it is stored as the title already. Likewise a standfirst: a heading under the
   headline, above the story, that says the page's own description (the caller keeps it as
   the article's summary, which the watchlists still read).
3. Apply the rules of ``furniture.toml`` (data, not code): ``block`` rules drop a short line;
   ``section`` rules drop a heading such as "Related Articles" with the teaser-like blocks under
   it, and everything after it when it opens the article's tail; ``cues`` rules drop a paragraph
   that carries several appeal/prompt cues at once. Then the lines of a paragraph broken by
   <lb/> are judged one by one, so that furniture glued into a paragraph is cut out of it.
4. Drop blocks the site has shown on several other articles (site-learned boilerplate: the
   caller passes the fingerprints storage has counted often enough), then the run of short
   blocks closing the body that are each the text of a link of the original page.
5. Guard the body: rules are bounded by block length, so ordinary prose with a trigger word
   stays; and cleaning that would leave next to no text is undone.

Every dropped block is reported with its rule, category and reason.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from lxml.etree import Element, SubElement, _Element, strip_elements, strip_tags
from lxml.html import HtmlElement
from trafilatura.xml import xmltotxt

from .furniture import (
    SHORT_LINE_WORDS,
    WORDS,
    Block,
    BoxRule,
    Dropped,
    Rule,
    RuleSet,
    box_prefilter,
    default_rules,
    fingerprint,
    load_boxes,
    load_rules,
    normal,
    normal_of,
)

__all__ = [
    "Cleaned",
    "Dropped",
    "clean_body",
    "fingerprint",
    "headline_prints",
    "load_rules",
    "normal",
    "prune_boxes",
]

BLOCK_TAGS = {"p", "head", "quote", "table", "code", "item", "graphic"}
# Elements of trafilatura's XML that stand apart from the text around them, inside a block.
INNER_BLOCKS = {"p", "head", "quote", "list", "item", "table", "row", "cell", "div"}
# The page's elements a box (``prune_boxes``) can be: containers, paragraphs, links and spans
# (iterating these only costs about 60% of iterating every element).
BOX_TAGS = ("div", "section", "aside", "p", "a", "span")
INLINE_BOX_TAGS = frozenset({"a", "span"})  # a box only when not among words of the text
BOX_MAX_ELEMENTS = 500  # a box holds fewer elements than this (it holds 50 words or so)
UNSEEN_TAGS = frozenset({"script", "style", "noscript", "template"})  # text not shown
GONE = "monitor-box-gone"  # the tag a box is given before all are stripped at once
LAYOUT_TAGS = ("p", "head", "list", "quote", "table")  # inside a table: a layout table
MIN_FINGERPRINT_WORDS = 3
GUARD_MIN_WORDS = 20
PROSE_WORDS = 15  # a paragraph of running text, not a teaser line
RESUME_PARAGRAPHS = 3  # so many in a row after related teasers: the article goes on
LINK_TAIL_MIN_RUN = 2  # blocks, each a link of the page, that end the body
LINK_TAIL_MAX_WORDS = 40
LINK_TAIL_HEADING_WORDS = 8
TAIL = "tail"  # the tag of a block of loose text: the tail of the element before it
LINE_BREAK = "\x0b"  # an <lb/> in a block's raw text (whitespace, so split() removes it)


@dataclass
class Cleaned:
    text: str | None  # None when nothing was dropped: the extraction's own text stands
    dropped: list[Dropped] = field(default_factory=list)
    blocks: list[tuple[str, str]] = field(default_factory=list)  # (fingerprint, text) to learn
    guarded: bool = False  # cleaning would have emptied the article and was undone


def blocks_of(body: _Element) -> list[Block]:
    """The body's blocks in reading order. A table laid out with paragraphs or headings in its
    cells is a page layout, not data: its cells' blocks are taken one by one, so that a
    sidebar in one cell is judged apart from the article in the next."""
    blocks: list[Block] = []
    _collect(body, blocks)
    return blocks


def _collect(parent: _Element, blocks: list[Block]) -> None:
    for element in parent:
        tag = element.tag
        if tag not in BLOCK_TAGS or (tag == "table" and _is_layout(element)):
            _collect(element, blocks)
        else:
            _collect_block(element, blocks)
        tail = element.tail
        if tail and not tail.isspace():  # loose text between blocks: a button, a teaser
            text = " ".join(tail.split())
            blocks.append(Block(element, TAIL, text, len(WORDS.findall(text)), 0))


def _collect_block(element: _Element, blocks: list[Block]) -> None:
    raw = _raw_text(element)
    text = " ".join(raw.split())
    if not text:
        return
    link_words = sum(len(WORDS.findall(_text(ref))) for ref in element.iter("ref"))
    words = WORDS.findall(text)
    block = Block(element, element.tag, text, len(words), link_words)
    block.__dict__["normal"] = normal_of(words)  # its cached ``normal``, from the same scan
    if LINE_BREAK in raw and element.tag == "p":
        lines = (" ".join(line.split()) for line in raw.split(LINE_BREAK))
        block.lines = tuple(line for line in lines if line)
    blocks.append(block)


def _is_layout(table: _Element) -> bool:
    return next(table.iterdescendants(*LAYOUT_TAGS), None) is not None


def _text(element: _Element) -> str:
    return " ".join(_raw_text(element).split())


def _raw_text(element: _Element) -> str:
    """The element's text, with LINE_BREAK where it has a <lb/>, and a space on each side of
    a block inside it (an item's heading and the text after it are two words apart:
    "Deploy now" and "Click below", not "nowClick")."""
    parts: list[str] = []
    for node in element.iter():
        inner = node is not element and node.tag in INNER_BLOCKS
        if node.tag == "lb":
            parts.append(LINE_BREAK)
        if inner:
            parts.append(" ")
        if node.text:
            parts.append(node.text)
        if node is not element and node.tail:
            parts.append(" " + node.tail if inner else node.tail)
    return "".join(parts)


def clean_body(
    body: _Element,
    *,
    site_boilerplate: frozenset[str] = frozenset(),
    title: str | None = None,
    description: str | None = None,
    links: Callable[[], frozenset[str]] | None = None,
) -> Cleaned:
    """The article text of trafilatura's XML ``body`` with its furniture removed (the tree
    is modified in place when something is dropped). ``title`` is the page's headline from
    its metadata, dropped where the body opens with it; ``description`` its summary of itself,
    dropped where a heading above the story says it (a standfirst). ``links`` gives the
    normalised texts (``normal``) of the original page's links (see ``monitor.links``), asked
    for only when the body ends in short blocks."""
    tree = body
    blocks = blocks_of(tree)
    learned = [(b.fingerprint, b.text) for b in blocks if b.words >= MIN_FINGERPRINT_WORDS]
    if title:
        _apply_headline(blocks, headline_prints(title))
    if description:
        _apply_standfirst(blocks, description, site_boilerplate)
    _apply_rules(blocks, default_rules())
    _apply_lines(blocks, default_rules())
    _apply_site(blocks, site_boilerplate)
    if links is not None:
        _apply_link_tail(blocks, links)
    _apply_loose_lines(blocks)
    changed = [b for b in blocks if b.dropped is not None or b.cut]
    if not changed:
        return Cleaned(None, [], learned)
    if _would_empty(blocks):
        return Cleaned(None, [], learned, guarded=True)
    for block in changed:  # loose text first: an element taken out keeps only a kept tail
        if block.tag == TAIL:
            block.element.tail = None
    reasons: list[Dropped] = []
    for block in changed:
        if block.tag == TAIL:
            reasons += [block.dropped] if block.dropped else []
            continue
        if block.dropped is None:
            _rewrite_lines(block.element, block.lines)
            reasons += block.cut
            continue
        reasons.append(block.dropped)
        parent = block.element.getparent()
        if parent is not None:
            _remove(block.element)
            if parent.tag == "list" and len(parent) == 0 and parent.getparent() is not None:
                _remove(parent)
    return Cleaned(_render(tree), reasons, learned)


def prune_boxes(page: HtmlElement) -> list[Dropped]:
    """Take the boxes ``furniture.toml`` names (``[[boxes]]``: a call-to-action box, a
    promotion, a disclosure, a breadcrumb trail) out of the page's tree, before trafilatura
    reads it; return those that held text, as dropped blocks. The tail text after a box
    stays in its place. A link or span inside running text is a word of it, not a box."""
    rules = load_boxes()
    if not rules:
        return []
    body = page.find("body")
    if body is None:
        body = page  # lxml.html gives the body itself for a page without <html> and <head>
    prefilter = box_prefilter(rules)
    named: list[tuple[_Element, BoxRule]] = []
    for element in body.iterdescendants(*BOX_TAGS):
        names = element.get("class")
        own_id = element.get("id")
        if own_id is not None:
            names = f"{names} {own_id}" if names is not None else own_id
        if names is None:
            continue
        names = names.lower()
        if prefilter.search(names) is None:
            continue
        for rule in rules:
            if rule.named.search(names):
                if element.tag not in INLINE_BOX_TAGS or not _in_running_text(element):
                    named.append((element, rule))
                break
    dropped: list[Dropped] = []
    gone: set[_Element] = set()
    for element, rule in named:  # in page order: a box before the boxes inside it
        if gone and any(ancestor in gone for ancestor in element.iterancestors()):
            continue  # inside a box taken out already
        text = _short_text(element, rule.max_words)
        if text is None:
            continue
        gone.add(element)
        if text:
            dropped.append(Dropped(rule.id, rule.category, rule.reason, text))
    for element in gone:  # all at once: one by one, each tail is appended to a growing text
        element.tag = GONE
    if gone:
        strip_elements(body, GONE, with_tail=False)
    return dropped


def _in_running_text(element: _Element) -> bool:
    """Whether the link or span stands among words of its parent's text (a product named
    with an affiliate link), rather than alone (a button)."""
    if element.tail and not element.tail.isspace():
        return True
    before = element.getprevious()
    if before is not None:
        return bool(before.tail and not before.tail.isspace())
    parent = element.getparent()
    return parent is not None and bool(parent.text and not parent.text.isspace())


def _short_text(element: _Element, max_words: int) -> str | None:
    """The element's text (scripts and styles left out), or None once it passes
    ``max_words`` words or BOX_MAX_ELEMENTS elements (read no further: a wrapper may hold
    the whole page)."""
    parts: list[str] = []
    words = 0
    for count, node in enumerate(element.iter()):
        if count > BOX_MAX_ELEMENTS:
            return None
        pieces = (
            node.text if isinstance(node.tag, str) and node.tag not in UNSEEN_TAGS else None,
            node.tail if node is not element else None,
        )
        for piece in pieces:
            if piece:
                words += len(WORDS.findall(piece))
                if words > max_words:
                    return None
                parts.append(piece)
    return " ".join(" ".join(parts).split())  # pieces may be blocks: a space between


def _remove(element: _Element) -> None:
    """Take ``element`` out of the tree, but not its tail: the loose text after it was
    judged as a block of its own (emptied already if that block was dropped too), so it
    takes the element's place, as a paragraph (an item in a list) of its own."""
    parent = element.getparent()
    assert parent is not None
    tail = element.tail
    if tail and not tail.isspace():
        kept = Element("item" if parent.tag == "list" else "p")
        kept.text = " ".join(tail.split())
        parent.replace(element, kept)
    else:
        parent.remove(element)


def _rewrite_lines(element: _Element, lines: tuple[str, ...]) -> None:
    """The paragraph holds ``lines`` only, one <lb/> apart (its inline markup goes: the
    text is rendered plain)."""
    for child in list(element):
        element.remove(child)
    element.text = lines[0]
    for line in lines[1:]:
        SubElement(element, "lb").tail = line


def _render(tree: _Element) -> str:
    """Plain text as trafilatura renders it (links, if any, as their text only)."""
    strip_tags(tree, "ref")
    return str(xmltotxt(tree, include_formatting=False)).strip()


def _would_empty(blocks: list[Block]) -> bool:
    """True when cleaning would leave next to nothing: no block, or a few words where most
    of the text was judged furniture. The article is then kept as extracted. A standfirst
    is not furniture: it stays, as the summary, so its words count as kept, but only beside
    a story of some length (a dateline left under a standfirst is not an article)."""
    total = sum(b.words for b in blocks)
    kept = sum(b.words for b in blocks if b.dropped is None)
    said = sum(b.words for b in blocks if b.dropped is not None and b.dropped.rule == STANDFIRST.id)
    counted = kept + said if kept >= GUARD_MIN_WORDS // 2 else kept
    return kept == 0 or (counted < GUARD_MIN_WORDS and counted < total / 2)


def _drop(block: Block, rule: Rule) -> None:
    if block.dropped is None:
        block.dropped = Dropped(rule.id, rule.category, rule.reason, block.text)


def _apply_rules(blocks: list[Block], rules: RuleSet) -> None:
    total = sum(b.words for b in blocks)
    seen = 0
    for i, block in enumerate(blocks):
        seen += block.words
        if block.dropped is not None:
            continue
        rule = block.first_rule(rules)
        if rule is None:
            continue
        _drop(block, rule)
        if rule.scope == "section":
            in_tail = seen - block.words >= total - seen
            _drop_section(blocks, i + 1, rule, in_tail=in_tail, rules=rules)


def _apply_lines(blocks: list[Block], rules: RuleSet) -> None:
    """A paragraph made of lines (<lb/>) can glue furniture to the text: a "SHARE YOUR
    STORY" line, a "Don't miss" heading with its teaser lines. Each line of such a
    paragraph is judged as a block of its own; a section line takes the teaser-like lines
    after it (every line after it when the paragraph sits in the article's tail)."""
    total = sum(b.words for b in blocks)
    seen = 0
    for block in blocks:
        seen += block.words
        if block.dropped is not None or len(block.lines) < 2:
            continue
        in_tail = seen - block.words >= total - seen
        kept: list[str] = []
        cut: list[Dropped] = []
        section: Rule | None = None
        for line in block.lines:
            part = Block(block.element, "p", line, len(WORDS.findall(line)), 0)
            rule = part.first_rule(rules)
            if rule is None and section is not None and (in_tail or _teaser_like(part)):
                rule = section
            if rule is None:
                section = None
                kept.append(line)
                continue
            cut.append(Dropped(rule.id, rule.category, rule.reason, line))
            if rule.scope == "section":
                section = rule
        if not cut:
            continue
        if any(WORDS.search(line) for line in kept):
            block.keep_lines(kept, cut)
        else:
            block.dropped = Dropped(cut[0].rule, cut[0].category, cut[0].reason, block.text)


def _drop_section(
    blocks: list[Block], start: int, rule: Rule, *, in_tail: bool, rules: RuleSet
) -> None:
    """Drop what a section heading opens: teasers (links, headlines, meta lines, a headline's
    standfirst), or, when the section opens the article's tail, everything up to a new content
    section (a plain heading followed by prose)."""
    previous: Block | None = None
    for j in range(start, len(blocks)):
        block = blocks[j]
        if block.dropped is not None:
            previous = block
            continue
        own = block.first_rule(rules)
        if own is None and block.tag == "head":
            following = blocks[j + 1] if j + 1 < len(blocks) else None
            if following is not None and following.words >= 30:
                return  # the article goes on under a heading of its own
        standfirst = previous is not None and _headline_like(previous) and previous.link_words == 0
        if own is None and not (in_tail or _teaser_like(block) or standfirst):
            return
        if own is None and rule.category == "related" and _resumes(blocks, j):
            return  # teasers are lists of headlines: running prose is the article again
        _drop(block, own or rule)
        if own is not None and own.scope == "section":
            rule = own  # a new section (comments, then related articles) takes over
        previous = block


def _prose(block: Block) -> bool:
    return (
        block.tag == "p"
        and block.words >= PROSE_WORDS
        and block.link_density < 0.5
        and block.text.rstrip().endswith((".", "!", "?", "…", '"', "”"))
    )


def _resumes(blocks: list[Block], j: int) -> bool:
    """Paragraphs of running prose from ``j`` on, more than a notice or a bio would take."""
    run = blocks[j : j + RESUME_PARAGRAPHS]
    return len(run) == RESUME_PARAGRAPHS and all(_prose(b) for b in run)


def _headline_like(block: Block) -> bool:
    return 3 <= block.words <= 25 and not block.text.rstrip().endswith((".", "!", "?", "…", ":"))


def _teaser_like(block: Block) -> bool:
    """A link, a headline or a short line: what related-article lists are made of."""
    if block.link_density >= 0.5:
        return True
    return block.words <= 20 and not block.text.rstrip().endswith((".", "!", "?", "…", ":"))


HEADLINE = Rule("headline", "meta", "repeats the page's headline", "block", (), 10**6)


_TITLE_PARTS = re.compile(r"\s+[|\u2013\u2014\u00b7\u2022:-]+\s+")
MIN_HEADLINE_WORDS = 3


def headline_prints(title: str) -> frozenset[str]:
    """Fingerprints of the headline as a page may print it: the whole title, or the title
    without the site name a ``<title>`` adds before or after a separator ("Headline | Site",
    "Site - Headline")."""
    parts = _TITLE_PARTS.split(title.strip())
    forms = {" ".join(parts[:-1]), " ".join(parts[1:])} if len(parts) > 1 else set()
    short = {form for form in forms if len(WORDS.findall(form)) < MIN_HEADLINE_WORDS}
    return frozenset(fingerprint(form) for form in {title} | forms - short)


def _apply_headline(blocks: list[Block], headlines: frozenset[str]) -> None:
    """The leading blocks that say the headline again (some pages print it twice)."""
    for block in blocks:
        if block.fingerprint not in headlines:
            return
        _drop(block, HEADLINE)


STANDFIRST = Rule(
    "standfirst", "meta", "the page's summary set above the story", "block", (), 10**6
)
STANDFIRST_MIN_WORDS = 6
STANDFIRST_TOP_BLOCKS = 4
STANDFIRST_COVER = 0.6  # a description cut short still says most of the heading, or v.v.


def _apply_standfirst(
    blocks: list[Block], description: str, site_boilerplate: frozenset[str]
) -> None:
    """A heading at the top of the body, under the headline and above the story's first
    paragraph, that says the page's description: a standfirst (dek), the page's summary of
    the story rather than the story. Only a heading: a paragraph saying the description is
    kept, as many pages take their first paragraph for their description; and not the
    body's first block, which is the headline itself on pages whose title says otherwise.
    A heading the site shows on every article (its tagline, which some sites also give as
    every page's description) is the site's furniture, not this story's summary; so is a
    heading a furniture rule takes (a description can be a site's newsletter pitch)."""
    said = _words_of(description)
    if len(said.split()) < STANDFIRST_MIN_WORDS:
        return
    for position, block in enumerate(blocks[:STANDFIRST_TOP_BLOCKS]):
        if block.dropped is not None:
            continue
        if (
            block.tag == "head"
            and position > 0
            and block.fingerprint not in site_boilerplate
            and _says(_words_of(block.text), said)
            and block.first_rule(default_rules()) is None
        ):
            _drop(block, STANDFIRST)
            return
        if block.tag != "head" and block.words >= PROSE_WORDS:
            return  # the story has begun


def _words_of(text: str) -> str:
    """``normal`` after NFC: a description written decomposed ("e" and an accent) says the
    same words as the composed heading."""
    return normal(unicodedata.normalize("NFC", text))


def _says(text: str, description: str) -> bool:
    """Whether ``text`` and ``description`` are the same words, or one opens the other and
    covers most of it (descriptions are often cut at a length)."""
    if text == description:
        return True
    shorter, longer = sorted((text, description), key=len)
    return (
        len(shorter.split()) >= STANDFIRST_MIN_WORDS
        and longer.startswith(shorter)
        and len(shorter) >= STANDFIRST_COVER * len(longer)
    )


LOOSE_LINE = Rule(
    "loose-line",
    "meta",
    "a loose line right after a dropped block (a dateline, a byline)",
    "block",
    (),
    SHORT_LINE_WORDS,
)


def _apply_loose_lines(blocks: list[Block]) -> None:
    """Loose text right after a dropped block (the headline, a heading of furniture), or
    after a list whose every item was dropped, that is a line, not a sentence, goes with
    it: under a headline, that is the dateline or the byline ("Monday, 22 January 2018 at
    0:13"). A loose sentence stays, a quoted one or one that opens a list too."""
    dropped = {b.element for b in blocks if b.tag != TAIL and b.dropped is not None}
    _drop_loose_lines(blocks, dropped)
    # A list goes as a whole when its every child went, and no loose text kept inside it
    # takes an item's place (see ``_remove``).
    kept = {b.element for b in blocks if b.tag == TAIL and b.dropped is None}
    lists = {e.getparent() for e in dropped if e.tag == "item"} - {None}
    _drop_loose_lines(
        blocks,
        {
            e
            for e in lists
            if e.tag == "list" and all(child in dropped and child not in kept for child in e)
        },
    )


def _drop_loose_lines(blocks: list[Block], after: set[_Element]) -> None:
    for block in blocks:
        if (
            block.tag == TAIL
            and block.dropped is None
            and block.element in after
            and block.words <= LOOSE_LINE.max_words
            and not _sentence(block.text)
        ):
            _drop(block, LOOSE_LINE)


def _sentence(text: str) -> bool:
    """Whether the text ends as a sentence does (closing quotes and brackets aside), or as
    one that announces what follows (a colon)."""
    return text.rstrip().rstrip("\"'”’»)]").endswith((".", "!", "?", "…", ":"))


LINK_TAIL = Rule(
    "link-list", "related", "list of links closing the page", "block", (), LINK_TAIL_MAX_WORDS
)


def _apply_link_tail(blocks: list[Block], links: Callable[[], frozenset[str]]) -> None:
    """Drop the run of blocks that ends the body when each of them is the whole text of a
    link of the original page (a related-articles box, a "more from" list, footer links),
    with the short heading that opens it. Only short blocks are candidates, so the page's
    links are read only when the body ends in some."""
    kept = [b for b in blocks if b.dropped is None]
    tail = kept[-LINK_TAIL_MIN_RUN:]
    if len(tail) < LINK_TAIL_MIN_RUN or any(b.words > LINK_TAIL_MAX_WORDS for b in tail):
        return
    anchors = links()
    run: list[Block] = []
    for block in reversed(kept):
        if block.words > LINK_TAIL_MAX_WORDS or block.normal not in anchors:
            break
        run.append(block)
    if len(run) < LINK_TAIL_MIN_RUN:
        return
    opening = kept[-len(run) - 1] if len(kept) > len(run) else None
    if (
        opening is not None
        and opening.words <= LINK_TAIL_HEADING_WORDS
        and not opening.text.rstrip().endswith((".", "!", "?", "…"))
    ):
        run.append(opening)
    for block in run:
        _drop(block, LINK_TAIL)


def _apply_site(blocks: list[Block], boilerplate: frozenset[str]) -> None:
    if not boilerplate:
        return
    rule = Rule(
        "site-learned", "site", "recurs on several articles of this site", "block", (), 10**6
    )
    for block in blocks:
        if block.words >= MIN_FINGERPRINT_WORDS and block.fingerprint in boilerplate:
            _drop(block, rule)
