"""Matching documents against watchlists.

The flow for one document: every term of every watchlist is found in one pass of a single
automaton over each field (terms.py); only the watchlists that had a term hit (plus the few
whose query can hold without any, such as ``NOT x`` or ``site:``) are evaluated, on the lists
of where each term was hit (evaluate.py); the score is counted from those lists, and only the
watchlists that hold and reach their threshold get the first few hits of each term placed
(word position, character offsets) and snippets cut. The cost of a document therefore depends
on its length and its hits, not on how many watchlists or terms are loaded.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import chain
from operator import attrgetter

from .document import Document, Hit
from .evaluate import Compiled, Context, Group, compile_tree, merged
from .model import Watchlist
from .query import Node
from .terms import ScanHits, TermIndex

TITLE_WEIGHT = 3.0
HITS_LISTED_PER_TERM = 3  # an explanation lists the first few hits of each term, counts all


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
    proximity: float = 0.0
    threshold: float = 0.0
    counts: tuple[tuple[str, int], ...] = ()  # every hit of each term, listed or not

    @property
    def terms(self) -> list[str]:
        return sorted({hit.term for hit in self.hits}, key=lambda term: (term.casefold(), term))

    def explanation(self) -> dict[str, object]:
        title_hits = sum(1 for hit in self.hits if hit.field == "title")
        return {
            "rule": self.query,
            "score": self.score,
            "score_parts": {
                "title_hits": title_hits,
                "text_hits": len(self.hits) - title_hits,
                "title_weight": TITLE_WEIGHT,
                "proximity": round(self.proximity, 3),
                "threshold": self.threshold,
            },
            "terms": self.terms,
            "hit_counts": dict(self.counts),
            "hits": [
                {"term": h.term, "field": h.field, "position": h.position, "span": [h.start, h.end]}
                for h in self.hits
            ],
            "snippets": list(self.snippets),
        }


def score(groups: Iterable[Group], proximity: float = 0.0) -> float:
    """Each distinct hit counts 1, or TITLE_WEIGHT in the title; NEAR adds its closeness."""
    in_title = total = 0
    for group in merged(groups):
        in_title += len(group.ends[0])  # FIELDS[0] is the title
        total += sum(map(len, group.ends))
    return round(in_title * TITLE_WEIGHT + total - in_title + proximity, 6)


def snippets(doc: Document, hits: Sequence[Hit], *, limit: int = 2, width: int = 90) -> list[str]:
    """Up to ``limit`` passages around the first hits, hits marked with **double stars**."""
    chosen = sorted([hit for hit in hits if hit.field == "text"] or hits, key=_PLACE)
    result: list[str] = []
    covered_until = -1
    for hit in chosen:
        if len(result) >= limit:
            break
        if hit.start < covered_until:  # also skips a repeated hit
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


_PLACE = attrgetter("field", "start")


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
    """Every loaded watchlist compiled into one term index, ready to match documents."""

    def __init__(self, watchlists: Sequence[Watchlist]) -> None:
        self.watchlists = list(watchlists)
        self.index = TermIndex()
        self.compiled = [compile_tree(w.tree, self.index) for w in self.watchlists]
        self.index.build()
        # term id -> the watchlists it triggers (most terms trigger none or one)
        self.by_term: list[tuple[int, ...]] = [() for _ in range(len(self.index))]
        always: set[int] = set()
        for number, node in enumerate(self.compiled):
            triggers = node.triggers()
            if triggers is None:
                always.add(number)
            for term_id in triggers or ():
                self.by_term[term_id] += (number,)
        self.always = frozenset(always)
        self._pairs = list(zip(self.watchlists, self.compiled, strict=True))

    def candidates(self, hits: ScanHits) -> list[int]:
        """The watchlists worth evaluating: those with a term hit, and those that may hold
        without any. Every other watchlist is known not to hold, at no cost."""
        triggered = chain.from_iterable(map(self.by_term.__getitem__, hits.terms))
        return sorted(self.always.union(triggered))

    def match(self, doc: Document) -> list[Match]:
        hits = self.index.scan(doc)
        context = Context(hits, doc)
        matches: list[Match] = []
        pairs = self._pairs
        for number in self.candidates(hits):
            watchlist, node = pairs[number]
            if not node.holds(context, None):  # the cheap test first: most candidates fail it
                continue
            found = _match_one(watchlist, node, context)
            if found is not None:
                matches.append(found)
        return matches


def _match_one(watchlist: Watchlist, node: Compiled, context: Context) -> Match | None:
    """The match of a watchlist whose quick test held, if it holds and reaches its
    threshold, with its explanation."""
    holds, groups, proximity = node.eval(context, None)
    if not holds:
        return None
    groups = merged(groups)  # then merged() in score and to_hits finds nothing to merge
    value = score(groups, proximity)
    if value < watchlist.threshold:
        return None
    hits, counts = to_hits(context.doc, groups)
    return Match(
        watchlist=watchlist.name,
        severity=watchlist.severity,
        channels=watchlist.channels,
        score=value,
        query=watchlist.query,
        hits=hits,
        snippets=tuple(snippets(context.doc, hits)),
        proximity=proximity,
        threshold=watchlist.threshold,
        counts=counts,
    )


def to_hits(
    doc: Document, groups: Iterable[Group]
) -> tuple[tuple[Hit, ...], tuple[tuple[str, int], ...]]:
    """The first hits of each term with their character offsets, in field then position
    order, and how many distinct hits each term had in all. Offsets are worked out for the
    listed hits only: a term named fifty times costs no more to explain than one named thrice."""
    raw: list[tuple[int, int, int, str, int]] = []  # (field, start, words, term, key end)
    counts: dict[str, int] = {}
    for source, words, length, per_field in merged(groups):
        room = HITS_LISTED_PER_TERM
        for number, ends in enumerate(per_field):
            for end in ends[:room]:
                raw.append((number, end - length + 2, words, source, end))
            room -= len(ends)
            if room <= 0:
                break
        counts[source] = counts.get(source, 0) + sum(map(len, per_field))
    raw.sort()  # field first: title, then text, by position
    hits = tuple(doc.hits(raw))
    order = sorted(dict.fromkeys([item[3] for item in raw]), key=str.casefold)
    return hits, tuple([(term, counts[term]) for term in order])  # terms by first hit, then name


def evaluate(node: Node, doc: Document) -> tuple[bool, list[Hit]]:
    """Whether a parsed query holds for ``doc``, and the hits that made it hold."""
    index = TermIndex()
    compiled = compile_tree(node, index)
    holds, groups, _ = compiled.eval(Context(index.scan(doc), doc), None)
    return holds, list(to_hits(doc, groups)[0])
