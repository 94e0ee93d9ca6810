"""trafilatura's cascade less the readability runs that cannot change its result
(``monitor/cascade.py``): the same text and body as ``trafilatura.bare_extraction`` on real
pages taking every path, readability skipped only where its text could not be taken, and the
bound it is skipped by never below readability's real length."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from copy import copy
from pathlib import Path
from typing import Any

import pytest
import trafilatura
import trafilatura.core
import trafilatura.external
from conftest import SEED_IDS, seed_html
from lxml import etree

from monitor import cascade
from monitor.extract import extract_page, parse_page

FIXTURES = Path(__file__).parent / "fixtures"
PAGES = sorted((FIXTURES / "cascade").glob("*.html.gz")) + sorted(
    (FIXTURES / "golden").glob("*.html.gz")
)
# where readability cannot be taken, by the raw or the trimmed bound (fixtures/cascade/README.md)
SKIPPED = (
    "wcxb-0437.html.gz",
    "wcxb-4500.html.gz",
    "scrapinghub-08f7937627.html.gz",
    "wcxb-0052.html.gz",
    "wcxb-0281.html.gz",
)
URL = "https://news.example/2026/03/02/story"
ARTICLE = (
    "<!DOCTYPE html><html><head><title>Talks resume</title>"
    "<script>var tracking = {" + "'key': 'value', " * 400 + "};</script></head><body>"
    "<nav><a href='/'>Home</a> <a href='/world'>World</a></nav><article><h1>Talks resume</h1>"
    + "".join(
        f"<p>Negotiators met again in Geneva on Monday ({i}), the first round since March. </p>"
        for i in range(30)
    )
    + "</article><footer>Contact us</footer></body></html>"
).encode()


PARAGRAPHS = "".join(
    f"<p>Paragraph {i}: negotiators met again in Geneva on Monday, the first round since March.</p>"
    for i in range(40)
)
# readability's XML read back as HTML adds text here (see readability_bound): not skipped
RAW_TEXT = (
    "<html><body><article>"
    + PARAGRAPHS[:400]
    + "<noembed>"
    + '<img src="https://cdn.example/i.png?w=1&amp;h=2&amp;fit=crop&amp;q=80" alt="">' * 4
    + "</noembed></article></body></html>"
).encode()
FORM_FEEDS = (
    "<html><body><article>" + PARAGRAPHS + "<p>" + "&#12;" * 8000 + "</p></article></body></html>"
).encode()
XMP = (
    "<html><body><article>" + PARAGRAPHS[:400] + "<xmp>" + "&" * 100 + "</xmp></article>"
    "</body></html>"
).encode()
SHORTCUT = pytest.mark.skipif(
    not cascade.checked(), reason="the shortcut is off for this trafilatura or libxml2"
)


def raw(path: Path) -> bytes:
    return gzip.decompress(path.read_bytes())


def plain(page: bytes) -> tuple[str, bytes] | None:
    document = trafilatura.bare_extraction(
        parse_page(page), url=URL, include_comments=False, with_metadata=False
    )
    return None if document is None else (document.text, etree.tostring(document.body))


def ours(page: bytes) -> tuple[str, bytes] | None:
    found = cascade.extract(parse_page(page), URL)
    return None if found is None else (found[0], etree.tostring(found[1]))


def readability_text_length(tree: Any) -> int:
    summary = trafilatura.external.try_readability(copy(tree))
    return len(trafilatura.utils.trim(etree.tostring(summary, method="text", encoding=str)))


@pytest.fixture
def readability_runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts readability's runs (the function stays trafilatura's own)."""
    runs: list[int] = []
    run: Callable[..., Any] = trafilatura.external.try_readability

    def counted(tree: Any) -> Any:
        runs.append(1)
        return run(tree)

    monkeypatch.setattr(trafilatura.external, "try_readability", counted)
    return runs


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_the_text_and_body_are_trafilaturas_on_every_path(path: Path) -> None:
    theirs = plain(raw(path))
    assert theirs is not None or path.name == "wcxb-4681.html.gz"  # too short: no text
    assert ours(raw(path)) == theirs


@pytest.mark.parametrize("seed", SEED_IDS)
def test_seed_pages_come_out_the_same_too(seed: str) -> None:
    assert ours(seed_html(seed)) == plain(seed_html(seed))


