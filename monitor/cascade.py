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
(``CHECKED_VERSIONS``, and the libxml2 versions ``CHECKED_LIBXML2``, since readability's
result goes through libxml2's HTML parser); any other version runs trafilatura as it is.
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

# Characters str.split takes for spaces that lxml's XML serializer writes as U+FFFD.
REPLACED = "\x0b\x0c\x1c\x1d\x1e\x1f"
# The libxml2 versions (major, minor) whose HTML parser the bound was checked against: which
# elements it reads as raw text, and how readability's XML comes back through it.
CHECKED_LIBXML2 = frozenset({(2, 14)})

_PARAGRAPH_TEXT = etree.XPath(".//p//text()")
_SCRIPT_TEXT = etree.XPath(".//script/text()|.//style/text()")
_RAW_OR_FRAME = etree.XPath(".//iframe|.//xmp|.//noembed|.//noframes|.//plaintext")


class ExtractOptions(Extractor):
    """trafilatura's options, marking a call whose cascade may skip readability."""

    __slots__ = ()


def options(url: str | None, *, recall: bool = False) -> Extractor:
    """The options ``trafilatura.bare_extraction(tree, url=url, include_comments=False,
    with_metadata=False, favor_recall=recall)`` builds for itself, as ``ExtractOptions``."""
    return ExtractOptions(
        output_format="python",
        comments=False,
        formatting=None,
        url=url,
        with_metadata=False,
        recall=recall,
    )


def extract(tree: Any, url: str | None, *, recall: bool = False) -> tuple[str, Any] | None:
    """The text and body (trafilatura's XML) of ``trafilatura.bare_extraction(tree, url=url,
    include_comments=False, with_metadata=False, favor_recall=recall)``, or None where it
    gives none; worked out on ``tree`` itself, which it prunes as it goes, rather than on a
    copy (the caller has no more use for the tree), and with readability skipped where it
    cannot change the text (never with ``recall``)."""
    opts = options(url, recall=recall)
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
    """Whether readability's trimmed text on ``tree`` is sure to be at most ``limit``
    characters long.

    Its text is a subsequence of the page's text pieces, in page order, scripts and styles
    left out: it has no more non-space characters than those pieces, and no more words
    (a space in it lies between the same two characters in the page's text). Trimmed, its
    length is at most non-space characters plus words. Removing a script's text takes its
    characters away and at least all of its words but the two at its ends (which may be
    glued to the text around it).

    readability writes its result out as XML and trafilatura reads it back as HTML, which
    adds text in two cases, where nothing is sure: in elements the parser reads as raw text
    (``<xmp>``, ``<noembed>``, ``<noframes>``, ``<plaintext>``: their ``&`` and ``<`` come
    back as ``&amp;`` and ``&lt;``), and for the control characters that split as spaces but
    come back as U+FFFD."""
    text = etree.tostring(tree, method="text", encoding=str, with_tail=False)
    if any(character in text for character in REPLACED):
        return False
    elements = _RAW_OR_FRAME(tree)
    frames = sum(1 for element in elements if element.tag == "iframe")
    if frames < len(elements):
        return False  # raw-text elements
    scripts = _SCRIPT_TEXT(tree)
    extra = VIDEO * frames
    if len(text) - sum(map(len, scripts)) + extra <= limit:  # the raw length bounds it too
        return True
    words = text.split()
    length = sum(map(len, words)) + len(words)
    for script in scripts:
        parts = script.split()
        length -= sum(map(len, parts)) + max(0, len(parts) - 2)
    return length + extra <= limit


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


def checked() -> bool:
    """Whether the trafilatura and libxml2 in use are those the shortcut was checked on."""
    return (
        trafilatura.__version__ in CHECKED_VERSIONS
        and tuple(etree.LIBXML_VERSION[:2]) in CHECKED_LIBXML2
    )


def install() -> bool:
    """Put ``_stage_two`` in trafilatura's cascade, once; False when this trafilatura's
    cascade or this libxml2 was not checked (trafilatura then runs unchanged)."""
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
    if not checked() or not isinstance(unclean, str) or not all(hasattr(core, n) for n in needed):
        log.debug(
            "trafilatura %s, libxml2 %s: readability runs on every page",
            trafilatura.__version__,
            etree.LIBXML_VERSION,
        )
        return False
    _unclean = etree.XPath(unclean)
    _original = core._extract_and_compare
    core._extract_and_compare = _stage_two
    return True
