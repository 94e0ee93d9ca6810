"""Whole-pipeline throughput: articles per second through fetch, extract, clean, match and
store (one ``run_cycle``), on 0, 1 and 2 extraction worker processes, against bare
trafilatura on the same pages, in one run.

The pages are the public extraction benchmark sets (``html/ID.html.gz``; by default
``<repo>/../shared/bench/extraction``, or ``--bench-dir`` / ``NEWS_MONITOR_BENCH_DIR``). They
are written to a temporary folder with feeds listing them (``--per-feed`` items per feed; each
item has what real feeds give - title, link, GUID and date - so, as in the daemon, a page's
own date is only a fallback and its text is not searched for one) and served over HTTP/1.1
with keep-alive (Python's ``http.server``) on 127.0.0.1 in its own process.

- "bare trafilatura": ``trafilatura.extract(html, url=url, include_comments=False)`` on every
  page, one after the other, in this process (no fetch, no metadata, no cleaning, no storage);
- "pipeline, N workers": a fresh database, every feed due, ``run_cycle`` timed from start to
  end, with ``[fetch] workers = N`` (0: extraction in threads of the daemon's own process;
  on a machine with N cores or fewer the workers also match and store, see
  ``monitor.workers.finish_page``); the worker pool is started and warmed up before the clock
  starts, as in a running daemon.

Each run is repeated (``--repeat``, 3 rounds by default, interleaved so that a slow spell of
the machine hits every run alike); the table gives the best and the median time, and the
throughputs compare the best times.

Run from the repository root::

    .venv/bin/python benchmarks/pipeline.py [--sets ...] [--limit N] [--per-feed 50]
        [--workers 0 1 2] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import trafilatura

from monitor import workers
from monitor.app import open_app
from monitor.config import load_settings
from monitor.cycle import run_cycle
from storage import feeds

REPO = Path(__file__).resolve().parent.parent
DEFAULT_BENCH_DIR = REPO.parent / "shared" / "bench" / "extraction"
BENCH_ENV = "NEWS_MONITOR_BENCH_DIR"
SETS = ("scrapinghub", "wcxb-dev-articles")
PUBLISHED = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


# Static files over HTTP/1.1 with keep-alive, as news sites serve them (``python -m
# http.server`` speaks HTTP/1.0: a new connection for every page), in a process of its own.
SERVER = """
import functools, http.server, sys
class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args):
        pass
handler = functools.partial(Handler, directory=sys.argv[2])
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), handler).serve_forever()
"""


def load_pages(bench: Path, sets: list[str], limit: int | None) -> list[tuple[str, bytes]]:
    pages = []
    for name in sets:
        files = sorted((bench / name / "html").glob("*.html.gz"))[:limit]
        pages += [
            (f"{name}-{f.name.removesuffix('.html.gz')}", gzip.decompress(f.read_bytes()))
            for f in files
        ]
    return pages


def write_site(root: Path, pages: list[tuple[str, bytes]], port: int, per_feed: int) -> list[str]:
    (root / "p").mkdir(parents=True)
    (root / "f").mkdir()
    for page_id, html in pages:
        (root / "p" / f"{page_id}.html").write_bytes(html)
    urls = []
    for start in range(0, len(pages), per_feed):
        items = "".join(
            f"<item><title>{escape(page_id)}</title>"
            f"<link>http://127.0.0.1:{port}/p/{page_id}.html</link>"
            f'<guid isPermaLink="false">{escape(page_id)}</guid>'
            f"<pubDate>{format_datetime(PUBLISHED + timedelta(minutes=n), usegmt=True)}</pubDate>"
            "</item>"
            for n, (page_id, _) in enumerate(pages[start : start + per_feed], start)
        )
        name = f"feed{start // per_feed}.xml"
        (root / "f" / name).write_text(
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>{name}</title>{items}'
            "</channel></rss>",
            encoding="utf-8",
        )
        urls.append(f"http://127.0.0.1:{port}/f/{name}")
    return urls


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bare_trafilatura(pages: list[tuple[str, bytes]], port: int) -> float:
    started = time.perf_counter()
    for page_id, html in pages:
        trafilatura.extract(
            html, url=f"http://127.0.0.1:{port}/p/{page_id}.html", include_comments=False
        )
    return time.perf_counter() - started


def pipeline(work: Path, urls: list[str], count: int) -> tuple[float, int]:
    work.mkdir()
    config = work / "monitor.toml"
    config.write_text(
        f'database = "m.db"\n[fetch]\nallowed_networks = ["127.0.0.1"]\nworkers = {count}\n'
        'timeout = "60s"\n[channels.console]\n',
        encoding="utf-8",
    )
    with open(os.devnull, "w") as quiet:
        app = open_app(load_settings(config), stream=quiet)
        try:
            for url in urls:
                feeds.add_feed(app.db, url)
            if count:
                asyncio.run(workers.warm_up(count, str(app.settings.watchlists)))
            started = time.perf_counter()
            report = asyncio.run(run_cycle(app))
            elapsed = time.perf_counter() - started
        finally:
            app.close()
            workers.shutdown()
    return elapsed, report.new_articles


BARE = "bare trafilatura (1 process)"


def label(count: int) -> str:
    if count == 0:
        return "pipeline, in-process threads"
    return f"pipeline, {count} worker process{'es' if count > 1 else ''}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--bench-dir", type=Path, default=Path(os.environ.get(BENCH_ENV, DEFAULT_BENCH_DIR))
    )
    parser.add_argument("--sets", nargs="+", default=list(SETS))
    parser.add_argument("--limit", type=int, help="First N pages of each set.")
    parser.add_argument("--per-feed", type=int, default=50)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--repeat", type=int, default=3, help="Rounds (default 3).")
    args = parser.parse_args()

    pages = load_pages(args.bench_dir, args.sets, args.limit)
    if not pages:
        raise SystemExit(f"no pages under {args.bench_dir}")
    port = free_port()
    times: dict[str, list[float]] = {}
    stored: dict[str, int] = {BARE: len(pages)}
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        root = Path(tmp)
        urls = write_site(root / "site", pages, port, args.per_feed)
        server = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(port), str(root / "site")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(1.0)
            # Rounds interleave the runs, so a slow spell of the machine hits all of them.
            for round_ in range(args.repeat):
                times.setdefault(BARE, []).append(bare_trafilatura(pages, port))
                for count in args.workers:
                    seconds, count_stored = pipeline(root / f"r{round_}w{count}", urls, count)
                    times.setdefault(label(count), []).append(seconds)
                    stored[label(count)] = count_stored
        finally:
            server.terminate()
            server.wait()

    print(
        f"\n{len(pages)} pages ({', '.join(args.sets)}), {len(urls)} feeds, "
        f"{os.cpu_count()} cores, best and median of {args.repeat} rounds\n"
    )
    print("| run | articles | best s | median s | articles/s (best) |")
    print("|---|---|---|---|---|")
    rates = {}
    for name, runs in times.items():
        best = min(runs)
        rates[name] = stored[name] / best
        print(
            f"| {name} | {stored[name]} | {best:.1f} | {statistics.median(runs):.1f} "
            f"| {rates[name]:.1f} |"
        )
    bare = rates[BARE]
    one, two = rates.get(label(1)), rates.get(label(2))
    if one:
        print(f"\npipeline on 1 worker: {one / bare:.0%} of bare trafilatura's throughput")
    if two:
        print(f"pipeline on 2 workers: {two / bare:.0%} of bare trafilatura's throughput")
    if one and two:
        print(f"2 workers / 1 worker: {two / one:.2f}x")


if __name__ == "__main__":
    main()
