"""trafilatura's extraction, less one step that cannot change its result.

After its own extractor, trafilatura (outside fast mode) runs readability-lxml on a copy of
the whole page (stage 2 of its cascade, ``compare_extraction``), about a fifth of its time on
a news page. With the balanced focus it takes readability's text instead of its own only when
its own is empty, when readability's is more than twice as long, or when its own has no
paragraph text or more tables than paragraphs and readability's is longer than twice the
minimum extraction size; it tries justext when its own text is shorter than that minimum or
holds elements it counts as unclean.

Readability's text is part of the page's text, in page order, less scripts and styles (it
drops them first), plus "VIDEO" for each video frame it keeps; ``readability_bound`` counts an
upper bound of its length after trimming, as trafilatura measures it. When that bound is at
most twice the length of trafilatura's own text (or, for text with no paragraphs, twice the
minimum), and justext would not be tried, readability cannot be chosen and is not run: the
result is the same, on the same tree, for less time (13% of trafilatura's time over the two
public benchmark sets, where three pages in four qualify). A test checks that the text is
the same with and without the shortcut, page by page.

The step is trafilatura's internal ``_extract_and_compare``; it is replaced by ``_stage_two``,
which differs only for calls made with ``ExtractOptions`` (``options()``): any other use of
trafilatura in the process runs as before. ``extract`` also spares trafilatura the copy it
makes of a tree it is given (6% of a worker's time), running ``bare_extraction``'s steps on
the tree itself. Only the versions whose cascade this was checked against get either saving
(``CHECKED_VERSIONS``); any other version runs trafilatura as it is.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from copy import copy
from typing import Any

import trafilatura
import trafilatura.core
import trafilatura.external
from lxml import etree
from trafilatura.settings import Extractor

log = logging.getLogger(__name__)

CHECKED_VERSIONS = frozenset({"2.3.1"})
VIDEO = len("VIDEO") + 1  # the text readability gives a video frame it keeps, and a space

_PARAGRAPH_TEXT = etree.XPath(".//p//text()")
_SCRIPT_TEXT = etree.XPath("//script/text()|//style/text()")
_FRAMES = etree.XPath("count(//iframe)")


class ExtractOptions(Extractor):
    """trafilatura's options, marking a call whose cascade may skip readability."""

    __slots__ = ()


def options(url: str | None) -> Extractor:
    """The options ``trafilatura.bare_extraction(tree, url=url, include_comments=False,
    with_metadata=False)`` builds for itself, as ``ExtractOptions``."""
    return ExtractOptions(
        output_format="python",
        comments=False,
        formatting=None,
        url=url,
        with_metadata=False,
    )


def extract(tree: Any, url: str | None) -> tuple[str, Any] | None:
    """The text and body (trafilatura's XML) of ``trafilatura.bare_extraction(tree, url=url,
    include_comments=False, with_metadata=False)``, or None where it gives none; worked out
    on ``tree`` itself, which it prunes as it goes, rather than on a copy (the caller has no
    more use for the tree), and with readability skipped where it cannot change the text."""
    opts = options(url)
    if _original is None:  # this trafilatura's cascade was not checked: call it as it is
        document = trafilatura.bare_extraction(tree, options=opts)
        found = getattr(document, "body", None)
        return None if found is None else (getattr(document, "text", None) or "", found)
    core: Any = trafilatura.core
    try:  # bare_extraction's steps for these options, less the copy
        body, text, _, comments = core.trafilatura_sequence(tree, opts, url)
        if opts.max_tree_size and len(body) > opts.max_tree_size:
            etree.strip_tags(body, "hi")
            if len(body) > opts.max_tree_size:
                return None
        if len(text) < opts.min_output_size and len(comments) < opts.min_output_comm_size:
            return None
    except (TypeError, ValueError):
        return None
    return core.xmltotxt(body, opts.formatting) or "", body


def readability_bound(tree: etree._Element, limit: int) -> bool:
    """Whether readability's trimmed text on ``tree`` is at most ``limit`` characters long.

    Its text is a subsequence of the page's text pieces, in page order, scripts and styles
    left out: it has no more non-space characters than those pieces, and no more words
    (a space in it lies between the same two characters in the page's text). Trimmed, its
    length is at most non-space characters plus words. Removing a script's text takes its
    characters away and at least all of its words but the two at its ends (which may be
    glued to the text around it)."""
    text = etree.tostring(tree, method="text", encoding=str, with_tail=False)
    scripts = _SCRIPT_TEXT(tree)
    frames = VIDEO * int(_FRAMES(tree))
    if len(text) - sum(map(len, scripts)) + frames <= limit:  # the raw length bounds it too
        return True
    words = text.split()
    length = sum(map(len, words)) + len(words)
    for script in scripts:
        parts = script.split()
        length -= sum(map(len, parts)) + max(0, len(parts) - 2)
    return length + frames <= limit


Stage = Callable[..., tuple[Any, str]]
_original: Stage | None = None
_unclean: etree.XPath | None = None  # what makes trafilatura try justext on its own text


def _stage_two(
    cleaned_tree: Any, cleaned_backup: Any, tree: Any, opts: Extractor
) -> tuple[Any, str]:
    """trafilatura's stages 1-2 (own extractor, then the comparison with readability and
    justext), skipping the comparison when it cannot change the result (module doc)."""
    assert _original is not None
    if not isinstance(opts, ExtractOptions) or opts.fast or opts.focus == "recall":
        return _original(cleaned_tree, cleaned_backup, tree, opts)
    core: Any = trafilatura.core
    body, text = core.extract_content(cleaned_tree, opts)
    if _readability_cannot_win(body, text, tree, opts):
        return body, text
    return core.compare_extraction(cleaned_backup, copy(tree), body, text, opts)  # type: ignore[no-any-return]


def _readability_cannot_win(body: Any, text: str, tree: Any, opts: Extractor) -> bool:
    minimum = opts.min_extracted_size
    if len(text) < minimum or _unclean is None or _unclean(body):
        return False  # justext would be tried
    with_paragraphs = bool(_PARAGRAPH_TEXT(body)) and len(body.findall(".//table")) <= len(
        body.findall(".//p")
    )
    limit = 2 * len(text) if with_paragraphs else min(2 * len(text), 2 * minimum)
    return readability_bound(tree, limit)


def install() -> bool:
    """Put ``_stage_two`` in trafilatura's cascade, once; False when this trafilatura's
    cascade was not checked (it then runs unchanged)."""
    global _original, _unclean
    core: Any = trafilatura.core
    if _original is not None:
        return True
    unclean = getattr(trafilatura.external, "SANITIZED_XPATH", None)
    needed = (
        "_extract_and_compare",
        "compare_extraction",
        "extract_content",
        "trafilatura_sequence",
        "xmltotxt",
    )
    if (
        trafilatura.__version__ not in CHECKED_VERSIONS
        or not isinstance(unclean, str)
        or not all(hasattr(core, name) for name in needed)
    ):
        log.debug("trafilatura %s: readability runs on every page", trafilatura.__version__)
        return False
    _unclean = etree.XPath(unclean)
    _original = core._extract_and_compare
    core._extract_and_compare = _stage_two
    return True
