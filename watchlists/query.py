"""The query language: parsing a query string into a tree.

    query    := or_expr
    or_expr  := and_expr ("OR" and_expr)*
    and_expr := near (["AND"] near)*            adjacent terms are ANDed
    near     := unary (("NEAR/n" | "ONEAR/n") unary)*
    unary    := "NOT" unary | "-" atom | atom
    atom     := "(" or_expr ")" | WORD | WORD* | "quoted phrase" | @group

Words and phrases match whole words after normalisation (see normalize.py); ``word*`` matches
any word starting with ``word``; ``@name`` is a named group of aliases from the watchlist file.
``a NEAR/n b`` holds when a hit of ``a`` and a hit of ``b`` are at most n words apart (any
order, same field); ``ONEAR/n`` also wants ``a`` first. Their operands may be terms, groups and
OR-lists, not negations.
Operators are upper-case, so lower-case ``and``/``or``/``not`` are ordinary words.
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


Node = Term | And | Or | Not | Near
MAX_DEPTH = 64

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<lparen>\() | (?P<rparen>\)) |
      (?P<phrase>"[^"]*"?) |
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


_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"'})


def _lex(query: str) -> list[_Tok]:
    query = query.translate(_QUOTES)  # pasted from a word processor; same length, same columns
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
        if kind == "phrase" and (len(text) < 2 or not text.endswith('"')):
            raise QuerySyntaxError("unclosed quote", query=query, position=start)
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
        if tok.kind == "phrase":
            return self.term(tok.text[1:-1], tok)
        return self.term(tok.text, tok)

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


def _has_not(node: Node) -> bool:
    if isinstance(node, Not):
        return True
    if isinstance(node, Term):
        return False
    if isinstance(node, Near):
        return _has_not(node.left) or _has_not(node.right)
    return any(_has_not(child) for child in node.children)
