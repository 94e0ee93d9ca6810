"""Every term of every watchlist in one Aho-Corasick automaton, read in one pass per field.

A term is keyed in the canonical form (normalize.py): ``" w1 w2 "`` for a word or phrase,
``" w1 w2"`` (no closing space) for a prefix ``w2*``. Because canonical text puts exactly one
space around every word, a key can only match on whole words, in any script: ``" isis "`` is
not found in ``" crisis "`` nor ``" baku "`` in ``" bakunin "``, while ``" iran"`` (``Iran*``)
is found in ``" iranian "``. Terms shared by several watchlists are stored once.

The cost of a scan depends on the text and on how many hits it holds, not on the number of
terms or watchlists.
"""

from __future__ import annotations

from collections.abc import Iterable

import ahocorasick

from .document import FIELDS, Document

# term id -> [(field number in FIELDS, first word position, number of words, where the hit
# starts in the canonical text, where its key ends there)], in field then position order
ScanHit = tuple[int, int, int, int, int]
ScanHits = dict[int, list[ScanHit]]


def term_key(words: Iterable[str], prefix: bool) -> str:
    return " " + " ".join(words) + ("" if prefix else " ")


class TermIndex:
    """Assigns each distinct term an id, then finds every term in a document at once."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self._entries: dict[str, tuple[int, int, int]] = {}
        self._automaton: ahocorasick.Automaton | None = None

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, words: tuple[str, ...], prefix: bool) -> int:
        """The id of a term, the same for every watchlist that uses it."""
        key = term_key(words, prefix)
        if key not in self._ids:
            self._ids[key] = len(self._ids)
            self._entries[key] = (self._ids[key], len(words), len(key))
            self._automaton = None
        return self._ids[key]

    def build(self) -> None:
        automaton = ahocorasick.Automaton(ahocorasick.STORE_ANY, ahocorasick.KEY_STRING)
        for key, entry in self._entries.items():
            automaton.add_word(key, entry)
        if self._entries:
            automaton.make_automaton()
        self._automaton = automaton

    def scan(self, doc: Document) -> ScanHits:
        """Every hit of every term in the document's fields."""
        if self._automaton is None:
            self.build()
        hits: ScanHits = {}
        if not self._entries:
            return hits
        assert self._automaton is not None
        for number, name in enumerate(FIELDS):
            text = doc.canonical(name)
            if len(text) > 2:
                self._scan_field(text, number, hits)
        return hits

    def _scan_field(self, text: str, field: int, hits: ScanHits) -> None:
        assert self._automaton is not None
        found = self._automaton.iter(text)
        count, get = text.count, hits.get  # the loop runs once per hit: keep it lean
        spaces = counted = 0
        for end, (term_id, words, length) in found:
            # Words before a key's last word = spaces before its end, minus the leading one.
            spaces += count(" ", counted, end)
            counted = end
            entry = (field, spaces - words, words, end - length + 2, end)
            listed = get(term_id)
            if listed is None:
                hits[term_id] = [entry]
            else:
                listed.append(entry)
