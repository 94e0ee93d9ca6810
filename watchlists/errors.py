"""Errors raised by the watchlists package.

WatchlistError               anything wrong with a watchlist
 +-- QuerySyntaxError        a query that does not parse (carries the column of the mistake)
 +-- WatchlistFileError      a watchlist file that cannot be read or has a bad key or value
"""

from __future__ import annotations


class WatchlistError(Exception):
    """Base class; ``hint`` says what the user can do about it."""

    hint = ""


class QuerySyntaxError(WatchlistError):
    hint = (
        'operators: AND, OR, NOT, -word, ( ), "phrase", "phrase"~n, word*, @group, '
        "a NEAR/n b, a ONEAR/n b, title:, text:, site:, lang:"
    )

    def __init__(self, message: str, *, query: str, position: int) -> None:
        self.query = query
        self.position = position
        super().__init__(f"{message} at column {position + 1}")

    def pointer(self) -> str:
        """The query with a caret under the mistake, for multi-line displays."""
        return f"{self.query}\n{' ' * self.position}^"


class WatchlistFileError(WatchlistError):
    hint = "`monitor watchlists check` validates every watchlist file"

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        super().__init__(f"{path}: {message}")
