"""The query language: parsing a query string into a tree.

    query    := or_expr
    or_expr  := and_expr ("OR" and_expr)*
    and_expr := near (["AND"] near)*            adjacent terms are ANDed
    near     := unary (("NEAR/n" | "ONEAR/n") unary)*
    unary    := "NOT" unary | "-" atom | atom
    atom     := "(" or_expr ")" | WORD | WORD* | "quoted phrase" | "quoted phrase"~n
              | @group | ("title:" | "text:") atom | ("site:" | "lang:") VALUE

Words and phrases match whole words after normalisation (see normalize.py); ``word*`` matches
any word starting with ``word``; ``@name`` is a named group of aliases from the watchlist file.
``a NEAR/n b`` holds when a hit of ``a`` and a hit of ``b`` are at most n words apart (any
order, same field); ``ONEAR/n`` also wants ``a`` first. Their operands may be terms, groups and
OR-lists or any sub-query with hits, not negations nor site:/lang: tests. ``"a b"~n`` is
``a NEAR/n b`` (with more words, each within n words of the ones before it).
``title:`` and ``text:`` restrict what follows to one field; ``site:example.org`` holds for
that domain and its subdomains, ``lang:ru`` for Russian (also ru-RU).
Operators are upper-case, so lower-case ``and``/``or``/``not`` are ordinary words. Quotes and
dashes pasted from a word processor (“ ” « » – —) count as " and -.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .errors import QuerySyntaxError
from .normalize import words


@dataclass(frozen=True)
class Term:
    """A word or phrase (several words in a row); ``prefix`` applies to its last word."""

    words: tuple[str, ...]
    prefix: bool
    source: str


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    child: Node


@dataclass(frozen=True)
class Near:
    left: Node
    right: Node
    distance: int
    ordered: bool


@dataclass(frozen=True)
class Scope:
    """``title:`` or ``text:``: the child must hold on that field's hits alone."""

    field: str
    child: Node


@dataclass(frozen=True)
class Meta:
    """``site:`` or ``lang:``: a test on the document's metadata, not on its words."""

    key: str
    value: str


