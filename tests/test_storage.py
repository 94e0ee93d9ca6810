"""The SQLite layer on real files: migrations, WAL, full-text search, the outbox dedup key and
the one-transaction guarantee for article + matches + outbox rows."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import storage
from monitor.clean import fingerprint
from storage import articles, boilerplate, clock, feeds, matches, migrations, outbox
from storage.articles import NewArticle
from storage.matches import NewMatch


def article(key: str, text: str = "Aliyev met Pashinyan in Abu Dhabi.", **kw: object) -> NewArticle:
    values: dict[str, object] = {
        "feed_id": None,
        "entry_key": key,
        "guid": key,
        "url": f"https://example.org/{key}",
        "canonical_url": f"https://example.org/{key}",
        "title": f"Title {key}",
        "author": None,
        "published": None,
        "fetched_at": "2025-07-10T08:00:00Z",
        "language": "en",
        "site": "example.org",
        "text": text,
        "extraction_status": "extracted",
        "extraction_reason": None,
    }
    values.update(kw)
    return NewArticle(**values)  # type: ignore[arg-type]


def test_schema_is_created_once_with_wal(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "m.db"
    db = storage.open_database(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert migrations.schema_version(db) == migrations.LATEST
    assert {"feeds", "articles", "articles_fts", "matches", "outbox"} <= set(db.table_names())
    db.close()
    again = storage.open_database(path)  # re-opening applies nothing and keeps data
    assert migrations.migrate(again, path=str(path)) == 0


def test_the_write_ahead_log_is_copied_back_in_large_steps(tmp_path: Path) -> None:
    """Checkpoints every ``WAL_AUTOCHECKPOINT_PAGES`` pages, not SQLite's 1,000: the log
    outgrows 1,000 pages (with the default, each checkpoint would start it over)."""
    path = tmp_path / "m.db"
    db = storage.open_database(path)
    page = int(db.execute("PRAGMA page_size").fetchone()[0])
    db.execute("CREATE TABLE filler (data BLOB)")
    for _ in range(1500):  # one page each, one commit each (a checkpoint is tried at each)
        with db.conn:
            db.execute("INSERT INTO filler VALUES (?)", [b"x" * (page - 100)])
    assert Path(f"{path}-wal").stat().st_size > 1400 * page
    # ... and truncated back after a checkpoint that finds it larger than this
    limit = db.execute("PRAGMA journal_size_limit").fetchone()[0]
    assert limit == storage.db.WAL_KEPT_BYTES
    db.close()
    assert storage.open_database(path).execute("SELECT count(*) FROM filler").fetchone()[0] == 1500


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {migrations.LATEST + 1}")
    conn.close()
    with pytest.raises(storage.SchemaTooNew, match="newer than this version"):
        storage.open_database(path)


def test_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(storage.DatabaseUnavailable, match="cannot open database"):
        storage.open_database(path)


def test_a_next_check_further_out_than_any_wait_is_due(tmp_path: Path) -> None:
    """Set while the clock ran ahead: the feed would go unread for as long."""
    db = storage.open_database(tmp_path / "m.db")
    usual, skewed, slow = (feeds.add_feed(db, f"https://example.org/{n}.xml")[0] for n in "abc")
    db.execute(
        "UPDATE feeds SET next_check_at = ? WHERE id = ?", [clock.iso_now(6 * 86400), usual.id]
    )
    db.execute(
        "UPDATE feeds SET next_check_at = ? WHERE id = ?", [clock.iso_now(300 * 86400), skewed.id]
    )
    db.execute(  # its own interval is a month: a next check 20 days out is in order
        "UPDATE feeds SET interval_s = ?, next_check_at = ? WHERE id = ?",
        [30 * 86400, clock.iso_now(20 * 86400), slow.id],
    )
    db.conn.commit()
    assert [f.id for f in feeds.due_feeds(db, longest_wait_s=7 * 86400)] == [skewed.id]


def test_feeds_due_and_failure_bookkeeping(tmp_path: Path) -> None:
    db = storage.open_database(tmp_path / "m.db")
    feed, added = feeds.add_feed(db, "https://example.org/feed.xml")
    assert added and not feeds.add_feed(db, "https://example.org/feed.xml")[1]
    assert [f.id for f in feeds.due_feeds(db)] == [feed.id]
    later = clock.iso_now(3600)
    feeds.record_failure(db, feed.id, kind="http_5xx", message="HTTP 503", next_check_at=later)
    feeds.record_failure(db, feed.id, kind="timeout", message="timed out", next_check_at=later)
    failed = feeds.get_feed(db, feed.id)
    assert (failed.error_count, failed.last_error_kind, failed.last_status) == (
        2,
        "timeout",
        "error",
    )
    assert feeds.due_feeds(db) == [] and len(feeds.due_feeds(db, include_all=True)) == 1
    feeds.record_success(
        db,
        feed.id,
        status="new",
        next_check_at="2000-01-01T00:00:00Z",
        etag='"e"',
        last_modified=None,
        content_hash="h",
    )
    ok = feeds.get_feed(db, feed.id)
    assert (ok.error_count, ok.last_error, ok.etag) == (0, None, '"e"')
    feeds.remove_feed(db, feed.id)
    with pytest.raises(storage.NotFound):
        feeds.get_feed(db, feed.id)


def test_full_text_search_ranks_and_marks(tmp_path: Path) -> None:
    db = storage.open_database(tmp_path / "m.db")
    with db.atomic():
        articles.insert_article(
            db, article("a", "The Zangezur corridor would link Azerbaijan to Nakhchivan.")
        )
        articles.insert_article(db, article("b", "Nothing about the region here."))
    found = articles.search_articles(db, '"Zangezur corridor"')
    assert [row["title"] for row in found] == ["Title a"]
    assert "[Zangezur corridor]" in found[0]["snippet"]
    with pytest.raises(storage.StorageError, match="not valid"):
        articles.search_articles(db, '"unclosed')


def test_search_finds_words_of_the_summary_and_of_articles_stored_before_it(
    tmp_path: Path,
) -> None:
    """An article's summary (a standfirst kept apart from its text) is searched too, and the
    migration that adds it to the index fills the index from the articles already stored."""
    path = tmp_path / "m.db"
    db = storage.open_database(path)
    with db.atomic():
        articles.insert_article(
            db, article("a", "Talks went on.", summary="Baku recalls its envoy from Moscow")
        )
    found = articles.search_articles(db, "envoy")
    assert [row["title"] for row in found] == ["Title a"]
    assert "[envoy]" in found[0]["snippet"]
    # An older database: the index as it was (title and text), one article in it.
    db.execute("PRAGMA user_version = 11")
    for trigger in ("articles_ai", "articles_ad", "articles_au"):
        db.execute(f"DROP TRIGGER {trigger}")
    db.execute("DROP TABLE articles_fts")
    db.execute(
        "CREATE VIRTUAL TABLE articles_fts USING fts5(title, text, content='articles', "
        "content_rowid='id', tokenize='unicode61 remove_diacritics 2')"
    )
    db.execute("INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')")
    db.close()
    upgraded = storage.open_database(path)
    assert migrations.schema_version(upgraded) == migrations.LATEST
    assert [row["title"] for row in articles.search_articles(upgraded, "envoy")] == ["Title a"]
    assert [row["title"] for row in articles.search_articles(upgraded, "talks")] == ["Title a"]
    upgraded.close()


def test_match_and_outbox_rows_share_the_article_transaction(tmp_path: Path) -> None:
    db = storage.open_database(tmp_path / "m.db")
    match = NewMatch("w", "immediate", 2.0, {"rule": "x"}, ("console", "email"))
    with pytest.raises(RuntimeError), db.atomic():
        article_id = articles.insert_article(db, article("a"))
        matches.insert_match(db, article_id, match, {"title": "t"})
        raise RuntimeError("crash before commit")
    assert articles.count_articles(db) == 0 and matches.count_matches(db) == 0
    assert outbox.counts(db) == {"pending": 0, "sent": 0, "dead": 0}

    with db.atomic():
        article_id = articles.insert_article(db, article("a"))
        matches.insert_match(db, article_id, match, {"title": "t"})
        matches.insert_match(db, article_id, match, {"title": "t"})  # stored twice: no new rows
    assert matches.count_matches(db) == 1
    assert sorted(r.channel for r in outbox.due_rows(db)) == ["console", "email"]
    assert {r.dedup_key for r in outbox.due_rows(db)} == {
        f"alert:w:{article_id}:console",
        f"alert:w:{article_id}:email",
    }


def test_known_entry_by_key_or_canonical_url(tmp_path: Path) -> None:
    db = storage.open_database(tmp_path / "m.db")
    feed, _ = feeds.add_feed(db, "https://example.org/feed.xml")
    other, _ = feeds.add_feed(db, "https://example.org/other.xml")
    with db.atomic():
        stored = articles.insert_article(db, article("k1", feed_id=feed.id))
    assert articles.known_entry(db, feed.id, "k1") == stored
    assert articles.known_entry(db, other.id, "k1") is None
    assert articles.known_entry(db, other.id, "new-guid", ["https://example.org/k1"]) == stored


def test_learned_boilerplate_keeps_furniture_and_forgets_stale_one_off_paragraphs(
    tmp_path: Path,
) -> None:
    db = storage.open_database(tmp_path / "m.db")
    appeal = (fingerprint("Support us"), "Support us")

    def story(n: int) -> list[tuple[str, str]]:
        return [
            (fingerprint(f"Story {n} paragraph {i}"), f"Story {n} paragraph {i}") for i in range(40)
        ]

    for n in range(3):
        boilerplate.record(db, "example.org", [*story(n), appeal])
    boilerplate.record(db, "other.net", story(0))
    assert boilerplate.known(db, "example.org", min_articles=3) == {appeal[0]}
    assert boilerplate.known(db, "example.org", min_articles=4) == frozenset()
    assert boilerplate.known(db, "other.net", min_articles=2) == frozenset()  # per site
    # One-off paragraphs are kept as one sighting per article, not counted one by one.
    assert db.execute("SELECT count(*) FROM boilerplate").fetchone()[0] == 1
    assert db.execute("SELECT count(*) FROM block_sightings").fetchone()[0] == 4
    # The lookup per page uses the count index, not a scan of every fingerprint of the site.
    plan = " ".join(
        str(row[-1])
        for row in db.execute(
            "EXPLAIN QUERY PLAN SELECT fingerprint FROM boilerplate WHERE site = ? AND articles >= ?",
            ["example.org", 3],
        )
    )
    assert "boilerplate_site_articles" in plan

    # A paragraph met again is counted from its first sighting on.
    boilerplate.record(db, "example.org", story(1)[:5])
    again = db.execute(
        "SELECT articles FROM boilerplate WHERE fingerprint = ?", [story(1)[0][0]]
    ).fetchone()
    assert again[0] == 2

    assert boilerplate.forget_stale(db, min_articles=3) == 0  # all seen just now
    db.execute("UPDATE boilerplate SET last_seen = '2020-01-01T00:00:00Z'")
    db.execute("UPDATE block_sightings SET seen_at = '2020-01-01T00:00:00Z' WHERE id <= 2")
    assert boilerplate.forget_stale(db, min_articles=3) == 5  # the five story paragraphs
    assert boilerplate.known(db, "example.org", min_articles=3) == {appeal[0]}
    assert db.execute("SELECT count(*) FROM boilerplate").fetchone()[0] == 1
    assert [r[0] for r in db.execute("SELECT id FROM block_sightings ORDER BY id")] == [3, 4, 5]
    db.execute("UPDATE block_sightings SET seen_at = '2020-01-01T00:00:00Z'")
    boilerplate.forget_stale(db, min_articles=3)
    assert db.execute("SELECT count(*) FROM block_sightings").fetchone()[0] == 0


def test_learned_boilerplate_compares_with_the_sites_latest_articles_only(tmp_path: Path) -> None:
    db = storage.open_database(tmp_path / "m.db")
    old = (fingerprint("An old paragraph"), "An old paragraph")
    boilerplate.record(db, "example.org", [old])
    for n in range(boilerplate.WINDOW):
        boilerplate.record(db, "example.org", [(fingerprint(f"filler {n}"), f"filler {n}")])
    boilerplate.record(db, "other.net", [old])  # another site's sighting does not count
    boilerplate.record(db, "example.org", [old])
    assert db.execute("SELECT count(*) FROM boilerplate").fetchone()[0] == 0
    boilerplate.record(db, "example.org", [old])
    assert boilerplate.known(db, "example.org", min_articles=2) == {old[0]}


def test_learning_after_one_article_drops_a_block_from_its_second_sighting(
    tmp_path: Path,
) -> None:
    db = storage.open_database(tmp_path / "m.db")
    footer = (fingerprint("All rights reserved, Ledger Media"), "All rights reserved, Ledger Media")
    assert footer[0] not in boilerplate.known(db, "example.org", min_articles=1)
    boilerplate.record(db, "example.org", [footer])
    assert footer[0] in boilerplate.known(db, "example.org", min_articles=1)
    assert footer[0] not in boilerplate.known(db, "example.org", min_articles=2)
    assert boilerplate.known(db, "other.net", min_articles=1) == frozenset()


def test_a_sighting_dated_in_the_future_does_not_keep_stale_ones(tmp_path: Path) -> None:
    db = storage.open_database(tmp_path / "m.db")
    for n in range(4):
        boilerplate.record(db, "example.org", [(fingerprint(f"p{n}"), f"p{n}")])
    for row_id, seen_at in [(1, "2020-01-01"), (2, "2099-01-01"), (3, "2020-01-02")]:
        db.execute(
            "UPDATE block_sightings SET seen_at = ? WHERE id = ?", [f"{seen_at}T00:00:00Z", row_id]
        )
    boilerplate.forget_stale(db, min_articles=3)
    assert [r[0] for r in db.execute("SELECT id FROM block_sightings")] == [4]


def test_full_text_index_follows_text_changes_but_not_story_changes(tmp_path: Path) -> None:
    db = storage.open_database(tmp_path / "m.db")
    with db.conn:
        article_id = articles.insert_article(db, article("k1", "Corridor talks in Baku."))

    def found(word: str) -> bool:
        row = db.execute(
            "SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?", [word]
        ).fetchone()
        return row is not None and row[0] == article_id

    def index_writes() -> int:  # FTS5 bumps its structure record on every index change
        return int(db.execute("SELECT count(*) FROM articles_fts_data").fetchone()[0])

    before = index_writes()
    db.execute("INSERT INTO stories (id, title, created_at, updated_at) VALUES (1, 't', 'x', 'x')")
    db.execute("UPDATE articles SET story_id = 1 WHERE id = ?", [article_id])
    assert index_writes() == before  # setting the story did not re-index the text
    assert found("corridor")
    db.execute("UPDATE articles SET text = 'Ceasefire in Yerevan.' WHERE id = ?", [article_id])
    assert found("ceasefire") and not found("corridor")
