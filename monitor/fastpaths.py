"""trafilatura's costliest XPath expressions, evaluated in Python with the same result.

Eight of the expressions trafilatura works with - those that prune a page's tree
(``RAW_TREE_PRUNE_XPATH``, ``REMOVE_COMMENTS_AND_LISTS_XPATH``, ``OVERALL_DISCARD_XPATH``),
find the article's container (``BODY_XPATH``) and clean the page for its baseline
(``BASIC_CLEAN_XPATH``) - test the ``id`` and ``class`` attributes of elements with EXSLT
regular expressions (``re:test``). libxml2 cannot run these itself: for every element of the
tags named, lxml calls back into Python with each argument turned into a list of strings:
close to a third of trafilatura's time on a news page. The same tests written in Python - one
pass over the tree, the attributes read with ``get``, the same patterns searched with the same
``re`` module - return the same elements, in the same (document) order, in about a third of
the time: news-monitor's whole extraction, metadata and cleaning included, went from about as
long as trafilatura's alone to a fifth less (``benchmarks/extraction.py``, with and without
``--plain-xpath``, which runs news-monitor without them; the texts are the same).

The replacements follow XPath 1.0 and lxml to the letter:

- ``.//*`` is the context element's descendant elements (no comments or processing
  instructions), in document order; ``self::a or self::b`` a tag filter;
- an attribute that is absent reads as the empty string (``re:test(@id, ...)`` searches "");
- a union of attributes read as a string (``re:test(@id|@class, ...)``,
  ``starts-with(@id|@class, ...)``) is the value of whichever of them comes first on the
  element (XPath's string value of a node-set: its first node in document order; lxml's
  ``re:test`` takes the same first node);
- ``re:test(s, p)`` is ``re.search(p, s)``, as lxml does it (flag "i": ``re.IGNORECASE``);
  ``translate``, ``contains`` and ``starts-with`` are their str equivalents;
- ``.//*[...][1]`` is the first match among each parent's children, ``(.//*[...])[1]`` the
  first match of all.

An expression is replaced only when its text is the one written out below, but for the
spaces between its tokens (those inside its quoted patterns count): a trafilatura that
changes an expression keeps its own. ``install`` swaps the stand-ins into trafilatura's
lists of expressions (the lists every module of trafilatura shares) and its module-level
expressions, once. A stand-in evaluates in Python only inside ``active()`` (news-monitor's
own extraction, in the thread running it): any other use of trafilatura in the process - the
benchmarks' bare trafilatura runs - gets the original expression, as does a call given
anything but an element, or variables. Tests compare both, element by element, on every call
made while extracting the fixture pages and on a page written to trip each rule above.
"""

from __future__ import annotations

import importlib
import logging
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from lxml import etree

log = logging.getLogger(__name__)

Predicate = Callable[[Any], bool]


def _attribute(element: Any, name: str) -> str:
    value: str | None = element.get(name)
    return "" if value is None else value


def _first_of(element: Any, a: str, b: str) -> str:
    """The string value of ``@a|@b``: the one of the two attributes that comes first on the
    element ("" when it has neither)."""
    first: str | None = element.get(a)
    second: str | None = element.get(b)
    if first is None:
        return "" if second is None else second
    if second is None:
        return first
    for name in element.keys():  # noqa: SIM118 (iterating an element gives its children)
        # both attributes: document order decides
        if name == b:
            return second
        if name == a:
            break
    return first


def _searcher(pattern: str) -> Callable[[str], bool]:
    search = re.compile(pattern).search
    return lambda text: search(text) is not None


_LITERAL = re.compile(r"('[^']*'|\"[^\"]*\")")


def normalized(path: str) -> str:
    """An expression's text with the spaces between its tokens evened out, its quoted
    literals (the patterns, where a space counts) left as they are."""
    return "".join(
        part if i % 2 else " ".join(part.split()) for i, part in enumerate(_LITERAL.split(path))
    )


def _has_descendant(element: Any, tag: str) -> bool:
    return next(element.iterdescendants(tag), None) is not None


# --- the expressions, as trafilatura 2.3 writes them, and their Python equivalents; each
# pattern is written once, for both ---

