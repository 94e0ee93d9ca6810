"""Persistence for news-monitor: the SQLite schema and every query, through sqlite-utils.

This package knows nothing of the pipeline: callers hand it plain data.
"""

from __future__ import annotations

from .db import open_database
from .errors import DatabaseUnavailable, NotFound, SchemaTooNew, StorageError

__all__ = ["DatabaseUnavailable", "NotFound", "SchemaTooNew", "StorageError", "open_database"]
