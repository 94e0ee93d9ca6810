"""A digest as text, Markdown or HTML, from Jinja templates over the same model.

The HTML template is autoescaped; the text and Markdown ones escape through their own
filters (Markdown's punctuation, Slack's ``<`` and ``&``). Hits in snippets arrive marked
``**like this**`` and are turned into each format's bold after escaping, never before.

Charts are referenced, never embedded by the template: the caller says where each
watchlist's PNG is (``cid:...`` in an email, a ``data:`` URI in a standalone HTML file, a file
name beside a Markdown file), or gives none and the text sparkline stands in.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from .model import Digest

FORMATS = ("text", "markdown", "html")
_HIT = re.compile(r"\*\*(.+?)\*\*")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~])")
_BLOCKS = "▁▂▃▄▅▆▇█"


def sparkline(per_day: Sequence[tuple[date, int]]) -> str:
    top = max((count for _, count in per_day), default=0)
    if top == 0:
        return _BLOCKS[0] * len(per_day)
    return "".join(_BLOCKS[round(count / top * (len(_BLOCKS) - 1))] for _, count in per_day)


def day_counts(per_day: Sequence[tuple[date, int]]) -> str:
    return ", ".join(f"{day:%a} {count}" for day, count in per_day)


def signed(value: int) -> str:
    return f"+{value}" if value > 0 else ("±0" if value == 0 else f"−{-value}")


def when(moment: datetime) -> str:
    return f"{moment:%a %d %b %H:%M}"


def md(text: object) -> str:
    """Markdown text: punctuation that would format or link escaped."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def md_hits(text: str) -> str:
    """A snippet in Markdown: everything escaped, hits in bold."""
    parts = text.split("**")
    return "".join(f"**{md(p)}**" if i % 2 else md(p) for i, p in enumerate(parts) if p)


def html_hits(text: str) -> Markup:
    return Markup(_HIT.sub(r"<b>\1</b>", str(escape(text))))


def plain_hits(text: str) -> str:
    return _HIT.sub(r"\1", text).replace("**", "")


def zone_name(moment: datetime) -> str:
    zone = moment.tzinfo
    key = getattr(zone, "key", None)
    return str(key) if key and key != "localtime" else moment.strftime("%Z")


FILTERS: dict[str, Callable[..., object]] = {
    "sparkline": sparkline,
    "day_counts": day_counts,
    "signed": signed,
    "when": when,
    "md": md,
    "md_hits": md_hits,
    "html_hits": html_hits,
    "plain_hits": plain_hits,
    "zone_name": zone_name,
}


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("monitor.digest", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=StrictUndefined,
    )
    env.filters.update(FILTERS)
    return env


TEMPLATES = {"text": "digest.txt.j2", "markdown": "digest.md.j2", "html": "digest.html.j2"}


def render(digest: Digest, fmt: str, *, charts: Mapping[str, str] | None = None) -> str:
    """The digest in ``fmt`` ("text", "markdown" or "html"); ``charts`` maps a watchlist name
    to the src of its chart image."""
    template = environment().get_template(TEMPLATES[fmt])
    text = template.render(digest=digest, charts=dict(charts or {}))
    return re.sub(r"\n{3,}", "\n\n", text)
