"""Errors raised by the storage package.

StorageError                 anything that went wrong reading or writing the database
 +-- DatabaseUnavailable     the file cannot be opened, is locked for too long, or is not SQLite
 +-- SchemaTooNew            the file was written by a newer version of news-monitor
 +-- NotFound                a row named by the caller does not exist
"""

from __future__ import annotations


class StorageError(Exception):
    """Base class; ``hint`` says what the user can do about it."""

    hint = ""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        if hint:
            self.hint = hint


class DatabaseUnavailable(StorageError):
    hint = "check the `database` path in the config and that no other program holds the file"


class SchemaTooNew(StorageError):
    hint = "upgrade news-monitor, or point `database` at another file"


class NotFound(StorageError):
    pass
