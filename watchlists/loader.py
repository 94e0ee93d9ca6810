"""Reading watchlist files (``*.toml``): one bad file is reported alone, the rest load."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import QuerySyntaxError, WatchlistError, WatchlistFileError
from .model import SEVERITIES, Watchlist
from .query import parse_query

KEYS = {"name", "description", "severity", "channels", "query", "groups", "threshold"}
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def shipped_dir() -> Path:
    """The folder of watchlists that ships with news-monitor."""
    return Path(str(resources.files("watchlists")))


@dataclass
class LoadResult:
    watchlists: list[Watchlist] = field(default_factory=list)
    errors: list[WatchlistError] = field(default_factory=list)


def load_dir(directory: str | Path) -> LoadResult:
    """Load every ``*.toml`` in ``directory``, collecting errors instead of stopping at one."""
    folder = Path(directory)
    result = LoadResult()
    if not folder.is_dir():
        result.errors.append(WatchlistFileError(str(folder), "is not a folder of watchlists"))
        return result
    seen: dict[str, str] = {}
    for path in sorted(folder.glob("*.toml")):
        try:
            watchlist = load_file(path)
        except WatchlistError as exc:
            result.errors.append(exc)
            continue
        if watchlist.name in seen:
            result.errors.append(
                WatchlistFileError(
                    str(path), f"name {watchlist.name!r} is already used by {seen[watchlist.name]}"
                )
            )
            continue
        seen[watchlist.name] = str(path)
        result.watchlists.append(watchlist)
    return result


def load_file(path: str | Path) -> Watchlist:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise WatchlistFileError(str(path), f"cannot read: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise WatchlistFileError(str(path), "is not UTF-8 text") from exc
    except tomllib.TOMLDecodeError as exc:
        raise WatchlistFileError(str(path), f"is not valid TOML: {exc}") from exc
    return from_dict(data, path=str(path), default_name=path.stem)


def from_dict(data: dict[str, Any], *, path: str, default_name: str) -> Watchlist:
    unknown = sorted(set(data) - KEYS)
    if unknown:
        raise WatchlistFileError(
            path, f"unknown key {unknown[0]!r} (known keys: {', '.join(sorted(KEYS))})"
        )
    name = _string(data, "name", path, default=default_name)
    if not _NAME.match(name):
        raise WatchlistFileError(
            path, f"name {name!r} must be lower-case letters, digits, '-' or '_'"
        )
    query = _string(data, "query", path)
    if not query.strip():
        raise WatchlistFileError(path, "query is empty")
    severity = _string(data, "severity", path, default="immediate")
    if severity not in SEVERITIES:
        raise WatchlistFileError(
            path, f"severity {severity!r} must be one of: {', '.join(SEVERITIES)}"
        )
    groups = _groups(data.get("groups", {}), path)
    try:
        tree = parse_query(query, groups)
    except QuerySyntaxError as exc:
        raise WatchlistFileError(path, f"query: {exc}") from exc
    threshold = data.get("threshold", 0.0)
    if not isinstance(threshold, int | float) or isinstance(threshold, bool):
        raise WatchlistFileError(path, f"threshold must be a number, got {threshold!r}")
    return Watchlist(
        name=name,
        query=query,
        tree=tree,
        description=_string(data, "description", path, default=""),
        severity=severity,
        channels=tuple(_string_list(data.get("channels", []), "channels", path)),
        threshold=float(threshold),
        groups=groups,
        path=path,
    )


def _string(data: dict[str, Any], key: str, path: str, *, default: str | None = None) -> str:
    value = data.get(key, default)
    if value is None:
        raise WatchlistFileError(path, f"missing key {key!r}")
    if not isinstance(value, str):
        raise WatchlistFileError(path, f"{key} must be a string, got {type(value).__name__}")
    return value


def _string_list(value: Any, key: str, path: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise WatchlistFileError(path, f"{key} must be a list of strings")
    return value


def _groups(value: Any, path: str) -> dict[str, list[str]]:
    if not isinstance(value, dict):
        raise WatchlistFileError(path, "groups must be a table of name = [aliases]")
    return {name: _string_list(aliases, f"groups.{name}", path) for name, aliases in value.items()}
