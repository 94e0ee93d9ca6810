"""Text normalisation shared by queries and documents, so both sides meet in one form.

NFKC, case-folding, diacritics folded on Latin letters (Erdoğan = erdogan, Əliyev = eliyev),
typographic apostrophes and dashes unified. Cyrillic and Armenian letters keep their marks
(й is not и), except ё which Russian writes and omits freely, and stress accents.

Two forms of a text come out of here. ``spaced`` folds every word and turns every separator
into one space *per character*, so its offsets are the original's whenever folding kept the
length (the usual case); ``canonical`` squeezes that into ``" w1 w2 ... wn "``, the form the
matching automaton reads: a whole word is then simply a key with a space on both sides, in any
script, and a word's position is the number of spaces before it. Both are built from C-level
string operations; only runs of non-ASCII characters go through Python, once per distinct run
(cached), because per-word Python code would cap throughput far below what matching needs.

Story signatures (``monitor.stories``) are made of the ``canonical`` words too: a change here
that changes any word changes stored signatures, and must bump ``SIGNATURE_VERSION`` there
(a test pins a signature).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from itertools import islice

# Letters that carry no decomposable accent but are written as variants of a plain letter.
_FOLD = str.maketrans(
    {
        "ə": "e",
        "ı": "i",
        "ł": "l",
        "ø": "o",
        "đ": "d",
        "ħ": "h",
        "æ": "ae",
        "œ": "oe",
        "ё": "е",
        "’": "'",
        "‘": "'",
        "‐": "-",
        "‑": "-",
        "–": "-",
        "—": "-",
    }
)
# A word: letters/digits, each optionally followed by combining marks (a stress accent does not
# split a Cyrillic word). U+02BC is a "letter" to Unicode but an apostrophe in practice.
_WORD = re.compile(r"(?:[^\W_\u02bc][\u0300-\u036f\u0483-\u0489]*)+")


def _is_latin(char: str) -> bool:
    code = ord(char)
    return code < 0x250 or 0x1E00 <= code <= 0x1EFF


def _drops_marks(base: str, mark: str) -> bool:
    """Latin letters lose every accent; Cyrillic ones lose stress marks but keep the breve
    (й, ў are letters of their own)."""
    if _is_latin(base):
        return True
    return 0x400 <= ord(base) <= 0x4FF and mark != "\u0306"


def fold(text: str) -> str:
    """The matching form of a word or phrase."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_FOLD)
    decomposed = unicodedata.normalize("NFD", text)
    kept: list[str] = []
    for char in decomposed:
        if unicodedata.combining(char) and kept and _drops_marks(kept[-1], char):
            continue
        kept.append(char)
    return unicodedata.normalize("NFC", "".join(kept))


@dataclass(frozen=True)
class Token:
    form: str  # folded
    start: int  # character offsets in the NFC text
    end: int


_TYPOGRAPHIC = "\u2019\u2018\u201c\u201d\u00ab\u00bb\u2013\u2014\u2010\u2011\u00a0\u2026"
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_ASCII_TABLE = str.maketrans({chr(i): chr(i) if chr(i).isalnum() else " " for i in range(128)})
_MARKS = re.compile(r"[\u0300-\u036f\u0483-\u0489]")
_NON_SPACE = re.compile(r"\S+")
_CACHE_LIMIT = 200_000


def _is_word_char(char: str) -> bool:
    return char.isalnum() and char != "\u02bc"


def _fold_run(run: str) -> str:
    """A run of non-ASCII characters folded, its separators turned into spaces. Marks that
    survive folding (on letters NFC could not compose) are dropped so they never split a word."""
    folded = _MARKS.sub("", fold(run))
    return "".join(char if _is_word_char(char) else " " for char in folded)


