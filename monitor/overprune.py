"""trafilatura's guard against over-pruning, made finer: prose stays, whatever its class says.

Inside the container it takes for the article, trafilatura deletes every element whose class
or id holds one of its furniture words (``OVERALL_DISCARD_XPATH``). It matches them as
substrings, so an article's own container goes too when it is named ``bard`` ("bar"),
``elementor-widget-container`` ("widget"), ``listicle-slides`` ("slide"), ``w-embed``
("embed") or ``hs_cos_wrapper_meta_field`` ("meta"). Its one guard is all or nothing: it
deletes none of them when that would leave less than a seventh of the container's text. A
page whose story sits in two or three such boxes beside a menu and a footer keeps more than
a seventh, so the story goes and what is left - teasers, a call to action, a calculator - is
taken for the article.

Here the elements matched are judged by what they hold: one whose text is mostly paragraphs
and few links is prose. When the prose ones hold more than half of the container's paragraph
text (and more than ``MIN_PROSE`` characters), they are the article and are kept; the others
are deleted as before. Otherwise trafilatura's rule stands unchanged. Measured on the two
public extraction sets (``benchmarks/extraction.py --split``): wcxb f1 +0.009 on the
development half, where the rule was written, and +0.002 on the held-out half; scrapinghub
unchanged.

It applies to news-monitor's own extraction only (inside ``active()``, in the thread running
it) and to the trafilatura versions ``cascade.CHECKED_VERSIONS`` (whose guard this rewrites);
any other call of trafilatura in the process - the benchmarks' bare trafilatura - runs its
own.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import trafilatura
import trafilatura.main_extractor
from trafilatura.xml import delete_element

from .cascade import CHECKED_VERSIONS

log = logging.getLogger(__name__)

PROSE_SHARE = 0.5  # of the container's paragraph text, for its prose elements to be kept
MIN_PROSE = 500  # characters of paragraph text they must hold at least
MAX_LINK_SHARE = 0.3  # of an element's text in links, for it to count as prose

_state = threading.local()
_original: Any = None


@contextmanager
def active() -> Iterator[None]:
    """Apply the finer guard in this thread while the block runs."""
    before = getattr(_state, "on", False)
    _state.on = True
    try:
        yield
    finally:
        _state.on = before


def paragraph_text(element: Any) -> int:
    """Characters of text in the paragraphs under ``element`` (trafilatura's tree: ``p``)."""
    return sum(len(p.text_content()) for p in element.iter("p"))


def prose(element: Any) -> int:
    """The paragraph text of ``element`` if it reads as prose - under ``MAX_LINK_SHARE`` of
    its text in links (``a``, or ``ref`` once trafilatura has converted them) - else 0."""
    text = len(element.text_content())
    if not text:
        return 0
    links = sum(len(link.text_content()) for link in element.iter("a", "ref"))
    return 0 if links > MAX_LINK_SHARE * text else paragraph_text(element)


def prune(tree: Any, expressions: Sequence[Any], with_backup: bool = False) -> Any:
    """``trafilatura.htmlprocessing.prune_unwanted_nodes``, whose backup (guarded) form keeps
    the prose elements that hold most of ``tree``'s paragraph text (module doc)."""
    if not with_backup or not getattr(_state, "on", False):
        return _original(tree, expressions, with_backup=with_backup)
    matches = dict.fromkeys(element for expression in expressions for element in expression(tree))
    outer = [e for e in matches if not any(a in matches for a in e.iterancestors())]
    before = len(tree.text_content())
    if before - sum(len(e.text_content()) for e in outer) <= before / 7:
        return tree  # trafilatura's own guard: it would take nearly everything
    held = {e: prose(e) for e in outer}
    kept = sum(held.values())
    if kept > MIN_PROSE and kept > PROSE_SHARE * paragraph_text(tree):
        outer = [e for e in outer if not held[e]]
    for element in outer:
        delete_element(element)
    return tree


def install() -> bool:
    """Put ``prune`` in trafilatura's main extractor, once; False when this trafilatura's
    guard was not checked (it then runs unchanged)."""
    global _original
    module: Any = trafilatura.main_extractor
    if _original is not None:
        return True
    if trafilatura.__version__ not in CHECKED_VERSIONS or not hasattr(
        module, "prune_unwanted_nodes"
    ):
        log.debug("trafilatura %s: its own over-pruning guard", trafilatura.__version__)
        return False
    _original = module.prune_unwanted_nodes
    module.prune_unwanted_nodes = prune
    return True
