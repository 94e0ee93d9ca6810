"""Two places where trafilatura loses an article's text, and what news-monitor does there.

**Prose pruned for a class name.** Inside the container it takes for the article, trafilatura
deletes every element whose class or id holds one of its furniture words
(``OVERALL_DISCARD_XPATH``). It matches them as substrings, so an article's own container goes
too when it is named ``bard`` ("bar"), ``elementor-widget-container`` ("widget"),
``listicle-slides`` ("slide"), ``w-embed`` ("embed") or ``hs_cos_wrapper_meta_field``
("meta"). Its one guard is all or nothing: it deletes none of them when that would leave less
than a seventh of the container's text. A page whose story sits in two or three such boxes
beside a menu and a footer keeps more than a seventh, so the story goes and what is left -
teasers, a call to action, a calculator - is taken for the article. Here (``prune``) the
elements matched are judged by what they hold: one whose text is mostly paragraphs and few
links is prose. When the prose ones hold more than half of the container's paragraph text
(and more than ``MIN_PROSE`` characters), they are the article and are kept; the others are
deleted as before, and so are the matched elements inside the kept ones that are no prose
themselves (a meta line in the story's box). Otherwise trafilatura's rule stands unchanged.

**Lists the recovery does not look for.** When its main pass finds next to nothing (a page
laid out in ``div``s it does not take for an article), trafilatura recovers the page's loose
paragraphs, quotes, code and tables (``recover_wild_text``). Its recall setting also looks at
divisions and lists, and so finds the bullet points of a how-to or a product review, which
the balanced setting leaves out - but with them menus and footers. Here (``recover``) the
recovery runs both ways and takes the balanced one, plus each list only the wider one found
whose text is not already in it, in its place among the blocks.

Measured on the two public extraction sets (``benchmarks/extraction.py --split``): the prose
rule wcxb f1 +0.006 on the development half, where the rules were written, +0.002 on the
held-out half (scrapinghub +0.0002 on its development half); the lists +0.0065 and +0.0019
(scrapinghub unchanged).

Both apply to news-monitor's own extraction only (inside ``active()``, in the thread running
it) and to the trafilatura versions ``cascade.CHECKED_VERSIONS``, whose functions these wrap;
any other call of trafilatura in the process - the benchmarks' bare trafilatura - runs as it
is.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from copy import copy, deepcopy
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
_prune: Any = None  # trafilatura's own functions, once ``install`` has wrapped them
_recover: Any = None


@contextmanager
def active() -> Iterator[None]:
    """Apply both rules in this thread while the block runs."""
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
        return _prune(tree, expressions, with_backup=with_backup)
    matches = dict.fromkeys(element for expression in expressions for element in expression(tree))
    outer = [e for e in matches if not any(a in matches for a in e.iterancestors())]
    before = len(tree.text_content())
    if before - sum(len(e.text_content()) for e in outer) <= before / 7:
        return tree  # trafilatura's own guard: it would take nearly everything
    held = {e: prose(e) for e in outer}
    kept = sum(held.values())
    if kept > MIN_PROSE and kept > PROSE_SHARE * paragraph_text(tree):
        spared = {e for e in outer if held[e]}
        outer = [e for e in outer if not held[e]] + _furniture_inside(spared, matches)
    for element in outer:
        delete_element(element)
    return tree


def _furniture_inside(spared: set[Any], matches: dict[Any, None]) -> list[Any]:
    """The matched elements inside ``spared`` boxes that are no prose themselves (a meta line,
    a share bar inside the story's box), the outermost of them: they go as before."""
    inside = {
        e
        for e in matches
        if e not in spared and any(a in spared for a in e.iterancestors()) and not prose(e)
    }
    return [e for e in matches if e in inside and not any(a in inside for a in e.iterancestors())]


def block_text(element: Any) -> str:
    return " ".join(element.itertext()).strip()


def recover(
    tree: Any,
    result_body: Any,
    options: Any,
    potential_tags: set[str] | None = None,
    consumed: set[Any] | None = None,
) -> Any:
    """``trafilatura.main_extractor.recover_wild_text`` with the balanced setting, plus the
    lists its recall setting finds that hold new text (module doc)."""
    if options.focus != "balanced" or not getattr(_state, "on", False):
        return _recover(tree, result_body, options, potential_tags, consumed)
    start = len(result_body)
    try:  # the wider reading's copies, made before trafilatura's own reading changes the tree
        wide_tree = deepcopy(tree)
        twins = dict(zip(tree.iter(), wide_tree.iter(), strict=True))
        wide_consumed = {twins[e] for e in consumed if e in twins} if consumed else consumed
        wide_body = deepcopy(result_body)
        wide_options = copy(options)
        wide_options.focus = "recall"
    except Exception as exc:
        return _own_result(exc, _recover(tree, result_body, options, potential_tags, consumed))
    narrow = _recover(tree, result_body, options, potential_tags, consumed)
    try:
        wide = _recover(wide_tree, wide_body, wide_options, potential_tags, wide_consumed)
        return add_lists(narrow, wide, start)
    except Exception as exc:
        return _own_result(exc, narrow)


def _own_result(exc: Exception, narrow: Any) -> Any:
    """The wider reading is extra: where it fails, trafilatura's own result stands."""
    log.warning("recovery of lists failed: %s: %s", type(exc).__name__, exc)
    return narrow


def add_lists(narrow: Any, wide: Any, start: int) -> Any:
    """``narrow`` with each list among ``wide``'s blocks from ``start`` on whose text it does not
    hold yet, placed after the last block the two share before it."""
    texts = [block_text(block) for block in narrow]
    found = "\n".join(texts)
    at = start
    for block in list(wide)[start:]:
        text = block_text(block)
        if text in texts[at:]:
            at = texts.index(text, at) + 1
        elif block.tag == "list" and text and text not in found:
            narrow.insert(at, block)
            texts.insert(at, text)
            at += 1
    return narrow


def install() -> bool:
    """Wrap trafilatura's functions with ``prune`` and ``recover``, once; False when this
    trafilatura was not checked (it then runs unchanged)."""
    global _prune, _recover
    module: Any = trafilatura.main_extractor
    if _prune is not None:
        return True
    needed = ("prune_unwanted_nodes", "recover_wild_text")
    if trafilatura.__version__ not in CHECKED_VERSIONS or not all(
        hasattr(module, name) for name in needed
    ):
        log.debug("trafilatura %s: its own pruning and recovery", trafilatura.__version__)
        return False
    _prune, _recover = module.prune_unwanted_nodes, module.recover_wild_text
    module.prune_unwanted_nodes, module.recover_wild_text = prune, recover
    return True
