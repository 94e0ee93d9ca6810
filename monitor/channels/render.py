"""Turning an alert payload into text: plain, and the pieces other formats are built from."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def one_line(value: Any) -> str:
    """Text safe for a header or a single line: no CR/LF or other control characters."""
    return " ".join("".join(c if c.isprintable() else " " for c in str(value or "")).split())


def headline(payload: Mapping[str, Any]) -> str:
    return (
        f"[{one_line(payload.get('severity', 'alert'))}] {one_line(payload.get('watchlist'))}: "
        f"{one_line(payload.get('title'))}"
    )


def facts(payload: Mapping[str, Any]) -> str:
    return " · ".join(one_line(p) for p in (payload.get("site"), payload.get("published")) if p)


def format_alert(payload: Mapping[str, Any]) -> str:
    """The plain-text form of an alert."""
    lines = [headline(payload)]
    if facts(payload):
        lines.append("  " + facts(payload))
    if payload.get("terms"):
        lines.append("  terms: " + ", ".join(one_line(t) for t in payload["terms"]))
    lines += [f"  {one_line(snippet)}" for snippet in payload.get("snippets", [])]
    if payload.get("url"):
        lines.append(f"  {one_line(payload['url'])}")
    return "\n".join(lines)
