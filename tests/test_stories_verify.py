"""Grouping checked on the exact shingles, with real SQLite: a short brief that repeats a
background paragraph of a long article is not a copy of it (the MinHash containment estimate
for a short text against a long one is too coarse to say so); a copy cut short still
is; identical near-empty stub pages under different headlines are not one story."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import FIXTURES, SEEDS
from sqlite_utils import Database

import storage
from monitor import stories
from storage.articles import NewArticle, insert_article
from storage.transaction import write_transaction

OWN = (FIXTURES / "stories" / "other-1.txt").read_text(encoding="utf-8").split()


def long_article(seed: str, words: int) -> list[str]:
    text = (SEEDS / f"{seed}.body.txt").read_text(encoding="utf-8").split()
    assert len(text) >= words
    return text[:words]


def store(db: Database, title: str, text: str) -> int:
    """Store an article and give it a story, as the pipeline does; its story id."""
    with write_transaction(db):
        article_id = insert_article(
            db,
            NewArticle(
                feed_id=None,
                entry_key=f"{title}-{db['articles'].count}",
                guid=None,
                url=None,
                canonical_url=None,
                title=title,
                author=None,
                published=None,
                fetched_at="2026-11-20T08:00:00Z",
                language="en",
                site="example.org",
                text=text,
                extraction_status="ok",
                extraction_reason=None,
            ),
        )
        return stories.assign_story(db, article_id, title, stories.signature(text))


# (seed, article words, where the shared paragraph starts): the 2,500-word case, and places
# where the old estimate-only rule grouped the brief with the article.
CASES = [("002", 2500, 1200), ("003", 1000, 806), ("002", 1000, 416), ("000", 600, 234)]


@pytest.mark.parametrize(("seed", "words", "start"), CASES)
def test_a_brief_sharing_a_background_paragraph_is_its_own_story(
    tmp_path: Path, seed: str, words: int, start: int
) -> None:
    db = storage.open_database(tmp_path / "m.db")
    article = long_article(seed, words)
    brief = OWN[:30] + article[start : start + 40]  # 70 words, 40 of them background
    long_story = store(
        db, "Why are tensions rising between Russia and Azerbaijan?", " ".join(article)
    )
    assert store(db, "Baku court extends detention", " ".join(brief)) != long_story


def test_a_copy_cut_short_is_still_its_story(tmp_path: Path) -> None:
    db = storage.open_database(tmp_path / "m.db")
    article = long_article("003", 1000)
    title = "The Fraying of Russia's Caucasian Curtain"
    story = store(db, title, " ".join(article))
    assert store(db, title, " ".join(article[:400])) == story
    assert store(db, "Russia's Caucasian curtain frays", " ".join(article[:300])) == story


STUB = (
    "This content is available to subscribers only. Subscribe now to read the full story and "
    "get unlimited access to our journalism, newsletters and archive on any device today."
)


def test_identical_stub_pages_with_different_headlines_stay_apart(tmp_path: Path) -> None:
    db = storage.open_database(tmp_path / "m.db")
    assert stories.signature(STUB) is not None  # long enough to be compared at all
    first = store(db, "Aliyev and Putin meet in Dushanbe", STUB)
    assert store(db, "Caspian gas exports fall for a third month", STUB) != first
    assert store(db, "Aliyev, Putin meet in Dushanbe", STUB) == first  # same headline: a copy
