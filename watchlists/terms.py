"""Every term of every watchlist in one Aho-Corasick automaton, read in one pass per field.

A term is keyed in the canonical form (normalize.py): ``" w1 w2 "`` for a word or phrase,
``" w1 w2"`` (no closing space) for a prefix ``w2*``. Because canonical text puts exactly one
space around every word, a key can only match on whole words, in any script: ``" isis "`` is
not found in ``" crisis "`` nor ``" baku "`` in ``" bakunin "``, while ``" iran"`` (``Iran*``)
is found in ``" iranian "``. Terms shared by several watchlists are stored once.

The scan uses ``Automaton.iter``, which reports overlapping keys, not ``iter_long``: a phrase
and its own words (``"Sputnik Azerbaijan"``, ``Azerbaijan``), or ``Russia*`` and ``Russia``,
are different terms and each must be found. It keeps, per field and per term, only where each
hit's key ends: one list append per hit, the least Python work a hit can cost. Word positions
and character offsets follow from those ends, and are worked out only for the hits that need
them (a NEAR operand, a hit listed in an explanation). The cost of a scan depends on the text
and on how many hits it holds, not on the number of terms or watchlists.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import ahocorasick

from .document import FIELDS, Document

# term id -> where each of its hits' keys ends (index of the key's last character) in the
# field's canonical text, in increasing order
FieldHits = dict[int, list[int]]


def term_key(words: Iterable[str], prefix: bool) -> str:
    return " " + " ".join(words) + ("" if prefix else " ")


class ScanHits:
    """The hits of one document: per field (in FIELDS order), and the set of terms hit."""

    __slots__ = ("fields", "terms")

    def __init__(self, fields: tuple[FieldHits, ...]) -> None:
        self.fields = fields
        self.terms: set[int] = set().union(*fields)

    def __iter__(self) -> Iterator[int]:
        return iter(self.terms)

    def __len__(self) -> int:
        """How many hits, of every term in every field."""
        return sum(len(ends) for found in self.fields for ends in found.values())


class TermIndex:
    """Assigns each distinct term an id, then finds every term in a document at once."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self._automaton: ahocorasick.Automaton | None = None

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, words: tuple[str, ...], prefix: bool) -> int:
        """The id of a term, the same for every watchlist that uses it."""
        key = term_key(words, prefix)
        if key not in self._ids:
            self._ids[key] = len(self._ids)
            self._automaton = None
        return self._ids[key]

    def build(self) -> None:
        automaton = ahocorasick.Automaton(ahocorasick.STORE_INTS, ahocorasick.KEY_STRING)
        for key, term_id in self._ids.items():
            automaton.add_word(key, term_id)
        if self._ids:
            automaton.make_automaton()
        self._automaton = automaton

    def scan(self, doc: Document) -> ScanHits:
        """Every hit of every term in the document's fields."""
        if self._automaton is None:
            self.build()
        if not self._ids:
            return ScanHits(tuple({} for _ in FIELDS))
        return ScanHits(tuple(self._scan_field(doc.canonical(name)) for name in FIELDS))

    def _scan_field(self, text: str) -> FieldHits:
        assert self._automaton is not None
        hits: FieldHits = {}
        if len(text) <= 2:
            return hits
        get = hits.get  # the loop runs once per hit: keep it lean
        for end, term_id in self._automaton.iter(text):
            listed = get(term_id)
            if listed is None:
                hits[term_id] = [end]
            else:
                listed.append(end)
        return hits
