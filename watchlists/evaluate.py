"""A query tree compiled against a TermIndex, and its evaluation on the hits of one scan.

Evaluation works on plain tuples, not Hit objects: most watchlists that get evaluated do not
match, so offsets and snippets are only worked out for the ones that do (engine.py).
Each node answers (holds, hits that made it hold, proximity bonus); NOT contributes no hits.
"""

from __future__ import annotations

from dataclasses import dataclass

from .document import FIELDS, Document
from .query import And, Meta, Near, Node, Not, Or, Scope, Term
from .terms import ScanHits, TermIndex

# (field number in FIELDS, first word position, number of words, the term as the watchlist
# wrote it, start and key end in the canonical text)
RawHit = tuple[int, int, int, str, int, int]
Result = tuple[bool, list[RawHit], float]
PROXIMITY_WEIGHT = 2.0
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


@dataclass(frozen=True)
class CTerm(Compiled):
    term_id: int
    source: str

    def eval(self, ctx: Context, field: int | None) -> Result:
        found = ctx.hits.get(self.term_id)
        if not found:
            return _FALSE
        source = self.source
        hits = [(f, p, n, source, s, e) for f, p, n, s, e in found if field is None or f == field]
        return bool(hits), hits, 0.0

    def holds(self, ctx: Context, field: int | None) -> bool:
        found = ctx.hits.get(self.term_id)
        if not found:
            return False
        return field is None or any(hit[0] == field for hit in found)

    def triggers(self) -> frozenset[int] | None:
        return frozenset((self.term_id,))


@dataclass(frozen=True)
class CTermSet(Compiled):
    """An OR of plain terms (what a @group expands to): tested with one set operation."""

    term_ids: tuple[int, ...]
    sources: tuple[str, ...]
    ids: frozenset[int]

    def eval(self, ctx: Context, field: int | None) -> Result:
        hits: list[RawHit] = []
        for term_id, source in zip(self.term_ids, self.sources, strict=True):
            for f, p, n, s, e in ctx.hits.get(term_id, ()):
                if field is None or f == field:
                    hits.append((f, p, n, source, s, e))
        return bool(hits), hits, 0.0

    def holds(self, ctx: Context, field: int | None) -> bool:
        if ctx.hits.keys().isdisjoint(self.ids):
            return False
        return field is None or self.eval(ctx, field)[0]

    def triggers(self) -> frozenset[int] | None:
        return self.ids


@dataclass(frozen=True)
class CAll(Compiled):
    children: tuple[Compiled, ...]

    def eval(self, ctx: Context, field: int | None) -> Result:
        collected: list[RawHit] = []
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
        if not left_holds:
            return _FALSE
        right_holds, right, right_bonus = self.right.eval(ctx, field)
        if not right_holds:
            return _FALSE
        kept: dict[RawHit, None] = {}
        best = self.distance + 2
        for a in left:
            for b in right:
                if a[0] != b[0] or a == b:
                    continue
                gap = self._gap(a, b)
                if 0 < gap <= self.distance + 1:
                    kept[a] = kept[b] = None
                    best = min(best, gap)
        if not kept:
            return _FALSE
        # Adjacent hits earn the full bonus, hits n words apart almost none.
        closeness = 1.0 - (best - 1) / (self.distance + 1)
        bonus = left_bonus + right_bonus + PROXIMITY_WEIGHT * closeness
        return True, list(kept), bonus

    def _gap(self, a: RawHit, b: RawHit) -> int:
        """1 when adjacent; a gap of k+1 means k words between them."""
        a_last, b_last = a[1] + a[2] - 1, b[1] + b[2] - 1
        if self.ordered:
            return b[1] - a_last
        return max(b[1] - a_last, a[1] - b_last)

    def triggers(self) -> frozenset[int] | None:
        known = [t for t in (self.left.triggers(), self.right.triggers()) if t is not None]
        return min(known, key=len) if known else None


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
        return CTerm(index.add(node.words, node.prefix), node.source)
    if isinstance(node, And):
        return CAll(tuple(compile_tree(child, index) for child in node.children))
    if isinstance(node, Or) and all(isinstance(child, Term) for child in node.children):
        terms = [child for child in node.children if isinstance(child, Term)]
        ids = tuple(index.add(term.words, term.prefix) for term in terms)
        return CTermSet(ids, tuple(term.source for term in terms), frozenset(ids))
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
