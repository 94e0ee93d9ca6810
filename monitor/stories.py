"""Stories: near-duplicate articles from different outlets grouped into one.

A syndicated copy or a light rewrite of a wire story shares most of its word sequences with
the original, while a different story about the same people shares names but hardly any run
of five words. So an article is cut into word 5-gram *shingles*, and two articles belong to
one story when the Jaccard similarity of their shingle sets reaches ``THRESHOLD`` - or, for a
copy cut short (a syndication that keeps only the first paragraphs), when most of the shorter
one's shingles are in the longer one (``CONTAINMENT``).

Comparing every new article with every recent one would be quadratic, so each article gets a
MinHash signature (``PERMUTATIONS`` minimum hashes; the share of equal positions estimates the
Jaccard similarity) cut into ``BANDS`` LSH bands of ``ROWS`` values. Articles sharing a band
are the only candidates; the signature estimate sifts them (cheap: microseconds). With 64
bands of 2 rows a pair at Jaccard 0.2 is a candidate with probability 1 - (1 - 0.2^2)^64 =
0.93, at 0.3 with 0.998, while unrelated articles (Jaccard near 0) share no band: the band
shape favours recall.

The estimate is not the last word. For a short text against a long one it is coarse: one or
two equal bins out of 128 turn, through the set sizes, into a containment of 60-90%, enough
to put a 70-word brief that repeats a 40-word background paragraph into a 1,000-word
article's story. So the few candidates the estimate keeps are checked on their exact shingle
sets (the candidate's recomputed from its stored text, about a millisecond), against the same
thresholds. And when either text is short (under ``SHORT_SHINGLES``: a brief, a stub page
whose extracted text is a paywall notice), the words are too few to vouch for a story alone:
the headlines must not contradict each other (some word of four letters or more in common).
``benchmarks/stories.py`` measures the choice on constructed pairs.
"""

from __future__ import annotations

import hashlib
import struct
import unicodedata
from collections.abc import Set
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import numpy.typing as npt
from sqlite_utils import Database

from storage import meta, stories
from storage.transaction import write_transaction
from watchlists import Document
from watchlists.normalize import canonical

SHINGLE_WORDS = 5
PERMUTATIONS = 128
BANDS = 64
ROWS = PERMUTATIONS // BANDS
THRESHOLD = 0.25  # estimated Jaccard of 5-word shingles from which two texts are one story
CONTAINMENT = 0.8  # ... or this share of the shorter text's shingles inside the longer one
MIN_SHINGLES = 20  # shorter texts (a teaser, a headline) are never grouped by similarity
SHORT_SHINGLES = 100  # below this on either side, the headlines must agree too
WINDOW_DAYS = 7.0  # only articles stored this recently are candidates
# Bumped whenever the shingle hashing or the band keys change (or how they are stored: 5 keeps
# the keys with the signature): signatures stored by an older version are re-made from the
# stored texts at the next start (``refresh_signatures``), so a copy of a story stored before
# an upgrade still finds its story after it.
SIGNATURE_VERSION = "5"

_BIN_BITS = PERMUTATIONS.bit_length() - 1  # PERMUTATIONS is a power of two
_EMPTY = 1 << 64
_UNSET = (1 << 64) - 1
_STEP = 1 << (64 - _BIN_BITS)  # above every in-bin value: a borrowed value never equals a real one
# One odd 64-bit multiplier per shingle position (digits of the golden ratio and of pi, the
# usual "nothing up my sleeve" constants); the products wrap modulo 2**64.
_POSITION_MULTIPLIERS = tuple(
    np.uint64(m)
    for m in (
        0x9E3779B97F4A7C15,
        0x243F6A8885A308D3,
        0x13198A2E03707345,
        0xA4093822299F31D1,
        0x082EFA98EC4E6C89 | 1,
    )
)
assert len(_POSITION_MULTIPLIERS) == SHINGLE_WORDS
_WORD_BYTES = 32  # longer words are hashed whole another way (see _word_hashes)
_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
# The prime's powers modulo 2**64: hashing k zero bytes multiplies by the k-th (x ^ 0 == x).
_FNV_PRIME_POWERS = tuple(
    np.uint64(pow(int(_FNV_PRIME), k, 1 << 64)) for k in range(_WORD_BYTES + 1)
)
_BAND_PREFIXES = tuple(struct.pack("<H", band) for band in range(BANDS))


@dataclass(frozen=True)
class Signature:
    minhashes: tuple[int, ...]
    shingles: int  # how many distinct shingles the text had
    # The shingle hashes themselves, when made from the text (not stored: recomputed).
    hashes: frozenset[int] = field(default=frozenset(), compare=False, repr=False)

    def to_bytes(self) -> bytes:
        return struct.pack(f"<{len(self.minhashes)}Q", *self.minhashes)

    @classmethod
    def from_bytes(cls, data: bytes, shingles: int) -> Signature:
        return cls(struct.unpack(f"<{len(data) // 8}Q", data), shingles)

    @cached_property
    def band_keys(self) -> list[int]:
        """The LSH band keys, signed 64-bit integers hashing a band's number with its rows
        (BLAKE2b of ``struct.pack("<H{ROWS}Q", band, *rows)``; computed once, the values
        packed in one call: a signature made on a worker carries them)."""
        packed = self.to_bytes()
        blake2b, width = hashlib.blake2b, ROWS * 8
        return [
            int.from_bytes(
                blake2b(prefix + packed[band * width : (band + 1) * width], digest_size=8).digest(),
                "little",
                signed=True,
            )
            for band, prefix in enumerate(_BAND_PREFIXES)
        ]


