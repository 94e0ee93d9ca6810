"""The weekly digest on a database holding a week of matched articles (see digest_week.py):
ranking, grouping, counts, trends and health are right, and text, Markdown and HTML carry
the same stories in the same order."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import digest_week as week
import pytest
from sqlite_utils import Database

from monitor.digest import Digest, WatchlistInfo, build_digest, parse_week, render, since_period
from monitor.digest.deliver import standalone, write_file
from monitor.digest.model import rising_terms
from monitor.errors import InputError

KNOWN = [WatchlistInfo(name, description) for name, (description, _) in week.WATCHLISTS.items()]
NOW = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    database = week.fill(tmp_path_factory.mktemp("digest") / "digest.db")
    yield database
    database.close()


@pytest.fixture(scope="module")
def digest(db: Database) -> Digest:
    return build_digest(db, parse_week(week.WEEK, UTC), KNOWN, now=NOW)


def section(digest: Digest, name: str):  # type: ignore[no-untyped-def]
    return next(w for w in digest.watchlists if w.name == name)


def test_stories_are_ranked_by_coverage_then_score(digest: Digest) -> None:
    rift = section(digest, "rift")
    assert [s.headline for s in rift.stories] == week.RIFT_ORDER
    # the single-outlet story has the best score of the week and still comes last
    assert rift.stories[-1].score == max(s.score for s in rift.stories)
    corridor = section(digest, "corridor")
    assert [s.headline for s in corridor.stories] == week.CORRIDOR_ORDER


def test_articles_group_into_stories_across_outlets(digest: Digest) -> None:
    rift = {s.headline: s for s in section(digest, "rift").stories}
    for headline, outlets in week.RIFT_OUTLETS.items():
        assert list(rift[headline].outlets) == outlets
    # the same headline in capitals and with a "!" is the same story; the story takes the
    # best-scoring article's headline and link
    raid = rift[week.RAID]
    assert (raid.articles, raid.score, raid.url) == (4, 12, "https://oc-media.org/news/1")
    # one outlet twice counts once as coverage
    custody = rift[week.CUSTODY]
    assert (custody.articles, len(custody.outlets)) == (4, 3)
    assert custody.first_seen == datetime(2026, 11, 17, 6, 0, tzinfo=UTC)
    assert custody.last_seen == datetime(2026, 11, 18, 11, 0, tzinfo=UTC)
    assert custody.terms == ("Azerbaijan", "Russia", "Yekaterinburg")
    assert custody.snippet == (
        "Two men died after a **Yekaterinburg** police raid on an **Azerbaijani** diaspora.",
        "Relatives say they were beaten in custody.",
    )


def test_counts_against_the_previous_week(digest: Digest) -> None:
    rift, corridor, energy = (section(digest, n) for n in ("rift", "corridor", "energy"))
    assert (rift.matches, rift.previous_matches, rift.change, rift.story_count) == (12, 3, 9, 4)
    assert (corridor.matches, corridor.previous_matches, corridor.change) == (6, 7, -1)
    assert (energy.matches, energy.previous_matches, energy.quiet) == (0, 2, True)
    assert energy.stories == ()
    # busiest first, the quiet watchlist last
    assert [w.name for w in digest.watchlists] == ["rift", "corridor", "energy"]


def test_rising_terms_and_matches_per_day(digest: Digest) -> None:
    rift = section(digest, "rift")
    assert [(t.term, t.now, t.before) for t in rift.rising] == week.RIFT_RISING
    assert [count for _, count in rift.per_day] == week.RIFT_PER_DAY
    assert rift.per_day[0][0].isoformat() == "2026-11-16"
    corridor = section(digest, "corridor")
    # fewer Zangezur and corridor mentions than the week before: not rising
    assert [t.term for t in corridor.rising] == ["Armenia", "peace deal"]


def test_rising_terms_count_each_match_once() -> None:
    trends = rising_terms([["Baku", "Baku"], ["Baku"]], [["Baku"]])
    assert [(t.term, t.now, t.before) for t in trends] == [("Baku", 2, 1)]
    assert rising_terms([["Baku"]], [["Baku"], ["Baku"]]) == ()


def test_health_names_failing_and_silent_feeds_and_dead_letters(digest: Digest) -> None:
    problems = {f.url: f.problem for f in digest.health.feeds}
    assert problems == {
        week.FAILING_FEED: "failing since 2026-11-08: HTTP 503",
        week.SILENT_FEED: "silent: no new article since 2026-11-01",
    }
    assert digest.health.dead_alerts == 2
    assert not digest.health.ok


def test_a_watchlist_filter_and_an_unknown_name(db: Database) -> None:
    only = build_digest(db, parse_week(week.WEEK, UTC), KNOWN, only=["energy"], now=NOW)
    assert [w.name for w in only.watchlists] == ["energy"]
    with pytest.raises(InputError, match="no watchlist named 'nope'"):
        build_digest(db, parse_week(week.WEEK, UTC), KNOWN, only=["nope"])


def test_since_covers_the_last_days_and_compares_with_the_days_before(db: Database) -> None:
    period = since_period("3d", UTC, now=datetime(2026, 11, 21, 0, 0, tzinfo=UTC))
    digest = build_digest(db, period, KNOWN, now=NOW)
    rift = section(digest, "rift")
    # 18 Nov 00:00 - 21 Nov 00:00: custody x2, AZAL x3; the 3 days before: raid x4,
    # custody x2 and the last match of the week before (Sunday 15 Nov 23:00)
    assert (rift.matches, rift.previous_matches) == (5, 7)
    assert [s.headline for s in rift.stories] == [week.AZAL, week.CUSTODY]
    assert len(rift.per_day) == 3


# -- periods ---------------------------------------------------------------------------------


def test_iso_weeks_are_local_and_dst_weeks_have_their_true_length() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    w47 = parse_week("2026-W47", berlin)
    assert w47.start == datetime(2026, 11, 15, 23, 0, tzinfo=UTC)  # Monday 00:00 CET
    assert w47.previous().week == "2026-W46"
    spring = parse_week("2026-W13", berlin)  # clocks go forward on Sunday 29 March
    assert spring.end - spring.start == timedelta(hours=167)
    autumn = parse_week("2026-W43", berlin)  # and back on Sunday 25 October
    assert autumn.end - autumn.start == timedelta(hours=169)
    assert len(autumn.days()) == 7
    assert parse_week("2021W1", UTC).start == datetime(2021, 1, 4, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "message"),
    [("2026-47", "expected an ISO week"), ("2026-W54", "has no ISO week 54"), ("w47", "ISO week")],
)
def test_bad_weeks_are_refused_clearly(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_week(text, UTC)


def test_bad_since_is_refused_clearly() -> None:
    with pytest.raises(InputError, match="--since"):
        since_period("a week", UTC, now=NOW)
    with pytest.raises(InputError, match="longer than zero"):
        since_period("0d", UTC, now=NOW)


# -- the three formats -----------------------------------------------------------------------


class _Links(HTMLParser):
    """The text of every story link, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = False
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.inside = True
            self.found.append("")

    def handle_endtag(self, tag: str) -> None:
        self.inside = self.inside and tag != "a"

    def handle_data(self, data: str) -> None:
        if self.inside:
            self.found[-1] += data


