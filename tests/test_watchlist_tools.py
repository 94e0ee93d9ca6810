"""Building a draft watchlist from a corpus, and testing a watchlist before use: the library
calls and the `monitor watchlists build|test` commands (run as the real command)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import FIXTURES, monitor, write_config

import storage
from storage import articles, clock
from storage.articles import NewArticle
from watchlists import Document, Matcher, load_file
from watchlists.build import Background, build, html_text, read_corpus, render
from watchlists.errors import WatchlistError, WatchlistFileError
from watchlists.replay import load_cases, replay, run_cases

RAW_SEEDS = FIXTURES / "seeds" / "raw"

# --------------------------------------------------------------------------- build


@pytest.fixture(scope="module")
def seed_draft_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("draft") / "seed-draft.toml"
    path.write_text(render(build(RAW_SEEDS, name="seed-draft")), encoding="utf-8")
    return path


def test_draft_from_the_seed_corpus_loads_and_matches_every_article(seed_draft_path: Path) -> None:
    watchlist = load_file(seed_draft_path)
    assert watchlist.name == "seed-draft"
    matcher = Matcher([watchlist])
    for path in sorted(RAW_SEEDS.glob("*.txt")):
        assert matcher.match(Document(text=path.read_text(encoding="utf-8"))), path.name


def test_draft_groups_entities_with_their_aliases(seed_draft_path: Path) -> None:
    groups = load_file(seed_draft_path).groups
    assert {"azerbaijan", "russia", "baku", "aliyev"} <= set(groups)
    assert {"Azerbaijan", "Azerbaijani", "Azerbaijanis"} <= set(groups["azerbaijan"])
    assert "President Ilham Aliyev" in groups["aliyev"]
    # Sentence openers and ordinary capitalised words are no entities.
    assert not {"the", "this", "but", "however"} & set(groups)


def test_draft_topic_words_are_distinctive_not_common(seed_draft_path: Path) -> None:
    topic = load_file(seed_draft_path).groups["topic"]
    assert "peacekeepers" in topic
    assert not {"said", "would", "their", "about", "which"} & set(topic)


def test_draft_is_commented_for_the_editor(seed_draft_path: Path) -> None:
    text = seed_draft_path.read_text(encoding="utf-8")
    assert text.startswith("# Draft watchlist built from 5 articles:")
    assert "# The draft query matches 5 of the 5 articles." in text
    assert "# distinctive words: far more frequent here than in the background list" in text
    assert "# name; in 5 of 5 articles" in text


def test_build_finds_acronyms_and_multi_word_names_in_html(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    pages = [
        "The BTC pipeline and the TANAP line carry gas west. The Middle Corridor grows.",
        "Officials said BTC volumes rose while TANAP expanded along the Middle Corridor.",
        "Shipping on the Middle Corridor doubled; BTC and TANAP were named again.",
    ]
    for number, body in enumerate(pages):
        html = f"<html><head><script>var Fake = 'ZZTOP ZZTOP';</script></head><body><p>{body}</p></body></html>"
        (corpus / f"{number}.html").write_text(html, encoding="utf-8")
    (corpus / "notes.md").write_text("ignored", encoding="utf-8")
    draft = build(corpus, name="corridors")
    aliases = {alias for group in draft.groups for alias in group.aliases}
    assert {"BTC", "TANAP", "Middle Corridor"} <= aliases
    assert "ZZTOP" not in aliases  # script text is no article text
    assert draft.covered == 3
    assert draft.articles == ["0.html", "1.html", "2.html"]


def test_html_text_skips_scripts_and_breaks_blocks() -> None:
    html = "<p>One</p><script>two()</script><div>Three &amp; four</div>"
    assert html_text(html).split() == ["One", "Three", "&", "four"]


def test_background_knows_common_words_in_english_and_russian() -> None:
    background = Background.shipped()
    assert background.frequency("the") > 7
    assert background.knows("Который")
    assert not background.knows("Zangezur")
    assert background.frequency("Zangezur") < background.frequency("war")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing", "is not a folder"),
        (lambda p: p, "no .txt or .html articles"),
    ],
    ids=["missing-folder", "empty-folder"],
)
def test_build_errors(tmp_path: Path, make: object, message: str) -> None:
    with pytest.raises(WatchlistError, match=message):
        read_corpus(make(tmp_path))  # type: ignore[operator]


def test_cli_build_writes_a_loadable_draft_and_refuses_to_overwrite(tmp_path: Path) -> None:
    output = tmp_path / "rift-draft.toml"
    result = monitor("watchlists", "build", str(RAW_SEEDS), "-o", str(output))
    assert result.returncode == 0, result.stderr
    assert "matches 5 of 5 articles" in result.stdout
    assert load_file(output).name == "rift-draft"
    again = monitor("watchlists", "build", str(RAW_SEEDS), "-o", str(output))
    assert again.returncode == 2
    assert "already exists" in again.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    failed = monitor("watchlists", "build", str(empty), "-o", str(tmp_path / "x.toml"))
    assert failed.returncode == 2
    assert "no .txt or .html articles" in failed.stderr


# --------------------------------------------------------------------------- test: cases

WATCHLIST = """\
name = "rift-test"
query = '@azerbaijan AND @russia'

[groups]
azerbaijan = ["Azerbaijan", "Baku", "Алиев*"]
russia = ["Russia", "Moscow", "Kremlin"]
"""
CASES_TOML = """\
[[cases]]
name = "both countries"
text = "Baku summoned the Russian envoy after Moscow's raid."
match = true