Node = Term | And | Or | Not | Near | Scope | Meta
FIELD_SCOPES = ("title", "text")
META_SCOPES = ("site", "lang")
MAX_DEPTH = 64

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<lparen>\() | (?P<rparen>\)) |
      (?P<phrase>"[^"]*"?(?:~\S*)?) |
      (?P<scope>(?:title|text|site|lang):) |
      (?P<group>@[\w-]+) |
      (?P<minus>-(?=[\w"(@])) |
      (?P<word>[^\s()"]+)
    )""",
    re.VERBOSE,
)
_OPERATORS = {"AND", "OR", "NOT"}
_NEAR = re.compile(r"^(NEAR|ONEAR)/(\d{1,4})$")
_NEAR_LIKE = re.compile(r"^(NEAR|ONEAR|W|PRE)(/.*)?$")


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    pos: int


# Pasted from a word processor: one character for one, so columns stay right.
_TYPOGRAPHIC = str.maketrans(
    {
        **dict.fromkeys("“”„‟«»＂", '"'),
        **dict.fromkeys("‐‑‒–—−﹣－", "-"),
    }
)
_PROXIMITY = re.compile(r'^"[^"]*"~(\d{1,4})$')


def _lex(query: str) -> list[_Tok]:
    query = query.translate(_TYPOGRAPHIC)
    tokens: list[_Tok] = []
    pos = 0
    while pos < len(query):
        if query[pos:].strip() == "":
            break
        m = _TOKEN.match(query, pos)
        if m is None or m.lastgroup is None:  # pragma: no cover - the word rule takes the rest
            raise QuerySyntaxError("unexpected character", query=query, position=pos)
        kind, text = m.lastgroup, m.group(m.lastgroup)
        start = m.start(kind)
        if kind == "phrase" and text.count('"') < 2:
            raise QuerySyntaxError("unclosed quote", query=query, position=start)
        if kind == "phrase" and not text.endswith('"') and not _PROXIMITY.match(text):
            raise QuerySyntaxError(
                "'~' after a phrase needs a number of words, as in \"a b\"~5",
                query=query,
                position=start + text.index("~"),
            )
        if kind == "word" and text in _OPERATORS:
            kind = text
        elif kind == "word" and _NEAR.match(text):
            kind = "near"
        elif kind == "word" and _NEAR_LIKE.match(text) and "/" in text:
            raise QuerySyntaxError(
                f"{text!r} is not a proximity operator (write NEAR/n or ONEAR/n)",
                query=query,
                position=start,
            )
        tokens.append(_Tok(kind, text, start))
        pos = m.end()
    return tokens


class _Parser:
    def __init__(self, query: str, groups: Mapping[str, Sequence[str]]) -> None:
        self.query = query
        self.groups = groups
        self.tokens = _lex(query)
        self.i = 0
        self.depth = 0

    def error(self, message: str, pos: int | None = None) -> QuerySyntaxError:
        if pos is None:
            pos = self.tokens[self.i].pos if self.i < len(self.tokens) else len(self.query)
        return QuerySyntaxError(message, query=self.query, position=pos)

    def peek(self) -> _Tok | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> _Tok:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def parse(self) -> Node:
        if not self.tokens:
            raise self.error("empty query", 0)
        node = self.or_expr()
        tok = self.peek()
        if tok is not None:
            raise self.error(
                "unexpected ')'" if tok.kind == "rparen" else f"unexpected {tok.text!r}"
            )
        return node

    def or_expr(self) -> Node:
        children = [self.and_expr()]
        while (tok := self.peek()) is not None and tok.kind == "OR":
            self.take()
            children.append(self.and_expr())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def and_expr(self) -> Node:
        children = [self.near()]
        while (tok := self.peek()) is not None and tok.kind not in ("OR", "rparen"):
            if tok.kind == "AND":
                self.take()
            children.append(self.near())
        return children[0] if len(children) == 1 else And(tuple(children))

    def near(self) -> Node:
        left = self.unary()
        while (tok := self.peek()) is not None and tok.kind == "near":
            self.take()
            right = self.unary()
            for side, node in (("left", left), ("right", right)):
                if _has_not(node):
                    raise self.error(f"the {side} side of {tok.text} cannot be negated", tok.pos)
                if _has_meta(node):
                    raise self.error(
                        f"the {side} side of {tok.text} cannot be a site: or lang: test", tok.pos
                    )
            m = _NEAR.match(tok.text)
            assert m is not None
            left = Near(left, right, int(m.group(2)), m.group(1) == "ONEAR")
        return left

    def unary(self) -> Node:
        tok = self.peek()
        if tok is None:
            raise self.error("expected a term after the operator")
        if tok.kind in ("NOT", "minus"):
            self.take()
            self.enter(tok)
            try:
                return Not(self.unary() if tok.kind == "NOT" else self.atom())
            finally:
                self.depth -= 1
        return self.atom()

    def enter(self, tok: _Tok) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"query nests deeper than {MAX_DEPTH} levels", tok.pos)

    def atom(self) -> Node:
        tok = self.peek()
        if tok is None:
            raise self.error("expected a term")
        if tok.kind in ("AND", "OR", "rparen", "near"):
            raise self.error(f"expected a term before {tok.text!r}")
        self.take()
        if tok.kind == "lparen":
            self.enter(tok)
            node = self.or_expr()
            closing = self.peek()
            if closing is None or closing.kind != "rparen":
                raise self.error("'(' is never closed", tok.pos)
            self.take()
            self.depth -= 1
            return node
        if tok.kind == "group":
            return self.group(tok)
        if tok.kind == "scope":
            return self.scope(tok)
        if tok.kind == "phrase" and tok.text.endswith('"'):
            return self.term(tok.text[1:-1], tok)
        if tok.kind == "phrase":
            return self.proximity_phrase(tok)
        return self.term(tok.text, tok)

    def scope(self, tok: _Tok) -> Node:
        name = tok.text[:-1]
        following = self.peek()
        if following is None or following.pos != tok.pos + len(tok.text):
            raise self.error(f"{tok.text} must be followed directly by what to look for", tok.pos)
        if name in FIELD_SCOPES:
            self.enter(tok)
            try:
                return Scope(name, self.atom())
            finally:
                self.depth -= 1
        if following.kind != "word":
            raise self.error(f"{tok.text} takes one value, as in {tok.text}example.org", tok.pos)
        self.take()
        value = following.text.strip().lower().rstrip(".")
        if name == "site":
            value = value.removeprefix("www.")
        return Meta(name, value)

    def proximity_phrase(self, tok: _Tok) -> Node:
        body, _, distance = tok.text[1:].rpartition('"~')
        parts = body.split()
        if len(parts) < 2:
            raise self.error(f"{tok.text} needs at least two words to bring near", tok.pos)
        node: Node = self.term(parts[0], tok)
        for part in parts[1:]:
            node = Near(node, self.term(part, tok), int(distance), False)
        return node

    def group(self, tok: _Tok) -> Node:
        name = tok.text[1:]
        if name not in self.groups:
            known = ", ".join(sorted(self.groups)) or "none defined"
            raise self.error(f"unknown group @{name} (groups: {known})", tok.pos)
        aliases = self.groups[name]
        if not aliases:
            raise self.error(f"group @{name} is empty", tok.pos)
        children = tuple(parse_alias(alias, query=self.query, pos=tok.pos) for alias in aliases)
        return children[0] if len(children) == 1 else Or(children)

    def term(self, text: str, tok: _Tok) -> Term:
        try:
            return parse_alias(text, query=self.query, pos=tok.pos)
        except QuerySyntaxError:
            raise self.error(f"{tok.text!r} has no letters or digits to match", tok.pos) from None


def parse_alias(text: str, *, query: str, pos: int) -> Term:
    """One word or phrase, as written in a query or a group's alias list."""
    prefix = text.endswith("*")
    tokens = tuple(words(text.rstrip("*")))
    if not tokens:
        raise QuerySyntaxError(
            f"{text!r} has no letters or digits to match", query=query, position=pos
        )
    return Term(tokens, prefix, text)


def parse_query(query: str, groups: Mapping[str, Sequence[str]] | None = None) -> Node:
    """Parse ``query``; raise QuerySyntaxError with the column of the first mistake."""
    return _Parser(query, groups or {}).parse()


def children(node: Node) -> tuple[Node, ...]:
    """The sub-queries of ``node``, whatever its kind."""
    if isinstance(node, And | Or):
        return node.children
    if isinstance(node, Near):
        return (node.left, node.right)
    if isinstance(node, Not | Scope):
        return (node.child,)
    return ()


def _has_not(node: Node) -> bool:
    return isinstance(node, Not) or any(_has_not(child) for child in children(node))


def _has_meta(node: Node) -> bool:
    return isinstance(node, Meta) or any(_has_meta(child) for child in children(node))
