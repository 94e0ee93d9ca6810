"""Watchlist matching throughput: the single-automaton engine against a regex alternation.

For 10, 100, 1,000 and 10,000 terms it measures MB/s of article text (UTF-8 bytes of title
and body) through:

- "news-monitor": ``Matcher(watchlists).match(Document(title=..., text=...))``, the public
  entry point, so normalisation (NFC, folding, canonical form), the automaton pass, the
  boolean and proximity evaluation, and the explanation of every match (offsets, score,
  snippets) are all inside the timing;
- "regex alternation": one compiled ``\\b(?:t1|t2|...)\\b`` (case-insensitive; ``stem\\w*`` for
  prefix terms, ``\\W+`` between phrase words, longest first) run with ``findall`` over the same
  raw text: finding the terms only, with no normalisation and no boolean evaluation, so it
  does less than news-monitor (and finds less: no folding, ``Erdogan`` misses ``Erdoğan``);
- "regex + normalisation": the same alternation over the normalised terms, run over the
  same normalised text news-monitor reads (``Document(...)``, then its canonical fields): the
  like-for-like peer for the finding part, still without boolean evaluation or explanation.

The terms are realistic and deterministic (seeded). The first ten are the corpus's own topic
(Azerbaijan, Baku, Aliyev, Yekaterinburg, "Sputnik Azerbaijan" against Russia*, Moscow,
Kremlin, Putin, AZAL), so the first watchlist matches most articles, as a real one would.
Of the rest, one in a hundred is a capitalised name, one in a hundred a two-word name and one
in two hundred a long lower-case word taken from the corpus (so other watchlists get hits and
are evaluated too, as other topics' watchlists would on these articles); the others are
generated person names, surnames, place names, organisations and acronyms in Latin and Cyrillic
script, a tenth of them as ``prefix*`` terms. They are shared out ten to a watchlist, each
being ``@a AND @b`` or ``@a NEAR/15 @b`` over two groups of five, so 10,000 terms are 1,000
watchlists.

The corpus is the seed articles (``../shared/seeds`` by default, ``--seeds DIR``): their
paragraphs are dealt into ``--articles`` articles of about ``--size`` bytes each, in a fixed
shuffled order, so the text is real news prose. Each configuration runs over the corpus for at
least ``--seconds`` (whole articles, after one untimed warm-up article). Time is the
process's CPU time (``time.process_time``), so that other work on a shared machine does not
count against either side.

Run from the repository root::

    .venv/bin/python benchmarks/matching.py [--seeds DIR] [--articles N] [--size BYTES]
        [--seconds S] [--terms 10,100,1000,10000] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from watchlists import Document, Matcher, Watchlist, parse_query  # noqa: E402
from watchlists.normalize import words  # noqa: E402

DEFAULT_SEEDS = REPO.parent / "shared" / "seeds"
TERM_COUNTS = (10, 100, 1_000, 10_000)
TERMS_PER_WATCHLIST = 10

_LATIN_SYLLABLES = [
    "ka", "ri", "mo", "va", "len", "dor", "za", "bek", "ta", "nur", "sa", "lim", "ro", "gan",
    "vel", "ash", "ir", "tal", "mi", "kov", "shan", "dre", "bul", "fen", "gor", "hal", "yus",
]  # fmt: skip
_CYRILLIC_SYLLABLES = [
    "ка", "ри", "мо", "ва", "лен", "дор", "за", "бек", "та", "нур", "са", "лим", "ро", "ган",
    "вел", "аш", "ир", "тал", "ми", "ков", "шан", "дре", "бул",
]  # fmt: skip
_SURNAME_ENDINGS = ["ov", "ev", "yan", "li", "shvili", "enko", "ski", "oglu", "zade"]
_CYRILLIC_ENDINGS = ["ов", "ев", "ян", "ли", "швили", "енко", "ский"]
_PLACE_ENDINGS = ["abad", "grad", "stan", "kend", "sk", "ovo", "ia"]
TOPIC = [
    "Azerbaijan", "Baku", "Aliyev", "Yekaterinburg", "Sputnik Azerbaijan",
    "Russia*", "Moscow", "Kremlin", "Putin", "AZAL",
]  # fmt: skip
_ORG_WORDS = ["Bank", "Group", "Holding", "Ministry", "Agency", "Institute", "Fund", "Council"]


@dataclass(frozen=True)
class Row:
    terms: int
    watchlists: int
    engine_mb_s: float
    engine_matches: float  # per article
    engine_hits: float  # term hits per article
    regex_mb_s: float
    normalised_regex_mb_s: float
    compile_s: float  # building the matcher: parsing, automaton


def load_corpus(seeds: Path, articles: int, size: int) -> list[tuple[str, str]]:
    """(title, text) articles dealt from the seed paragraphs in a fixed shuffled order."""
    paragraphs: list[str] = []
    for path in sorted(seeds.glob("*.txt")):
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
        paragraphs += [line for line in lines if len(line) > 40]
    if not paragraphs:
        raise SystemExit(f"no seed articles (*.txt) in {seeds}; pass --seeds DIR")
    rng = random.Random(4)
    corpus: list[tuple[str, str]] = []
    for _ in range(articles):
        body: list[str] = []
        while sum(len(p) + 1 for p in body) < size:
            body.append(rng.choice(paragraphs))
        title = body[0].split(".")[0][:120]
        corpus.append((title, "\n".join(body[1:])))
    return corpus


def _name(rng: random.Random, syllables: list[str], endings: list[str], capital: bool) -> str:
    stem = "".join(rng.choice(syllables) for _ in range(rng.randint(1, 3)))
    word = stem + rng.choice(endings)
    return word.capitalize() if capital else word


def generate_terms(count: int, corpus: Sequence[tuple[str, str]], seed: int = 7) -> list[str]:
    """``count`` distinct realistic terms (see the module docstring for the mix)."""
    rng = random.Random(seed)
    texts = [text for _, text in corpus]
    names = sorted({w for text in texts for w in re.findall(r"(?<=[a-z,] )[A-Z][a-z]{3,}", text)})
    bigrams = sorted({m for text in texts for m in re.findall(r"\b[A-Z][a-z]+ [A-Z][a-z]+", text)})
    words = sorted({w for text in texts for w in re.findall(r"\b[a-z]{9,}\b", text)})
    makers: list[Callable[[], str]] = [
        lambda: rng.choice(names),
        lambda: rng.choice(bigrams),
        lambda: rng.choice(words),
        lambda: _name(rng, _LATIN_SYLLABLES, _SURNAME_ENDINGS, True),
        lambda: (
            f"{_name(rng, _LATIN_SYLLABLES, ['a', 'o', 'an', 'ir'], True)} "
            f"{_name(rng, _LATIN_SYLLABLES, _SURNAME_ENDINGS, True)}"
        ),
        lambda: _name(rng, _CYRILLIC_SYLLABLES, _CYRILLIC_ENDINGS, True),
        lambda: _name(rng, _LATIN_SYLLABLES, _PLACE_ENDINGS, True),
        lambda: f"{_name(rng, _LATIN_SYLLABLES, ['a', 'on', 'ex'], True)} {rng.choice(_ORG_WORDS)}",
        lambda: "".join(rng.choice("ABCDEFGHKLMNPRSTUVZ") for _ in range(rng.randint(3, 5))),
    ]
    weights = [0.01, 0.01, 0.005, 0.3, 0.2, 0.15, 0.12, 0.12, 0.085]
    terms: dict[str, None] = dict.fromkeys(TOPIC[:count])
    while len(terms) < count:
        term = rng.choices(makers, weights)[0]()
        if rng.random() < 0.1 and " " not in term and len(term) > 5:
            term = term[: max(4, len(term) - 2)] + "*"
        terms.setdefault(term, None)
    return list(terms)


def build_watchlists(terms: Sequence[str]) -> list[Watchlist]:
    watchlists: list[Watchlist] = []
    for number, start in enumerate(range(0, len(terms), TERMS_PER_WATCHLIST)):
        chunk = list(terms[start : start + TERMS_PER_WATCHLIST])
        half = max(1, len(chunk) // 2)
        groups = {"a": chunk[:half], "b": chunk[half:] or chunk[:half]}
        query = "@a NEAR/15 @b" if number % 3 == 2 else "@a AND @b"
        tree = parse_query(query, groups)
        watchlists.append(Watchlist(name=f"w{number}", query=query, tree=tree, groups=groups))
    return watchlists


def regex_alternation(terms: Sequence[str]) -> re.Pattern[str]:
    parts = []
    for term in sorted(terms, key=len, reverse=True):
        if term.endswith("*"):
            parts.append(re.escape(term[:-1]) + r"\w*")
        else:
            parts.append(r"\W+".join(re.escape(word) for word in term.split()))
    return re.compile(r"\b(?:" + "|".join(parts) + r")\b", re.IGNORECASE)


def normalised_alternation(terms: Sequence[str]) -> re.Pattern[str]:
    """The alternation for text in canonical form: folded words, one space apart."""
    parts = []
    for term in sorted(terms, key=len, reverse=True):
        folded = re.escape(" ".join(words(term.rstrip("*"))))
        parts.append(folded + r"\S*" if term.endswith("*") else folded)
    return re.compile(r"(?<= )(?:" + "|".join(parts) + r")(?= )")


def throughput(
    corpus: Sequence[tuple[str, str]], work: Callable[[str, str], int], seconds: float
) -> tuple[float, int]:
    """MB/s over whole articles for at least ``seconds``, and the work's result count."""
    work(*corpus[0])  # warm-up, untimed
    done_bytes, found, elapsed, index = 0, 0, 0.0, 0
    while elapsed < seconds or index == 0:
        title, text = corpus[index % len(corpus)]
        started = time.process_time()
        found += work(title, text)
        elapsed += time.process_time() - started
        done_bytes += len(title.encode()) + len(text.encode())
        index += 1
    return done_bytes / elapsed / 1e6, found