def words(text: str) -> list[str]:
    """The text's words as the watchlists read them (``watchlists.normalize.canonical``:
    NFKC, case-folded, Latin accents folded), so typography, case and an accent one outlet
    dropped do not separate copies."""
    return canonical(unicodedata.normalize("NFC", text)).split()


def shingle_hashes(text: str) -> set[int]:
    """The 64-bit hashes of the text's word 5-grams (see ``_shingle_array``)."""
    return set(_shingle_array(words(text)).tolist())


def _shingle_array(tokens: list[str]) -> npt.NDArray[np.uint64]:
    """The distinct 64-bit hashes of the word 5-grams of ``tokens`` (a text's ``words``), as an
    array.

    Each distinct word is hashed once (FNV-1a: stable across processes and versions, unlike
    ``hash()``); a shingle's hash combines its five word hashes, position by
    position, with odd multipliers (so word order counts) and ends in the SplitMix64 mixer,
    so every bit - the low ones pick a MinHash bin - depends on every word. Done on arrays,
    this costs a tenth of hashing each shingle's text.
    """
    count = len(tokens) - SHINGLE_WORDS + 1
    if count <= 0:
        return np.zeros(0, dtype=np.uint64)
    distinct = {token: i for i, token in enumerate(dict.fromkeys(tokens))}
    word_hashes = _word_hashes(list(distinct))
    per_word = word_hashes[np.array(list(map(distinct.__getitem__, tokens)), dtype=np.intp)]
    combined = np.zeros(count, dtype=np.uint64)
    for position, multiplier in enumerate(_POSITION_MULTIPLIERS):
        combined = (combined ^ per_word[position : position + count]) * multiplier
    return np.unique(_splitmix64(combined))


def _word_hashes(distinct: list[str]) -> npt.NDArray[np.uint64]:
    """64-bit FNV-1a of each word's UTF-8 bytes (zero-padded to ``_WORD_BYTES``) and its
    length, mixed by SplitMix64: one array operation per byte position, all words at once.
    The rare longer word (a 17-letter Russian word is 34 bytes) is hashed whole with BLAKE2b,
    so words sharing their first ``_WORD_BYTES`` bytes stay apart."""
    encoded = list(map(str.encode, distinct))
    lengths = np.fromiter(map(len, encoded), dtype=np.uint64, count=len(encoded))
    # Columns past the longest word hold only the zero padding: their rounds are one
    # multiplication by the prime's power.
    width = min(_WORD_BYTES, int(lengths.max(initial=0)))
    hashes = np.full(len(encoded), _FNV_OFFSET, dtype=np.uint64)
    if width:
        table = np.array(encoded, dtype=f"S{width}").view(np.uint8).reshape(len(encoded), width)
        for column in range(width):
            hashes = (hashes ^ table[:, column]) * _FNV_PRIME
    hashes = hashes * _FNV_PRIME_POWERS[_WORD_BYTES - width]
    hashes = _splitmix64(hashes ^ lengths)
    for i in np.flatnonzero(lengths > _WORD_BYTES).tolist():
        digest = hashlib.blake2b(encoded[i], digest_size=8).digest()
        hashes[i] = np.uint64(int.from_bytes(digest, "little"))
    return hashes


