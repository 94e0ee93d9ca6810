"""Page metadata read from what a page declares (meta tags, JSON-LD, microdata, <time>,
bylines, <title>), and the extraction's own parser giving trafilatura the same tree."""

from __future__ import annotations

import gzip
import json
from datetime import date
from pathlib import Path

import pytest
import trafilatura
from conftest import SEED_IDS, seed_html

from monitor.extract import extract_page, parse_page
from monitor.metadata import read_metadata

GOLDEN = Path(__file__).parent / "fixtures" / "golden"
BODY = (
    "<article><p>" + "Talks resumed in Abu Dhabi on Tuesday after a pause. " * 12 + "</p></article>"
)


def page(head: str, body: str = BODY, html_attrs: str = "") -> bytes:
    return (
        f"<!DOCTYPE html><html{html_attrs}><head>{head}</head><body>{body}</body></html>".encode()
    )


def meta_of(head: str, body: str = BODY, *, url: str | None = None, html_attrs: str = ""):  # type: ignore[no-untyped-def]
    tree = parse_page(page(head, body, html_attrs))
    assert tree is not None
    return read_metadata(tree, url)


def test_open_graph_and_article_tags_are_read() -> None:
    found = meta_of(
        '<meta property="og:title" content="Baku and Moscow trade protests">'
        '<meta name="author" content="By Jane Roe">'
        '<meta property="article:published_time" content="2025-07-02T08:15:00+04:00">'
        '<meta property="og:site_name" content="Caucasus Desk">',
        html_attrs=' lang="en-GB"',
    )
    assert found.title == "Baku and Moscow trade protests"
    assert found.author == "Jane Roe"  # "By" dropped
    assert found.published == "2025-07-02"
    assert found.site == "Caucasus Desk"
    assert found.language == "en-gb"


def test_the_description_prefers_open_graph_and_is_whitespace_folded() -> None:
    found = meta_of(
        '<meta name="description" content="Site-wide blurb">'
        '<meta property="og:description" content="  Baku and Moscow\n trade protests ">'
    )
    assert found.description == "Baku and Moscow trade protests"
    assert meta_of('<meta name="description" content="Only this">').description == "Only this"
    assert meta_of("").description is None


def test_json_ld_graph_fills_what_the_meta_tags_lack() -> None:
    ld = {
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "WebSite", "name": "Not the article"},
            {
                "@type": ["NewsArticle"],
                "headline": "Corridor deal signed",
                "author": [{"@type": "Person", "name": "A. Aliyeva"}, {"name": "B. Petrov"}],
                "datePublished": "2025-06-30",
                "publisher": {"@type": "Organization", "name": "Region Wire"},
                "inLanguage": "ru",
                "description": "The corridor opens next year.",
            },
        ],
    }
    found = meta_of(f'<script type="application/ld+json">{json.dumps(ld)}</script>')
    assert found.title == "Corridor deal signed"
    assert found.author == "A. Aliyeva, B. Petrov"
    assert found.published == "2025-06-30"
    assert found.site == "Region Wire"
    assert found.language == "ru"
    assert found.description == "The corridor opens next year."


def test_broken_json_ld_and_non_name_authors_are_ignored() -> None:
    found = meta_of(
        '<script type="application/ld+json">{"@type": "NewsArticle", "headline": </script>'
        '<meta property="article:author" content="https://example.org/staff/jane">'
        "<title>Ceasefire holds | Example News</title>"
        '<meta property="og:site_name" content="Example News">',
        body="<h1>One</h1><h1>Two</h1>" + BODY,
    )
    assert found.author is None  # a profile URL is not a name
    assert found.title == "Ceasefire holds"  # the site name after the separator goes


def test_title_keeps_separators_that_are_part_of_the_headline() -> None:
    found = meta_of(
        '<meta property="og:title" content="Armenia - Azerbaijan: the border talks">',
        url="https://news.example.org/a",
    )
    assert found.title == "Armenia - Azerbaijan: the border talks"
    suffixed = '<meta property="og:title" content="Border talks resume | Example">'
    assert meta_of(suffixed).title == "Border talks resume | Example"  # no site known: kept
    with_url = meta_of(suffixed, url="https://www.example.org/2025/07/02/talks")
    assert with_url.title == "Border talks resume"  # the domain names the site
    assert with_url.published == "2025-07-02"  # from the URL's date path


def test_time_element_microdata_and_byline() -> None:
    found = meta_of(
        "",
        body='<span class="byline">By Anna Petrosyan</span><time datetime="2025-05-01T10:00Z">May 1</time>'
        + BODY,
    )
    assert found.author == "Anna Petrosyan"
    assert found.published == "2025-05-01"
    micro = meta_of(
        "",
        body='<div itemprop="author">Lev Ivanov</div><meta itemprop="datePublished" content="2024-12-31">'
        + BODY,
    )
    assert micro.author == "Lev Ivanov" and micro.published == "2024-12-31"


def test_impossible_dates_are_not_kept() -> None:
    found = meta_of('<meta name="date" content="2025-02-30">', url="https://x.example/a")
    assert found.published != "2025-02-30"
    if found.published is not None:  # htmldate's own reading of the page, when it has one
        date.fromisoformat(found.published)


