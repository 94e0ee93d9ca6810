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
