"""Versioned schema migrations, applied in order; the version lives in ``PRAGMA user_version``.

A migration is only ever appended, never edited once released: a user's database at version N
is brought forward by running migrations N+1 onwards, each in its own transaction.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlite_utils import Database

from .errors import SchemaTooNew
from .transaction import write_transaction

V1_STATEMENTS = [
    """
    CREATE TABLE feeds (
        id INTEGER PRIMARY KEY,
        url TEXT NOT NULL UNIQUE,
        title TEXT,
        site_url TEXT,
        interval_s INTEGER,
        enabled INTEGER NOT NULL DEFAULT 1,
        source TEXT NOT NULL DEFAULT 'cli',
        etag TEXT,
        last_modified TEXT,
        content_hash TEXT,
        added_at TEXT NOT NULL,
        last_checked_at TEXT,
        last_success_at TEXT,
        next_check_at TEXT,
        last_status TEXT,
        error_count INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        last_error_kind TEXT
    )
    """,
    "CREATE INDEX feeds_due ON feeds(enabled, next_check_at)",
    """
    CREATE TABLE articles (
        id INTEGER PRIMARY KEY,
        feed_id INTEGER REFERENCES feeds(id) ON DELETE SET NULL,
        entry_key TEXT NOT NULL,
        guid TEXT,
        url TEXT,
        canonical_url TEXT,
        title TEXT NOT NULL DEFAULT '',
        author TEXT,
        published TEXT,
        fetched_at TEXT NOT NULL,
        language TEXT,
        site TEXT,
        text TEXT NOT NULL DEFAULT '',
        extraction_status TEXT NOT NULL,
        extraction_reason TEXT,
        UNIQUE(feed_id, entry_key)
    )
    """,
    "CREATE INDEX articles_canonical_url ON articles(canonical_url)",
    "CREATE INDEX articles_fetched_at ON articles(fetched_at)",
    """
    CREATE VIRTUAL TABLE articles_fts USING fts5(
        title, text, content='articles', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2'
    )
    """,
    """
    CREATE TRIGGER articles_ai AFTER INSERT ON articles BEGIN
        INSERT INTO articles_fts(rowid, title, text) VALUES (new.id, new.title, new.text);
    END
    """,
    """
    CREATE TRIGGER articles_ad AFTER DELETE ON articles BEGIN
        INSERT INTO articles_fts(articles_fts, rowid, title, text)
        VALUES ('delete', old.id, old.title, old.text);
    END
    """,
    """
    CREATE TRIGGER articles_au AFTER UPDATE ON articles BEGIN
        INSERT INTO articles_fts(articles_fts, rowid, title, text)
        VALUES ('delete', old.id, old.title, old.text);
        INSERT INTO articles_fts(rowid, title, text) VALUES (new.id, new.title, new.text);
    END
    """,
    """
    CREATE TABLE matches (
        id INTEGER PRIMARY KEY,
        article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        watchlist TEXT NOT NULL,
        severity TEXT NOT NULL,
        score REAL NOT NULL DEFAULT 0,
        matched_at TEXT NOT NULL,
        explanation TEXT NOT NULL,
        UNIQUE(article_id, watchlist)
    )
    """,
    "CREATE INDEX matches_watchlist ON matches(watchlist, matched_at)",
    """
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        dedup_key TEXT NOT NULL UNIQUE,
        channel TEXT NOT NULL,
        kind TEXT NOT NULL,
        match_id INTEGER REFERENCES matches(id) ON DELETE SET NULL,
        payload TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        next_attempt_at TEXT NOT NULL,
        sent_at TEXT,
        last_error TEXT
    )
    """,
    "CREATE INDEX outbox_due ON outbox(status, next_attempt_at)",
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
]


def _v1(db: Database) -> None:
    for statement in V1_STATEMENTS:
        db.execute(statement)


V2_STATEMENTS = [
    # Site-learned boilerplate: how many articles of a site carried each block fingerprint.
    """
    CREATE TABLE boilerplate (
        site TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        articles INTEGER NOT NULL DEFAULT 0,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        sample TEXT NOT NULL,
        PRIMARY KEY (site, fingerprint)
    )
    """,
    # Entries whose processing failed and is retried at later polls, or was given up.
    """
    CREATE TABLE entry_attempts (
        feed_id INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
        entry_key TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        gave_up INTEGER NOT NULL DEFAULT 0,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (feed_id, entry_key)
    )
    """,
]


def _v2(db: Database) -> None:
    for statement in V2_STATEMENTS:
        db.execute(statement)


STORIES_STATEMENTS = [
    # A story groups near-duplicate articles (syndicated copies, rewrites of one wire story);
    # its id is the id of its first article, so an alert's dedup key names the story.
    """
    CREATE TABLE stories (
        id INTEGER PRIMARY KEY,
        title TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        articles INTEGER NOT NULL DEFAULT 1
    )
    """,
    "ALTER TABLE articles ADD COLUMN story_id INTEGER REFERENCES stories(id)",
    "CREATE INDEX articles_story ON articles(story_id)",
    # MinHash signatures of recent articles and their LSH band keys, for candidate lookup.
    """
    CREATE TABLE article_signatures (
        article_id INTEGER PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
        story_id INTEGER NOT NULL,
        shingles INTEGER NOT NULL,
        signature BLOB NOT NULL,
        created_at TEXT NOT NULL
    )
    """,
    """
    CREATE TABLE story_bands (
        band_key TEXT NOT NULL,
        article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        created_at TEXT NOT NULL
    )
    """,
    "CREATE INDEX story_bands_key ON story_bands(band_key)",
    "CREATE INDEX story_bands_created ON story_bands(created_at)",
    "CREATE INDEX article_signatures_created ON article_signatures(created_at)",
    # Email recipients still owed an alert after a partial refusal (JSON list; NULL: all).
    "ALTER TABLE outbox ADD COLUMN recipients TEXT",
]


def _stories(db: Database) -> None:
    for statement in STORIES_STATEMENTS:
        db.execute(statement)


def _digest_indexes(db: Database) -> None:
    """The weekly digest reads each feed's latest article (silent feeds) and each period's
    digest-kind outbox rows; both were full scans."""
    db.execute("CREATE INDEX IF NOT EXISTS articles_feed_fetched ON articles(feed_id, fetched_at)")
    db.execute("CREATE INDEX IF NOT EXISTS outbox_kind_status ON outbox(kind, status)")


def _outbox_claims(db: Database) -> None:
    """Who holds a claimed outbox row (``claim_token``: only that sender may mark it), which
    message it went out in (``batch_id``: after a crash the same rows are re-sent together, so
    the repeat carries the same Message-ID), and an index for the digest's ``matched_at``
    range over every watchlist."""
    db.execute("ALTER TABLE outbox ADD COLUMN claim_token TEXT")
    db.execute("ALTER TABLE outbox ADD COLUMN batch_id TEXT")
    db.execute("CREATE INDEX IF NOT EXISTS matches_matched_at ON matches(matched_at)")


def _feed_schedule(db: Database) -> None:
    """Per-feed scheduling state: the URL a permanent redirect moved the feed from (so the
    config's old URL still names it), why it was disabled (HTTP 410), when it last had new
    entries and its usual gap between entries (to tell a feed that went silent), and the
    category an OPML import gave it."""
    for statement in (
        "ALTER TABLE feeds ADD COLUMN moved_from TEXT",
        "ALTER TABLE feeds ADD COLUMN disabled_reason TEXT",
        "ALTER TABLE feeds ADD COLUMN last_new_at TEXT",
        "ALTER TABLE feeds ADD COLUMN usual_gap_s REAL",
        "ALTER TABLE feeds ADD COLUMN category TEXT",
        "CREATE INDEX feeds_moved_from ON feeds(moved_from)",
    ):
        db.execute(statement)


def _boilerplate_indexes(db: Database) -> None:
    """Each page fetch asks for its site's learned fingerprints (those on N articles or more):
    without an index on the count that read every fingerprint the site ever showed. The
    last-seen index lets a cycle forget, cheaply, blocks seen too rarely to ever count."""
    db.execute("CREATE INDEX boilerplate_site_articles ON boilerplate(site, articles)")
    db.execute("CREATE INDEX boilerplate_last_seen ON boilerplate(last_seen)")


def _fts_update_trigger(db: Database) -> None:
    """Re-index an article's full text only when its title or text change: setting its story
    (on every stored article) re-indexed the whole text a second time."""
    db.execute("DROP TRIGGER articles_au")
    db.execute(
        """
        CREATE TRIGGER articles_au AFTER UPDATE OF title, text ON articles BEGIN
            INSERT INTO articles_fts(articles_fts, rowid, title, text)
            VALUES ('delete', old.id, old.title, old.text);
            INSERT INTO articles_fts(rowid, title, text) VALUES (new.id, new.title, new.text);
        END
        """
    )


def _compact_band_keys(db: Database) -> None:
    """LSH band keys as 64-bit integers in a table that is its own index (``WITHOUT ROWID``):
    the text keys, their row table and two indexes took about 110 bytes a key, 64 keys an
    article, and storing an article wrote four B-trees. Stale keys are pruned by article id
    (``stories.forget_stale_bands``). The keys are re-made from the stored texts at the next
    start (``SIGNATURE_VERSION``), so the old table is dropped here."""
    db.execute("DROP TABLE IF EXISTS story_bands")
    db.execute(
        "CREATE TABLE story_band_keys (band_key INTEGER NOT NULL, article_id INTEGER NOT NULL, "
        "PRIMARY KEY (band_key, article_id)) WITHOUT ROWID"
    )


def _block_sightings(db: Database) -> None:
    """An article's block fingerprints kept as one row (see ``storage.boilerplate``): a
    fingerprint is counted in ``boilerplate`` only once it recurs."""
    db.execute(
        "CREATE TABLE block_sightings (id INTEGER PRIMARY KEY, site TEXT NOT NULL, "
        "seen_at TEXT NOT NULL, prints BLOB NOT NULL)"
    )
    db.execute("CREATE INDEX block_sightings_site ON block_sightings(site)")


def _article_summary(db: Database) -> None:
    """An article's standfirst, taken out of its text and kept apart (see
    ``monitor.extract``); articles stored before have none."""
    db.execute("ALTER TABLE articles ADD COLUMN summary TEXT")


def _summary_in_search(db: Database) -> None:
    """The full-text index covers the summary too (title, summary, text): made anew and
    filled from the stored articles, once."""
    for trigger in ("articles_ai", "articles_ad", "articles_au"):
        db.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    db.execute("DROP TABLE IF EXISTS articles_fts")
    db.execute(
        "CREATE VIRTUAL TABLE articles_fts USING fts5(title, summary, text, content='articles', "
        "content_rowid='id', tokenize='unicode61 remove_diacritics 2')"
    )
    db.execute(
        """
        CREATE TRIGGER articles_ai AFTER INSERT ON articles BEGIN
            INSERT INTO articles_fts(rowid, title, summary, text)
            VALUES (new.id, new.title, new.summary, new.text);
        END
        """
    )
    db.execute(
        """
        CREATE TRIGGER articles_ad AFTER DELETE ON articles BEGIN
            INSERT INTO articles_fts(articles_fts, rowid, title, summary, text)
            VALUES ('delete', old.id, old.title, old.summary, old.text);
        END
        """
    )
    db.execute(
        """
        CREATE TRIGGER articles_au AFTER UPDATE OF title, summary, text ON articles BEGIN
            INSERT INTO articles_fts(articles_fts, rowid, title, summary, text)
            VALUES ('delete', old.id, old.title, old.summary, old.text);
            INSERT INTO articles_fts(rowid, title, summary, text)
            VALUES (new.id, new.title, new.summary, new.text);
        END
        """
    )
    db.execute("INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')")


def _signatures_of_read_words(db: Database) -> None:
    """Nothing to change in the tables: story signatures are now made of the words as the
    watchlists read them (``monitor.stories``, signature version 4), and the window's stored
    ones are re-made at the next start. The new schema version is there so that a daemon of an
    older version still running stops (see ``check_not_newer``) instead of storing signatures
    of the old words next to the new, which would never be re-made."""


def _band_keys_with_signatures(db: Database) -> None:
    """An article's LSH band keys are kept in its signature row, looked up through an index
    each process keeps in memory (``storage.bandindex``): the key table goes, and its daily
    pruning mark. The keys are made from the stored texts at the next start (signature
    version 5)."""
    if "band_keys" not in db["article_signatures"].columns_dict:
        db.execute("ALTER TABLE article_signatures ADD COLUMN band_keys BLOB")
    db.execute("DROP TABLE IF EXISTS story_band_keys")
    db.execute("DELETE FROM meta WHERE key = 'story_bands_pruned_at'")


MIGRATIONS: list[Callable[[Database], None]] = [
    _v1,
    _v2,
    _stories,
    _digest_indexes,
    _outbox_claims,
    _feed_schedule,
    _boilerplate_indexes,
    _fts_update_trigger,
    _compact_band_keys,
    _block_sightings,
    _article_summary,
    _summary_in_search,
    _signatures_of_read_words,
    _band_keys_with_signatures,
]
LATEST = len(MIGRATIONS)


def schema_version(db: Database) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def check_not_newer(db: Database, *, path: str) -> int:
    """The database's schema version; raise SchemaTooNew when a newer version of news-monitor
    has upgraded it (also while this one has it open: see ``monitor.daemon``)."""
    current = schema_version(db)
    if current > LATEST:
        raise SchemaTooNew(
            f"{path}: schema version {current} is newer than this version of news-monitor "
            f"understands ({LATEST})"
        )
    return current


def migrate(db: Database, *, path: str) -> int:
    """Bring the database to the latest schema; return the number of migrations applied."""
    current = check_not_newer(db, path=path)
    for version in range(current + 1, LATEST + 1):
        with write_transaction(db):
            if schema_version(db) >= version:
                continue  # another process migrated meanwhile
            MIGRATIONS[version - 1](db)
            db.execute(f"PRAGMA user_version = {version}")
    return LATEST - current