MVP = "mvp-post-add-(?:box|wrap)"
MVP_OR_SCROLL = f"{MVP}|infinite-?scroll"
_MVP_OR_SCROLL = _searcher(MVP_OR_SCROLL)
_MVP = _searcher(MVP)


def _raw_tree_prune(element: Any) -> bool:
    ident, cls = _attribute(element, "id"), _attribute(element, "class")
    if not (_MVP_OR_SCROLL(ident) or _MVP_OR_SCROLL(cls)):
        return False
    return not _has_descendant(element, "h1") or _MVP(ident) or _MVP(cls)


RAW_TREE_PRUNE = f"""
        .//*[self::div or self::section or self::aside][
        re:test(@id, '{MVP_OR_SCROLL}') or
        re:test(@class, '{MVP_OR_SCROLL}')][
        not(.//h1) or re:test(@id, '{MVP}') or re:test(@class, '{MVP}')]
"""

COMMENT_ID = "^(?:[Cc]omment(?!ary)|comol|disqus_thread|dsq-comments)"
COMMENT_CLASS = "^[Cc]omment(?!ary)|(?:article|post)-comments"
COMMENT_LIST_ID = "^(?:[Cc]omment(?!ary)|comol)"
_COMMENT_ID = _searcher(COMMENT_ID)
_COMMENT_CLASS = _searcher(COMMENT_CLASS)
_COMMENT_LIST_ID = _searcher(COMMENT_LIST_ID)


def _comments_and_lists(element: Any) -> bool:
    ident, cls = _attribute(element, "id"), _attribute(element, "class")
    if not (_COMMENT_ID(ident) or _COMMENT_CLASS(cls)):
        return False
    return element.tag not in ("ol", "ul") or _COMMENT_LIST_ID(ident) or _COMMENT_CLASS(cls)


REMOVE_COMMENTS_AND_LISTS = f"""
        .//*[self::div or self::list or self::section or self::details or self::ol or self::ul][
        re:test(@id, '{COMMENT_ID}') or
        re:test(@class, '{COMMENT_CLASS}')][
        not(self::ol or self::ul) or re:test(@id, '{COMMENT_LIST_ID}') or
        re:test(@class, '{COMMENT_CLASS}')]
"""

DISCARD_ID = (
    "^shar|social|viral|newsletter|syndication|tags|sidebar|banner|bread-?crumb|button|author|"
    "^(?:jp-|dpsp-content)|bmdh|footer|Footer|share|Share|nav|Nav|menu|related|"
    "message-container|premium|^ad-"
)
DISCARD_CLASS = (
    "^shar|social|viral|newsletter|syndication|tags|sidebar|banner|bread-?crumb|button|author|"
    "^(?:nav|post-nav|ZendeskForm)|subnav|avigation|navbar|navbox|menu|bar| ad |-ad-|(?:^| )ad-|"
    "dfp[Aa]d|outbrain|taboola|criteo|paid-?content|widget|footer|Footer|byline|Byline|share-|"
    "sociable|embedded|embed|tag-list|consent|modal-content|permission|elated|next-|-stories|"
    "most-popular|more-on|meta|rating|attachment|timestamp|user-info|user-profile|-icon|"
    "article-infos|message-container|slide|viewport|overlay|options|expand|obfuscated|blurred|"
    "mol-factbox|yin|zlylin|nfoline"
)
_COOKIE = _searcher("cookie")
_DISCARD_ID = _searcher(DISCARD_ID)
_DISCARD_CLASS = _searcher(DISCARD_CLASS)


def _overall_discard(element: Any) -> bool:
    return (
        element.get("data-lp-replacement-content") is not None
        or "nav" in _attribute(element, "role").replace("N", "n")
        or "MostPopularStories" in _attribute(element, "data-component")
        or _COOKIE(_first_of(element, "id", "class"))
        or _DISCARD_ID(_attribute(element, "id"))
        or _DISCARD_CLASS(_attribute(element, "class"))
    )


