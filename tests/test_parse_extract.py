"""Feed parsing on bytes and page extraction."""

from __future__ import annotations

import pytest
from conftest import SEED_IDS, seed_body, seed_html

from monitor.errors import ExtractError, FeedParseError
from monitor.extract import extract_page, html_to_text, parse_page
from monitor.parse import parse_feed

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Caucasus Desk</title>
  <link href="https://desk.example/"/>
  <updated>2025-07-02T10:00:00Z</updated>
  <entry>
    <title>Пашинян и Алиев встретились</title>
    <link href="https://desk.example/a?utm_source=rss#top"/>
    <id>tag:desk.example,2025:1</id>
    <updated>2025-07-02T10:00:00+02:00</updated>
    <author><name>Desk</name></author>
    <summary>short</summary>
    <content type="html">&lt;p&gt;The long &lt;b&gt;content&lt;/b&gt;&lt;/p&gt;&lt;script&gt;alert(1)&lt;/script&gt;</content>
  </entry>
  <entry>
    <title>No id here</title>
    <link href="https://Desk.Example:443/b?fbclid=x&amp;page=2"/>
    <updated>2025-07-02T11:00:00Z</updated>
  </entry>
</feed>""".encode()


def test_atom_entries_keys_dates_and_content() -> None:
    feed = parse_feed(ATOM, url="https://desk.example/atom.xml")
    assert feed.title == "Caucasus Desk" and feed.warning is None
    first, second = feed.entries
    assert first.key == "tag:desk.example,2025:1"
    assert first.title == "Пашинян и Алиев встретились"
    assert first.published == "2025-07-02T08:00:00Z"  # normalised to UTC
    assert "The long <b>content</b>" in first.content_html
    assert "script" not in first.content_html  # sanitised by feedparser
    assert second.guid is None
    assert second.key == "https://desk.example/b?page=2"  # canonical link when there is no id


def test_html_page_is_not_a_feed() -> None:
    with pytest.raises(FeedParseError, match="not a feed: the server sent an HTML page"):
        parse_feed(b"<!DOCTYPE html><html><body>hi</body></html>", url="https://x.example/")


def test_empty_body_is_not_a_feed() -> None:
    with pytest.raises(FeedParseError, match="not a feed"):
        parse_feed(b"", url="https://x.example/feed")


def test_declared_encoding_is_honoured() -> None:
    body = '<?xml version="1.0" encoding="windows-1251"?><rss version="2.0"><channel><title>Т</title><item><title>Баку</title><link>https://x.example/1</link></item></channel></rss>'.encode(
        "cp1251"
    )
    feed = parse_feed(
        body, url="https://x.example/feed", headers={"content-type": "application/rss+xml"}
    )
    assert feed.entries[0].title == "Баку"


@pytest.mark.parametrize("seed", SEED_IDS)
def test_seed_pages_extract_with_body_whole(seed: str) -> None:
    result = extract_page(seed_html(seed), url=f"https://example.org/{seed}.html")
    text = " ".join(result.text.split())
    body = seed_body(seed)
    kept = [line for line in body if " ".join(line.split()) in text]
    assert len(kept) >= 0.9 * len(body), f"{len(kept)} of {len(body)} body lines kept"
    assert result.language == "en"
    assert result.title


def test_empty_and_textless_pages_raise_with_a_reason() -> None:
    with pytest.raises(ExtractError, match="the page is empty"):
        extract_page(b"  ")
    with pytest.raises(ExtractError, match="no article text"):
        extract_page(b"<html><body><script>var x = 1;</script></body></html>")


def test_html_to_text_keeps_blocks_as_lines() -> None:
    assert (
        html_to_text("<p>One <b>two</b></p><ul><li>three</li><li>four</li></ul>")
        == "One two\nthree\nfour"
    )
    assert html_to_text("plain   text") == "plain text"
    assert html_to_text("") == ""


STRAY_STORY = [
    "The council voted on Monday to close the old bridge to lorries from the first of June.",
    "Engineers had warned in March that its steel supports were corroding faster than expected.",
    "Residents of the east bank said the detour would add half an hour to every delivery.",
    "The council said a replacement bridge would be designed this year and built by 2029.",
]


@pytest.mark.parametrize("second_body", [False, True])
def test_article_after_a_premature_end_of_document_is_read(second_body: bool) -> None:
    """A page that closes ``</body></html>`` after its header and puts the article after it:
    libxml2 makes that content a second top-level element, which trafilatura never reads
    (it took the teasers left in the body for the article); browsers show it in the body."""
    teasers = "".join(
        f'<p><a href="/s{n}">Earlier story {n}: more on the bridge...</a></p>' for n in range(3)
    )
    story = "".join(f"<p>{line}</p>" for line in STRAY_STORY)
    article = f"<article><h1>Old bridge to close to lorries</h1>{story}</article>"
    if second_body:
        article = f"<body>{article}</body>"
    page = (
        "<!DOCTYPE html><html><head><title>Bridge</title></head><body>"
        f'<header><nav><a href="/">Home</a></nav></header><aside>{teasers}</aside>'
        f"</body></html>\n{article}<footer><p>News of the town</p></footer></html>"
    ).encode()
    text = extract_page(page, url="https://example.org/bridge").text
    for line in STRAY_STORY:
        assert line in text
    assert "Earlier story" not in text


def test_loose_text_after_a_premature_end_is_read_and_a_second_head_is_not() -> None:
    story = "".join(f"<p>{line}</p>" for line in STRAY_STORY[1:])
    page = (
        "<html><head><title>Bridge</title></head><body><nav><a href='/'>Home</a></nav></body>"
        f"</html>{STRAY_STORY[0]}<head><title>Second title of the page</title></head>"
        f"<body>{story}</body>"
    ).encode()
    body = parse_page(page).find("body")
    assert STRAY_STORY[0] in body.text_content()  # loose text, as a browser shows it
    assert "Second title" not in body.text_content()
    text = extract_page(page, url="https://example.org/bridge").text
    for line in STRAY_STORY[1:]:
        assert line in text
    assert "Second title" not in text


def test_an_article_after_a_fragments_premature_end_is_read() -> None:
    """A page with no <html> or <body> of its own (lxml gives its one element, not a document)
    whose article follows a stray end of document."""
    story = "".join(f"<p>{line}</p>" for line in STRAY_STORY)
    page = (
        "<div><nav><a href='/'>Home</a></nav><aside><p><a href='/s1'>Earlier story</a></p>"
        f"</aside></div></body></html><article>{story}</article>"
    ).encode()
    assert parse_page(page).tag == "div"
    text = extract_page(page, url="https://example.org/bridge").text
    for line in STRAY_STORY:
        assert line in text
