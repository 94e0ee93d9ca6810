"""Stories: ten outlets carrying one wire story make one alert per watchlist and channel that
lists the outlets; different stories about the same people stay apart; the same article under
a new GUID or a tracking-parameter URL is the same article."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, monitor, rss, seed_body
from pytest_httpserver import HTTPServer
from sqlite_utils import Database
from test_storage import article
from werkzeug import Request, Response

import storage
from monitor import stories
from monitor.extract import read_text
from storage import articles
from storage import stories as stored
from watchlists import Document, Matcher

STORIES = FIXTURES / "stories"
WIRE = (STORIES / "wire.txt").read_text(encoding="utf-8").splitlines()
OTHER = [(STORIES / f"other-{i}.txt").read_text(encoding="utf-8").splitlines() for i in (1, 2)]
OUTLETS = [f"Outlet {i}" for i in range(1, 11)]


def outlet_copy(i: int) -> list[str]:
    """Outlet i's copy of the wire story: its own dateline and credit, a word changed here and
    there, a paragraph dropped; the last outlet keeps only the first three paragraphs."""
    paragraphs = list(WIRE)
    if i == 9:
        return paragraphs[:3]
    paragraphs[0] = paragraphs[0].replace("BAKU, July 9 -", f"BAKU ({OUTLETS[i]}) -")
    if i % 2:
        paragraphs[3] = paragraphs[3].replace("insisted", "maintained")
        del paragraphs[5]
    if i % 3 == 0:
        paragraphs[4] = paragraphs[4].replace("symbolic blow", "symbolic setback")
    paragraphs.append(f"Reporting by {OUTLETS[i]} staff; editing by the news desk.")
    return paragraphs


def html(paragraphs: list[str]) -> str:
    return "".join(f"<p>{p}</p>" for p in paragraphs)


WATCHLISTS = {
    "rift.toml": 'severity = "immediate"\nquery = "(Azerbaijan OR Baku) AND (Russia OR Moscow OR Kremlin)"\n',
    "people.toml": 'severity = "immediate"\nchannels = ["slack", "webhook"]\nquery = "Aliyev AND (Putin OR Peskov)"\n',
    "slow.toml": 'severity = "digest"\nquery = "Baku"\n',
}


class Hooks:
    """The Slack webhook and the JSON webhook, recording what they receive."""

    def __init__(self, server: HTTPServer) -> None:
        self.slack: list[dict[str, Any]] = []
        self.webhook: list[dict[str, Any]] = []
        server.expect_request("/slack", method="POST").respond_with_handler(self._to(self.slack))
        server.expect_request("/hook", method="POST").respond_with_handler(self._to(self.webhook))

    @staticmethod
    def _to(into: list[dict[str, Any]]) -> Any:
        def handler(request: Request) -> Response:
            into.append(json.loads(request.data))
            return Response("ok")

        return handler


def setup(
    tmp_path: Path, server: HTTPServer, monkeypatch: pytest.MonkeyPatch, feeds: list[str]
) -> Path:
    folder = tmp_path / "watchlists"
    folder.mkdir()
    for name, body in WATCHLISTS.items():
        (folder / name).write_text(body, encoding="utf-8")
    monkeypatch.setenv("TEST_SLACK_URL", server.url_for("/slack"))
    monkeypatch.setenv("TEST_WEBHOOK_URL", server.url_for("/hook"))
    lines = [
        'database = "monitor.db"',
        f'watchlists = "{folder}"',
        "[fetch]",
        "allow_private_networks = true",
        "fetch_pages = false",
        "[alerts]",
        'group_wait = "1m"',
        "[channels.console]",
        "[channels.slack]",
        'webhook_url_env = "TEST_SLACK_URL"',
        "[channels.webhook]",
        'url_env = "TEST_WEBHOOK_URL"',
    ]
    for url in feeds:
        lines += ["[[feeds]]", f'url = "{url}"']
    config = tmp_path / "monitor.toml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config


def serve_feed(server: HTTPServer, path: str, title: str, items: list[dict[str, str]]) -> str:
    server.expect_request(path).respond_with_data(
        rss(items, title=title), content_type="application/rss+xml"
    )
    return server.url_for(path)


def test_ten_outlets_one_wire_story_alert_once_per_watchlist_and_channel(
    httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hooks = Hooks(httpserver)
    feeds = []
    for i, name in enumerate(OUTLETS):
        items = [
            {
                "title": f"Baku shuts Russian House ({name} headline {i})",
                "link": f"http://outlet{i}.test/world/baku-russian-house-{i}",
                "guid": f"outlet{i}-1",
                "description": html(outlet_copy(i)),
            }
        ]
        if i == 0:  # the first outlet also carries the two other stories about the same people
            for j, other in enumerate(OTHER):
                items.append(
                    {
                        "title": f"Other story {j + 1}",
                        "link": f"http://outlet0.test/other-{j + 1}",
                        "description": html(other),
                    }
                )
        feeds.append(serve_feed(httpserver, f"/o{i}/feed.xml", name, items))
    config = setup(tmp_path, httpserver, monkeypatch, feeds)

    result = monitor("fetch", config=config)
    assert result.returncode == 0, result.stderr
    assert "articles: 12 new" in result.stdout

    db = Database(tmp_path / "monitor.db")
    story_of = {r["title"]: r["story_id"] for r in db["articles"].rows}
    wire_stories = {s for t, s in story_of.items() if t.startswith("Baku shuts")}
    assert len(wire_stories) == 1  # ten copies, one story
    assert len({story_of["Other story 1"], story_of["Other story 2"], *wire_stories}) == 3

    rows = list(db["outbox"].rows)
    # rift on 3 channels + people on 2 channels, for 3 stories; the digest watchlist: none.
    assert len(rows) == 3 * 3 + 3 * 2
    assert {r["status"] for r in rows} == {"sent"}
    per_key = {(r["dedup_key"].split(":")[1], r["channel"]) for r in rows}
    assert len(per_key) == 5
    # The digest severity is matched and stored, but waits (no outbox row) for the digest.
    assert db.execute("SELECT count(*) FROM matches WHERE watchlist = 'slow'").fetchone()[0] == 12

    # The JSON webhook got one roll-up: six alerts, the wire story once per watchlist.
    [body] = hooks.webhook
    assert body["count"] == 6 and len(body["alerts"]) == 6
    wire = [a for a in body["alerts"] if a["story_id"] in wire_stories]
    assert sorted(a["watchlist"] for a in wire) == ["people", "rift"]
    for alert in wire:
        assert sorted([alert["outlet"], *alert["also_in"]]) == sorted(OUTLETS)
        assert len(alert["also_in"]) == 9
    others = [a for a in body["alerts"] if a["story_id"] not in wire_stories]
    assert sorted(a["title"] for a in others) == ["Other story 1"] * 2 + ["Other story 2"] * 2
    assert all(a["also_in"] == [] for a in others)

    # Slack: one message (paced, rolled up), the outlets named in each wire alert.
    [message] = hooks.slack
    text = json.dumps(message)
    assert message["text"].startswith("6 alerts: ")
    assert text.count("Also in: ") == 2
    # The console: the rift watchlist's three stories, rolled up into one message.
    assert result.stdout.count("[immediate] rift:") == 3
    assert result.stdout.count("also in: ") == 1

    # Polled again: the same article under a new GUID and a tracking-parameter URL is known;
    # a copy under a new GUID and a new URL is stored but joins the story: no new alert.
    httpserver.clear()
    Hooks(httpserver)
    serve_feed(
        httpserver,
        "/o0/feed.xml",
        OUTLETS[0],
        [
            {
                "title": "Baku shuts Russian House (updated)",
                "link": "http://OUTLET0.test/world/baku-russian-house-0?utm_source=rss&fbclid=x1",
                "guid": "outlet0-1-new-guid",
                "description": html(outlet_copy(0)),
            },
            {
                "title": "Baku shuts Russian House (republished)",
                "link": "http://outlet0.test/2025/07/09/republished",
                "guid": "outlet0-republished",
                "description": html(outlet_copy(4)),
            },
        ],
    )
    again = monitor("fetch", "--all", config=config)
    assert again.returncode == 0, again.stderr
    assert "articles: 1 new" in again.stdout and "alerts: 0 sent" in again.stdout
    db = Database(tmp_path / "monitor.db")
    assert db["outbox"].count == 15
    republished = next(r for r in db["articles"].rows if r["guid"] == "outlet0-republished")
    assert republished["story_id"] in wire_stories


def test_signatures_group_copies_and_keep_other_stories_apart() -> None:
    wire = stories.signature("\n".join(WIRE))
    assert wire is not None
    for i in range(1, 10):
        copy = stories.signature("\n".join(outlet_copy(i)))
        assert copy is not None and stories.same_story(wire, copy), i
    texts = ["\n".join(o) for o in OTHER] + ["\n".join(seed_body(s)) for s in ("000", "002", "004")]
    sigs = [stories.signature(t) for t in texts]
    for a in [wire, *sigs]:
        for b in sigs:
            assert a is not None and b is not None
            if a is not b:
                assert not stories.same_story(a, b)
                assert stories.jaccard_estimate(a, b) < 0.1


def test_short_texts_are_never_grouped_by_similarity() -> None:
    assert stories.signature("Baku summons the Russian ambassador over Yekaterinburg.") is None


def test_signature_survives_storage_round_trip() -> None:
    sig = stories.signature("\n".join(WIRE))
    assert sig is not None
    again = stories.Signature.from_bytes(sig.to_bytes(), sig.shingles)
    assert again == sig and stories.jaccard_estimate(sig, again) == 1.0
    assert len(set(sig.band_keys)) == stories.BANDS


# Latin, Azerbaijani, Turkish and Cyrillic letters, accents composed and not, a ligature,
# typographic dashes and quotes: every path of the words' folding.
MIXED = "\n".join(
    [
        *WIRE,
        "Erdoğan və Əliyev Şuşada görüşdü; «Ёлка» и встреча в Баку — snake_case ﬁnal, naïve café.",
    ]
)


@pytest.mark.parametrize("seed", ["1", "2"])
def test_signatures_are_the_same_in_every_process(seed: str) -> None:
    """Workers compute signatures that the daemon stores and compares later: the hashes must
    not depend on the process (str hashing is salted per process, and the folding of
    non-Latin text goes through sets)."""
    text = MIXED
    script = (
        "import sys; from monitor.stories import signature; "
        "print(signature(sys.stdin.read()).to_bytes().hex())"
    )
    other = subprocess.run(
        [sys.executable, "-c", script],
        input=text,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": seed},
    )
    here = stories.signature(text)
    assert here is not None
    assert other.stdout.strip() == here.to_bytes().hex()


def test_a_copy_that_drops_accents_or_changes_typography_is_the_same_text() -> None:
    text = "\n".join([*WIRE, "Erdogan's office in Ankara said he had spoken to Aliyev."])
    typographic = text.replace("'", "\u2019").replace("-", "\u2014")
    accented = text.replace("Erdogan", "Erdoğan")
    signed = stories.signature(text)
    assert signed is not None
    assert stories.signature(accented) == stories.signature(typographic) == signed


@pytest.mark.parametrize(
    "text",
    [
        "\n".join(WIRE),
        "\n".join(OTHER[0]).upper(),
        # decomposed accents, Cyrillic with ё, typographic quotes, an underscore, a ligature
        unicodedata.normalize(
            "NFD",
            " ".join(
                f"Erdoğan and Əliyev met in Şuşa ({n}); «ёлка» snake_case ﬁnal" for n in range(8)
            ),
        ),
        " ".join(f"Встреча {n} в Баку: Пашинян и Алиев обсудили «коридор»." for n in range(8)),
    ],
)
def test_a_documents_signature_is_its_texts(text: str) -> None:
    """Workers sign an article from the words its matching read (``document_signature``);
    stored texts are re-signed from the text itself (``signature``): the two must agree."""
    document = Document(title="t", text=text)
    Matcher([]).match(document)
    made = stories.document_signature(document)
    assert made is not None
    assert made == stories.signature(text)


def test_signatures_are_those_stored_signatures_were_made_with() -> None:
    """A change to the words (``watchlists.normalize``, which they share with matching) or to
    the hashing changes every signature: stored ones must then be re-made, so such a change
    bumps ``SIGNATURE_VERSION`` and this pinned digest with it."""
    sig = stories.signature(MIXED)
    assert sig is not None and sig.shingles == 327
    digest = hashlib.blake2b(sig.to_bytes(), digest_size=8).hexdigest()
    assert (stories.SIGNATURE_VERSION, digest) == ("5", "91e8dd2834f46fa7")


def test_long_words_that_share_a_prefix_are_told_apart() -> None:
    long_words = ["представительства", "представительство"]  # 34 bytes, same first 32
    first = stories.shingle_hashes(" ".join(["встреча", "в", "Баку", "и", long_words[0]]))
    second = stories.shingle_hashes(" ".join(["встреча", "в", "Баку", "и", long_words[1]]))
    assert first and second and first != second


def test_signatures_made_by_another_hashing_are_remade_at_start(tmp_path: Path) -> None:
    """After an upgrade that changes the hashing, a copy of a story stored before it still
    joins that story."""
    from storage import articles as stored_articles
    from storage import meta, open_database
    from storage.articles import NewArticle

    db = open_database(tmp_path / "m.db")
    text = "\n".join(WIRE)

    def add(key: str) -> int:
        return stored_articles.insert_article(
            db,
            NewArticle(
                feed_id=None,
                entry_key=key,
                guid=key,
                url=f"https://{key}.example/a",
                canonical_url=f"https://{key}.example/a",
                title="Wire story",
                author=None,
                published=None,
                fetched_at="2026-11-20T08:00:00Z",
                language="en",
                site=f"{key}.example",
                text=text,
                extraction_status="extracted",
                extraction_reason=None,
            ),
        )

    first = add("one")
    stories.assign_story(db, first, "Wire story", stories.signature(text))
    # As the upgrade to version 5 leaves it: no band keys stored yet, another version mark.
    db.execute("UPDATE article_signatures SET band_keys = NULL")
    meta.put(db, "story_signature_version", "1")
    db = open_database(tmp_path / "m.db")  # the upgraded version starts
    assert stories.refresh_signatures(db) == 1
    assert stories.refresh_signatures(db) == 0  # once
    second = add("two")
    assert stories.assign_story(db, second, "Wire story", stories.signature(text)) == first


def test_band_keys_are_integers_that_tell_the_bands_apart() -> None:
    sig = stories.signature("\n".join(WIRE))
    assert sig is not None
    keys = sig.band_keys
    assert all(isinstance(k, int) and -(2**63) <= k < 2**63 for k in keys)
    # Two bands holding the same rows still get different keys.
    same_rows = stories.Signature((7,) * stories.PERMUTATIONS, 100)
    assert len(set(same_rows.band_keys)) == stories.BANDS


def test_stored_articles_are_compared_on_the_text_the_watchlists_read(tmp_path: Path) -> None:
    """A new article is signed on its summary and text (what the watchlists read); the
    stored candidates it is checked against, and the signatures re-made at a version bump,
    read the same."""
    db = storage.open_database(tmp_path / "m.db")
    ids = {}
    for key, summary in (("with", "Baku recalls its envoy"), ("without", None), ("empty", "")):
        ids[key] = articles.insert_article(
            db, article(key, "Talks went on.", title=key, summary=summary)
        )
    read = stored.titles_and_texts(db, list(ids.values()))
    assert read[ids["with"]] == ("with", read_text("Baku recalls its envoy", "Talks went on."))
    assert read[ids["without"]] == ("without", "Talks went on.")
    assert read[ids["empty"]] == ("empty", read_text("", "Talks went on."))
    db.execute(
        "INSERT INTO article_signatures (article_id, story_id, shingles, signature, created_at) "
        "VALUES (?, ?, 0, x'', '2025-07-10T08:00:00Z')",
        [ids["with"], ids["with"]],
    )
    assert stored.signed_articles(db) == [(ids["with"], read[ids["with"]][1])]
    db.close()
