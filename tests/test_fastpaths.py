"""trafilatura's costliest XPath expressions evaluated in Python (``monitor/fastpaths.py``):
the same elements in the same order as libxml2's evaluation, on every call an extraction
makes and on a page written to trip every rule of XPath and lxml they follow; used only
inside news-monitor's own extraction."""

from __future__ import annotations

import contextlib
import gzip
from pathlib import Path
from typing import Any

import lxml.html
import pytest
import trafilatura
from conftest import SEED_IDS, seed_html
from lxml import etree

from monitor import cascade, fastpaths
from monitor.errors import ExtractError
from monitor.extract import extract_page, parse_page

FIXTURES = Path(__file__).parent / "fixtures"
PAGES = sorted((FIXTURES / "cascade").glob("*.html.gz")) + sorted(
    (FIXTURES / "golden").glob("*.html.gz")
)
URL = "https://news.example/2026/03/02/story"

# Each line trips a rule the stand-ins must follow as XPath and lxml do.
TRICKY = b"""<html><head><title>t</title></head><body>
<div id="x" class="cookie-box">@id|@class reads the first of the two: the id</div>
<div class="cookie-box" id="x">... here the class</div>
<p id="cookie-note">cookie in the id</p>
<span role="Navigation">translate N to n</span>
<section data-lp-replacement-content="">present though empty</section>
<div data-component="MostPopularStoriesList">popular</div>
<item class="share-bar">an item</item><list id="related-links">a list</list>
<div id="Comments">comments</div><div id="commentary">commentary is not comments</div>
<ol id="comol-1"><li>an ol needs its own id test</li></ol>
<ul id="disqus_thread"><li>a ul with only the first test</li></ul>
<ul class="post-comments"><li>a ul with the class test</li></ul>
<details class="comment-box">details</details>
<div class="mvp-post-add-box"><h1>kept out with its h1</h1></div>
<div class="infinite-scroll"><h1>an h1 keeps it</h1></div>
<aside id="infinitescroll">no h1</aside>
<p style="display: none">display none</p><p id="y" style="visibility: hidden">id first</p>
<p style="visibility: hidden" id="z">style first</p>
<p class="reply-to" id="a">class first</p><p id="a" class="reply-to">id first</p>
<span aria-hidden="true">aria</span><div class="comments-title">title</div>
<!-- a comment is no element -->
<div><article class="post">first of its parent</article><article class="entry">second</article>
<div><article class="post">first of another parent</article></div></div>
<main><div itemprop="articleBody">body</div></main>
<section class="FullText">any case</section>
<div id="Main-Content">translated</div><div class="page-Content">translated</div>
<div class="site-footer" id="x">footer in the class</div>
<div id="footer-x" class="y">footer in the id, first</div>
<div class="y" id="footer-x">footer in the id, second</div>
<svg><path class="x"/></svg><template><p>t</p></template>
<div class="CookieBanner">any case</div><div id="cmplz-cookie">vendor</div>
</body></html>"""


def raw(path: Path) -> bytes:
    return gzip.decompress(path.read_bytes())


def extract(page: bytes) -> None:
    # a page too short for any text raises, its calls compared all the same
    with contextlib.suppress(ExtractError):
        extract_page(page, url=URL)


def same(a: list[Any], b: list[Any]) -> bool:
    return len(a) == len(b) and all(x is y for x, y in zip(a, b, strict=True))


@pytest.fixture
def compared(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[int]]:
    """Each stand-in's call also runs its original expression; per expression, how many
    elements each call found, and a failure on the first call where the two differ."""
    found: dict[str, list[int]] = {}
    python_call = fastpaths.PythonPath.__call__

    def both(self: fastpaths.PythonPath, context: Any, **variables: Any) -> Any:
        theirs = self.original(context, **variables)
        mine = python_call(self, context, **variables)
        assert same(mine, theirs), f"{self.path[:80]!r} differs"
        found.setdefault(fastpaths.normalized(self.path), []).append(len(theirs))
        return theirs

    monkeypatch.setattr(fastpaths.PythonPath, "__call__", both)
    return found


