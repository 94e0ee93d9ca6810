"""A query tree compiled against a TermIndex, and its evaluation on the hits of one scan.

Evaluation works on the scan's lists as they are, not on one object per hit: a node answers
(holds, the groups of hits that made it hold, proximity bonus), where a group is the hits of
one term as the watchlist wrote it, per field, so AND, OR and a threshold cost the same
whether a term was hit once or fifty times. Word positions are worked out only where NEAR
needs them, and offsets and snippets only for the watchlists that match (engine.py).
NOT contributes no hits.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import NamedTuple

from .document import FIELDS, Document
from .query import And, Meta, Near, Node, Not, Or, Scope, Term
from .terms import ScanHits, TermIndex, term_key

PROXIMITY_WEIGHT = 2.0
_NONE: tuple[int, ...] = ()
_NUMBERS = range(len(FIELDS))


class Group(NamedTuple):
    """Hits of one term, as one watchlist wrote it, that a node holds by."""

    source: str  # the term as written
    words: int
    length: int  # of its key in canonical text
    ends: tuple[Sequence[int], ...]  # per field: where each hit's key ends, increasing

    def start(self, end: int) -> int:
        """Where the first word of the hit whose key ends at ``end`` starts."""
        return end - self.length + 2


# Group's own constructor is Python code, and a term hit makes one per evaluation.
_new_group = partial(tuple.__new__, Group)
Result = tuple[bool, list[Group], float]
_FALSE: Result = (False, [], 0.0)


@dataclass(frozen=True)
class Context:
    hits: ScanHits
    doc: Document


class Compiled:
    """A compiled query node."""

    def eval(self, ctx: Context, field: int | None) -> Result:  # pragma: no cover - abstract
        raise NotImplementedError

    def holds(self, ctx: Context, field: int | None) -> bool:
        """Whether the node holds, without collecting hits (the fast first test)."""
        return self.eval(ctx, field)[0]

    def triggers(self) -> frozenset[int] | None:
        """Terms of which at least one must be hit for the node to hold, as few as can be
        said; None when it may hold with no hit at all (``NOT x``, ``site:``), so the matcher
        evaluates it for every document. The matcher evaluates a watchlist only when one of
        its triggers is hit: that is what keeps the cost from growing with their number."""
        return None


def merged(groups: Iterable[Group]) -> list[Group]:
    """One group per term as written, each hit once: several nodes may hold by the same
    hits (``Baku AND (Baku OR Moscow)``)."""
    by_term: dict[tuple[str, int, int], Group] = {}
    for group in groups:
        key = (group.source, group.words, group.length)
        seen = by_term.get(key)
        if seen is None:
            by_term[key] = group
        elif seen.ends != group.ends:
            ends = tuple(
                sorted(set(a).union(b)) for a, b in zip(seen.ends, group.ends, strict=True)
            )
            by_term[key] = group._replace(ends=ends)
    return list(by_term.values())


@dataclass(frozen=True)
class CTerm(Compiled):
    term_id: int
    source: str
    words: int
    length: int

    def eval(self, ctx: Context, field: int | None) -> Result:
        term_id = self.term_id
        if term_id not in ctx.hits.terms:
            return _FALSE
        fields = ctx.hits.fields
        if field is None:
            ends = tuple([found.get(term_id, _NONE) for found in fields])
        else:
            in_field = fields[field].get(term_id)
            if in_field is None:
                return _FALSE
            ends = tuple([in_field if number == field else _NONE for number in _NUMBERS])
        return True, [_new_group((self.source, self.words, self.length, ends))], 0.0

    def holds(self, ctx: Context, field: int | None) -> bool:
        if field is None:
            return self.term_id in ctx.hits.terms
        return self.term_id in ctx.hits.fields[field]

    def triggers(self) -> frozenset[int] | None:
        return frozenset((self.term_id,))


@dataclass(frozen=True)
class CTermSet(Compiled):
    """An OR of plain terms (what a @group expands to): tested with one set operation."""

    terms: tuple[CTerm, ...]
    ids: frozenset[int]

    def eval(self, ctx: Context, field: int | None) -> Result:
        groups: list[Group] = []
        hit = ctx.hits.terms
        for term in self.terms:
            if term.term_id in hit:
                groups += term.eval(ctx, field)[1]
        return bool(groups), groups, 0.0

    def holds(self, ctx: Context, field: int | None) -> bool:
        if field is None:
            return not self.ids.isdisjoint(ctx.hits.terms)
        return not ctx.hits.fields[field].keys().isdisjoint(self.ids)

    def triggers(self) -> frozenset[int] | None:
        return self.ids


@dataclass(frozen=True)
class CAll(Compiled):
    children: tuple[Compiled, ...]

    def eval(self, ctx: Context, field: int | None) -> Result:
        collected: list[Group] = []
        bonus = 0.0
        for child in self.children:
            holds, hits, proximity = child.eval(ctx, field)
            if not holds:
                return _FALSE
            collected.extend(hits)
            bonus += proximity
        return True, collected, bonus

    def holds(self, ctx: Context, field: int | None) -> bool:
        for child in self.children:  # noqa: SIM110 - a loop, not all(): runs per candidate
            if not child.holds(ctx, field):
                return False
        return True

    def triggers(self) -> frozenset[int] | None:
        # Every child must hold: the one with the fewest triggers is enough to wait for.
        known = [t for t in (child.triggers() for child in self.children) if t is not None]
        return min(known, key=len) if known else None


@dataclass(frozen=True)
class CAny(Compiled):
    children: tuple[Compiled, ...]

    def eval(self, ctx: Context, field: int | None) -> Result:
        any_holds, collected, bonus = False, [], 0.0
        for child in self.children:
            holds, hits, proximity = child.eval(ctx, field)
            if holds:
                any_holds = True
                collected.extend(hits)
                bonus += proximity
        return any_holds, collected, bonus

    def holds(self, ctx: Context, field: int | None) -> bool:
        for child in self.children:  # noqa: SIM110 - a loop, not any(): runs per candidate
            if child.holds(ctx, field):
                return True
        return False

    def triggers(self) -> frozenset[int] | None:
        found = [child.triggers() for child in self.children]
        if any(t is None for t in found):
            return None
        return frozenset().union(*(t for t in found if t is not None))


@dataclass(frozen=True)
class CNot(Compiled):
    child: Compiled

    def eval(self, ctx: Context, field: int | None) -> Result:
        return not self.child.holds(ctx, field), [], 0.0

    def holds(self, ctx: Context, field: int | None) -> bool:
        return not self.child.holds(ctx, field)


@dataclass(frozen=True)
class CNear(Compiled):
    left: Compiled
    right: Compiled
    distance: int
    ordered: bool

    def eval(self, ctx: Context, field: int | None) -> Result:
        if not (self.left.holds(ctx, field) and self.right.holds(ctx, field)):
            return _FALSE
        left_holds, left, left_bonus = self.left.eval(ctx, field)
        right_holds, right, right_bonus = self.right.eval(ctx, field)
        if not (left_holds and right_holds):
            return _FALSE
        kept: dict[tuple[str, int, int, int], tuple[Group, int, int]] = {}
        best = self.distance + 2
        for a, b, gap in self._close(ctx, left, right):
            for number, _, _, group, end in (a, b):
                kept[(group.source, group.length, number, end)] = (group, number, end)
            best = min(best, gap)
        if not kept:
            return _FALSE
        # Adjacent hits earn the full bonus, hits n words apart almost none.
        closeness = 1.0 - (best - 1) / (self.distance + 1)
        bonus = left_bonus + right_bonus + PROXIMITY_WEIGHT * closeness
        return True, _regroup(kept.values()), bonus

    def holds(self, ctx: Context, field: int | None) -> bool:
        if not (self.left.holds(ctx, field) and self.right.holds(ctx, field)):
            return False
        left, right = self.left.eval(ctx, field)[1], self.right.eval(ctx, field)[1]
        return next(self._close(ctx, left, right), None) is not None

    def _close(
        self, ctx: Context, left: list[Group], right: list[Group]
    ) -> Iterator[tuple[_Located, _Located, int]]:
        """Pairs of hits, one from each side, in the same field and close enough; with the
        gap between them (1 when adjacent, k+1 with k words between)."""
        limit, ordered = self.distance + 1, self.ordered
        right_hits = _located(ctx, right)
        for a in _located(ctx, left):
            for b in right_hits:
                if a[0] != b[0] or (a[4] == b[4] and _same_term(a[3], b[3])):
                    continue  # another field, or the very same hit on both sides
                gap = b[1] - a[2] if ordered else max(b[1] - a[2], a[1] - b[2])
                if 0 < gap <= limit:
                    yield a, b, gap

    def triggers(self) -> frozenset[int] | None:
        known = [t for t in (self.left.triggers(), self.right.triggers()) if t is not None]
        return min(known, key=len) if known else None


# A hit located for NEAR: (field, first word position, last word position, group, key end).
_Located = tuple[int, int, int, Group, int]


def _same_term(a: Group, b: Group) -> bool:
    return a.source == b.source and a.length == b.length


def _located(ctx: Context, groups: list[Group]) -> list[_Located]:
    found: list[_Located] = []
    position = ctx.doc.position
    for group in groups:
        more = group.words - 1
        for number, ends in enumerate(group.ends):
            for end in ends:
                first = position(number, group.start(end))
                found.append((number, first, first + more, group, end))
    return found


def _regroup(hits: Iterable[tuple[Group, int, int]]) -> list[Group]:
    """The hits NEAR kept, as groups again (one per term as written, ends increasing)."""
    by_term: dict[tuple[str, int, int], list[list[int]]] = {}
    for group, number, end in hits:
        key = (group.source, group.words, group.length)
        by_term.setdefault(key, [[] for _ in FIELDS])[number].append(end)
    return [
        Group(source, words, length, tuple(sorted(ends) for ends in per_field))
        for (source, words, length), per_field in by_term.items()
    ]


@dataclass(frozen=True)
class CScope(Compiled):
    field: int  # in FIELDS
    child: Compiled

    def eval(self, ctx: Context, field: int | None) -> Result:
        return self.child.eval(ctx, self.field)

    def holds(self, ctx: Context, field: int | None) -> bool:
        return self.child.holds(ctx, self.field)

    def triggers(self) -> frozenset[int] | None:
        return self.child.triggers()


@dataclass(frozen=True)
class CMeta(Compiled):
    key: str
    value: str

    def eval(self, ctx: Context, field: int | None) -> Result:
        doc = ctx.doc
        holds = doc.on_site(self.value) if self.key == "site" else doc.in_lang(self.value)
        return holds, [], 0.0


def compile_tree(node: Node, index: TermIndex) -> Compiled:
    """The compiled form of a parsed query; its terms are added to ``index``."""
    if isinstance(node, Term):
        return _term(node, index)
    if isinstance(node, And):
        return CAll(tuple(compile_tree(child, index) for child in node.children))
    if isinstance(node, Or) and all(isinstance(child, Term) for child in node.children):
        terms = tuple(_term(child, index) for child in node.children if isinstance(child, Term))
        return CTermSet(terms, frozenset(term.term_id for term in terms))
    if isinstance(node, Or):
        return CAny(tuple(compile_tree(child, index) for child in node.children))
    if isinstance(node, Not):
        return CNot(compile_tree(node.child, index))
    if isinstance(node, Near):
        left, right = compile_tree(node.left, index), compile_tree(node.right, index)
        return CNear(left, right, node.distance, node.ordered)
    if isinstance(node, Scope):
        return CScope(FIELDS.index(node.field), compile_tree(node.child, index))
    assert isinstance(node, Meta)
    return CMeta(node.key, node.value)


def _term(node: Term, index: TermIndex) -> CTerm:
    key = term_key(node.words, node.prefix)
    return CTerm(index.add(node.words, node.prefix), node.source, len(node.words), len(key))