@pytest.mark.parametrize("name", sorted(p.name for p in GOLDEN.glob("*.html.gz")))
def test_own_parser_gives_trafilatura_the_same_text_as_its_own_parse(name: str) -> None:
    raw = gzip.decompress((GOLDEN / name).read_bytes())
    theirs = trafilatura.bare_extraction(raw, include_comments=False, with_metadata=False)
    tree = parse_page(raw)
    assert tree is not None
    ours = trafilatura.bare_extraction(tree, include_comments=False, with_metadata=False)
    assert theirs is not None and ours is not None
    assert ours.text == theirs.text


@pytest.mark.parametrize("seed", SEED_IDS)
def test_seed_pages_parse_the_same_way_too(seed: str) -> None:
    raw = seed_html(seed)
    theirs = trafilatura.bare_extraction(raw, include_comments=False, with_metadata=False)
    ours = trafilatura.bare_extraction(parse_page(raw), include_comments=False, with_metadata=False)
    assert theirs is not None and ours is not None and ours.text == theirs.text
    assert extract_page(raw).title  # and the page's metadata gives a headline


def test_what_is_not_html_is_refused() -> None:
    assert parse_page(b"just some words, no markup at all") is None


def test_a_rejected_candidate_gives_way_to_the_next_one() -> None:
    ld = {"@type": "NewsArticle", "author": {"@type": "Person", "name": "Lev Ivanov"}}
    found = meta_of(
        '<meta property="article:author" content="https://www.facebook.com/example">'
        f'<script type="application/ld+json">{json.dumps(ld)}</script>'
        '<meta property="article:published_time" content="Tue, 1 Jul 2025 10:00:00 GMT">'
        '<meta itemprop="datePublished" content="2025-07-01">',
        html_attrs=' lang="zh-Hant-TW"',
    )
    assert found.author == "Lev Ivanov"  # the profile URL is skipped, not the field
    assert found.published == "2025-07-01"
    assert found.language == "zh-hant"


def test_article_outranks_web_page_and_modified_is_not_published() -> None:
    ld = [
        {"@type": "WebPage", "name": "Section front", "datePublished": "2020-01-01"},
        {"@type": "NewsArticle", "headline": "Border reopens", "datePublished": "2025-03-04"},
    ]
    found = meta_of(
        f'<script type="application/ld+json">{json.dumps(ld)}</script>'
        '<meta property="article:modified_time" content="2025-09-09T00:00:00Z">'
    )
    assert found.title == "Border reopens"
    assert found.published == "2025-03-04"


def test_a_title_tag_keeps_a_dash_inside_the_headline() -> None:
    found = meta_of(
        "<title>Russia - Azerbaijan talks collapse | Example</title>"
        '<meta property="og:site_name" content="Example">',
        body="<h1>A</h1><h1>B</h1>" + BODY,
    )
    assert found.title == "Russia - Azerbaijan talks collapse"


@pytest.mark.parametrize(
    "script",
    [
        "[" * 5000 + "]" * 5000,  # nesting past the recursion limit
        json.dumps([1] * 60_000),  # a long flat list
        json.dumps({"@type": "NewsArticle", "author": [[[["deep"]]]]}),
        '{"@type": "NewsArticle", "headline": ["not", "a", "string"], "datePublished": 7}',
    ],
    ids=["deep", "long", "nested-author", "wrong-types"],
)
def test_hostile_json_ld_leaves_the_rest_of_the_page_alone(script: str) -> None:
    html = page(
        '<meta property="og:title" content="Corridor talks resume">'
        + f'<script type="application/ld+json">{script}</script>'
    )
    found = read_metadata(parse_page(html))  # type: ignore[arg-type]
    assert found.title == "Corridor talks resume"
    result = extract_page(html)
    assert "Talks resumed in Abu Dhabi" in result.text and result.title == "Corridor talks resume"


def test_a_date_in_the_text_only_is_looked_for_when_asked() -> None:
    body = '<article><p class="date">Published 14 March 2024</p>' + BODY + "</article>"
    tree = parse_page(page("<title>Talks resume</title>", body))
    assert tree is not None
    assert read_metadata(tree).published == "2024-03-14"
    assert read_metadata(tree, date_from_text=False).published is None
    assert extract_page(page("<title>Talks resume</title>", body)).published == "2024-03-14"
    skipped = extract_page(page("<title>Talks resume</title>", body), date_from_text=False)
    assert skipped.published is None and "Talks resumed in Abu Dhabi" in skipped.text


def test_metadata_of_a_subtree_is_read_from_its_whole_page() -> None:
    html = page(
        '<meta name="author" content="Nino Gelashvili"><title>Talks resume</title>',
        '<div><time datetime="2024-03-14T09:00:00Z">Thursday</time></div>' + BODY,
    )
    tree = parse_page(html)
    assert tree is not None
    found = read_metadata(tree.find("body"))  # type: ignore[arg-type]
    assert (found.author, found.published) == ("Nino Gelashvili", "2024-03-14")
