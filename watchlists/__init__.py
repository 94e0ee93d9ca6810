"""What to look for: watchlist files, the query language and the matching engine.

This package knows nothing of the pipeline or of storage: a match is plain data.
"""

from __future__ import annotations

from .document import Document, Hit
from .engine import Match, Matcher, evaluate
from .errors import QuerySyntaxError, WatchlistError, WatchlistFileError
from .loader import LoadResult, load_dir, load_file, shipped_dir
from .model import Watchlist
from .query import parse_query

__all__ = [
    "Document",
    "Hit",
    "LoadResult",
    "Match",
    "Matcher",
    "QuerySyntaxError",
    "Watchlist",
    "WatchlistError",
    "WatchlistFileError",
    "evaluate",
    "load_dir",
    "load_file",
    "parse_query",
    "shipped_dir",
]
