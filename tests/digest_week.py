"""A database holding ISO week 2026-W47 (Mon 16 – Sun 22 Nov 2026, UTC) of matched articles,
the week before as a baseline, and a feed that failed all week and one gone silent.

Watchlists: ``rift`` (four stories, widest coverage 4 outlets), ``corridor`` (three stories,
fewer matches than the week before) and ``energy`` (nothing this week, two the week before).
Each expected fact is written here by hand, so the tests check the digest against it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database

import storage

WEEK = "2026-W47"
WATCHLISTS = {
    "rift": ("The 2025 rift between Moscow and Baku", "Azerbaijan AND Russia"),
    "corridor": ("The Zangezur corridor and the peace talks", "Zangezur OR corridor"),
    "energy": ("Gas and oil across the Caspian", "pipeline OR gas"),
}
OUTLETS = (
    "themoscowtimes.com",
    "oc-media.org",
    "jam-news.net",
    "eurasianet.org",
    "meduza.io",
    "civil.ge",
)


@dataclass(frozen=True)
class Item:
    watchlist: str
    site: str
    title: str
    when: str  # matched and fetched at, UTC
    score: float
    terms: tuple[str, ...]
    snippets: tuple[str, ...] = ()


RAID = "Azerbaijan detains Sputnik Azerbaijan staff in Baku raid"
CUSTODY = "Two Azerbaijanis die in police custody in Yekaterinburg"
AZAL = "Aliyev demands apology from Kremlin over AZAL crash"
ENVOY = "Kremlin & Baku: envoy summoned <again> over *raid*"
PEACE = "Armenia and Azerbaijan initial a peace deal"
STALL = "Zangezur corridor talks stall over transit control"
SHORT = "Corridor"

R3 = ("Azerbaijan", "Baku", "Russia")
THIS_WEEK = [
    # RAID: 4 outlets, best score 12
    Item(
        "rift", "themoscowtimes.com", RAID, "2026-11-16T08:00:00Z", 8, (*R3, "Sputnik Azerbaijan")
    ),
    Item(
        "rift",
        "oc-media.org",
        RAID,
        "2026-11-16T10:30:00Z",
        12,
        (*R3, "Sputnik Azerbaijan"),
        (
            "Police in **Baku** raided the office of **Sputnik Azerbaijan** on Monday.",
            "Two editors were detained, the **Russian** embassy said.",
        ),
    ),
    Item(
        "rift", "jam-news.net", RAID.upper(), "2026-11-17T09:00:00Z", 6, (*R3, "Sputnik Azerbaijan")
    ),
    Item(
        "rift", "eurasianet.org", RAID + "!", "2026-11-17T12:00:00Z", 9, (*R3, "Sputnik Azerbaijan")
    ),
    # CUSTODY: 3 outlets (meduza twice), best score 15
    Item(
        "rift",
        "meduza.io",
        CUSTODY,
        "2026-11-17T06:00:00Z",
        15,
        ("Azerbaijan", "Russia", "Yekaterinburg"),
        (
            "Two men died after a **Yekaterinburg** police raid on an **Azerbaijani** diaspora.",
            "Relatives say they were beaten in custody.",
        ),
    ),
    Item(
        "rift",
        "themoscowtimes.com",
        CUSTODY,
        "2026-11-17T07:00:00Z",
        10,
        ("Azerbaijan", "Russia", "Yekaterinburg"),
    ),
    Item(
        "rift",
        "meduza.io",
        CUSTODY,
        "2026-11-18T07:00:00Z",
        9,
        ("Azerbaijan", "Russia", "Yekaterinburg"),
    ),
    Item(
        "rift",
        "oc-media.org",
        CUSTODY,
        "2026-11-18T11:00:00Z",
        11,
        ("Azerbaijan", "Russia", "Yekaterinburg"),
    ),
    # AZAL: 3 outlets, best score 9 -> after CUSTODY
    Item(
        "rift",
        "eurasianet.org",
        AZAL,
        "2026-11-18T15:00:00Z",
        9,
        ("AZAL", "Azerbaijan", "Kremlin", "Russia"),
    ),
    Item(
        "rift",
        "civil.ge",
        AZAL,
        "2026-11-19T08:00:00Z",
        7,
        ("AZAL", "Azerbaijan", "Kremlin", "Russia"),
    ),
    Item(
        "rift",
        "jam-news.net",
        AZAL,
        "2026-11-20T08:00:00Z",
        8,
        ("AZAL", "Azerbaijan", "Kremlin", "Russia"),
    ),
    # ENVOY: one outlet, the highest score of all -> still last (coverage first)
    Item(
        "rift",
        "themoscowtimes.com",
        ENVOY,
        "2026-11-21T18:00:00Z",
        20,
        ("Baku", "Kremlin", "Russia"),
        ("The **Kremlin** summoned the envoy <b>again</b> & said *nothing* more.",),
    ),
    # corridor
    Item("corridor", "civil.ge", PEACE, "2026-11-19T09:00:00Z", 10, ("Armenia", "peace deal")),
    Item("corridor", "oc-media.org", PEACE, "2026-11-19T10:00:00Z", 8, ("Armenia", "peace deal")),
    Item("corridor", "jam-news.net", STALL, "2026-11-20T09:00:00Z", 6, ("Zangezur", "corridor")),
    Item("corridor", "eurasianet.org", STALL, "2026-11-20T13:00:00Z", 12, ("Zangezur", "corridor")),
    # a one-word headline is too generic to group on: two stories
    Item("corridor", "civil.ge", SHORT, "2026-11-22T09:00:00Z", 3, ("corridor",)),
    Item("corridor", "jam-news.net", SHORT, "2026-11-22T10:00:00Z", 2, ("corridor",)),
]
WEEK_BEFORE = [
    Item(
        "rift",
        "themoscowtimes.com",
        "Moscow and Baku trade barbs",
        "2026-11-10T08:00:00Z",
        5,
        ("Azerbaijan", "Russia"),
    ),
    Item(
        "rift",
        "oc-media.org",
        "Baku recalls a delegation",
        "2026-11-12T08:00:00Z",
        5,
        ("Baku", "Russia"),
    ),
    Item(
        "rift",
        "civil.ge",
        "Russia and Azerbaijan: a cold week",
        "2026-11-15T23:00:00Z",
        4,
        ("Azerbaijan", "Russia"),
    ),
    *(
        Item(
            "corridor",
            "civil.ge",
            f"Corridor talks, day {d}",
            f"2026-11-{d:02d}T08:00:00Z",
            3,
            ("Zangezur", "corridor"),
        )
        for d in range(9, 16)
    ),
    Item(
        "energy",
        "eurasianet.org",
        "Caspian gas pipeline plans",
        "2026-11-11T08:00:00Z",
        4,
        ("gas", "pipeline"),
    ),
    Item(
        "energy",
        "oc-media.org",
        "Gas prices in the South Caucasus",
        "2026-11-13T08:00:00Z",
        4,
        ("gas",),
    ),
]
OUTSIDE = [  # the Monday after the week: in no period of the tests
    Item(
        "rift",
        "meduza.io",
        "Next week's story about Russia and Azerbaijan",
        "2026-11-23T00:00:00Z",
        30,
        ("Azerbaijan", "Russia"),
    ),
]

# What the digest must say, worked out by hand from the lists above.
RIFT_ORDER = [RAID, CUSTODY, AZAL, ENVOY]
RIFT_OUTLETS = {
    RAID: ["themoscowtimes.com", "oc-media.org", "jam-news.net", "eurasianet.org"],
    CUSTODY: ["meduza.io", "themoscowtimes.com", "oc-media.org"],
    AZAL: ["eurasianet.org", "civil.ge", "jam-news.net"],
    ENVOY: ["themoscowtimes.com"],
}
# Matches naming each term (now / the week before): Russia 12/3, Azerbaijan 11/2, Baku 5/1,
# Kremlin, Sputnik Azerbaijan and Yekaterinburg 4/0, AZAL 3/0. Most risen first, then most
# mentioned, then by name; five shown.
RIFT_RISING = [
    ("Russia", 12, 3),
    ("Azerbaijan", 11, 2),
    ("Baku", 5, 1),
    ("Kremlin", 4, 0),
    ("Sputnik Azerbaijan", 4, 0),
]
CORRIDOR_ORDER = [STALL, PEACE, SHORT, SHORT]
RIFT_PER_DAY = [2, 4, 3, 1, 1, 1, 0]  # Mon..Sun
FAILING_FEED = "https://down.example.org/feed.xml"
SILENT_FEED = "https://quiet.example.org/feed.xml"


def write_watchlists(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, (description, query) in WATCHLISTS.items():
        (folder / f"{name}.toml").write_text(
            f'name = "{name}"\ndescription = "{description}"\nseverity = "digest"\n'
            f"query = '{query}'\n",
            encoding="utf-8",
        )
    return folder


def write_config(
    tmp_path: Path, *, digest: str = 'timezone = "UTC"', channels: str = "[channels.console]"
) -> Path:
    """A config for the database ``digest.db`` beside it, with the three watchlists."""
    folder = write_watchlists(tmp_path / "watchlists")
    config = tmp_path / "monitor.toml"
    config.write_text(
        f'database = "digest.db"\nwatchlists = "{folder.name}"\n'
        f'[daemon]\ncheck_every = "1s"\nshutdown_grace = "2s"\n'
        f"[digest]\n{digest}\n{channels}\n",
        encoding="utf-8",
    )
    return config


def fill(path: Path) -> Database:
    """Create the database at ``path`` with the week, its baseline and the feed health."""
    db = storage.open_database(path)
    feed_ids = {}
    with db.conn:
        for site in OUTLETS:
            feed_ids[site] = _feed(db, f"https://{site}/feed", last_success="2026-11-22T20:00:00Z")
        _feed(db, FAILING_FEED, last_success="2026-11-08T10:00:00Z", errors=14, error="HTTP 503")
        silent = _feed(db, SILENT_FEED, last_success="2026-11-22T20:00:00Z")
        _article(
            db, silent, "Old news from a quiet outlet", "2026-11-01T08:00:00Z", "quiet.example.org"
        )
        for n, item in enumerate([*THIS_WEEK, *WEEK_BEFORE, *OUTSIDE]):
            article = _article(db, feed_ids[item.site], item.title, item.when, item.site, n)
            explanation = {
                "rule": WATCHLISTS[item.watchlist][1],
                "score": item.score,
                "terms": list(item.terms),
                "hits": [],
                "snippets": list(item.snippets),
            }
            db.execute(
                "INSERT INTO matches (article_id, watchlist, severity, score, matched_at, "
                "explanation) VALUES (?, ?, 'digest', ?, ?, ?)",
                [article, item.watchlist, item.score, item.when, json.dumps(explanation)],
            )
        for i in range(2):
            db.execute(
                "INSERT INTO outbox (dedup_key, channel, kind, payload, status, attempts, "
                "created_at, next_attempt_at, last_error) VALUES (?, 'email', 'alert', ?, 'dead', "
                "12, '2026-11-18T00:00:00Z', '2026-11-18T00:00:00Z', 'SMTP 550 mailbox unavailable')",
                [f"alert:rift:dead{i}:email", json.dumps({"title": f"Dead alert {i}"})],
            )
    return db


def _feed(
    db: Database, url: str, *, last_success: str, errors: int = 0, error: str | None = None
) -> int:
    cursor = db.execute(
        "INSERT INTO feeds (url, source, added_at, last_checked_at, last_success_at, "
        "next_check_at, last_status, error_count, last_error) VALUES (?, 'config', "
        "'2026-10-01T00:00:00Z', '2026-11-22T20:00:00Z', ?, '2026-11-22T20:15:00Z', ?, ?, ?)",
        [url, last_success, "error" if errors else "new", errors, error],
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def _article(db: Database, feed_id: int, title: str, when: str, site: str, n: int = 0) -> int:
    cursor = db.execute(
        "INSERT INTO articles (feed_id, entry_key, url, title, published, fetched_at, site, text, "
        "extraction_status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'ok')",
        [
            feed_id,
            f"entry-{n}-{when}",
            f"https://{site}/news/{n}",
            title,
            when,
            when,
            site,
            f"{title}. The body of the article follows here, long enough for a snippet.",
        ],
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid
