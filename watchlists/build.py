"""Drafting a watchlist from a folder of articles, for a person to edit.

The flow: read every ``*.txt`` / ``*.html`` article -> find candidate entities (multi-word
proper names such as "Sputnik Azerbaijan", acronyms such as BTC, and single proper names that
the background word list does not know as ordinary words) -> rank them by how many articles
name them -> fold each name into a group of aliases with the longer names that contain it
("Aliyev", "Ilham Aliyev") -> pick the distinctive ordinary words (far more frequent here than
in the background frequency list, see background/README.md) -> draft a query that every
article of the corpus satisfies -> write it all as commented TOML that loads as is.

A draft, not a verdict: the comments say what each group is and how often it was seen, so
the person deciding what the watchlist is *for* can cut, merge and add aliases.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path

from .document import Document
from .engine import Matcher
from .errors import WatchlistError
from .model import Watchlist
from .normalize import fold
from .query import parse_query

ARTICLE_SUFFIXES = (".txt", ".html", ".htm")
MAX_ENTITIES = 10
MAX_TOPIC_WORDS = 12
_WORD = re.compile(r"[^\W_]+(?:-[^\W_]+)*")  # a possessive 's is a word of its own
_SENTENCE_END = re.compile(r"[.!?:;\n\"“”()«»]")
_ACRONYM = re.compile(r"^[A-ZА-ЯЁ][A-ZА-ЯЁ0-9]{1,5}$")
_CONNECTORS = {"of", "de", "al", "ul", "for", "the"}
_LEADING = {
    "the", "a", "an", "in", "on", "at", "but", "and", "for", "as", "if", "when",
    "mr", "mrs", "ms", "dr", "s",
}  # fmt: skip
_RARE_ZIPF = 2.5  # below the rarest listed word


class BuildError(WatchlistError):
    hint = "point it at a folder of .txt or .html articles"


@dataclass
class Group:
    """One entity (its aliases) or the distinctive words, with what the comment reports."""

    name: str
    aliases: list[str]
    articles: int
    mentions: int
    note: str


@dataclass
class Draft:
    name: str
    articles: list[str]
    groups: list[Group] = field(default_factory=list)
    query: str = ""
    covered: int = 0


def build(corpus: Path, name: str | None = None) -> Draft:
    """A draft watchlist for the articles in ``corpus``."""
    texts = read_corpus(corpus)
    background = Background.shipped()
    entities = _entities(texts.values(), background)
    draft = Draft(name=name or slug(corpus.name) or "draft", articles=sorted(texts))
    draft.groups = entities[:MAX_ENTITIES]
    topics = _topic_words(texts.values(), background, draft.groups)
    if topics:
        draft.groups.append(topics)
    draft.query, draft.covered = _draft_query(draft.groups, list(texts.values()))
    return draft


# -- reading ---------------------------------------------------------------------------------


def read_corpus(folder: Path) -> dict[str, str]:
    """File name -> plain text for each article in ``folder``."""
    if not folder.is_dir():
        raise BuildError(f"{folder}: is not a folder")
    texts: dict[str, str] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in ARTICLE_SUFFIXES or not path.is_file():
            continue
        raw = path.read_text(encoding="utf-8", errors="replace")
        texts[path.name] = html_text(raw) if path.suffix.lower() != ".txt" else raw
    if not texts:
        raise BuildError(f"{folder}: no .txt or .html articles")
    return texts


class _TextParser(HTMLParser):
    _SKIP = frozenset({"script", "style", "noscript", "template", "svg"})
    _BLOCK = frozenset({"p", "div", "br", "li", "h1", "h2", "h3", "h4", "tr", "section", "article"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self.skipping += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self.skipping:
            self.skipping -= 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_text(html: str) -> str:
    parser = _TextParser()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts)


# -- the background --------------------------------------------------------------------------


class Background:
    """How common a word is in general text (Zipf scale), from the shipped frequency lists."""

    def __init__(self, zipf: dict[str, float]) -> None:
        self.zipf = zipf

    @classmethod
    def shipped(cls) -> Background:
        zipf: dict[str, float] = {}
        folder = resources.files("watchlists").joinpath("background")
        for item in sorted(folder.iterdir(), key=lambda p: p.name):
            if not item.name.endswith(".tsv"):
                continue
            for line in item.read_text(encoding="utf-8").splitlines():
                word, _, value = line.partition("\t")
                if word and not word.startswith("#") and value:
                    key = fold(word)
                    zipf[key] = max(zipf.get(key, 0.0), float(value))
        return cls(zipf)

    def frequency(self, word: str) -> float:
        return self.zipf.get(fold(word), _RARE_ZIPF)

    def knows(self, word: str) -> bool:
        return fold(word) in self.zipf


# -- entities --------------------------------------------------------------------------------


def _chunks(text: str) -> list[list[str]]:
    """Runs of words between punctuation, so a name never spans two sentences."""
    return [_WORD.findall(piece) for piece in _SENTENCE_END.split(text)]


def _capitalised(word: str) -> bool:
    return word[:1].isupper()


def _names_in(chunk: list[str], background: Background) -> list[str]:
    """Maximal runs of capitalised words (connectors such as "of" allowed inside)."""
    names: list[str] = []
    run: list[str] = []
    for index, word in enumerate([*chunk, ""]):
        inside = run and word.lower() in _CONNECTORS and index + 1 < len(chunk)
        if word and (_capitalised(word) or (inside and _capitalised(chunk[index + 1]))):
            run.append(word)
            continue
        while run and (run[-1].lower() in _CONNECTORS):
            run.pop()
        # A sentence's first word is capitalised anyway: keep it only if it is no common word.
        if run and run is not None and _is_opening(chunk, run) and background.knows(run[0]):
            run = run[1:]
        if run:
            names.append(" ".join(run))
        run = []
    return names


def _is_opening(chunk: list[str], run: list[str]) -> bool:
    return bool(chunk) and chunk[0] == run[0]


def _entities(texts: object, background: Background) -> list[Group]:
    mentions: Counter[str] = Counter()
    articles: Counter[str] = Counter()
    for text in texts:  # type: ignore[attr-defined]
        found = [n for chunk in _chunks(text) for n in _names_in(chunk, background)]
        mentions.update(found)
        articles.update(set(found))
    candidates = [n for n in mentions if _worth_keeping(n, mentions, articles, background)]
    groups = _group_aliases(candidates, mentions, articles)
    groups.sort(key=lambda g: (-g.articles, -g.mentions, g.name))
    return groups


def _worth_keeping(
    name: str, mentions: Counter[str], articles: Counter[str], background: Background
) -> bool:
    words = name.split()
    if words[0].lower() in _LEADING or words[-1].lower() in _LEADING:
        return False
    if len(words) > 1:
        return mentions[name] >= 2
    if _ACRONYM.match(name):
        return mentions[name] >= 2 and not background.knows(name)
    # A single capitalised word: a name when general text finds it rare enough.
    return mentions[name] >= 3 and articles[name] >= 2 and background.frequency(name) < 5.0


def _group_aliases(
    candidates: list[str], mentions: Counter[str], articles: Counter[str]
) -> list[Group]:
    """Each single name heads a group holding its derived forms (Armenia: Armenian) and the
    longer names that contain it (Aliyev: Ilham Aliyev)."""
    singles = sorted((c for c in candidates if " " not in c), key=lambda c: -mentions[c])
    singles.sort(key=len)  # a stem before the words derived from it
    groups: dict[str, Group] = {}
    placed: set[str] = set()
    for single in singles:
        if single in placed:
            continue
        forms = [s for s in singles if s not in placed and _derived(s, single)]
        longer = [
            c
            for c in candidates
            if " " in c and c not in placed and any(f in c.split() for f in forms)
        ]
        aliases = [*forms, *sorted(longer, key=lambda c: -mentions[c])]
        placed.update(aliases)
        kind = "acronym" if _ACRONYM.match(single) else "name"
        groups[single] = Group(
            name=slug(single) or f"entity{len(groups) + 1}",
            aliases=aliases,
            articles=max(articles[form] for form in forms),
            mentions=sum(mentions[a] for a in aliases),
            note=kind,
        )
    for name in candidates:
        if name not in placed:
            groups[name] = Group(slug(name) or f"entity{len(groups) + 1}", [name],
                                 articles[name], mentions[name], "multi-word name")  # fmt: skip
    return _unique_names(list(groups.values()))


def _derived(word: str, stem: str) -> bool:
    """``word`` is ``stem`` or a short suffix away from it (Azerbaijan: Azerbaijani, -is)."""
    folded, base = fold(word), fold(stem)
    if word == stem:
        return True
    return folded.startswith(base) and len(folded) - len(base) <= 3 and len(base) >= 4


def _unique_names(groups: list[Group]) -> list[Group]:
    seen: set[str] = set()
    for group in groups:
        base, number = group.name, 2
        while group.name in seen:
            group.name = f"{base}-{number}"
            number += 1
        seen.add(group.name)
    return groups


# -- distinctive words -----------------------------------------------------------------------


def _topic_words(texts: object, background: Background, entities: list[Group]) -> Group | None:
    counts: Counter[str] = Counter()
    articles: Counter[str] = Counter()
    total = 0
    for text in texts:  # type: ignore[attr-defined]
        words = [w for w in _WORD.findall(text) if w.islower() and len(w) >= 4]
        total += len(words)
        counts.update(words)
        articles.update(set(words))
    taken = {fold(word) for group in entities for alias in group.aliases for word in alias.split()}

    def keyness(word: str) -> float:
        per_billion = counts[word] / max(total, 1) * 1e9
        return math.log10(per_billion) - background.frequency(word)

    ranked = [
        w
        for w in counts
        if counts[w] >= 3 and articles[w] >= 2 and fold(w) not in taken and keyness(w) > 2.0
    ]
    ranked.sort(key=lambda w: (-keyness(w), w))
    chosen = ranked[:MAX_TOPIC_WORDS]
    if not chosen:
        return None
    return Group(
        name="topic",
        aliases=chosen,
        articles=len([t for t in texts if any(w in _WORD.findall(t) for w in chosen)]),  # type: ignore[attr-defined]
        mentions=sum(counts[w] for w in chosen),
        note="distinctive words: far more frequent here than in the background list",
    )


# -- the draft query -------------------------------------------------------------------------


def _draft_query(groups: list[Group], texts: list[str]) -> tuple[str, int]:
    """The strictest of a few shapes that still matches every article (or the best one)."""
    entities = [g for g in groups if g.name != "topic"]
    has_topic = any(g.name == "topic" for g in groups)
    shapes: list[str] = []
    if len(entities) >= 2:
        first, second = f"@{entities[0].name}", f"@{entities[1].name}"
        if has_topic:
            shapes.append(f"{first} AND {second} AND @topic")
        shapes.append(f"{first} AND {second}")
        rest = " OR ".join(f"@{g.name}" for g in entities[1:4])
        shapes.append(f"{first} AND ({rest})")
    shapes.append(" OR ".join(f"@{g.name}" for g in groups[:4]) or "draft")
    best, best_count = shapes[-1], -1
    for shape in shapes:
        covered = _coverage(shape, groups, texts)
        if covered == len(texts):
            return shape, covered
        if covered > best_count:
            best, best_count = shape, covered
    return best, best_count


def _coverage(query: str, groups: list[Group], texts: list[str]) -> int:
    aliases = {g.name: g.aliases for g in groups}
    watchlist = Watchlist(name="draft", query=query, tree=parse_query(query, aliases))
    matcher = Matcher([watchlist])
    return sum(1 for text in texts if matcher.match(Document(text=text)))


# -- writing ---------------------------------------------------------------------------------


def render(draft: Draft) -> str:
    """The draft as commented TOML that ``load_file`` accepts as it stands."""
    lines = [
        f"# Draft watchlist built from {len(draft.articles)} articles:",
        *[f"#   {name}" for name in draft.articles],
        "# Edit before use: drop groups that are not the subject, add aliases (other",
        "# spellings, other languages, word* for inflected forms), tighten the query.",
        f"# The draft query matches {draft.covered} of the {len(draft.articles)} articles.",
        "",
        f"name = {_toml_string(draft.name)}",
        f"description = {_toml_string('Draft built from a corpus; describe the subject')}",
        'severity = "digest"',
        f"query = {_toml_string(draft.query)}",
        "",
        "[groups]",
    ]
    for group in draft.groups:
        lines.append(
            f"# {group.note}; in {group.articles} of {len(draft.articles)} articles, "
            f"{group.mentions} mentions"
        )
        aliases = ", ".join(_toml_string(alias) for alias in group.aliases)
        lines.append(f"{_toml_key(group.name)} = [{aliases}]")
    return "\n".join(lines) + "\n"


def slug(text: str) -> str:
    """A watchlist or group name from any text: lower-case ASCII, digits and dashes."""
    return re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-")


def _toml_key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else _toml_string(name)


def _toml_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
