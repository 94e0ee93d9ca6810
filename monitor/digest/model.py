"""What a digest says, built from the database for one period: plain data every format
renders the same way, so text, Markdown and HTML can never disagree on the stories.

Per watchlist: its stories ranked by coverage (how many outlets ran it), then by the best
match score, then by who saw it first; the match count against the previous period; the
matched terms that rose most; matches per local day. Then the health of the pipeline itself.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlite_utils import Database

from storage import clock
from storage.digests import (
    DeadAlert,
    FeedHealth,
    MatchRow,
    dead_alerts,
    feed_health,
    period_matches,
    period_terms,
    story_groups,
)

from ..channels.render import one_line
from ..errors import InputError
from .period import Period

MAX_STORIES = 10  # per watchlist; the count says how many more there were
MAX_TRENDS = 5
SNIPPET_WIDTH = 220


@dataclass(frozen=True)
class WatchlistInfo:
    name: str
    description: str = ""


@dataclass(frozen=True)
class Story:
    headline: str
    url: str | None
    outlets: tuple[str, ...]
    articles: int
    score: float
    first_seen: datetime  # local time
    last_seen: datetime
    terms: tuple[str, ...]
    snippet: tuple[str, ...]  # at most two lines, hits marked **like this**

    @property
    def link(self) -> str | None:
        """The URL when it is safe to link (http or https, no spaces or angle brackets)."""
        url = self.url or ""
        if url.startswith(("http://", "https://")) and not any(c in url for c in ' <>"\n'):
            return url
        return None


@dataclass(frozen=True)
class Trend:
    term: str
    now: int  # matches mentioning it in the period
    before: int  # ... and in the previous one

    @property
    def rise(self) -> int:
        return self.now - self.before


@dataclass(frozen=True)
class WatchlistDigest:
    name: str
    description: str
    matches: int
    previous_matches: int
    story_count: int
    stories: tuple[Story, ...]  # the top MAX_STORIES, ranked
    rising: tuple[Trend, ...]
    per_day: tuple[tuple[date, int], ...]

    @property
    def change(self) -> int:
        return self.matches - self.previous_matches

    @property
    def quiet(self) -> bool:
        return self.matches == 0


@dataclass(frozen=True)
class FeedProblem:
    url: str
    title: str | None
    problem: str


@dataclass(frozen=True)
class Health:
    feeds: tuple[FeedProblem, ...]
    dead_alerts: int
    dead: tuple[DeadAlert, ...]

    @property
    def ok(self) -> bool:
        return not self.feeds and not self.dead_alerts


@dataclass(frozen=True)
class Digest:
    period: Period
    generated_at: datetime
    watchlists: tuple[WatchlistDigest, ...]
    health: Health

    @property
    def title(self) -> str:
        return f"news-monitor digest: {self.period.label}"


def build_digest(
    db: Database,
    period: Period,
    known: Sequence[WatchlistInfo],
    *,
    only: Sequence[str] = (),
    now: datetime | None = None,
) -> Digest:
    """The digest of ``period`` for the known watchlists (or ``only`` these)."""
    selected = _select(known, only)
    names = [w.name for w in selected] if only else None
    rows = period_matches(db, period.start_iso, period.end_iso, names)
    before = period.previous()
    baseline = period_terms(db, before.start_iso, before.end_iso, names)
    if not only:  # a watchlist removed since still shows what it matched
        seen = {w.name for w in selected}
        extra = sorted({r.watchlist for r in rows} - seen)
        selected = [*selected, *(WatchlistInfo(name) for name in extra)]
    groups = story_groups(rows)
    sections = [_watchlist(info, rows, groups, baseline, period) for info in selected]
    if not only:  # the busiest first, the quiet ones last (each in one line)
        sections.sort(key=lambda w: (w.quiet, -w.matches, w.name))
    return Digest(
        period=period,
        generated_at=(now or clock.now()).astimezone(period.zone),
        watchlists=tuple(sections),
        health=_health(db, period),
    )


def _select(known: Sequence[WatchlistInfo], only: Sequence[str]) -> list[WatchlistInfo]:
    if not only:
        return sorted(known, key=lambda w: w.name)
    by_name = {w.name: w for w in known}
    missing = [name for name in only if name not in by_name]
    if missing:
        raise InputError(
            f"--watchlist: no watchlist named {', '.join(map(repr, missing))} "
            f"(loaded: {', '.join(sorted(by_name)) or 'none'})"
        )
    return [by_name[name] for name in dict.fromkeys(only)]


def _watchlist(
    info: WatchlistInfo,
    rows: list[MatchRow],
    groups: dict[tuple[str, str], list[MatchRow]],
    baseline: list[tuple[str, tuple[str, ...]]],
    period: Period,
) -> WatchlistDigest:
    mine = [r for r in rows if r.watchlist == info.name]
    stories = rank(
        [_story(members, period) for (name, _), members in groups.items() if name == info.name]
    )
    before = [terms for name, terms in baseline if name == info.name]
    per_day = Counter(period.local_day(r.matched_at) for r in mine)
    return WatchlistDigest(
        name=info.name,
        description=info.description,
        matches=len(mine),
        previous_matches=len(before),
        story_count=len(stories),
        stories=tuple(stories[:MAX_STORIES]),
        rising=rising_terms([r.terms for r in mine], before),
        per_day=tuple((day, per_day.get(day, 0)) for day in period.days()),
    )


def rank(stories: list[Story]) -> list[Story]:
    """Widest coverage first, then the strongest match, then the earliest seen."""
    return sorted(stories, key=lambda s: (-len(s.outlets), -s.score, s.first_seen, s.headline))


def _story(members: list[MatchRow], period: Period) -> Story:
    lead = max(members, key=lambda r: (r.score, -r.article_id))
    outlets = tuple(dict.fromkeys(r.site or "unknown outlet" for r in members))
    terms = Counter(term for r in members for term in r.terms)
    seen = sorted(r.seen_at for r in members)
    return Story(
        headline=one_line(lead.title) or "(untitled)",
        url=lead.url,
        outlets=outlets,
        articles=len(members),
        score=lead.score,
        first_seen=clock.parse(seen[0]).astimezone(period.zone),
        last_seen=clock.parse(seen[-1]).astimezone(period.zone),
        terms=tuple(sorted(terms, key=lambda t: (-terms[t], t.casefold()))),
        snippet=_snippet(lead),
    )


def _snippet(row: MatchRow) -> tuple[str, ...]:
    lines = [one_line(s) for s in row.snippets if one_line(s)][:2]
    if not lines:  # no hit to show: the opening of the text, without the headline it repeats
        text = one_line(row.text_start)
        title = one_line(row.title)
        if title and text.casefold().startswith(title.casefold()):
            text = text[len(title) :].lstrip(" .:-–—")
        lines = [text] if text else []
    return tuple(_clip(line) for line in lines)


def _clip(line: str) -> str:
    if len(line) <= SNIPPET_WIDTH:
        return line
    cut = line[:SNIPPET_WIDTH].rsplit(" ", 1)[0]
    if cut.count("**") % 2:  # never leave a highlight open
        cut += "**"
    return cut + " …"


def rising_terms(
    now: Sequence[Sequence[str]], before: Sequence[Sequence[str]], *, limit: int = MAX_TRENDS
) -> tuple[Trend, ...]:
    """The matched terms mentioned by more matches than in the previous period, most risen
    first (a term counts once per match)."""
    current = Counter(term for terms in now for term in set(terms))
    previous = Counter(term for terms in before for term in set(terms))
    trends = [Trend(term, n, previous.get(term, 0)) for term, n in current.items()]
    risen = [t for t in trends if t.rise > 0]
    risen.sort(key=lambda t: (-t.rise, -t.now, t.term.casefold()))
    return tuple(risen[:limit])


def _health(db: Database, period: Period) -> Health:
    problems = [p for p in (_feed_problem(f, period) for f in feed_health(db)) if p]
    total, latest = dead_alerts(db)
    return Health(feeds=tuple(problems), dead_alerts=total, dead=tuple(latest))


def _feed_problem(feed: FeedHealth, period: Period) -> FeedProblem | None:
    """A feed that failed every poll of the period, or stored nothing new in it."""
    start = period.start_iso
    if feed.added_at >= start or not feed.last_checked_at:
        return None  # too new to judge, or never polled yet
    failing = (
        feed.error_count > 0
        and feed.last_checked_at >= start
        and (feed.last_success_at is None or feed.last_success_at < start)
    )
    if failing:
        since = feed.last_success_at or feed.added_at
        reason = one_line(feed.last_error) or "unknown error"
        return FeedProblem(feed.url, feed.title, f"failing since {since[:10]}: {reason}")
    if feed.latest_article_at is None:
        return FeedProblem(feed.url, feed.title, "silent: no article stored yet")
    if feed.latest_article_at < start:
        return FeedProblem(
            feed.url, feed.title, f"silent: no new article since {feed.latest_article_at[:10]}"
        )
    return None
