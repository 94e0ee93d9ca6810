"""Digest benchmark: the weekly digest over 100,000 stored articles and 5,000 matches.

The database is synthetic and reproducible (``random.Random(SEED)``): 100,000 articles over
ten weeks from 40 outlets, each with a few hundred characters of text (indexed by FTS5 as in
production), and 5,000 matches on four watchlists, 3,000 of them in the digest week and
2,000 in the week before; the matched articles form stories of one to twelve articles from
different outlets, sharing a headline. Plus 42 feeds (one failing, one silent) and a few
dead-lettered alerts, so every part of the digest does its work.

Timed, each the median of ``--repeat`` runs after a warm-up run:

- "flat link list" (the peer): one SQL query listing the week's matched articles with their
  links, best score first: what a list-of-links digest (Tiny Tiny RSS, Google Alerts) costs;
- "build": ``build_digest`` for the week: the queries, the grouping into stories, ranking,
  counts against the week before, rising terms, matches per day and the health section;
- "charts": one matplotlib PNG per watchlist;
- "render text/markdown/html": each format from the built digest (HTML with its charts as
  data: URIs, as written to a file);
- "email message": the multipart/related email with the charts inline.

Run from the repository root::

    .venv/bin/python benchmarks/digest.py [--db PATH] [--repeat N]

The database is generated once into ``benchmarks/out/digest.db`` (gitignored; ``--db`` to
change) and reused while its shape matches; delete it to regenerate.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import storage  # noqa: E402
from monitor.config import EmailSettings  # noqa: E402
from monitor.digest import WatchlistInfo, build_digest, parse_week, render  # noqa: E402
from monitor.digest.charts import digest_charts  # noqa: E402
from monitor.digest.deliver import email_message, standalone  # noqa: E402

SEED = 47
ARTICLES = 100_000
MATCHES = 5_000
IN_WEEK = 3_000
WEEK = "2026-W47"
WEEK_START = datetime(2026, 11, 16, tzinfo=UTC)
FIRST_DAY = WEEK_START - timedelta(weeks=8)
SPAN_DAYS = 7 * 10
OUTLETS = [f"outlet{i:02d}.example.org" for i in range(40)]
WATCHLISTS = ["rift", "corridor", "energy", "elections"]
TERMS = {
    "rift": ["Azerbaijan", "Russia", "Baku", "Kremlin", "Aliyev", "Putin", "AZAL", "Yekaterinburg"],
    "corridor": ["Zangezur", "corridor", "Armenia", "peace deal", "Pashinyan", "transit"],
    "energy": ["gas", "pipeline", "Caspian", "oil", "SOCAR", "Gazprom"],
    "elections": ["election", "ballot", "turnout", "opposition", "OSCE"],
}
_TEXT = (
    "the of and to in a is that for on with as was by at from his an were are which this be "
    "government minister said talks border ministry official agency statement report week "
    "security president region spokesman visit meeting sources according crisis relations"
)
WORDS = _TEXT.split()


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def generate(path: Path) -> None:
    rng = random.Random(SEED)
    path.unlink(missing_ok=True)
    db = storage.open_database(path)
    conn = db.conn
    with conn:
        for i, site in enumerate(OUTLETS):
            conn.execute(
                "INSERT INTO feeds (id, url, source, added_at, last_checked_at, last_success_at, "
                "error_count) VALUES (?, ?, 'config', '2026-01-01T00:00:00Z', ?, ?, 0)",
                [
                    i + 1,
                    f"https://{site}/feed",
                    _stamp(WEEK_START + timedelta(days=7)),
                    _stamp(WEEK_START + timedelta(days=7)),
                ],
            )
        conn.execute(
            "INSERT INTO feeds (url, source, added_at, last_checked_at, last_success_at, "
            "error_count, last_error) VALUES ('https://down.example.org/feed', 'config', "
            "'2026-01-01T00:00:00Z', '2026-11-22T23:00:00Z', '2026-11-01T00:00:00Z', 40, "
            "'HTTP 503')"
        )
        conn.execute(
            "INSERT INTO feeds (url, source, added_at, last_checked_at, last_success_at) "
            "VALUES ('https://quiet.example.org/feed', 'config', '2026-01-01T00:00:00Z', "
            "'2026-11-22T23:00:00Z', '2026-11-22T23:00:00Z')"
        )
        rows = []
        for n in range(ARTICLES):
            when = FIRST_DAY + timedelta(seconds=rng.randrange(SPAN_DAYS * 86400))
            site_index = rng.randrange(len(OUTLETS))
            text = " ".join(rng.choices(WORDS, k=60))
            rows.append(
                (
                    site_index + 1,
                    f"e{n}",
                    f"https://{OUTLETS[site_index]}/n/{n}",
                    f"Story {n} " + " ".join(rng.choices(WORDS, k=6)),
                    _stamp(when),
                    _stamp(when),
                    OUTLETS[site_index],
                    text,
                )
            )
        conn.executemany(
            "INSERT INTO articles (feed_id, entry_key, url, title, published, fetched_at, site, "
            "text, extraction_status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'ok')",
            rows,
        )
        _matches(conn, rng)
        for i in range(7):
            conn.execute(
                "INSERT INTO outbox (dedup_key, channel, kind, payload, status, created_at, "
                "next_attempt_at, last_error) VALUES (?, 'email', 'alert', ?, 'dead', ?, ?, "
                "'SMTP 550')",
                [
                    f"alert:x:{i}:email",
                    json.dumps({"title": f"dead {i}"}),
                    "2026-11-18T00:00:00Z",
                    "2026-11-18T00:00:00Z",
                ],
            )
    db.close()


def _matches(conn, rng: random.Random) -> None:  # type: ignore[no-untyped-def]
    """Stories of 1-12 articles sharing a headline, in the week (3,000) and before (2,000)."""
    made = 0
    story = 0
    ids = rng.sample(range(1, ARTICLES + 1), MATCHES)
    while made < MATCHES:
        in_week = made < IN_WEEK
        start = WEEK_START if in_week else WEEK_START - timedelta(weeks=1)
        size = min(MATCHES - made, rng.choice([1, 1, 1, 2, 2, 3, 4, 6, 8, 12]))
        watchlist = rng.choice(WATCHLISTS)
        headline = f"{watchlist} story {story}: " + " ".join(rng.choices(WORDS, k=7))
        story += 1
        for _ in range(size):
            article = ids[made]
            when = _stamp(start + timedelta(seconds=rng.randrange(7 * 86400)))
            terms = rng.sample(TERMS[watchlist], k=rng.randint(1, 4))
            snippet = f"… the **{terms[0]}** " + " ".join(rng.choices(WORDS, k=12)) + " …"
            explanation = {
                "rule": "x",
                "score": 0,
                "terms": terms,
                "hits": [
                    {"term": t, "field": "text", "position": i, "span": [i, i + 5]}
                    for i, t in enumerate(terms * 3)
                ],
                "snippets": [snippet, snippet],
            }
            conn.execute(
                "UPDATE articles SET title = ?, fetched_at = ? WHERE id = ?",
                [headline, when, article],
            )
            conn.execute(
                "INSERT INTO matches (article_id, watchlist, severity, score, matched_at, "
                "explanation) VALUES (?, ?, 'digest', ?, ?, ?)",
                [article, watchlist, rng.randint(1, 30), when, json.dumps(explanation)],
            )
            made += 1


FLAT_LIST = (
    "SELECT m.watchlist, m.score, a.title, a.url, a.site FROM matches m "
    "JOIN articles a ON a.id = m.article_id WHERE m.matched_at >= ? AND m.matched_at < ? "
    "ORDER BY m.watchlist, m.score DESC"
)


def timed(action: Callable[[], object], repeat: int) -> float:
    action()  # warm-up: imports, caches, templates
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=REPO / "benchmarks" / "out" / "digest.db")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    args.db.parent.mkdir(parents=True, exist_ok=True)
    db = storage.open_database(args.db) if args.db.exists() else None
    if db is None or db["articles"].count != ARTICLES or db["matches"].count != MATCHES:
        if db is not None:
            db.close()
        started = time.perf_counter()
        generate(args.db)
        print(f"generated {args.db.name} in {time.perf_counter() - started:.1f}s", file=sys.stderr)
        db = storage.open_database(args.db)
    period = parse_week(WEEK, UTC)
    known = [WatchlistInfo(name) for name in WATCHLISTS]
    now = WEEK_START + timedelta(days=7, hours=7)
    digest = build_digest(db, period, known, now=now)
    email = EmailSettings(host="127.0.0.1", sender="d@example.org", recipients=("x@example.org",))
    rows = [
        (
            "flat link list (peer: one query)",
            timed(
                lambda: db.execute(FLAT_LIST, [period.start_iso, period.end_iso]).fetchall(),
                args.repeat,
            ),
        ),
        (
            "build (news-monitor)",
            timed(lambda: build_digest(db, period, known, now=now), args.repeat),
        ),
        ("charts (4 PNGs)", timed(lambda: digest_charts(digest), args.repeat)),
        ("render text", timed(lambda: render(digest, "text"), args.repeat)),
        ("render markdown", timed(lambda: render(digest, "markdown"), args.repeat)),
        (
            "render html (+ charts as data: URIs)",
            timed(lambda: standalone(digest, "html"), args.repeat),
        ),
        (
            "email message (+ charts inline)",
            timed(lambda: email_message(digest, email, key="digest:bench:email"), args.repeat),
        ),
    ]
    stories = sum(w.story_count for w in digest.watchlists)
    matches = sum(w.matches for w in digest.watchlists)
    print(
        f"{db['articles'].count:,} articles, {db['matches'].count:,} matches; "
        f"week {WEEK}: {matches:,} matches in {stories:,} stories; median of {args.repeat}"
    )
    print()
    print("| step | ms |")
    print("|---|---|")
    for name, seconds in rows:
        print(f"| {name} | {seconds * 1000:.1f} |")
    total = rows[1][1] + rows[5][1]  # the HTML step draws its charts
    print(f"| build + html with charts (monitor digest --format html) | {total * 1000:.1f} |")
    db.close()


if __name__ == "__main__":
    main()
