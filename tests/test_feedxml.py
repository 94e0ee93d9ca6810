"""The lxml reader of plain feeds (``monitor/feedxml.py``) against feedparser: on every file of
feedparser's corpus it accepts, and on realistic feeds, it must give the same feed title, site
and entries, field for field (the text of the content compared, since only the text is read)."""

from __future__ import annotations

import warnings

import pytest
from test_feed_corpus import FILES, headers_of

from monitor.errors import FeedParseError
from monitor.extract import html_to_text
from monitor.feedxml import parse_plain
from monitor.parse import ParsedFeed, parse_feed, parse_with_feedparser

BASE = "http://feeds.example.org/news/feed.xml"


def comparable(feed: ParsedFeed) -> tuple[object, ...]:
    return (
        feed.title,
        feed.site_url,
        [
            (e.key, e.guid, e.link, e.title, e.author, e.published, html_to_text(e.content_html))
            for e in feed.entries
        ],
    )


def both(
    body: bytes, headers: dict[str, str] | None = None
) -> tuple[ParsedFeed | None, ParsedFeed]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        slow = parse_with_feedparser(body, url=BASE, headers=headers)
    return parse_plain(body, url=BASE, headers=headers), slow


def test_the_corpus_files_read_as_plain_give_feedparsers_entries() -> None:
    accepted = []
    for path in FILES:
        data = path.read_bytes()
        headers = {name.lower(): value for name, value in headers_of(data)}
        try:
            fast, slow = both(data, headers)
        except FeedParseError:  # not a feed for feedparser: not a plain one either
            assert parse_plain(data, url=BASE, headers=headers) is None
            continue
        if fast is not None:
            accepted.append(path.name)
            assert comparable(fast) == comparable(slow), path.relative_to(path.parents[2])
    assert len(accepted) >= 150  # the comparison covers a real share of the corpus


WORDPRESS = """<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"
 xmlns:content="http://purl.org/rss/1.0/modules/content/"
 xmlns:wfw="http://wellformedweb.org/CommentAPI/" xmlns:dc="http://purl.org/dc/elements/1.1/"
 xmlns:atom="http://www.w3.org/2005/Atom" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"
 xmlns:slash="http://purl.org/rss/1.0/modules/slash/" xmlns:media="http://search.yahoo.com/mrss/">
<channel>
  <title>Kyiv Ledger</title>
  <atom:link href="https://ledger.example.net/feed/" rel="self" type="application/rss+xml" />
  <link>https://ledger.example.net</link>
  <description>News from the capital</description>
  <lastBuildDate>Fri, 20 Nov 2026 18:02:11 +0000</lastBuildDate>
  <language>en-US</language>
  <sy:updatePeriod>hourly</sy:updatePeriod>
  <generator>https://wordpress.org/?v=6.6</generator>
  <image><url>https://ledger.example.net/logo.png</url><title>Kyiv Ledger</title>
    <link>https://ledger.example.net</link></image>
  <item>
    <title>Grid operator warns of rolling outages after overnight strikes</title>
    <link>https://ledger.example.net/2026/11/20/grid-outages/</link>
    <comments>https://ledger.example.net/2026/11/20/grid-outages/#respond</comments>
    <dc:creator><![CDATA[Olena Marchenko]]></dc:creator>
    <pubDate>Fri, 20 Nov 2026 17:45:00 +0000</pubDate>
    <category><![CDATA[Energy]]></category>
    <guid isPermaLink="false">https://ledger.example.net/?p=48213</guid>
    <description><![CDATA[<p>Ukrenergo said repairs would take days.</p>]]></description>
    <content:encoded><![CDATA[<p>Ukrenergo said on Friday that repairs would take <em>several days</em>.</p>
<script>track("grid")</script><style>p{color:red}</style>
<figure><img src="/wp-content/uploads/grid.jpg" alt=""><figcaption>A substation.</figcaption></figure>
<p>Households in six regions face outages of up to eight hours &#8212; the longest since March.</p>]]></content:encoded>
    <wfw:commentRss>https://ledger.example.net/2026/11/20/grid-outages/feed/</wfw:commentRss>
    <slash:comments>4</slash:comments>
    <media:content url="https://ledger.example.net/grid.jpg" medium="image" />
  </item>
  <item>
    <title>Рада голосує за бюджет на 2027 рік</title>
    <link>https://ledger.example.net/uk/2026/11/20/budget/</link>
    <dc:creator>Ірина Коваль</dc:creator>
    <pubDate>Fri, 20 Nov 2026 09:10:00 GMT</pubDate>
    <guid>https://ledger.example.net/uk/?p=48190</guid>
    <description>Парламент розгляне бюджет у другому читанні.</description>
  </item>
</channel></rss>"""