class _RunCache(dict[str, str]):
    """Folded non-ASCII runs: news text repeats the same few hundred, so each is folded once."""

    def __missing__(self, run: str) -> str:
        if len(self) >= _CACHE_LIMIT:  # bounded in a long-running daemon
            self.clear()
        value = self[run] = _fold_run(run)
        return value


_RUNS = _RunCache()


def _folded_run(match: re.Match[str]) -> str:
    return _RUNS[match.group()]


_ASCII_BYTES = bytes(range(128))
# UTF-8 bytes with every ASCII separator made a space: non-ASCII characters are made of bytes
# >= 0x80 only, so they pass unchanged and the text keeps its length in characters.
_SEPARATOR_BYTES = bytes(
    byte if byte >= 0x80 or chr(byte).isalnum() else 0x20 for byte in range(256)
)
_FEW_CHARS = 16


def spaced(text: str) -> str:
    """``text`` (NFC) folded, with every separator character replaced by a space."""
    for char in _TYPOGRAPHIC:  # the common non-ASCII separators, at C speed
        if char in text:
            text = text.replace(char, " ")
    if not text.isascii():
        text = _fold_non_ascii(text)
    text = text.lower()
    if text.isascii():
        return text.translate(_ASCII_TABLE)
    return text.encode("utf-8").translate(_SEPARATOR_BYTES).decode("utf-8")


def _fold_non_ascii(text: str) -> str:
    # Its non-ASCII characters, in C: the UTF-8 form without its ASCII bytes.
    rest = text.encode("utf-8").translate(None, _ASCII_BYTES).decode("utf-8")
    # Cyrillic and Armenian letters that fold by lower-casing are left to the lower() of the
    # whole text; the few other characters, if each folds alone as it would within a word,
    # are one C-speed replace each; else whole runs (words) are folded, cached.
    odd = set(_odd_characters().findall(rest))
    if len(odd) > _FEW_CHARS or not all(map(_folds_alone, odd)):
        return _NON_ASCII.sub(_folded_run, text)
    for char in odd:
        text = text.replace(char, _RUNS[char])
    return text


def _is_alone(char: str) -> bool:
    """Whether ``char`` folds the same alone as within a word: NFC joins a character to the
    one before only when it is (or decomposes to) a combining mark or a Hangul jamo first."""
    first = unicodedata.normalize("NFKD", char)[:1]
    return not (
        unicodedata.category(char).startswith("M")
        or unicodedata.combining(first)
        or "\u1100" <= first <= "\u11ff"
        or "\ua960" <= first <= "\ua97f"
        or "\ud7b0" <= first <= "\ud7ff"
    )


class _Alone(dict[str, bool]):
    def __missing__(self, char: str) -> bool:
        value = self[char] = _is_alone(char)
        return value


_folds_alone = _Alone().__getitem__


@cache  # built on the first non-Latin text, not at import (a few milliseconds)
def _odd_characters() -> re.Pattern[str]:
    """Any character but the Cyrillic and Armenian letters whose folding is their lower case
    (in those scripts, unlike Greek with its final sigma, lower-casing does not depend on the
    neighbours)."""
    lowered = (chr(code) for code in range(0x400, 0x590))
    return re.compile("[^" + re.escape("".join(c for c in lowered if _RUNS[c] == c.lower())) + "]")


def canonical(text: str) -> str:
    """``" w1 w2 ... wn "``: the folded words of ``text`` (NFC), one space between each."""
    return squeeze(spaced(text))


def squeeze(spaced_text: str) -> str:
    """Spaced text with each run of spaces made one, and one space at each end. Split at
    double spaces only (prose has about one per sentence or comma, not one per word), strip
    what is left of longer runs, drop empty pieces, join: all in C, faster than a regex
    substitution or than split and join on every word."""
    return " " + " ".join(filter(None, map(str.strip, spaced_text.split("  ")))) + " "