def stories_in(fmt: str, text: str) -> list[str]:
    if fmt == "text":
        return re.findall(r"^ *\d+\. (.+)$", text, flags=re.MULTILINE)
    if fmt == "markdown":
        found = re.findall(r"^\d+\. \*\*\[(.+?)\]\(<", text, flags=re.MULTILINE)
        return [re.sub(r"\\(.)", r"\1", headline) for headline in found]
    parser = _Links()
    parser.feed(text)
    return parser.found


EXPECTED = [*week.RIFT_ORDER, *week.CORRIDOR_ORDER]


@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
def test_every_format_carries_the_same_stories_in_order(digest: Digest, fmt: str) -> None:
    output = render(digest, fmt)
    assert stories_in(fmt, output) == EXPECTED
    plain = re.sub(r"<[^>]+>", " ", output) if fmt == "html" else output
    assert re.search(r"energy\W+nothing this week", plain), "the quiet watchlist says so"
    assert plain.count("energy") == 1, "in one line, nothing more"
    for outlet in week.RIFT_OUTLETS[week.RAID]:
        assert outlet in output
    assert week.FAILING_FEED in output and week.SILENT_FEED in output


def test_feed_text_is_escaped_in_html_and_markdown(digest: Digest) -> None:
    html = render(digest, "html")
    assert "envoy summoned &lt;again&gt;" in html
    assert "<b>again</b>" not in html  # markup inside a snippet is shown, not obeyed
    assert "&lt;b&gt;again&lt;/b&gt;" in html
    assert "<b>Kremlin</b>" in html  # while the hits are bold
    assert "<script" not in html.lower()
    markdown = render(digest, "markdown")
    assert r"envoy summoned \<again\> over \*raid\*" in markdown
    assert r"\<b\>again\</b\> & said \*nothing\* more" in markdown


