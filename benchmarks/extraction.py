"""Article-extraction benchmark: news-monitor's extractor side by side with bare trafilatura.

What it measures, on each public benchmark set (scrapinghub: 181 pages, wcxb-dev-articles:
711 pages; each page is ``html/ID.html.gz`` with its hand-checked ``truth/ID.json``):

- "trafilatura": ``trafilatura.extract(html, url=truth_url, include_comments=False)``, the
  peer (None counts as empty text);
- "news-monitor (no cleaning)": ``extract_page(html, url=truth_url, clean=False)``: the
  project's own trafilatura call (with metadata: title, author, date, site, and the mends of
  ``monitor/rescue.py`` where trafilatura loses an article), no cleaning;
- "news-monitor": ``monitor.extract.extract_page(html, url=truth_url).text``, the project's
  public entry point, so that anything the pipeline adds (cleaning) is measured
  (ExtractError counts as empty text).

The cleaning overhead line is (news-monitor - news-monitor without cleaning) / trafilatura:
what the cleaning stage itself adds to trafilatura's time per page.

Each tool's text goes to ``OUT/SET/TOOL/ID.txt`` and is scored by the set's own scorer
(``score.py --json`` in the bench folder, run as a subprocess): precision, recall and f1 of
4-word shingles averaged over pages, and leaked boilerplate snippets (the truth's "without"
list; WCXB only). Each call is timed with ``time.perf_counter`` (the two tools alternate which
goes first from page to page, after a few untimed warm-up calls); the table gives the mean
ms/page and, per set, news-monitor's time overhead over trafilatura.

Run from the repository root::

    .venv/bin/python benchmarks/extraction.py [--sets ...] [--limit N] [--out DIR]
        [--bench-dir DIR] [--leaks] [--json] [--split] [--plain-xpath]

The bench folder defaults to ``<repo>/../shared/bench/extraction`` (override with
``--bench-dir`` or the environment variable ``NEWS_MONITOR_BENCH_DIR``); outputs default to
``benchmarks/out/extraction`` (gitignored). ``--limit N`` runs the first N pages of each set
(scored on those pages only). ``--leaks`` lists, after the table, each boilerplate snippet
that leaked into news-monitor's output, grouped by page, to help tune cleaning rules.
``--json`` prints the same figures as one JSON document instead of the table.

``--plain-xpath`` runs the news-monitor rows with trafilatura's XPath expressions all
evaluated by libxml2, as before ``monitor/fastpaths.py``: the same text, to measure what the
Python evaluation saves.

``--split`` also scores each set's two halves apart: a page belongs to the development half
("dev") or the held-out half ("held") by the first byte of the SHA-1 of its id (even: dev).
The cleaning rules are tuned on dev pages only, so the held rows show whether a gain holds on
pages no rule was written from.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trafilatura

REPO = Path(__file__).resolve().parent.parent
DEFAULT_BENCH_DIR = REPO.parent / "shared" / "bench" / "extraction"
DEFAULT_OUT = REPO / "benchmarks" / "out" / "extraction"
BENCH_ENV = "NEWS_MONITOR_BENCH_DIR"
SETS = ("scrapinghub", "wcxb-dev-articles")
TOOLS = ("trafilatura", "news-monitor (no cleaning)", "news-monitor")
WARMUP_PAGES = 3
TOKEN = re.compile(r"\w+", re.UNICODE)  # as score.py
HALVES = ("dev", "held")

Extractor = Callable[[bytes, str | None], str]


class BenchError(Exception):
    """A one-line reason the benchmark cannot run."""


@dataclass
class Page:
    id: str
    url: str | None
    html: bytes
    truth: dict[str, Any]


@dataclass
class ToolRun:
    seconds: list[float] = field(default_factory=list)
    cleaning: list[float] = field(default_factory=list)  # the cleaning stage's share, per page
    empty: int = 0
    crashed: list[str] = field(default_factory=list)  # unexpected exceptions, page ids


@dataclass
class Leak:
    page_id: str
    url: str | None
    snippets: list[str]


# --- the two extractors ---------------------------------------------------------------------


def _trafilatura(html: bytes, url: str | None) -> str:
    text = trafilatura.extract(html, url=url, include_comments=False)
    return text if isinstance(text, str) else ""


CLEANING_SECONDS: list[float] = []  # prune_boxes' and clean_body's own time, per call


def _news_monitor(*, clean: bool = True, plain_xpath: bool = False) -> Extractor:
    # The checkout this file lives in, rather than whichever news-monitor is installed.
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from monitor import extract, fastpaths
    from monitor.errors import ExtractError
    from monitor.extract import extract_page

    if clean and not hasattr(extract.clean_body, "timed"):
        # the cleaning stage: the boxes taken out of the page, then the body's furniture
        extract.prune_boxes = _timed(extract.prune_boxes)
        extract.clean_body = _timed(extract.clean_body)

    def run(html: bytes, url: str | None) -> str:
        try:
            return extract_page(html, url=url, clean=clean).text
        except ExtractError:
            return ""

    if plain_xpath:  # libxml2 evaluates every expression, as before monitor/fastpaths.py

        def plain(html: bytes, url: str | None) -> str:
            with fastpaths.evaluated_by_libxml2():
                return run(html, url)

        return plain
    return run


def _timed(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` timing itself into CLEANING_SECONDS: the cleaning stage's cost measured
    directly, not as the difference of two whole extractions (which the load of a shared
    machine makes noisy)."""

    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            CLEANING_SECONDS.append(time.perf_counter() - start)

    timed.timed = True  # type: ignore[attr-defined]
    return timed


# --- loading and running --------------------------------------------------------------------


def bench_dir(option: str | None) -> Path:
    given = option or os.environ.get(BENCH_ENV) or ""
    path = Path(given).expanduser() if given else DEFAULT_BENCH_DIR
    if not (path / "score.py").is_file():
        how = "--bench-dir" if option else (BENCH_ENV if given else "the default")
        raise BenchError(
            f"no extraction benchmark at {path} (from {how}; expected score.py and set "
            f"folders there): pass --bench-dir DIR or set {BENCH_ENV}"
        )
    return path


def load_pages(set_dir: Path, limit: int | None) -> list[Page]:
    truth_files = sorted((set_dir / "truth").glob("*.json"))
    if not truth_files:
        raise BenchError(f"no truth/*.json in {set_dir}")
    pages = []
    for truth_file in truth_files[:limit] if limit is not None else truth_files:
        html_file = set_dir / "html" / f"{truth_file.stem}.html.gz"
        if not html_file.is_file():
            raise BenchError(f"{html_file} is missing (its truth file exists)")
        truth = json.loads(truth_file.read_text(encoding="utf-8"))
        pages.append(
            Page(
                truth_file.stem,
                truth.get("url") or None,
                gzip.decompress(html_file.read_bytes()),
                truth,
            )
        )
    return pages


def run_set(
    pages: Sequence[Page], tools: dict[str, Extractor], out: Path, progress: bool
) -> dict[str, ToolRun]:
    runs = {name: ToolRun() for name in tools}
    for name in tools:
        (out / name).mkdir(parents=True, exist_ok=True)
    order = list(tools)
    for i, page in enumerate(pages):
        # Alternate which tool goes first so that caches warmed by one do not favour the other.
        for name in order if i % 2 == 0 else order[::-1]:
            run = runs[name]
            cleaned_before = len(CLEANING_SECONDS)
            start = time.perf_counter()
            try:
                text = tools[name](page.html, page.url)
            except Exception as exc:  # a crash is a finding, not a reason to lose the run
                text = ""
                run.crashed.append(page.id)
                print(f"warning: {name} raised on {page.id}: {exc!r}", file=sys.stderr)
            run.seconds.append(time.perf_counter() - start)
            run.cleaning.append(sum(CLEANING_SECONDS[cleaned_before:]))
            run.empty += not text.strip()
            (out / name / f"{page.id}.txt").write_text(text, encoding="utf-8")
        if progress and (i + 1) % 50 == 0:
            print(f"  {i + 1}/{len(pages)} pages", file=sys.stderr)
    return runs


def warm_up(pages: Sequence[Page], tools: dict[str, Extractor]) -> None:
    for page in pages[:WARMUP_PAGES]:
        for extract in tools.values():
            with contextlib.suppress(Exception):  # reported by the timed run
                extract(page.html, page.url)


# --- scoring --------------------------------------------------------------------------------