OVERALL_DISCARD = f"""
        .//*[self::div or self::item or self::list or self::p or self::section or self::span][
        @data-lp-replacement-content or
        contains(translate(@role, 'N', 'n'), 'nav') or
        contains(@data-component, 'MostPopularStories') or
        re:test(@id|@class, 'cookie') or
        re:test(@id, '{DISCARD_ID}') or
        re:test(@class, '{DISCARD_CLASS}')]
"""

READER_COMMENTS = "reader-comments|akismet"
HIDDEN_CLASS = (
    "^hide-|comments-title|nocomments|-reply-|message|akismet|suggest-links|-hide-|hide-print|"
    " hidden| hide|noprint|notloaded"
)
_HIDDEN = _searcher("hidden")
_READER_COMMENTS = _searcher(READER_COMMENTS)
_HIDDEN_CLASS = _searcher(HIDDEN_CLASS)


def _hidden_or_replies(element: Any) -> bool:
    style = _attribute(element, "style")
    return (
        element.get("class") == "comments-title"
        or _first_of(element, "id", "class").startswith("reply-")
        or _HIDDEN(_first_of(element, "id", "style"))
        or "display:none" in style
        or "display: none" in style
        or _READER_COMMENTS(_attribute(element, "id"))
        or _HIDDEN_CLASS(_attribute(element, "class"))
        or element.get("aria-hidden") == "true"
    )


HIDDEN_OR_REPLIES = f"""
        .//*[@class='comments-title' or
        starts-with(@id|@class, 'reply-') or
        re:test(@id|@style, 'hidden') or
        contains(@style, 'display:none') or contains(@style, 'display: none') or
        re:test(@id, '{READER_COMMENTS}') or
        re:test(@class, '{HIDDEN_CLASS}') or @aria-hidden='true']
"""

ARTICLE_ID = (
    "(?:entry|article|art)-content|article__content|article(?:-|__)?body|articleBody|body-text"
)
ARTICLE_CLASS = (
    "post[-_]text|post-body|post-?entry|post[-_]?content|postContent|post_inner_wrapper|"
    "article-?text|articleText|(?:entry|page|text|article|art)-content|article__content|"
    "article(?:-|__)?body|articleBody|ArticleContent|body-text|article__container"
)
_ARTICLE_ID = _searcher(ARTICLE_ID)
_ARTICLE_CLASS = _searcher(ARTICLE_CLASS)


def _article_body(element: Any) -> bool:
    cls, ident = _attribute(element, "class"), _attribute(element, "id")
    return (
        element.get("class") in ("post", "entry")
        or element.get("itemprop") == "articleBody"
        or ident == "articleContent"
        or _ARTICLE_ID(ident)
        or _ARTICLE_CLASS(cls)
    )


ARTICLE_BODY = f"""
        .//*[self::article or self::div or self::main or self::section][
        @class='post' or @class='entry' or
        @itemprop='articleBody' or @id='articleContent' or
        re:test(@id, '{ARTICLE_ID}') or
        re:test(@class, '{ARTICLE_CLASS}')
        ][1]
"""

STORY_ID = "^primary|story-body"
STORY_CLASS = (
    "^article |post-bodycopy|story-?content|(?:theme|blog|section|single)-content|single-post|"
    "main-column|wpb_text_column|story-body|field-body"
)
_STORY_ID = _searcher(STORY_ID)
_FULLTEXT = re.compile("fulltext", re.IGNORECASE).search  # re:test's flag "i"
_STORY_CLASS = _searcher(STORY_CLASS)


def _story_body(element: Any) -> bool:
    cls, ident = _attribute(element, "class"), _attribute(element, "id")
    return (
        element.get("role") == "article"
        or element.get("id") in ("article", "story")
        or element.get("class") in ("postarea", "art-postcontent", "text", "cell", "story")
        or _STORY_ID(ident)
        or _FULLTEXT(cls) is not None
        or _STORY_CLASS(cls)
    )


STORY_BODY = f"""
        (.//*[self::article or self::div or self::main or self::section][
        @role='article' or
        @id='article' or @id='story' or
        @class='postarea' or @class='art-postcontent' or @class='text' or @class='cell' or
        @class='story' or
        re:test(@id, '{STORY_ID}') or
        re:test(@class, 'fulltext', 'i') or
        re:test(@class, '{STORY_CLASS}')
        ])[1]
"""

