"""The page's link texts: what its ``<a>`` elements say, as normalised block texts.

trafilatura's output keeps no links, yet a list of links is what related-article boxes,
"more from" lists and footers are made of. The cleaner asks whether a block's whole text is
the text of a link somewhere on the original page. The anchors are read from the raw HTML by
a plain byte scan (a regular expression or a parsed tree costs several times more), and only
when the cleaner asks (most pages never need them).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from functools import cache

from .furniture import normal

_TAG = re.compile(r"<[^>]+>")
_AFTER_NAME = (b" ", b">", b"\n", b"\t", b"\r")  # "<a" opens an anchor, "<abbr" does not
MIN_WORDS = 2  # a one-word link ("Home", "Next") says nothing about a block


def anchor_texts(raw: bytes) -> frozenset[str]:
    """The normalised text (see ``clean.normal``) of every link of two words or more in
    ``raw``. Lower-case ``<a>`` tags only: upper-case markup is rare enough to miss."""
    texts = set()
    find = raw.find
    at = 0
    while (at := find(b"<a", at)) >= 0:
        if raw[at + 2 : at + 3] not in _AFTER_NAME:
            at += 2
            continue
        start = find(b">", at)
        end = find(b"</a>", start)
        if start < 0 or end < 0:
            break
        inner, at = raw[start + 1 : end], end + 4
        if b" " not in inner.strip():
            continue  # one word at most
        text = inner.decode("utf-8", "replace")
        if "<" in text:
            text = _TAG.sub(" ", text)
        if "&" in text:
            text = html.unescape(text)
        words = normal(text)
        if words.count(" ") >= MIN_WORDS - 1:
            texts.add(words)
    return frozenset(texts)


def lazy_anchor_texts(raw: bytes) -> Callable[[], frozenset[str]]:
    """``anchor_texts(raw)``, computed on the first call only."""
    return cache(lambda: anchor_texts(raw))
