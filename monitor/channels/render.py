"""Turning an alert payload into text: plain, and the pieces other formats are built from.

An alert names the watchlist and severity, the headline, the outlet (and the other outlets
that carried the same story: "also in: ..."), the published time, the matched terms, snippets
with the hits marked ``**so**``, and the link. Several alerts due at once on a channel become
one roll-up: the first ``cap`` in full, then "+N more".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def one_line(value: Any) -> str:
    """Text safe for a header or a single line: no CR/LF or other control characters."""
    return " ".join("".join(c if c.isprintable() else " " for c in str(value or "")).split())


def strings(value: object) -> list[str]:
    return [one_line(v) for v in value] if isinstance(value, list | tuple) else []


def headline(payload: Mapping[str, Any]) -> str:
    return (
        f"[{one_line(payload.get('severity', 'alert'))}] {one_line(payload.get('watchlist'))}: "
        f"{one_line(payload.get('title'))}"
    )


def outlet(payload: Mapping[str, Any]) -> str:
    """The outlet of the alerted article: the relay puts it first in ``outlets``."""
    outlets = strings(payload.get("outlets"))
    return outlets[0] if outlets else one_line(payload.get("site"))


def also_in(payload: Mapping[str, Any]) -> list[str]:
    """The other outlets that carried the same story."""
    return strings(payload.get("outlets"))[1:]


def facts(payload: Mapping[str, Any]) -> str:
    return " · ".join(p for p in (outlet(payload), one_line(payload.get("published"))) if p)


def format_alert(payload: Mapping[str, Any]) -> str:
    """The plain-text form of an alert."""
    lines = [headline(payload)]
    if facts(payload):
        lines.append("  " + facts(payload))
    if also_in(payload):
        lines.append("  also in: " + ", ".join(also_in(payload)))
    if payload.get("terms"):
        lines.append("  terms: " + ", ".join(strings(payload["terms"])))
    lines += [f"  {snippet}" for snippet in strings(payload.get("snippets"))]
    if payload.get("url"):
        lines.append(f"  {one_line(payload['url'])}")
    return "\n".join(lines)


def rollup_subject(payloads: Sequence[Mapping[str, Any]]) -> str:
    first = headline(payloads[0])
    return (
        first
        if len(payloads) == 1
        else f"{len(payloads)} alerts: {first} (+{len(payloads) - 1} more)"
    )


def more_line(total: int, cap: int) -> str | None:
    """The line closing a roll-up that shows only ``cap`` of ``total`` alerts."""
    if total <= cap:
        return None
    return f"+{total - cap} more (all of them: monitor alerts list --status sent)"


def format_rollup(payloads: Sequence[Mapping[str, Any]], cap: int) -> str:
    """Several alerts in one plain-text message."""
    parts = [f"{len(payloads)} alerts"]
    parts += [format_alert(p) for p in payloads[:cap]]
    more = more_line(len(payloads), cap)
    if more:
        parts.append(more)
    return "\n\n".join(parts)