CONTENT_ID = "content-main|content-body|contentBody"
CONTENT_CLASS = "content[-_]main|content(?:-|__)body"
_CONTENT_ID = _searcher(CONTENT_ID)
_CONTENT_CLASS = _searcher(CONTENT_CLASS)
_LOWER_CM = str.maketrans("CM", "cm")
_LOWER_CP = str.maketrans("CP", "cp")


def _content_body(element: Any) -> bool:
    cls, ident = _attribute(element, "class"), _attribute(element, "id")
    return (
        element.get("id") == "content"
        or element.get("class") == "content"
        or _CONTENT_ID(ident)
        or _CONTENT_CLASS(cls)
        or "main-content" in ident.translate(_LOWER_CM)
        or "main-content" in cls.translate(_LOWER_CM)
        or "page-content" in cls.translate(_LOWER_CP)
    )


CONTENT_BODY = f"""
        (.//*[self::article or self::div or self::main or self::section][
        @id='content' or @class='content' or
        re:test(@id, '{CONTENT_ID}') or
        re:test(@class, '{CONTENT_CLASS}') or
        contains(translate(@id, 'CM','cm'), 'main-content') or
        contains(translate(@class, 'CM','cm'), 'main-content') or
        contains(translate(@class, 'CP','cp'), 'page-content')
        ])[1]
"""

CONSENT = (
    "cookie[-_]?(?:banner|bar|consent|law|notice|policy|description)|notice[-_]{0,2}cookie"
    "|consent[-_]?(?:banner|manager|sdk)|borlabs|cookiebot|cmplz|onetrust|moove[-_]?gdpr"
)
_CONSENT = re.compile(CONSENT, re.IGNORECASE).search
_ALWAYS_CLEANED = frozenset(
    {"aside", "fencedframe", "footer", "script", "style", "svg", "template"}
)


def _basic_clean(element: Any) -> bool:
    tag = element.tag
    return (
        tag in _ALWAYS_CLEANED
        or (tag == "div" and "footer" in _first_of(element, "class", "id"))
        or _CONSENT(_attribute(element, "class")) is not None
        or _CONSENT(_attribute(element, "id")) is not None
    )


BASIC_CLEAN = (
    ".//aside|.//div[contains(@class|@id, 'footer')]|.//fencedframe|.//footer|.//script|"
    ".//style|.//svg|.//template|"
    f".//*[re:test(@class, '{CONSENT}', 'i') or re:test(@id, '{CONSENT}', 'i')]"
)

EVERY = "every"  # all the elements that pass, in document order
FIRST_OF_EACH_PARENT = "first of each parent"  # ``.//*[...][1]``: no earlier sibling passed
FIRST = "first"  # ``(.//*[...])[1]``: the first in document order, if any

_BODY_TAGS = ("article", "div", "main", "section")

# Expression text (``normalized``) -> the tags its ``.//*`` step keeps (none: every element),
# the test of one element, and which of the elements that pass it returns.
REPLACEMENTS: dict[str, tuple[tuple[str, ...], Predicate, str]] = {
    normalized(RAW_TREE_PRUNE): (("div", "section", "aside"), _raw_tree_prune, EVERY),
    normalized(REMOVE_COMMENTS_AND_LISTS): (
        ("div", "list", "section", "details", "ol", "ul"),
        _comments_and_lists,
        EVERY,
    ),
    normalized(OVERALL_DISCARD): (
        ("div", "item", "list", "p", "section", "span"),
        _overall_discard,
        EVERY,
    ),
    normalized(HIDDEN_OR_REPLIES): ((), _hidden_or_replies, EVERY),
    normalized(ARTICLE_BODY): (_BODY_TAGS, _article_body, FIRST_OF_EACH_PARENT),
    normalized(STORY_BODY): (_BODY_TAGS, _story_body, FIRST),
    normalized(CONTENT_BODY): (_BODY_TAGS, _content_body, FIRST),
    normalized(BASIC_CLEAN): ((), _basic_clean, EVERY),
}