def word_spans(text: str, spaced_text: str, upto: int) -> list[tuple[int, int]]:
    """Character spans in ``text`` of its first ``upto`` words, in ``canonical`` order."""
    if len(spaced_text) == len(text):
        found = _NON_SPACE.finditer(spaced_text)
    else:  # folding changed the length (ß -> ss, a dropped mark): the word pattern instead
        found = _WORD.finditer(text)
    return [m.span() for m in islice(found, upto)]


# A hit to place: (start of its first word in canonical text, end of its last word, words);
# placed: (word position, start and end in the original text).
Span = tuple[int, int, int]


class OffsetMap:
    """Where hits found in the canonical text of one field are in the original: their word
    positions and character offsets.

    A word's position is the number of spaces before it in canonical text, less one. Its
    offset comes from the spaced text, which has the original's length (when folding kept it,
    the usual case). Both texts hold the same words in the same order; only the runs of spaces
    between them differ, and a word is what follows a space. So past a word known in both, the
    k-th word that starts with ``w`` in one is the k-th in the other: the k-th occurrence of
    ``" w"`` (which cannot overlap another). Hits come in increasing order, so a cursor stays
    on the last word placed and each hit costs a C-level ``count`` of spaces, a ``count`` of
    its word and usually one ``find``, over the gap since the previous hit: no string is built
    per word of the text, and nothing at all for a document that matches nothing."""

    def __init__(self, text: str, spaced_text: str, canonical_text: str) -> None:
        self.text = text
        self.spaced = spaced_text
        self.padded = " " + spaced_text  # every word now follows a space
        self.canonical = canonical_text
        self._spans: list[tuple[int, int]] = []  # words of the text, when folding changed it

    def place(self, hits: Iterable[Span]) -> list[Span]:
        """(word position, original start, original end) of each hit, in increasing order."""
        if len(self.spaced) != len(self.text):
            return [self._by_position(position, words) for position, words in self._count(hits)]
        canonical, padded = self.canonical, self.padded
        placed: list[Span] = []
        counted = spaces = 0
        cursor = at = -1  # the space before the word last placed, in canonical and padded text
        for start, end, words in hits:
            if start < counted:  # out of order: count again from the top
                counted = spaces = 0
            spaces += canonical.count(" ", counted, start)
            counted = start
            first = -1
            # A phrase also needs its last word placed; one word ends where its start says.
            for space in (start - 1,) if words == 1 else (start - 1, canonical.rfind(" ", 0, end)):
                if space != cursor:
                    if space < cursor:
                        cursor = at = -1
                    needle = canonical[space : canonical.index(" ", space + 1)]
                    for _ in range(canonical.count(needle, cursor + 1, space) + 1):
                        at = padded.index(needle, at + 1)
                    cursor = space
                if first < 0:
                    first = at
            placed.append((spaces - 1, first, at + end - cursor - 1))
        return placed

    def _count(self, hits: Iterable[Span]) -> list[tuple[int, int]]:
        """(word position, words) of each hit."""
        return [(self.canonical.count(" ", 0, start) - 1, words) for start, _, words in hits]

    def _by_position(self, position: int, words: int) -> Span:
        """Folding changed the field's length (ß -> ss): find the words by counting them."""
        spans = self._spans
        if len(spans) < position + words:
            upto = max(position + words, 2 * len(spans))
            spans = self._spans = word_spans(self.text, self.spaced, upto)
        if not spans:  # pragma: no cover - a hit implies words
            return position, 0, 0
        first = spans[min(position, len(spans) - 1)]
        last = spans[min(position + words - 1, len(spans) - 1)]
        return position, first[0], last[1]


def tokenize(text: str) -> list[Token]:
    """Words of ``text`` (already NFC) with their offsets; a word is a run of letters/digits."""
    return [Token(fold(m.group()), m.start(), m.end()) for m in _WORD.finditer(text)]


def words(text: str) -> list[str]:
    """The folded words of a query term, split exactly as documents are."""
    return spaced(unicodedata.normalize("NFC", text)).split()
