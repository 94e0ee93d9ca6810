"""The furniture rules: ``furniture.toml`` loaded and compiled, and the blocks they judge.

A block is one paragraph, heading, list item, quote or table of trafilatura's output (or the
loose text between two of them). A rule says whether a block is furniture; the rule set
finds the first rule, in file order, that takes a block, at the cost of a few regular
expression calls per block (see RuleSet). The order in which the cleaner applies the rules is
in ``monitor.clean``.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources
from typing import Any

import ahocorasick
from lxml.etree import _Element

BOX_TOKEN = re.compile(r"[a-z0-9_-]+")
SHORT_LINE_WORDS = 14  # the rules for lines up to so many words are joined apart
WORDS = re.compile(r"\w+")
# Letters that ``re.IGNORECASE`` matches to a letter of LITERAL_ALPHABET though ``str.lower``
# does not make them that letter (a test derives this list from ``re`` itself).
CASE_FOLD = str.maketrans(
    {
        "\u0130": "i",  # İ
        "\u0131": "i",  # ı
        "\u017f": "s",  # ſ
        "\u1c80": "в",
        "\u1c81": "д",
        "\u1c82": "о",
        "\u1c83": "с",
        "\u1c84": "т",
        "\u1c85": "т",
        "\u1c86": "ъ",
        "\u1c87": "ѣ",
    }
)
_CASE_VARIANTS = re.compile("[" + "".join(map(chr, CASE_FOLD)) + "]")
# The characters a pattern literal is made of (see ``required_literals``): printable ASCII
# and the Cyrillic block, for which CASE_FOLD is complete.
LITERAL_ALPHABET = frozenset(map(chr, [*range(0x20, 0x7F), *range(0x400, 0x500)]))


@dataclass(frozen=True)
class Rule:
    id: str
    category: str
    reason: str
    scope: str  # "block", "section" or "cues"
    patterns: tuple[re.Pattern[str], ...]
    max_words: int
    min_cues: int = 1
    gate: re.Pattern[str] | None = None  # lower-case fragments, one of which must occur
    anchored: str | None = None  # its patterns as one alternation, when all are anchored at ^
    needles: frozenset[str] = frozenset()
    # Per pattern: lower-case strings one of which every match of it contains, or None (see
    # ``required_literals``); a pattern is searched only in a block that holds one of them.
    literals: tuple[tuple[str, ...] | None, ...] = ()

    def _candidates(self, block: Block) -> list[re.Pattern[str]]:
        """The patterns that could match the block: a substring test rules the others out,
        at a small fraction of the cost of a regex scan of the block."""
        if not self.literals:
            return list(self.patterns)
        lower = block.lower
        return [
            pattern
            for pattern, literals in zip(self.patterns, self.literals, strict=True)
            if literals is None or any(literal in lower for literal in literals)
        ]

    def matches(self, block: Block, needles: frozenset[str] | None = None) -> bool:
        """``needles``, when given, are the needles found in the block (see RuleSet)."""
        if block.words == 0 or block.words > self.max_words:
            return False
        if self.gate is not None:
            if needles is not None:
                if needles.isdisjoint(self.needles):
                    return False
            elif self.gate.search(block.lower) is None:
                return False  # cheap gate before the regular expressions
        candidates = self._candidates(block)
        if self.scope == "cues":
            if len(candidates) < self.min_cues:
                return False
            found = 0
            for pattern in candidates:
                if pattern.search(block.text):
                    found += 1
                    if found >= self.min_cues:
                        return True
            return False
        return any(p.search(block.text) for p in candidates)


@dataclass(frozen=True)
class Dropped:
    """A block the cleaner removed, and why."""

    rule: str
    category: str
    reason: str
    text: str


@dataclass
class Block:
    element: _Element
    tag: str
    text: str
    words: int
    link_words: int
    dropped: Dropped | None = None
    lines: tuple[str, ...] = ()  # the lines of a block broken by <lb/>, when it has several
    cut: tuple[Dropped, ...] = ()  # furniture lines taken out of the block
    _lower: str | None = None
    _rule: Rule | None = None
    _ruled: bool = False

    def first_rule(self, rules: RuleSet) -> Rule | None:
        """The first rule matching this block (computed once)."""
        if not self._ruled:
            self._rule = rules.first(self)
            self._ruled = True
        return self._rule

    @property
    def lower(self) -> str:
        """The text in lower case, for the needle gates and the pattern literals; the few
        letters that a case-insensitive regex takes for an ASCII or Cyrillic letter but
        ``str.lower`` does not lower to it (the long s, the dotless i, old Cyrillic forms)
        are made that letter first, so a test on this text never misses what a pattern
        would find."""
        if self._lower is None:
            text = self.text
            if not text.isascii() and _CASE_VARIANTS.search(text):
                text = text.translate(CASE_FOLD)
            self._lower = text.lower()
        return self._lower

    def keep_lines(self, kept: list[str], cut: list[Dropped]) -> None:
        """Only ``kept`` of the block's lines stay: its text and counts follow."""
        self.lines, self.cut = tuple(kept), tuple(cut)
        self.text = " ".join(kept)
        self.words = len(WORDS.findall(self.text))
        self._lower = None
        for cached in ("fingerprint", "normal"):
            self.__dict__.pop(cached, None)

    @property
    def link_density(self) -> float:
        return self.link_words / self.words if self.words else 0.0

    @cached_property
    def fingerprint(self) -> str:
        return _hashed(self.normal)

    @cached_property
    def normal(self) -> str:
        return normal(self.text)