@pytest.mark.parametrize(
    "page",
    [
        b"<html><body><p>Too short.</p></body></html>",
        b"<html><body><div><table><tr><td>" + b"Cell text in a table. " * 40 + b"</td></tr>"
        b"</table></div></body></html>",
        b"<html><body></body></html>",
        ARTICLE,
        RAW_TEXT,
        FORM_FEEDS,
        XMP,
    ],
    ids=["short", "table", "empty", "article", "raw-text", "form-feeds", "xmp"],
)
def test_edge_pages_come_out_the_same(page: bytes) -> None:
    assert ours(page) == plain(page)


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_readability_is_skipped_only_where_its_text_could_not_be_taken(
    path: Path, readability_runs: list[int]
) -> None:
    plain(raw(path))
    assert readability_runs, "trafilatura alone runs readability on every page"
    readability_runs.clear()
    ours(raw(path))
    if path.name in SKIPPED and cascade.checked():
        assert not readability_runs
    else:  # run as trafilatura runs it (and taken, on some of these pages)
        assert readability_runs


def test_an_article_page_skips_readability_and_other_callers_do_not(
    readability_runs: list[int],
) -> None:
    checked = cascade.checked()
    ours(ARTICLE)
    assert len(readability_runs) == (0 if checked else 1)
    plain(ARTICLE)  # trafilatura called by anyone else: unchanged
    assert len(readability_runs) == (1 if checked else 2)
    extract_page(ARTICLE, url=URL)  # the pipeline's own entry point takes the shortcut
    assert len(readability_runs) == (1 if checked else 3)


@SHORTCUT
@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_the_bound_is_never_below_readabilitys_length(path: Path) -> None:
    tree = parse_page(raw(path))
    length = readability_text_length(tree)
    assert not cascade.readability_bound(tree, length - 1)


@SHORTCUT
@pytest.mark.parametrize("page", [RAW_TEXT, FORM_FEEDS, XMP], ids=["raw-text", "form-feeds", "xmp"])
def test_no_bound_where_readabilitys_text_comes_back_longer(page: bytes) -> None:
    tree = parse_page(page)
    visible = len(trafilatura.utils.trim(etree.tostring(tree, method="text", encoding=str)))
    assert readability_text_length(tree) > visible  # what the page's own text cannot bound
    assert not cascade.readability_bound(tree, 10 * readability_text_length(tree))


@SHORTCUT
def test_scripts_do_not_count_toward_the_bound_and_video_frames_do() -> None:
    tree = parse_page(ARTICLE)
    script = "".join(tree.xpath("//script/text()"))
    without = copy(tree)
    etree.strip_elements(without, "script", with_tail=False)
    visible = len(trafilatura.utils.trim(etree.tostring(without, method="text", encoding=str)))
    assert len(script) > 2 * visible  # counted, the script alone would break the limit
    assert cascade.readability_bound(tree, visible + 3)  # two words at its ends may stay
    assert not cascade.readability_bound(tree, visible - 1)
    video = b'<iframe src="https://www.youtube.com/embed/x"></iframe></article>'
    with_video = parse_page(ARTICLE.replace(b"</article>", video))
    assert cascade.readability_bound(with_video, visible + 3 + cascade.VIDEO)
    assert not cascade.readability_bound(with_video, visible - 1 + cascade.VIDEO)
    assert not cascade.readability_bound(with_video, readability_text_length(with_video) - 1)


def test_the_options_are_those_bare_extraction_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Any] = []
    stage = trafilatura.core._extract_and_compare

    def recorded(*args: Any) -> Any:
        seen.append(args[-1])
        return stage(*args)

    monkeypatch.setattr(trafilatura.core, "_extract_and_compare", recorded)
    plain(ARTICLE)
    built, mine = seen[0], cascade.options(URL)
    assert type(built) is not type(mine) and isinstance(mine, type(built))
    slots = {slot for kind in type(built).__mro__ for slot in getattr(kind, "__slots__", ())}
    assert "focus" in slots and "min_extracted_size" in slots
    for slot in slots | set(getattr(built, "__dict__", {})):
        assert getattr(mine, slot) == getattr(built, slot), slot


def test_an_unchecked_trafilatura_runs_as_it_is(
    monkeypatch: pytest.MonkeyPatch, readability_runs: list[int]
) -> None:
    original = cascade._original or trafilatura.core._extract_and_compare
    monkeypatch.setattr(cascade, "_original", None)
    monkeypatch.setattr(trafilatura.core, "_extract_and_compare", original)
    monkeypatch.setattr(trafilatura, "__version__", "2.9.0")
    assert cascade.install() is False
    assert trafilatura.core._extract_and_compare is original
    assert ours(ARTICLE) == plain(ARTICLE)
    assert len(readability_runs) == 2  # no shortcut taken
