"""Text normalisation shared by queries and documents, so both sides meet in one form.

NFKC, case-folding, diacritics folded on Latin letters (Erdoğan = erdogan, Əliyev = eliyev),
typographic apostrophes and dashes unified. Cyrillic and Armenian letters keep their marks
(й is not и), except ё which Russian writes and omits freely, and stress accents.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

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


def tokenize(text: str) -> list[Token]:
    """Words of ``text`` (already NFC) with their offsets; a word is a run of letters/digits."""
    return [Token(fold(m.group()), m.start(), m.end()) for m in _WORD.finditer(text)]


def words(text: str) -> list[str]:
    return [token.form for token in tokenize(unicodedata.normalize("NFC", text))]