def test_html_file_embeds_its_charts_and_markdown_writes_them_beside(
    digest: Digest, tmp_path: Path
) -> None:
    html = standalone(digest, "html")
    sources = re.findall(r'<img src="data:image/png;base64,([^"]+)"', html)
    assert len(sources) == 2  # rift and corridor; the quiet watchlist has no chart
    assert all(base64.b64decode(s).startswith(b"\x89PNG\r\n\x1a\n") for s in sources)
    written = write_file(digest, "markdown", tmp_path / "week.md")
    assert sorted(p.name for p in written) == ["week-corridor.png", "week-rift.png", "week.md"]
    text = (tmp_path / "week.md").read_text(encoding="utf-8")
    assert "](week-rift.png)" in text and "](week-corridor.png)" in text
    assert (tmp_path / "week-rift.png").read_bytes().startswith(b"\x89PNG")


def test_a_stored_story_groups_rewrites_with_different_headlines(tmp_path: Path) -> None:
    """Once articles carry a near-duplicate story id, the digest groups by it, not by
    headline: two outlets' rewrites under different headlines are one story, and an article
    given the same headline but belonging to another story stays apart."""
    from storage.digests import period_matches, story_groups

    everything = ("2000-01-01T00:00:00Z", "2100-01-01T00:00:00Z")
    database = week.fill(tmp_path / "stories.db")
    rows = [r for r in period_matches(database, *everything) if r.watchlist == "rift"]
    by_title: dict[str, int] = {}
    for row in rows:
        by_title.setdefault(row.title.casefold(), row.article_id)
    first, second, third = list(by_title.values())[:3]
    database.execute(
        "INSERT INTO stories (id, title, created_at, updated_at) VALUES (?, '', '', '')", [first]
    )
    database.execute("UPDATE articles SET story_id = ? WHERE id IN (?, ?)", [first, first, second])
    database.execute(
        "UPDATE articles SET title = (SELECT title FROM articles WHERE id = ?) WHERE id = ?",
        [first, third],
    )
    database.conn.commit()
    rows = [r for r in period_matches(database, *everything) if r.watchlist == "rift"]
    story_of = {r.article_id: key for key, members in story_groups(rows).items() for r in members}
    assert story_of[first] == story_of[second] == ("rift", f"story:{first}")
    assert story_of[third] != story_of[first]
    database.close()


def test_an_articles_summary_is_the_opening_shown_when_no_hit_is(tmp_path: Path) -> None:
    """A match with no snippet shows the opening of its article: the summary, where the
    page had one above the story, else the text's start."""
    from storage.digests import period_matches

    everything = ("2000-01-01T00:00:00Z", "2100-01-01T00:00:00Z")
    database = week.fill(tmp_path / "summary.db")
    first, second = (r.article_id for r in period_matches(database, *everything)[:2])
    long_summary = "Baku recalls its envoy. " * 30  # a long standfirst is cut like the text
    database.execute("UPDATE articles SET summary = ? WHERE id = ?", [long_summary, first])
    database.conn.commit()
    heads = {r.article_id: r.text_start for r in period_matches(database, *everything)}
    assert heads[first] == long_summary[:400]
    text = database.execute("SELECT text FROM articles WHERE id = ?", [second]).fetchone()[0]
    assert heads[second] == text[:400]
    database.close()