def _splitmix64(values: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    values = values ^ (values >> np.uint64(30))
    values = values * np.uint64(0xBF58476D1CE4E5B9)
    values = values ^ (values >> np.uint64(27))
    values = values * np.uint64(0x94D049BB133111EB)
    return values ^ (values >> np.uint64(31))


def signature(text: str) -> Signature | None:
    """The MinHash signature of a text, or None when it is too short to compare safely
    (see ``signature_of_words``)."""
    return signature_of_words(words(text))


def document_signature(document: Document) -> Signature | None:
    """``signature(document.text)``, from the words its matching has read already (the same
    words: a document keeps its text in NFC and reads it through ``canonical``)."""
    return signature_of_words(document.canonical("text").split())


def signature_of_words(tokens: list[str]) -> Signature | None:
    """The MinHash signature of a text's ``words``, or None when they are too few.

    One-permutation hashing: each shingle's 64-bit hash goes to one of ``PERMUTATIONS``
    bins by its low bits and each bin keeps its least value, one pass instead of one per
    permutation (128 times less work). A bin left empty borrows from the next filled bin to
    its right, shifted by the distance ("rotation" densification), which keeps the share of
    equal bins an estimate of the Jaccard similarity for short texts too.
    """
    hashes = _shingle_array(tokens)
    if len(hashes) < MIN_SHINGLES:
        return None
    least = np.full(PERMUTATIONS, np.iinfo(np.uint64).max, dtype=np.uint64)
    np.minimum.at(least, hashes & np.uint64(PERMUTATIONS - 1), hashes >> np.uint64(_BIN_BITS))
    # In-bin values are below 2**57: the maximum marks a bin no shingle fell into.
    bins = [v if v != _UNSET else _EMPTY for v in least.tolist()]
    sig = Signature(tuple(_densify(bins)), len(hashes), frozenset(hashes.tolist()))
    _ = sig.band_keys  # computed here: on a worker, the keys travel with the signature
    return sig


def _densify(bins: list[int]) -> list[int]:
    filled = [i for i, v in enumerate(bins) if v != _EMPTY]
    result = list(bins)
    for i, value in enumerate(bins):
        if value == _EMPTY:
            j = next((k for k in filled if k > i), filled[0])
            distance = (j - i) % len(bins)
            result[i] = bins[j] + distance * _STEP
    return result


def jaccard_estimate(a: Signature, b: Signature) -> float:
    same = sum(1 for x, y in zip(a.minhashes, b.minhashes, strict=True) if x == y)
    return same / len(a.minhashes)


def containment_estimate(a: Signature, b: Signature) -> float:
    """Share of the smaller set inside the larger, derived from the Jaccard estimate and the
    set sizes: |A∩B| = J (|A| + |B|) / (1 + J)."""
    j = jaccard_estimate(a, b)
    overlap = j * (a.shingles + b.shingles) / (1 + j)
    return min(1.0, overlap / min(a.shingles, b.shingles))


def same_story(a: Signature, b: Signature) -> bool:
    return jaccard_estimate(a, b) >= THRESHOLD or containment_estimate(a, b) >= CONTAINMENT


def exact_similarity(a: Set[int], b: Set[int]) -> float | None:
    """How alike two shingle sets are when that makes them one story (Jaccard at least
    ``THRESHOLD``, or the smaller set at least ``CONTAINMENT`` inside the larger), else None."""
    if not a or not b:
        return None
    common = len(a & b)
    jaccard = common / (len(a) + len(b) - common)
    containment = common / min(len(a), len(b))
    qualified = [
        score
        for score, floor in ((jaccard, THRESHOLD), (containment, CONTAINMENT))
        if score >= floor
    ]
    return max(qualified) if qualified else None


def title_words(title: str) -> set[str]:
    """The words of a headline that carry meaning (four letters or more)."""
    return {w for w in words(title) if len(w) >= 4}


def titles_agree(a: str, b: str) -> bool:
    """Headlines do not contradict: they share a word, or one says too little to tell."""
    wa, wb = title_words(a), title_words(b)
    return not wa or not wb or bool(wa & wb)


def verify(mine: Set[int], title: str, theirs: Set[int], their_title: str) -> float | None:
    """The exact check of a candidate the estimate kept; its similarity, or None."""
    score = exact_similarity(mine, theirs)
    if score is None:
        return None
    if min(len(mine), len(theirs)) < SHORT_SHINGLES and not titles_agree(title, their_title):
        return None
    return score


def assign_story(db: Database, article_id: int, title: str, sig: Signature | None) -> int:
    """Attach the article to the story of its closest recent near-duplicate, or open a new
    story; return the story id. Runs inside the caller's transaction."""
    best: tuple[float, int] | None = None
    if sig is not None:
        kept = [
            c
            for c in stories.candidates(db, sig.band_keys, window_days=WINDOW_DAYS)
            if same_story(sig, Signature.from_bytes(c.signature, c.shingles))
        ]
        wanted = [c.article_id for c in kept] + ([] if sig.hashes else [article_id])
        texts = stories.titles_and_texts(db, wanted) if kept else {}
        mine = sig.hashes or shingle_hashes(texts.get(article_id, ("", ""))[1])
        for candidate in kept:
            their_title, their_text = texts.get(candidate.article_id, ("", ""))
            score = verify(mine, title, shingle_hashes(their_text), their_title)
            if score is not None and (best is None or score > best[0]):
                best = (score, candidate.story_id)
    story_id = (
        stories.attach(db, article_id, best[1])
        if best
        else stories.open_story(db, article_id, title)
    )
    if sig is not None:
        stories.remember(
            db, article_id, story_id, sig.to_bytes(), sig.shingles, sig.band_keys, WINDOW_DAYS
        )
    return story_id


def refresh_signatures(db: Database) -> int:
    """Re-make the window's stored signatures when they were made by another version of the
    hashing (once, at start); return how many articles were re-signed."""
    if meta.get(db, _VERSION_KEY) == SIGNATURE_VERSION:
        return 0
    with write_transaction(db):  # read inside: no article stored meanwhile loses its keys
        signed = stories.signed_articles(db)
        stories.reload_band_indexes(db)
        for article_id, text in signed:
            sig = signature(text)
            stories.replace_signature(
                db,
                article_id,
                sig.to_bytes() if sig else None,
                sig.shingles if sig else 0,
                sig.band_keys if sig else [],
            )
        meta.put(db, _VERSION_KEY, SIGNATURE_VERSION)
    return len(signed)


_VERSION_KEY = "story_signature_version"