# trafilatura's modules holding the expressions (as lists or module attributes).
_MODULES = (
    "trafilatura.xpaths",
    "trafilatura.settings",
    "trafilatura.baseline",
    "trafilatura.core",
    "trafilatura.main_extractor",
    "trafilatura.external",
    "trafilatura.htmlprocessing",
)

_state = threading.local()


@contextmanager
def _raised(flag: str) -> Iterator[None]:
    """The thread's ``flag`` set while the block runs (and as it was after)."""
    before = getattr(_state, flag, False)
    setattr(_state, flag, True)
    try:
        yield
    finally:
        setattr(_state, flag, before)


def active() -> AbstractContextManager[None]:
    """Evaluate the stand-ins in Python in this thread while the block runs."""
    return _raised("on")


def evaluated_by_libxml2() -> AbstractContextManager[None]:
    """Every stand-in calls its original expression in this thread while the block runs,
    even inside ``active()`` (to measure what the stand-ins save)."""
    return _raised("off")


class PythonPath:
    """An XPath expression's stand-in: called on an element, the descendants of the given
    tags (or all descendant elements) that pass ``test``, in document order."""

    def __init__(self, original: Any, tags: tuple[str, ...], test: Predicate, pick: str) -> None:
        self.original = original
        self.path = original.path
        self._tags: tuple[Any, ...] = tags or (etree.Element,)
        self._test = test
        self._pick = pick

    def __str__(self) -> str:  # as an XPath prints (trafilatura logs the expression it used)
        return str(self.path)

    __repr__ = __str__

    def __call__(self, context: Any, **variables: Any) -> Any:
        if (
            variables
            or not getattr(_state, "on", False)
            or getattr(_state, "off", False)
            or not isinstance(context, etree._Element)
        ):
            return self.original(context, **variables)
        test = self._test
        passed = (e for e in context.iterdescendants(*self._tags) if test(e))
        if self._pick == FIRST:
            return [first] if (first := next(passed, None)) is not None else []
        if self._pick == FIRST_OF_EACH_PARENT:
            parents: set[Any] = set()
            kept = []
            for element in passed:
                parent = element.getparent()  # never None: a descendant of the context
                if parent not in parents:
                    parents.add(parent)
                    kept.append(element)
            return kept
        return list(passed)


def replacement(expression: Any) -> PythonPath | None:
    """The Python stand-in for a compiled trafilatura expression, if it is one written out
    here."""
    path = getattr(expression, "path", None)
    if not isinstance(expression, etree.XPath) or not isinstance(path, str):
        return None
    found = REPLACEMENTS.get(normalized(path))
    return PythonPath(expression, *found) if found else None


_installed = False
STAND_INS: list[PythonPath] = []  # those ``install`` put in place


def install() -> int:
    """Swap the stand-ins into trafilatura, once: into its lists of expressions (shared by
    all its modules) and for each module-level expression, in every module that imported it;
    return how many expressions were replaced (fewer than ``REPLACEMENTS`` when this
    trafilatura writes some otherwise: those stay as they are)."""
    global _installed
    if _installed:
        return 0
    made: dict[int, PythonPath | None] = {}

    def stand_in(expression: Any) -> PythonPath | None:
        if id(expression) not in made:
            made[id(expression)] = replacement(expression)
        return made[id(expression)]

    for name in _MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        for attribute, value in list(vars(module).items()):
            if isinstance(value, list):
                for i, expression in enumerate(value):
                    found = stand_in(expression) if isinstance(expression, etree.XPath) else None
                    if found is not None:
                        value[i] = found
            elif isinstance(value, etree.XPath) and (found := stand_in(value)) is not None:
                setattr(module, attribute, found)
    STAND_INS.extend(found for found in made.values() if found is not None)
    _installed = True
    replaced = len(STAND_INS)
    if replaced < len(REPLACEMENTS):
        log.debug(
            "%d of trafilatura's expressions run in Python, of %d", replaced, len(REPLACEMENTS)
        )
    return replaced
