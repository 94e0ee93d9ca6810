"""A document to match and the hits found in it.

The document keeps each field (title, text) in NFC for snippets, and derives the canonical
form the automaton reads only when asked, once (see normalize.py for why two forms).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import partial
from itertools import groupby
from operator import itemgetter
from typing import NamedTuple
from urllib.parse import urlsplit

from .normalize import OffsetMap, canonical, spaced, squeeze

FIELDS = ("title", "text")
# A hit as the scan found it: (field number, start of its first word in canonical text, words,
# the term as written, the last character of its key there).
Listed = tuple[int, int, int, str, int]


class Hit(NamedTuple):
    """One occurrence of a term. A named tuple rather than a frozen dataclass: a match
    creates many, and a tuple is several times cheaper to build."""

    term: str
    field: str
    position: int  # word index within the field
    start: int  # character offsets within the field's text
    end: int
    words: int = 1  # how many words the hit spans (a phrase)

    @property
    def last(self) -> int:
        return self.position + self.words - 1


# Hit's own constructor is Python code; every field is given here, so build the tuple directly.
_new_hit = partial(tuple.__new__, Hit)


@dataclass
class Document:
    """Text to match: a title, a body, and optionally the site (domain or URL) and language."""

    title: str = ""
    text: str = ""
    site: str = ""
    lang: str = ""
    fields: dict[str, str] = field(init=False)
    _spaced: dict[str, str] = field(init=False, repr=False, default_factory=dict)
    _canonical: dict[str, str] = field(init=False, repr=False, default_factory=dict)
    _maps: dict[str, OffsetMap] = field(init=False, repr=False, default_factory=dict)
    # per field: (a canonical offset, how many spaces come before it), where counting resumes
    _counted: list[tuple[int, int]] = field(init=False, repr=False, default_factory=list)

    def __post_init__(self) -> None:
        self.fields = {
            "title": unicodedata.normalize("NFC", self.title),
            "text": unicodedata.normalize("NFC", self.text),
        }
        self._counted = [(0, 0) for _ in FIELDS]
        self.site = host_of(self.site)
        self.lang = self.lang.strip().lower().replace("_", "-")

    def spaced(self, name: str) -> str:
        if name not in self._spaced:
            self._spaced[name] = spaced(self.fields[name])
        return self._spaced[name]

    def canonical(self, name: str) -> str:
        """The field as the automaton reads it: ``" w1 w2 ... "``."""
        if name not in self._canonical:
            self._canonical[name] = squeeze(self.spaced(name))
        return self._canonical[name]

    def position(self, field: int, start: int) -> int:
        """The word index of the word starting at canonical offset ``start`` of a field: the
        spaces before it, less the leading one. Counted in C from the last offset asked,
        since hits are mostly asked for in increasing order."""
        offset, spaces = self._counted[field]
        if start < offset:
            offset = spaces = 0
        spaces += self.canonical(FIELDS[field]).count(" ", offset, start)
        self._counted[field] = (start, spaces)
        return spaces - 1

    def hits(self, found: Iterable[Listed]) -> list[Hit]:
        """Hits with their word positions and character offsets in the field, from where the
        scan found them in canonical text: (field number, ``start`` of the first word, words,
        term, last character of the key), sorted by field and start."""
        result: list[Hit] = []
        for number, items in groupby(found, key=itemgetter(0)):
            name = FIELDS[number]
            listed = list(items)
            canonical = self.canonical(name)
            # a prefix key ends inside a word: the hit ends with the word
            spans = [
                (start, canonical.index(" ", key_end), words)
                for _, start, words, _, key_end in listed
            ]
            offsets = self._maps.get(name) or self._offsets(name)
            for item, (position, first, last) in zip(listed, offsets.place(spans), strict=True):
                result.append(_new_hit((item[3], name, position, first, last, item[2])))
        return result

    def _offsets(self, name: str) -> OffsetMap:
        offsets = OffsetMap(self.fields[name], self.spaced(name), self.canonical(name))
        self._maps[name] = offsets
        return offsets

    def on_site(self, domain: str) -> bool:
        """``domain`` itself or any subdomain of it."""
        return self.site == domain or self.site.endswith("." + domain)

    def in_lang(self, lang: str) -> bool:
        return self.lang == lang or self.lang.startswith(lang + "-")


def host_of(site: str) -> str:
    """The lower-case host of a URL or domain, without ``www.`` and a trailing dot."""
    site = site.strip().lower()
    if "://" in site:
        site = urlsplit(site).hostname or ""
    return site.rstrip(".").removeprefix("www.")


__all__ = ["FIELDS", "Document", "Hit", "canonical"]