[[cases]]
name = "headline only"
title = "Kremlin rebukes Baku"
match = true

[[cases]]
name = "Bakunin is no Baku"
text = "Moscow reissued Bakunin's essays."
match = false

[[cases]]
name = "missed: Azerbaijani spelling"
text = "Azerbaijani officials and Russia."
match = true

[[cases]]
name = "false alarm: a Navy Day teaser"
text = "Baku hosted a regatta; Russia's Navy Day parade was cancelled."
match = false
"""


@pytest.fixture
def watchlist_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "watchlists"
    folder.mkdir()
    (folder / "rift-test.toml").write_text(WATCHLIST, encoding="utf-8")
    return folder


def test_cases_give_precision_and_recall(watchlist_folder: Path, tmp_path: Path) -> None:
    path = tmp_path / "cases.toml"
    path.write_text(CASES_TOML, encoding="utf-8")
    report = run_cases(load_file(watchlist_folder / "rift-test.toml"), load_cases(path))
    assert (report.true_positives, report.false_positives) == (2, 1)
    assert (report.false_negatives, report.true_negatives) == (1, 1)
    assert report.precision == pytest.approx(2 / 3)
    assert report.recall == pytest.approx(2 / 3)
    assert [case.label for case, _ in report.wrong] == [
        "missed: Azerbaijani spelling",
        "false alarm: a Navy Day teaser",
    ]


def test_cli_test_cases_jsonl(watchlist_folder: Path, tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    rows = [
        {"text": "Baku and Moscow.", "match": True},
        {"text": "Moscow alone.", "match": False},
        {"text": "Алиеву позвонили из Kremlin", "match": True},
        {"text": "Moscow and Baku again.", "match": False},
    ]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", "utf-8")
    config = write_config(tmp_path, [], watchlists=watchlist_folder)
    result = monitor("watchlists", "test", "rift-test", "--cases", str(path), config=config)
    assert result.returncode == 0, result.stderr
    assert "4 cases; precision 0.67, recall 1.00" in result.stdout
    assert "false alarm: line 4: Baku, Moscow" in result.stdout


@pytest.mark.parametrize(
    ("content", "suffix", "message"),
    [
        ('{"text": "x"}\n', ".jsonl", "line 1: needs match = true or false"),
        ("not json\n", ".jsonl", "line 1: not JSON"),
        ('{"match": true}\n', ".jsonl", "line 1: needs a text or a title"),
        ("", ".jsonl", "holds no cases"),
        ("[[cases]]\ntext = 5\nmatch = true\n", ".toml", "case 1: title, text, site and lang"),
        ("[[cases]\n", ".toml", "is not valid TOML"),
    ],
    ids=["no-label", "not-json", "no-text", "empty", "text-not-string", "bad-toml"],
)
def test_bad_case_files_name_the_case(
    tmp_path: Path, content: str, suffix: str, message: str
) -> None:
    path = tmp_path / f"cases{suffix}"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(WatchlistFileError, match=message):
        load_cases(path)


# --------------------------------------------------------------------------- test: replay


def stored(key: str, title: str, text: str, fetched_at: str) -> NewArticle:
    return NewArticle(
        feed_id=None,
        entry_key=key,
        guid=key,
        url=f"https://example.org/{key}",
        canonical_url=f"https://example.org/{key}",
        title=title,
        author=None,
        published=None,
        fetched_at=fetched_at,
        language="en",
        site="example.org",
        text=text,
        extraction_status="extracted",
        extraction_reason=None,
    )


def test_cli_replays_recent_stored_articles(watchlist_folder: Path, tmp_path: Path) -> None:
    config = write_config(tmp_path, [], watchlists=watchlist_folder)
    db = storage.open_database(tmp_path / "monitor.db")
    recent = clock.iso_now(-timedelta(days=2).total_seconds())
    old = clock.iso_now(-timedelta(days=60).total_seconds())
    articles.insert_article(
        db, stored("a", "Baku and Moscow", "Talks in Baku with Moscow.", recent)
    )
    articles.insert_article(db, stored("b", "Other news", "Moscow weather today.", recent))
    articles.insert_article(db, stored("c", "Kremlin", "The Kremlin and Baku.", recent))
    articles.insert_article(db, stored("d", "Old", "Baku and Russia, long ago.", old))
    db.close()
    result = monitor("watchlists", "test", "rift-test", "--since", "30d", config=config)
    assert result.returncode == 0, result.stderr
    assert "rift-test: 2 of 3 articles stored in the last 30d would have matched" in result.stdout
    assert "terms (matched articles): Baku (2), Kremlin (1), Moscow (1)" in result.stdout
    assert "**Baku**" in result.stdout
    wider = monitor("watchlists", "test", "rift-test", "--since", "90d", config=config)
    assert "3 of 4 articles" in wider.stdout
    unknown = monitor("watchlists", "test", "nope", config=config)
    assert unknown.returncode == 2
    assert "no watchlist named 'nope' (watchlists: rift-test)" in unknown.stderr


def test_replay_library_counts_and_samples(watchlist_folder: Path) -> None:
    watchlist = load_file(watchlist_folder / "rift-test.toml")
    docs = [(f"doc{i}", Document(text=f"Baku and Moscow, item {i}.")) for i in range(8)]
    docs.append(("other", Document(text="Nothing.")))
    report = replay(watchlist, docs)
    assert (report.articles, report.matched) == (9, 8)
    assert [label for label, _ in report.samples] == [f"doc{i}" for i in range(5)]
    assert report.terms == {"Baku": 8, "Moscow": 8}
