"""The page's link texts: what its ``<a>`` elements say, as block fingerprints.

trafilatura's output keeps no links, yet a list of links is what related-article boxes,
"more from" lists and footers are made of. The cleaner asks whether a block's whole text is
the text of a link somewhere on the original page. The anchors are read from the raw HTML
with one regular expression, and only when the cleaner asks (most pages never need them),
which keeps the cost to a fraction of a millisecond.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from functools import cache

from .clean import fingerprint

_ANCHOR = re.compile(rb"<a\b[^>]*>(.*?)</a\s*>", re.DOTALL | re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")
MIN_WORDS = 2  # a one-word link ("Home", "Next") says nothing about a block


def anchor_prints(raw: bytes) -> frozenset[str]:
    """Fingerprints of the text of every link of two words or more in ``raw``."""
    prints = set()
    for match in _ANCHOR.finditer(raw):
        inner = match.group(1)
        if not inner.strip():
            continue
        text = _TAG.sub(" ", inner.decode("utf-8", "replace"))
        if "&" in text:
            text = html.unescape(text)
        if len(text.split()) >= MIN_WORDS:
            prints.add(fingerprint(text))
    return frozenset(prints)


def lazy_anchor_prints(raw: bytes) -> Callable[[], frozenset[str]]:
    """``anchor_prints(raw)``, computed on the first call only."""
    return cache(lambda: anchor_prints(raw))