def measure(corpus: Sequence[tuple[str, str]], count: int, seconds: float) -> Row:
    terms = generate_terms(count, corpus)
    started = time.process_time()
    watchlists = build_watchlists(terms)
    matcher = Matcher(watchlists)
    compile_s = time.process_time() - started
    pattern = regex_alternation(terms)
    normalised = normalised_alternation(terms)

    def engine(title: str, text: str) -> int:
        return len(matcher.match(Document(title=title, text=text)))

    def regex(title: str, text: str) -> int:
        return len(pattern.findall(title)) + len(pattern.findall(text))

    def normalised_regex(title: str, text: str) -> int:
        doc = Document(title=title, text=text)
        found = normalised.findall
        return len(found(doc.canonical("title"))) + len(found(doc.canonical("text")))

    engine_mb_s, _ = throughput(corpus, engine, seconds)
    regex_mb_s, _ = throughput(corpus, regex, seconds)
    normalised_mb_s, _ = throughput(corpus, normalised_regex, seconds)
    docs = [Document(title=title, text=text) for title, text in corpus]
    matches = sum(len(matcher.match(doc)) for doc in docs) / len(docs)
    hits = sum(len(matcher.index.scan(doc)) for doc in docs) / len(docs)
    return Row(
        count, len(watchlists), engine_mb_s, matches, hits, regex_mb_s, normalised_mb_s, compile_s
    )