ATOM_BLOG = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/">
  <id>tag:blogger.com,1999:blog-1234</id>
  <updated>2026-11-20T08:00:00Z</updated>
  <title type="text">Caucasus Watch</title>
  <subtitle type="html">Notes on the region</subtitle>
  <link rel="alternate" type="text/html" href="https://caucasus.example.com/"/>
  <link rel="self" type="application/atom+xml" href="https://caucasus.example.com/feeds/posts"/>
  <author><name>Nino</name><uri>https://caucasus.example.com/about</uri></author>
  <generator version="7.00" uri="https://www.blogger.com">Blogger</generator>
  <entry>
    <id>tag:blogger.com,1999:blog-1234.post-99</id>
    <published>2026-11-19T21:15:00.001+04:00</published>
    <updated>2026-11-20T07:59:00Z</updated>
    <category scheme="http://www.blogger.com/atom/ns#" term="Georgia"/>
    <title type="text">Protests in Tbilisi enter their second week</title>
    <content type="html">&lt;p&gt;Crowds gathered again on Rustaveli Avenue.&lt;/p&gt;&lt;p&gt;Police stayed back.&lt;/p&gt;</content>
    <link rel="replies" type="application/atom+xml" href="https://caucasus.example.com/feeds/99/comments" title="Post Comments"/>
    <link rel="edit" type="application/atom+xml" href="https://www.blogger.com/feeds/1234/posts/99"/>
    <link rel="alternate" type="text/html" href="https://caucasus.example.com/2026/11/protests.html" title="Protests"/>
    <author><name>Nino</name><email>noreply@blogger.com</email></author>
    <media:thumbnail url="https://caucasus.example.com/s72/p.jpg" height="72" width="72"/>
  </entry>
  <entry>
    <id>tag:blogger.com,1999:blog-1234.post-98</id>
    <updated>2026-11-18T10:00:00Z</updated>
    <title>Short note</title>
    <summary>A summary only.</summary>
    <link href="/2026/11/note.html"/>
  </entry>
</feed>"""


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (WORDPRESS, {"content-type": "application/rss+xml; charset=UTF-8"}),
        (WORDPRESS, None),
        (ATOM_BLOG, {"content-type": "application/atom+xml"}),
    ],
)
def test_realistic_feeds_take_the_plain_path_and_agree(
    body: str, headers: dict[str, str] | None
) -> None:
    fast, slow = both(body.encode("utf-8"), headers)
    assert fast is not None
    assert comparable(fast) == comparable(slow)
    assert len(fast.entries) == 2
    assert "track(" not in html_to_text(fast.entries[0].content_html)  # no script text


@pytest.mark.parametrize(
    "change",
    [
        ("<title>Grid", '<title type="html">Grid'),  # still plain: RSS ignores the attribute
        ("Grid operator", "Grid &amp; operator"),  # an entity in a title: feedparser's call
        ("<rss ", '<!DOCTYPE rss SYSTEM "x.dtd"><rss '),
        ("<channel>", '<channel xml:base="https://elsewhere.example/">'),
        ("<dc:creator>Ірина", "<author>ira@ledger.example.net (Ірина)</author><dc:creator>Ірина"),
        ("<slash:comments>", "<media:title>Other title</media:title><slash:comments>"),
        ('encoding="UTF-8"', 'encoding="windows-1251"'),
    ],
)
def test_unusual_feeds_agree_too(change: tuple[str, str]) -> None:
    body = WORDPRESS.replace(*change, 1).encode("utf-8")
    fast, slow = both(body)
    assert comparable(parse_feed(body, url=BASE)) == comparable(slow)
    if fast is not None:
        assert comparable(fast) == comparable(slow)


def test_a_text_type_without_charset_is_left_to_feedparser() -> None:
    assert both(WORDPRESS.encode("utf-8"), {"content-type": "text/xml"})[0] is None
    assert both(WORDPRESS.encode("utf-8"), {"content-type": "text/xml; charset=utf-8"})[0]


def _rss(item: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>T</title>'
        f"<link>https://a.example/</link><item><title>An item</title>{item}</item>"
        "</channel></rss>"
    ).encode()


def _atom(entry: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>T</title><id>urn:feed</id><entry><title>An entry</title>{entry}</entry></feed>"
    ).encode()


GUID = "<guid>https://a.example/1</guid>"


@pytest.mark.parametrize(
    "body",
    [
        _atom(
            '<id></id><link href="https://a/1"/></entry><entry><id> </id><link href="https://a/2"/>'
        ),
        _rss('<guid isPermaLink="">/p/1</guid>'),
        _rss('<guid IsPermaLink="false">/p/1</guid>'),
        _rss('<guid isPermaLink="false">id&#150;1</guid><link>https://a/1</link>'),
        _rss(GUID.replace("</guid>", "</guid><title>It&#146;s</title>")),
        _rss("<link>https://a.example/?p=1&amp;amp;q=2</link>"),
        _rss('<guid isPermaLink="false">g1</guid><link href="https://a/H">https://a/T</link>'),
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>A</title><item><guid>'
        b"https://a/1</guid></item></channel><channel><title>B</title><item><guid>https://a/2"
        b"</guid></item></channel></rss>",
        _rss(
            GUID + "<description>Real summary text</description><content:encoded><![CDATA["
            "<iframe src='https://video.example/embed/x'></iframe>]]></content:encoded>"
        ),
        _rss(GUID + "<title>Second</title>"),
        _atom('<id>urn:e1</id><link type="html" href="https://a/1"/>'),
        _atom('<id>urn:e1</id><link rel="Alternate" href="https://a/1"/>'),
        _rss(GUID + "<description>AT&amp;T and &amp;amp; x</description>"),
    ],
    ids=[
        "empty-atom-id",
        "permalink-empty",
        "permalink-case",
        "cp1252-guid",
        "cp1252-title",
        "escaped-link",
        "link-href",
        "two-channels",
        "embed-only-content",
        "two-titles",
        "atom-type-html",
        "atom-rel-case",
        "entity-text",
    ],
)
def test_cases_where_feedparser_reads_differently_are_left_to_it(body: bytes) -> None:
    """Each of these, read the plain way, would give other keys or text than feedparser."""
    fast, slow = both(body)
    assert fast is None
    assert comparable(parse_feed(body, url=BASE)) == comparable(slow)