@dataclass(frozen=True)
class RuleSet:
    """The rules in file order, the ungated ones anchored at the start also joined into
    alternations with a named group per rule: a block meets all of them in one match at its
    first character instead of one regex call per rule, which keeps cleaning cheap. There
    are two alternations, the rules for short lines and those that take longer blocks, so
    that a paragraph of ordinary length is tried against the few rules that could take it."""

    rules: tuple[Rule, ...]
    joined: tuple[tuple[int, re.Pattern[str]], ...]  # (most words of its rules, alternation)
    ungated: frozenset[int]  # indexes of the rules tested one by one without a gate
    needles: Any  # an ahocorasick.Automaton: needle -> (needle, indexes of its rules), or None
    gated_max_words: int

    def found_needles(self, block: Block) -> tuple[frozenset[str], set[int]]:
        """The needles in the block and the gated rules they open, in one scan for all."""
        if self.needles is None or block.words > self.gated_max_words:
            return frozenset(), set()
        needles: set[str] = set()
        opened: set[int] = set()
        for _, (needle, indexes) in self.needles.iter(block.lower):
            if needle not in needles:
                needles.add(needle)
                opened.update(indexes)
        return frozenset(needles), opened

    def first(self, block: Block) -> Rule | None:
        found = len(self.rules)
        for max_words, joined in self.joined:
            if not 0 < block.words <= max_words:
                continue
            m = joined.match(block.text)
            if m is not None and m.lastgroup is not None:
                found = min(found, int(m.lastgroup[1:]))
        if found < len(self.rules) and not self.rules[found].matches(block):
            return next((r for r in self.rules if r.matches(block)), None)  # too long for it
        needles, opened = self.found_needles(block)
        for i in sorted(opened.union(self.ungated)):
            if i > found:
                break
            if self.rules[i].matches(block, needles):
                return self.rules[i]
        return self.rules[found] if found < len(self.rules) else None


def rule_set(rules: tuple[Rule, ...]) -> RuleSet:
    joinable = [i for i, r in enumerate(rules) if r.anchored is not None and r.gate is None]
    tiers = (
        [i for i in joinable if rules[i].max_words <= SHORT_LINE_WORDS],
        [i for i in joinable if rules[i].max_words > SHORT_LINE_WORDS],
    )
    joined = tuple(
        (
            max(rules[i].max_words for i in tier),
            re.compile("|".join(f"(?P<r{i}>{rules[i].anchored})" for i in tier), re.IGNORECASE),
        )
        for tier in tiers
        if tier
    )
    opens: dict[str, list[int]] = {}
    for i, rule in enumerate(rules):
        for needle in rule.needles:
            opens.setdefault(needle, []).append(i)
    return RuleSet(
        rules,
        joined,
        frozenset(i for i, r in enumerate(rules) if i not in joinable and r.gate is None),
        _automaton(opens) if opens else None,
        max((r.max_words for r in rules if r.gate is not None), default=0),
    )


def _automaton(opens: dict[str, list[int]]) -> Any:
    automaton = ahocorasick.Automaton()
    for needle, indexes in opens.items():
        automaton.add_word(needle, (needle, tuple(indexes)))
    automaton.make_automaton()
    return automaton


@cache
def default_rules() -> RuleSet:
    return rule_set(load_rules())


def normal(text: str) -> str:
    """The text's words, case-folded, one space apart (``normal_of`` its words)."""
    return normal_of(WORDS.findall(text))


def normal_of(words: list[str]) -> str:
    return " ".join(words).casefold()


def fingerprint(text: str) -> str:
    """A block's identity across pages: its words, case-folded, hashed."""
    return _hashed(normal(text))


