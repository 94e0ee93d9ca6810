"""Testing a watchlist before relying on it: replay over stored articles, labelled cases.

Replay answers "what would this watchlist have matched?": counts and a few samples with their
explanation. Labelled cases answer "does it match what it should, and only that?": each case
is a text (and optionally a title, site, language) with whether it should match, and the
report gives precision and recall and names every case that came out wrong.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .document import Document
from .engine import Match, Matcher
from .errors import WatchlistFileError
from .model import Watchlist

SAMPLES = 5


@dataclass
class ReplayReport:
    watchlist: str
    articles: int = 0
    matched: int = 0
    samples: list[tuple[str, Match]] = field(default_factory=list)  # (article label, match)
    terms: dict[str, int] = field(default_factory=dict)  # how many matched articles hit each


def replay(watchlist: Watchlist, articles: Iterable[tuple[str, Document]]) -> ReplayReport:
    """Run ``watchlist`` over ``(label, document)`` pairs and report what it would match."""
    matcher = Matcher([watchlist])
    report = ReplayReport(watchlist.name)
    for label, doc in articles:
        report.articles += 1
        found = matcher.match(doc)
        if not found:
            continue
        report.matched += 1
        for term in found[0].terms:
            report.terms[term] = report.terms.get(term, 0) + 1
        if len(report.samples) < SAMPLES:
            report.samples.append((label, found[0]))
    return report


@dataclass(frozen=True)
class Case:
    label: str
    document: Document
    should_match: bool


@dataclass
class CaseReport:
    watchlist: str
    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0
    true_negatives: int = 0
    wrong: list[tuple[Case, Match | None]] = field(default_factory=list)

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        wanted = self.true_positives + self.false_negatives
        return self.true_positives / wanted if wanted else 1.0

    @property
    def cases(self) -> int:
        return (
            self.true_positives + self.false_positives + self.false_negatives + self.true_negatives
        )


def run_cases(watchlist: Watchlist, cases: Iterable[Case]) -> CaseReport:
    matcher = Matcher([watchlist])
    report = CaseReport(watchlist.name)
    for case in cases:
        found = matcher.match(case.document)
        matched = bool(found)
        if matched and case.should_match:
            report.true_positives += 1
        elif matched:
            report.false_positives += 1
        elif case.should_match:
            report.false_negatives += 1
        else:
            report.true_negatives += 1
        if matched != case.should_match:
            report.wrong.append((case, found[0] if found else None))
    return report


def load_cases(path: Path) -> list[Case]:
    """Cases from a TOML file (``[[cases]]`` tables) or JSON Lines (one object a line), each
    with ``text`` (or ``title``), ``match = true|false``, and optionally ``site``/``lang``."""
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise WatchlistFileError(str(path), f"cannot read: {exc.strerror}") from exc
    if path.suffix.lower() == ".toml":
        try:
            items = tomllib.loads(raw).get("cases", [])
        except tomllib.TOMLDecodeError as exc:
            raise WatchlistFileError(str(path), f"is not valid TOML: {exc}") from exc
        where = [f"case {n}" for n in range(1, len(items) + 1)]
    else:
        items, where = [], []
        for number, line in enumerate(raw.splitlines(), 1):
            if line.strip():
                try:
                    items.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise WatchlistFileError(str(path), f"line {number}: not JSON: {exc}") from exc
                where.append(f"line {number}")
    cases = [_case(item, label, str(path)) for item, label in zip(items, where, strict=True)]
    if not cases:
        raise WatchlistFileError(str(path), "holds no cases")
    return cases


def _case(item: Any, label: str, path: str) -> Case:
    if not isinstance(item, dict):
        raise WatchlistFileError(path, f"{label}: must be a table/object")
    expected = item.get("match")
    if not isinstance(expected, bool):
        raise WatchlistFileError(path, f"{label}: needs match = true or false")
    values = {key: item.get(key, "") for key in ("title", "text", "site", "lang")}
    if not all(isinstance(value, str) for value in values.values()):
        raise WatchlistFileError(path, f"{label}: title, text, site and lang must be strings")
    if not (values["title"] or values["text"]):
        raise WatchlistFileError(path, f"{label}: needs a text or a title")
    name = item.get("name", label)
    return Case(str(name), Document(**values), expected)
