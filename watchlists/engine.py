"""Matching documents against watchlists.

A document is tokenised once into folded words with their positions per field; each
watchlist's query tree is then evaluated on that index. Evaluation collects the hits of the
terms that made the query true, for the explanation that travels with every match.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .model import Watchlist
from .normalize import Token, tokenize
from .query import And, Near, Node, Not, Or, Term

FIELDS = ("title", "text")
TITLE_WEIGHT = 3.0


@dataclass(frozen=True)
class Hit:
    term: str
    field: str
    position: int  # word index within the field
    start: int  # character offsets within the field's text
    end: int
    words: int = 1  # how many words the hit spans (a phrase)

    @property
    def last(self) -> int:
        return self.position + self.words - 1


@dataclass
class Document:
    """Text to match, tokenised once."""

    title: str = ""
    text: str = ""
    fields: dict[str, str] = field(init=False)
    tokens: dict[str, list[Token]] = field(init=False)
    index: dict[str, list[tuple[str, int]]] = field(init=False)

    def __post_init__(self) -> None:
        self.fields = {
            "title": unicodedata.normalize("NFC", self.title),
            "text": unicodedata.normalize("NFC", self.text),
        }
        self.tokens = {name: tokenize(value) for name, value in self.fields.items()}
        index: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for name, tokens in self.tokens.items():
            for position, token in enumerate(tokens):
                index[token.form].append((name, position))
        self.index = dict(index)

    def find(self, term: Term) -> list[Hit]:
        """Every occurrence of a word or phrase (whole words only)."""
        first = term.words[0]
        if len(term.words) == 1 and term.prefix:
            starts = [p for form, ps in self.index.items() if form.startswith(first) for p in ps]
        else:
            starts = self.index.get(first, [])
        hits: list[Hit] = []
        for name, position in starts:
            tokens = self.tokens[name]
            end = position + len(term.words)
            if end > len(tokens):
                continue
            if len(term.words) > 1 and not _phrase_at(tokens, position, term):
                continue
            hits.append(
                Hit(
                    term.source,
                    name,
                    position,
                    tokens[position].start,
                    tokens[end - 1].end,
                    len(term.words),
                )
            )
        return sorted(hits, key=lambda hit: (FIELDS.index(hit.field), hit.position))


def _phrase_at(tokens: Sequence[Token], position: int, term: Term) -> bool:
    for offset, word in enumerate(term.words):
        form = tokens[position + offset].form
        last = offset == len(term.words) - 1
        if not (form == word or (last and term.prefix and form.startswith(word))):
            return False
    return True


def evaluate(node: Node, doc: Document) -> tuple[bool, list[Hit]]:
    """Whether ``node`` holds for ``doc``, and the hits that made it hold."""
    if isinstance(node, Term):
        hits = doc.find(node)
        return bool(hits), hits
    if isinstance(node, Not):
        holds, _ = evaluate(node.child, doc)
        return not holds, []
    if isinstance(node, Near):
        return _near(node, doc)
    if isinstance(node, And):
        collected: list[Hit] = []
        for child in node.children:
            holds, hits = evaluate(child, doc)
            if not holds:
                return False, []
            collected.extend(hits)
        return True, collected
    assert isinstance(node, Or)
    any_holds, collected = False, []
    for child in node.children:
        holds, hits = evaluate(child, doc)
        if holds:
            any_holds = True
            collected.extend(hits)
    return any_holds, collected


def _near(node: Near, doc: Document) -> tuple[bool, list[Hit]]:
    left_holds, left = evaluate(node.left, doc)
    right_holds, right = evaluate(node.right, doc)
    if not (left_holds and right_holds):
        return False, []
    kept: set[Hit] = set()
    for a in left:
        for b in right:
            if a.field != b.field or a == b:
                continue
            if node.ordered:
                gap = b.position - a.last
            else:
                gap = max(b.position - a.last, a.position - b.last)
            if 0 < gap <= node.distance + 1:
                kept.update((a, b))
    return bool(kept), sorted(kept, key=lambda h: (FIELDS.index(h.field), h.position))


@dataclass(frozen=True)
class Match:
    """Why a watchlist matched a document: plain data, ready to store and to alert."""

    watchlist: str
    severity: str
    channels: tuple[str, ...]
    score: float
    query: str
    hits: tuple[Hit, ...]
    snippets: tuple[str, ...]

    @property
    def terms(self) -> list[str]:
        return sorted({hit.term for hit in self.hits}, key=str.casefold)

    def explanation(self) -> dict[str, object]:
        return {
            "rule": self.query,
            "score": self.score,
            "terms": self.terms,
            "hits": [
                {"term": h.term, "field": h.field, "position": h.position, "span": [h.start, h.end]}
                for h in self.hits
            ],
            "snippets": list(self.snippets),
        }


def score(hits: Iterable[Hit]) -> float:
    return float(sum(TITLE_WEIGHT if hit.field == "title" else 1.0 for hit in set(hits)))


def snippets(doc: Document, hits: Sequence[Hit], *, limit: int = 2, width: int = 90) -> list[str]:
    """Up to ``limit`` passages around the first hits, hits marked with **double stars**."""
    text_hits = [hit for hit in hits if hit.field == "text"] or list(hits)
    text_hits = sorted(set(text_hits), key=lambda hit: (hit.field, hit.start))
    result: list[str] = []
    covered_until = -1
    for hit in text_hits:
        if len(result) >= limit:
            break
        if hit.start < covered_until:
            continue
        source = doc.fields[hit.field]
        start = max(0, hit.start - width)
        end = min(len(source), hit.end + width)
        start = source.rfind(" ", 0, start) + 1 if start > 0 else 0
        space = source.find(" ", end)
        end = len(source) if space == -1 else space
        inside = sorted(
            {(h.start, h.end) for h in hits if h.field == hit.field and start <= h.start < end}
        )
        result.append(_mark(source, start, end, inside))
        covered_until = end
    return result


def _mark(source: str, start: int, end: int, spans: Sequence[tuple[int, int]]) -> str:
    parts: list[str] = ["… " if start > 0 else ""]
    cursor = start
    for span_start, span_end in spans:
        if span_start < cursor:
            continue
        span_end = min(span_end, end)
        parts += [source[cursor:span_start], "**", source[span_start:span_end], "**"]
        cursor = span_end
    parts.append(source[cursor:end])
    parts.append(" …" if end < len(source) else "")
    return " ".join("".join(parts).split())


class Matcher:
    """Every loaded watchlist, ready to match documents."""

    def __init__(self, watchlists: Sequence[Watchlist]) -> None:
        self.watchlists = list(watchlists)

    def match(self, doc: Document) -> list[Match]:
        matches: list[Match] = []
        for watchlist in self.watchlists:
            holds, hits = evaluate(watchlist.tree, doc)
            if not holds:
                continue
            value = score(hits)
            if value < watchlist.threshold:
                continue
            unique = tuple(sorted(set(hits), key=lambda h: (FIELDS.index(h.field), h.position)))
            matches.append(
                Match(
                    watchlist=watchlist.name,
                    severity=watchlist.severity,
                    channels=watchlist.channels,
                    score=value,
                    query=watchlist.query,
                    hits=unique,
                    snippets=tuple(snippets(doc, unique)),
                )
            )
        return matches
