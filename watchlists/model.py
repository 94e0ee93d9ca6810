"""A watchlist as loaded from its TOML file."""

from __future__ import annotations

from dataclasses import dataclass, field

from .query import Node

SEVERITIES = ("immediate", "digest")


@dataclass(frozen=True)
class Watchlist:
    name: str
    query: str
    tree: Node
    description: str = ""
    severity: str = "immediate"
    channels: tuple[str, ...] = ()  # empty: every configured channel
    threshold: float = 0.0
    groups: dict[str, list[str]] = field(default_factory=dict)
    path: str = ""