def print_table(rows: Sequence[Row], corpus: Sequence[tuple[str, str]]) -> None:
    size = sum(len(t.encode()) + len(x.encode()) for t, x in corpus) / len(corpus)
    print(f"corpus: {len(corpus)} articles of {size / 1000:.1f} kB on average")
    print()
    print(
        "| terms | watchlists | compile s | hits/article | matches/article | news-monitor MB/s "
        "| vs 10 terms | regex alternation MB/s | regex + normalisation MB/s |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    base = rows[0].engine_mb_s
    for row in rows:
        print(
            f"| {row.terms:,} | {row.watchlists:,} | {row.compile_s:.2f} | {row.engine_hits:.1f} | "
            f"{row.engine_matches:.2f} | {row.engine_mb_s:.1f} | {row.engine_mb_s / base:.2f} | "
            f"{row.regex_mb_s:.2f} | {row.normalised_regex_mb_s:.2f} |"
        )
    last = rows[-1]
    print()
    print(
        f"targets at {last.terms:,} terms: >= 20 MB/s -> {last.engine_mb_s:.1f} "
        f"({'met' if last.engine_mb_s >= 20 else 'NOT met'}); >= half of {rows[0].terms} terms "
        f"-> {last.engine_mb_s / base:.2f} ({'met' if last.engine_mb_s >= base / 2 else 'NOT met'})"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--seeds", type=Path, default=DEFAULT_SEEDS, help="seed articles folder")
    parser.add_argument("--articles", type=int, default=200, help="articles to deal (200)")
    parser.add_argument("--size", type=int, default=6000, help="bytes per article (6000)")
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement (3)")
    parser.add_argument("--terms", default=",".join(map(str, TERM_COUNTS)), help="term counts")
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    args = parser.parse_args(argv)
    corpus = load_corpus(args.seeds, args.articles, args.size)
    rows = [measure(corpus, int(n), args.seconds) for n in args.terms.split(",")]
    if args.json:
        print(json.dumps([row.__dict__ for row in rows], indent=2))
    else:
        print_table(rows, corpus)


if __name__ == "__main__":
    main()
