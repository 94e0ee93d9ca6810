"""Story grouping benchmark: how well does ``monitor.stories`` put syndicated copies and
rewrites of one story together, while keeping different stories about the same people apart?

Pairs are constructed from real article texts (the hand-checked main text of a public
extraction benchmark set, ``wcxb-dev-articles``, plus the project's seed articles):

same story (should group)
  ``syndicated``  the wire copy with an outlet's dateline and credit line, 3% of words changed
  ``truncated``   an outlet that keeps the first half of the paragraphs
  ``rewrite``     10% of words changed, 10% of sentences dropped, two sentences added from
                  elsewhere, two paragraphs swapped
  ``heavy``       the same with 20% / 20%: a rewrite that keeps only half the wording

different stories (should stay apart)
  ``different``   two different articles (a random pair)
  ``same-people`` two different articles that both carry the same 50-word background
                  paragraph naming the same people (as follow-ups to one story do)
  ``follow-up``   a different article that repeats a fifth of the first one's sentences
                  as background
  ``seeds``       the five seed articles, all about the 2025 Russia-Azerbaijan rift:
                  Putin, Aliyev, Baku, Moscow in every one of them (10 pairs)
  ``brief``       a 70-word brief: 30 words of its own and a 40-word background passage
                  taken from anywhere in the long article (short against long, where the
                  MinHash containment estimate is coarse)

Each row of the table is a way of deciding "same story" measured on the same pairs:
"same title" (the naive peer: exact headline match, here the first line), exact Jaccard of
5-word shingles at a threshold (no sketch: the quadratic reference), the MinHash estimate with
LSH band lookup at a threshold, the estimate-only rule (MinHash Jaccard >= THRESHOLD or
containment >= CONTAINMENT, with LSH) and the shipped rule (the same, then the candidates
checked on their exact shingle sets, ``stories.verify``; the set has no headlines, so the
headline check for short texts is not exercised here). Times: signature per article, one
comparison, and the exact check.

Run from the repository root::

    .venv/bin/python benchmarks/stories.py [--bench-dir DIR] [--limit N] [--seed S]

The set defaults to ``<repo>/../shared/bench/extraction/wcxb-dev-articles`` (or
``NEWS_MONITOR_BENCH_DIR``); without it only the seed articles are used.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from monitor import stories  # noqa: E402

DEFAULT_BENCH_DIR = REPO.parent / "shared" / "bench" / "extraction"
SEEDS = REPO / "tests" / "fixtures" / "seeds"
SHARED_BACKGROUND = (
    "Relations between Baku and Moscow soured after Azerbaijani President Ilham Aliyev "
    "accused Russia of covering up the downing of an Azerbaijan Airlines jet, and Vladimir "
    "Putin's spokesman Dmitry Peskov said the Kremlin regretted the deaths of two Azerbaijani "
    "brothers in police custody in Yekaterinburg last month."
)
POSITIVE = ("syndicated", "truncated", "rewrite", "heavy")
NEGATIVE = ("different", "same-people", "follow-up", "brief", "seeds")


@dataclass(frozen=True)
class Pair:
    kind: str
    a: str
    b: str

    @property
    def same(self) -> bool:
        return self.kind in POSITIVE


def load_texts(bench_dir: Path, limit: int) -> list[tuple[str, str]]:
    """(site, text) of articles with at least 200 words."""
    truth = bench_dir / "wcxb-dev-articles" / "truth"
    texts: list[tuple[str, str]] = []
    if not truth.is_dir():
        return texts
    for path in sorted(truth.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        text = data.get("main_content") or ""
        if len(text.split()) >= 200:
            site = re.sub(r"^https?://(www\.)?", "", data.get("url", "")).split("/")[0]
            texts.append((site, text))
        if len(texts) >= limit:
            break
    return texts


def seed_texts() -> list[str]:
    return [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.body.txt"))]


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text) if s.strip()]


def change_words(text: str, share: float, vocab: list[str], rng: random.Random) -> str:
    words = text.split(" ")
    for i in range(len(words)):
        if rng.random() < share:
            words[i] = rng.choice(vocab)
    return " ".join(words)


def rewrite(text: str, share: float, other: str, vocab: list[str], rng: random.Random) -> str:
    paragraphs = [p for p in text.split("\n") if p.strip()]
    if len(paragraphs) >= 4:
        i = rng.randrange(1, len(paragraphs) - 1)
        paragraphs[i], paragraphs[i + 1] = paragraphs[i + 1], paragraphs[i]
    kept = [s for s in sentences("\n".join(paragraphs)) if rng.random() >= share]
    extra = sentences(other)[:2]
    position = rng.randrange(0, max(1, len(kept)))
    kept[position:position] = extra
    return change_words(" ".join(kept), share, vocab, rng)


def build_pairs(texts: list[tuple[str, str]], rng: random.Random) -> list[Pair]:
    vocab = [w for _, t in texts[:50] for w in t.split()[:100]] or ["word"]
    pairs: list[Pair] = []
    for i, (_site, text) in enumerate(texts):
        other = texts[(i + 1) % len(texts)][1]
        dateline = f"LONDON, July {rng.randrange(1, 28)} (Wire) - "
        credit = "\nReporting by the wire desk; editing by the night editor."
        pairs.append(
            Pair("syndicated", text, dateline + change_words(text, 0.03, vocab, rng) + credit)
        )
        paragraphs = [p for p in text.split("\n") if p.strip()]
        half = "\n".join(paragraphs[: max(1, len(paragraphs) // 2)])
        pairs.append(Pair("truncated", text, half))
        pairs.append(Pair("rewrite", text, rewrite(text, 0.10, other, vocab, rng)))
        pairs.append(Pair("heavy", text, rewrite(text, 0.20, other, vocab, rng)))
        pick = rng.randrange(len(texts) - 1)  # any other article, never this one
        pairs.append(Pair("different", text, texts[pick + (pick >= i)][1]))
        background = [s for s in sentences(text) if rng.random() < 0.2]
        pairs.append(Pair("follow-up", text, other + "\n" + " ".join(background)))
        pairs.append(
            Pair("same-people", SHARED_BACKGROUND + "\n" + text, other + "\n" + SHARED_BACKGROUND)
        )
        words = text.split()
        start = rng.randrange(0, max(1, len(words) - 40))
        brief = " ".join(other.split()[:30] + words[start : start + 40])
        pairs.append(Pair("brief", text, brief))
    seeds = seed_texts()
    for i in range(len(seeds)):
        for j in range(i + 1, len(seeds)):
            pairs.append(Pair("seeds", seeds[i], seeds[j]))
    return pairs


def exact_jaccard(a: str, b: str) -> float:
    sa, sb = stories.shingle_hashes(a), stories.shingle_hashes(b)
    return len(sa & sb) / len(sa | sb) if sa | sb else 0.0


def lsh_candidate(a: stories.Signature, b: stories.Signature) -> bool:
    return bool(set(a.band_keys) & set(b.band_keys))


Decision = Callable[[Pair], bool]


def score(pairs: list[Pair], decide: Decision) -> dict[str, float]:
    tp = fp = fn = 0
    by_kind: dict[str, list[bool]] = {}
    for pair in pairs:
        said = decide(pair)
        by_kind.setdefault(pair.kind, []).append(said)
        tp += said and pair.same
        fp += said and not pair.same
        fn += (not said) and pair.same
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    result = {"precision": precision, "recall": recall, "f1": f1}
    for kind, said in by_kind.items():
        result[kind] = sum(said) / len(said)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--bench-dir",
        type=Path,
        default=Path(os.environ.get("NEWS_MONITOR_BENCH_DIR", DEFAULT_BENCH_DIR)),
    )
    parser.add_argument("--limit", type=int, default=300, help="base articles (default 300)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    texts = load_texts(args.bench_dir, args.limit)
    if not texts:
        texts = [("seeds", t) for t in seed_texts()]
        print("note: benchmark set not found; using the seed articles only", file=sys.stderr)
    pairs = build_pairs(texts, rng)

    started = time.perf_counter()
    sigs: dict[str, stories.Signature | None] = {}
    for pair in pairs:
        for text in (pair.a, pair.b):
            if text not in sigs:
                sigs[text] = stories.signature(text)
    sig_ms = (time.perf_counter() - started) * 1000 / len(sigs)
    exact = {id(p): exact_jaccard(p.a, p.b) for p in pairs}

    def sketch(p: Pair) -> tuple[stories.Signature, stories.Signature] | None:
        a, b = sigs[p.a], sigs[p.b]
        return (a, b) if a is not None and b is not None else None

    def minhash_at(t: float) -> Decision:
        def decide(p: Pair) -> bool:
            s = sketch(p)
            return s is not None and lsh_candidate(*s) and stories.jaccard_estimate(*s) >= t

        return decide

    def estimate_only(p: Pair) -> bool:
        s = sketch(p)
        return s is not None and lsh_candidate(*s) and stories.same_story(*s)

    def shipped(p: Pair) -> bool:
        s = sketch(p)
        return (
            s is not None
            and lsh_candidate(*s)
            and stories.same_story(*s)
            and stories.verify(s[0].hashes, "", s[1].hashes, "") is not None
        )

    rows: list[tuple[str, Decision]] = [
        ("same title (first line)", lambda p: p.a.split("\n")[0] == p.b.split("\n")[0]),
    ]
    for t in (0.2, 0.3, 0.45, 0.6):
        rows.append((f"exact Jaccard >= {t}", lambda p, t=t: exact[id(p)] >= t))
    for t in (0.15, 0.2, 0.25, 0.3, 0.45, 0.6):
        rows.append((f"MinHash+LSH >= {t}", minhash_at(t)))
    rule = f"J>={stories.THRESHOLD} or C>={stories.CONTAINMENT}"
    rows.append((f"estimate only ({rule})", estimate_only))
    rows.append((f"shipped ({rule}, exact check)", shipped))

    kinds = [*POSITIVE, *NEGATIVE]
    counts = {k: sum(p.kind == k for p in pairs) for k in kinds}
    print(
        f"{len(texts)} base articles, {len(pairs)} pairs: "
        + ", ".join(f"{k} {counts[k]}" for k in kinds)
    )
    print(
        "after f1: share of pairs grouped, by kind "
        "(same story: higher is better; different stories: lower)"
    )
    header = ["method", "precision", "recall", "f1", *kinds]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for name, decide in rows:
        r = score(pairs, decide)
        cells = [name] + [f"{r[k]:.3f}" for k in ("precision", "recall", "f1")]
        cells += [f"{r.get(k, 0.0):.2f}" for k in kinds]
        print("| " + " | ".join(cells) + " |")

    pair = next(p for p in pairs if p.kind == "rewrite")
    a, b = sigs[pair.a], sigs[pair.b]
    assert a is not None and b is not None
    started = time.perf_counter()
    for _ in range(2000):
        stories.same_story(a, b)
    compare_us = (time.perf_counter() - started) * 1e6 / 2000
    started = time.perf_counter()
    for _ in range(50):
        exact_jaccard(pair.a, pair.b)
    exact_ms = (time.perf_counter() - started) * 1000 / 50
    started = time.perf_counter()
    for _ in range(50):
        stories.verify(a.hashes, "", stories.shingle_hashes(pair.b), "")
    verify_ms = (time.perf_counter() - started) * 1000 / 50
    print()
    print("| cost | value |")
    print("|---|---|")
    print(f"| MinHash signature, per article | {sig_ms:.1f} ms |")
    print(f"| signature comparison (estimate + rule) | {compare_us:.0f} µs |")
    print(f"| exact Jaccard from the two texts | {exact_ms:.2f} ms |")
    print(f"| exact check of one candidate (its text re-shingled) | {verify_ms:.2f} ms |")


if __name__ == "__main__":
    main()