def test_every_expression_this_trafilatura_writes_so_is_replaced() -> None:
    replaced = {fastpaths.normalized(s.path) for s in fastpaths.STAND_INS}
    if trafilatura.__version__ in cascade.CHECKED_VERSIONS:
        assert replaced == set(fastpaths.REPLACEMENTS)
    assert replaced <= set(fastpaths.REPLACEMENTS)


def test_a_changed_expression_is_not_replaced() -> None:
    for text in fastpaths.REPLACEMENTS:
        assert fastpaths.replacement(etree.XPath(text, namespaces=NS)) is not None
        spread = etree.XPath(text.replace(" or ", "\n   or  "), namespaces=NS)
        assert fastpaths.replacement(spread) is not None  # spaces between tokens do not count
        changed = etree.XPath(text + "|.//nav", namespaces=NS)
        assert fastpaths.replacement(changed) is None
    # a space inside a pattern counts: " ad " is not "  ad  "
    overall = fastpaths.normalized(fastpaths.OVERALL_DISCARD)
    assert "| ad |" in overall
    padded = etree.XPath(overall.replace("| ad |", "|  ad  |"), namespaces=NS)
    assert fastpaths.replacement(padded) is None


def test_a_stand_in_prints_as_its_expression() -> None:
    for stand_in in fastpaths.STAND_INS:
        assert str(stand_in) == str(stand_in.original) == stand_in.path


NS = {"re": "http://exslt.org/regular-expressions"}


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_every_call_of_an_extraction_finds_the_same_elements(
    path: Path, compared: dict[str, list[int]]
) -> None:
    extract(raw(path))
    assert compared  # the stand-ins were called


@pytest.mark.parametrize("seed", SEED_IDS)
def test_the_seed_pages_too(seed: str, compared: dict[str, list[int]]) -> None:
    extract(seed_html(seed))
    assert compared


def test_each_stand_in_finds_elements_on_the_pages(compared: dict[str, list[int]]) -> None:
    for path in PAGES:
        extract(raw(path))
    for seed in SEED_IDS:
        extract(seed_html(seed))
    # the baseline's expression runs only on pages trafilatura's own extractor fails on
    found = {text for text, counts in compared.items() if any(counts)}
    assert found >= set(fastpaths.REPLACEMENTS) - {fastpaths.normalized(fastpaths.BASIC_CLEAN)}


@pytest.mark.parametrize("keep_comments", [False, True], ids=["pipeline-parser", "comments-kept"])
@pytest.mark.parametrize(
    "stand_in", fastpaths.STAND_INS, ids=lambda s: " ".join(s.path.split())[:40]
)
def test_the_tricky_page(stand_in: fastpaths.PythonPath, keep_comments: bool) -> None:
    if keep_comments:  # lxml's own HTML parser keeps comments and processing instructions
        tree = lxml.html.document_fromstring(TRICKY)
        assert tree.xpath("//comment()")  # (libxml2 2.14 reads "<?pi ...?>" as one too)
    else:
        tree = parse_page(TRICKY)
    with fastpaths.active():
        mine = stand_in(tree)
    theirs = stand_in.original(tree)
    assert theirs, "the page has something for every expression"
    assert same(mine, theirs)
    for element in tree.iter(etree.Element):
        # one element at a time as the context: what its own descendants give
        with fastpaths.active():
            assert same(stand_in(element), stand_in.original(element))


def test_outside_news_monitors_extraction_the_expression_is_libxml2s(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tested: list[Any] = []
    stand_in = fastpaths.STAND_INS[0]
    test = stand_in._test

    def counted(element: Any) -> bool:
        tested.append(element)
        return test(element)

    monkeypatch.setattr(stand_in, "_test", counted)
    tree = parse_page(TRICKY)
    assert same(stand_in(tree), stand_in.original(tree))
    assert not tested
    with fastpaths.active():
        assert same(stand_in(tree), stand_in.original(tree))
    assert tested
    tested.clear()
    trafilatura.extract(TRICKY, include_comments=False)  # anyone else's call of trafilatura
    assert not tested
    with fastpaths.active(), fastpaths.evaluated_by_libxml2():  # the benchmark's baseline
        assert same(stand_in(tree), stand_in.original(tree))
    assert not tested