def _hashed(normal_text: str) -> str:
    return hashlib.sha1(normal_text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class BoxRule:
    """Boxes of the page taken out before extraction: elements whose class or id has one of
    ``tokens`` as a word of its own, holding at most ``max_words`` words (furniture.toml)."""

    id: str
    category: str
    reason: str
    tokens: tuple[str, ...]
    max_words: int

    @cached_property
    def named(self) -> re.Pattern[str]:
        """Matches a lower-cased "class id" string that names such a box."""
        words = "|".join(map(re.escape, self.tokens))
        return re.compile(rf"(?:^|[\s_-])(?:{words})(?:[\s_-]|$)")


@cache
def _furniture() -> dict[str, Any]:
    raw = resources.files("monitor").joinpath("furniture.toml").read_text("utf-8")
    return tomllib.loads(raw)


@cache
def load_rules() -> tuple[Rule, ...]:
    return tuple(_rule(item) for item in _furniture()["rules"])


@cache
def load_boxes() -> tuple[BoxRule, ...]:
    return boxes_from(_furniture().get("boxes", ()))


@cache
def box_prefilter(rules: tuple[BoxRule, ...]) -> re.Pattern[str]:
    """Any token of ``rules`` anywhere in a string: one scan in C, which spares most elements
    the rules' own word-boundary tests."""
    return re.compile("|".join(sorted({re.escape(t) for rule in rules for t in rule.tokens})))


def boxes_from(items: list[dict[str, Any]]) -> tuple[BoxRule, ...]:
    """The ``[[boxes]]`` entries of furniture.toml as rules; ValueError names a bad one."""
    boxes = []
    for item in items:
        tokens = tuple(str(token).lower() for token in item["tokens"])
        bad = [token for token in tokens if not BOX_TOKEN.fullmatch(token)]
        if bad or not tokens:  # they go into a regex: letters, digits, "-" and "_" only
            what = f"bad class token {bad[0]!r}" if bad else "no class tokens"
            raise ValueError(f"furniture.toml: box {item['id']!r}: {what}")
        boxes.append(
            BoxRule(
                id=item["id"],
                category=item["category"],
                reason=item["reason"],
                tokens=tokens,
                max_words=int(item.get("max_words", 50)),
            )
        )
    return tuple(boxes)


def _rule(item: dict[str, Any]) -> Rule:
    patterns = item["patterns"]
    compiled = _compile(patterns, combine=item["scope"] != "cues")
    return Rule(
        id=item["id"],
        category=item["category"],
        reason=item["reason"],
        scope=item["scope"],
        patterns=compiled,
        max_words=int(item.get("max_words", 50)),
        min_cues=int(item.get("min_cues", 1)),
        gate=re.compile("|".join(re.escape(n.lower()) for n in item["needles"]))
        if item.get("needles")
        else None,
        needles=frozenset(n.lower() for n in item.get("needles", ())),
        anchored="|".join(f"(?:{p[1:]})" for p in patterns)
        if item["scope"] != "cues" and all(p.startswith("^") for p in patterns)
        else None,
        literals=tuple(required_literals(p.pattern) for p in compiled),
    )


_META = frozenset("\\.^$*+?{}[]|()")
_OPTIONAL = ("?", "*", "{")


def required_literals(pattern: str) -> tuple[str, ...] | None:
    """Lower-case strings one of which every match of ``pattern`` (case-insensitive)
    contains, read from how each of its alternatives begins: a word (``\\bevery (...)`` needs
    "every "), or a group of words (``(become|becoming) a ...`` needs "become" or
    "becoming"), up to the first character outside LITERAL_ALPHABET; None when some
    alternative begins otherwise (a class, an escape, a lookaround), and the pattern is then
    always searched."""
    if "(?#" in pattern:
        return None  # a comment may stand between an item and its quantifier
    found: list[str] = []
    for alternative in _split_top(pattern):
        literals = _leading_literals(alternative)
        if literals is None:
            return None
        found += literals
    return tuple(found)


def _leading_literals(alternative: str) -> tuple[str, ...] | None:
    text = alternative
    while text.startswith(("^", "\\b")):
        text = text[1:] if text.startswith("^") else text[2:]
    if text.startswith("("):
        end = _group_end(text)
        inner_start = 3 if text.startswith("(?:") else 1
        if end is None or (inner_start == 1 and text.startswith("(?")):
            return None
        if text[end + 1 : end + 2] in _OPTIONAL:
            return None  # an optional group: what follows it may start the match
        return required_literals(text[inner_start:end])
    run: list[str] = []
    for char in text:
        if char in _META or char not in LITERAL_ALPHABET:
            if char in _OPTIONAL and run:
                run.pop()  # the character a quantifier follows may be absent
            break
        run.append(char)
    return (("".join(run)).lower(),) if run else None


def _split_top(pattern: str) -> list[str]:
    """The pattern's alternatives at the outermost level."""
    parts, start = [], 0
    for i, char, depth in _structure(pattern):
        if char == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
    parts.append(pattern[start:])
    return parts


def _group_end(text: str) -> int | None:
    """The index of the ``)`` closing the group that opens ``text``."""
    return next((i for i, char, depth in _structure(text) if char == ")" and depth == 0), None)


def _structure(pattern: str) -> Iterator[tuple[int, str, int]]:
    """Each ``(``, ``)`` and ``|`` of the pattern outside escapes and character classes,
    with its index and the group depth after it."""
    depth, i = 0, 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if char == "[":
            i = _class_end(pattern, i)
        elif char in "()|":
            depth += {"(": 1, ")": -1, "|": 0}[char]
            yield i, char, depth
        i += 1


def _class_end(text: str, start: int) -> int:
    """The index of the ``]`` closing the character class opening at ``start``."""
    i = start + 1
    if text[i : i + 1] == "^":
        i += 1
    if text[i : i + 1] == "]":
        i += 1  # a leading ] is a member
    while i < len(text) and text[i] != "]":
        i += 2 if text[i] == "\\" else 1
    return i


def _compile(patterns: list[str], *, combine: bool) -> tuple[re.Pattern[str], ...]:
    """Patterns anchored at the start are joined into one anchored alternation, which the
    regex engine tries at the start only: one cheap test instead of several."""
    anchored = [p[1:] for p in patterns if p.startswith("^")]
    if combine and len(anchored) > 1:
        rest = [p for p in patterns if not p.startswith("^")]
        joined = "^(?:" + "|".join(f"(?:{p})" for p in anchored) + ")"
        return tuple(re.compile(p, re.IGNORECASE) for p in [joined, *rest])
    return tuple(re.compile(p, re.IGNORECASE) for p in patterns)