def score(score_py: Path, dataset: Path, output: Path) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, str(score_py), str(dataset), str(output), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        detail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise BenchError(f"{score_py} failed on {output} (exit {proc.returncode}): {detail}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def half(page_id: str) -> str:
    """The page's half of its set: fixed by its id alone, so it never moves between runs."""
    return HALVES[hashlib.sha1(page_id.encode("utf-8")).digest()[0] % 2]


def subset_dataset(set_dir: Path, pages: Sequence[Page], tmp: Path, name: str = "") -> Path:
    """A dataset folder holding only ``pages``' truth files, for scoring a --limit run or
    one half of a set."""
    subset = tmp / (name or set_dir.name)
    (subset / "truth").mkdir(parents=True)
    for page in pages:
        (subset / "truth" / f"{page.id}.json").symlink_to(set_dir / "truth" / f"{page.id}.json")
    return subset


def fold(text: str) -> str:
    return " ".join(TOKEN.findall((text or "").casefold()))


def leaks(pages: Sequence[Page], output: Path) -> list[Leak]:
    """The truth's "without" snippets found in ``output``, by score.py's rule."""
    found = []
    for page in pages:
        body = fold(page.truth.get("main_content", ""))
        got = fold((output / f"{page.id}.txt").read_text(encoding="utf-8"))
        snippets = [
            s
            for s in page.truth.get("without") or []
            if len(fold(s).split()) >= 3 and fold(s) not in body and fold(s) in got
        ]
        if snippets:
            found.append(Leak(page.id, page.url, snippets))
    return found


def has_without(pages: Sequence[Page]) -> bool:
    return any(len(fold(s).split()) >= 3 for p in pages for s in p.truth.get("without") or [])


def score_halves(
    bench: Path,
    set_dir: Path,
    pages: Sequence[Page],
    runs: dict[str, ToolRun],
    out: Path,
    tmp: Path,
) -> dict[str, dict[str, Any]]:
    """Each tool's figures on the dev half and on the held-out half of the set."""
    halves: dict[str, dict[str, Any]] = {}
    for which in HALVES:
        chosen = [(i, p) for i, p in enumerate(pages) if half(p.id) == which]
        if not chosen:
            continue
        dataset = subset_dataset(set_dir, [p for _, p in chosen], tmp, f"{set_dir.name}-{which}")
        tools: dict[str, Any] = {}
        for name, tool_run in runs.items():
            figures = score(bench / "score.py", dataset, out / name)
            figures["ms_per_page"] = (
                1000 * sum(tool_run.seconds[i] for i, _ in chosen) / len(chosen)
            )
            figures["crashed"] = [p.id for _, p in chosen if p.id in tool_run.crashed]
            tools[name] = figures
        halves[which] = {"has_without": has_without([p for _, p in chosen]), "tools": tools}
    return halves


# --- reporting ------------------------------------------------------------------------------


def _rows(report: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Each set's whole-set figures, then its halves' (``SET/dev``, ``SET/held``) if split."""
    rows = []
    for set_name, entry in report["sets"].items():
        rows.append((set_name, entry))
        rows += [(f"{set_name}/{which}", e) for which, e in entry.get("halves", {}).items()]
    return rows


def table(report: dict[str, Any]) -> str:
    head = ["set", "tool", "pages", "precision", "recall", "f1", "leaked (pages)", "ms/page"]
    rows: list[list[str]] = []
    notes: list[str] = []
    for set_name, entry in _rows(report):
        for tool, r in entry["tools"].items():
            leaked = (
                f"{r['leaked_snippets']} ({r['leaky_pages']})" if entry["has_without"] else "n/a"
            )
            rows.append(
                [
                    set_name,
                    tool,
                    str(r["pages"]),
                    f"{r['precision']:.3f}",
                    f"{r['recall']:.3f}",
                    f"{r['f1']:.3f}",
                    leaked,
                    f"{r['ms_per_page']:.1f}",
                ]
            )
            if r["crashed"] and "/" not in set_name:
                notes.append(
                    f"note: {tool} raised on {len(r['crashed'])} {set_name} page(s), counted "
                    f"as empty: {', '.join(r['crashed'][:5])}"
                )
    widths = [max(len(line[i]) for line in [head, *rows]) for i in range(len(head))]

    def fmt(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i < 2 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    lines = [fmt(head), "  ".join("-" * w for w in widths)]
    lines += [fmt(row) for row in rows]
    lines.append("")
    for set_name, entry in report["sets"].items():
        overhead = entry["overhead_pct"]
        cleaning = entry["cleaning_pct"]
        timed = entry["cleaning_timed_pct"]
        lines.append(
            f"{set_name}: cleaning takes {entry['cleaning_ms_per_page']:.2f} ms/page, "
            + (f"{timed:.1f}%" if timed is not None else "n/a")
            + " of trafilatura's time (timed inside the pipeline); difference of the two "
            + "news-monitor rows: "
            + (f"{cleaning:+.1f}%" if cleaning is not None else "n/a")
        )
        lines.append(
            f"{set_name}: news-monitor (extraction with metadata + cleaning) vs trafilatura: "
            + (f"{overhead:+.1f}%" if overhead is not None else "n/a")
        )
    lines += notes
    lines.append(f"run time: {report['elapsed_s']:.1f} s (extraction, writing and scoring)")
    return "\n".join(lines)


def leak_listing(report: dict[str, Any]) -> str:
    lines = ["", "Leaked boilerplate snippets in news-monitor's output, by page:"]
    for set_name, entry in report["sets"].items():
        lines.append("")
        if not entry["has_without"]:
            lines.append(f"{set_name}: no 'without' snippets in this set's truth")
            continue
        total = sum(len(leak["snippets"]) for leak in entry["leaks"])
        lines.append(f"{set_name}: {total} snippet(s) on {len(entry['leaks'])} page(s)")
        for leak in entry["leaks"]:
            lines.append(f"  {leak['page']}  {leak['url'] or ''}".rstrip())
            lines += [f"    - {' '.join(s.split())}" for s in leak["snippets"]]
    return "\n".join(lines)


# --- main -----------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark news-monitor's article extraction against bare trafilatura.",
    )
    parser.add_argument(
        "--sets", nargs="+", default=list(SETS), metavar="SET", help=f"default: {' '.join(SETS)}"
    )
    parser.add_argument("--limit", type=int, metavar="N", help="only the first N pages of each set")
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, metavar="DIR", help=f"default: {DEFAULT_OUT}"
    )
    parser.add_argument(
        "--bench-dir",
        metavar="DIR",
        help=f"default: ${BENCH_ENV} or {DEFAULT_BENCH_DIR}",
    )
    parser.add_argument("--leaks", action="store_true", help="list news-monitor's leaked snippets")
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    parser.add_argument(
        "--split", action="store_true", help="also score the dev and held-out halves apart"
    )
    parser.add_argument(
        "--plain-xpath",
        action="store_true",
        help="news-monitor without monitor/fastpaths.py (libxml2 evaluates every expression)",
    )
    args = parser.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be 1 or more")
    return args


def run(args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    bench = bench_dir(args.bench_dir)
    for set_name in args.sets:
        if not (bench / set_name / "truth").is_dir():
            raise BenchError(f"no set {set_name!r} in {bench} (no {set_name}/truth folder there)")
    tools: dict[str, Extractor] = {
        "trafilatura": _trafilatura,
        "news-monitor (no cleaning)": _news_monitor(clean=False, plain_xpath=args.plain_xpath),
        "news-monitor": _news_monitor(plain_xpath=args.plain_xpath),
    }
    report: dict[str, Any] = {
        "bench_dir": str(bench),
        "out": str(args.out),
        "trafilatura_version": getattr(trafilatura, "__version__", "?"),
        "sets": {},
    }
    warmed = False
    with tempfile.TemporaryDirectory(prefix="bench-extraction-") as tmp:
        for set_name in args.sets:
            set_dir = bench / set_name
            pages = load_pages(set_dir, args.limit)
            if not warmed:
                warm_up(pages, tools)
                warmed = True
            if not args.json:
                print(f"{set_name}: {len(pages)} pages", file=sys.stderr)
            out = args.out / set_name
            runs = run_set(pages, tools, out, progress=not args.json)
            full = args.limit is None or len(pages) == len(list((set_dir / "truth").glob("*.json")))
            dataset = set_dir if full else subset_dataset(set_dir, pages, Path(tmp))
            entry: dict[str, Any] = {"has_without": has_without(pages), "tools": {}}
            for name, tool_run in runs.items():
                figures = score(bench / "score.py", dataset, out / name)
                figures["ms_per_page"] = 1000 * sum(tool_run.seconds) / len(tool_run.seconds)
                figures["empty_pages"] = tool_run.empty
                figures["crashed"] = tool_run.crashed
                entry["tools"][name] = figures
            if args.split:
                entry["halves"] = score_halves(bench, set_dir, pages, runs, out, Path(tmp))
            base = entry["tools"]["trafilatura"]["ms_per_page"]
            ours = entry["tools"]["news-monitor"]["ms_per_page"]
            entry["overhead_pct"] = 100 * (ours - base) / base if base else None
            bare = entry["tools"]["news-monitor (no cleaning)"]["ms_per_page"]
            entry["cleaning_pct"] = 100 * (ours - bare) / base if base else None
            cleaning = runs["news-monitor"].cleaning
            entry["cleaning_ms_per_page"] = 1000 * sum(cleaning) / len(cleaning)
            entry["cleaning_timed_pct"] = (
                100 * entry["cleaning_ms_per_page"] / base if base else None
            )
            if args.leaks:
                entry["leaks"] = [
                    {"page": leak.page_id, "url": leak.url, "snippets": leak.snippets}
                    for leak in leaks(pages, out / "news-monitor")
                ]
            report["sets"][set_name] = entry
    report["elapsed_s"] = time.perf_counter() - started
    return report


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        report = run(args)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(table(report))
        if args.leaks:
            print(leak_listing(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
